"""The whole ingest DAG (dag.test, real task code) while Genesys misbehaves: task states tell the truth."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.faults.conftest import DAY, assert_index_equals_source, day_simulator, source_conversations

DAGS = Path(__file__).resolve().parents[2] / "dags"
os.environ.setdefault("AIRFLOW__GENESYS_ES__RETRY_DELAY_SECONDS", "1")
os.environ.setdefault("AIRFLOW__GENESYS_ES__START_DATE", "2026-11-01")


@pytest.fixture(scope="module")
def ingest_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "genesys_conversations_to_es.py"))
    assert bag.import_errors == {}
    return bag.get_dag("genesys_conversations_to_es")


def test_flaky_genesys_run_succeeds_on_first_tries_and_the_index_equals_the_source(
    ingest_dag, airflow_db, simulator_factory, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    sim = day_simulator(simulator_factory, 300, seed=51)
    airflow_connections(sim.base_url)
    source = source_conversations(sim)
    # Every kind of Genesys fault at once (the named "flaky" profile, slow answers shortened).
    sim.set_faults({"name": "flaky", "slow_seconds": 0.3, "revoke_probability": 0.03})
    run = ingest_dag.test(
        run_conf={
            "date_from": DAY.isoformat(),
            "date_to": DAY.isoformat(),
            "index_prefix": index_prefix,
            "page_size": 20,
            "pages_per_partition": 5,
            "latency_target_p95_ms": 5000,
            "refresh_open_days": 0,
        },
        logical_date=datetime.now(UTC),
    )
    states = {(ti.task_id, ti.map_index): (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert run.state == "success", states
    partitions = [k for k in states if k[0] == "extract_and_index"]
    assert len(partitions) >= 3
    # The hook absorbed every fault: no task needed an Airflow retry, and none was skipped.
    assert all(state == ("success", 1) for state in states.values()), states
    assert sim.stats()["faults_injected_total"] > 0
    assert_index_equals_source(es, index_prefix, source)
