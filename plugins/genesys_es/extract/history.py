"""Which days of a run the jobs API serves, and their slices (one job each).

A run with ``path=jobs`` reads every day that ends at or before the jobs API's ``dataAvailabilityDate``
through details jobs; later days (job data lags real time) go through the synchronous details query, so a
range that straddles the date is split. A job's results are read by cursor, so its slice is not bound by
the 100,000-result cap: a day becomes several slices only to let several tasks read and index at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from genesys_es.exceptions import PlanningError
from genesys_es.extract.planning import (
    DEFAULT_MIN_SLICE,
    DEFAULT_PAGES_PER_PARTITION,
    CountFn,
    Partition,
    cut_points,
    plan_partitions,
)
from genesys_es.instants import as_utc

log = logging.getLogger(__name__)

#: Fewest conversations worth a slice of their own (a job costs a submission and some polls).
MIN_SLICE_CONVERSATIONS = 10_000


def days_for_jobs(
    days: Sequence[datetime], available_until: datetime
) -> tuple[list[datetime], list[datetime]]:
    """Split UTC day starts into (days the jobs API serves, days for the details query).

    :param days: the run's days, as UTC midnights.
    :param available_until: the jobs API's ``dataAvailabilityDate``.
    """
    available_until = as_utc(available_until)
    jobs = [d for d in days if as_utc(d) + timedelta(days=1) <= available_until]
    return jobs, [d for d in days if as_utc(d) + timedelta(days=1) > available_until]


def plan_job_slices(
    day: datetime,
    count: CountFn,
    *,
    slices: int = 1,
    min_slice_conversations: int = MIN_SLICE_CONVERSATIONS,
) -> list[Partition]:
    """Plan one UTC day into at most ``slices`` job slices of about equal conversation counts.

    The day is counted in ``2 * slices`` equal stretches of time (one count request each), and neighbouring
    stretches are joined into slices of about equal counts: a contact center's day peaks in office hours,
    so equal stretches of time would leave one task most of the day. Every extra slice costs a job's
    submission and polls, and conversations crossing a cut are read twice (jobs match by overlap).

    :param day: the day's start (UTC midnight).
    :param count: returns ``totalHits`` for ``(start, end)`` (``ConversationPager.count``).
    :param slices: the most slices wanted (the tasks that may read this day at once).
    :param min_slice_conversations: no slice is planned for fewer conversations than this.
    """
    if slices < 1:
        raise ValueError(f"slices must be at least 1, got {slices}")
    start = as_utc(day)
    end = start + timedelta(days=1)
    if slices == 1:
        return [_job_slice(start, end, int(count(start, end)))]
    bounds = [start, *cut_points(start, end, 2 * slices, DEFAULT_MIN_SLICE), end]
    stretches = [(a, b, int(count(a, b))) for a, b in pairwise(bounds)]
    total = sum(n for _, _, n in stretches)
    wanted = max(1, min(slices, total // max(1, min_slice_conversations)))
    return [_job_slice(s, e, n) for s, e, n in _join(stretches, wanted)]


def _join(
    stretches: list[tuple[datetime, datetime, int]], groups: int
) -> list[tuple[datetime, datetime, int]]:
    """Join neighbouring ``(start, end, count)`` stretches into at most ``groups`` with the smallest largest count."""

    def pack(cap: int) -> list[tuple[datetime, datetime, int]]:
        packed: list[tuple[datetime, datetime, int]] = []
        for s, e, n in stretches:
            if packed and packed[-1][2] + n <= cap:
                packed[-1] = (packed[-1][0], e, packed[-1][2] + n)
            else:
                packed.append((s, e, n))
        return packed

    counts = [n for _, _, n in stretches]
    sums = sorted({sum(counts[i:j]) for i in range(len(counts)) for j in range(i + 1, len(counts) + 1)})
    return next(p for cap in sums if cap >= max(counts) and len(p := pack(cap)) <= groups)


def _job_slice(start: datetime, end: datetime, expected: int) -> Partition:
    return Partition(
        start=start, end=end, first_page=1, last_page=None, page_size=1000, expected=expected, path="jobs"
    )


def plan_run(
    days: Sequence[datetime],
    count: CountFn,
    *,
    available_until: datetime | None,
    now: datetime,
    page_size: int = 100,
    pages_per_partition: int = DEFAULT_PAGES_PER_PARTITION,
    parallelism: int = 1,
    max_partitions: int = 1024,
) -> list[Partition]:
    """Plan a run's days into partitions: job slices for the days the jobs API serves, page ranges for the rest.

    :param days: the run's days, as UTC midnights.
    :param count: returns ``totalHits`` for ``(start, end)`` (``ConversationPager.count``).
    :param available_until: the jobs API's ``dataAvailabilityDate``, or None for the details query only.
    :param now: the current instant (a day ending after it still grows).
    :param page_size: details-query page size.
    :param pages_per_partition: pages one sync partition reads.
    :param parallelism: partition tasks running at once.
    :param max_partitions: most partitions allowed (Airflow's ``max_map_length``).
    """
    job_days, sync_days = days_for_jobs(days, available_until) if available_until else ([], list(days))
    partitions: list[Partition] = []
    for day in job_days:
        slices = plan_job_slices(day, count, slices=max(1, parallelism // len(job_days)))
        log.info("%s: jobs API, %d slice(s), about %d conversations", day.date(), len(slices), _total(slices))
        partitions += slices
    for day in sync_days:
        end = day + timedelta(days=1)
        growing = end > now
        planned = plan_partitions(
            day,
            end,
            count,
            page_size=page_size,
            pages_per_partition=pages_per_partition,
            open_ended=growing,
            max_partitions=max_partitions - len(partitions),
            parallelism=parallelism,
        )
        log.info(
            "%s: details query, %d partition(s), about %d conversations%s",
            day.date(),
            len(planned),
            _total(planned),
            " (still growing: last partitions read to the end)" if growing else "",
        )
        partitions += planned
    if len(partitions) > max_partitions:
        raise PlanningError(
            f"{len(partitions)} partitions planned, more than {max_partitions}: run fewer days"
        )
    return partitions


def _total(partitions: Sequence[Partition]) -> int:
    return sum(p.expected for p in partitions)
