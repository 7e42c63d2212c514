"""Count reconciliation between Genesys Cloud and the index, and the listing of missing conversations.

Tolerance: Genesys' ``totalHits`` is approximate and keeps moving while a day is still running, so a count
comparison alone cannot prove a day complete. The rule applied here:

* an interval that is still *growing* (its end is less than ``settle`` ago, or in the future) passes when
  the index count is within ``tolerance`` (a fraction of the source count, rounded down) of the source count;
* a *closed* interval must match exactly; when the counts differ, the source ids decide: the interval
  passes only if every source id is in the index and no other id is (``totalHits`` was just approximate).

Missing ids are looked up in batches (an ``ids`` query per batch), never in one giant query.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from genesys_es.instants import parse_strict, to_iso

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

#: Ids per lookup request.
ID_BATCH_SIZE = 1000
#: An interval whose end is closer to now than this may still grow (Genesys analytics lag).
DEFAULT_SETTLE = timedelta(hours=1)


class VerificationError(Exception):
    """Raised when an index fails verification (counts, missing conversations, health or latency)."""


@dataclass
class Reconciliation:
    """Source count against index count for one interval.

    :param alias: the index or alias that was counted.
    :param start: interval start (inclusive, ISO).
    :param end: interval end (exclusive, ISO).
    :param source_count: Genesys' count for the interval.
    :param index_count: documents whose ``conversationStart`` falls in the interval.
    :param tolerance: the relative tolerance that applied (0 for a closed interval).
    :param growing: whether the interval may still grow.
    :param missing_ids: source ids not found in the index (capped by the listing limit).
    :param missing_total: how many source ids are missing in all.
    :param extra_ids: indexed ids the source did not return (capped).
    :param checked_ids: whether the ids were compared (else only counts).
    :param deadlettered: missing ids that are in the dead-letter index (refused by Elasticsearch, kept).
    """

    alias: str
    start: str
    end: str
    source_count: int
    index_count: int
    tolerance: float = 0.0
    growing: bool = False
    missing_ids: list[str] = field(default_factory=list)
    missing_total: int = 0
    extra_ids: list[str] = field(default_factory=list)
    extra_total: int = 0
    checked_ids: bool = False
    source_distinct: int | None = None
    deadlettered: int = 0

    @property
    def difference(self) -> int:
        """Return source count minus index count."""
        return self.source_count - self.index_count

    @property
    def allowed_difference(self) -> int:
        """Return the absolute difference the tolerance allows."""
        return math.floor(self.tolerance * self.source_count) if self.growing else 0

    @property
    def ok(self) -> bool:
        """Return whether the interval passes (see the module docstring for the rule)."""
        if self.checked_ids:
            return self.missing_total == self.deadlettered and self.extra_total == 0
        return abs(self.difference) <= self.allowed_difference

    def message(self) -> str:
        """Return a one-line summary with the numbers."""
        text = (
            f"{self.alias} [{self.start}, {self.end}): source {self.source_count}, indexed {self.index_count}, "
            f"difference {self.difference} (allowed {self.allowed_difference}"
            f"{', interval still growing' if self.growing else ', closed interval'})"
        )
        if self.checked_ids:
            text += (
                f"; missing {self.missing_total} ({self.deadlettered} of them dead-lettered), "
                f"unexpected {self.extra_total}"
            )
            if self.missing_ids:
                more = self.missing_total - len(self.missing_ids)
                text += f"; missing ids: {', '.join(self.missing_ids)}" + (
                    f" (+{more} more)" if more > 0 else ""
                )
            if self.extra_ids:
                more = self.extra_total - len(self.extra_ids)
                text += f"; unexpected ids: {', '.join(self.extra_ids)}" + (
                    f" (+{more} more)" if more > 0 else ""
                )
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary."""
        return {
            **asdict(self),
            "difference": self.difference,
            "allowed": self.allowed_difference,
            "ok": self.ok,
        }


def interval_query(start: datetime | str, end: datetime | str) -> dict[str, Any]:
    """Return the query for conversations that started in ``[start, end)``.

    :param start: interval start (inclusive).
    :param end: interval end (exclusive).
    """
    return {"range": {"conversationStart": {"gte": to_iso(start), "lt": to_iso(end)}}}


def is_growing(
    end: datetime | str, *, now: datetime | None = None, settle: timedelta = DEFAULT_SETTLE
) -> bool:
    """Return whether an interval ending at ``end`` may still receive conversations.

    :param end: the interval end.
    :param now: the current time (default: now, UTC).
    :param settle: how long after its end an interval is considered closed.
    """
    now = now or datetime.now(UTC)
    end_dt = parse_strict(end)
    return end_dt + settle > now


def count_indexed(es: Elasticsearch, alias: str, start: datetime | str, end: datetime | str) -> int:
    """Return how many documents in ``alias`` started in ``[start, end)``.

    :param es: the client.
    :param alias: index or alias.
    :param start: interval start.
    :param end: interval end.
    """
    return int(es.count(index=alias, query=interval_query(start, end))["count"])


def reconcile_counts(
    es: Elasticsearch,
    alias: str,
    start: datetime | str,
    end: datetime | str,
    source_count: int,
    *,
    tolerance: float = 0.0,
    growing: bool = False,
) -> Reconciliation:
    """Compare Genesys' count for ``[start, end)`` with the index's.

    :param es: the client.
    :param alias: index or alias to count.
    :param start: interval start.
    :param end: interval end.
    :param source_count: Genesys' count.
    :param tolerance: relative tolerance (0.01 = 1 % of the source count) for a growing interval.
    :param growing: whether the interval may still grow (see :func:`is_growing`); closed intervals get none.
    """
    if source_count < 0:
        raise ValueError(f"source_count must be >= 0, got {source_count}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must be a fraction in [0, 1), got {tolerance}")
    es.indices.refresh(index=alias, ignore_unavailable=True)
    return Reconciliation(
        alias=alias,
        start=to_iso(start),
        end=to_iso(end),
        source_count=int(source_count),
        index_count=count_indexed(es, alias, start, end),
        tolerance=float(tolerance),
        growing=growing,
    )


def _batches(ids: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    seen: set[str] = set()
    for raw in ids:
        cid = str(raw)
        if cid in seen:
            continue
        seen.add(cid)
        batch.append(cid)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def find_missing_ids(
    es: Elasticsearch,
    alias: str,
    source_ids: Iterable[str],
    *,
    batch_size: int = ID_BATCH_SIZE,
    refresh: bool = True,
) -> list[str]:
    """Return the ids in ``source_ids`` that have no document in ``alias``, in source order, without duplicates.

    :param es: the client.
    :param alias: index or alias (``_id`` = ``conversationId``).
    :param source_ids: conversation ids from the source (any iterable; read once, streamed in batches).
    :param batch_size: ids per ``ids`` query.
    :param refresh: refresh ``alias`` first so recent writes are searchable.
    """
    if refresh:
        es.indices.refresh(index=alias, ignore_unavailable=True)
    missing: list[str] = []
    for batch in _batches(source_ids, batch_size):
        resp = es.search(
            index=alias,
            query={"ids": {"values": batch}},
            size=len(batch),
            source=False,
            track_total_hits=False,
        )
        found = {hit["_id"] for hit in resp["hits"]["hits"]}
        missing.extend(cid for cid in batch if cid not in found)
    return missing


def count_deadlettered(es: Elasticsearch, deadletter_index: str, ids: list[str]) -> int:
    """Return how many of ``ids`` have a dead letter (a document Elasticsearch refused for good).

    :param es: the client.
    :param deadletter_index: the dead-letter index.
    :param ids: conversation ids.
    """
    found: set[str] = set()
    for batch in _batches(ids, ID_BATCH_SIZE):
        resp = es.options(ignore_status=404).search(
            index=deadletter_index,
            query={"terms": {"conversationId": batch}},
            size=0,
            aggs={"ids": {"terms": {"field": "conversationId", "size": len(batch)}}},
        )
        if resp.meta.status == 200:
            found.update(bucket["key"] for bucket in resp["aggregations"]["ids"]["buckets"])
    return len(found)


def iter_indexed_ids(
    es: Elasticsearch, alias: str, start: datetime | str, end: datetime | str, *, page_size: int = 5000
) -> Iterator[str]:
    """Yield the ids of documents that started in ``[start, end)``, paging with ``search_after``.

    :param es: the client.
    :param alias: index or alias.
    :param start: interval start.
    :param end: interval end.
    :param page_size: hits per page.
    """
    after: list[Any] | None = None
    while True:
        kwargs: dict[str, Any] = {"search_after": after} if after else {}
        resp = es.search(
            index=alias,
            query=interval_query(start, end),
            sort=[{"conversationId": "asc"}],
            size=page_size,
            source=False,
            track_total_hits=False,
            **kwargs,
        )
        hits = resp["hits"]["hits"]
        for hit in hits:
            yield hit["_id"]
        if len(hits) < page_size:
            return
        after = hits[-1]["sort"]


def verify_interval(
    es: Elasticsearch,
    alias: str,
    start: datetime | str,
    end: datetime | str,
    *,
    source_count: int,
    source_ids: Callable[[], Iterable[str]] | None,
    tolerance: float = 0.0,
    growing: bool = False,
    list_limit: int = 100,
    deadletter_index: str | None = None,
) -> Reconciliation:
    """Reconcile counts and, when they differ beyond the tolerance, compare ids with the source.

    :param es: the client.
    :param alias: index or alias.
    :param start: interval start.
    :param end: interval end.
    :param source_count: Genesys' count.
    :param source_ids: returns the source's conversation ids for the interval (called only when needed).
    :param tolerance: relative tolerance for a growing interval.
    :param growing: whether the interval may still grow.
    :param list_limit: at most this many missing (and unexpected) ids are kept in the result.
    :param deadletter_index: where refused documents are kept; missing ids found there are counted apart.
    """
    rec = reconcile_counts(es, alias, start, end, source_count, tolerance=tolerance, growing=growing)
    if rec.ok or source_ids is None:
        return rec
    seen: set[str] = set()

    def remember(ids: Iterable[str]) -> Iterator[str]:
        for cid in ids:
            seen.add(str(cid))
            yield str(cid)

    missing = find_missing_ids(es, alias, remember(source_ids()), refresh=False)
    rec.checked_ids = True
    rec.source_distinct = len(seen)
    rec.missing_total = len(missing)
    rec.missing_ids = missing[:list_limit]
    if deadletter_index and missing:
        rec.deadlettered = count_deadlettered(es, deadletter_index, missing)
    extra = [cid for cid in iter_indexed_ids(es, alias, start, end) if cid not in seen]
    rec.extra_total = len(extra)
    rec.extra_ids = extra[:list_limit]
    return rec
