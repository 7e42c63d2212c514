"""The jobs path of GenesysToElasticsearchOperator: submit, defer, trigger, read by cursor, index, clean up."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred
from elasticsearch import Elasticsearch

from genesys_es.exceptions import GenesysApiError, GenesysJobError
from genesys_es.extract.planning import Partition
from genesys_es.load.index_setup import ensure_index_resources, ensure_monthly_indices
from genesys_es.load.leases import settings_drift
from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator
from genesys_es.run_config import build_run_config
from genesys_es.triggers.inline import first_event, run_deferred

DAY = date(2024, 3, 4)
START = datetime(2024, 3, 4, tzinfo=UTC)
END = START + timedelta(days=1)
JOB_PATH = "/api/v2/analytics/conversations/details/jobs/{jobId}"


def _context(try_number: int = 1) -> dict[str, Any]:
    return {"ti": SimpleNamespace(try_number=try_number, map_index=0), "run_id": "backfill__test"}


def _operator(
    prefix: str, path: str = "jobs", fresh: bool = False, **kwargs: Any
) -> GenesysToElasticsearchOperator:
    config = build_run_config(
        {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), "index_prefix": prefix, "path": path},
        None,
    )
    page_size = 1000 if path == "jobs" else 100
    part = Partition(
        start=START, end=END, first_page=1, last_page=None, page_size=page_size, expected=0, path=path
    )
    return GenesysToElasticsearchOperator(
        task_id="extract_and_index",
        partition={**part.to_xcom(), "fresh_index": fresh},
        run_config=config.to_xcom(),
        job_poll_seconds=0.1,
        job_backoff_seconds=0.1,
        **kwargs,
    )


def deletes(stats: dict[str, Any]) -> int:
    """Return how many jobs were deleted (the only 204 of a job's path)."""
    return stats["api_requests_by_path_and_status"].get(f"{JOB_PATH} 204", 0)


@pytest.fixture
def sim(simulator_factory, airflow_connections):
    server = simulator_factory(volume_overrides={DAY: 2500}, job_fulfill_seconds=0.3)
    airflow_connections(server.base_url)
    return server


def test_a_jobs_partition_indexes_the_day_with_attributes_and_deletes_its_job(
    sim, es: Elasticsearch, index_prefix: str
) -> None:
    ensure_index_resources(es, index_prefix)
    summary = run_deferred(_operator(index_prefix), _context())
    ids = sim.dataset.conversation_ids(START, END)
    assert summary["indexed"] == len(ids) == 2500
    assert summary["pages"] == 3  # 1,000 per request
    es.indices.refresh(index=index_prefix)
    assert es.count(index=index_prefix)["count"] == len(ids)
    # Attributes only jobs return, flattened, under the run's PII policy (drop: no personal values).
    with_attributes = es.search(index=index_prefix, query={"exists": {"field": "derived.attributes"}}, size=1)
    assert with_attributes["hits"]["total"]["value"] > 0
    stats = sim.stats()
    assert stats["jobs_created"] == 1
    assert deletes(stats) == 1


def test_a_day_written_by_both_paths_holds_one_document_per_conversation(
    sim, es: Elasticsearch, index_prefix: str
) -> None:
    ensure_index_resources(es, index_prefix)
    sync = _operator(index_prefix, path="sync").execute(_context())
    jobs = run_deferred(_operator(index_prefix), _context())
    assert jobs["created"] == 0 and jobs["updated"] == sync["indexed"]
    es.indices.refresh(index=index_prefix)
    assert es.count(index=index_prefix)["count"] == len(sim.dataset.conversation_ids(START, END))


def test_failed_jobs_are_resubmitted_with_backoff_then_fail_clearly(
    simulator_factory, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    from include.genesys_simulator.faults_profile import FaultProfile

    sim = simulator_factory(
        volume_overrides={DAY: 100}, job_fulfill_seconds=0.1, faults=FaultProfile(job_failure_probability=1.0)
    )
    airflow_connections(sim.base_url)
    ensure_index_resources(es, index_prefix)
    op = _operator(index_prefix, job_attempts=3)
    delays = []
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(_context())
    with pytest.raises(GenesysJobError, match=r"ended FAILED .* after 3 attempt\(s\)"):
        while True:
            delays.append(deferred.value.trigger.delay_seconds)
            try:
                op.execute_complete(
                    _context(), event=first_event(deferred.value.trigger), **deferred.value.kwargs
                )
            except TaskDeferred as again:
                deferred = SimpleNamespace(value=again)
    # The first poll waits one poll interval (a job is never ready at once), resubmissions their backoff.
    assert delays == [0.1, 0.1, 0.2]
    assert sim.stats()["jobs_created"] == 3
    # Every failed job was deleted: nothing is left behind at Genesys.
    assert deletes(sim.stats()) == 3


def test_a_killed_deferred_task_deletes_its_job(sim, es: Elasticsearch, index_prefix: str) -> None:
    from genesys_es.extract.jobs import ConversationJobs
    from genesys_es.hooks.genesys_cloud import GenesysCloudHook

    ensure_index_resources(es, index_prefix)
    with pytest.raises(TaskDeferred) as deferred:
        _operator(index_prefix).execute(_context())
    trigger = deferred.value.trigger
    asyncio.run(trigger.on_kill())
    with GenesysCloudHook() as hook, pytest.raises(GenesysApiError, match="Unable to find job"):
        ConversationJobs(hook).status(trigger.job_id)
    assert first_event(trigger)["state"] == "GONE"


def test_a_fresh_index_gets_bulk_settings_while_written_and_back_after(
    sim, es: Elasticsearch, index_prefix: str
) -> None:
    ensure_index_resources(es, index_prefix)
    (index,) = ensure_monthly_indices(es, index_prefix, [START])
    seen = {}

    def spy(es_client: Elasticsearch, name: str) -> None:
        seen.update(es_client.indices.get_settings(index=name, flat_settings=True)[name]["settings"])

    import genesys_es.operators.genesys_to_elasticsearch as module

    original = module.fail_fast_unless_writable
    module.fail_fast_unless_writable = spy
    try:
        run_deferred(_operator(index_prefix, fresh=True), _context())
    finally:
        module.fail_fast_unless_writable = original
    assert seen["index.refresh_interval"] == "-1" and seen["index.number_of_replicas"] == "0"
    after = es.indices.get_settings(index=index, flat_settings=True)[index]["settings"]
    assert after.get("index.refresh_interval") != "-1"
    assert settings_drift(es, index_prefix) == []


def test_a_client_without_the_permission_fails_without_retries(
    simulator_factory, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    sim = simulator_factory(analytics_permission=False)
    airflow_connections(sim.base_url)
    ensure_index_resources(es, index_prefix)
    with pytest.raises(AirflowFailException, match=r"analytics:conversationDetail:view"):
        _operator(index_prefix).execute(_context())
    assert sim.stats()["jobs_created"] == 0
