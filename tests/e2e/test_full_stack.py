"""End to end on a real Airflow 3.3 (api-server, scheduler, dag-processor, triggerer; CeleryExecutor with
two workers and Redis, or LocalExecutor; PostgreSQL).

Through the REST API, as a user would: trigger the ingest DAG with params (as the UI form does) and wait for
success; run a three-day backfill; make one partition fail once and clear only that mapped task instance;
then check Elasticsearch holds exactly the source's conversations for those days.

The tests run against ``genesys_conversations_to_es`` (with the Genesys simulator). The harness's probe DAG
(``tests/e2e/dags/e2e_probe.py``) is used instead while the ingest DAG does not exist, or in addition with
``E2E_PROBE=1``.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from elasticsearch import Elasticsearch

from genesys_es.assets import GENESYS_API_POOL
from tests.e2e.airflow_api import AirflowAPI
from tests.e2e.stack import CONVERSATIONS_PER_DAY, Stack, past_day
from tests.e2e.targets import Target, assert_day_matches_source, assert_run_succeeded

pytestmark = pytest.mark.e2e

#: The day triggered by hand and the three backfilled days (all in the past, so complete at the source).
TRIGGER_DAY = past_day(10)
BACKFILL_DAYS = [past_day(7), past_day(6), past_day(5)]
#: Days backfilled through the analytics jobs API (history).
JOBS_DAYS = [past_day(15), past_day(14)]


def test_stack_is_deployed_as_documented(airflow_stack: Stack, airflow_api: AirflowAPI) -> None:
    """Every component is healthy; the provider, both connections and the `genesys_api` pool are in place."""
    health = airflow_api.session.get(f"{airflow_stack.base_url}/api/v2/monitor/health", timeout=30).json()
    for component in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert health[component]["status"] == "healthy", component
    providers = {p["package_name"] for p in airflow_api.get("/providers", limit=1000)["providers"]}
    assert "genesys-es" in providers
    # The plugin (the DAG's timetable) loads once: the home page counts no plugin import error.
    plugins = {p["name"]: p for p in airflow_api.get("/plugins")["plugins"]}
    assert plugins["genesys_es"]["timetables"] == ["genesys_es.timetables.DailyCatchupFromTimetable"]
    assert airflow_api.get("/plugins/importErrors")["import_errors"] == []
    genesys = airflow_api.get("/connections/genesys_cloud_default")
    assert genesys["conn_type"] == "genesys_cloud" and genesys["login"] == "demo-client"
    elasticsearch = airflow_api.get("/connections/elasticsearch_default")
    assert elasticsearch["conn_type"] == "elasticsearch" and elasticsearch["host"] == "127.0.0.1"
    pool = airflow_api.get(f"/pools/{GENESYS_API_POOL}")
    assert pool["slots"] == 4


def test_trigger_with_params_indexes_the_day(
    target: Target, airflow_api: AirflowAPI, es: Elasticsearch
) -> None:
    """A run triggered through the REST API with the form's params indexes exactly that day."""
    conf = target.conf(TRIGGER_DAY)
    started = datetime.now()
    run = airflow_api.trigger(target.dag_id, conf)
    assert run["state"] in {"queued", "running"}
    assert run["conf"] == conf
    run = airflow_api.wait_for_run(target.dag_id, run["dag_run_id"])
    assert_run_succeeded(airflow_api, target, run)
    print(
        f"\n{target.dag_id}: triggered run of {TRIGGER_DAY} took {(datetime.now() - started).total_seconds():.0f}s"
    )

    mapped = airflow_api.task_instances(target.dag_id, run["dag_run_id"], target.mapped_task)
    assert len(mapped) >= 2, "expected the day split into several partitions"
    assert all(t["state"] == "success" and t["try_number"] == 1 for t in mapped)
    labels = [t["rendered_map_index"] for t in mapped]
    assert all(label and TRIGGER_DAY in label for label in labels), labels
    assert_day_matches_source(target, es, TRIGGER_DAY)
    target.results["trigger_run"] = run
    target.results["labels"] = labels


def test_three_day_backfill(target: Target, airflow_api: AirflowAPI, es: Elasticsearch) -> None:
    """`POST /api/v2/backfills` over three days creates one run per day; each day lands complete."""
    started = datetime.now()
    backfill = airflow_api.create_backfill(
        target.dag_id,
        f"{BACKFILL_DAYS[0]}T00:00:00Z",
        f"{BACKFILL_DAYS[-1]}T00:00:00Z",
        target.conf(),
        max_active_runs=3,
        reprocess_behavior="none",
    )
    runs = airflow_api.wait_for_backfill(target.dag_id, backfill["id"], BACKFILL_DAYS)
    for run in runs:
        assert_run_succeeded(airflow_api, target, run)
    print(f"\n{target.dag_id}: three-day backfill took {(datetime.now() - started).total_seconds():.0f}s")
    # One UTC day per run: the run for logical date D owns [D, D+1).
    assert [r["logical_date"][:10] for r in runs] == BACKFILL_DAYS
    assert [r["data_interval_end"][:10] for r in runs] == [past_day(6), past_day(5), past_day(4)]
    assert all(r["run_type"] == "backfill" for r in runs)
    for day in BACKFILL_DAYS:
        assert_day_matches_source(target, es, day)


def test_history_backfill_through_the_jobs_api_waits_deferred(
    target: Target, airflow_stack: Stack, airflow_api: AirflowAPI, es: Elasticsearch
) -> None:
    """A backfill with ``path=jobs``: one job per day, waited for in the triggerer, read, verified, deleted."""
    if target.dag_id != "genesys_conversations_to_es":
        pytest.skip("the ingest DAG's jobs path")
    sim = airflow_stack.simulator
    jobs_before = sim.stats()["jobs_created"]
    backfill = airflow_api.create_backfill(
        target.dag_id,
        f"{JOBS_DAYS[0]}T00:00:00Z",
        f"{JOBS_DAYS[-1]}T00:00:00Z",
        target.conf(path="jobs"),
        max_active_runs=2,
        reprocess_behavior="none",
    )
    runs = airflow_api.wait_for_backfill(target.dag_id, backfill["id"], JOBS_DAYS)
    for run, day in zip(runs, JOBS_DAYS, strict=True):
        assert_run_succeeded(airflow_api, target, run)
        mapped = airflow_api.task_instances(target.dag_id, run["dag_run_id"], target.mapped_task)
        assert [t["rendered_map_index"] for t in mapped] == [f"{day} 00:00-24:00 jobs"]
        ti = mapped[0]
        log = airflow_api.task_log(target.dag_id, run["dag_run_id"], ti["task_id"], ti["try_number"], 0)
        # Submitted by the worker, polled by the trigger in the triggerer, resumed and read on a worker.
        assert "waiting deferred" in log and "is FULFILLED after" in log, log[-3000:]
        assert "reading job" in log and " done: " in log, log[-3000:]
        assert_day_matches_source(target, es, day)
        record = es.get(index=f"{target.prefix}-reconciliation", id=day)["_source"]
        assert record["ok"] and record["indexed"] == record["genesysTotal"] == len(target.source_ids(day)), (
            record
        )
    target.results["jobs_days"] = JOBS_DAYS
    stats = sim.stats()
    assert stats["jobs_created"] - jobs_before == len(JOBS_DAYS)
    # Every job was deleted once read: nothing is left behind at Genesys.
    deleted = sum(
        n
        for key, n in stats["api_requests_by_path_and_status"].items()
        if "/details/jobs/" in key and key.endswith(" 204")
    )
    assert deleted >= len(JOBS_DAYS)


def test_failed_partition_is_retried_and_cleared_alone(
    target: Target, airflow_api: AirflowAPI, es: Elasticsearch
) -> None:
    """One partition fails once: only it runs again, on retry and when cleared through the API."""
    labels = target.results.get("labels")
    if not labels:
        pytest.skip("needs the partition labels of the triggered run")
    victim = labels[len(labels) // 2]
    total_before = target.es_total(es)
    run = airflow_api.trigger(target.dag_id, target.conf(TRIGGER_DAY, chaos_fail_partitions=[victim]))
    run_id = run["dag_run_id"]
    run = airflow_api.wait_for_run(target.dag_id, run_id)
    assert_run_succeeded(airflow_api, target, run)

    mapped = {
        t["rendered_map_index"]: t
        for t in airflow_api.task_instances(target.dag_id, run_id, target.mapped_task)
    }
    assert sorted(mapped) == sorted(labels), "the same day planned differently"
    assert mapped[victim]["try_number"] == 2, (
        f"the failing partition did not fail once then succeed: {mapped[victim]}"
    )
    assert all(t["try_number"] == 1 for label, t in mapped.items() if label != victim)
    first_try_log = airflow_api.task_log(
        target.dag_id, run_id, target.mapped_task, 1, mapped[victim]["map_index"]
    )
    assert "fail" in first_try_log.lower(), "the first try of the drilled partition did not fail"

    others_before = {
        t["task_id"]: t["try_number"]
        for t in airflow_api.task_instances(target.dag_id, run_id)
        if t["task_id"] != target.mapped_task
    }
    cleared = airflow_api.clear_task_instances(
        target.dag_id, run_id, [[target.mapped_task, mapped[victim]["map_index"]]]
    )
    assert [(t["task_id"], t["map_index"]) for t in cleared] == [
        (target.mapped_task, mapped[victim]["map_index"])
    ]
    run = airflow_api.wait_for_run(target.dag_id, run_id)
    assert_run_succeeded(airflow_api, target, run)

    after = airflow_api.task_instances(target.dag_id, run_id)
    again = {t["rendered_map_index"]: t for t in after if t["task_id"] == target.mapped_task}
    assert again[victim]["try_number"] == 3 and again[victim]["state"] == "success"
    assert all(t["try_number"] == 1 for label, t in again.items() if label != victim), "a neighbour re-ran"
    assert {
        t["task_id"]: t["try_number"] for t in after if t["task_id"] != target.mapped_task
    } == others_before

    # Re-running the day (twice) changed nothing in Elasticsearch: no duplicate, no loss.
    assert target.es_total(es) == total_before
    assert_day_matches_source(target, es, TRIGGER_DAY)


def test_elasticsearch_holds_exactly_the_source(target: Target, es: Elasticsearch) -> None:
    """After everything, the index holds exactly the source's conversations of the days run, nothing else."""
    days = [TRIGGER_DAY, *BACKFILL_DAYS, *target.results.get("jobs_days", [])]
    for day in days:
        assert_day_matches_source(target, es, day)
    assert target.es_total(es) == sum(len(target.source_ids(day)) for day in days)
    if target.dag_id == "genesys_conversations_to_es":
        assert CONVERSATIONS_PER_DAY * len(days) == target.es_total(es)


def test_celery_workers_share_the_work_within_one_budget(
    target: Target, airflow_stack: Stack, airflow_api: AirflowAPI, es: Elasticsearch
) -> None:
    """A day of many small partitions on both Celery workers stays within a budget it would burst alone."""
    if airflow_stack.executor != "CeleryExecutor" or airflow_stack.simulator is None:
        pytest.skip("needs the CeleryExecutor stack and the simulator")
    import json

    budget = 60
    sim = airflow_stack.simulator
    connection = airflow_api.get("/connections/genesys_cloud_default")
    extra = json.loads(connection["extra"])
    limiter = sim.state.limiter
    # The simulator enforces the budget per OAuth client (fixed one-minute windows); the connection says it.
    airflow_api.call(
        "PATCH",
        "/connections/genesys_cloud_default",
        json={**connection, "extra": json.dumps({**extra, "requests_per_minute": budget})},
        params={"update_mask": "extra"},
    )
    limiter.per_minute, saved = budget, limiter.per_minute
    limiter.clear()
    before = sim.stats()
    logs = {w: airflow_stack.logs / f"celery-{w}.log" for w in ("worker-1", "worker-2")}
    marks = {w: log.stat().st_size for w, log in logs.items()}
    try:
        day = past_day(12)
        run = airflow_api.trigger(target.dag_id, target.conf(day, page_size=5, pages_per_partition=2))
        run = airflow_api.wait_for_run(target.dag_id, run["dag_run_id"], timeout=600)
        assert_run_succeeded(airflow_api, target, run)
    finally:
        limiter.per_minute = saved
        airflow_api.call(
            "PATCH",
            "/connections/genesys_cloud_default",
            json={**connection, "extra": json.dumps(extra)},
            params={"update_mask": "extra"},
        )
    after = sim.stats()
    requests = after["api_requests"] - before["api_requests"]
    # More requests than one window allows: four tasks at once on two workers would have met a 429.
    assert requests > budget, requests
    assert after["rate_limited"] == before["rate_limited"], after["api_requests_by_status"]
    ran = {
        w: log.read_text(errors="replace")[marks[w] :].count("Executing workload") for w, log in logs.items()
    }
    assert all(n > 0 for n in ran.values()), f"a worker ran none of the run's tasks: {ran}"
    assert_day_matches_source(target, es, day)
