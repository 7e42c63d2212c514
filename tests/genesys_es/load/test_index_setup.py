"""Index template, monthly indices and read alias against the real node."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from genesys_es.load import index_setup
from genesys_es.load.index_setup import (
    deadletter_index,
    ensure_index_resources,
    ensure_monthly_indices,
    monthly_index,
)


def test_monthly_index_uses_the_utc_month() -> None:
    assert (
        monthly_index("genesys-conversations", "2024-03-31T23:59:59.999Z") == "genesys-conversations-2024.03"
    )
    assert monthly_index("p", "2024-03-31T23:30:00-02:00") == "p-2024.04"
    assert monthly_index("p", datetime(2023, 12, 1, tzinfo=UTC)) == "p-2023.12"
    with pytest.raises(ValueError, match="conversationStart"):
        monthly_index("p", "not a date")
    with pytest.raises(ValueError, match="invalid index prefix"):
        monthly_index("Bad Prefix", "2024-03-01T00:00:00Z")


@pytest.mark.parametrize("prefix", ["2024", "1_000", "0x1f", "-x", "", "a" * 102])
def test_a_prefix_starts_with_a_letter(prefix: str) -> None:
    # Natively rendered, "{{ params.index_prefix }}" would turn the first three into numbers.
    with pytest.raises(ValueError, match="starting with a letter"):
        index_setup.validate_prefix(prefix)


def test_template_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="shards"):
        index_setup.conversations_template("p", shards=0)
    with pytest.raises(ValueError, match="replicas"):
        index_setup.conversations_template("p", replicas=-1)


def test_resources_are_idempotent(es: Elasticsearch, index_prefix: str) -> None:
    for _ in range(2):
        ensure_index_resources(es, index_prefix, shards=1, replicas=0)
    template = es.indices.get_index_template(name=index_prefix)["index_templates"][0]["index_template"]
    assert template["index_patterns"] == [f"{index_prefix}-2*"]
    assert es.indices.exists(index=deadletter_index(index_prefix))
    dl_mapping = es.indices.get_mapping(index=deadletter_index(index_prefix))
    props = dl_mapping[deadletter_index(index_prefix)]["mappings"]["properties"]
    assert props["source"] == {"type": "text", "index": False}
    assert props["reason"]["fields"]["keyword"]["type"] == "keyword"

    names = ensure_monthly_indices(es, index_prefix, ["2024.03", "2024-04", datetime(2024, 3, 9, tzinfo=UTC)])
    assert names == [f"{index_prefix}-2024.03", f"{index_prefix}-2024.04"]
    assert ensure_monthly_indices(es, index_prefix, [f"{index_prefix}-2024.03"]) == [
        f"{index_prefix}-2024.03"
    ]
    alias = es.indices.get_alias(name=index_prefix)
    assert set(alias.body) == set(names)  # never the dead-letter or lease index
    settings = es.indices.get_settings(index=names[0], flat_settings=True)[names[0]]["settings"]
    assert settings["index.codec"] == "best_compression"
    assert settings["index.number_of_replicas"] == "0"
    mapping = es.indices.get_mapping(index=names[0])[names[0]]["mappings"]
    assert mapping["dynamic"] == "false"
    assert mapping["properties"]["participants"]["type"] == "nested"
    assert mapping["properties"]["derived"]["properties"]["attributes"]["type"] == "flattened"

    # an index that lost its alias is repaired
    es.indices.delete_alias(index=names[1], name=index_prefix)
    ensure_index_resources(es, index_prefix, replicas=0)
    assert set(es.indices.get_alias(name=index_prefix).body) == set(names)


def test_monthly_indices_need_the_template(es: Elasticsearch, index_prefix: str) -> None:
    with pytest.raises(index_setup.LeaseError, match="ensure_index_resources"):
        ensure_monthly_indices(es, index_prefix, ["2024.03"])
    assert not es.indices.exists(index=f"{index_prefix}-2024.03")


def test_mapping_stays_within_nested_and_field_limits(es: Elasticsearch, index_prefix: str) -> None:
    ensure_index_resources(es, index_prefix, replicas=0)
    (name,) = ensure_monthly_indices(es, index_prefix, ["2024.03"])
    mapping = es.indices.get_mapping(index=name)[name]["mappings"]

    def walk(props: dict, path: str = ""):
        for key, value in props.items():
            yield path + key, value
            yield from walk(value.get("properties", {}), f"{path}{key}.")

    fields = list(walk(mapping["properties"]))
    nested = [path for path, value in fields if value.get("type") == "nested"]
    assert nested == ["participants"]  # sessions and segments are plain objects
    assert len(fields) < 200
