"""Index health checks against the real node: statuses, 408 handling, reasons for red and blocked indices."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from genesys_es.verify.health import HealthResult, check_health, normalise_indices, validate_target_status

CONN_ID = "genesys_es_health_test"


@pytest.fixture
def es_conn_id(es_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Return an Airflow connection id (from an environment variable) that points at the test node."""
    scheme, _, hostport = es_url.partition("://")
    host, _, port = hostport.partition(":")
    conn = {"conn_type": "elasticsearch", "host": host, "port": int(port or 9200), "schema": scheme}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    yield CONN_ID


def make_index(es: Elasticsearch, name: str, *, replicas: int = 0, red: bool = False) -> None:
    """Create an index that is green (replicas 0), yellow (replicas 1 on one node) or red."""
    settings: dict[str, object] = {"number_of_shards": 1, "number_of_replicas": replicas}
    if red:
        settings["index.routing.allocation.require._name"] = "nowhere"
    es.indices.create(index=name, settings=settings, wait_for_active_shards="0")
    if not red:
        es.cluster.health(index=name, wait_for_status="green" if replicas == 0 else "yellow", timeout="30s")


def test_validation() -> None:
    assert validate_target_status(" Green ") == "green"
    with pytest.raises(ValueError, match="target_status"):
        validate_target_status("red")
    assert normalise_indices("a, b,,c") == ["a", "b", "c"]
    assert normalise_indices(["a", " "]) == ["a"]


def test_green_and_yellow_indices(es: Elasticsearch, index_prefix: str) -> None:
    green, yellow = f"{index_prefix}-green", f"{index_prefix}-yellow"
    make_index(es, green)
    make_index(es, yellow, replicas=1)

    assert check_health(es, [green], "green").ok
    result = check_health(es, f"{index_prefix}-*", "yellow")
    assert result.ok and result.indices == {green: "green", yellow: "yellow"}

    not_green = check_health(es, [yellow, green], "green")
    assert not not_green.ok
    assert [p.index for p in not_green.problems] == [yellow]
    assert "replica shard" in not_green.message() and "UNASSIGNED" in not_green.message()


def test_red_index_is_explained(es: Elasticsearch, index_prefix: str) -> None:
    red = f"{index_prefix}-red"
    make_index(es, red, red=True)

    result = check_health(es, red, "yellow", wait_seconds=1)
    assert not result.ok and result.timed_out and result.status == "red"
    message = result.message()
    assert red in message and "primary shard" in message
    assert "nowhere" in message  # the allocation decider's explanation names the filter


def test_missing_index(es: Elasticsearch, index_prefix: str) -> None:
    result = check_health(es, [f"{index_prefix}-absent"], "yellow")
    assert not result.ok
    assert result.problems[0].status == "missing"
    assert f"{index_prefix}-absent" in result.message()


def test_read_only_block_counts_as_unhealthy(es: Elasticsearch, index_prefix: str) -> None:
    name = f"{index_prefix}-blocked"
    make_index(es, name)
    es.indices.put_settings(index=name, settings={"index.blocks.read_only_allow_delete": True})

    result = check_health(es, name, "green")
    assert not result.ok and result.status == "green"
    assert "index.blocks.read_only_allow_delete=true" in result.message()
    assert check_health(es, name, "green", check_blocks=False).ok

    es.indices.put_settings(index=name, settings={"index.blocks.read_only_allow_delete": None})
    assert check_health(es, name, "green").ok


def test_result_round_trips_through_dict(es: Elasticsearch, index_prefix: str) -> None:
    red = f"{index_prefix}-red"
    make_index(es, red, red=True)
    result = check_health(es, red, "yellow")
    again = HealthResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
