"""``make bench``: ceiling, pipeline, naive baseline, throttled run, scale and search latency in one run.

    .venv/bin/python -m bench.run [--mode quick|full] [--es-url URL] [--only compare,split,throttled,scale,search]

Writes bench/results/latest.json, bench/results/latest.md (the table for the README) and
bench/results/scale.png, and prints the table. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import (
    DAY,
    RESULTS,
    cpu_per_doc,
    cpu_snapshot,
    drop_prefix,
    es_client,
    log,
    machine,
    prepare_index,
    set_connections,
    setup_airflow_env,
    simulator,
    spread,
)

MODES: dict[str, dict[str, Any]] = {
    "quick": {
        "compare_conversations": 10_000,
        "repeats": 2,
        "threads": (1, 2, 4),
        "chunks": (500, 2000),
        "scale": (10_000, 30_000),
        "throttled_minutes": 1.0,
        # A corpus of at least this size is reused (e.g. the full run's million); else 100,000 are loaded.
        "search_target": 100_000,
        "jobs_conversations": 20_000,
        "jobs_memory": (10_000, 50_000),
        "airflow_conversations": 20_000,
        "airflow_executors": ("LocalExecutor",),
    },
    "full": {
        "compare_conversations": 20_000,
        "repeats": 3,
        # The ratios are the headline and the shared machine is noisy: more runs for a steadier median.
        "compare_repeats": 5,
        "threads": (1, 2, 4),
        "chunks": (250, 500, 1000, 2000),
        "scale": (10_000, 100_000, 300_000),
        "throttled_minutes": 2.0,
        "search_target": 1_000_000,
        "jobs_conversations": 50_000,
        "jobs_memory": (10_000, 100_000, 300_000),
        "airflow_conversations": 100_000,
        "airflow_executors": ("LocalExecutor", "CeleryExecutor"),
    },
}
SECTIONS = (
    "compare",
    "split",
    "latency",
    "workers",
    "bulk_settings",
    "throttled",
    "jobs",
    "airflow",
    "scale",
    "search",
)


def warm_up(es_url: str, sim_url: str, workers: int) -> None:
    """Run the pipeline and the baseline once, unmeasured, so the simulator's page cache holds their pages."""
    from bench.baseline import run_baseline
    from bench.pipeline import run_pipeline

    es = es_client(es_url)
    started = time.perf_counter()
    prepare_index(es, "bench-warmup")
    run_pipeline("bench-warmup", workers=workers)
    run_baseline(es_url, sim_url, "bench-warmup", prepare_index(es, "bench-warmup"))
    drop_prefix(es, "bench-warmup")
    log(f"warm-up: simulator page cache filled in {time.perf_counter() - started:.0f} s (not measured)")


def pipeline_cpu(before: dict[str, float], after: dict[str, float], run: Any) -> dict[str, float]:
    """Return CPU ms per document of a pipeline run, with the partition tasks' CPU as they reported it.

    The task processes are children of the fork server, not of this process: ``RUSAGE_CHILDREN`` misses them.
    """
    out = cpu_per_doc(before, after, run.indexed)
    out["tasks"] = round(1000 * run.task_cpu_seconds / run.indexed, 3)
    out["total"] = round(sum(v for k, v in out.items() if k != "total"), 3)
    return out


def compare(es_url: str, cfg: dict[str, Any], workers: int) -> dict[str, Any]:
    """Parts 1-3: ceiling grid, then ceiling/pipeline/baseline interleaved ``repeats`` times (same day)."""
    from bench.baseline import run_baseline
    from bench.baseline_parallel import run_parallel_baseline
    from bench.ceiling import bodies, measure_grid, pipeline_documents, post
    from bench.pipeline import run_pipeline

    n = cfg["compare_conversations"]
    from bench.pipeline import warm_imports

    warm_imports()  # so the first CPU accounting does not pay for importing Airflow
    log(f"compare: building the pipeline documents of a {n:,}-conversation day")
    documents = pipeline_documents(n)
    mean_doc = sum(len(d) for _, d in documents) / len(documents)
    log(f"compare: ceiling grid threads {cfg['threads']} x chunk docs {cfg['chunks']}")
    grid = measure_grid(es_url, documents, cfg["threads"], cfg["chunks"], "bench-ceiling")
    best = grid[0]
    log(f"compare: best ceiling {best}")
    chunks = bodies(documents, best["chunk_docs"])
    ceiling, posting, pipeline, baseline, fair, pipeline_runs = [], [], [], [], [], []
    cpu: dict[str, list[dict[str, float]]] = {"ceiling": [], "pipeline": [], "baseline": []}
    es = es_client(es_url)
    with simulator({DAY: n}) as sim:
        set_connections(es_url, sim.base_url)
        warm_up(es_url, sim.base_url, workers)
        for r in range(cfg.get("compare_repeats", cfg["repeats"])):
            pid = sim.process.pid
            before = cpu_snapshot(es, pid)
            posted, seconds = post(es_url, "bench-ceiling", chunks, best["threads"])
            cpu["ceiling"].append(cpu_per_doc(before, cpu_snapshot(es, pid), len(documents)))
            ceiling.append(len(documents) / seconds)
            posting.append(len(documents) / posted)
            log(f"compare #{r + 1}: ceiling {ceiling[-1]:.0f} docs/s")
            prepare_index(es, "bench-pipeline")
            before = cpu_snapshot(es, pid)
            run = run_pipeline("bench-pipeline", workers=workers)
            cpu["pipeline"].append(pipeline_cpu(before, cpu_snapshot(es, pid), run))
            if run.indexed != len(documents):
                raise RuntimeError(f"pipeline indexed {run.indexed} of {len(documents)}")
            pipeline.append(run.docs_per_s)
            pipeline_runs.append(run.to_dict())
            log(f"compare #{r + 1}: pipeline {run.docs_per_s:.0f} docs/s")
            index = prepare_index(es, "bench-baseline")
            before = cpu_snapshot(es, pid)
            base = run_baseline(es_url, sim.base_url, "bench-baseline", index)
            cpu["baseline"].append(cpu_per_doc(before, cpu_snapshot(es, pid), len(documents)))
            baseline.append(base["docs_per_s"])
            log(f"compare #{r + 1}: baseline {base['docs_per_s']:.0f} docs/s")
            index = prepare_index(es, "bench-fair")
            fair.append(run_parallel_baseline(es_url, sim.base_url, "bench-fair", index)["docs_per_s"])
            log(f"compare #{r + 1}: thread pool + parallel_bulk baseline {fair[-1]:.0f} docs/s")
    for prefix in ("bench-ceiling", "bench-pipeline", "bench-baseline", "bench-fair"):
        drop_prefix(es, prefix)
    c, p, b = spread(ceiling), spread(pipeline), spread(baseline)
    return {
        "conversations": n,
        "documents": len(documents),
        "mean_document_bytes": round(mean_doc),
        "ceiling_grid": grid,
        "ceiling_best": {"threads": best["threads"], "chunk_docs": best["chunk_docs"]},
        "ceiling_docs_per_s": c,
        "ceiling_posting_only_docs_per_s": spread(posting),
        "pipeline_docs_per_s": p,
        "baseline_docs_per_s": b,
        "parallel_baseline_docs_per_s": spread(fair),
        "ratio_pipeline_parallel_baseline": round(p["median"] / spread(fair)["median"], 2),
        "pipeline_runs": pipeline_runs,
        "cpu_ms_per_doc": {k: _median_dict(v) for k, v in cpu.items()},
        "pipeline_workers": workers,
        "ratio_pipeline_ceiling": round(p["median"] / c["median"], 3),
        "ratio_pipeline_posting_only": round(p["median"] / spread(posting)["median"], 3),
        "ratio_pipeline_baseline": round(p["median"] / b["median"], 2),
    }


def split_unavailable(es_url: str) -> str | None:
    """Return why the node cannot get cores of its own here (``None`` when it can)."""
    host = urlsplit(es_url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        return f"the node at {host} is not on this machine"
    if len(os.sched_getaffinity(0)) < 2:
        return "this process may use fewer than 2 CPUs"
    return None


def split_compare(es_url: str, cfg: dict[str, Any], workers: int) -> dict[str, Any]:
    """Parts 1-3 again with Elasticsearch on cores of its own (``bench.affinity.split_cores``)."""
    from bench.affinity import split_cores

    with split_cores(es_client(es_url)) as cpus:
        log(f"split: Elasticsearch on CPUs {cpus['elasticsearch_cpus']}, the rest on {cpus['pipeline_cpus']}")
        result = compare(es_url, cfg, workers)
    return {**cpus, **result}


def api_latency(es_url: str, cfg: dict[str, Any], workers: int, seconds: float) -> dict[str, Any]:
    """Pipeline vs baseline when every API request takes ``seconds`` longer, as a remote Genesys does.

    The simulator answers in milliseconds from the same machine; a real details query travels over the
    internet and takes a few hundred milliseconds. Its ``slow`` fault with probability 1 adds that delay to
    every API request (an ``asyncio.sleep``: no CPU).
    """
    import requests

    from bench.baseline import run_baseline
    from bench.pipeline import run_pipeline, warm_imports

    warm_imports()
    n = cfg["compare_conversations"]
    es = es_client(es_url)
    pipeline, baseline = [], []
    with simulator({DAY: n}) as sim:
        set_connections(es_url, sim.base_url)
        warm_up(es_url, sim.base_url, workers)
        requests.post(
            f"{sim.base_url}/_sim/faults",
            json={"name": "latency", "slow_probability": 1.0, "slow_seconds": seconds},
            timeout=10,
        ).raise_for_status()
        for r in range(cfg["repeats"]):
            prepare_index(es, "bench-pipeline")
            run = run_pipeline("bench-pipeline", workers=workers)
            pipeline.append(run.docs_per_s)
            log(f"latency #{r + 1}: pipeline {run.docs_per_s:.0f} docs/s")
            index = prepare_index(es, "bench-baseline")
            base = run_baseline(es_url, sim.base_url, "bench-baseline", index)
            baseline.append(base["docs_per_s"])
            log(f"latency #{r + 1}: baseline {base['docs_per_s']:.0f} docs/s")
    for prefix in ("bench-pipeline", "bench-baseline"):
        drop_prefix(es, prefix)
    p, b = spread(pipeline), spread(baseline)
    return {
        "conversations": n,
        "api_latency_seconds": seconds,
        "pipeline_docs_per_s": p,
        "baseline_docs_per_s": b,
        "ratio_pipeline_baseline": round(p["median"] / b["median"], 2),
    }


def bulk_settings_ab(es_url: str, cfg: dict[str, Any], workers: int) -> dict[str, Any]:
    """The unthrottled pipeline with and without bulk-time settings on its index, interleaved ``repeats`` times.

    The daily path keeps the live index's replica and refresh interval; this is what that costs against
    switching them off while writing (what the backfill path may do on indices nobody searches yet).
    """
    from bench.pipeline import run_pipeline, warm_imports

    warm_imports()
    n = cfg["compare_conversations"]
    es = es_client(es_url)
    rates: dict[str, list[float]] = {"kept": [], "bulk": []}
    with simulator({DAY: n}) as sim:
        set_connections(es_url, sim.base_url)
        warm_up(es_url, sim.base_url, workers)
        for r in range(cfg.get("compare_repeats", cfg["repeats"])):
            for name in ("kept", "bulk"):
                prepare_index(es, "bench-settings")
                run = run_pipeline("bench-settings", workers=workers, bulk_settings=name == "bulk")
                if run.indexed != n:
                    raise RuntimeError(f"pipeline indexed {run.indexed} of {n}")
                rates[name].append(run.docs_per_s)
                log(f"bulk settings #{r + 1}: {name} {run.docs_per_s:.0f} docs/s")
    drop_prefix(es, "bench-settings")
    kept, bulk = spread(rates["kept"]), spread(rates["bulk"])
    return {
        "conversations": n,
        "kept_docs_per_s": kept,
        "bulk_docs_per_s": bulk,
        "ratio_kept_bulk": round(kept["median"] / bulk["median"], 3),
    }


def workers_sweep(es_url: str, cfg: dict[str, Any], options: tuple[int, ...]) -> dict[str, Any]:
    """The unthrottled pipeline with several partition concurrencies, interleaved ``repeats`` times."""
    from bench.pipeline import run_pipeline, warm_imports

    warm_imports()
    n = cfg["compare_conversations"]
    es = es_client(es_url)
    rates: dict[int, list[float]] = {w: [] for w in options}
    cpu: dict[int, list[dict[str, float]]] = {w: [] for w in options}
    with simulator({DAY: n}) as sim:
        set_connections(es_url, sim.base_url)
        warm_up(es_url, sim.base_url, max(options))
        for r in range(cfg["repeats"]):
            for w in options:
                prepare_index(es, "bench-workers")
                before = cpu_snapshot(es, sim.process.pid)
                run = run_pipeline("bench-workers", workers=w)
                cpu[w].append(pipeline_cpu(before, cpu_snapshot(es, sim.process.pid), run))
                rates[w].append(run.docs_per_s)
                log(f"workers #{r + 1}: {w} partition tasks {run.docs_per_s:.0f} docs/s")
    drop_prefix(es, "bench-workers")
    return {
        "conversations": n,
        "rows": [
            {"workers": w, "docs_per_s": spread(rates[w]), "cpu_ms_per_doc": _median_dict(cpu[w])}
            for w in options
        ],
    }


def _median_dict(rows: list[dict[str, float]]) -> dict[str, float]:
    """Return the per-key median of repeated CPU accountings."""
    import statistics

    return {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]} if rows else {}


def throttled(es_url: str, minutes: float, workers: int, rpm: int = 300) -> dict[str, Any]:
    """Part 4: the pipeline against a simulator limited to ``rpm``; achieved/allowed request rate."""
    from bench.pipeline import run_pipeline

    n = int(rpm * minutes * 100)
    log(f"throttled: {n:,} conversations at {rpm} requests/minute (about {minutes:g} min)")
    es = es_client(es_url)
    with simulator({DAY: n}, rate_limit_per_minute=rpm) as sim:
        set_connections(es_url, sim.base_url, requests_per_minute=rpm)
        prepare_index(es, "bench-throttled")
        run = run_pipeline("bench-throttled", workers=workers)
    drop_prefix(es, "bench-throttled")
    extract_seconds = run.seconds - run.plan_seconds
    achieved = run.api_requests / extract_seconds * 60
    result = {
        "allowed_requests_per_minute": rpm,
        "achieved_requests_per_minute": round(achieved, 1),
        "ratio_achieved_allowed": round(achieved / rpm, 3),
        "api_retries": run.api_retries,
        **run.to_dict(),
    }
    hook_budget = RESULTS / "hook_budget.json"
    if hook_budget.exists():
        data = json.loads(hook_budget.read_text())
        result["hook_budget_bench"] = {
            k: data.get(k) for k in ("when", "ratio_to_allowed", "http_429_after_first_minute", "concurrency")
        }
    return result


def _fresh_jobs_run(es: Any, n: int, workers: int) -> Any:
    """Index the benchmark day of ``n`` conversations through the jobs path into a fresh index; check the count."""
    from bench.pipeline import run_pipeline

    drop_prefix(es, "bench-jobs")
    prepare_index(es, "bench-jobs")
    run = run_pipeline("bench-jobs", workers=workers, path="jobs", bulk_settings=True)
    if run.indexed != n:
        raise RuntimeError(f"jobs path indexed {run.indexed} of {n}")
    return run


def _ceiling_and_jobs(
    es_url: str, es: Any, chunks: list[bytes], n: int, workers: int, repeats: int, label: str
) -> tuple[list[float], list[Any]]:
    """Measure the raw bulk ceiling (docs/s) and a fresh jobs run ``repeats`` times, interleaved."""
    from bench.ceiling import post

    ceiling, runs = [], []
    for r in range(repeats):
        _, seconds = post(es_url, "bench-ceiling", chunks, 4)
        ceiling.append(n / seconds)
        runs.append(_fresh_jobs_run(es, n, workers))
        log(f"{label} #{r + 1}: ceiling {ceiling[-1]:.0f} docs/s, jobs path {runs[-1].docs_per_s:.0f} docs/s")
    return ceiling, runs


def _jobs_split_cores(es_url: str, es: Any, chunks: list[bytes], n: int, workers: int, repeats: int) -> Any:
    """The unbudgeted jobs path and the ceiling with Elasticsearch on cores of its own, interleaved (or why not)."""
    from bench.affinity import split_cores

    why = split_unavailable(es_url)
    if why:
        return {"skipped": why}
    with split_cores(es) as cpus, simulator({DAY: n}) as sim:
        set_connections(es_url, sim.base_url)
        prepare_index(es, "bench-jobs")
        _fresh_jobs_run(es, n, workers)  # fills this simulator's page cache
        ceiling, runs = _ceiling_and_jobs(es_url, es, chunks, n, workers, repeats, "jobs, split cores")
    c, j = spread(ceiling), spread([run.docs_per_s for run in runs])
    return {
        **cpus,
        "ceiling_docs_per_s": c,
        "jobs_docs_per_s": j,
        "ratio": round(j["median"] / c["median"], 3),
    }


def jobs_path(es_url: str, cfg: dict[str, Any], workers: int, rpm: int = 300) -> dict[str, Any]:
    """Issue 16: the jobs path against the sync path on one budget of ``rpm``, both end to end into Elasticsearch.

    Same day, same simulator (limited to ``rpm``, the connections' budget set to it). The jobs path is run
    ``repeats`` times interleaved with the raw bulk ceiling of the same documents (attributes included, as
    jobs return them), each on an index it creates (bulk-time settings, as a backfill's); the sync path
    once (at the budget its rate is the budget's). Then without a budget (with the CPU per document of each
    component), the same with Elasticsearch on cores of its own, and peak memory per task by slice size: one
    slice (``workers=1``) per day of each size, unthrottled.
    """
    from bench.ceiling import bodies, pipeline_documents
    from bench.pipeline import run_pipeline, warm_imports

    warm_imports()
    n = cfg["jobs_conversations"]
    es = es_client(es_url)
    log(f"jobs: building the jobs-shaped documents of a {n:,}-conversation day")
    chunks = bodies(pipeline_documents(n, with_attributes=True), 1000)
    with simulator({DAY: n}, rate_limit_per_minute=rpm) as sim:
        set_connections(es_url, sim.base_url, requests_per_minute=rpm)
        prepare_index(es, "bench-jobs")
        run_pipeline("bench-jobs", workers=workers, path="jobs")  # fills the simulator's page cache
        ceiling, measured = _ceiling_and_jobs(es_url, es, chunks, n, workers, cfg["repeats"], "jobs")
        jobs, runs = [run.docs_per_s for run in measured], [run.to_dict() for run in measured]
        drop_prefix(es, "bench-sync")
        prepare_index(es, "bench-sync")
        sync = run_pipeline("bench-sync", workers=workers)
        log(f"jobs: sync path {sync.docs_per_s:.0f} docs/s at {rpm} requests/minute")
    # Without the budget (Genesys support can raise it): what the same day costs when Elasticsearch is the bound.
    unbudgeted, cpu = [], []
    with simulator({DAY: n}) as sim:
        set_connections(es_url, sim.base_url)
        prepare_index(es, "bench-jobs")
        run_pipeline("bench-jobs", workers=workers, path="jobs")  # fills this simulator's page cache
        for r in range(cfg["repeats"]):
            before = cpu_snapshot(es, sim.process.pid)
            run = _fresh_jobs_run(es, n, workers)
            cpu.append(pipeline_cpu(before, cpu_snapshot(es, sim.process.pid), run))
            unbudgeted.append(run.docs_per_s)
            log(f"jobs without budget #{r + 1}: {run.docs_per_s:.0f} docs/s ({run.api_requests} requests)")
    split = _jobs_split_cores(es_url, es, chunks, n, workers, cfg["repeats"])
    memory = []
    for size in cfg["jobs_memory"]:
        with simulator({DAY: size}) as sim:
            set_connections(es_url, sim.base_url)
            drop_prefix(es, "bench-jobs")
            prepare_index(es, "bench-jobs")
            run = run_pipeline("bench-jobs", workers=1, path="jobs", bulk_settings=True)
        if run.indexed != size:
            raise RuntimeError(f"jobs slice of {size}: indexed {run.indexed}")
        memory.append({"slice_conversations": size, **run.to_dict()})
        log(f"jobs: slice of {size:,}: peak RSS {run.peak_rss_mb:.0f} MB (start {run.start_rss_mb:.0f} MB)")
    for prefix in ("bench-jobs", "bench-sync", "bench-ceiling"):
        drop_prefix(es, prefix)
    c, j, u = spread(ceiling), spread(jobs), spread(unbudgeted)
    return {
        "conversations": n,
        "requests_per_minute": rpm,
        "ceiling_docs_per_s": c,
        "jobs_docs_per_s": j,
        "jobs_runs": runs,
        "sync": sync.to_dict(),
        "ratio_jobs_sync": round(j["median"] / sync.docs_per_s, 2),
        "ratio_jobs_ceiling": round(j["median"] / c["median"], 3),
        # At the budget the jobs path cannot pass 1,000 conversations per request x rpm / 60.
        "jobs_budget_bound_docs_per_s": round(1000 * rpm / 60),
        "jobs_unbudgeted_docs_per_s": u,
        "ratio_unbudgeted_ceiling": round(u["median"] / c["median"], 3),
        "jobs_unbudgeted_cpu_ms_per_doc": _median_dict(cpu),
        "split": split,
        "memory_by_slice": memory,
    }


def scale(es_url: str, sizes: tuple[int, ...], workers: int) -> list[dict[str, Any]]:
    """Part 5: one run per day size: time, docs/s, peak RSS per partition task."""
    from bench.pipeline import run_pipeline

    rows = []
    es = es_client(es_url)
    for n in sizes:
        log(f"scale: {n:,} conversations")
        with simulator({DAY: n}) as sim:
            set_connections(es_url, sim.base_url)
            prepare_index(es, "bench-scale")
            run = run_pipeline("bench-scale", workers=workers)
        if run.indexed != n:
            raise RuntimeError(f"scale {n}: indexed {run.indexed}")
        rows.append({"day_conversations": n, **run.to_dict()})
        log(f"scale: {rows[-1]}")
        drop_prefix(es, "bench-scale")
    return rows


def search(es_url: str, target: int, reload: bool) -> dict[str, Any]:
    """Part 6: probe latency at ``target`` indexed conversations (corpus reused between runs)."""
    from bench.search_latency import OUTPUT
    from bench.search_latency import run as run_search

    result = run_search(es_url, target, days=10, workers=2, reload=reload, runs=50, warmup=5)
    OUTPUT.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    """Run the selected sections and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--es-url", default="http://127.0.0.1:9400")
    parser.add_argument("--workers", type=int, default=4, help="partition tasks at once (the DAG's default)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated of {', '.join(SECTIONS)} (default: all; split needs a local node and 2+ CPUs)",
    )
    parser.add_argument("--scale-sizes", default=None, help="comma-separated day sizes (overrides the mode)")
    parser.add_argument("--compare-conversations", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--throttled-minutes", type=float, default=None)
    parser.add_argument("--api-latency", type=float, default=0.3, help="seconds added per API request")
    parser.add_argument("--search-target", type=int, default=None)
    parser.add_argument("--search-reload", action="store_true")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    setup_airflow_env()
    cfg = dict(MODES[args.mode])
    if args.scale_sizes:
        cfg["scale"] = tuple(int(s) for s in args.scale_sizes.split(","))
    if args.compare_conversations is not None:
        cfg["compare_conversations"] = args.compare_conversations
    if args.repeats is not None:
        cfg["repeats"] = cfg["compare_repeats"] = args.repeats
    if args.throttled_minutes is not None:
        cfg["throttled_minutes"] = args.throttled_minutes
    if args.search_target is not None:
        cfg["search_target"] = args.search_target
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    from bench.report import merge_previous, write_outputs

    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": args.mode,
        "machine_at_start": machine(),
        "elasticsearch": _es_version(args.es_url),
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "workers": args.workers,
    }
    # Scale first: partition tasks are forked from this process, and their memory figure should not include
    # what the comparison's pre-serialized documents left in this process's heap.
    if "scale" in only:
        result["scale"] = scale(args.es_url, cfg["scale"], args.workers)
    if "compare" in only:
        result["compare"] = compare(args.es_url, cfg, args.workers)
    if "split" in only:
        reason = split_unavailable(args.es_url)
        if reason:
            log(f"split: skipped, {reason}")
        else:
            result["compare_split"] = split_compare(args.es_url, cfg, args.workers)
    if "latency" in only:
        result["latency"] = api_latency(args.es_url, cfg, args.workers, args.api_latency)
    if "workers" in only:
        result["workers_sweep"] = workers_sweep(args.es_url, cfg, (2, 4, 8))
    if "bulk_settings" in only:
        result["bulk_settings"] = bulk_settings_ab(args.es_url, cfg, args.workers)
    if "throttled" in only:
        result["throttled"] = throttled(args.es_url, cfg["throttled_minutes"], args.workers)
    if "jobs" in only:
        result["jobs"] = jobs_path(args.es_url, cfg, args.workers)
    if "airflow" in only:
        from bench.airflow_run import run_through_airflow

        result["airflow"] = [
            run_through_airflow(args.es_url, cfg["airflow_conversations"], executor, args.workers)
            for executor in cfg["airflow_executors"]
        ]
    if "search" in only:
        result["search"] = search(args.es_url, cfg["search_target"], args.search_reload)
    result["machine_at_end"] = machine()
    result = merge_previous(result, args.output_dir / "latest.json")
    table = write_outputs(result, args.output_dir)
    print(table)


def _es_version(es_url: str) -> str:
    """Return the node's version from the nodes API (the test node has no ``GET /``)."""
    nodes = es_client(es_url).nodes.info(node_id="_local", filter_path="nodes.*.version")
    return next(iter(nodes["nodes"].values()))["version"]


if __name__ == "__main__":
    main()
