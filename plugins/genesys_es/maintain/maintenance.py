"""Maintenance of the monthly conversation indices: inventory, constraint checks, planning, execution.

Planning is pure (:func:`plan_actions` takes plain inventory, disk and lease data); :func:`execute_plan`
performs the planned actions and returns one :class:`~genesys_es.maintain.audit.AuditEvent` per action.

Rules:

* only monthly indices ``<prefix>-YYYY.MM`` are considered;
* a month is *closed* once ``closed_after_days`` days of the next month have passed (late updates of
  conversations that were still open, and retries, land in the first days); the current month never is;
* an index with a live writer lease (:func:`genesys_es.load.leases.active_writer_indices`) is never touched,
  and the lease is checked again right before acting;
* constraints skip an index with the reason: red health, closed index, more shards than ``max_shards``,
  bigger than ``max_size_bytes`` (archive it instead), disk usage at or above the chosen watermark, or less
  free disk than the index size (a force-merge may rewrite the whole index);
* closed months get, in this order: force-merge to one segment per shard, refresh interval and replicas
  restored to the template's values (replicas last, so they copy the merged segments);
* before all that, any index (the current month's too) that a killed backfill writer left with bulk-time
  settings (refresh off, no replica) gets its saved settings back once every lease on it has expired
  (:func:`genesys_es.maintain.abandoned.release_abandoned`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from genesys_es.instants import now_ms
from genesys_es.maintain.audit import AuditEvent, log_events

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch
from genesys_es.maintain.inventory import WATERMARKS, DiskUsage, IndexInfo, inventory

ACTIONS = ("force_merge", "set_refresh_interval", "set_replicas")


@dataclass
class Constraints:
    """Limits checked before acting on an index.

    :param max_shards: most shard copies (primaries x (1 + replicas)) an index may have.
    :param max_size_bytes: an index bigger than this should be archived instead (None: no limit).
    :param disk_watermark: skip every action when a data node is at or above this watermark.
    :param closed_after_days: days into the next month after which a month counts as closed.
    """

    max_shards: int = 10
    max_size_bytes: int | None = 50 * 1024**3
    disk_watermark: str = "high"
    closed_after_days: int = 2

    def __post_init__(self) -> None:
        if int(self.max_shards) < 1:
            raise ValueError(f"max_shards must be >= 1, got {self.max_shards}")
        if self.max_size_bytes is not None and int(self.max_size_bytes) <= 0:
            raise ValueError(f"max_size_bytes must be positive, got {self.max_size_bytes}")
        if self.disk_watermark not in WATERMARKS:
            raise ValueError(f"disk_watermark must be one of {WATERMARKS}, got {self.disk_watermark!r}")
        if int(self.closed_after_days) < 0:
            raise ValueError(f"closed_after_days must be >= 0, got {self.closed_after_days}")


@dataclass
class PlannedAction:
    """One action (or skip) the plan decided for one index.

    :param index: the index.
    :param action: ``force_merge``, ``set_refresh_interval``, ``set_replicas`` or ``skip``.
    :param status: ``todo`` (will run), ``noop`` (nothing to do) or ``skipped`` (not allowed).
    :param reason: why.
    :param params: the action's arguments (target values).
    """

    index: str
    action: str
    status: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


def month_closes_at(month: str, closed_after_days: int) -> datetime:
    """Return when month ``YYYY.MM`` counts as closed: ``closed_after_days`` days into the next month (UTC).

    :param month: the month.
    :param closed_after_days: days into the next month before the month counts as closed.
    """
    year, mon = (int(x) for x in month.split("."))
    next_month = date(year + (mon == 12), mon % 12 + 1, 1)
    return datetime(next_month.year, next_month.month, 1, tzinfo=UTC) + timedelta(days=closed_after_days)


def is_closed_month(month: str, now: datetime, closed_after_days: int) -> bool:
    """Return whether month ``YYYY.MM`` is closed at ``now``.

    :param month: the month.
    :param now: the current time (UTC).
    :param closed_after_days: days into the next month before the month counts as closed.
    """
    return now >= month_closes_at(month, closed_after_days)


def check_constraints(info: IndexInfo, constraints: Constraints, disk: DiskUsage | None) -> list[str]:
    """Return the reasons ``info`` must not be acted on now (empty: allowed).

    :param info: the index.
    :param constraints: the limits.
    :param disk: the disk usage (None: not checked).
    """
    reasons = []
    if info.status != "open":
        reasons.append(f"index is {info.status}")
    if info.health == "red":
        reasons.append("index health is red")
    if info.total_shards > constraints.max_shards:
        reasons.append(
            f"{info.total_shards} shard copies ({info.primary_shards} primaries x {1 + info.replicas}) "
            f"exceed max_shards {constraints.max_shards}"
        )
    if constraints.max_size_bytes is not None and info.primary_size_bytes > constraints.max_size_bytes:
        reasons.append(
            f"primary size {info.primary_size_bytes / 1024**3:.2f} GiB exceeds max size "
            f"{constraints.max_size_bytes / 1024**3:.2f} GiB: archive it (snapshot, then delete) instead"
        )
    if "read_only_allow_delete" in info.blocks or "read_only" in info.blocks:
        reasons.append(f"index has write blocks {', '.join(info.blocks)}")
    if disk is not None:
        reasons.extend(disk.problems())
        if disk.nodes and disk.min_available_bytes < info.size_bytes:
            reasons.append(
                f"free disk {disk.min_available_bytes / 1024**3:.2f} GiB is less than the index size "
                f"{info.size_bytes / 1024**3:.2f} GiB a force-merge may need"
            )
    return reasons


def plan_actions(
    infos: Iterable[IndexInfo],
    *,
    now: datetime,
    active_writers: Iterable[str],
    constraints: Constraints,
    disk: DiskUsage | None,
    target_replicas: int,
    target_refresh_interval: str | None,
) -> list[PlannedAction]:
    """Return what to do with each monthly index: the three actions (todo or noop) or one skip.

    :param infos: the inventory.
    :param now: the current time (UTC).
    :param active_writers: indices with a live writer lease.
    :param constraints: the limits.
    :param disk: the disk usage.
    :param target_replicas: replicas a closed month should have.
    :param target_refresh_interval: refresh interval a closed month should have (None: the default).
    """
    writers = set(active_writers)
    plan: list[PlannedAction] = []
    for info in infos:
        if info.month is None:
            continue
        closes = month_closes_at(info.month, constraints.closed_after_days)
        if now < closes:
            reason = (
                f"month {info.month} is not closed yet: it closes on {closes:%Y-%m-%d %H:%M} UTC "
                f"(closed_after_days={constraints.closed_after_days} into the next month)"
            )
            plan.append(PlannedAction(info.name, "skip", "skipped", reason))
            continue
        if info.name in writers:
            plan.append(
                PlannedAction(info.name, "skip", "skipped", "an ingest is writing to it (writer lease)")
            )
            continue
        reasons = check_constraints(info, constraints, disk)
        if reasons:
            plan.append(PlannedAction(info.name, "skip", "skipped", "; ".join(reasons)))
            continue
        merged = info.segments <= info.primary_shards and info.deleted_docs == 0
        plan.append(
            PlannedAction(
                info.name,
                "force_merge",
                "noop" if merged else "todo",
                f"already {info.segments} segment(s) in {info.primary_shards} shard(s)"
                if merged
                else f"{info.segments} segments, {info.deleted_docs} deleted docs -> 1 segment per shard",
                {"max_num_segments": 1},
            )
        )
        same_refresh = (info.refresh_interval or None) == (target_refresh_interval or None)
        plan.append(
            PlannedAction(
                info.name,
                "set_refresh_interval",
                "noop" if same_refresh else "todo",
                f"refresh_interval {info.refresh_interval or 'default'}"
                + ("" if same_refresh else f" -> {target_refresh_interval or 'default'}"),
                {"refresh_interval": target_refresh_interval},
            )
        )
        plan.append(
            PlannedAction(
                info.name,
                "set_replicas",
                "noop" if info.replicas == target_replicas else "todo",
                f"replicas {info.replicas}"
                + ("" if info.replicas == target_replicas else f" -> {target_replicas}"),
                {"number_of_replicas": target_replicas},
            )
        )
    return plan


def format_plan(plan: Sequence[PlannedAction]) -> str:
    """Return the plan as one line per action.

    :param plan: the plan.
    """
    return "\n".join(f"{p.index:<40} {p.action:<21} {p.status:<8} {p.reason}" for p in plan) or "(nothing)"


def _run_action(es: Elasticsearch, action: PlannedAction, merge_timeout_s: float) -> None:
    if action.action == "force_merge":
        es.options(request_timeout=merge_timeout_s).indices.forcemerge(
            index=action.index, max_num_segments=1, wait_for_completion=True
        )
        es.indices.refresh(index=action.index)
    elif action.action == "set_refresh_interval":
        es.indices.put_settings(
            index=action.index, settings={"index.refresh_interval": action.params["refresh_interval"]}
        )
    elif action.action == "set_replicas":
        es.indices.put_settings(
            index=action.index, settings={"index.number_of_replicas": action.params["number_of_replicas"]}
        )
    else:
        raise ValueError(f"unknown maintenance action {action.action!r}")


def execute_plan(
    es: Elasticsearch,
    prefix: str,
    plan: Sequence[PlannedAction],
    *,
    is_writing: Callable[[str], bool] | None = None,
    merge_timeout_s: float = 3600.0,
    on_event: Callable[[AuditEvent], None] | None = None,
) -> list[AuditEvent]:
    """Perform the ``todo`` actions of ``plan`` and return one audit event per planned entry.

    A failed action is recorded as ``failed`` and the next actions still run. Before the first action on an
    index, ``is_writing`` is asked again: an ingest that started since planning turns the rest into skips.

    :param es: the client.
    :param prefix: the index prefix.
    :param plan: the plan from :func:`plan_actions`.
    :param is_writing: returns whether an index has a live writer lease now.
    :param merge_timeout_s: client timeout of one force-merge call.
    :param on_event: called with each event as soon as it exists (e.g. to log it).
    """
    events: list[AuditEvent] = []
    current: dict[str, IndexInfo] = {}
    writing: dict[str, bool] = {}

    def emit(event: AuditEvent) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    for action in plan:
        started = now_ms()
        if action.index not in current:
            found = inventory(es, prefix, [action.index])
            if found:
                current[action.index] = found[0]
        info = current.get(action.index)
        before = info.stats() if info else {}
        if action.status != "todo":
            emit(
                AuditEvent(
                    started, action.index, action.action, action.status, 0.0, before, before, action.reason
                )
            )
            continue
        if action.index not in writing:
            writing[action.index] = bool(is_writing and is_writing(action.index))
        if writing[action.index]:
            emit(
                AuditEvent(
                    started,
                    action.index,
                    action.action,
                    "skipped",
                    0.0,
                    before,
                    before,
                    "an ingest started writing to it after planning (writer lease)",
                )
            )
            continue
        began = time.monotonic()
        status, reason = "success", action.reason
        try:
            _run_action(es, action, merge_timeout_s)
        except Exception as exc:
            status, reason = "failed", f"{action.reason}: {type(exc).__name__}: {exc}"
        duration = round(time.monotonic() - began, 3)
        after_infos = inventory(es, prefix, [action.index])
        if after_infos:
            current[action.index] = after_infos[0]
        after = after_infos[0].stats() if after_infos else {}
        if status == "success" and action.action == "force_merge" and after_infos:
            a = after_infos[0]
            if a.segments > a.primary_shards:
                status, reason = "failed", f"{action.reason}: still {a.segments} segments after the merge"
        emit(AuditEvent(started, action.index, action.action, status, duration, before, after, reason))
    return events


def run_maintenance(
    es: Elasticsearch,
    prefix: str,
    constraints: Constraints,
    *,
    replicas: int | None = None,
    refresh_interval: str | None = None,
    dry_run: bool = False,
    merge_timeout_s: float = 3600,
    log: Any = None,
) -> tuple[list[IndexInfo], list[AuditEvent]]:
    """Inventory the monthly indices, plan, act on the closed months; return the inventory and the events.

    :param es: the client.
    :param prefix: the index prefix.
    :param constraints: limits checked before acting on an index.
    :param replicas: target replicas (None: the template's).
    :param refresh_interval: target refresh interval (None: the template's).
    :param dry_run: plan only; every action is reported as skipped.
    :param merge_timeout_s: how long one force-merge may take.
    :param log: where to write the inventory, the plan and each event (a logger).
    """
    from genesys_es.load.leases import active_writer_indices
    from genesys_es.maintain.abandoned import release_abandoned
    from genesys_es.maintain.inventory import disk_usage, format_inventory, target_settings

    log = log or logging.getLogger(__name__)
    released = release_abandoned(es, prefix, dry_run=dry_run)
    log_events(released, log)
    infos = inventory(es, prefix)
    log.info("Inventory of %s-*:\n%s", prefix, format_inventory(infos))
    disk = disk_usage(es, constraints.disk_watermark)
    for node in disk.nodes:
        used = 100 * (node["total_bytes"] - node["available_bytes"]) / max(1, node["total_bytes"])
        log.info(
            "Disk on %s: %.1f%% used (%s watermark %s)", node["name"], used, disk.watermark, disk.setting
        )
    targets = target_settings(es, prefix)
    targets.update(
        {k: v for k, v in (("replicas", replicas), ("refresh_interval", refresh_interval)) if v is not None}
    )
    plan = plan_actions(
        infos,
        now=datetime.now(UTC),
        active_writers=active_writer_indices(es, prefix),
        constraints=constraints,
        disk=disk,
        target_replicas=int(targets["replicas"]),
        target_refresh_interval=targets["refresh_interval"],
    )
    if dry_run:
        for action in plan:
            if action.status == "todo":
                action.status, action.reason = "skipped", f"dry run: would do {action.reason}"
    log.info("Plan (targets %s):\n%s", targets, format_plan(plan))
    events = execute_plan(
        es,
        prefix,
        plan,
        is_writing=lambda index: index in active_writer_indices(es, prefix),
        merge_timeout_s=merge_timeout_s,
        on_event=lambda event: log.info("AUDIT %s", event.line()),
    )
    return infos, released + events
