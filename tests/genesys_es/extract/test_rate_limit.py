"""The client-side request budget spends evenly, bursts only as allowed, pauses for 429s, and is thread-safe."""

from __future__ import annotations

import itertools
import sys
import threading
import time

import pytest

from genesys_es.extract.rate_limit import RequestBudget


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def _budget(rpm: float, burst: int = 1) -> tuple[RequestBudget, FakeClock]:
    clock = FakeClock()
    return RequestBudget(rpm, burst, clock=clock, sleep=clock.sleep), clock


@pytest.mark.parametrize("rpm", [60, 300, 1000])
def test_requests_are_spaced_evenly(rpm):
    budget, clock = _budget(rpm)
    stamps = []
    for _ in range(50):
        budget.acquire()
        stamps.append(clock())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) == pytest.approx(60 / rpm)
    assert max(gaps) == pytest.approx(60 / rpm)
    assert budget.granted == 50


def test_one_minute_of_requests_never_exceeds_the_budget():
    budget, clock = _budget(300)
    start = clock()
    while clock() - start < 60:
        budget.acquire()
    # The request at exactly t+60 belongs to the next minute; within [start, start + 60) there are 300.
    assert budget.granted == 301


def test_burst_allows_that_many_back_to_back_then_steady():
    budget, clock = _budget(60, burst=5)
    clock.now += 100  # idle spell
    t0 = clock()
    for _ in range(5):
        budget.acquire()
    assert clock() == t0  # five went out at once
    budget.acquire()
    assert clock() == pytest.approx(t0 + 1.0)


def test_idle_time_is_not_saved_up_beyond_the_burst():
    budget, clock = _budget(60, burst=1)
    budget.acquire()
    clock.now += 3600
    t0 = clock()
    budget.acquire()
    budget.acquire()
    assert clock() == pytest.approx(t0 + 1.0)


def test_pause_holds_requests_then_resumes_at_the_steady_rate():
    budget, clock = _budget(600)
    budget.acquire()
    budget.pause(7)
    t0 = clock()
    budget.acquire()
    assert clock() == pytest.approx(t0 + 7)
    budget.acquire()
    assert clock() == pytest.approx(t0 + 7 + 0.1)
    assert budget.pauses == 1


def test_shorter_pause_does_not_shorten_a_longer_one():
    budget, clock = _budget(0)
    budget.pause(10)
    budget.pause(2)
    t0 = clock()
    budget.acquire()
    assert clock() == pytest.approx(t0 + 10)


def test_unlimited_budget_never_waits():
    budget, clock = _budget(0)
    t0 = clock()
    for _ in range(1000):
        assert budget.acquire() == 0
    assert clock() == t0
    assert budget.unlimited


@pytest.mark.parametrize(("rpm", "burst"), [(-1, 1), (60, 0)])
def test_bad_arguments(rpm, burst):
    with pytest.raises(ValueError):
        RequestBudget(rpm, burst)


def test_threads_share_one_budget_in_real_time():
    rpm = 6000  # one request every 10 ms
    budget = RequestBudget(rpm)
    done = []

    def worker() -> None:
        for _ in range(15):
            budget.acquire()
            done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert len(done) == budget.granted == 60
    # 60 requests at 10 ms need at least 590 ms however many threads ask (sleeps never end early). How the
    # woken threads bunch up afterwards is the OS scheduler's business, so wake-up times are not asserted.
    assert elapsed >= 0.59 - 0.005


def test_threads_never_get_the_same_slot():
    now = 5000.0
    slots: list[float] = []
    lock = threading.Lock()

    def record(delay: float) -> None:
        with lock:
            slots.append(now + delay)

    # The clock stands still and sleeping returns at once: every acquire must still take the next free slot.
    budget = RequestBudget(6000, clock=lambda: now, sleep=record)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke races
    try:
        threads = [threading.Thread(target=lambda: [budget.acquire() for _ in range(500)]) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert budget.granted == 4000
    # The first request goes out at once (no sleep); the other 3999 each got their own 10 ms slot.
    assert sorted(round((s - now) / 0.01) for s in slots) == list(range(1, 4000))
