"""Which days go through jobs, and how a day becomes job slices (pure, no Genesys)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from genesys_es.extract.history import days_for_jobs, plan_job_slices, plan_run

DAY = datetime(2024, 3, 4, tzinfo=UTC)


def uniform(per_day: int):
    """Return a count function for conversations spread evenly over every day."""

    def count(start: datetime, end: datetime) -> int:
        return round(per_day * (end - start) / timedelta(days=1))

    return count


def test_days_after_the_availability_date_go_to_the_details_query() -> None:
    days = [DAY + timedelta(days=i) for i in range(4)]
    jobs, sync = days_for_jobs(days, DAY + timedelta(days=2, hours=5))
    assert jobs == days[:2]
    assert sync == days[2:]
    assert days_for_jobs(days, DAY + timedelta(days=4)) == (days, [])
    assert days_for_jobs(days, DAY) == ([], days)


def test_a_day_is_sliced_for_the_tasks_that_may_read_it() -> None:
    slices = plan_job_slices(DAY, uniform(300_000), slices=4)
    assert len(slices) == 4
    assert slices[0].start == DAY and slices[-1].end == DAY + timedelta(days=1)
    assert all(a.end == b.start for a, b in itertools.pairwise(slices))
    assert {s.path for s in slices} == {"jobs"}
    assert all(s.label.endswith(" jobs") for s in slices)
    assert max(s.expected for s in slices) <= 75_000
    # A small day is not worth several jobs.
    assert len(plan_job_slices(DAY, uniform(12_000), slices=4)) == 1
    with pytest.raises(ValueError, match="slices"):
        plan_job_slices(DAY, uniform(10), slices=0)


def test_a_peaked_day_is_sliced_by_count_not_by_time() -> None:
    """Office hours hold most of a day: slices are joined from counted stretches to about equal counts."""
    calls = []

    def peaked(start: datetime, end: datetime) -> int:
        calls.append((start, end))
        hours = [(start + timedelta(hours=h)).hour for h in range(round((end - start) / timedelta(hours=1)))]
        return sum(9_000 if 9 <= h < 17 else 500 for h in hours)

    slices = plan_job_slices(DAY, peaked, slices=4)
    assert len(calls) == 8  # one count per stretch of three hours: 2 x slices, nothing more
    assert len(slices) == 4
    assert slices[0].start == DAY and slices[-1].end == DAY + timedelta(days=1)
    assert all(a.end == b.start for a, b in itertools.pairwise(slices))
    counts = [s.expected for s in slices]
    assert sum(counts) == 8 * 9_000 + 16 * 500
    # Equal stretches of six hours would give 3,000 / 36,000 / 40,500 / 500: the largest slice is 55%.
    assert max(counts) <= 0.35 * sum(counts)
    # One slice per day costs one count.
    calls.clear()
    assert len(plan_job_slices(DAY, peaked, slices=1)) == 1
    assert len(calls) == 1


def test_a_range_straddling_the_availability_date_is_split_between_paths() -> None:
    days = [DAY + timedelta(days=i) for i in range(3)]
    parts = plan_run(
        days,
        uniform(2_000),
        available_until=DAY + timedelta(days=2),
        now=DAY + timedelta(days=10),
        parallelism=4,
    )
    by_day = {}
    for p in parts:
        by_day.setdefault(p.start.date(), set()).add(p.path)
    assert by_day == {days[0].date(): {"jobs"}, days[1].date(): {"jobs"}, days[2].date(): {"sync"}}
    sync_only = plan_run(days, uniform(2_000), available_until=None, now=DAY + timedelta(days=10))
    assert {p.path for p in sync_only} == {"sync"}
