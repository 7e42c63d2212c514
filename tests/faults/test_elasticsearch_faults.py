"""Elasticsearch side: the node restarts, rejects, turns read-only or refuses a document mid-run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import Elasticsearch

from genesys_es.load import bulk
from genesys_es.load.bulk import BulkWriteError
from genesys_es.load.index_setup import deadletter_index, ensure_index_resources, monthly_index
from genesys_es.load.leases import active_writer_indices
from genesys_es.operators.genesys_to_elasticsearch import PartitionFailedError
from tests.faults.conftest import (
    DAY_START,
    DedicatedNode,
    HookRecorder,
    assert_index_equals_source,
    day_simulator,
    index_settings,
    indexed_hits,
    leases,
    point_es_connection,
    run_partition,
    source_conversations,
    whole_day_partition,
)

VOLUME = 300
SMALL_CHUNK = 64 * 1024  # about 15 documents per bulk request: many requests, so faults land mid-write
ORIGINAL_BULK = bulk._RecordingClient.bulk
ORIGINAL = {"index.refresh_interval": "5s", "index.number_of_replicas": "1"}  # from the index template


def before_bulk(monkeypatch: pytest.MonkeyPatch, callback: Callable[[int], None]) -> list[int]:
    """Call ``callback(n)`` before the writer's n-th bulk request (from 1); return the request counter."""
    original = ORIGINAL_BULK
    calls = [0]

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        callback(calls[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(bulk._RecordingClient, "bulk", wrapped)
    return calls


@pytest.fixture
def sim(simulator_factory, airflow_connections):
    server = day_simulator(simulator_factory, VOLUME, seed=21)
    # No request budget: these scenarios are about Elasticsearch, whose one-slot write queue here would
    # also be contended by the shared budget's per-request writes (a real node queues thousands).
    airflow_connections(server.base_url, requests_per_minute=0)
    return server


def test_node_restarted_mid_run_fails_the_try_and_the_retry_completes(
    sim, dedicated_es: DedicatedNode, dedicated_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    es = dedicated_es.client
    point_es_connection(monkeypatch, dedicated_es.url)
    prefix = dedicated_prefix
    ensure_index_resources(es, prefix)
    source = source_conversations(sim)
    index = monthly_index(prefix, DAY_START)

    def stop_on_third(n: int) -> None:
        if n == 3:
            dedicated_es.stop()

    before_bulk(monkeypatch, stop_on_third)
    with pytest.raises(EsConnectionError):
        run_partition(prefix, whole_day_partition(), max_chunk_bytes=SMALL_CHUNK)
    monkeypatch.setattr(bulk._RecordingClient, "bulk", ORIGINAL_BULK)
    dedicated_es.start()
    dedicated_es.wait_ready(index=f"{prefix}*")

    # What the first try acknowledged before the stop survived the restart (translog durability).
    written = len(indexed_hits(es, prefix))
    assert 0 < written < len(source)
    # The failed try could not release its lease: it stays. The live index kept its settings throughout.
    assert [lease["holder"] for lease in leases(es, prefix)] == ["manual__faults:0"]
    assert index_settings(es, index) == ORIGINAL

    summary = run_partition(prefix, whole_day_partition(), try_number=2, max_chunk_bytes=SMALL_CHUNK)
    assert summary["indexed"] == len(source)
    assert summary["updated"] == written and summary["created"] == len(source) - written
    assert_index_equals_source(es, prefix, source)

    # The retry took over the partition's lease (one holder per partition) and released it.
    assert active_writer_indices(es, prefix) == set()
    assert index_settings(es, index) == ORIGINAL
    assert leases(es, prefix) == []


def test_bulk_rejections_from_a_tiny_write_queue_are_retried(
    sim, dedicated_es: DedicatedNode, dedicated_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    es = dedicated_es.client
    point_es_connection(monkeypatch, dedicated_es.url)
    prefix = dedicated_prefix
    # 4 shards: one bulk request fans out into 4 shard writes against 1 write thread and a queue of 1.
    ensure_index_resources(es, prefix, shards=4, replicas=0)
    source = source_conversations(sim)
    before = es.nodes.stats(metric="thread_pool")["nodes"]
    rejected_before = sum(n["thread_pool"]["write"]["rejected"] for n in before.values())

    summary = run_partition(prefix, whole_day_partition(page_size=100))

    after = es.nodes.stats(metric="thread_pool")["nodes"]
    rejected = sum(n["thread_pool"]["write"]["rejected"] for n in after.values()) - rejected_before
    assert rejected > 0, "the node rejected nothing: the scenario did not happen"
    assert summary["bulk_retried_items"] > 0
    assert summary["indexed"] == summary["created"] == len(source)
    assert summary["deadlettered"] == 0
    assert_index_equals_source(es, prefix, source)
    assert index_settings(es, monthly_index(prefix, DAY_START)) == {
        "index.refresh_interval": "5s",
        "index.number_of_replicas": "0",
    }


def _block(es: Elasticsearch, index: str, value: bool | None) -> None:
    es.indices.put_settings(index=index, settings={"index.blocks.read_only_allow_delete": value})


def test_index_read_only_mid_run_then_released_is_retried_and_complete(
    sim, es: Elasticsearch, index_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_index_resources(es, index_prefix)
    source = source_conversations(sim)
    index = monthly_index(index_prefix, DAY_START)

    def flood_stage(n: int) -> None:
        if n == 3:  # the disk fills up mid-write; it is freed 1.5 s later
            _block(es, index, True)
            threading.Timer(1.5, _block, (es, index, None)).start()

    before_bulk(monkeypatch, flood_stage)
    summary = run_partition(index_prefix, whole_day_partition(), max_chunk_bytes=SMALL_CHUNK)

    assert summary["bulk_retried_items"] > 0
    assert summary["indexed"] == summary["created"] == len(source)
    assert_index_equals_source(es, index_prefix, source)
    assert index_settings(es, index) == ORIGINAL
    assert leases(es, index_prefix) == []


def test_index_read_only_not_released_fails_clearly_and_a_retry_after_release_completes(
    sim, es: Elasticsearch, index_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_index_resources(es, index_prefix)
    source = source_conversations(sim)
    index = monthly_index(index_prefix, DAY_START)
    # Shorter backoff than production (0.5 s doubling, 6 retries) to keep the scenario quick.
    monkeypatch.setattr(
        bulk.BulkWriter.__init__,
        "__kwdefaults__",
        {**bulk.BulkWriter.__init__.__kwdefaults__, "initial_backoff": 0.05, "max_backoff": 0.2},
    )
    # Blocked from the 3rd request on, and again before every re-send: the node's disk monitor lifts a
    # read_only_allow_delete block by itself (every 30 s) while disk usage is under the high watermark.
    before_bulk(monkeypatch, lambda n: _block(es, index, True) if n >= 3 else None)

    with pytest.raises(
        BulkWriteError, match=r"neither written nor dead-lettered .*429 cluster_block_exception"
    ):
        run_partition(index_prefix, whole_day_partition(), max_chunk_bytes=SMALL_CHUNK)
    # The failed try released its lease and restored the settings; nothing was dead-lettered.
    assert leases(es, index_prefix) == []
    assert index_settings(es, index)["index.refresh_interval"] == "5s"
    partial = len(indexed_hits(es, index_prefix))
    assert 0 < partial < len(source)

    _block(es, index, None)
    monkeypatch.setattr(bulk._RecordingClient, "bulk", ORIGINAL_BULK)
    summary = run_partition(index_prefix, whole_day_partition(), try_number=2, max_chunk_bytes=SMALL_CHUNK)
    assert summary["indexed"] == len(source) and summary["updated"] == partial
    assert_index_equals_source(es, index_prefix, source)


def test_mapping_conflict_on_one_document_is_dead_lettered_and_reported(
    sim, hook_recorder: HookRecorder, es: Elasticsearch, index_prefix: str
) -> None:
    ensure_index_resources(es, index_prefix)
    source = source_conversations(sim)
    victim = sorted(source)[7]

    def poison(page: Any) -> None:
        for conversation in page.conversations:
            if conversation["conversationId"] == victim:
                conversation["mediaStatsMinConversationMos"] = "excellent"  # mapped as float

    hook_recorder.page_filter = poison
    with pytest.raises(PartitionFailedError, match=r"1 document\(s\) dead-lettered .*threshold 0"):
        run_partition(index_prefix, whole_day_partition())
    assert_index_equals_source(es, index_prefix, source, deadlettered={victim})
    (dead,) = [hit["_source"] for hit in es.search(index=deadletter_index(index_prefix))["hits"]["hits"]]
    assert dead["status"] == 400 and dead["type"] == "document_parsing_exception"
    assert "mediaStatsMinConversationMos" in dead["reason"]
    assert '"excellent"' in dead["source"] and dead["partition"] == whole_day_partition().label

    # Accepted by a threshold, the partition succeeds and still reports the dead letter.
    summary = run_partition(index_prefix, whole_day_partition(), try_number=2, deadletter_threshold=1)
    assert summary["deadlettered"] == 1 and summary["indexed"] == len(source) - 1
    assert summary["conversations"] == len(source)
    assert_index_equals_source(es, index_prefix, source, deadlettered={victim})
