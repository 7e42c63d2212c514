"""The read-ahead thread keeps order, bounds what it holds, hands over errors and stops with its consumer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys_es.load.read_ahead import ReadAhead


class Source:
    """A generator that records how far it was read, in which thread, and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.produced = 0
        self.closed = False
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        try:
            for i in range(self.count):
                if i == self.fail_at:
                    raise RuntimeError(f"page {i} failed")
                self.threads.add(threading.current_thread().name)
                self.produced += 1
                yield i
        finally:
            self.closed = True


@settings(max_examples=40, deadline=None)
@given(count=st.integers(0, 250), batch=st.integers(1, 40), max_batches=st.integers(1, 4))
def test_items_come_out_in_order_and_complete(count: int, batch: int, max_batches: int) -> None:
    source = Source(count)
    assert list(ReadAhead(source, batch=batch, max_batches=max_batches)) == list(range(count))
    assert source.closed


def test_items_are_produced_in_the_named_thread() -> None:
    source = Source(10)
    assert list(ReadAhead(source, name="build p1")) == list(range(10))
    assert source.threads == {"build p1"}


def test_a_slow_consumer_bounds_what_is_read_ahead() -> None:
    source = Source(10_000)
    items = ReadAhead(source, batch=10, max_batches=3)
    assert next(items) == 0
    time.sleep(0.3)
    # Three lists wait in the queue, one is blocked on put, one was handed over: 5 x 10 at most.
    assert source.produced <= 50
    items.close()
    assert source.closed


def test_a_producer_error_is_raised_after_the_items_before_it() -> None:
    source = Source(100, fail_at=37)
    received: list[int] = []
    with pytest.raises(RuntimeError, match="page 37 failed"):
        for item in ReadAhead(source, batch=10):
            received.append(item)
    assert received == list(range(37))
    assert source.closed


def test_a_consumer_error_stops_the_producer_and_closes_the_source() -> None:
    source = Source(1_000_000)

    def consume() -> None:
        with ReadAhead(source, batch=10, max_batches=2) as items:
            for item in items:
                if item == 15:
                    raise ValueError("bulk failed")

    with pytest.raises(ValueError, match="bulk failed"):
        consume()
    assert source.closed
    assert source.produced < 100


def wait_for(condition, seconds: float = 5.0) -> bool:
    """Return True as soon as ``condition()`` holds, False after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_producer_starts_before_the_first_item_is_asked_for() -> None:
    source = Source(1_000)
    with ReadAhead(source, batch=10, max_batches=2) as items:
        assert wait_for(lambda: source.produced >= 10)
        assert list(items) == list(range(1_000))


def test_an_abandoned_read_ahead_stops_its_producer() -> None:
    source = Source(1_000_000)
    items = ReadAhead(source, batch=10, max_batches=2)
    assert next(items) == 0
    del items
    assert wait_for(lambda: source.closed)
    assert source.produced < 100


def test_nothing_comes_after_the_end_or_after_close() -> None:
    source = Source(3)
    items = ReadAhead(source)
    assert list(items) == [0, 1, 2]
    assert list(items) == []
    other = ReadAhead(Source(1_000_000), batch=10, max_batches=2)
    assert next(other) == 0
    other.close()
    assert list(other) == []


@pytest.mark.parametrize(("batch", "max_batches"), [(0, 1), (1, 0), (-1, 5)])
def test_bad_sizes_are_refused(batch: int, max_batches: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        list(ReadAhead([1], batch=batch, max_batches=max_batches))
