"""Bulk writer, dead-letter index, 429 retries, rebuild deletes and open conversations (real node)."""

from __future__ import annotations

import threading
import time

import orjson
import pendulum
import pytest
from elasticsearch import Elasticsearch

from genesys_es.load.bulk import BulkResult, BulkWriteError, BulkWriter
from genesys_es.load.index_setup import (
    deadletter_index,
    ensure_index_resources,
    ensure_monthly_indices,
    monthly_index,
)
from genesys_es.load.ranges import delete_absent_at_source, find_open_conversations
from genesys_es.transform.documents import build_document
from genesys_es.transform.pii import PiiPolicy
from tests.genesys_es import sample_conversations as samples


@pytest.fixture
def prefix(es: Elasticsearch, index_prefix: str) -> str:
    ensure_index_resources(es, index_prefix, replicas=0)
    return index_prefix


def actions_for(prefix: str, conversations: list[dict]) -> list[dict]:
    return [
        {
            "_index": monthly_index(prefix, c["conversationStart"]),
            "_id": c["conversationId"],
            "_source": build_document(c, pii=PiiPolicy("keep"), run_id="test"),
        }
        for c in conversations
    ]


def writer(es: Elasticsearch, prefix: str, **kwargs) -> BulkWriter:
    return BulkWriter(es, deadletter_index=deadletter_index(prefix), **kwargs)


def count(es: Elasticsearch, index: str, query: dict | None = None) -> int:
    es.indices.refresh(index=index)
    return es.count(index=index, query=query or {"match_all": {}})["count"]


def test_chunks_are_byte_bounded_and_rewrites_are_idempotent(es: Elasticsearch, prefix: str) -> None:
    convs = samples.generate(60, day="2024-03-05")
    limit = 20_000
    first = writer(es, prefix, max_chunk_bytes=limit).write(iter(actions_for(prefix, convs)))
    assert first.indexed == first.created == 60
    assert first.requests > 1
    assert first.largest_chunk_bytes <= limit
    assert max(first.chunk_bytes) == first.largest_chunk_bytes and sum(first.chunk_bytes) == first.bytes
    assert first.to_dict()["indexed"] == 60 and "chunk_bytes" not in first.to_dict()

    second = writer(es, prefix, chunk_size=7).write(actions_for(prefix, convs))
    assert (second.indexed, second.created, second.updated) == (60, 0, 60)
    assert second.requests >= 60 // 7
    assert count(es, prefix) == 60
    ids = es.search(index=prefix, size=100, source=False)["hits"]["hits"]
    assert sorted(h["_id"] for h in ids) == sorted(c["conversationId"] for c in convs)


def test_mapping_conflict_goes_to_the_dead_letter_index(es: Elasticsearch, prefix: str) -> None:
    convs = samples.generate(5, day="2024-03-06")
    actions = actions_for(prefix, convs)
    actions[2]["_source"]["conversationEnd"] = "yesterday afternoon"  # the template says date
    bad_id = actions[2]["_id"]
    result = writer(es, prefix, deadletter_context={"runId": "run-1"}).write(actions)
    assert (result.indexed, result.deadlettered, result.failed_ids) == (4, 1, [])
    dl = deadletter_index(prefix)
    hits = es.search(index=dl, query={"term": {"conversationId": bad_id}})["hits"]["hits"]
    assert len(hits) == 1
    letter = hits[0]["_source"]
    assert letter["status"] == 400 and letter["type"] == "document_parsing_exception"
    assert "conversationEnd" in letter["reason"]
    assert letter["index"] == monthly_index(prefix, convs[2]["conversationStart"])
    assert letter["runId"] == "run-1" and letter["failedAt"]
    assert orjson.loads(letter["source"])["conversationEnd"] == "yesterday afternoon"
    assert es.search(index=dl, query={"match": {"reason": "failed to parse"}})["hits"]["total"]["value"] == 1
    # a re-run reports it again without duplicating the dead letter
    again = writer(es, prefix).write(actions)
    assert again.deadlettered == 1
    assert count(es, dl) == 1
    assert count(es, prefix) == 4


def test_rejected_items_are_retried_until_the_block_is_released(es: Elasticsearch, prefix: str) -> None:
    convs = samples.generate(30, day="2024-03-07")
    (index,) = ensure_monthly_indices(es, prefix, ["2024.03"])
    # the disk flood stage puts this block on an index; bulk items then fail with 429 cluster_block_exception
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": True})
    release = threading.Timer(
        1.5,
        lambda: es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": None}),
    )
    release.start()
    try:
        started = time.monotonic()
        result = writer(es, prefix, initial_backoff=0.4, max_backoff=2, max_retries=8).write(
            actions_for(prefix, convs)
        )
    finally:
        release.join()
    assert time.monotonic() - started >= 1.0
    assert result.indexed == 30 and result.deadlettered == 0
    assert result.retried_items >= 30
    assert count(es, index) == 30


def test_rejections_that_outlast_the_retries_raise_and_are_not_dead_lettered(
    es: Elasticsearch, prefix: str
) -> None:
    convs = samples.generate(10, day="2024-03-08")
    (index,) = ensure_monthly_indices(es, prefix, ["2024.03"])
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": True})
    try:
        with pytest.raises(BulkWriteError, match="neither written nor dead-lettered") as caught:
            writer(es, prefix, initial_backoff=0.05, max_retries=2).write(actions_for(prefix, convs))
    finally:
        es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": None})
    result: BulkResult = caught.value.result
    assert sorted(result.failed_ids) == sorted(c["conversationId"] for c in convs)
    assert result.deadlettered == 0 and result.indexed == 0
    assert result.retried_items == 20  # 10 items x 2 re-sends
    assert caught.value.failures[0]["status"] == 429
    assert count(es, deadletter_index(prefix)) == 0


def test_a_write_block_is_not_a_document_error(es: Elasticsearch, prefix: str) -> None:
    (index,) = ensure_monthly_indices(es, prefix, ["2024.03"])
    es.indices.put_settings(index=index, settings={"index.blocks.write": True})
    try:
        with pytest.raises(BulkWriteError) as caught:
            writer(es, prefix, max_retries=1, initial_backoff=0).write(
                actions_for(prefix, samples.generate(3, day="2024-03-09"))
            )
    finally:
        es.indices.put_settings(index=index, settings={"index.blocks.write": None})
    assert caught.value.failures[0]["status"] == 403
    assert caught.value.result.deadlettered == 0


def test_sources_may_hold_datetimes_and_bad_actions_fail_early(es: Elasticsearch, prefix: str) -> None:
    index = f"{prefix}-2024.03"
    source = {"conversationId": "dt-1", "conversationStart": pendulum.datetime(2024, 3, 1, 8, tz="UTC")}
    assert writer(es, prefix).write([{"_index": index, "_id": "dt-1", "_source": source}]).indexed == 1
    assert es.get(index=index, id="dt-1")["_source"]["conversationStart"].startswith("2024-03-01T08:00:00")
    with pytest.raises(ValueError, match="_op_type"):
        writer(es, prefix).write([{"_index": index, "_id": "x", "_op_type": "update", "_source": {}}])
    with pytest.raises(ValueError, match="_index and _id"):
        writer(es, prefix).write([{"_index": index, "_source": {}}])


def test_rebuild_deletes_only_what_the_source_no_longer_has_whoever_wrote_it(
    es: Elasticsearch, prefix: str
) -> None:
    day = samples.generate(10, day="2024-03-10", seed_prefix="r")

    def written_by(run_id: str, conversations: list[dict]) -> list[dict]:
        return [
            {**a, "_source": build_document(c, pii=PiiPolicy("keep"), run_id=run_id)}
            for a, c in zip(actions_for(prefix, conversations), conversations, strict=True)
        ]

    # The rebuild wrote 5; a concurrent run (or its open-conversation refresh) wrote 3 that Genesys still
    # has; 2 were written long ago and are gone at the source.
    writer(es, prefix).write(written_by("rebuild", day[:5]) + written_by("concurrent", day[5:8]))
    writer(es, prefix).write(written_by("old", day[8:]))
    at_source = {c["conversationId"] for c in day[:8]}
    asked: list[list[str]] = []

    def still_at_source(ids: list[str]) -> set[str]:
        asked.append(ids)
        return set(ids) & at_source

    deleted = delete_absent_at_source(
        es, prefix, "2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z", "rebuild", still_at_source, batch_size=2
    )
    assert deleted == 2
    es.indices.refresh(index=prefix)
    left = {hit["_id"] for hit in es.search(index=prefix, size=100, source=False)["hits"]["hits"]}
    assert left == at_source
    # Only the candidates (not written by the rebuild) were looked up, in batches.
    assert sorted(cid for ids in asked for cid in ids) == sorted(c["conversationId"] for c in day[5:])
    assert max(map(len, asked)) == 2


def test_find_open_conversations(es: Elasticsearch, prefix: str) -> None:
    convs = [*samples.generate(18, day="2024-03-12"), samples.open_voice()]
    writer(es, prefix).write(actions_for(prefix, convs))
    es.indices.refresh(index=prefix)
    expected = sorted(
        (c["conversationStart"], c["conversationId"])
        for c in convs
        if "conversationEnd" not in c and c["conversationStart"] >= "2024-03-12"
    )
    found = find_open_conversations(es, prefix, "2024-03-12T00:00:00Z")
    assert [(f["conversationStart"], f["conversationId"]) for f in found] == expected
    assert len(found) == 2
    assert len(find_open_conversations(es, prefix, "2024-03-01T00:00:00Z")) == 3
    assert find_open_conversations(es, f"{prefix}-missing", "2024-03-01T00:00:00Z") == []
