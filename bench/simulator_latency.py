"""Benchmark: details-query page latency at 2,000 vs 200,000 conversations per day (not a test).

Both simulators run at once and requests alternate between them, so machine noise hits both alike.
Steady-state figures use full pages (100 conversations); the first page of each interval is reported
apart because it also pays for finding the conversations still running at the interval start (cached
per interval afterwards).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import requests

from include.genesys_simulator import SimulatorConfig, SimulatorServer

DAY = date(2024, 3, 5)
RESULTS = Path(__file__).resolve().parent / "results" / "simulator_latency.json"
PAGE_SIZE = 100
VOLUMES = (2_000, 200_000)
# (interval, pages) pairs: the whole day from page 2, and hour slices at night and at the peak.
PLAN = (
    ("2024-03-05T00:00:00Z/2024-03-06T00:00:00Z", range(1, 21)),
    ("2024-03-05T03:00:00Z/2024-03-05T04:00:00Z", range(1, 3)),
    ("2024-03-05T10:00:00Z/2024-03-05T11:00:00Z", range(1, 8)),
)
ROUNDS = 3


class Client:
    """A logged-in HTTP client of one simulator."""

    def __init__(self, sim: SimulatorServer) -> None:
        self.http = requests.Session()
        token = self.http.post(
            f"{sim.base_url}/oauth/token",
            auth=(sim.config.client_id, sim.config.client_secret),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.url = f"{sim.base_url}/api/v2/analytics/conversations/details/query"

    def page(self, interval: str, number: int) -> tuple[float, int, int]:
        """Return (ms, conversations on the page, totalHits)."""
        body = {"interval": interval, "paging": {"pageSize": PAGE_SIZE, "pageNumber": number}}
        started = time.perf_counter()
        response = self.http.post(self.url, json=body)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        data = response.json()
        return elapsed, len(data.get("conversations", [])), int(data["totalHits"])


def summary(samples: list[float]) -> dict[str, Any]:
    """Return median and p95 of latency samples (ms)."""
    ordered = sorted(samples)
    return {
        "pages_measured": len(ordered),
        "median_page_ms": round(statistics.median(ordered), 2),
        "p95_page_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def main() -> None:
    """Run the benchmark and write bench/results/simulator_latency.json."""
    servers = [
        SimulatorServer(SimulatorConfig(seed=7, rate_limit_per_minute=0, volume_overrides={DAY: v})).start()
        for v in VOLUMES
    ]
    try:
        clients = [Client(s) for s in servers]
        steady: dict[int, list[float]] = {v: [] for v in VOLUMES}
        first: dict[int, list[float]] = {v: [] for v in VOLUMES}
        hits: dict[int, dict[str, int]] = {v: {} for v in VOLUMES}
        for round_number in range(ROUNDS):
            for interval, pages in PLAN:
                for number in pages:
                    for volume, client in zip(VOLUMES, clients, strict=True):
                        ms, size, total = client.page(interval, number)
                        hits[volume][interval] = total
                        if number == 1 and round_number == 0:
                            first[volume].append(round(ms, 2))
                        elif number > 1 and size == PAGE_SIZE:
                            steady[volume].append(ms)
    finally:
        for server in servers:
            server.stop()
    small, large = (summary(steady[v]) for v in VOLUMES)
    ratio = large["median_page_ms"] / small["median_page_ms"]
    result = {
        "benchmark": "details query page latency over HTTP, full pages of 100, alternating requests",
        "small": {
            "conversations_per_day": VOLUMES[0],
            **small,
            "first_page_ms": first[VOLUMES[0]],
            "total_hits": hits[VOLUMES[0]],
        },
        "large": {
            "conversations_per_day": VOLUMES[1],
            **large,
            "first_page_ms": first[VOLUMES[1]],
            "total_hits": hits[VOLUMES[1]],
        },
        "median_ratio_large_over_small": round(ratio, 3),
        "target_ratio": 1.5,
        "within_target": ratio <= 1.5,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
