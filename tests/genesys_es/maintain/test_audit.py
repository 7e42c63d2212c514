"""Audit events written to a real audit index."""

from __future__ import annotations

import logging

import pytest
from elasticsearch import Elasticsearch

from genesys_es.instants import now_ms
from genesys_es.maintain import audit
from genesys_es.maintain.audit import AuditEvent


def event(index: str, action: str = "force_merge", status: str = "success") -> AuditEvent:
    return AuditEvent(
        now_ms(),
        index,
        action,
        status,
        1.25,
        {"segments": 7, "size_bytes": 900},
        {"segments": 1, "size_bytes": 700},
        "7 segments -> 1",
    )


def test_events_are_written_once_and_searchable(es: Elasticsearch, index_prefix: str) -> None:
    audit_index = f"{index_prefix}-audit"
    skipped = AuditEvent(
        now_ms(), f"{index_prefix}-2024.04", "skip", "skipped", 0, {"segments": 3}, {"segments": 3}
    )
    events = [event(f"{index_prefix}-2024.03"), skipped]
    assert audit.write(es, audit_index, events) == 2
    assert audit.write(es, audit_index, events[:1]) == 1  # a retried write does not duplicate
    es.indices.refresh(index=audit_index)
    assert es.count(index=audit_index)["count"] == 2
    hit = es.search(index=audit_index, query={"term": {"after.segments": "1"}})["hits"]["hits"]
    assert [h["_source"]["index"] for h in hit] == [f"{index_prefix}-2024.03"]
    mapping = es.indices.get_mapping(index=audit_index)[audit_index]["mappings"]
    assert mapping["properties"]["time"]["type"] == "date" and mapping["dynamic"] == "false"
    assert audit.write(es, audit_index, []) == 0


def test_event_validation_and_round_trip() -> None:
    with pytest.raises(ValueError, match="status"):
        AuditEvent(now_ms(), "i", "force_merge", "done")
    e = event("i")
    assert AuditEvent.from_dict({**e.to_dict(), "unknown": 1}) == e
    assert e.line().startswith("i force_merge success in 1.25s") and "segments 7->1" in e.line()


def test_events_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("audit-test")
    with caplog.at_level(logging.INFO, logger="audit-test"):
        audit.log_events([event("idx-a"), event("idx-b", "skip", "skipped")], logger)
    assert [r.getMessage().split()[1] for r in caplog.records] == ["idx-a", "idx-b"]


def test_a_check_event_lists_its_values_without_a_before() -> None:
    check = AuditEvent(
        now_ms(), "alias", "verify_health", "success", after={"status": "yellow", "indices": 2}
    )
    assert check.line() == "alias verify_health success in 0.00s [indices 2, status yellow]"
    gone = AuditEvent(
        now_ms(), "i", "set_replicas", "success", before={"replicas": 0}, after={"replicas": 1, "x": 3}
    )
    assert "[replicas 0->1, x 3]" in gone.line() and "None" not in gone.line()
