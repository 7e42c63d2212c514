"""Audit notifiers: events from the task's XCom, delivered to a callback or a webhook connection."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from genesys_es.instants import now_ms
from genesys_es.maintain.audit import AuditEvent
from genesys_es.maintain.notifications import (
    AUDIT_XCOM_KEY,
    AuditNotifier,
    AuditWebhookError,
    AuditWebhookNotifier,
)


class TaskInstanceStub:
    """The part of a task instance the notifiers use (XCom of the task itself)."""

    dag_id, run_id, task_id, map_index, state = (
        "genesys_index_maintenance",
        "run-1",
        "maintain",
        -1,
        "success",
    )

    def __init__(self, xcom: dict[str, Any]) -> None:
        self.xcom = xcom

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int | None = None) -> Any:
        assert task_ids == self.task_id
        return self.xcom.get(key)


def events() -> list[AuditEvent]:
    return [
        AuditEvent(now_ms(), "idx-2024.03", "force_merge", "success", 2.0, {"segments": 5}, {"segments": 1}),
        AuditEvent(now_ms(), "idx-2026.11", "skip", "skipped", reason="month 2026.11 is not closed yet"),
    ]


def context(evts: list[AuditEvent]) -> dict[str, Any]:
    return {"ti": TaskInstanceStub({AUDIT_XCOM_KEY: [e.to_dict() for e in evts]})}


def test_callback_receives_the_events() -> None:
    got: list[list[AuditEvent]] = []
    notifier = AuditNotifier(lambda evts, ctx: got.append(evts))
    notifier.notify(context(events()))
    assert len(got) == 1 and [(e.index, e.action) for e in got[0]] == [
        ("idx-2024.03", "force_merge"),
        ("idx-2026.11", "skip"),
    ]
    notifier.notify({"ti": TaskInstanceStub({})})  # nothing pushed: not called
    assert len(got) == 1
    with pytest.raises(NotImplementedError):
        AuditNotifier().notify(context(events()))


@pytest.fixture
def receiver():
    received: list[tuple[str, dict[str, Any], str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, body, self.headers.get("X-Token")))
            self.send_response(500 if self.path == "/broken" else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, received
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_and_chat_text(receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    port, received = receiver
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUDIT_HOOK_TEST",
        json.dumps({**conn, "extra": {"endpoint": "hook", "headers": {"X-Token": "t"}}}),
    )
    monkeypatch.setenv("AIRFLOW_CONN_AUDIT_CHAT_TEST", json.dumps({**conn, "extra": {"endpoint": "/chat"}}))
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUDIT_BROKEN_TEST", json.dumps({**conn, "extra": {"endpoint": "/broken"}})
    )

    AuditWebhookNotifier("audit_hook_test").notify(context(events()))
    AuditWebhookNotifier("audit_chat_test", payload_format="text", statuses=["success"]).notify(
        context(events())
    )
    path, body, token = received[0]
    assert path == "/hook" and token == "t"
    assert body["run_id"] == "run-1" and [e["action"] for e in body["events"]] == ["force_merge", "skip"]
    path, body, _ = received[1]
    assert (
        path == "/chat"
        and "1 audit event(s)" in body["text"]
        and "idx-2024.03 force_merge success" in body["text"]
    )
    assert "idx-2026.11" not in body["text"]
    with pytest.raises(AuditWebhookError, match="audit_broken_test answered HTTP 500") as excinfo:
        AuditWebhookNotifier("audit_broken_test").send(events(), context(events()))
    assert "127.0.0.1" not in str(excinfo.value)
    with pytest.raises(ValueError, match="payload_format"):
        AuditWebhookNotifier("x", payload_format="xml")
