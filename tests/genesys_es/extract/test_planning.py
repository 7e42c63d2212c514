"""Partition planning: sub-intervals under the cap, every page read exactly once, bounded map length."""

from __future__ import annotations

import bisect
import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genesys_es.exceptions import PlanningError
from genesys_es.extract.planning import (
    Partition,
    belongs_to,
    make_label,
    partition_intervals,
    plan_intervals,
    plan_partitions,
    split_days,
)
from genesys_es.instants import format_ms as format_instant

DAY = datetime(2024, 3, 1, tzinfo=UTC)


class FakeDay:
    """Conversations with start and end; ``count`` and ``page`` follow the details query's semantics.

    A slice query matches conversations that started on a UTC day the slice touches and overlap the slice,
    ordered by conversationStart (ties by id).
    """

    def __init__(self, spans: list[tuple[datetime, datetime]]) -> None:
        self.items = sorted(
            (
                {"conversationId": f"c{i:06d}", "conversationStart": format_instant(s), "_s": s, "_e": e}
                for i, (s, e) in enumerate(spans)
            ),
            key=lambda c: (c["_s"], c["conversationId"]),
        )
        self.starts = [c["_s"] for c in self.items]
        self.calls = 0

    def matching(self, start: datetime, end: datetime) -> list[dict]:
        days = {d.date() for d, _ in split_days(start, end)}
        hi = bisect.bisect_left(self.starts, end)
        return [c for c in self.items[:hi] if c["_e"] > start and c["_s"].date() in days]

    def count(self, start: datetime, end: datetime) -> int:
        self.calls += 1
        return len(self.matching(start, end))

    def read(self, partition: Partition) -> list[dict]:
        rows = self.matching(partition.start, partition.end)
        first = (partition.first_page - 1) * partition.page_size
        if partition.last_page is None:
            return rows[first:]
        return rows[first : partition.last_page * partition.page_size]


def _uniform(n: int, day: datetime = DAY, minutes: int = 30) -> FakeDay:
    step = 86400 / max(n, 1)
    return FakeDay(
        [
            (day + timedelta(seconds=i * step), day + timedelta(seconds=i * step, minutes=minutes))
            for i in range(n)
        ]
    )


def _check_cover(partitions: list[Partition], fake: FakeDay, start: datetime, end: datetime) -> None:
    """Read every partition, keep what belongs to it: every conversation starting in range exactly once."""
    seen: list[str] = []
    for p in partitions:
        seen.extend(c["conversationId"] for c in fake.read(p) if belongs_to(c, p))
    wanted = [c["conversationId"] for c in fake.items if start <= c["_s"] < end]
    assert len(seen) == len(set(seen)), "a conversation was read by two partitions"
    assert sorted(seen) == sorted(wanted)


def test_small_day_is_one_sub_interval_of_page_ranges():
    fake = _uniform(4_550)
    parts = plan_partitions(DAY, DAY + timedelta(days=1), fake.count, page_size=100, pages_per_partition=20)
    assert [(p.first_page, p.last_page) for p in parts] == [(1, 20), (21, 40), (41, 46)]
    assert {(p.start, p.end) for p in parts} == {(DAY, DAY + timedelta(days=1))}
    assert sum(p.expected for p in parts) == fake.count(DAY, DAY + timedelta(days=1))
    assert parts[0].label == "2024-03-01 00:00-24:00 p1-20"
    assert fake.calls == 2  # one count to plan, one in the assertion
    _check_cover(parts, fake, DAY, DAY + timedelta(days=1))


def test_big_day_is_split_under_the_cap_and_read_once():
    fake = _uniform(25_000, minutes=90)
    cap = 5_000
    parts = plan_partitions(DAY, DAY + timedelta(days=1), fake.count, page_size=50, cap=cap, headroom=0.9)
    intervals = sorted({(p.start, p.end) for p in parts})
    assert len(intervals) > 1
    for s, e in intervals:
        assert fake.count(s, e) <= cap * 0.9
        assert s.second == 0 and s.microsecond == 0  # cuts on the minute grid
    assert intervals[0][0] == DAY and intervals[-1][1] == DAY + timedelta(days=1)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(intervals))
    assert all(p.last_page * p.page_size <= cap for p in parts)
    _check_cover(parts, fake, DAY, DAY + timedelta(days=1))


def test_multi_day_range_is_cut_at_midnight():
    fake = FakeDay(
        [(DAY + timedelta(hours=23, minutes=50), DAY + timedelta(days=1, hours=1))]  # spans midnight
        + [(DAY + timedelta(days=1, hours=h), DAY + timedelta(days=1, hours=h, minutes=5)) for h in range(24)]
    )
    parts = plan_partitions(DAY, DAY + timedelta(days=2), fake.count, page_size=10, pages_per_partition=1)
    assert {p.start.date() for p in parts} == {DAY.date(), (DAY + timedelta(days=1)).date()}
    assert all(p.end - p.start <= timedelta(days=1) for p in parts)
    _check_cover(parts, fake, DAY, DAY + timedelta(days=2))


def test_empty_closed_day_has_no_partitions_but_open_day_has_one():
    fake = FakeDay([])
    assert plan_partitions(DAY, DAY + timedelta(days=1), fake.count) == []
    (only,) = plan_partitions(DAY, DAY + timedelta(days=1), fake.count, open_ended=True)
    assert (only.first_page, only.last_page, only.expected) == (1, None, 0)
    assert only.label.endswith("p1+")


def test_open_ended_last_partition_reads_what_arrives_later():
    spans = [(DAY + timedelta(minutes=i), DAY + timedelta(minutes=i + 3)) for i in range(0, 600, 2)]
    fake = FakeDay(spans)
    now = DAY + timedelta(hours=10)
    parts = plan_partitions(DAY, now, fake.count, page_size=25, pages_per_partition=4, open_ended=True)
    assert parts[-1].last_page is None and all(p.last_page is not None for p in parts[:-1])
    # Later arrivals (same day, after planning) are collected by the open-ended partition.
    grown = FakeDay(
        [*spans, *((now + timedelta(minutes=i), now + timedelta(minutes=i + 1)) for i in range(60))]
    )
    grown_parts = [
        Partition(p.start, now + timedelta(hours=2), p.first_page, p.last_page, p.page_size, 0) for p in parts
    ]
    _check_cover(grown_parts, grown, DAY, now + timedelta(hours=2))


def test_one_minute_over_the_cap_raises_clearly():
    burst = DAY + timedelta(hours=12)
    fake = FakeDay(
        [(burst + timedelta(seconds=i * 0.05), burst + timedelta(minutes=5)) for i in range(1_000)]
    )
    with pytest.raises(PlanningError, match="smallest slice"):
        plan_partitions(DAY, DAY + timedelta(days=1), fake.count, page_size=10, cap=500)


def test_partitions_grow_to_fit_max_partitions():
    fake = _uniform(20_000)
    parts = plan_partitions(
        DAY,
        DAY + timedelta(days=1),
        fake.count,
        page_size=10,
        pages_per_partition=5,
        cap=100_000,
        max_partitions=50,
    )
    assert len(parts) <= 50
    assert len(parts) > 40  # grew no more than needed
    _check_cover(parts, fake, DAY, DAY + timedelta(days=1))


def test_more_sub_intervals_than_max_partitions_raises():
    fake = _uniform(20_000)
    with pytest.raises(PlanningError, match="max_partitions"):
        plan_partitions(DAY, DAY + timedelta(days=1), fake.count, page_size=10, cap=1_000, max_partitions=5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": 0},
        {"page_size": 101},
        {"pages_per_partition": 0},
        {"headroom": 0},
        {"headroom": 1.5},
        {"max_partitions": 0},
        {"cap": 10},
    ],
)
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        plan_partitions(DAY, DAY + timedelta(days=1), lambda s, e: 0, **kwargs)


def test_xcom_round_trip_and_labels():
    p = Partition(DAY + timedelta(hours=9), DAY + timedelta(hours=12), 1, 20, 100, 2000)
    assert p.label == "2024-03-01 09:00-12:00 p1-20"
    data = p.to_xcom()
    assert set(data) == {"start", "end", "first_page", "last_page", "page_size", "expected", "label", "path"}
    assert data["path"] == "sync"
    assert Partition.from_xcom(data) == p
    assert Partition.from_xcom(data).label == p.label
    open_p = Partition(DAY + timedelta(hours=21), DAY + timedelta(days=1), 21, None, 100, 5)
    assert open_p.label == "2024-03-01 21:00-24:00 p21+"
    assert Partition(DAY, DAY + timedelta(hours=1), 7, 7, 100, 50).label == "2024-03-01 00:00-01:00 p7"
    assert Partition.from_xcom(open_p.to_xcom()).last_page is None
    assert make_label(DAY, DAY + timedelta(seconds=90), 1, 1) == "2024-03-01 00:00:00-00:01:30 p1"
    with pytest.raises(ValueError, match="lacks"):
        Partition.from_xcom({"start": data["start"]})


def test_belongs_to_uses_conversation_start_half_open():
    p = Partition(DAY + timedelta(hours=9), DAY + timedelta(hours=12), 1, 1, 100, 0)
    at = lambda t: {"conversationStart": format_instant(t)}  # noqa: E731
    assert belongs_to(at(DAY + timedelta(hours=9)), p)
    assert belongs_to(at(DAY + timedelta(hours=11, minutes=59, seconds=59)), p.to_xcom())
    assert not belongs_to(at(DAY + timedelta(hours=12)), p)
    assert not belongs_to(at(DAY + timedelta(hours=8, minutes=59)), p)  # overlaps the slice, starts before


def test_split_days():
    pieces = split_days(DAY + timedelta(hours=6), DAY + timedelta(days=2, hours=1))
    assert pieces == [
        (DAY + timedelta(hours=6), DAY + timedelta(days=1)),
        (DAY + timedelta(days=1), DAY + timedelta(days=2)),
        (DAY + timedelta(days=2), DAY + timedelta(days=2, hours=1)),
    ]


# -- properties --------------------------------------------------------------------------------------


@st.composite
def days(draw):
    """A day of conversations clustered in a few bursts, some long enough to overlap many slices."""
    clusters = draw(
        st.lists(st.tuples(st.integers(0, 86_399), st.integers(1, 7_200)), min_size=1, max_size=4)
    )
    n = draw(st.integers(0, 1_500))
    seeds = draw(st.lists(st.integers(0, 2**31), min_size=n, max_size=n))
    spans = []
    for i, seed in enumerate(seeds):
        center, width = clusters[i % len(clusters)]
        offset = min(86_399, max(0, center + (seed % (2 * width)) - width))
        duration = 1 + (seed // 7) % 10_800
        s = DAY + timedelta(seconds=offset)
        spans.append((s, s + timedelta(seconds=duration)))
    return FakeDay(spans)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fake=days(),
    page_size=st.integers(1, 100),
    per=st.integers(1, 30),
    cap_pages=st.integers(3, 200),
    headroom=st.floats(0.3, 1.0),
    max_partitions=st.integers(1, 400),
    open_ended=st.booleans(),
    parallelism=st.integers(1, 8),
)
def test_every_page_of_every_sub_interval_is_in_exactly_one_partition(
    fake, page_size, per, cap_pages, headroom, max_partitions, open_ended, parallelism
):
    cap = cap_pages * page_size
    end = DAY + timedelta(days=1)
    try:
        parts = plan_partitions(
            DAY,
            end,
            fake.count,
            page_size=page_size,
            pages_per_partition=per,
            cap=cap,
            headroom=headroom,
            open_ended=open_ended,
            max_partitions=max_partitions,
            parallelism=parallelism,
        )
    except PlanningError as err:
        # Only for the two documented reasons, and only when they hold.
        assert "smallest slice" in str(err) or "max_partitions" in str(err)
        return
    assert len(parts) <= max_partitions
    intervals = sorted({(p.start, p.end) for p in parts})
    limit = min(int(cap * headroom), cap // page_size * page_size)
    for s, e in intervals:
        n = fake.count(s, e)
        assert n <= limit
        pages = sorted(
            page
            for p in parts
            if (p.start, p.end) == (s, e)
            for page in range(p.first_page, (p.last_page or math.ceil(n / page_size) or 1) + 1)
        )
        expected_pages = list(range(1, max(math.ceil(n / page_size), 1 if open_ended else 0) + 1))
        assert pages == expected_pages
        last = max((p for p in parts if (p.start, p.end) == (s, e)), key=lambda p: p.first_page)
        assert (last.last_page is None) == open_ended
    for p in parts:
        assert (p.last_page or p.first_page) * page_size <= cap
    if not open_ended:
        # Closed sub-intervals with no conversations need no partition; the others tile the day.
        covered = [(p.start, p.end) for p in parts]
        assert all(fake.count(s, e) > 0 for s, e in covered)
    else:
        assert intervals[0][0] == DAY and intervals[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(intervals))
    _check_cover(parts, fake, DAY, end)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 5_000), min_size=1, max_size=30),
    page_size=st.integers(1, 100),
    per=st.integers(1, 50),
    max_partitions=st.integers(1, 300),
    open_ended=st.booleans(),
)
def test_partition_intervals_never_exceeds_max_partitions(counts, page_size, per, max_partitions, open_ended):
    from genesys_es.extract.planning import SubInterval

    intervals = [
        SubInterval(DAY + timedelta(hours=i % 24, minutes=i), DAY + timedelta(hours=i % 24, minutes=i + 1), n)
        for i, n in enumerate(counts)
    ]
    needed = sum(1 for n in counts if n > 0 or open_ended)
    if needed > max_partitions:
        with pytest.raises(PlanningError, match="max_partitions"):
            partition_intervals(
                intervals,
                page_size=page_size,
                pages_per_partition=per,
                open_ended=open_ended,
                max_partitions=max_partitions,
            )
        return
    parts = partition_intervals(
        intervals,
        page_size=page_size,
        pages_per_partition=per,
        open_ended=open_ended,
        max_partitions=max_partitions,
    )
    assert len(parts) <= max_partitions
    assert sum(p.expected for p in parts) == sum(counts)


def test_partitions_are_evened_out_over_the_running_tasks():
    fake = _uniform(10_000)  # 100 pages: 20 per partition would be a wave of 4 tasks, then one alone
    end = DAY + timedelta(days=1)
    plain = plan_partitions(DAY, end, fake.count, pages_per_partition=20)
    even = plan_partitions(DAY, end, fake.count, pages_per_partition=20, parallelism=4)
    assert len(plain) == 5
    assert len(even) == 8  # two full waves of 4
    assert max((p.last_page or 0) - p.first_page + 1 for p in even) == 13
    _check_cover(even, fake, DAY, end)
    # A day that already fills its waves is left alone, and small partitions are not split further.
    assert len(plan_partitions(DAY, end, fake.count, pages_per_partition=25, parallelism=4)) == 4
    tiny = plan_partitions(DAY, end, _uniform(1_200).count, pages_per_partition=20, parallelism=8)
    assert [(p.first_page, p.last_page) for p in tiny] == [(1, 5), (6, 10), (11, 12)]
    with pytest.raises(ValueError, match="parallelism"):
        plan_partitions(DAY, end, fake.count, parallelism=0)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 5_000), min_size=1, max_size=10),
    per=st.integers(1, 50),
    parallelism=st.integers(2, 16),
    open_ended=st.booleans(),
)
def test_evening_out_never_adds_a_wave_or_grows_a_partition(counts, per, parallelism, open_ended):
    from genesys_es.extract.planning import MIN_BALANCED_PAGES, SubInterval

    intervals = [
        SubInterval(DAY + timedelta(hours=i), DAY + timedelta(hours=i + 1), n) for i, n in enumerate(counts)
    ]
    plain = partition_intervals(intervals, pages_per_partition=per, open_ended=open_ended)
    even = partition_intervals(
        intervals, pages_per_partition=per, open_ended=open_ended, parallelism=parallelism
    )
    assert math.ceil(len(even) / parallelism) <= math.ceil(len(plain) / parallelism)
    assert sum(p.expected for p in even) == sum(p.expected for p in plain)
    sizes = [p.last_page - p.first_page + 1 for p in even if p.last_page is not None]
    assert all(size <= per for size in sizes)
    # Every range but the last of its sub-interval has the evened-out size, never below the floor.
    inner = [
        p.last_page - p.first_page + 1
        for p in even
        if p.last_page is not None
        and any(q.first_page > p.first_page and (q.start, q.end) == (p.start, p.end) for q in even)
    ]
    assert len(set(inner)) <= 1
    assert all(size >= min(per, MIN_BALANCED_PAGES) for size in inner)


def test_plan_intervals_count_calls_stay_few_for_a_big_day():
    fake = _uniform(250_000 // 50)  # the same shape at 1/50 scale with cap scaled the same way
    plan_intervals(DAY, DAY + timedelta(days=1), fake.count, limit=90_000 // 50)
    assert fake.calls <= 16
