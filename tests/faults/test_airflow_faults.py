"""Airflow side: a partition task killed with SIGKILL while it writes, then retried."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from genesys_es.load.index_setup import ensure_index_resources, monthly_index
from genesys_es.load.leases import active_writer_indices
from tests.faults.conftest import (
    DAY_START,
    REPO,
    assert_index_equals_source,
    day_simulator,
    index_settings,
    indexed_hits,
    leases,
    run_partition,
    source_conversations,
    whole_day_partition,
)

BULK_SETTINGS = {"index.refresh_interval": "-1", "index.number_of_replicas": "0"}
ORIGINAL = {"index.refresh_interval": "5s", "index.number_of_replicas": "1"}


def test_partition_killed_mid_write_is_retried_without_loss_or_duplicates(
    simulator_factory,
    airflow_connections,
    es: Elasticsearch,
    index_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = day_simulator(simulator_factory, 400, seed=31)
    airflow_connections(sim.base_url)
    ensure_index_resources(es, index_prefix)
    source = source_conversations(sim)
    partition = whole_day_partition()
    index = monthly_index(index_prefix, DAY_START)
    run_id = "manual__killed"
    args = {
        "prefix": index_prefix,
        "partition": partition.to_xcom(),
        "try_number": 1,
        "run_id": run_id,
        "max_chunk_bytes": 64 * 1024,
        "pause_s": 0.5,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.partition_worker", json.dumps(args)],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if line.startswith("BULK 3"):
                os.kill(worker.pid, signal.SIGKILL)  # mid-write: 3 requests done, more to come
                break
            assert not line.startswith("SUMMARY"), "the worker finished before it could be killed"
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()

    # The killed try left a live lease with part of the partition written; the live index it wrote to
    # kept its replica and refresh interval throughout (no bulk-time settings on the daily path).
    (lease,) = leases(es, index_prefix)
    assert lease["holder"] == f"{run_id}:0"
    assert datetime.fromisoformat(lease["expires_at"].replace("Z", "+00:00")) > datetime.now(UTC)
    assert index_settings(es, index) == ORIGINAL != BULK_SETTINGS
    written = len(indexed_hits(es, index_prefix))
    assert 0 < written < len(source)

    # Airflow retries the task: the retry completes, overwrites what the killed try wrote, adds the rest.
    summary = run_partition(index_prefix, partition, try_number=2, run_id=run_id)
    assert summary["indexed"] == summary["conversations"] == len(source)
    assert summary["updated"] == written and summary["created"] == len(source) - written
    assert summary["duplicates"] == 0 and summary["deadlettered"] == 0
    assert_index_equals_source(es, index_prefix, source)

    # The retry holds the same lease (one holder per partition) and releases it at once.
    assert index_settings(es, index) == ORIGINAL
    assert leases(es, index_prefix) == []
    assert active_writer_indices(es, index_prefix) == set()


def test_a_partition_facing_a_red_index_fails_fast_naming_it(
    simulator_factory, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    import time

    from genesys_es.operators.genesys_to_elasticsearch import PartitionFailedError

    sim = day_simulator(simulator_factory, 200, seed=5)
    airflow_connections(sim.base_url)
    ensure_index_resources(es, index_prefix)
    index = monthly_index(index_prefix, DAY_START)
    # Its only primary cannot be assigned anywhere: the index is red, as with its node gone.
    es.indices.create(
        index=index,
        settings={"index.routing.allocation.require._name": "gone-node"},
        wait_for_active_shards=0,
    )
    started = time.monotonic()
    with pytest.raises(PartitionFailedError, match=f"cannot write to {index}: .*red"):
        run_partition(index_prefix, whole_day_partition())
    assert time.monotonic() - started < 30, "must not wait a minute per bulk request"
    assert leases(es, index_prefix) == []
