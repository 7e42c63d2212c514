"""Which days of a run the jobs API serves, and their slices (one job each).

A run with ``path=jobs`` reads every day that ends at or before the jobs API's ``dataAvailabilityDate``
through details jobs; later days (job data lags real time) go through the synchronous details query, so a
range that straddles the date is split. A job's results are read by cursor, so its slice is not bound by
the 100,000-result cap: a day becomes several slices only to let several tasks read and index at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from genesys_es.exceptions import PlanningError
from genesys_es.extract.planning import (
    DEFAULT_PAGES_PER_PARTITION,
    CountFn,
    Partition,
    plan_intervals,
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
    """Plan one UTC day into about ``slices`` job slices of about equal conversation counts.

    :param day: the day's start (UTC midnight).
    :param count: returns ``totalHits`` for ``(start, end)`` (``ConversationPager.count``).
    :param slices: the most slices wanted (the tasks that may read this day at once).
    :param min_slice_conversations: no slice is planned for fewer conversations than this.
    """
    if slices < 1:
        raise ValueError(f"slices must be at least 1, got {slices}")
    start = as_utc(day)
    end = start + timedelta(days=1)
    total = count(start, end)
    wanted = max(1, min(slices, total // max(1, min_slice_conversations)))
    if wanted == 1:
        intervals = [(start, end, total)]
    else:
        cut = plan_intervals(start, end, count, limit=math.ceil(total / wanted))
        intervals = [(s.start, s.end, s.count) for s in cut]
    return [
        Partition(start=s, end=e, first_page=1, last_page=None, page_size=1000, expected=n, path="jobs")
        for s, e, n in intervals
    ]


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
