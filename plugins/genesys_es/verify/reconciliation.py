"""Per-day reconciliation against Genesys: check a UTC day, fetch what is missing, record the result.

Each check of a day is recorded in ``<prefix>-reconciliation`` (``_id`` = the day): Genesys total,
indexed, missing, dead-lettered, whether the day is *settled* and when it was checked. A day checked
while it may still grow passes within a tolerance but is never settled: a later run checks it again once
Genesys has settled, with zero tolerance and the ids compared, fetches and indexes any conversation still
missing, and marks the day settled. Counting and id listing go per day and per sub-interval under the
pagination cap, so any day of any range can be checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from genesys_es.extract.models import PAGINATION_CAP
from genesys_es.extract.planning import plan_intervals
from genesys_es.instants import now_ms, to_iso
from genesys_es.load.index_setup import create_if_missing, deadletter_index, load_template, validate_prefix
from genesys_es.verify.counts import Reconciliation, find_missing_ids, is_growing, verify_interval

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

#: Earlier days a run looks back over for days still waiting for their settled check.
DEFAULT_SETTLE_LOOKBACK_DAYS = 7
#: Sub-intervals whose ids are listed stay this far under the pagination cap (room for drift).
ID_LISTING_LIMIT = int(PAGINATION_CAP * 0.9)


class DaySource(Protocol):
    """What listing a day's ids needs from Genesys (``extract.paging.ConversationPager`` fits)."""

    def count(self, start: datetime, end: datetime) -> int: ...

    def iter_pages(self, start: datetime, end: datetime) -> Iterable[Any]: ...


def reconciliation_index(prefix: str) -> str:
    """Return the reconciliation index name for a prefix.

    :param prefix: the index-name prefix.
    """
    return f"{validate_prefix(prefix)}-reconciliation"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return ``[start, end)`` of a UTC day.

    :param day: the day.
    """
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def source_ids(source: DaySource, start: datetime, end: datetime) -> Iterator[str]:
    """Yield the ids of conversations that started in ``[start, end)``, read per sub-interval under the cap.

    :param source: Genesys.
    :param start: interval start.
    :param end: interval end.
    """
    for part in plan_intervals(start, end, source.count, limit=ID_LISTING_LIMIT):
        lo, hi = to_iso(part.start), to_iso(part.end)
        for page in source.iter_pages(part.start, part.end):
            for conversation in page.conversations or []:
                began = conversation.get("conversationStart")
                if conversation.get("conversationId") and (began is None or lo <= to_iso(began) < hi):
                    yield str(conversation["conversationId"])


@dataclass
class DayCheck:
    """The outcome of one day's check: the reconciliation, and how many conversations it fetched."""

    day: date
    reconciliation: Reconciliation
    settled: bool
    repaired: int = 0

    @property
    def ok(self) -> bool:
        """Return whether the day passed."""
        return self.reconciliation.ok

    def row(self) -> dict[str, Any]:
        """Return the day as a small dict (the reconciliation document, the XCom summary's row)."""
        rec = self.reconciliation
        return {
            "day": self.day.isoformat(),
            "genesysTotal": rec.source_count,
            "indexed": rec.index_count,
            "missing": rec.missing_total - rec.deadlettered if rec.checked_ids else max(rec.difference, 0),
            "deadlettered": rec.deadlettered,
            "unexpected": rec.extra_total,
            "repaired": self.repaired,
            "settled": self.settled,
            "ok": rec.ok,
            "growing": rec.growing,
            "idsCompared": rec.checked_ids,
        }


def check_day(
    es: Elasticsearch,
    prefix: str,
    day: date,
    *,
    count: Callable[[datetime, datetime], int],
    ids: Callable[[datetime, datetime], Iterable[str]],
    repair: Callable[[list[str], datetime, datetime], int] | None,
    now: datetime | None = None,
    settle: timedelta = timedelta(hours=1),
    tolerance: float = 0.01,
    list_limit: int = 100,
) -> DayCheck:
    """Check one UTC day; a settled day is compared by id and its missing conversations fetched first.

    :param es: the client.
    :param prefix: the index prefix (the read alias).
    :param day: the UTC day.
    :param count: Genesys' count for an interval.
    :param ids: Genesys' conversation ids for an interval (see :func:`source_ids`).
    :param repair: fetches and indexes conversations by id, returns how many it indexed (None: never).
    :param now: the current time.
    :param settle: a day whose end is closer to now than this may still grow.
    :param tolerance: relative tolerance while the day may still grow.
    :param list_limit: at most this many missing ids are listed.
    """
    start, end = day_bounds(day)
    growing = is_growing(end, now=now, settle=settle)

    def run() -> Reconciliation:
        return verify_interval(
            es,
            prefix,
            start,
            end,
            source_count=count(start, end),
            source_ids=lambda: ids(start, end),
            tolerance=tolerance if growing else 0.0,
            growing=growing,
            list_limit=list_limit,
            deadletter_index=deadletter_index(prefix),
        )

    rec = run()
    repaired = 0
    if not growing and not rec.ok and repair is not None and rec.missing_total > rec.deadlettered:
        # The reconciliation lists at most list_limit ids: list them all for the fetch when there are more.
        missing = (
            rec.missing_ids
            if rec.missing_total <= len(rec.missing_ids)
            else find_missing_ids(es, prefix, ids(start, end))
        )
        log.info("%s: fetching %d missing conversation(s) from Genesys", day, len(missing))
        repaired = repair(missing, start, end)
        rec = run()
    return DayCheck(day=day, reconciliation=rec, settled=not growing and rec.ok, repaired=repaired)


def record(es: Elasticsearch, prefix: str, check: DayCheck, run_id: str | None) -> None:
    """Store a day's check in the reconciliation index (one document per day, the latest check).

    :param es: the client.
    :param prefix: the index prefix.
    :param check: the day's check.
    :param run_id: the Airflow run that checked it.
    """
    index = reconciliation_index(prefix)
    create_if_missing(es, index, load_template("reconciliation", prefix))
    document = {**check.row(), "checkedAt": now_ms(), "runId": run_id}
    es.index(index=index, id=check.day.isoformat(), document=document, refresh=True)


def days_due(
    es: Elasticsearch,
    prefix: str,
    before: date,
    *,
    now: datetime | None = None,
    settle: timedelta = timedelta(hours=1),
    lookback_days: int = DEFAULT_SETTLE_LOOKBACK_DAYS,
) -> list[date]:
    """Return the recorded days before ``before`` (within the lookback) not settled yet but settled now.

    :param es: the client.
    :param prefix: the index prefix.
    :param before: the first day of the run (days before it are looked at).
    :param now: the current time.
    :param settle: how long after its end a day has settled.
    :param lookback_days: how many days back to look.
    """
    now = now or datetime.now(UTC)
    first = before - timedelta(days=lookback_days)
    resp = es.options(ignore_status=404).search(
        index=reconciliation_index(prefix),
        query={
            "bool": {
                "filter": [
                    {"term": {"settled": False}},
                    {"range": {"day": {"gte": first.isoformat(), "lt": before.isoformat()}}},
                ]
            }
        },
        size=lookback_days,
        source=["day"],
        sort=[{"day": "asc"}],
    )
    if resp.meta.status == 404:
        return []
    days = [date.fromisoformat(hit["_source"]["day"]) for hit in resp["hits"]["hits"]]
    return [day for day in days if not is_growing(day_bounds(day)[1], now=now, settle=settle)]


def table(checks: Iterable[DayCheck]) -> str:
    """Return the checks as a plain-text table for the task log.

    :param checks: day checks.
    """
    header = (
        f"{'day':<10}  {'genesys':>8}  {'indexed':>8}  {'missing':>7}  {'deadlet.':>8}  {'fetched':>7}  state"
    )
    lines = [header]
    for check in checks:
        row = check.row()
        state = "settled" if check.settled else ("ok, still growing" if check.ok else "FAILED")
        lines.append(
            f"{row['day']:<10}  {row['genesysTotal']:>8}  {row['indexed']:>8}  {row['missing']:>7}  "
            f"{row['deadlettered']:>8}  {row['repaired']:>7}  {state}"
        )
    return "\n".join(lines)
