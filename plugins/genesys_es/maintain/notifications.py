"""Notifiers that receive the audit events of a task (Airflow's notifier/callback mechanism).

The maintenance operators push their audit events to XCom under :data:`AUDIT_XCOM_KEY` before they
return or fail. An :class:`AuditNotifier` registered as ``on_success_callback``/``on_failure_callback``
reads them from the task instance and hands them to :meth:`AuditNotifier.send`.

:class:`AuditWebhookNotifier` posts them as JSON to the URL of an Airflow ``http`` connection: for a
generic webhook the body is ``{"dag_id", "run_id", "task_id", "state", "events": [...]}``; with
``payload_format="text"`` it is ``{"text": "..."}`` (one line per event), the shape Slack and Mattermost
incoming webhooks and Microsoft Teams workflows accept. The connection's host is the full webhook URL
(or host + ``endpoint``); login/password become basic auth, the extra ``headers`` object is sent as is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from airflow.sdk import BaseHook, BaseNotifier

from genesys_es.maintain.audit import AuditEvent

if TYPE_CHECKING:
    from airflow.sdk import Context

AUDIT_XCOM_KEY = "audit_events"


class AuditWebhookError(RuntimeError):
    """Raised when the audit webhook cannot be reached or refuses the events (never names the URL)."""


def audit_events_from_context(context: Context, key: str = AUDIT_XCOM_KEY) -> list[AuditEvent]:
    """Return the audit events the context's task pushed to XCom (empty when none).

    :param context: a task callback's context.
    :param key: the XCom key.
    """
    ti = context.get("ti") or context.get("task_instance")
    if ti is None:
        return []
    data = ti.xcom_pull(task_ids=ti.task_id, key=key, map_indexes=getattr(ti, "map_index", None))
    if not data:
        return []
    return [AuditEvent.from_dict(item) for item in data if isinstance(item, dict)]


class AuditNotifier(BaseNotifier):
    """Base notifier: collects the task's audit events and calls :meth:`send` with them.

    :param callback: optional callable ``callback(events, context)`` (used when not subclassed).
    :param xcom_key: the XCom key the events are under.
    :param send_when_empty: call :meth:`send` even when the task pushed no event.
    """

    def __init__(
        self,
        callback: Callable[[list[AuditEvent], Any], None] | None = None,
        *,
        xcom_key: str = AUDIT_XCOM_KEY,
        send_when_empty: bool = False,
    ) -> None:
        super().__init__()
        self.callback = callback
        self.xcom_key = xcom_key
        self.send_when_empty = send_when_empty

    def notify(self, context: Context) -> None:
        """Collect the events and send them.

        :param context: the callback's context.
        """
        events = audit_events_from_context(context, self.xcom_key)
        if events or self.send_when_empty:
            self.send(events, context)

    def send(self, events: list[AuditEvent], context: Context) -> None:
        """Deliver ``events`` (override, or pass ``callback``).

        :param events: the task's audit events.
        :param context: the callback's context.
        """
        if self.callback is None:
            raise NotImplementedError("pass a callback or override send()")
        self.callback(events, context)


class AuditWebhookNotifier(AuditNotifier):
    """Post a task's audit events as JSON to the webhook of an Airflow ``http`` connection.

    :param http_conn_id: the connection (host = webhook URL, or host + extra ``endpoint``).
    :param payload_format: ``json`` (events as objects) or ``text`` (``{"text": ...}`` for chat webhooks).
    :param timeout: HTTP timeout in seconds.
    :param statuses: only send events with these statuses (default: all).
    """

    template_fields: Sequence[str] = ("http_conn_id",)

    def __init__(
        self,
        http_conn_id: str = "genesys_audit_webhook",
        *,
        payload_format: str = "json",
        timeout: float = 10.0,
        statuses: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if payload_format not in ("json", "text"):
            raise ValueError(f"payload_format must be 'json' or 'text', got {payload_format!r}")
        self.http_conn_id = http_conn_id
        self.payload_format = payload_format
        self.timeout = timeout
        self.statuses = tuple(statuses) if statuses else None

    def payload(self, events: list[AuditEvent], context: Context) -> dict[str, Any]:
        """Return the JSON body for ``events``.

        :param events: the events.
        :param context: the callback's context.
        """
        ti = context.get("ti")
        meta = {
            "dag_id": getattr(ti, "dag_id", None),
            "run_id": getattr(ti, "run_id", None),
            "task_id": getattr(ti, "task_id", None),
            "state": str(getattr(ti, "state", "") or ""),
        }
        if self.payload_format == "text":
            head = f"genesys-es {meta['dag_id']}.{meta['task_id']} ({meta['run_id']}): {len(events)} audit event(s)"
            return {"text": "\n".join([head, *(f"- {e.line()}" for e in events)])}
        return {**meta, "events": [e.to_dict() for e in events]}

    def send(self, events: list[AuditEvent], context: Context) -> None:
        """Post the events to the webhook; raise on an HTTP error (Airflow logs failed callbacks).

        :param events: the events.
        :param context: the callback's context.
        """
        if self.statuses:
            events = [e for e in events if e.status in self.statuses]
            if not events and not self.send_when_empty:
                return
        conn = BaseHook.get_connection(self.http_conn_id)
        host = str(conn.host or "")
        scheme = conn.schema or "https"
        url = host if "://" in host else f"{scheme}://{host}{':' + str(conn.port) if conn.port else ''}"
        extra = conn.extra_dejson or {}
        endpoint = str(extra.get("endpoint") or "")
        if endpoint:
            url = url.rstrip("/") + "/" + endpoint.lstrip("/")
        auth = (conn.login, conn.password or "") if conn.login else None
        try:
            response = httpx.post(
                url,
                json=self.payload(events, context),
                headers=dict(extra.get("headers") or {}),
                auth=auth,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:  # the message would name the URL, a secret for chat webhooks
            raise AuditWebhookError(
                f"audit webhook {self.http_conn_id} unreachable: {type(exc).__name__}"
            ) from None
        if response.status_code >= 400:
            raise AuditWebhookError(f"audit webhook {self.http_conn_id} answered HTTP {response.status_code}")
        self.log.info(
            "Sent %d audit event(s) to %s (HTTP %s)", len(events), self.http_conn_id, response.status_code
        )
