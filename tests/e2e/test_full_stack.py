"""End to end on a real Airflow 3.3 (api-server, scheduler, dag-processor, triggerer; LocalExecutor; PostgreSQL).

Through the REST API, as a user would: trigger the ingest DAG with params (as the UI form does) and wait for
success; run a three-day backfill; make one partition fail once and clear only that mapped task instance;
then check Elasticsearch holds exactly the source's conversations for those days.

The tests run against ``genesys_conversations_to_es`` (with the Genesys simulator). The harness's probe DAG
(``tests/e2e/dags/e2e_probe.py``) is used instead while the ingest DAG does not exist, or in addition with
``E2E_PROBE=1``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.e2e.airflow_api import AirflowAPI
from tests.e2e.conftest import CONVERSATIONS_PER_DAY, Stack, day_bounds, past_day, target_dag_ids

pytestmark = pytest.mark.e2e

#: The day triggered by hand and the three backfilled days (all in the past, so complete at the source).
TRIGGER_DAY = past_day(10)
BACKFILL_DAYS = [past_day(7), past_day(6), past_day(5)]
PROBE_CONVERSATIONS_PER_DAY = 40


@dataclass
class Target:
    """A DAG under test and how to read its source and its Elasticsearch copy."""

    dag_id: str
    mapped_task: str
    prefix: str
    stack: Stack
    results: dict[str, Any] = field(default_factory=dict)

    def conf(self, date_from: str | None = None, date_to: str | None = None, **extra: Any) -> dict[str, Any]:
        """Return the run conf, as the trigger form would submit it."""
        if self.dag_id == "e2e_probe":
            conf: dict[str, Any] = {
                "index_prefix": self.prefix,
                "conversations_per_day": PROBE_CONVERSATIONS_PER_DAY,
                "chaos_fail_partitions": [],
            }
        else:
            conf = {
                "index_prefix": self.prefix,
                "mode": "upsert",
                "pii": "hash",
                "page_size": 100,
                "pages_per_partition": 1,
                "dry_run": False,
                "refresh_open_days": 0,
                "chaos_fail_partitions": [],
            }
        if date_from:
            conf.update(date_from=date_from, date_to=date_to or date_from)
        conf.update(extra)
        return conf

    def source_ids(self, day: str) -> set[str]:
        """Return the conversation ids the source holds for one UTC day."""
        if self.dag_id == "e2e_probe":
            from tests.e2e.dags.e2e_probe import probe_ids

            return set(probe_ids(day, PROBE_CONVERSATIONS_PER_DAY))
        start, end = day_bounds(day)
        return set(self.stack.simulator.dataset.conversation_ids(start, end))

    def es_ids(self, es: Elasticsearch, day: str) -> list[str]:
        """Return every document id Elasticsearch holds for one UTC day (duplicates kept)."""
        start, end = day_bounds(day)
        if self.dag_id == "e2e_probe":
            index, query = f"{self.prefix}-probe", {"term": {"day": day}}
        else:
            index = self.prefix
            query = {"range": {"conversationStart": {"gte": start.isoformat(), "lt": end.isoformat()}}}
        es.indices.refresh(index=index)
        answer = es.search(index=index, query=query, size=10_000, source=False, track_total_hits=True)
        assert answer["hits"]["total"]["value"] < 10_000
        return [hit["_id"] for hit in answer["hits"]["hits"]]

    def es_total(self, es: Elasticsearch) -> int:
        """Return the number of documents the run wrote, all days together."""
        index = f"{self.prefix}-probe" if self.dag_id == "e2e_probe" else self.prefix
        es.indices.refresh(index=index)
        return es.count(index=index)["count"]


@pytest.fixture(scope="module", params=target_dag_ids())
def target(request: pytest.FixtureRequest, airflow_stack: Stack, airflow_api: AirflowAPI, es: Elasticsearch):
    """The DAG under test, deployed and unpaused, with its own index prefix."""
    dag_id = request.param
    if dag_id == "genesys_conversations_to_es":
        assert airflow_stack.ingest_dag, "the ingest DAG needs the simulator"
        mapped_task = "extract_and_index"
    else:
        mapped_task = "index_partition"
    airflow_api.wait_for_dag(dag_id)
    airflow_api.unpause(dag_id)
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    yield Target(dag_id=dag_id, mapped_task=mapped_task, prefix=prefix, stack=airflow_stack)
    es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def assert_day_matches_source(target: Target, es: Elasticsearch, day: str) -> None:
    """Elasticsearch holds every source conversation of the day once, and nothing else."""
    ids = target.es_ids(es, day)
    expected = target.source_ids(day)
    assert expected, f"the source has no conversation on {day}"
    assert len(ids) == len(set(ids)), f"{day}: duplicate documents"
    missing, extra = expected - set(ids), set(ids) - expected
    assert not missing and not extra, (
        f"{day}: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra"
    )


def assert_run_succeeded(api: AirflowAPI, target: Target, run: dict[str, Any]) -> None:
    """Fail with the task states and the first failed task's log when a run did not succeed."""
    if run["state"] == "success":
        return
    details = api.describe(target.dag_id, run["dag_run_id"])
    failed = [t for t in api.task_instances(target.dag_id, run["dag_run_id"]) if t["state"] == "failed"]
    log = ""
    if failed:
        t = failed[0]
        log = api.task_log(target.dag_id, run["dag_run_id"], t["task_id"], t["try_number"], t["map_index"])[
            -3000:
        ]
    pytest.fail(f"run {run['dag_run_id']} is {run['state']}: {details}\n{log}")


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
    """After everything, the index holds exactly the source's conversations of the four days, nothing else."""
    days = [TRIGGER_DAY, *BACKFILL_DAYS]
    for day in days:
        assert_day_matches_source(target, es, day)
    assert target.es_total(es) == sum(len(target.source_ids(day)) for day in days)
    if target.dag_id == "genesys_conversations_to_es":
        assert CONVERSATIONS_PER_DAY * len(days) == target.es_total(es)
