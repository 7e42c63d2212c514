"""Pure partition planning: a data interval -> sub-intervals under the pagination cap -> page ranges.

How a run's interval becomes Airflow map indexes:

1. The interval is cut at UTC midnights (the details query matches conversations by their start day).
2. Each day is counted (``count(start, end)`` is the hook's ``totalHits`` at page size 1). A slice whose count
   is above ``cap * headroom`` is cut into ``ceil(count / limit)`` slices on a one-minute grid, recursively,
   down to ``min_slice``; a slice still over the limit there raises :class:`PlanningError`.
3. Each sub-interval's pages ``1..ceil(count / page_size)`` are grouped into partitions of
   ``pages_per_partition`` pages. For a still-growing (``open_ended``) interval the last partition of each
   sub-interval has ``last_page=None`` and is read until the first short or empty page.
4. If that makes more than ``max_partitions`` partitions, ``pages_per_partition`` grows until it fits.
5. Otherwise, with ``parallelism`` tasks at once, ``pages_per_partition`` shrinks as far as the same number
   of waves allows (not below ``MIN_BALANCED_PAGES``), so the last wave of tasks is as full as the others.

A query for a slice also returns conversations that started earlier on the same day and still overlap the
slice. A conversation belongs only to the partition whose sub-interval contains its ``conversationStart``
(:func:`belongs_to`); other slices skip it, so every conversation is indexed by exactly one slice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from genesys_es.exceptions import PlanningError
from genesys_es.extract.models import MAX_PAGE_SIZE, PAGINATION_CAP
from genesys_es.instants import as_utc, parse_strict

CountFn = Callable[[datetime, datetime], int]

DEFAULT_MIN_SLICE = timedelta(minutes=1)
#: Pages one partition task reads by default: 5,000 conversations, so a task's fixed cost (start-up,
#: writer lease, token) is small beside its work; a retry re-reads at most that much.
DEFAULT_PAGES_PER_PARTITION = 50
#: Fewest pages per partition when partitions are evened out over the running tasks.
MIN_BALANCED_PAGES = 5


@dataclass(frozen=True)
class SubInterval:
    """A slice ``[start, end)`` of the run's interval and its ``totalHits`` at planning time."""

    start: datetime
    end: datetime
    count: int


@dataclass(frozen=True)
class Partition:
    """A page range of one sub-interval: the unit of work of one mapped task.

    :param start: sub-interval start (UTC, inclusive).
    :param end: sub-interval end (UTC, exclusive).
    :param first_page: first page to read (from 1).
    :param last_page: last page to read, or None to read until the first short or empty page.
    :param page_size: results per page.
    :param expected: results the page range held when it was planned.
    :param path: ``sync`` (pages of the details query) or ``jobs`` (a details job's results by cursor).
    """

    start: datetime
    end: datetime
    first_page: int
    last_page: int | None
    page_size: int
    expected: int
    label: str = field(default="", compare=False)
    path: Literal["sync", "jobs"] = "sync"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.start >= self.end:
            raise ValueError(f"partition start {self.start} must be before its end {self.end}")
        if self.first_page < 1 or (self.last_page is not None and self.last_page < self.first_page):
            raise ValueError(f"bad page range {self.first_page}..{self.last_page}")
        if self.path not in ("sync", "jobs"):
            raise ValueError(f"partition path must be 'sync' or 'jobs', got {self.path!r}")
        if not self.label:
            pages = None if self.path == "sync" else "jobs"
            object.__setattr__(
                self, "label", make_label(self.start, self.end, self.first_page, self.last_page, pages)
            )

    @property
    def open_ended(self) -> bool:
        """Return True when the partition reads until the first short or empty page."""
        return self.last_page is None

    @property
    def pages(self) -> int | None:
        """Return the number of pages of a closed partition (None when open-ended)."""
        return None if self.last_page is None else self.last_page - self.first_page + 1

    def to_xcom(self) -> dict[str, Any]:
        """Return the small JSON-able dict passed between tasks (shape in docs/ARCHITECTURE.md)."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "first_page": self.first_page,
            "last_page": self.last_page,
            "page_size": self.page_size,
            "expected": self.expected,
            "label": self.label,
            "path": self.path,
        }

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> Partition:
        """Rebuild a partition from :meth:`to_xcom`'s dict.

        :param data: the dict, e.g. a mapped task's argument.
        """
        try:
            return cls(
                start=parse_strict(data["start"]),
                end=parse_strict(data["end"]),
                first_page=int(data["first_page"]),
                last_page=None if data.get("last_page") is None else int(data["last_page"]),
                page_size=int(data["page_size"]),
                expected=int(data.get("expected", 0)),
                label=str(data.get("label") or ""),
                path=data.get("path", "sync"),
            )
        except KeyError as err:
            raise ValueError(f"partition dict lacks {err.args[0]!r}: {dict(data)!r}") from None


def make_label(
    start: datetime, end: datetime, first_page: int, last_page: int | None, pages: str | None = None
) -> str:
    """Return a readable label such as ``2024-03-01 09:00-12:00 p1-20`` (``p7`` for one page, ``p21+`` open-ended).

    :param start: sub-interval start.
    :param end: sub-interval end.
    :param first_page: first page.
    :param last_page: last page or None.
    :param pages: the label's last word instead of the page range (``jobs`` for a job's slice).
    """
    start, end = as_utc(start), as_utc(end)
    fmt = "%H:%M" if start.second == 0 and end.second == 0 else "%H:%M:%S"
    if end - start <= timedelta(days=1) and end.date() > start.date() and end.time() == datetime.min.time():
        end_text = "24:00" if fmt == "%H:%M" else "24:00:00"
    elif end.date() == start.date():
        end_text = end.strftime(fmt)
    else:
        end_text = end.strftime(f"%Y-%m-%d {fmt}")
    if pages is None and last_page is None:
        pages = f"p{first_page}+"
    elif pages is None:
        pages = f"p{first_page}" if last_page == first_page else f"p{first_page}-{last_page}"
    return f"{start.strftime('%Y-%m-%d')} {start.strftime(fmt)}-{end_text} {pages}"


def split_days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Cut ``[start, end)`` at UTC midnights.

    :param start: interval start.
    :param end: interval end.
    """
    start, end = as_utc(start), as_utc(end)
    if start >= end:
        raise ValueError(f"interval start {start.isoformat()} must be before its end {end.isoformat()}")
    pieces = []
    cursor = start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), cursor.tzinfo)
        nxt = min(midnight, end)
        pieces.append((cursor, nxt))
        cursor = nxt
    return pieces


def cut_points(start: datetime, end: datetime, pieces: int, grain: timedelta) -> list[datetime]:
    """Return up to ``pieces - 1`` cut points strictly inside ``(start, end)`` on an absolute ``grain`` grid."""
    epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
    points: list[datetime] = []
    span = end - start
    for i in range(1, pieces):
        t = start + span * i / pieces
        t = epoch + ((t - epoch) // grain) * grain
        if start < t < end and (not points or t > points[-1]):
            points.append(t)
    if not points:
        # The even cuts all rounded onto the start: take the first grid point inside instead.
        t = epoch + ((start - epoch) // grain + 1) * grain
        if start < t < end:
            points.append(t)
    return points


def plan_intervals(
    start: datetime,
    end: datetime,
    count: CountFn,
    *,
    limit: int,
    min_slice: timedelta = DEFAULT_MIN_SLICE,
) -> list[SubInterval]:
    """Cut ``[start, end)`` into day-bounded sub-intervals whose counts are at most ``limit``.

    :param start: interval start.
    :param end: interval end.
    :param count: returns ``totalHits`` for a sub-interval (the hook's ``count``).
    :param limit: the largest count a sub-interval may have.
    :param min_slice: the shortest sub-interval (and the grid the cuts are aligned to).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if min_slice <= timedelta(0):
        raise ValueError("min_slice must be positive")
    result: list[SubInterval] = []

    def split(s: datetime, e: datetime, n: int) -> None:
        if n <= limit:
            result.append(SubInterval(s, e, n))
            return
        points = cut_points(s, e, max(2, math.ceil(n / limit)), min_slice) if e - s > min_slice else []
        if not points:
            raise PlanningError(
                f"{n} conversations in {s.isoformat()}..{e.isoformat()} exceed the per-interval limit of "
                f"{limit} even at the smallest slice ({min_slice}); raise the cap headroom or use the jobs API"
            )
        bounds = [s, *points, e]
        for a, b in pairwise(bounds):
            split(a, b, int(count(a, b)))

    for day_start, day_end in split_days(start, end):
        split(day_start, day_end, int(count(day_start, day_end)))
    return result


def _page_ranges(pages: int, per: int, open_ended: bool) -> list[tuple[int, int | None]]:
    """Group pages ``1..pages`` into ranges of ``per``; the last is open when ``open_ended``."""
    ranges: list[tuple[int, int | None]] = [
        (first, min(first + per - 1, pages)) for first in range(1, pages + 1, per)
    ]
    if open_ended:
        if ranges:
            ranges[-1] = (ranges[-1][0], None)
        else:
            ranges.append((1, None))
    return ranges


def partition_intervals(
    intervals: list[SubInterval],
    *,
    page_size: int = 100,
    pages_per_partition: int = DEFAULT_PAGES_PER_PARTITION,
    open_ended: bool = False,
    max_partitions: int = 1024,
    parallelism: int = 1,
) -> list[Partition]:
    """Turn counted sub-intervals into page-range partitions, at most ``max_partitions`` of them.

    With ``parallelism`` tasks running at once the partitions run in waves; the pages per partition are
    then lowered (never raised) as far as the same number of waves allows, so the last wave is as full as
    the others instead of one task reading its pages while the other slots idle. Partitions are not
    made smaller than ``MIN_BALANCED_PAGES`` this way (a task's own start-up would outweigh its work).

    :param intervals: sub-intervals from :func:`plan_intervals`.
    :param page_size: results per page (1..100).
    :param pages_per_partition: most pages per partition; grown when needed to stay within ``max_partitions``.
    :param open_ended: True for an interval still growing: each sub-interval's last partition is open.
    :param max_partitions: the most partitions allowed (Airflow's ``max_map_length``, 1024 by default).
    :param parallelism: partition tasks running at once (the DAG's ``max_active_partitions``).
    """
    if parallelism < 1:
        raise ValueError(f"parallelism must be at least 1, got {parallelism}")
    pages = [math.ceil(iv.count / page_size) for iv in intervals]

    def total(per: int) -> int:
        return sum(len(_page_ranges(p, per, open_ended)) for p in pages)

    def fewest_pages(lo: int, hi: int, limit: int) -> int:
        """Return the smallest pages-per-partition in ``[lo, hi]`` making at most ``limit`` partitions."""
        while lo < hi:  # total() is non-increasing in pages per partition
            mid = (lo + hi) // 2
            if total(mid) <= limit:
                hi = mid
            else:
                lo = mid + 1
        return lo

    per = pages_per_partition
    if total(per) > max_partitions:
        floor_total = total(max(pages, default=1) or 1)
        if floor_total > max_partitions:
            raise PlanningError(
                f"{len(intervals)} sub-intervals need at least {floor_total} partitions, more than "
                f"max_partitions={max_partitions}; plan a shorter date range per run"
            )
        per = fewest_pages(per, max(pages), max_partitions)
    elif parallelism > 1 and pages:
        # Fewest pages per partition that still fits the same number of waves.
        waves = math.ceil(total(per) / parallelism)
        per = fewest_pages(min(per, MIN_BALANCED_PAGES), per, min(max_partitions, waves * parallelism))
    partitions: list[Partition] = []
    for iv, n_pages in zip(intervals, pages, strict=True):
        for first, last in _page_ranges(n_pages, per, open_ended):
            upto = iv.count if last is None else min(last * page_size, iv.count)
            partitions.append(
                Partition(
                    start=iv.start,
                    end=iv.end,
                    first_page=first,
                    last_page=last,
                    page_size=page_size,
                    expected=max(0, upto - (first - 1) * page_size),
                )
            )
    return partitions


def plan_partitions(
    start: datetime,
    end: datetime,
    count: CountFn,
    *,
    page_size: int = 100,
    pages_per_partition: int = DEFAULT_PAGES_PER_PARTITION,
    cap: int = PAGINATION_CAP,
    headroom: float = 0.9,
    open_ended: bool = False,
    max_partitions: int = 1024,
    min_slice: timedelta = DEFAULT_MIN_SLICE,
    parallelism: int = 1,
) -> list[Partition]:
    """Plan ``[start, end)`` into partitions that together read every page of every sub-interval once.

    A closed interval with no conversations yields no partitions; an open-ended one always yields at least
    one open partition per sub-interval to collect what arrives.

    :param start: interval start (naive means UTC).
    :param end: interval end, exclusive.
    :param count: returns ``totalHits`` for ``(start, end)``; ``GenesysCloudHook.count`` fits.
    :param page_size: results per page (1..100).
    :param pages_per_partition: pages one mapped task reads.
    :param cap: the API's pagination cap (``pageNumber * pageSize`` may not exceed it).
    :param headroom: fraction of the cap a sub-interval may fill at planning time (room for growth/drift).
    :param open_ended: the interval still grows (today): last partitions read until the first empty page.
    :param max_partitions: most partitions allowed (Airflow's ``max_map_length``).
    :param min_slice: shortest sub-interval before giving up.
    :param parallelism: partition tasks running at once; partitions are evened out so every wave is full.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    if pages_per_partition < 1:
        raise ValueError(f"pages_per_partition must be at least 1, got {pages_per_partition}")
    if cap < page_size:
        raise ValueError(f"cap ({cap}) must be at least one page ({page_size})")
    if not 0 < headroom <= 1:
        raise ValueError(f"headroom must be in (0, 1], got {headroom}")
    if max_partitions < 1:
        raise ValueError(f"max_partitions must be at least 1, got {max_partitions}")
    # The last page of a sub-interval must itself stay within the cap.
    limit = min(int(cap * headroom), (cap // page_size) * page_size)
    intervals = plan_intervals(start, end, count, limit=max(1, limit), min_slice=min_slice)
    return partition_intervals(
        intervals,
        page_size=page_size,
        pages_per_partition=pages_per_partition,
        open_ended=open_ended,
        max_partitions=max_partitions,
        parallelism=parallelism,
    )


def _bounds(partition: Partition | Mapping[str, Any]) -> tuple[datetime, datetime]:
    if isinstance(partition, Partition):
        return partition.start, partition.end
    return parse_strict(partition["start"]), as_utc(parse_strict(partition["end"]))


def belongs_to(conversation: Mapping[str, Any], partition: Partition | Mapping[str, Any]) -> bool:
    """Return True when the conversation started inside the partition's sub-interval ``[start, end)``.

    A slice query also returns conversations that started earlier the same day and overlap the slice;
    those belong to the slice holding their start, which indexes them, so each is indexed once.

    :param conversation: a conversation dict from the details query.
    :param partition: a :class:`Partition` or its XCom dict.
    """
    start, end = _bounds(partition)
    started = parse_strict(conversation["conversationStart"])
    return start <= started < end
