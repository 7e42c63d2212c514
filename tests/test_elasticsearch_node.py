"""The session's real Elasticsearch node: template, bulk index, search back."""

from __future__ import annotations

from elasticsearch import Elasticsearch, helpers


def test_template_bulk_and_search(es: Elasticsearch, index_prefix: str) -> None:
    es.indices.put_index_template(
        name=f"{index_prefix}-tpl",
        index_patterns=[f"{index_prefix}-*"],
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {
                "dynamic": "strict",
                "properties": {"conversationId": {"type": "keyword"}, "n": {"type": "integer"}},
            },
        },
    )
    index = f"{index_prefix}-2024.03"
    actions = (
        {"_index": index, "_id": f"c{i}", "_source": {"conversationId": f"c{i}", "n": i}} for i in range(50)
    )
    ok, errors = helpers.bulk(es, actions, refresh="wait_for")
    assert ok == 50 and errors == []

    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert es.count(index=index)["count"] == 50
    hits = es.search(index=index, query={"range": {"n": {"gte": 45}}}, size=10)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == ["c45", "c46", "c47", "c48", "c49"]
