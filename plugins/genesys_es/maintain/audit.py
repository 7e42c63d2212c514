"""Audit trail of maintenance actions: events written to an Elasticsearch index and to the task log."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from elasticsearch import helpers

from genesys_es.exceptions import MaintenanceError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

DEFAULT_AUDIT_INDEX = "genesys-audit"
#: ``status`` values: the action ran (``success``/``failed``), had nothing to do (``noop``) or was not
#: attempted because a rule or constraint forbids it (``skipped``).
STATUSES = ("success", "failed", "noop", "skipped")

AUDIT_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "time": {"type": "date"},
        "index": {"type": "keyword"},
        "action": {"type": "keyword"},
        "status": {"type": "keyword"},
        "duration_s": {"type": "float"},
        "before": {"type": "flattened"},
        "after": {"type": "flattened"},
        "reason": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
        "run_id": {"type": "keyword"},
        "dag_id": {"type": "keyword"},
        "task_id": {"type": "keyword"},
        "event_id": {"type": "keyword"},
    },
}


@dataclass
class AuditEvent:
    """One audited action on one index.

    :param time: when the action started (UTC ISO-8601).
    :param index: the index acted on.
    :param action: e.g. ``force_merge``, ``set_replicas``, ``set_refresh_interval``, ``skip``, ``verify``.
    :param status: ``success``, ``failed``, ``noop`` or ``skipped``.
    :param duration_s: seconds the action took.
    :param before: stats before (segments, size, replicas, ...).
    :param after: stats after.
    :param reason: why the action ran, was skipped, or failed.
    """

    time: str
    index: str
    action: str
    status: str
    duration_s: float = 0.0
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    run_id: str | None = None
    dag_id: str | None = None
    task_id: str | None = None
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"audit status must be one of {STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a JSON-serialisable dict (the audit document)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEvent:
        """Rebuild an event from :meth:`to_dict` output.

        :param data: the dict.
        """
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def line(self) -> str:
        """Return a one-line description for logs and chat messages."""
        changes = []
        for key in sorted(set(self.before) | set(self.after)):
            if key not in self.before or key not in self.after:  # measured once (a check): its value alone
                changes.append(f"{key} {self.after.get(key, self.before.get(key))}")
                continue
            b, a = self.before[key], self.after[key]
            changes.append(f"{key} {b}->{a}" if b != a else f"{key} {b}")
        stats = f" [{', '.join(changes)}]" if changes else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.index} {self.action} {self.status} in {self.duration_s:.2f}s{stats}{reason}"


def ensure_audit_index(es: Elasticsearch, audit_index: str = DEFAULT_AUDIT_INDEX) -> None:
    """Create the audit index with its mapping unless it exists.

    :param es: the client.
    :param audit_index: the index name.
    """
    if es.indices.exists(index=audit_index):
        return
    es.options(ignore_status=400).indices.create(
        index=audit_index,
        mappings=AUDIT_MAPPINGS,
        settings={"number_of_shards": 1, "auto_expand_replicas": "0-1"},
    )


def write(es: Elasticsearch, audit_index: str, events: Iterable[AuditEvent], *, refresh: bool = True) -> int:
    """Index ``events`` into ``audit_index`` (``_id`` = ``event_id``, so a retry does not duplicate); return the count.

    :param es: the client.
    :param audit_index: the audit index (created with its mapping when missing).
    :param events: the events.
    :param refresh: make them searchable before returning.
    """
    items = list(events)
    if not items:
        return 0
    ensure_audit_index(es, audit_index)
    ok, _ = helpers.bulk(
        es,
        ({"_index": audit_index, "_id": e.event_id, "_source": e.to_dict()} for e in items),
        refresh="wait_for" if refresh else False,
        raise_on_error=True,
    )
    return int(ok)


def log_events(events: Sequence[AuditEvent], logger: logging.Logger | Any) -> None:
    """Log each event on one line (the task log copy of the audit trail).

    :param events: the events.
    :param logger: a logger (the task's ``self.log``).
    """
    for event in events:
        logger.info("AUDIT %s", event.line())


def summarize(infos: Sequence[Any], events: Sequence[AuditEvent], *, dry_run: bool) -> dict[str, Any]:
    """Return the run's small summary, or raise MaintenanceError listing every failed action.

    :param infos: the inventory (one entry per index).
    :param events: the audit events of the run.
    :param dry_run: whether the run only planned.
    """
    counts = Counter(e.status for e in events)
    failed = [e.line() for e in events if e.status == "failed"]
    if failed:
        raise MaintenanceError(f"{len(failed)} maintenance action(s) failed: " + " | ".join(failed))
    return {
        "indices": len(infos),
        "events": len(events),
        "by_status": dict(counts),
        "merged": sorted({e.index for e in events if e.action == "force_merge" and e.status == "success"}),
        "restored": sorted(
            {e.index for e in events if e.action == "restore_settings" and e.status == "success"}
        ),
        "dry_run": dry_run,
    }
