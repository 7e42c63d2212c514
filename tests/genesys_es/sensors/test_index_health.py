"""The health sensor on the real node: poke mode returns or fails with reasons; deferrable mode defers."""

from __future__ import annotations

import asyncio

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred
from elasticsearch import Elasticsearch

from genesys_es.sensors.index_health import ElasticsearchIndexHealthSensor
from genesys_es.triggers.index_health import ElasticsearchIndexHealthTrigger
from tests.genesys_es.verify.test_health import es_conn_id, make_index

__all__ = ["es_conn_id"]


def sensor(conn_id: str, indices: object, **kwargs: object) -> ElasticsearchIndexHealthSensor:
    return ElasticsearchIndexHealthSensor(
        task_id="wait_for_health", indices=indices, elasticsearch_conn_id=conn_id, **kwargs
    )


async def first_event(trigger: ElasticsearchIndexHealthTrigger):
    async for event in trigger.run():
        return event
    raise AssertionError("trigger ended without an event")


def test_poke_returns_on_yellow_and_green(es: Elasticsearch, index_prefix: str, es_conn_id: str) -> None:
    make_index(es, f"{index_prefix}-2024.01")
    make_index(es, f"{index_prefix}-2024.02", replicas=1)

    result = sensor(
        es_conn_id, f"{index_prefix}-*", target_status="yellow", timeout=10, poke_interval=1
    ).execute({})
    assert result["ok"] and set(result["indices"].values()) == {"green", "yellow"}

    green = sensor(es_conn_id, [f"{index_prefix}-2024.01"], target_status="green", timeout=10).execute({})
    assert green["indices"] == {f"{index_prefix}-2024.01": "green"}


def test_poke_fails_on_red_index_after_timeout(es: Elasticsearch, index_prefix: str, es_conn_id: str) -> None:
    red = f"{index_prefix}-2024.03"
    make_index(es, f"{index_prefix}-2024.04")
    make_index(es, red, red=True)

    with pytest.raises(AirflowSensorTimeout) as excinfo:
        sensor(es_conn_id, f"{index_prefix}-*", timeout=2, poke_interval=0.5).execute({})
    message = str(excinfo.value)
    assert "timed out" in message
    assert red in message and f"{index_prefix}-2024.04" not in message.split("indices not yellow:")[1]
    assert "primary shard" in message and "nowhere" in message


def test_invalid_arguments_fail_in_execute(es_conn_id: str) -> None:
    with pytest.raises(ValueError, match="target_status"):
        sensor(es_conn_id, "x", target_status="blue", timeout=1).execute({})
    with pytest.raises(ValueError, match="at least one index"):
        sensor(es_conn_id, " , ", timeout=1).execute({})


def test_deferrable_returns_at_once_when_healthy(
    es: Elasticsearch, index_prefix: str, es_conn_id: str
) -> None:
    make_index(es, f"{index_prefix}-2024.05")
    result = sensor(es_conn_id, f"{index_prefix}-2024.05", deferrable=True, timeout=5).execute({})
    assert result["ok"]


def test_deferrable_defers_and_reports_red_index(
    es: Elasticsearch, index_prefix: str, es_conn_id: str
) -> None:
    red = f"{index_prefix}-2024.06"
    make_index(es, red, red=True)
    op = sensor(es_conn_id, [red], deferrable=True, timeout=2, poke_interval=1)

    with pytest.raises(TaskDeferred) as excinfo:
        op.execute({})
    deferred = excinfo.value
    assert deferred.method_name == "execute_complete"
    assert deferred.timeout is not None and deferred.timeout.total_seconds() > 2

    # The trigger survives the round trip through the triggerer's serialisation.
    path, kwargs = deferred.trigger.serialize()
    assert path == "genesys_es.triggers.index_health.ElasticsearchIndexHealthTrigger"
    trigger = ElasticsearchIndexHealthTrigger(**kwargs)

    event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "timeout"
    assert red in event.payload["message"] and "nowhere" in event.payload["message"]

    with pytest.raises(AirflowSensorTimeout, match="nowhere"):
        op.execute_complete({}, event.payload)


def test_trigger_fires_when_index_recovers(es: Elasticsearch, index_prefix: str, es_conn_id: str) -> None:
    name = f"{index_prefix}-2024.07"
    make_index(es, name, red=True)
    op = sensor(es_conn_id, name, target_status="green", deferrable=True, timeout=60, poke_interval=1)
    with pytest.raises(TaskDeferred) as excinfo:
        op.execute({})
    trigger = excinfo.value.trigger

    async def heal_then_wait():
        task = asyncio.create_task(first_event(trigger))
        await asyncio.sleep(1.5)
        assert not task.done()
        es.indices.put_settings(
            index=name,
            settings={"index.routing.allocation.require._name": None, "index.number_of_replicas": 0},
        )
        return await asyncio.wait_for(task, timeout=30)

    event = asyncio.run(heal_then_wait())
    assert event.payload["status"] == "success"
    assert op.execute_complete({}, event.payload)["indices"] == {name: "green"}
