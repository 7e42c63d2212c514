"""Command line: python -m include.genesys_simulator --port 8180 ..."""

from __future__ import annotations

import argparse
from datetime import date, datetime

import uvicorn

from include.genesys_simulator.app import SimulatorState, create_app
from include.genesys_simulator.config import SimulatorConfig
from include.genesys_simulator.faults_profile import PROFILES


def _volume(text: str) -> tuple[date, int]:
    """Parse DAY=COUNT."""
    day, _, count = text.partition("=")
    return date.fromisoformat(day), int(count)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m include.genesys_simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--conversations-per-day", type=int, default=2000)
    parser.add_argument("--rate-limit-per-minute", type=int, default=300, help="0 disables rate limiting")
    parser.add_argument(
        "--rate-limit-scope",
        choices=("token", "client"),
        default="token",
        help="count the limit per access token, or per OAuth client across all its tokens",
    )
    parser.add_argument("--token-ttl-seconds", type=int, default=86400)
    parser.add_argument("--client-id", default="demo-client")
    parser.add_argument("--client-secret", default="demo-secret")
    parser.add_argument("--fault-profile", default="none", choices=sorted(PROFILES))
    parser.add_argument(
        "--now", default=None, help="freeze the simulated now (ISO-8601), e.g. 2024-03-05T12:00:00Z"
    )
    parser.add_argument(
        "--volume",
        action="append",
        type=_volume,
        default=[],
        metavar="DAY=COUNT",
        help="exact volume of one UTC day (repeatable)",
    )
    parser.add_argument("--max-interval-days", type=int, default=7)
    parser.add_argument("--job-fulfill-seconds", type=float, default=0.5)
    parser.add_argument(
        "--job-data-lag-seconds", type=int, default=0, help="dataAvailabilityDate = now - this many seconds"
    )
    parser.add_argument(
        "--no-analytics-permission",
        action="store_true",
        help="the client's role lacks analytics:conversationDetail:view (every details endpoint answers 403)",
    )
    parser.add_argument(
        "--flat-volume", action="store_true", help="same volume every day (no weekday pattern)"
    )
    parser.add_argument(
        "--response-cache-mb",
        type=int,
        default=0,
        help="keep up to this many MB of rendered pages of settled intervals and answer repeats from them",
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log every request (benchmarks)")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Build the simulator configuration from parsed arguments."""
    return SimulatorConfig(
        seed=args.seed,
        conversations_per_day=args.conversations_per_day,
        rate_limit_per_minute=args.rate_limit_per_minute,
        rate_limit_scope=args.rate_limit_scope,
        token_ttl_seconds=args.token_ttl_seconds,
        client_id=args.client_id,
        client_secret=args.client_secret,
        volume_overrides=dict(args.volume),
        now=datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else None,
        faults=args.fault_profile,
        max_interval_days=args.max_interval_days,
        job_fulfill_seconds=args.job_fulfill_seconds,
        job_data_lag_seconds=args.job_data_lag_seconds,
        analytics_permission=not args.no_analytics_permission,
        weekday_volume=not args.flat_volume,
        response_cache_mb=args.response_cache_mb,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator until interrupted."""
    args = parse_args(argv)
    state = SimulatorState(config_from_args(args))
    if args.response_cache_mb < 0:
        raise SystemExit("--response-cache-mb must not be negative")
    uvicorn.run(
        create_app(state),
        host=args.host,
        port=args.port,
        log_level="info",
        lifespan="off",
        access_log=not args.no_access_log,
    )


if __name__ == "__main__":
    main()
