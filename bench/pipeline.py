"""Run the real pipeline over one simulator day: plan, then one forked process per partition task.

This mirrors how Airflow runs the mapped ``extract_and_index`` task: every partition is a separate task
process (Airflow's task runner forks one per try) executing ``GenesysToElasticsearchOperator.execute``, at most
``workers`` at once (the DAG's ``max_active_tis_per_dag`` = ``max_active_partitions``, default 4) and each
sharing the connection's request budget in Elasticsearch as in the DAG.
Running the DAG itself with ``dag.test()`` would run mapped tasks one after the other in one process, which
neither shows the parallelism of a real deployment nor gives a per-task memory figure.

The task processes are forked from a lean fork server that has loaded Airflow's task supervisor and the
operator's modules, as Airflow's supervisor forks its task process; not from this harness, whose heap holds
the ceiling's documents: a task forked from that 650 MB heap spent 0.21 ms of CPU per document, one forked
from the fork server 0.17-0.18 (docs/benchmarks.md). Each task takes the harness's current ``AIRFLOW_*``
variables (connections change with every simulator) and CPU affinity (``bench.affinity.split_cores``) when
it starts.

Each task process reports its operator summary, its RSS when it started, its peak RSS (``ru_maxrss``) and the
CPU time it used.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import resource
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from bench.common import DAY, DAY_START


@dataclass
class PipelineRun:
    """The outcome of one end-to-end run."""

    conversations: int
    partitions: int
    indexed: int
    seconds: float
    plan_seconds: float
    api_requests: int
    api_retries: int
    peak_rss_mb: float
    start_rss_mb: float
    task_seconds_max: float
    task_cpu_seconds: float = 0.0
    summaries: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def docs_per_s(self) -> float:
        """Return indexed documents per wall-clock second, planning included."""
        return self.indexed / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly summary (no per-partition detail)."""
        return {
            "conversations": self.conversations,
            "partitions": self.partitions,
            "indexed": self.indexed,
            "seconds": round(self.seconds, 2),
            "plan_seconds": round(self.plan_seconds, 2),
            "docs_per_s": round(self.docs_per_s, 1),
            "api_requests": self.api_requests,
            "api_retries": self.api_retries,
            "peak_rss_mb_per_task": round(self.peak_rss_mb, 1),
            "start_rss_mb_per_task": round(self.start_rss_mb, 1),
            "peak_growth_mb_per_task": round(self.peak_rss_mb - self.start_rss_mb, 1),
            "slowest_task_seconds": round(self.task_seconds_max, 2),
        }


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


#: Modules a partition task process finds loaded: Airflow's task supervisor (which forks it) and the operator's.
#: Seconds between two status requests of a job (the simulator prepares one in 0.5 s; Genesys in minutes,
#: where the DAG's default of 10 s is nothing beside the wait).
JOB_POLL_SECONDS = 0.5

TASK_MODULES = (
    "airflow.sdk.execution_time.supervisor",
    "genesys_es.load.bulk",
    "genesys_es.transform.documents",
    "genesys_es.hooks.elasticsearch_client",
    "genesys_es.hooks.genesys_cloud",
    "genesys_es.load.ingest",
    "genesys_es.operators.genesys_to_elasticsearch",
    "genesys_es.triggers.genesys_job",
    "genesys_es.triggers.inline",
    "genesys_es.extract.planning",
    "genesys_es.run_config",
    "bench.pipeline",
)


def _context() -> multiprocessing.context.BaseContext:
    """Return the context task processes start in: a fork server with :data:`TASK_MODULES` loaded."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(TASK_MODULES))
    return ctx


def _noop() -> None:
    return None


def start_task_server() -> None:
    """Start the fork server and wait until its modules are loaded (once; outside any measurement)."""
    proc = _context().Process(target=_noop)
    proc.start()
    proc.join()


def _launch_state() -> tuple[dict[str, str], set[int]]:
    """Return what a task process takes from the harness: its ``AIRFLOW_*`` variables and CPU affinity."""
    return {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW")}, os.sched_getaffinity(0)


def _adopt(environ: dict[str, str], cpus: set[int]) -> None:
    os.environ.update(environ)
    os.sched_setaffinity(0, cpus)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _task(
    conn,
    partition: dict[str, Any],
    run_config: dict[str, Any],
    map_index: int,
    environ: dict[str, str],
    cpus: set[int],
) -> None:
    """Body of one partition task process: execute the operator and send back summary, memory and CPU.

    A jobs partition defers: its trigger runs here, in the task process (in Airflow it runs in the
    triggerer while the task holds no worker slot), then the operator resumes, as Airflow resumes it.
    """
    try:
        _adopt(environ, cpus)
        from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator
        from genesys_es.triggers.inline import run_deferred

        start_rss = _rss_mb()
        began = time.perf_counter()
        op = GenesysToElasticsearchOperator(
            task_id="extract_and_index",
            partition=partition,
            run_config=run_config,
            job_poll_seconds=JOB_POLL_SECONDS,
        )
        context = {"ti": SimpleNamespace(try_number=1, map_index=map_index), "run_id": "bench__run"}
        summary = run_deferred(op, context)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(
            {
                "summary": summary,
                "start_rss_mb": start_rss,
                "peak_rss_mb": peak,
                "task_seconds": time.perf_counter() - began,
                "cpu_seconds": _cpu_seconds(),
            }
        )
    except BaseException as exc:
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        conn.close()


def plan(
    page_size: int = 100, pages_per_partition: int | None = None, parallelism: int = 1, path: str = "sync"
) -> list[dict[str, Any]]:
    """Plan the benchmark day like the DAG's ``plan_partitions`` task (in a task process of its own)."""
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_plan_task, args=(child, page_size, pages_per_partition, parallelism, path, *_launch_state())
    )
    proc.start()
    child.close()
    result = parent.recv()
    proc.join()
    if isinstance(result, str):
        raise RuntimeError(f"planning failed: {result}")
    return result


def _plan_task(
    conn,
    page_size: int,
    pages_per_partition: int | None,
    parallelism: int,
    path: str,
    environ: dict[str, str],
    cpus: set[int],
) -> None:
    try:
        _adopt(environ, cpus)
        from genesys_es.extract.history import plan_run
        from genesys_es.extract.jobs import ConversationJobs
        from genesys_es.extract.paging import ConversationPager
        from genesys_es.extract.planning import DEFAULT_PAGES_PER_PARTITION
        from genesys_es.hooks.genesys_cloud import GenesysCloudHook

        with GenesysCloudHook() as hook:
            parts = plan_run(
                [DAY_START],
                ConversationPager(hook).count,
                available_until=ConversationJobs(hook).availability() if path == "jobs" else None,
                now=datetime.now(UTC),
                page_size=page_size,
                pages_per_partition=pages_per_partition or DEFAULT_PAGES_PER_PARTITION,
                parallelism=parallelism,
            )
            conn.send([p.to_xcom() for p in parts])
    except BaseException as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        conn.close()


def warm_imports() -> None:
    """Import :data:`TASK_MODULES` here too, so the harness's first CPU accounting does not pay for them."""
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)


def run_pipeline(
    prefix: str, workers: int = 4, pii: str = "drop", *, bulk_settings: bool = False, path: str = "sync"
) -> PipelineRun:
    """Plan and index the benchmark day with up to ``workers`` partition task processes at once.

    Connections must already be set (:func:`bench.common.set_connections`) and the index prepared.

    :param prefix: the index prefix.
    :param workers: partition tasks running at once.
    :param pii: the run's PII mode.
    :param bulk_settings: the partitions switch the index to bulk-time settings (the backfill path).
    :param path: ``sync`` (details query) or ``jobs`` (jobs API).
    """
    from genesys_es.run_config import build_run_config

    warm_imports()
    start_task_server()

    config = build_run_config(
        {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), "index_prefix": prefix, "pii": pii},
        None,
    ).to_xcom()
    started = time.perf_counter()
    partitions = [{**p, "fresh_index": bulk_settings} for p in plan(parallelism=workers, path=path)]
    plan_seconds = time.perf_counter() - started
    ctx = _context()
    launch = _launch_state()
    queue = list(enumerate(partitions))
    running: list[tuple[Any, Any, dict[str, Any]]] = []
    results: list[dict[str, Any]] = []
    while queue or running:
        while queue and len(running) < workers:
            index, part = queue.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_task, args=(child, part, config, index, *launch))
            proc.start()
            child.close()
            running.append((proc, parent, part))
        ready = multiprocessing.connection.wait([r[1] for r in running])
        for proc, conn, part in [r for r in running if r[1] in ready]:
            try:
                message = conn.recv()
            except EOFError:
                message = {"error": f"task process died (exit code {proc.exitcode})"}
            proc.join()
            running.remove((proc, conn, part))
            if "error" in message:
                for other, _, _ in running:
                    other.terminate()
                raise RuntimeError(f"partition {part['label']} failed: {message['error']}")
            results.append(message)
    seconds = time.perf_counter() - started
    summaries = [r["summary"] for r in results]
    return PipelineRun(
        conversations=sum(s["conversations"] for s in summaries),
        partitions=len(partitions),
        indexed=sum(s["indexed"] for s in summaries),
        seconds=seconds,
        plan_seconds=plan_seconds,
        api_requests=sum(s["api_requests"] for s in summaries),
        api_retries=sum(s["api_retries"] for s in summaries),
        peak_rss_mb=max(r["peak_rss_mb"] for r in results),
        start_rss_mb=max(r["start_rss_mb"] for r in results),
        task_seconds_max=max(r["task_seconds"] for r in results),
        task_cpu_seconds=sum(r["cpu_seconds"] for r in results),
        summaries=summaries,
    )


def timestamp() -> str:
    """Return a compact UTC timestamp for index prefixes."""
    return datetime.now().strftime("%H%M%S")
