"""The verify operator's execute() on the real node: counts, missing ids, latency target, health."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from genesys_es.index_setup import monthly_index
from genesys_es.operators.verify import GenesysElasticsearchVerifyOperator
from genesys_es.verification import VerificationError
from tests.genesys_es.test_health import es_conn_id
from tests.genesys_es.test_verification import DAY, conversation_doc, index_conversations, install_template

__all__ = ["es_conn_id"]


class FixedSourceVerifyOperator(GenesysElasticsearchVerifyOperator):
    """The operator with Genesys replaced by a known list of conversation ids (Elasticsearch stays real)."""

    def __init__(self, *, source: list[str], source_total: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.source_total = len(source) if source_total is None else source_total
        self.id_reads = 0

    def source_count(self, start: datetime, end: datetime) -> int:
        return self.source_total

    def source_ids(self, start: datetime, end: datetime) -> Iterator[str]:
        self.id_reads += 1
        yield from self.source


@pytest.fixture
def loaded(es: Elasticsearch, index_prefix: str) -> list[str]:
    install_template(es, index_prefix)
    return index_conversations(es, index_prefix, DAY, 150)


def operator(conn_id: str, prefix: str, source: list[str], **kwargs: Any) -> FixedSourceVerifyOperator:
    kwargs.setdefault("start", "2024-03-05T00:00:00Z")
    kwargs.setdefault("end", "2024-03-06T00:00:00Z")
    kwargs.setdefault("latency_runs", 3)
    kwargs.setdefault("latency_warmup", 1)
    return FixedSourceVerifyOperator(
        task_id="verify",
        index_prefix=prefix,
        elasticsearch_conn_id=conn_id,
        source=source,
        **kwargs,
    )


def test_generous_target_passes(loaded: list[str], index_prefix: str, es_conn_id: str) -> None:
    op = operator(es_conn_id, index_prefix, loaded, latency_target_p95_ms="60000")
    summary = op.execute({})
    assert summary["ok"] and summary["index_count"] == summary["source_count"] == 150
    assert summary["health"] in ("yellow", "green") and op.id_reads == 0
    latency = summary["latency"]
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["max_ms"] <= 60000
    assert set(latency["probes"]) >= {"by_agent", "text_search", "time_histogram"}


def test_impossible_target_fails_with_the_numbers(
    loaded: list[str], index_prefix: str, es_conn_id: str
) -> None:
    op = operator(es_conn_id, index_prefix, loaded, latency_target_p95_ms=0.001)
    with pytest.raises(VerificationError) as excinfo:
        op.execute({})
    message = str(excinfo.value)
    assert "exceeds the target 0.0 ms" in message
    for label in ("p95", "p50", "max", "server took p95", "slowest probe"):
        assert label in message
    assert "count reconciliation" not in message  # the counts were fine


def test_deleted_documents_fail_and_are_listed(
    es: Elasticsearch, loaded: list[str], index_prefix: str, es_conn_id: str
) -> None:
    deleted = sorted(random.Random(11).sample(loaded, 4))
    for cid in deleted:
        es.delete(index=f"{index_prefix}-2024.03", id=cid)
    op = operator(es_conn_id, index_prefix, loaded, list_missing_limit=10)
    with pytest.raises(VerificationError) as excinfo:
        op.execute({})
    message = str(excinfo.value)
    assert "source 150, indexed 146" in message and "missing 4" in message
    assert all(cid in message for cid in deleted)
    assert op.id_reads == 1


def test_growing_interval_tolerance(es: Elasticsearch, index_prefix: str, es_conn_id: str) -> None:
    install_template(es, index_prefix)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(5)
    docs = [conversation_doc(n, now - timedelta(minutes=rng.randint(1, 50)), rng) for n in range(60)]
    helpers.bulk(
        es,
        (
            {
                "_index": monthly_index(index_prefix, d["conversationStart"]),
                "_id": d["conversationId"],
                "_source": d,
            }
            for d in docs
        ),
        refresh=True,
    )
    ids = [d["conversationId"] for d in docs]
    source = [*ids, "late-1", "late-2"]  # Genesys already has two conversations the run has not indexed yet
    interval = {
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
    }

    growing = operator(es_conn_id, index_prefix, source, count_tolerance="0.05", **interval)
    summary = growing.execute({})
    assert summary["ok"] and summary["growing"] and summary["difference"] == 2
    assert growing.id_reads == 0  # within the tolerance: no id comparison needed

    strict = operator(es_conn_id, index_prefix, source, count_tolerance="0.01", **interval)
    with pytest.raises(VerificationError, match="late-1, late-2"):
        strict.execute({})  # floor(0.01 * 62) = 0 allowed: the ids are compared and the two listed


def test_bad_arguments_fail_before_any_check(index_prefix: str, es_conn_id: str) -> None:
    with pytest.raises(ValueError, match="must be after start"):
        operator(es_conn_id, index_prefix, [], end="2024-03-04T00:00:00Z").execute({})
    with pytest.raises(ValueError, match="start: not an ISO-8601"):
        operator(es_conn_id, index_prefix, [], start="{{ ds }}").execute({})
    with pytest.raises(ValueError, match="count_tolerance"):
        operator(es_conn_id, index_prefix, [], count_tolerance="lots").execute({})
    with pytest.raises(ValueError, match="latency_runs"):
        operator(es_conn_id, index_prefix, [], latency_runs=0).execute({})
