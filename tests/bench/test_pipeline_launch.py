"""Benchmark task processes start from the fork server with the harness's current settings and report CPU."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from bench.pipeline import _adopt, _context, _launch_state
from bench.run import pipeline_cpu


def _report(conn, environ: dict[str, str], cpus: set[int]) -> None:
    _adopt(environ, cpus)
    conn.send((os.environ.get("AIRFLOW_CONN_BENCH_PROBE"), os.sched_getaffinity(0)))
    conn.close()


def _run_probe() -> tuple[str | None, set[int]]:
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_report, args=(child, *_launch_state()))
    proc.start()
    child.close()
    try:
        return parent.recv()
    finally:
        proc.join(30)


def test_a_task_takes_the_variables_and_cpus_the_harness_has_when_it_starts(monkeypatch):
    available = os.sched_getaffinity(0)
    if len(available) < 2:
        pytest.skip("needs 2 CPUs to see the affinity change")
    # The fork server is started (or reused) with one state; the task must see the later one.
    monkeypatch.setenv("AIRFLOW_CONN_BENCH_PROBE", "http://first")
    assert _run_probe() == ("http://first", available)
    monkeypatch.setenv("AIRFLOW_CONN_BENCH_PROBE", "http://second")
    one = {min(available)}
    os.sched_setaffinity(0, one)
    try:
        assert _run_probe() == ("http://second", one)
    finally:
        os.sched_setaffinity(0, available)


def test_pipeline_cpu_counts_the_tasks_own_cpu_time():
    before = {"elasticsearch": 1.0, "harness": 2.0, "tasks": 0.0, "simulator": 0.5}
    after = {"elasticsearch": 3.0, "harness": 2.1, "tasks": 0.0, "simulator": 0.6}
    run = SimpleNamespace(indexed=1000, task_cpu_seconds=1.5)
    assert pipeline_cpu(before, after, run) == {
        "elasticsearch": 2.0,
        "harness": 0.1,
        "tasks": 1.5,
        "simulator": 0.1,
        "total": 3.7,
    }
