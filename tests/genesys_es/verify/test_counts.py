"""Count reconciliation and missing-id listing against the real node."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from genesys_es.load.index_setup import conversations_template
from genesys_es.verify import counts as verification
from genesys_es.verify.counts import (
    VerificationError,
    find_missing_ids,
    is_growing,
    reconcile_counts,
    to_iso,
    verify_interval,
)

QUEUES = ["q-sales", "q-support", "q-billing"]
WRAPUPS = ["wu-resolved", "wu-callback", "wu-escalated"]
AGENTS = [f"agent-{n}" for n in range(5)]
WORDS = ["refund", "invoice", "password", "delivery", "upgrade"]

__all__ = ["VerificationError"]


def install_template(es: Elasticsearch, prefix: str) -> None:
    """Install the project's conversation index template (include/index_templates) for ``prefix``."""
    es.indices.put_index_template(name=prefix, **conversations_template(prefix))


def conversation_doc(n: int, start: datetime, rng: random.Random) -> dict[str, Any]:
    """Return a document shaped like ``documents.build_document`` output (the fields verification uses)."""
    agent, queue, wrap = rng.choice(AGENTS), rng.choice(QUEUES), rng.choice(WRAPUPS)
    media = rng.choice(["voice", "chat", "email"])
    duration = rng.randint(30_000, 900_000)
    end = start + timedelta(milliseconds=duration)
    return {
        "conversationId": f"conv-{n:06d}",
        "conversationStart": to_iso(start),
        "conversationEnd": to_iso(end),
        "originatingDirection": "inbound",
        "participants": [
            {"participantId": f"p-{n}-c", "purpose": "customer", "participantName": "Customer"},
            {
                "participantId": f"p-{n}-a",
                "purpose": "agent",
                "userId": agent,
                "sessions": [{"mediaType": media, "segments": [{"queueId": queue, "wrapUpCode": wrap}]}],
            },
        ],
        "derived": {
            "durationMs": duration,
            "open": False,
            "day": start.date().isoformat(),
            "mediaTypes": [media],
            "queueIds": [queue],
            "userIds": [agent],
            "wrapUpCodes": [wrap],
            "purposes": ["customer", "agent"],
            "searchText": f"Customer call about {rng.choice(WORDS)} and {rng.choice(WORDS)}",
        },
    }


def index_conversations(
    es: Elasticsearch,
    prefix: str,
    day: datetime,
    count: int,
    *,
    first: int = 0,
    seed: int = 7,
    refresh: bool = True,
) -> list[str]:
    """Index ``count`` conversations spread over ``day`` into the monthly index; return their ids."""
    rng = random.Random(seed + first)
    docs = []
    for n in range(first, first + count):
        start = day + timedelta(seconds=rng.randint(0, 86_399))
        docs.append(conversation_doc(n, start, rng))
    actions = (
        {
            "_index": f"{prefix}-{d['conversationStart'][:7].replace('-', '.')}",
            "_id": d["conversationId"],
            "_source": d,
        }
        for d in docs
    )
    helpers.bulk(es, actions, refresh=refresh)
    return [d["conversationId"] for d in docs]


DAY = datetime(2024, 3, 5, tzinfo=UTC)


@pytest.fixture
def loaded(es: Elasticsearch, index_prefix: str) -> tuple[str, list[str]]:
    install_template(es, index_prefix)
    ids = index_conversations(es, index_prefix, DAY, 300)
    index_conversations(es, index_prefix, DAY + timedelta(days=1), 40, first=1000)  # next day: not counted
    return index_prefix, ids


def test_interval_helpers() -> None:
    assert to_iso("2024-03-05T00:00:00+01:00") == "2024-03-04T23:00:00Z"
    assert to_iso(datetime(2024, 3, 5)) == "2024-03-05T00:00:00Z"
    with pytest.raises(ValueError, match="ISO-8601"):
        to_iso("yesterday")
    now = datetime(2024, 3, 6, 0, 30, tzinfo=UTC)
    assert is_growing(DAY + timedelta(days=1), now=now)
    assert not is_growing(DAY + timedelta(days=1), now=now + timedelta(hours=2))


def test_counts_match_for_a_complete_day(es: Elasticsearch, loaded: tuple[str, list[str]]) -> None:
    alias, ids = loaded
    rec = reconcile_counts(es, alias, DAY, DAY + timedelta(days=1), len(ids))
    assert rec.ok and rec.index_count == len(ids) and rec.difference == 0
    with pytest.raises(ValueError, match="tolerance"):
        reconcile_counts(es, alias, DAY, DAY + timedelta(days=1), len(ids), tolerance=1.5)


def test_tolerance_applies_only_to_a_growing_interval(
    es: Elasticsearch, loaded: tuple[str, list[str]]
) -> None:
    alias, ids = loaded
    source = len(ids) + 2  # two conversations Genesys has that the run has not indexed yet
    growing = reconcile_counts(es, alias, DAY, DAY + timedelta(days=1), source, tolerance=0.01, growing=True)
    assert growing.ok and growing.allowed_difference == 3
    closed = reconcile_counts(es, alias, DAY, DAY + timedelta(days=1), source, tolerance=0.01, growing=False)
    assert not closed.ok and closed.allowed_difference == 0
    too_many = reconcile_counts(
        es, alias, DAY, DAY + timedelta(days=1), len(ids) + 4, tolerance=0.01, growing=True
    )
    assert not too_many.ok


def test_deleted_documents_are_found_and_listed(es: Elasticsearch, loaded: tuple[str, list[str]]) -> None:
    alias, ids = loaded
    deleted = random.Random(3).sample(ids, 5)
    index = f"{alias}-2024.03"
    for cid in deleted:  # behind the pipeline's back
        es.delete(index=index, id=cid)

    source_ids = [*ids, *ids[:10]]  # a source that returns some conversations twice (hour slices)
    assert sorted(find_missing_ids(es, alias, source_ids, batch_size=64)) == sorted(deleted)

    rec = verify_interval(
        es,
        alias,
        DAY,
        DAY + timedelta(days=1),
        source_count=len(ids),
        source_ids=lambda: source_ids,
        list_limit=3,
    )
    assert not rec.ok and rec.checked_ids
    assert rec.index_count == len(ids) - 5 and rec.missing_total == 5
    assert rec.missing_ids == [cid for cid in ids if cid in deleted][:3]
    message = rec.message()
    assert "source 300, indexed 295" in message and "(+2 more)" in message
    assert all(cid in message for cid in rec.missing_ids)


def test_approximate_source_count_is_settled_by_ids(es: Elasticsearch, loaded: tuple[str, list[str]]) -> None:
    alias, ids = loaded
    calls: list[int] = []

    def source_ids() -> list[str]:
        calls.append(1)
        return ids

    rec = verify_interval(
        es, alias, DAY, DAY + timedelta(days=1), source_count=len(ids) + 3, source_ids=source_ids
    )
    assert calls == [1] and rec.checked_ids and rec.ok
    assert rec.missing_total == 0 and rec.extra_total == 0

    exact = verify_interval(
        es, alias, DAY, DAY + timedelta(days=1), source_count=len(ids), source_ids=source_ids
    )
    assert exact.ok and not exact.checked_ids and calls == [1]  # ids are only read when counts differ


def test_unexpected_documents_are_listed(es: Elasticsearch, loaded: tuple[str, list[str]]) -> None:
    alias, ids = loaded
    source = ids[:-2]  # Genesys no longer returns two indexed conversations
    rec = verify_interval(
        es, alias, DAY, DAY + timedelta(days=1), source_count=len(source), source_ids=lambda: source
    )
    assert not rec.ok and rec.extra_total == 2 and sorted(rec.extra_ids) == sorted(ids[-2:])


def test_id_paging(es: Elasticsearch, loaded: tuple[str, list[str]]) -> None:
    alias, ids = loaded
    paged = list(verification.iter_indexed_ids(es, alias, DAY, DAY + timedelta(days=1), page_size=70))
    assert sorted(paged) == sorted(ids) and len(paged) == len(set(paged))
