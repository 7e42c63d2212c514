"""One conversation Genesys sends without an id is dead-lettered; the rest of its page is indexed."""

from __future__ import annotations

import copy

import orjson
from elasticsearch import Elasticsearch

from genesys_es.extract.models import ConversationQueryResponse
from genesys_es.load.bulk import BulkWriter
from genesys_es.load.index_setup import deadletter_index, ensure_index_resources
from genesys_es.load.ingest import (
    PartitionStats,
    conversation_actions,
    deadletter_invalid,
    serialized_actions,
)
from genesys_es.transform.pii import PiiPolicy
from tests.genesys_es.sample_conversations import all_samples


def test_conversation_without_id_is_dead_lettered_and_its_page_indexed(
    es: Elasticsearch, index_prefix: str
) -> None:
    samples = [copy.deepcopy(c) for c in all_samples()]
    broken = copy.deepcopy(samples[0])
    del broken["conversationId"]
    body = orjson.dumps({"conversations": [*samples, broken], "totalHits": len(samples) + 1})

    page = ConversationQueryResponse.model_validate_json(body)
    assert len(page.conversations) == len(samples) + 1

    ensure_index_resources(es, index_prefix)
    stats = PartitionStats()
    actions = conversation_actions(
        page.conversations,
        None,
        index_prefix=index_prefix,
        pii=PiiPolicy(mode="drop"),
        run_id="r1",
        label="p1",
        stats=stats,
    )
    result = BulkWriter(es, deadletter_index=deadletter_index(index_prefix)).write(actions)
    dead = deadletter_invalid(
        es,
        deadletter_index(index_prefix),
        stats.invalid,
        {"runId": "r1", "partition": "p1"},
        pii=PiiPolicy(mode="drop"),
    )

    assert result.indexed == len(samples)
    assert dead == 1 and len(stats.invalid) == 1
    es.indices.refresh(index=f"{index_prefix}*")
    (letter,) = es.search(
        index=deadletter_index(index_prefix), query={"term": {"type": "invalid_source_conversation"}}
    )["hits"]["hits"]
    assert "conversationId" in letter["_source"]["reason"]
    # Kept for a person to look at, under the run's PII policy (pii=drop: no number or name).
    stored = orjson.loads(letter["_source"]["source"])
    assert stored == PiiPolicy(mode="drop").apply(broken) != broken
    assert '"ani"' not in orjson.dumps(stored).decode() and broken["participants"][0][
        "participantName"
    ] not in str(stored)


def test_serialized_actions_carry_the_source_as_json_bytes() -> None:
    source = {"conversationId": "c1", "derived": {"open": False}}
    actions = [
        {"_index": "i", "_id": "c1", "_source": source},
        {"_index": "i", "_id": "c2", "_source": b'{"conversationId":"c2"}'},
        {"_op_type": "delete", "_index": "i", "_id": "c3"},
    ]
    out = list(serialized_actions(iter(actions)))

    assert orjson.loads(out[0]["_source"]) == source
    assert out[0]["_id"] == "c1" and actions[0]["_source"] is source  # the input action is not modified
    assert out[1]["_source"] == b'{"conversationId":"c2"}'
    assert out[2] == {"_op_type": "delete", "_index": "i", "_id": "c3"}
