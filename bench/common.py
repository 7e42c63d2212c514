"""Shared pieces of the benchmark harness: environment, simulator process, index setup, statistics."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
#: The benchmark day; its month index is ``<prefix>-2024.03``.
DAY = date(2024, 3, 5)
DAY_START = datetime(2024, 3, 5, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"
PII_KEY = "bench-pii-key-0123456789abcdef"


def setup_airflow_env() -> None:
    """Isolate Airflow's home (the operator reads connections and Variables from the environment)."""
    os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".cache" / "airflow-bench"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / ".cache" / "no-plugins"))
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ["AIRFLOW_VAR_GENESYS_ES_PII_SECRET"] = PII_KEY
    for path in (str(REPO), str(REPO / "plugins")):
        if path not in sys.path:
            sys.path.insert(0, path)


def set_connections(es_url: str, sim_url: str, requests_per_minute: int = 0) -> None:
    """Point ``genesys_cloud_default`` at a simulator and ``elasticsearch_default`` at a node.

    :param es_url: ``http://host:port`` of Elasticsearch.
    :param sim_url: base URL of the simulator.
    :param requests_per_minute: the hook's request budget (0 = unlimited).
    """
    host, _, port = es_url.removeprefix("http://").partition(":")
    os.environ["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"] = json.dumps(
        {
            "conn_type": "elasticsearch",
            "host": host,
            "port": int(port or 9200),
            "schema": "http",
            "extra": {"request_timeout": 120},
        }
    )
    os.environ["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"] = json.dumps(
        {
            "conn_type": "genesys_cloud",
            "login": CLIENT_ID,
            "password": CLIENT_SECRET,
            "extra": {"base_url": sim_url, "requests_per_minute": requests_per_minute},
        }
    )


def free_port() -> int:
    """Return a TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SimulatorProcess:
    """A simulator served by its own process (``python -m include.genesys_simulator``)."""

    process: subprocess.Popen[bytes]
    base_url: str

    def stop(self) -> None:
        """Terminate the process."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def simulator(
    volumes: dict[date, int], rate_limit_per_minute: int = 0, cache_mb: int = 2048
) -> Iterator[SimulatorProcess]:
    """Run the simulator in its own process (so it never shares a GIL with the pipeline).

    Its page cache answers a repeated page of the (settled) benchmark day without rendering it again,
    so after a warm-up pass the simulator costs about what a remote Genesys costs this machine: the
    bytes on the socket. Access logging is off for the same reason.

    :param volumes: exact conversations per UTC day.
    :param rate_limit_per_minute: the simulator's request limit per token (0 = unthrottled).
    :param cache_mb: the simulator's page cache (``--response-cache-mb``; 0 = render every page).
    """
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "include.genesys_simulator",
        "--port",
        str(port),
        "--seed",
        "7",
        "--rate-limit-per-minute",
        str(rate_limit_per_minute),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--response-cache-mb",
        str(cache_mb),
        "--no-access-log",
    ]
    for day, count in volumes.items():
        cmd += ["--volume", f"{day.isoformat()}={count}"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sim = SimulatorProcess(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"simulator did not start: {err[-2000:]}") from None
            time.sleep(0.1)
    try:
        yield sim
    finally:
        sim.stop()


def es_client(es_url: str, **kwargs: Any):
    """Return an Elasticsearch client with the project's orjson serializer and a long timeout."""
    from elasticsearch import Elasticsearch

    from genesys_es.transform.serialization import OrjsonSerializer

    return Elasticsearch(es_url, serializer=OrjsonSerializer(), request_timeout=300, **kwargs)


def prepare_index(es, prefix: str) -> str:
    """Create the template, alias and the benchmark day's monthly index on a quiet node; return the index."""
    from genesys_es.load.index_setup import ensure_index_resources, ensure_monthly_indices

    drop_prefix(es, prefix)
    ensure_index_resources(es, prefix)
    (index,) = ensure_monthly_indices(es, prefix, [DAY_START])
    wait_quiet(es)
    return index


QUIET_POOLS = ("write", "refresh", "flush", "force_merge")


def wait_quiet(es, timeout: float = 120.0) -> float:
    """Wait until the node merges, writes, refreshes and flushes nothing (twice in a row); return seconds waited.

    Segments written by a measurement's final refresh are merged in the background afterwards; without this
    wait that work would run (and be charged) during the next measurement.

    :param es: a client of the node.
    :param timeout: give up waiting after this many seconds (the measurement then says so in the log).
    """
    started = time.monotonic()
    calm = 0
    while time.monotonic() - started < timeout:
        stats = es.nodes.stats(
            node_id="_local",
            metric="indices,thread_pool",
            index_metric="merge",
            filter_path="nodes.*.indices.merges.current,nodes.*.thread_pool",
        )
        node = next(iter(stats["nodes"].values()))
        pools = node.get("thread_pool", {})
        busy = node["indices"]["merges"]["current"] + sum(
            pools.get(p, {}).get("active", 0) + pools.get(p, {}).get("queue", 0) for p in QUIET_POOLS
        )
        calm = calm + 1 if busy == 0 else 0
        if calm >= 2:
            return time.monotonic() - started
        time.sleep(0.2)
    log(f"node still busy after {timeout:.0f} s; measuring anyway")
    return time.monotonic() - started


def drop_prefix(es, prefix: str) -> None:
    """Delete every index and the template of a benchmark prefix."""
    es.options(ignore_status=404).indices.delete(index=f"{prefix}-*", expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=prefix)


def count(es, prefix: str) -> int:
    """Refresh and count the documents behind a prefix's monthly indices."""
    es.indices.refresh(index=f"{prefix}-2*")
    return int(es.count(index=f"{prefix}-2*")["count"])


def median(values: Sequence[float]) -> float:
    """Return the median, rounded to 1 decimal."""
    return round(statistics.median(values), 1)


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Return median, min, max and the relative spread of repeated measurements."""
    mid = statistics.median(values)
    return {
        "median": round(mid, 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "runs": [round(v, 1) for v in values],
        "spread_pct": round(100 * (max(values) - min(values)) / mid, 1) if mid else 0.0,
    }


def machine() -> dict[str, Any]:
    """Describe the machine and its load (the numbers mean little without it)."""
    import psutil

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def log(message: str) -> None:
    """Print a progress line with a timestamp."""
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def cpu_snapshot(es, sim_pid: int | None = None) -> dict[str, float]:
    """Return CPU seconds used so far by Elasticsearch, the simulator, this process and its waited children."""
    import resource

    import psutil

    stats = es.nodes.stats(node_id="_local", metric="process", filter_path="nodes.*.process.cpu")
    es_ms = next(iter(stats["nodes"].values()))["process"]["cpu"]["total_in_millis"]
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    snap = {
        "elasticsearch": es_ms / 1000,
        "harness": me.ru_utime + me.ru_stime,
        "tasks": kids.ru_utime + kids.ru_stime,
        "simulator": 0.0,
    }
    if sim_pid is not None:
        times = psutil.Process(sim_pid).cpu_times()
        snap["simulator"] = times.user + times.system
    return snap


def cpu_per_doc(before: dict[str, float], after: dict[str, float], docs: int) -> dict[str, float]:
    """Return CPU milliseconds per document of each component between two snapshots."""
    out = {k: round(1000 * (after[k] - before[k]) / docs, 3) for k in before}
    out["total"] = round(sum(out.values()), 3)
    return out
