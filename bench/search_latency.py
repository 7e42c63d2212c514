"""Benchmark part 6: search latency p50/p95 of the probe queries at a large index (default 1,000,000).

The corpus is the pipeline's real documents (``conversation_actions`` with the default PII policy) built
from simulator days (seed 7, ``--days`` days of ``target / days`` conversations each, from 2024-01-01),
generated straight from the simulator's dataset (no HTTP: the point here is the index, not the API) by
``--workers`` processes that each serialize and bulk-post their day. The corpus index prefix is kept
between runs and reused when it already holds the target count (loading 1M takes tens of minutes here).

    .venv/bin/python -m bench.search_latency --es-url http://127.0.0.1:9400 [--target 1000000] [--reload]

Writes bench/results/search_latency.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import RESULTS, drop_prefix, es_client, log, machine, setup_airflow_env

PREFIX = "bench-search"
FIRST_DAY = date(2024, 1, 1)
CHUNK_DOCS = 1000
OUTPUT = RESULTS / "search_latency.json"


def _load_day(job: tuple[str, str, int, int]) -> tuple[int, float]:
    """Generate, build, serialize and bulk-index one simulator day; return (documents, seconds)."""
    es_url, day_iso, per_day, seed = job
    setup_airflow_env()
    from genesys_es.extract.planning import Partition
    from genesys_es.load.ingest import PartitionStats, conversation_actions
    from genesys_es.transform.pii import PiiPolicy
    from genesys_es.transform.serialization import dumps
    from include.genesys_simulator.config import SimulatorConfig
    from include.genesys_simulator.dataset import Dataset

    day = date.fromisoformat(day_iso)
    config = SimulatorConfig(seed=seed, volume_overrides={day: per_day})
    dataset = Dataset(
        config.seed,
        config.conversations_per_day,
        config.volume_overrides,
        config.weekday_volume,
        now_ms=lambda: int(time.time() * 1000),
    )
    es = es_client(es_url)
    started = time.perf_counter()
    written = 0
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for hour in range(24):  # an hour at a time keeps memory small
        h0 = start + timedelta(hours=hour)
        h1 = h0 + timedelta(hours=1)
        label = f"{day_iso} h{hour:02d}"
        # A slice query also returns conversations still running from earlier hours: keep only those
        # starting in the hour, as the pipeline's partitions do.
        hour_partition = Partition(
            start=h0, end=h1, first_page=1, last_page=None, page_size=100, expected=0, label=label
        )
        actions = conversation_actions(
            dataset.conversations(h0, h1),
            hour_partition,
            index_prefix=PREFIX,
            pii=PiiPolicy(mode="drop"),
            run_id="bench-search",
            label=label,
            stats=PartitionStats(),
        )
        lines: list[bytes] = []
        for action in actions:
            lines.append(dumps({"index": {"_index": action["_index"], "_id": action["_id"]}}))
            lines.append(dumps(action["_source"]))
            if len(lines) >= 2 * CHUNK_DOCS:
                written += _post(es, lines)
                lines = []
        if lines:
            written += _post(es, lines)
    return written, time.perf_counter() - started


def _post(es, lines: list[bytes]) -> int:
    body = b"\n".join(lines) + b"\n"
    resp = es.bulk(operations=body)
    if resp.get("errors"):
        bad = next(item for item in resp["items"] if next(iter(item.values())).get("error"))
        raise RuntimeError(f"bulk error: {bad}")
    return len(resp["items"])


def load_corpus(es_url: str, target: int, days: int, workers: int) -> dict[str, Any]:
    """Index ``target`` documents over ``days`` simulator days; return load timings."""
    from genesys_es.load.index_setup import ensure_index_resources, ensure_monthly_indices

    es = es_client(es_url)
    drop_prefix(es, PREFIX)
    ensure_index_resources(es, PREFIX)
    day_list = [FIRST_DAY + timedelta(days=d) for d in range(days)]
    months = sorted({datetime(d.year, d.month, 1, tzinfo=UTC) for d in day_list})
    indices = ensure_monthly_indices(es, PREFIX, months)
    es.indices.put_settings(
        index=",".join(indices), settings={"index": {"refresh_interval": "-1", "number_of_replicas": 0}}
    )
    per_day = target // days
    jobs = [(es_url, d.isoformat(), per_day, 7) for d in day_list]
    started = time.perf_counter()
    done = 0
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for written, seconds in pool.imap_unordered(_load_day, jobs):
            done += written
            log(f"search corpus: {done:,}/{per_day * days:,} documents (day took {seconds:.0f}s)")
    load_seconds = time.perf_counter() - started
    es.indices.put_settings(index=",".join(indices), settings={"index": {"refresh_interval": None}})
    es.indices.refresh(index=",".join(indices))
    merge_started = time.perf_counter()
    es.indices.forcemerge(index=",".join(indices), max_num_segments=5, request_timeout=3600)
    return {
        "documents": done,
        "days": days,
        "load_seconds": round(load_seconds, 1),
        "load_docs_per_s": round(done / load_seconds, 1),
        "forcemerge_seconds": round(time.perf_counter() - merge_started, 1),
        "workers": workers,
    }


def measure(es_url: str, runs: int, warmup: int) -> dict[str, Any]:
    """Run the probe queries against the corpus alias; return per-probe and overall p50/p95."""
    from genesys_es.verify.latency import load_probes, run_probes, sample_parameters

    es = es_client(es_url)
    params = sample_parameters(es, PREFIX)
    report = run_probes(es, PREFIX, load_probes(), runs=runs, warmup=warmup, params=params)
    return {
        "client_p50_ms": round(report.client_p50_ms, 1),
        "client_p95_ms": round(report.client_p95_ms, 1),
        "took_p50_ms": round(report.took_p50_ms, 1),
        "took_p95_ms": round(report.took_p95_ms, 1),
        "runs_per_probe": runs,
        "warmup_per_probe": warmup,
        "probes": [
            {
                "name": p.name,
                "client_p50_ms": round(p.client_p50_ms, 1),
                "client_p95_ms": round(p.client_p95_ms, 1),
                "took_p50_ms": round(p.took_p50_ms, 1),
                "took_p95_ms": round(p.took_p95_ms, 1),
                "hits": p.hits,
            }
            for p in report.probes
        ],
        "parameters": params,
    }


def run(es_url: str, target: int, days: int, workers: int, reload: bool, runs: int, warmup: int) -> dict:
    """Load the corpus when needed, measure, and return the result dict."""
    es = es_client(es_url)
    have = 0
    if es.indices.exists_alias(name=PREFIX):
        es.indices.refresh(index=PREFIX)
        have = int(es.count(index=PREFIX)["count"])
    previous: dict[str, Any] = {}
    if OUTPUT.exists():
        previous = json.loads(OUTPUT.read_text()).get("load", {})
    if reload or have < target:
        log(f"search corpus: {have:,} documents, loading {target:,}")
        load = load_corpus(es_url, target, days, workers)
    else:
        log(f"search corpus: reusing {have:,} documents in {PREFIX}")
        load = {**previous, "reused": True}
    es.indices.refresh(index=PREFIX)
    size = int(es.count(index=PREFIX)["count"])
    result = {
        "benchmark": "search_latency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "indexed_conversations": size,
        "target_conversations": target,
        "load": load,
        "index_bytes": int(
            es.indices.stats(index=PREFIX, metric="store")["_all"]["primaries"]["store"]["size_in_bytes"]
        ),
        **measure(es_url, runs, warmup),
    }
    return result


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--es-url", default="http://127.0.0.1:9400")
    parser.add_argument("--target", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--reload", action="store_true", help="rebuild the corpus even if it exists")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    setup_airflow_env()
    result = run(args.es_url, args.target, args.days, args.workers, args.reload, args.runs, args.warmup)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "probes"}, indent=2))


if __name__ == "__main__":
    main()
