"""Genesys side: the API misbehaves while a partition reads; nothing is lost, duplicated or misreported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from genesys_es.exceptions import GenesysRetryableError
from genesys_es.extract.models import QUERY_PATH
from genesys_es.extract.paging import ConversationPager
from genesys_es.extract.planning import plan_partitions
from genesys_es.load.index_setup import ensure_index_resources
from tests.faults.conftest import (
    DAY_END,
    DAY_START,
    HookRecorder,
    assert_index_equals_source,
    day_simulator,
    run_partition,
    source_conversations,
    wait_for,
    whole_day_partition,
)

VOLUME = 300  # 20 pages of 15: enough requests for every fault kind to strike several times

# Each profile is retried by the hook: one injected fault costs exactly one retry (a 401 after a
# revocation costs a new token instead, counted as a re-authentication).
SCENARIOS: dict[str, dict[str, Any]] = {
    "429_storm": {"burst_429_probability": 0.12, "burst_429_length": 3, "burst_429_retry_after": 1},
    "5xx": {
        "error_500_probability": 0.05,
        "error_502_probability": 0.05,
        "error_503_probability": 0.05,
        "error_504_probability": 0.05,
    },
    "slow_beyond_timeout": {"slow_probability": 0.2, "slow_seconds": 3.0},
    "connection_resets": {"reset_probability": 0.15},
    "truncated_json": {"truncate_probability": 0.15},
    "token_revoked_mid_run": {"revoke_probability": 0.08, "token_error_probability": 0.3},
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_partition_survives_api_faults(
    name: str,
    simulator_factory,
    airflow_connections,
    hook_recorder: HookRecorder,
    es: Elasticsearch,
    index_prefix: str,
) -> None:
    sim = day_simulator(simulator_factory, VOLUME, seed=11)
    airflow_connections(sim.base_url)
    # A short read timeout where slow answers (3 s) must time out; elsewhere a generous one, so a loaded
    # machine answering late causes no retry the simulator did not inject. Quick backoff keeps it fast.
    read_timeout = 1.0 if name == "slow_beyond_timeout" else 10.0
    hook_recorder.overrides = {"timeout": (2.0, read_timeout), "retry_min_wait": 0.05, "retry_max_wait": 0.5}
    ensure_index_resources(es, index_prefix)
    source = source_conversations(sim)
    sim.set_faults({"name": name, **SCENARIOS[name]})

    summary = run_partition(index_prefix, whole_day_partition(page_size=15))

    assert_index_equals_source(es, index_prefix, source)
    stats = sim.stats()
    faults = stats["faults_injected"]
    assert stats["faults_injected_total"] > 0, f"{name}: no fault was injected"
    # The summary tells the truth: every conversation counted once, every retry reported.
    assert summary["conversations"] == summary["indexed"] == len(source)
    assert summary["duplicates"] == 0 and summary["deadlettered"] == 0
    assert summary["created"] == len(source)
    (hook,) = hook_recorder.hooks
    revoked = faults.get("revoke", 0)
    assert summary["api_retries"] == stats["faults_injected_total"] - revoked, (summary, faults)
    # What the client says it sent is what the server saw: a reset connection never reaches the app, and
    # a request the client gave up on (read timeout) is cancelled before the server answers it.
    unanswered = faults.get("reset", 0) + faults.get("slow", 0)
    assert wait_for(lambda: summary["api_requests"] == _details_requests(sim) + unanswered, timeout=5), (
        summary["api_requests"],
        _details_requests(sim),
        faults,
    )
    if revoked:
        rejected = sim.stats()["api_requests_by_status"].get("401", 0)
        assert rejected >= revoked
        assert hook.stats["reauthentications"] == rejected
        # Token requests: one per token the server issued, plus those it refused with a 503 (retried).
        assert hook.stats["token_requests"] == stats["token_requests"] + faults.get("token_error", 0)
        assert stats["tokens_issued"] >= 1 + revoked
    if name == "429_storm":
        assert hook.stats["rate_limited"] == faults["burst_429"]


def test_outage_beyond_the_retry_limit_fails_the_try_and_the_retry_completes(
    simulator_factory, airflow_connections, hook_recorder: HookRecorder, es: Elasticsearch, index_prefix: str
) -> None:
    sim = day_simulator(simulator_factory, 200, seed=12)
    airflow_connections(sim.base_url)
    hook_recorder.overrides = {"retry_limit": 3, "retry_min_wait": 0.05, "retry_max_wait": 0.2}
    ensure_index_resources(es, index_prefix)
    source = source_conversations(sim)
    sim.set_faults({"error_503_probability": 1.0})

    with pytest.raises(GenesysRetryableError, match="503"):
        run_partition(index_prefix, whole_day_partition())
    (failed,) = hook_recorder.hooks
    # The first page request was tried retry_limit times: 2 retries, all of them 503s, then a clear error.
    assert failed.retries == 2 and failed.stats["requests"] == 3

    sim.set_faults(None)
    summary = run_partition(index_prefix, whole_day_partition(), try_number=2)
    assert summary["indexed"] == len(source) and summary["api_retries"] == 0
    assert_index_equals_source(es, index_prefix, source)


def test_total_hits_growing_during_the_run(
    simulator_factory, airflow_connections, hook_recorder: HookRecorder, es: Elasticsearch, index_prefix: str
) -> None:
    """Live mode: the simulated clock advances while partitions read; the last one is open-ended."""
    from genesys_es.hooks.genesys_cloud import GenesysCloudHook

    planned_at = DAY_START + timedelta(hours=10)
    sim = day_simulator(simulator_factory, 1000, seed=13, now=planned_at)
    airflow_connections(sim.base_url)
    ensure_index_resources(es, index_prefix)
    with GenesysCloudHook() as hook:
        partitions = plan_partitions(
            DAY_START,
            DAY_END,
            ConversationPager(hook).count,
            page_size=25,
            pages_per_partition=4,
            open_ended=True,
        )
    planned = sim.dataset.count(DAY_START, DAY_END)
    assert partitions[-1].last_page is None and len(partitions) >= 3
    assert all(p.last_page is not None for p in partitions[:-1])

    # Every page request moves the clock 3 minutes: conversations arrive (totalHits grows) and open
    # ones end while the run reads.
    hook_recorder.before_page = lambda _page: sim.set_clock(advance_seconds=180)
    summaries = [run_partition(index_prefix, p) for p in partitions]
    hook_recorder.before_page = None
    final_count = sim.dataset.count(DAY_START, DAY_END)
    assert final_count > planned + 50, "the clock did not bring new conversations"

    # Nothing lost or duplicated: the index holds every conversation that exists at the final clock.
    source = source_conversations(sim)
    hits_ids = {hit["_id"] for hit in _hits(es, index_prefix)}
    assert hits_ids == set(source)
    last = summaries[-1]
    assert last["indexed"] > partitions[-1].expected, "the open-ended partition did not read the growth"
    assert sum(s["indexed"] for s in summaries) == len(source)
    assert sum(s["duplicates"] for s in summaries) == 0
    # Documents read while a conversation was still open say so, and the summaries count them.
    open_docs = [h for h in _hits(es, index_prefix) if h["_source"]["derived"]["open"]]
    assert len(open_docs) == sum(s["open"] for s in summaries) > 0
    assert all("conversationEnd" not in h["_source"] for h in open_docs)

    # The next run (clock now frozen) brings every document to the current content.
    for p in partitions:
        run_partition(index_prefix, p, run_id="manual__faults_next")
    assert_index_equals_source(es, index_prefix, source)


def _details_requests(sim: Any) -> int:
    return sim.stats()["api_requests_by_path"].get(QUERY_PATH, 0)


def _hits(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=f"{prefix}-2*")
    return es.search(index=f"{prefix}-2*", size=10_000)["hits"]["hits"]
