"""The maintenance DAG with real task code on the real node: merges a closed month, audits, notifies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from genesys_es.maintain.inventory import inventory, target_settings
from tests.genesys_es.maintain.test_maintenance import load_segments
from tests.genesys_es.verify.test_counts import install_template

DAGS = Path(__file__).resolve().parents[2] / "dags"
NOW = datetime.now(UTC)
PAST = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def webhook() -> Iterator[list[dict[str, Any]]]:
    """Run a local webhook receiver and return the JSON bodies it receives."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "body": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.append({"port": server.server_port})
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def maintenance_dag(airflow_db, airflow_connections, webhook, monkeypatch: pytest.MonkeyPatch):
    """Return the parsed DAG with the audit webhook notifier pointed at the local receiver."""
    from airflow.dag_processing.dagbag import DagBag

    airflow_connections("http://127.0.0.1:9")  # no Genesys call in this DAG
    port = webhook.pop(0)["port"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_AUDIT_WEBHOOK_TEST",
        json.dumps(
            {"conn_type": "http", "host": f"http://127.0.0.1:{port}", "extra": {"endpoint": "/audit"}}
        ),
    )
    monkeypatch.setenv("AIRFLOW__GENESYS_ES__AUDIT_WEBHOOK_CONN_ID", "genesys_audit_webhook_test")
    monkeypatch.setenv("AIRFLOW__GENESYS_ES__MAINTENANCE_RETRY_DELAY_SECONDS", "1")
    bag = DagBag(dag_folder=str(DAGS / "genesys_index_maintenance.py"))
    assert bag.import_errors == {}
    return bag.get_dag("genesys_index_maintenance")


def audit_events(es: Elasticsearch, audit_index: str, run_id: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=audit_index)
    resp = es.search(index=audit_index, query={"term": {"run_id": run_id}}, size=1000)
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def test_maintenance_merges_closed_month_audits_and_notifies(
    maintenance_dag, webhook: list[dict[str, Any]], es: Elasticsearch, index_prefix: str
) -> None:
    install_template(es, index_prefix)
    past = load_segments(es, index_prefix, PAST, 4)
    current = load_segments(es, index_prefix, NOW.replace(day=1, hour=0, minute=0), 3)
    # An ingest killed mid-way left its bulk-time settings on the closed month.
    es.indices.put_settings(
        index=past, settings={"index.number_of_replicas": 0, "index.refresh_interval": "-1"}
    )
    before = {i.name: i for i in inventory(es, index_prefix)}
    assert before[past].segments >= 4 and before[current].segments >= 3
    audit_index = f"{index_prefix}-audit"
    conf = {
        "index_prefix": index_prefix,
        "audit_index": audit_index,
        "latency_target_p95_ms": 60000,
        "latency_runs": 2,
    }

    first = maintenance_dag.test(run_conf=conf)
    assert first.state == "success", {ti.task_id: ti.state for ti in first.get_task_instances()}
    after = {i.name: i for i in inventory(es, index_prefix)}
    assert after[past].segments == 1
    targets = target_settings(es, index_prefix)  # the index template's replicas and refresh interval
    assert (after[past].replicas, after[past].refresh_interval) == (
        targets["replicas"],
        targets["refresh_interval"],
    )
    assert (after[past].replicas, after[past].refresh_interval) != (0, "-1")
    assert after[current].segments == before[current].segments  # the current month is left alone

    events = audit_events(es, audit_index, first.run_id)
    on_past = sorted((e["action"], e["status"]) for e in events if e["index"] == past)
    assert on_past == [
        ("force_merge", "success"),
        ("set_refresh_interval", "success"),
        ("set_replicas", "success"),
    ]
    merge = next(e for e in events if e["index"] == past and e["action"] == "force_merge")
    assert merge["before"]["segments"] == before[past].segments and merge["after"]["segments"] == 1
    assert [(e["action"], e["status"]) for e in events if e["index"] == current] == [("skip", "skipped")]
    assert {e["action"] for e in events if e["index"] == index_prefix} == {"verify_health", "verify_latency"}

    # The registered notifier received the same events, per task.
    posted = [w["body"] for w in webhook]
    assert {w["path"] for w in webhook} == {"/audit"}
    assert {p["task_id"] for p in posted} == {"maintain_closed_months", "verify_health_and_latency"}
    posted_ids = sorted(e["event_id"] for p in posted for e in p["events"])
    assert posted_ids == sorted(e["event_id"] for e in events)

    # A second run changes nothing; it only records its own audit events.
    webhook.clear()
    second = maintenance_dag.test(run_conf=conf)
    assert second.state == "success"
    again = {i.name: i for i in inventory(es, index_prefix)}

    # Store size is left out: files a merge replaced are deleted in the background, shrinking it later.
    def unchanged(infos):
        return {n: {k: v for k, v in i.stats().items() if k != "size_bytes"} for n, i in infos.items()}

    assert unchanged(again) == unchanged(after)
    events2 = audit_events(es, audit_index, second.run_id)
    assert sorted((e["action"], e["status"]) for e in events2 if e["index"] == past) == [
        ("force_merge", "noop"),
        ("set_refresh_interval", "noop"),
        ("set_replicas", "noop"),
    ]
    assert not {e["event_id"] for e in events2} & {e["event_id"] for e in events}
    assert len(webhook) == 2


def test_impossible_latency_target_fails_verification(
    maintenance_dag, es: Elasticsearch, index_prefix: str
) -> None:
    install_template(es, index_prefix)
    load_segments(es, index_prefix, PAST, 1)
    conf = {
        "index_prefix": index_prefix,
        "audit_index": f"{index_prefix}-audit",
        "latency_target_p95_ms": 0.0001,
    }
    run = maintenance_dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed" and states["verify_health_and_latency"] == "failed"
    assert states["maintain_closed_months"] == "success"
    tries = [ti.try_number for ti in run.get_task_instances() if ti.task_id == "verify_health_and_latency"]
    assert tries == [2]  # retried once, then failed
    events = audit_events(es, f"{index_prefix}-audit", run.run_id)
    latency = next(e for e in events if e["action"] == "verify_latency")
    assert latency["status"] == "failed" and "exceeds target" in latency["reason"]
