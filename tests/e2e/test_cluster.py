"""A three-node Elasticsearch cluster on loopback (``scripts/es-cluster.sh``): a node killed mid-day.

The ingest DAG runs its real task code (``dag.test``, with its retries) against the cluster, with replicas 1.
While its partitions write, the node holding the day's primary shard is killed with SIGKILL. The day must
end complete with no duplicate; while the node is away, verification names the degraded index and why; once
the node is back the cluster is green and no index is left with bulk-time settings.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from elasticsearch import Elasticsearch

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "es-cluster.sh"
PORTS = [int(p) for p in os.environ.get("E2E_CLUSTER_PORTS", "9211 9212 9213").split()]
DAY = date(2026, 11, 12)
DAY_START = datetime(2026, 11, 12, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
VOLUME = 3000

os.environ.setdefault("AIRFLOW__GENESYS_ES__RETRY_DELAY_SECONDS", "1")
os.environ.setdefault("AIRFLOW__GENESYS_ES__START_DATE", "2026-11-01")


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ES_CLUSTER_PORTS": " ".join(map(str, PORTS))}
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Elasticsearch]:
    """Start the three nodes (stopped at the end of the module) and return a client of all three."""
    _script("stop")
    started = _script("start")
    if started.returncode != 0:
        _script("stop")
        pytest.fail(f"es-cluster.sh start failed:\n{started.stdout}\n{started.stderr}")
    es = Elasticsearch([f"http://127.0.0.1:{p}" for p in PORTS], request_timeout=30, retry_on_timeout=True)
    try:
        yield es
    finally:
        es.close()
        _script("stop")


@pytest.fixture
def ingest_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "genesys_conversations_to_es.py"))
    assert bag.import_errors == {}
    return bag.get_dag("genesys_conversations_to_es")


def _node_number(es: Elasticsearch, index: str) -> int:
    """Return the number (1..3) of the node holding ``index``'s primary shard."""
    shards = es.cat.shards(index=index, format="json")
    primary = next(s for s in shards if s["prirep"] == "p" and s["state"] == "STARTED")
    return int(primary["node"].removeprefix("node-"))


def _kill_once_writing(es: Elasticsearch, index: str, killed: dict[str, Any]) -> None:
    """Wait until the day's first documents are in, then SIGKILL the node holding its primary."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if es.count(index=index)["count"] > 0:
                break
        except Exception:
            pass
        time.sleep(0.05)
    else:
        killed["error"] = "no document was written within 2 minutes"
        return
    number = _node_number(es, index)
    result = _script("kill", str(number))
    killed.update(node=number, at=es.count(index=index)["count"], output=result.stdout + result.stderr)


def test_a_day_ingested_while_a_node_is_killed_lands_complete(
    cluster: Elasticsearch, ingest_dag, simulator_factory, airflow_db, monkeypatch
) -> None:
    import json

    from genesys_es.load.leases import settings_drift
    from genesys_es.operators.verify import GenesysElasticsearchVerifyOperator
    from genesys_es.verify.counts import VerificationError

    health = cluster.cluster.health(wait_for_status="green", timeout="60s")
    assert health["status"] == "green" and health["number_of_nodes"] == 3
    sim = simulator_factory(
        conversations_per_day=VOLUME, volume_overrides={DAY: VOLUME}, rate_limit_per_minute=0
    )
    hosts = ",".join(f"127.0.0.1:{p}" for p in PORTS)
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT",
        json.dumps(
            {
                "conn_type": "genesys_cloud",
                "login": "demo-client",
                "password": "demo-secret",
                "extra": {"base_url": sim.base_url},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT",
        json.dumps(
            {"conn_type": "elasticsearch", "host": hosts, "schema": "http", "extra": {"request_timeout": 60}}
        ),
    )
    prefix = f"cluster-{uuid.uuid4().hex[:8]}"
    index = f"{prefix}-2026.11"
    killed: dict[str, Any] = {}
    killer = threading.Thread(target=_kill_once_writing, args=(cluster, index, killed), daemon=True)
    killer.start()
    conf = {
        "date_from": DAY.isoformat(),
        "date_to": DAY.isoformat(),
        "index_prefix": prefix,
        "pages_per_partition": 3,
        "latency_target_p95_ms": None,
        "refresh_open_days": 0,
    }
    try:
        run = ingest_dag.test(run_conf=conf, logical_date=datetime.now(UTC))
        killer.join(timeout=130)
        assert "node" in killed, killed
        states = {(ti.task_id, ti.map_index): (ti.state, ti.try_number) for ti in run.get_task_instances()}
        assert run.state == "success", states
        print(f"\nnode {killed['node']} killed after {killed['at']} documents; task tries: {states}")

        # Complete, no duplicate: exactly the source's ids, each once.
        cluster.indices.refresh(index=prefix)
        hits = cluster.search(index=prefix, size=10_000, source=False)["hits"]["hits"]
        ids = [h["_id"] for h in hits]
        assert len(ids) == len(set(ids)) == VOLUME
        assert set(ids) == set(sim.dataset.conversation_ids(DAY_START, DAY_END))

        # While the node is away, verification names the degraded index and the reason.
        verify = GenesysElasticsearchVerifyOperator(
            task_id="verify",
            index_prefix=prefix,
            start=DAY_START.isoformat(),
            end=DAY_END.isoformat(),
            health_target="green",
            settle_lookback_days=0,
        )
        with pytest.raises(VerificationError) as degraded:
            verify.execute({"run_id": "cluster__verify", "ti": SimpleNamespace(try_number=1, map_index=-1)})
        message = str(degraded.value)
        assert "yellow" in message and index in message, message
        assert "node_left" in message.lower() or "unassigned" in message.lower(), message
    finally:
        if "node" in killed:
            restarted = _script("start-node", str(killed["node"]))
            assert restarted.returncode == 0, restarted.stderr
    health = cluster.cluster.health(wait_for_status="green", wait_for_nodes="3", timeout="120s")
    assert health["status"] == "green" and health["number_of_nodes"] == 3
    assert settings_drift(cluster, prefix) == []
    cluster.indices.delete(index=f"{prefix}*", expand_wildcards="all")
