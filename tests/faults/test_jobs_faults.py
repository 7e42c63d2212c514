"""Jobs path under API faults: failed jobs resubmitted, cursor reads retried in place; nothing lost or doubled."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from genesys_es.extract.planning import Partition
from genesys_es.load.index_setup import ensure_index_resources
from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator
from genesys_es.run_config import build_run_config
from genesys_es.triggers.inline import run_deferred
from tests.faults.conftest import DAY_END, DAY_START, HookRecorder, day_simulator, indexed_hits

VOLUME = 2500  # three cursor pages of 1,000


def _run_jobs_partition(prefix: str) -> dict[str, Any]:
    """Run a whole-day jobs partition as Airflow would: execute, trigger, resume (resubmits included)."""
    day = DAY_START.date().isoformat()
    config = build_run_config(
        {"date_from": day, "date_to": day, "index_prefix": prefix, "path": "jobs"}, None
    )
    part = Partition(DAY_START, DAY_END, 1, None, 1000, 0, path="jobs")
    op = GenesysToElasticsearchOperator(
        task_id="extract_and_index",
        partition=part.to_xcom(),
        run_config=config.to_xcom(),
        job_poll_seconds=0.1,
        job_backoff_seconds=0.1,
        job_attempts=6,
    )
    return run_deferred(
        op, {"ti": SimpleNamespace(try_number=1, map_index=0), "run_id": "manual__jobs_faults"}
    )


@pytest.mark.parametrize(
    "faults",
    [
        {"job_failure_probability": 0.5},
        {"error_503_probability": 0.1, "reset_probability": 0.1, "truncate_probability": 0.1},
        {"burst_429_probability": 0.4, "burst_429_length": 2, "burst_429_retry_after": 1},
    ],
    ids=["failed_jobs", "5xx_resets_truncated", "429_storm"],
)
def test_jobs_path_survives_api_faults(
    faults: dict[str, Any],
    simulator_factory,
    airflow_connections,
    hook_recorder: HookRecorder,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    sim = day_simulator(simulator_factory, VOLUME, seed=13, job_fulfill_seconds=0.1)
    airflow_connections(sim.base_url)
    hook_recorder.overrides = {"timeout": (2.0, 10.0), "retry_min_wait": 0.05, "retry_max_wait": 0.5}
    ensure_index_resources(es, index_prefix)
    source = set(sim.dataset.conversation_ids(DAY_START, DAY_END))
    sim.set_faults({"name": "jobs", **faults})

    summary = _run_jobs_partition(index_prefix)

    stats = sim.stats()
    assert stats["faults_injected_total"] > 0 or stats["jobs_created"] > 1, "no fault struck"
    ids = [hit["_id"] for hit in indexed_hits(es, index_prefix)]
    assert not [i for i, n in Counter(ids).items() if n > 1], "a conversation was indexed twice"
    assert set(ids) == source and len(source) == VOLUME
    assert summary["indexed"] == summary["conversations"] == VOLUME
    # Every job submitted was deleted (read, or failed and resubmitted): none is left at Genesys.
    deleted = stats["api_requests_by_path_and_status"].get(
        "/api/v2/analytics/conversations/details/jobs/{jobId} 204", 0
    )
    assert deleted == stats["jobs_created"]
