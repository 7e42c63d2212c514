"""GenesysToElasticsearchOperator.execute() against the simulator and the real node."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from genesys_es.extract.planning import Partition, make_label
from genesys_es.load.index_setup import deadletter_index, ensure_index_resources, ensure_monthly_indices
from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator, PartitionFailedError
from genesys_es.run_config import build_run_config

DAY = date(2026, 11, 9)
START = datetime(2026, 11, 9, tzinfo=UTC)
END = START + timedelta(days=1)


def _context(run_id: str = "manual__test", try_number: int = 1) -> dict[str, Any]:
    return {"ti": SimpleNamespace(try_number=try_number, map_index=0), "run_id": run_id}


def _operator(prefix: str, **params: Any) -> GenesysToElasticsearchOperator:
    config = build_run_config(
        {"date_from": DAY.isoformat(), "date_to": DAY.isoformat(), "index_prefix": prefix, **params},
        None,
        allow_drills=True,
    )
    partition = Partition(
        start=START,
        end=END,
        first_page=1,
        last_page=None,
        page_size=100,
        expected=0,
        label=make_label(START, END, 1, None),
    )
    return GenesysToElasticsearchOperator(
        task_id="extract_and_index", partition=partition.to_xcom(), run_config=config.to_xcom()
    )


@pytest.fixture
def env(simulator_factory, airflow_connections):
    sim = simulator_factory(conversations_per_day=300, volume_overrides={DAY: 300})
    airflow_connections(sim.base_url)
    return sim


def test_partition_indexes_every_conversation_and_returns_a_summary(
    env, es: Elasticsearch, index_prefix: str
) -> None:
    ensure_index_resources(es, index_prefix)
    summary = _operator(index_prefix).execute(_context())
    source = env.dataset.conversation_ids(START, END)
    assert summary["indexed"] == len(source) == summary["conversations"]
    assert summary["deadlettered"] == 0
    assert summary["pages"] >= 3
    es.indices.refresh(index=index_prefix)
    assert es.count(index=index_prefix)["count"] == len(source)
    # Retrying the partition changes no count.
    again = _operator(index_prefix).execute(_context(try_number=2))
    assert again["indexed"] == len(source) and again["created"] == 0
    es.indices.refresh(index=index_prefix)
    assert es.count(index=index_prefix)["count"] == len(source)


def test_refused_documents_are_dead_lettered_and_fail_the_partition(
    env, es: Elasticsearch, index_prefix: str
) -> None:
    ensure_index_resources(es, index_prefix)
    (index,) = ensure_monthly_indices(es, index_prefix, [START])
    # A real Elasticsearch limit: conversations with more than 3 participants (nested objects) are refused.
    es.indices.put_settings(index=index, settings={"index.mapping.nested_objects.limit": 3})
    conversations = env.dataset.conversations(START, END)
    too_big = {c["conversationId"] for c in conversations if len(c.get("participants", [])) > 3}
    assert 0 < len(too_big) < len(conversations)

    with pytest.raises(PartitionFailedError, match=r"dead-lettered .*threshold 0"):
        _operator(index_prefix).execute(_context())

    es.indices.refresh(index=f"{index_prefix}*")
    dead = es.search(index=deadletter_index(index_prefix), size=1000)["hits"]["hits"]
    assert {hit["_source"]["conversationId"] for hit in dead} == too_big
    assert all("nested" in hit["_source"]["reason"] for hit in dead)
    assert es.count(index=index)["count"] == len(conversations) - len(too_big)

    # With a threshold that allows them, the partition succeeds and still reports them.
    summary = _operator(index_prefix, deadletter_threshold=len(too_big)).execute(_context())
    assert summary["deadlettered"] == len(too_big)
    assert summary["indexed"] + summary["deadlettered"] == len(conversations)


def test_drill_fails_only_the_first_try(env, es: Elasticsearch, index_prefix: str) -> None:
    label = make_label(START, END, 1, None)
    ensure_index_resources(es, index_prefix)
    with pytest.raises(PartitionFailedError, match="drill"):
        _operator(index_prefix, chaos_fail_partitions=[label]).execute(_context(try_number=1))
    summary = _operator(index_prefix, chaos_fail_partitions=[label]).execute(_context(try_number=2))
    assert summary["indexed"] == len(env.dataset.conversation_ids(START, END))


def test_hash_mode_without_a_key_fails_without_retry(env, index_prefix: str, monkeypatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.delenv("AIRFLOW_VAR_GENESYS_ES_PII_SECRET")
    with pytest.raises(AirflowFailException, match="genesys_es_pii_secret"):
        _operator(index_prefix, pii="hash").execute(_context())


def test_the_pii_key_variable_is_one_airflow_masks() -> None:
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    from genesys_es.operators.genesys_to_elasticsearch import OLD_PII_KEY_VARIABLE, PII_KEY_VARIABLE

    assert should_hide_value_for_key(PII_KEY_VARIABLE)
    assert not should_hide_value_for_key(OLD_PII_KEY_VARIABLE)  # why it was renamed


def test_the_old_pii_key_variable_still_works_and_is_masked(monkeypatch) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    from genesys_es.operators.genesys_to_elasticsearch import pii_policy_for

    old_key = "old-variable-key-0123456789"
    monkeypatch.delenv("AIRFLOW_VAR_GENESYS_ES_PII_SECRET", raising=False)
    monkeypatch.setenv("AIRFLOW_VAR_GENESYS_ES_PII_KEY", old_key)
    assert pii_policy_for("hash").key == old_key.encode()
    assert old_key not in str(redact(f"key is {old_key}"))


def test_a_partition_uses_the_clients_shared_budget(
    simulator_factory, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    from genesys_es.extract.shared_budget import BUDGET_INDEX, budget_key

    sim = simulator_factory(conversations_per_day=300, volume_overrides={DAY: 300})
    airflow_connections(sim.base_url, requests_per_minute=600)
    ensure_index_resources(es, index_prefix)
    started = time.time()
    summary = _operator(index_prefix).execute(_context())
    assert summary["indexed"] == len(sim.dataset.conversation_ids(START, END))
    # The client's budget document moved on by one slot per request (0.1 s at 600/min, 0.98 used).
    state = es.get(index=BUDGET_INDEX, id=budget_key(sim.base_url, "demo-client"))["_source"]
    assert state["tat"] >= started + summary["api_requests"] * 60 / (600 * 0.98) - 0.5


def test_a_partition_log_reads_as_a_story(env, es: Elasticsearch, index_prefix: str, caplog) -> None:
    import logging

    ensure_index_resources(es, index_prefix)
    caplog.set_level(logging.INFO)
    _operator(index_prefix).execute(_context())
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("genesys_es")]
    assert ours[0].startswith("partition 2026-11-09 00:00-24:00 p1+: pages 1..end")
    assert any(m.startswith("progress: ") for m in ours), "no progress line"
    assert any(m.startswith("bulk write: 300 document(s) indexed (300 new, 0 updated)") for m in ours), ours
    assert ours[-1].startswith("partition 2026-11-09 00:00-24:00 p1+ done: ")
    # The Elasticsearch client's one line per request stays out of the task log unless DEBUG is asked for.
    transport = [
        r for r in caplog.records if r.name == "elastic_transport.transport" and r.levelno < logging.WARNING
    ]
    assert transport == []
