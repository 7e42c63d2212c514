"""BudgetShare: more running tasks shrink the share at once, fewer enlarge it only when two counts agree."""

from __future__ import annotations

import threading
import time

import pytest
from elasticsearch import Elasticsearch

from genesys_es.budget_share import BudgetShare
from genesys_es.index_setup import (
    WriterSession,
    bulk_write_session,
    ensure_index_resources,
    live_writer_count,
)


def _share(initial: int = 4) -> tuple[BudgetShare, list[int]]:
    applied: list[int] = []
    return BudgetShare(lambda: 0, applied.append, initial=initial, poll_s=1), applied


def test_fewer_tasks_need_two_counts_in_a_row() -> None:
    share, applied = _share()
    assert share.observe(2) == 4  # one count is not enough
    assert share.observe(4) == 4  # ... and a full count cancels it
    assert share.observe(2) == 4
    assert share.observe(1) == 2  # two in a row: the larger of the two counts
    assert applied == [2]


def test_more_tasks_take_effect_at_once() -> None:
    share, applied = _share(initial=2)
    assert share.observe(3) == 3
    assert share.observe(6) == 6
    assert applied == [3, 6]


def test_a_count_of_zero_means_this_task_alone() -> None:
    share, applied = _share(initial=2)
    share.observe(0)
    assert share.observe(0) == 1
    assert applied == [1]


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        BudgetShare(lambda: 1, print, initial=0)
    with pytest.raises(ValueError):
        BudgetShare(lambda: 1, print, initial=2, poll_s=0)


def test_counting_runs_in_the_background_and_survives_errors() -> None:
    counts = iter([RuntimeError("node away"), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    applied: list[int] = []
    done = threading.Event()

    def count() -> int:
        value = next(counts, 1)
        if isinstance(value, Exception):
            raise value
        return value

    def apply(parts: int) -> None:
        applied.append(parts)
        done.set()

    with BudgetShare(count, apply, initial=4, poll_s=0.02) as share:
        assert done.wait(5)
    assert applied == [1]
    assert share.parts == 1


def test_live_writer_count_counts_holders_with_unexpired_leases(es: Elasticsearch, index_prefix: str) -> None:
    ensure_index_resources(es, index_prefix, replicas=0)
    assert live_writer_count(es, index_prefix) == 0
    first, second = f"{index_prefix}-2024.03", f"{index_prefix}-2024.04"
    with bulk_write_session(es, index_prefix, [first], "run-a:0", ttl_s=30):
        assert live_writer_count(es, index_prefix) == 1
        with bulk_write_session(es, index_prefix, [first, second], "run-a:1", ttl_s=30):
            assert live_writer_count(es, index_prefix) == 2  # two holders, three leases
        killed = WriterSession(es, index_prefix, [second], "run-b:0", ttl_s=1).acquire()
        killed._stop.set()  # the task dies: no renewal, no release
        killed._thread.join()
        assert live_writer_count(es, index_prefix) == 2
        time.sleep(1.3)
        assert live_writer_count(es, index_prefix) == 1  # an expired lease does not count
    assert live_writer_count(es, index_prefix) == 0
