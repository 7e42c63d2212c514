"""Validated settings of one ingest run, built from the DAG's params and data interval."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from genesys_es.extract.planning import DEFAULT_PAGES_PER_PARTITION
from genesys_es.load.index_setup import validate_prefix

MAX_RANGE_DAYS = 31

#: Every param the ingest DAG declares; anything else in a run's conf is refused (a misspelling).
KNOWN_PARAMS: frozenset[str] = frozenset(
    {
        "date_from",
        "date_to",
        "mode",
        "pii",
        "page_size",
        "pages_per_partition",
        "dry_run",
        "deadletter_threshold",
        "refresh_open_days",
        "index_prefix",
        "latency_target_p95_ms",
        "path",
    }
)
#: A drill param, accepted only where ``[genesys_es] allow_drills`` is on (tests): labels of partitions
#: whose first try fails on purpose, to practise partition retries. Not a field of the trigger form.
DRILL_PARAM = "chaos_fail_partitions"

Mode = Literal["upsert", "rebuild"]
PiiMode = Literal["hash", "drop", "keep"]
ReadPath = Literal["sync", "jobs"]


class RunConfigError(ValueError):
    """Raised when the params of a run are invalid; the message lists every problem."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs to know, checked once before any work."""

    days: tuple[str, ...]
    index_prefix: str = "genesys-conversations"
    page_size: int = 100
    pages_per_partition: int = DEFAULT_PAGES_PER_PARTITION
    mode: Mode = "upsert"
    pii: PiiMode = "drop"
    dry_run: bool = False
    deadletter_threshold: int = 0
    refresh_open_days: int = 3
    path: ReadPath = "sync"
    chaos_fail_partitions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def start(self) -> datetime:
        """Return the start (UTC midnight) of the first day."""
        return _midnight(date.fromisoformat(self.days[0]))

    @property
    def end(self) -> datetime:
        """Return the end (exclusive UTC midnight) of the last day."""
        return _midnight(date.fromisoformat(self.days[-1])) + timedelta(days=1)

    def to_xcom(self) -> dict[str, Any]:
        """Return a JSON-serializable dict."""
        d = asdict(self)
        d["days"] = list(self.days)
        d["chaos_fail_partitions"] = list(self.chaos_fail_partitions)
        # Convenience for templated downstream fields; ignored by from_xcom.
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        return d

    @classmethod
    def from_xcom(cls, d: dict[str, Any]) -> RunConfig:
        """Rebuild a config from :meth:`to_xcom` output."""
        d = {k: v for k, v in d.items() if k not in ("start", "end")}
        return cls(
            **{
                **d,
                "days": tuple(d["days"]),
                "chaos_fail_partitions": tuple(d.get("chaos_fail_partitions") or ()),
            }
        )


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _as_date(value: Any, name: str, errors: list[str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.append(f"{name} must be a date like 2024-03-01, got {value!r}")
        return None


def _as_int(params: dict[str, Any], name: str, default: int, low: int, high: int, errors: list[str]) -> int:
    value = params.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            errors.append(f"{name} must be an integer from {low} to {high}, got {value!r}")
            return default
    if not low <= value <= high:
        errors.append(f"{name} must be from {low} to {high}, got {value}")
    return value


def build_run_config(
    params: dict[str, Any],
    logical_date: datetime | None,
    *,
    now: datetime | None = None,
    allow_drills: bool = False,
) -> RunConfig:
    """Validate the run's params and resolve the UTC days it covers.

    The one rule (README, DAG docs): a run owns the UTC day of its logical date, ``[D, D+1)``, whether
    the scheduler, a manual trigger, ``airflow dags test`` or ``airflow backfill create`` made it; a run
    without a logical date owns the day it was triggered. ``date_from``/``date_to`` replace that day
    with every day from ``date_from`` to ``date_to`` inclusive.

    :param params: the DAG run's params (from the trigger form or the DAG defaults).
    :param logical_date: the run's logical date (or, when it has none, when it was triggered).
    :param now: the current time (for tests).
    :param allow_drills: accept :data:`DRILL_PARAM` (``[genesys_es] allow_drills``; tests only).
    """
    errors: list[str] = []
    now = now or datetime.now(UTC)
    known = KNOWN_PARAMS | {DRILL_PARAM} if allow_drills else KNOWN_PARAMS
    unknown = sorted(str(name) for name in params if name not in known)
    if unknown:
        errors.append(
            f"unknown param(s) {', '.join(map(repr, unknown))}; the known ones are "
            + ", ".join(sorted(known))
        )
    date_from = _as_date(params.get("date_from"), "date_from", errors)
    date_to = _as_date(params.get("date_to"), "date_to", errors)
    if (date_from is None) != (date_to is None) and not errors:
        errors.append("give both date_from and date_to, or neither (to index the run's own day)")
    if date_from is None and date_to is None and not errors:
        if logical_date is None:
            errors.append("the run has no logical date: give date_from and date_to")
        else:
            date_from = date_to = logical_date.astimezone(UTC).date()
    if date_from and date_to:
        if date_to < date_from:
            errors.append(f"date_to ({date_to}) is before date_from ({date_from})")
        elif (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            errors.append(
                f"a run covers at most {MAX_RANGE_DAYS} days; split {date_from}..{date_to} into smaller runs"
            )
        if date_from > now.date():
            errors.append(f"date_from ({date_from}) is in the future")
    prefix = str(params.get("index_prefix") or "genesys-conversations")
    try:
        validate_prefix(prefix)
    except ValueError as err:
        errors.append(f"index_prefix: {err}")
    mode = params.get("mode") or "upsert"
    if mode not in ("upsert", "rebuild"):
        errors.append(f"mode must be 'upsert' or 'rebuild', got {mode!r}")
    pii = params.get("pii") or "drop"
    if pii not in ("hash", "drop", "keep"):
        errors.append(f"pii must be 'hash', 'drop' or 'keep', got {pii!r}")
    path = params.get("path") or "sync"
    if path not in ("sync", "jobs"):
        errors.append(f"path must be 'sync' (details query) or 'jobs' (jobs API, for history), got {path!r}")
    page_size = _as_int(params, "page_size", 100, 1, 100, errors)
    pages_per_partition = _as_int(params, "pages_per_partition", DEFAULT_PAGES_PER_PARTITION, 1, 1000, errors)
    threshold = _as_int(params, "deadletter_threshold", 0, 0, 10_000_000, errors)
    refresh_open_days = _as_int(params, "refresh_open_days", 3, 0, 31, errors)
    dry_run = False if params.get("dry_run") is None else params["dry_run"]
    if not isinstance(dry_run, bool):
        errors.append(f"dry_run must be true or false, got {dry_run!r}")
    chaos = params.get("chaos_fail_partitions") or []
    if not isinstance(chaos, list | tuple) or not all(isinstance(x, str) for x in chaos):
        errors.append("chaos_fail_partitions must be a list of partition labels")
        chaos = []
    if errors:
        raise RunConfigError("invalid run params: " + "; ".join(errors))
    assert date_from is not None and date_to is not None
    days = tuple((date_from + timedelta(days=i)).isoformat() for i in range((date_to - date_from).days + 1))
    return RunConfig(
        days=days,
        index_prefix=prefix,
        page_size=page_size,
        pages_per_partition=pages_per_partition,
        mode=mode,
        pii=pii,
        dry_run=bool(dry_run),
        deadletter_threshold=threshold,
        refresh_open_days=refresh_open_days,
        path=path,
        chaos_fail_partitions=tuple(chaos),
    )
