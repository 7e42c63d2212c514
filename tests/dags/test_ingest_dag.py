"""The ingest DAG end to end with real task code, the simulator and the real Elasticsearch node."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAY = date(2026, 11, 10)
DAY_START = datetime(2026, 11, 10, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
VOLUME = 600  # conversations on DAY: small, so a run takes seconds

# The DAG reads these at parse time (no I/O): quick retries for the retry scenario.
os.environ.setdefault("AIRFLOW__GENESYS_ES__RETRY_DELAY_SECONDS", "1")
os.environ.setdefault("AIRFLOW__GENESYS_ES__START_DATE", "2026-11-01")
os.environ.setdefault("AIRFLOW__GENESYS_ES__ALLOW_DRILLS", "True")  # the partition-retry drill
os.environ.setdefault("AIRFLOW__GENESYS_ES__JOB_POLL_SECONDS", "0.5")


@pytest.fixture
def ingest_dag():
    """Return the ingest DAG freshly parsed from the dags folder (dag.test() keeps a run's params)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "genesys_conversations_to_es.py"))
    assert bag.import_errors == {}
    return bag.get_dag("genesys_conversations_to_es")


@pytest.fixture
def sim(simulator_factory):
    """Return a simulator whose DAY holds VOLUME conversations."""
    return simulator_factory(
        conversations_per_day=VOLUME, volume_overrides={DAY: VOLUME}, rate_limit_per_minute=0
    )


@pytest.fixture
def env(airflow_db, airflow_connections, sim) -> Any:
    airflow_connections(sim.base_url)
    return sim


def _conf(prefix: str, **overrides: Any) -> dict[str, Any]:
    conf = {
        "date_from": DAY.isoformat(),
        "date_to": DAY.isoformat(),
        "index_prefix": prefix,
        "pages_per_partition": 2,
        "latency_target_p95_ms": 5000,
        "refresh_open_days": 0,
    }
    conf.update(overrides)
    return conf


def _run(dag, conf: dict[str, Any]):
    return dag.test(run_conf=conf, logical_date=datetime.now(UTC))


def _task_states(dag_run) -> dict[tuple[str, int], tuple[str, int]]:
    return {(ti.task_id, ti.map_index): (ti.state, ti.try_number) for ti in dag_run.get_task_instances()}


def _indexed_ids(es: Elasticsearch, prefix: str) -> list[str]:
    es.indices.refresh(index=prefix)
    resp = es.search(
        index=prefix,
        query={"range": {"conversationStart": {"gte": DAY_START.isoformat(), "lt": DAY_END.isoformat()}}},
        size=10_000,
        source=False,
    )
    return [hit["_id"] for hit in resp["hits"]["hits"]]


def test_day_is_indexed_completely_once_and_rerun_changes_nothing(
    ingest_dag, env, es: Elasticsearch, index_prefix: str
) -> None:
    source_ids = set(env.dataset.conversation_ids(DAY_START, DAY_END))
    assert len(source_ids) > 100

    run = _run(ingest_dag, _conf(index_prefix))
    assert run.state == "success", _task_states(run)
    ids = _indexed_ids(es, index_prefix)
    assert len(ids) == len(set(ids)) == len(source_ids)
    assert set(ids) == source_ids
    states = _task_states(run)
    mapped = [k for k in states if k[0] == "extract_and_index"]
    assert len(mapped) >= 3, "the day should have been split into several partitions"
    # Readable map index names come from the partition labels.
    labels = {ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "extract_and_index"}
    assert all(label and label.startswith("2026-11-10 ") and " p" in label for label in labels)

    second = _run(ingest_dag, _conf(index_prefix))
    assert second.state == "success"
    again = _indexed_ids(es, index_prefix)
    assert len(again) == len(ids) and set(again) == source_ids


def test_the_jobs_path_serves_the_days_genesys_has_made_available_and_sync_the_rest(
    ingest_dag, simulator_factory, airflow_db, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    day2 = DAY + timedelta(days=1)
    # Job data is available until the middle of the second day: the first goes through a job, the second
    # (straddling the date) through the details query.
    lag = datetime.now(UTC) - (DAY_END + timedelta(hours=12))
    sim = simulator_factory(
        volume_overrides={DAY: 1500, day2: 300}, job_data_lag_seconds=int(lag.total_seconds())
    )
    airflow_connections(sim.base_url)
    run = _run(ingest_dag, _conf(index_prefix, date_to=day2.isoformat(), path="jobs"))
    assert run.state == "success", _task_states(run)
    labels = {ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "extract_and_index"}
    assert "2026-11-10 00:00-24:00 jobs" in labels
    assert any(label.startswith("2026-11-11 ") and " p" in label for label in labels)
    summary = run.get_task_instance("finalize_run").xcom_pull(task_ids="finalize_run")
    assert summary["paths"] == {"2026-11-10": "jobs", "2026-11-11": "sync"}
    es.indices.refresh(index=index_prefix)
    for start in (DAY_START, DAY_END):
        end = start + timedelta(days=1)
        on_day = {"range": {"conversationStart": {"gte": start.isoformat(), "lt": end.isoformat()}}}
        hits = es.search(index=index_prefix, query=on_day, size=10_000, source=False)["hits"]["hits"]
        assert sorted(h["_id"] for h in hits) == sorted(sim.dataset.conversation_ids(start, end))
        record = es.get(index=f"{index_prefix}-reconciliation", id=start.date().isoformat())["_source"]
        assert record["indexed"] == len(hits) == record["genesysTotal"]
    assert sim.stats()["jobs_created"] == 1


def test_a_day_before_the_catchup_start_is_indexed_by_its_logical_date(
    ingest_dag, simulator_factory, airflow_db, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    # [genesys_es] start_date is 2026-11-01 here: catch-up starts there, but a run for an earlier
    # logical date (as `airflow dags test <dag> 2026-10-20` makes) must still index its own day.
    old_day = date(2026, 10, 20)
    start = datetime(2026, 10, 20, tzinfo=UTC)
    sim = simulator_factory(conversations_per_day=200, volume_overrides={old_day: 200})
    airflow_connections(sim.base_url)
    conf = {"index_prefix": index_prefix, "pages_per_partition": 1, "latency_target_p95_ms": None}
    run = ingest_dag.test(run_conf=conf, logical_date=start + timedelta(hours=15))
    assert run.state == "success", _task_states(run)
    assert ("extract_and_index", 0) in _task_states(run)
    es.indices.refresh(index=index_prefix)
    on_day = {
        "range": {
            "conversationStart": {"gte": start.isoformat(), "lt": (start + timedelta(days=1)).isoformat()}
        }
    }
    hits = es.search(index=index_prefix, query=on_day, size=10_000, source=False)["hits"]["hits"]
    assert {hit["_id"] for hit in hits} == set(sim.dataset.conversation_ids(start, start + timedelta(days=1)))
    record = es.get(index=f"{index_prefix}-reconciliation", id="2026-10-20")["_source"]
    assert record["settled"] is True and record["indexed"] == len(hits)


def test_an_unsettled_day_is_rechecked_repaired_and_settled_by_the_next_run(
    ingest_dag, env, es: Elasticsearch, index_prefix: str
) -> None:
    assert _run(ingest_dag, _conf(index_prefix)).state == "success"
    reconciliation = f"{index_prefix}-reconciliation"
    # As a scheduled run leaves its day minutes after midnight: checked while growing, not settled.
    es.update(index=reconciliation, id=DAY.isoformat(), doc={"settled": False}, refresh=True)
    lost = sorted(_indexed_ids(es, index_prefix))[:7]
    for cid in lost:
        es.delete(index=f"{index_prefix}-2026.11", id=cid, refresh=True)

    next_day = (DAY + timedelta(days=1)).isoformat()
    run = _run(ingest_dag, _conf(index_prefix, date_from=next_day, date_to=next_day))
    assert run.state == "success", _task_states(run)
    assert set(_indexed_ids(es, index_prefix)) == set(env.dataset.conversation_ids(DAY_START, DAY_END))
    record = es.get(index=reconciliation, id=DAY.isoformat())["_source"]
    assert record["settled"] is True and record["repaired"] == 7 and record["missing"] == 0
    assert record["genesysTotal"] == record["indexed"] == VOLUME


def test_partition_failing_once_is_retried_alone(
    ingest_dag, env, es: Elasticsearch, index_prefix: str
) -> None:
    from genesys_es.extract.planning import make_label

    # The first partition of the day covers the whole day, pages 1-2.
    label = make_label(DAY_START, DAY_END, 1, 2)
    run = _run(ingest_dag, _conf(index_prefix, chaos_fail_partitions=[label]))
    assert run.state == "success", _task_states(run)
    tries = {
        ti.rendered_map_index: ti.try_number
        for ti in run.get_task_instances()
        if ti.task_id == "extract_and_index"
    }
    assert tries[label] == 2
    assert all(t == 1 for name, t in tries.items() if name != label)
    assert set(_indexed_ids(es, index_prefix)) == set(env.dataset.conversation_ids(DAY_START, DAY_END))


def test_rebuild_removes_documents_missing_at_the_source(
    ingest_dag, env, es: Elasticsearch, index_prefix: str
) -> None:
    assert _run(ingest_dag, _conf(index_prefix)).state == "success"
    ghost = {
        "conversationId": "00000000-dead-beef-0000-000000000000",
        "conversationStart": "2026-11-10T12:00:00.000Z",
        "conversationEnd": "2026-11-10T12:05:00.000Z",
    }
    es.index(index=f"{index_prefix}-2026.11", id=ghost["conversationId"], document=ghost, refresh=True)
    assert ghost["conversationId"] in _indexed_ids(es, index_prefix)

    run = _run(ingest_dag, _conf(index_prefix, mode="rebuild"))
    assert run.state == "success", _task_states(run)
    ids = _indexed_ids(es, index_prefix)
    assert ghost["conversationId"] not in ids
    assert set(ids) == set(env.dataset.conversation_ids(DAY_START, DAY_END))


def test_bad_params_fail_clearly_and_touch_nothing(
    ingest_dag, env, es: Elasticsearch, index_prefix: str
) -> None:
    from airflow.sdk.definitions.param import ParamValidationError

    with pytest.raises(ParamValidationError):
        _run(ingest_dag, _conf(index_prefix, page_size=500))

    for bad in (
        _conf(index_prefix, date_from="2026-11-12", date_to="2026-11-10"),
        # A misspelled param (date_form for date_from) must not re-index the run's own day instead.
        {k: v for k, v in _conf(index_prefix, date_form="2026-11-10").items() if k != "date_from"},
    ):
        run = _run(ingest_dag, bad)
        assert run.state == "failed"
        states = _task_states(run)
        assert states[("resolve_run", -1)][0] == "failed"
        assert states[("ensure_index", -1)][0] == "upstream_failed"
        assert es.indices.get(index=f"{index_prefix}*") == {}


def test_dry_run_plans_only(ingest_dag, env, es: Elasticsearch, index_prefix: str) -> None:
    run = _run(ingest_dag, _conf(index_prefix, dry_run=True))
    assert run.state == "success", _task_states(run)
    states = _task_states(run)
    assert states[("plan_partitions", -1)][0] == "success"
    assert es.indices.get(index=f"{index_prefix}*") == {}


def test_conversations_indexed_while_open_are_refreshed_by_a_later_run(
    ingest_dag, simulator_factory, airflow_db, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    # DAY is indexed at 21:00 (a run triggered by hand): conversations still running have no
    # conversationEnd yet. (A scheduled run after midnight meets the same with those spanning midnight.)
    seen_at = DAY_START + timedelta(hours=21)
    sim = simulator_factory(
        conversations_per_day=VOLUME,
        volume_overrides={DAY: VOLUME, DAY + timedelta(days=1): VOLUME},
        now=seen_at,
    )
    airflow_connections(sim.base_url)
    first = _run(ingest_dag, _conf(index_prefix, latency_target_p95_ms=None))
    assert first.state == "success", _task_states(first)
    es.indices.refresh(index=index_prefix)
    on_day = {"range": {"conversationStart": {"gte": DAY_START.isoformat(), "lt": DAY_END.isoformat()}}}
    still_open = {"bool": {"filter": [on_day, {"term": {"derived.open": True}}]}}
    assert es.count(index=index_prefix, query=still_open)["count"] > 0, "some should span midnight"
    indexed_then = es.count(index=index_prefix, query=on_day)["count"]
    assert indexed_then == len(sim.dataset.conversation_ids(DAY_START, DAY_END))

    # A day later they have all ended; the next day's run refreshes them.
    sim.set_clock(DAY_END + timedelta(days=1, minutes=5))
    next_day = (DAY + timedelta(days=1)).isoformat()
    second = _run(ingest_dag, _conf(index_prefix, date_from=next_day, date_to=next_day, refresh_open_days=2))
    assert second.state == "success", _task_states(second)
    es.indices.refresh(index=index_prefix)
    assert es.count(index=index_prefix, query=still_open)["count"] == 0
    truth = {c["conversationId"]: c for c in sim.dataset.conversations(DAY_START, DAY_END)}
    assert len(truth) > indexed_then  # the rest of DAY arrived after 21:00; re-running DAY would add it
    docs = es.search(
        index=index_prefix,
        query=on_day,
        size=10_000,
        source=["conversationId", "conversationEnd"],
    )["hits"]["hits"]
    assert len(docs) == indexed_then
    assert all(hit["_source"].get("conversationEnd") == truth[hit["_id"]]["conversationEnd"] for hit in docs)
