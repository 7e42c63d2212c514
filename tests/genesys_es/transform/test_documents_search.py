"""Sample documents index without mapping errors and answer the searches a user needs."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from genesys_es.load.bulk import BulkWriter
from genesys_es.load.index_setup import deadletter_index, ensure_index_resources, monthly_index
from genesys_es.transform.documents import build_document
from genesys_es.transform.pii import PiiPolicy
from tests.genesys_es import sample_conversations as samples


@pytest.fixture
def loaded(es: Elasticsearch, index_prefix: str) -> str:
    ensure_index_resources(es, index_prefix, replicas=0)
    actions = [
        {
            "_index": monthly_index(index_prefix, conv["conversationStart"]),
            "_id": conv["conversationId"],
            "_source": build_document(conv, pii=PiiPolicy("keep")),
        }
        for conv in samples.all_samples()
    ]
    result = BulkWriter(es, deadletter_index=deadletter_index(index_prefix)).write(actions)
    assert result.indexed == len(samples.SAMPLES) and result.deadlettered == 0
    es.indices.refresh(index=index_prefix)
    return index_prefix


def ids(es: Elasticsearch, alias: str, query: dict) -> set[str]:
    resp = es.search(index=alias, query=query, size=100, source=False)
    return {hit["_id"] for hit in resp["hits"]["hits"]}


def nested_participant(**terms: str) -> dict:
    return {
        "nested": {
            "path": "participants",
            "query": {"bool": {"filter": [{"term": {f"participants.{k}": v}} for k, v in terms.items()]}},
        }
    }


def test_find_by_agent(es: Elasticsearch, loaded: str) -> None:
    found = ids(es, loaded, {"term": {"derived.userIds": samples.AGENT_ALICE}})
    assert found == {
        c["conversationId"]
        for c in samples.all_samples()
        if samples.AGENT_ALICE in {p.get("userId") for p in c["participants"]}
    }
    assert len(found) == 4


def test_find_by_queue_and_wrapup(es: Elasticsearch, loaded: str) -> None:
    query = {
        "bool": {
            "filter": [
                {"term": {"derived.queueIds": samples.QUEUE_BILLING}},
                {"term": {"derived.wrapUpCodes": samples.WRAPUP_ESCALATED}},
            ]
        }
    }
    assert ids(es, loaded, query) == {
        "c0000001-aaaa-4bbb-8ccc-000000000001",
        "c0000009-aaaa-4bbb-8ccc-000000000009",
    }


def test_nested_participant_match_stays_within_one_participant(es: Elasticsearch, loaded: str) -> None:
    assert "c0000008-aaaa-4bbb-8ccc-000000000008" in ids(
        es, loaded, nested_participant(purpose="agent", userId=samples.AGENT_ALICE)
    )
    # Alice never takes part as a customer: mixing purpose of one participant with userId of another must not match
    assert ids(es, loaded, nested_participant(purpose="customer", userId=samples.AGENT_ALICE)) == set()
    # ...while the flat (non-nested) combination would have matched across participants
    flat = {
        "bool": {
            "filter": [
                {"term": {"derived.purposes": "customer"}},
                {"term": {"derived.userIds": samples.AGENT_ALICE}},
            ]
        }
    }
    assert ids(es, loaded, flat)
    # a segment field inside the nested participant
    seg = {
        "nested": {
            "path": "participants",
            "query": {
                "bool": {
                    "filter": [
                        {"term": {"participants.userId": samples.AGENT_BOB}},
                        {"term": {"participants.sessions.segments.wrapUpCode": samples.WRAPUP_RESOLVED}},
                    ]
                }
            },
        }
    }
    assert ids(es, loaded, seg) == {
        "c0000001-aaaa-4bbb-8ccc-000000000001",
        "c0000004-aaaa-4bbb-8ccc-000000000004",
        "c0000009-aaaa-4bbb-8ccc-000000000009",
    }


def test_time_range_flags_and_aggregations(es: Elasticsearch, loaded: str) -> None:
    march_3 = {"range": {"conversationStart": {"gte": "2024-03-03T00:00:00Z", "lt": "2024-03-04T00:00:00Z"}}}
    assert ids(es, loaded, march_3) == {
        "c0000005-aaaa-4bbb-8ccc-000000000005",
        "c0000006-aaaa-4bbb-8ccc-000000000006",
        "c0000007-aaaa-4bbb-8ccc-000000000007",
    }
    assert ids(es, loaded, {"term": {"derived.abandoned": True}}) == {"c0000005-aaaa-4bbb-8ccc-000000000005"}
    assert ids(es, loaded, {"term": {"derived.open": True}}) == {"c0000007-aaaa-4bbb-8ccc-000000000007"}
    resp = es.search(
        index=loaded,
        size=0,
        aggs={
            "per_day": {"date_histogram": {"field": "conversationStart", "calendar_interval": "day"}},
            "handle": {"sum": {"field": "derived.metrics.tHandle"}},
            "p95": {"percentiles": {"field": "derived.durationMs", "percents": [95]}},
            "media": {"terms": {"field": "derived.mediaTypes"}},
        },
    )
    days = {b["key_as_string"][:10]: b["doc_count"] for b in resp["aggregations"]["per_day"]["buckets"]}
    assert days["2024-03-03"] == 3
    expected_handle = sum(
        build_document(c, pii=PiiPolicy("keep"))["derived"]["metrics"].get("tHandle", 0)
        for c in samples.all_samples()
    )
    assert resp["aggregations"]["handle"]["value"] == expected_handle
    media = {b["key"]: b["doc_count"] for b in resp["aggregations"]["media"]["buckets"]}
    assert media["email"] == 1 and media["chat"] == 1 and media["callback"] == 1


def test_attributes_text_and_unmapped_fields(es: Elasticsearch, loaded: str) -> None:
    assert ids(es, loaded, {"term": {"derived.attributes.Intent": "billing_dispute"}}) == {
        "c0000009-aaaa-4bbb-8ccc-000000000009"
    }
    assert ids(es, loaded, {"match": {"derived.searchText": "refund"}}) == {
        "c0000001-aaaa-4bbb-8ccc-000000000001",
        "c0000009-aaaa-4bbb-8ccc-000000000009",
    }
    # unmapped Genesys fields stay in _source but add no mapping
    doc = es.get(index=loaded + "-2024.03", id="c0000001-aaaa-4bbb-8ccc-000000000001")
    assert doc["_source"]["mediaStatsMinConversationRFactor"] == 89.1
    mapping = es.indices.get_mapping(index=loaded + "-2024.03")[loaded + "-2024.03"]["mappings"]
    session_props = mapping["properties"]["participants"]["properties"]["sessions"]["properties"]
    assert "mediaEndpointStats" not in session_props and "requestedRoutings" not in session_props
