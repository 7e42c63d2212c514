"""Benchmark: does GenesysCloudHook spend a 300 requests/minute budget fully and without 429s?

Reads a 30,000-conversation day (planned into partitions like the ingest DAG) from the simulator limited to
300 requests a minute per token, with the hook's budget set to the same 300. Records achieved requests per
minute / 300 (target >= 0.95) and the 429s met after the first minute (target 0).

    .venv/bin/python -m bench.hook_budget [--conversations 30000] [--rpm 300] [--concurrency 4]

Writes bench/results/hook_budget.json. Takes a bit over a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "hook_budget.json"


def main() -> None:
    """Run the benchmark and write its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=30_000)
    parser.add_argument("--rpm", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pages-per-partition", type=int, default=20)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    os.environ.setdefault(
        "AIRFLOW_HOME", str(Path(__file__).resolve().parent.parent / ".cache" / "airflow-bench")
    )
    from genesys_es.extract.paging import ConversationPager
    from genesys_es.extract.planning import belongs_to, plan_partitions
    from genesys_es.hooks.genesys_cloud import GenesysCloudHook
    from include.genesys_simulator import SimulatorConfig, SimulatorServer

    day = date(2024, 3, 5)
    start = datetime(2024, 3, 5, tzinfo=UTC)
    end = start + timedelta(days=1)
    cfg = SimulatorConfig(
        seed=7,
        rate_limit_per_minute=args.rpm,
        volume_overrides={day: args.conversations},
    )
    with SimulatorServer(cfg) as sim:
        os.environ["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"] = json.dumps(
            {
                "conn_type": "genesys_cloud",
                "login": cfg.client_id,
                "password": cfg.client_secret,
                "extra": {"base_url": sim.base_url, "requests_per_minute": args.rpm},
            }
        )
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.monotonic(), _429s(sim)))
                stop.wait(1.0)

        hook = GenesysCloudHook(max_concurrency=args.concurrency)
        hook.get_conn()
        t0 = time.monotonic()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        partitions = plan_partitions(
            start,
            end,
            ConversationPager(hook).count,
            page_size=100,
            pages_per_partition=args.pages_per_partition,
        )
        ids: set[str] = set()
        for p in partitions:
            for page in ConversationPager(hook).iter_pages(
                p.start, p.end, p.first_page, p.last_page, page_size=p.page_size, concurrency=args.concurrency
            ):
                ids.update(c["conversationId"] for c in page.conversations if belongs_to(c, p))
        elapsed = time.monotonic() - t0
        stop.set()
        sampler.join()
        final_429 = _429s(sim)
        after_first_minute = final_429 - max((n for t, n in samples if t - t0 <= 60), default=0)
        stats = hook.stats
        per_minute = stats["requests"] / (elapsed / 60)
        result = {
            "benchmark": "hook_budget",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "conversations": args.conversations,
            "read_conversations": len(ids),
            "complete": len(ids) == args.conversations,
            "allowed_requests_per_minute": args.rpm,
            "hook_budget_utilization": hook.budget_utilization,
            "concurrency": args.concurrency,
            "partitions": len(partitions),
            "api_requests": stats["requests"],
            "token_requests": stats["token_requests"],
            "seconds": round(elapsed, 2),
            "achieved_requests_per_minute": round(per_minute, 1),
            "ratio_to_allowed": round(per_minute / args.rpm, 4),
            "target_ratio": 0.95,
            "http_429_total": final_429,
            "http_429_after_first_minute": after_first_minute,
            "hook_retries": stats["retries"],
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _429s(sim) -> int:
    """Return the 429s the simulator has sent so far (rate limiting and injected bursts)."""
    stats = sim.stats()
    return int((stats.get("api_requests_by_status") or {}).get("429", stats.get("rate_limited", 0)))


if __name__ == "__main__":
    main()
