"""The verify operator's execute() on the real node: counts, missing ids, latency target, health."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from genesys_es.load.index_setup import monthly_index
from genesys_es.operators.verify import GenesysElasticsearchVerifyOperator
from genesys_es.verify.counts import VerificationError
from tests.genesys_es.verify.test_counts import DAY, conversation_doc, index_conversations, install_template
from tests.genesys_es.verify.test_health import es_conn_id

__all__ = ["es_conn_id"]


class FixedSourceVerifyOperator(GenesysElasticsearchVerifyOperator):
    """The operator with Genesys replaced by a known list of conversation ids (Elasticsearch stays real)."""

    def __init__(
        self,
        *,
        source: list[str],
        source_total: int | None = None,
        restore: dict[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.source_total = len(source) if source_total is None else source_total
        self.restore = restore or {}
        self.id_reads = 0
        self.fetched: list[str] = []

    def fetch_and_index(self, ids: list[str], start: datetime, end: datetime, run_id: str | None) -> int:
        """Index the documents Genesys would return for these ids (those in ``restore``)."""
        self.fetched.extend(ids)
        es = self.get_es()
        found = [self.restore[cid] for cid in ids if cid in self.restore]
        for doc in found:
            es.index(
                index=monthly_index(str(self.index_prefix), doc["conversationStart"]),
                id=doc["conversationId"],
                document=doc,
            )
        return len(found)

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
    op = operator(es_conn_id, index_prefix, loaded, latency_target_p95_ms=60000)
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
    # A closed day is repaired first: the missing ids were asked for, then the day checked again.
    assert sorted(op.fetched) == deleted and op.id_reads == 2
    record = es.get(index=f"{index_prefix}-reconciliation", id="2024-03-05")["_source"]
    assert (record["genesysTotal"], record["indexed"], record["missing"]) == (150, 146, 4)
    assert record["settled"] is False and record["ok"] is False


def test_a_closed_day_missing_conversations_is_repaired_and_settled(
    es: Elasticsearch, loaded: list[str], index_prefix: str, es_conn_id: str
) -> None:
    lost = sorted(random.Random(3).sample(loaded, 5))
    saved = {cid: es.get(index=f"{index_prefix}-2024.03", id=cid)["_source"] for cid in lost}
    for cid in lost:
        es.delete(index=f"{index_prefix}-2024.03", id=cid)
    op = operator(es_conn_id, index_prefix, loaded, restore=saved)
    summary = op.execute({"run_id": "manual__test"})
    assert summary["ok"] and summary["index_count"] == 150
    (day,) = summary["days"]
    assert (day["day"], day["repaired"], day["missing"], day["settled"]) == ("2024-03-05", 5, 0, True)
    record = es.get(index=f"{index_prefix}-reconciliation", id="2024-03-05")["_source"]
    assert record["settled"] is True and record["runId"] == "manual__test" and record["indexed"] == 150


def test_a_range_longer_than_the_interval_limit_is_verified_day_by_day(
    es: Elasticsearch, index_prefix: str, es_conn_id: str
) -> None:
    install_template(es, index_prefix)
    per_day = {}
    for offset in range(10):  # ten days: more than the 7-day interval one Genesys query accepts
        day = DAY + timedelta(days=offset)
        per_day[day.date().isoformat()] = index_conversations(
            es, index_prefix, day, 5 + offset, first=100 * offset
        )
    counted: list[tuple[datetime, datetime]] = []

    class PerDaySource(FixedSourceVerifyOperator):
        def source_count(self, start: datetime, end: datetime) -> int:
            assert end - start <= timedelta(days=1), "one query per day at most"
            counted.append((start, end))
            return len(per_day.get(start.date().isoformat(), []))

    op = PerDaySource(
        task_id="verify",
        index_prefix=index_prefix,
        elasticsearch_conn_id=es_conn_id,
        source=[],
        start=DAY.isoformat(),
        end=(DAY + timedelta(days=10)).isoformat(),
    )
    summary = op.execute({})
    assert summary["ok"] and [d["day"] for d in summary["days"]] == sorted(per_day)
    assert summary["source_count"] == summary["index_count"] == sum(map(len, per_day.values()))
    assert len(counted) == 10


def test_growing_interval_tolerance(es: Elasticsearch, index_prefix: str, es_conn_id: str) -> None:
    install_template(es, index_prefix)
    # Today's UTC day, still growing: one day whatever the hour (the check is per UTC day).
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    rng = random.Random(5)
    docs = [conversation_doc(n, today + (now - today) * rng.random(), rng) for n in range(60)]
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
    interval = {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()}

    growing = operator(es_conn_id, index_prefix, source, count_tolerance=0.05, **interval)
    summary = growing.execute({})
    assert summary["ok"] and summary["growing"] and summary["difference"] == 2
    assert growing.id_reads == 0  # within the tolerance: no id comparison needed

    strict = operator(es_conn_id, index_prefix, source, count_tolerance=0.01, **interval)
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


def test_bulk_time_settings_left_behind_fail_verification(
    es: Elasticsearch, loaded: list[str], index_prefix: str, es_conn_id: str
) -> None:
    index = f"{index_prefix}-2024.03"
    es.indices.put_settings(
        index=index, settings={"index.number_of_replicas": 0, "index.refresh_interval": "-1"}
    )
    with pytest.raises(VerificationError) as excinfo:
        operator(es_conn_id, index_prefix, loaded).execute({})
    message = str(excinfo.value)
    assert (
        f"{index}: number_of_replicas is 0 (configured 1), refresh_interval is -1 (configured 5s)" in message
    )
    es.indices.put_settings(
        index=index, settings={"index.number_of_replicas": 1, "index.refresh_interval": "5s"}
    )
    assert operator(es_conn_id, index_prefix, loaded).execute({})["ok"]
