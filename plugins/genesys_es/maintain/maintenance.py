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
  restored to the template's values (replicas last, so they copy the merged segments).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from genesys_es.instants import now_ms
from genesys_es.maintain.audit import AuditEvent

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

ACTIONS = ("force_merge", "set_refresh_interval", "set_replicas")
WATERMARKS = ("low", "high", "flood_stage")
_SIZE = re.compile(r"^\s*([\d.]+)\s*([kmgtp]?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
_UNITS |= {"t": 1024**4, "tb": 1024**4, "p": 1024**5, "pb": 1024**5}


@dataclass
class IndexInfo:
    """Inventory of one monthly index.

    :param name: the index name.
    :param month: ``YYYY.MM`` when the name is a monthly index, else None.
    """

    name: str
    month: str | None
    health: str  # docs: conversations (top-level documents); deleted_docs: Lucene documents
    status: str
    primary_shards: int
    replicas: int
    docs: int
    deleted_docs: int
    size_bytes: int
    primary_size_bytes: int
    segments: int
    refresh_interval: str | None = None
    blocks: list[str] = field(default_factory=list)

    @property
    def total_shards(self) -> int:
        """Return primaries plus replica copies."""
        return self.primary_shards * (1 + self.replicas)

    def stats(self) -> dict[str, Any]:
        """Return the before/after stats recorded in audit events."""
        return {
            "segments": self.segments,
            "size_bytes": self.size_bytes,
            "docs": self.docs,
            "deleted_docs": self.deleted_docs,
            "replicas": self.replicas,
            "refresh_interval": self.refresh_interval,
            "health": self.health,
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return asdict(self)


@dataclass
class DiskUsage:
    """Disk use of the data nodes against the cluster's watermark of choice.

    :param nodes: per node ``{"name", "total_bytes", "available_bytes", "threshold_bytes"}`` where the
        threshold is the used-bytes level of the watermark.
    :param watermark: which watermark (``low``, ``high``, ``flood_stage``).
    :param setting: the watermark setting's value.
    """

    nodes: list[dict[str, Any]]
    watermark: str = "high"
    setting: str = ""

    @property
    def min_available_bytes(self) -> int:
        """Return the smallest free space of any data node (0 when unknown)."""
        return min((int(n["available_bytes"]) for n in self.nodes), default=0)

    def problems(self) -> list[str]:
        """Return the nodes at or above the watermark, as reasons."""
        out = []
        for node in self.nodes:
            used = int(node["total_bytes"]) - int(node["available_bytes"])
            if used >= int(node["threshold_bytes"]):
                pct = 100 * used / max(1, int(node["total_bytes"]))
                out.append(
                    f"disk on node {node['name']} is {pct:.1f}% used, at or above the {self.watermark} "
                    f"watermark ({self.setting})"
                )
        return out


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


def parse_bytes(value: str | int | float) -> int:
    """Return a byte count from ``500mb``, ``20GB``, ``1024`` or a number.

    :param value: the size.
    """
    if isinstance(value, int | float):
        return int(value)
    match = _SIZE.match(str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a byte size: {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def watermark_threshold(value: str, total_bytes: int, max_headroom: str | None = None) -> int:
    """Return the used-bytes level a watermark setting means on a disk of ``total_bytes``.

    Percentages and ratios are of used space; absolute sizes are of *free* space (Elasticsearch's rule).
    A percentage with ``max_headroom`` never requires more free space than the headroom.

    :param value: the setting, e.g. ``90%``, ``0.9`` or ``50gb``.
    :param total_bytes: the disk size.
    :param max_headroom: the matching ``*.max_headroom`` setting, if any.
    """
    text = str(value).strip()
    ratio: float | None = None
    if text.endswith("%"):
        ratio = float(text[:-1]) / 100
    else:
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and number <= 1:
            ratio = number
    if ratio is None:
        return max(0, total_bytes - parse_bytes(text))
    free_needed = total_bytes * (1 - ratio)
    if max_headroom and str(max_headroom) not in ("-1", ""):
        free_needed = min(free_needed, parse_bytes(max_headroom))
    return int(total_bytes - free_needed)


def disk_usage(es: Elasticsearch, watermark: str = "high") -> DiskUsage:
    """Return the data nodes' disk use (``_nodes/stats`` fs) and the watermark from the cluster settings.

    :param es: the client.
    :param watermark: ``low``, ``high`` or ``flood_stage``.
    """
    if watermark not in WATERMARKS:
        raise ValueError(f"watermark must be one of {WATERMARKS}, got {watermark!r}")
    settings = es.cluster.get_settings(include_defaults=True, flat_settings=True)
    key = f"cluster.routing.allocation.disk.watermark.{watermark}"

    def setting(name: str) -> str | None:
        for level in ("transient", "persistent", "defaults"):
            if name in settings.get(level, {}):
                return str(settings[level][name])
        return None

    value = setting(key) or {"low": "85%", "high": "90%", "flood_stage": "95%"}[watermark]
    headroom = setting(f"{key}.max_headroom")
    stats = es.nodes.stats(metric="fs")
    nodes = []
    for node in stats.get("nodes", {}).values():
        roles = node.get("roles") or ["data"]
        if not any(r.startswith("data") for r in roles):
            continue
        total = int(node.get("fs", {}).get("total", {}).get("total_in_bytes", 0))
        available = int(node.get("fs", {}).get("total", {}).get("available_in_bytes", 0))
        nodes.append(
            {
                "name": node.get("name"),
                "total_bytes": total,
                "available_bytes": available,
                "threshold_bytes": watermark_threshold(value, total, headroom),
            }
        )
    return DiskUsage(nodes=nodes, watermark=watermark, setting=value)


def month_of(name: str, prefix: str) -> str | None:
    """Return ``YYYY.MM`` when ``name`` is the monthly index ``<prefix>-YYYY.MM``, else None.

    :param name: the index name.
    :param prefix: the index prefix.
    """
    match = re.fullmatch(re.escape(prefix) + r"-(\d{4})\.(\d{2})", name)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    return f"{match.group(1)}.{match.group(2)}"


def inventory(es: Elasticsearch, prefix: str, indices: Sequence[str] | None = None) -> list[IndexInfo]:
    """Return the inventory of the indices matching ``<prefix>-2*`` (or the named ones), sorted by name.

    :param es: the client.
    :param prefix: the index prefix.
    :param indices: restrict to these index names.
    """
    target = ",".join(indices) if indices else f"{prefix}-2*"
    rows = es.options(ignore_status=404).cat.indices(
        index=target,
        format="json",
        bytes="b",
        expand_wildcards="all",
        h="index,health,status,pri,rep,docs.count,docs.deleted,store.size,pri.store.size",
    )
    if rows.meta.status == 404:
        return []
    rows = list(rows.body)
    names = [r["index"] for r in rows]
    if not names:
        return []
    open_names = [r["index"] for r in rows if r.get("status") == "open"]
    segments: dict[str, int] = {}
    conversations: dict[str, int] = {}
    settings: dict[str, dict[str, Any]] = {}
    if open_names:
        stats = es.indices.stats(index=",".join(open_names), metric="segments,docs")
        for name, data in stats.get("indices", {}).items():
            segments[name] = int(data.get("primaries", {}).get("segments", {}).get("count", 0))
        got = es.indices.get_settings(index=",".join(open_names), flat_settings=True)
        settings = {name: data.get("settings", {}) for name, data in got.items()}
        # _cat counts Lucene documents (nested participants included): count conversations per index instead.
        counted = es.search(
            index=",".join(open_names),
            size=0,
            track_total_hits=False,
            aggs={"by_index": {"terms": {"field": "_index", "size": len(open_names)}}},
        )
        conversations = {b["key"]: b["doc_count"] for b in counted["aggregations"]["by_index"]["buckets"]}

    def num(value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0

    out = []
    for row in rows:
        name = row["index"]
        flat = settings.get(name, {})
        out.append(
            IndexInfo(
                name=name,
                month=month_of(name, prefix),
                health=row.get("health") or "unknown",
                status=row.get("status") or "unknown",
                primary_shards=num(row.get("pri")),
                replicas=num(row.get("rep")),
                docs=conversations.get(name, 0),
                deleted_docs=num(row.get("docs.deleted")),
                size_bytes=num(row.get("store.size")),
                primary_size_bytes=num(row.get("pri.store.size")),
                segments=segments.get(name, 0),
                refresh_interval=flat.get("index.refresh_interval"),
                blocks=sorted(
                    k.removeprefix("index.blocks.")
                    for k, v in flat.items()
                    if k.startswith("index.blocks.") and str(v).lower() == "true"
                ),
            )
        )
    return sorted(out, key=lambda i: i.name)


def format_inventory(infos: Sequence[IndexInfo]) -> str:
    """Return the inventory as a fixed-width table.

    :param infos: the inventory.
    """
    head = (
        f"{'index':<40} {'health':<7} {'status':<6} {'pri':>3} {'rep':>3} {'docs':>10} {'deleted':>8} "
        f"{'size MB':>9} {'segments':>8} {'refresh':>8} blocks"
    )
    lines = [head, "-" * len(head)]
    for i in infos:
        lines.append(
            f"{i.name:<40} {i.health:<7} {i.status:<6} {i.primary_shards:>3} {i.replicas:>3} {i.docs:>10} "
            f"{i.deleted_docs:>8} {i.size_bytes / 1024**2:>9.2f} {i.segments:>8} {i.refresh_interval or '-':>8} "
            f"{','.join(i.blocks) or '-'}"
        )
    if not infos:
        lines.append("(no index)")
    return "\n".join(lines)


def target_settings(es: Elasticsearch, prefix: str) -> dict[str, Any]:
    """Return the replicas and refresh interval the index template ``<prefix>`` gives monthly indices.

    Falls back to 1 replica and the cluster's default refresh interval (None) without a template.

    :param es: the client.
    :param prefix: the index prefix (the template's name).
    """
    resp = es.options(ignore_status=404).indices.get_index_template(name=prefix)
    replicas: int = 1
    refresh: str | None = None
    if resp.meta.status == 200 and resp.body.get("index_templates"):
        template = resp.body["index_templates"][0]["index_template"].get("template", {})
        index = template.get("settings", {}).get("index", {})
        if "number_of_replicas" in index:
            replicas = int(index["number_of_replicas"])
        refresh = index.get("refresh_interval")
    return {"replicas": replicas, "refresh_interval": refresh}


def is_closed_month(month: str, now: datetime, closed_after_days: int) -> bool:
    """Return whether month ``YYYY.MM`` is closed at ``now``.

    :param month: the month.
    :param now: the current time (UTC).
    :param closed_after_days: days into the next month before the month counts as closed.
    """
    year, mon = (int(x) for x in month.split("."))
    next_month = date(year + (mon == 12), mon % 12 + 1, 1)
    closes = datetime(next_month.year, next_month.month, 1, tzinfo=UTC) + timedelta(days=closed_after_days)
    return now >= closes


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
        if not is_closed_month(info.month, now, constraints.closed_after_days):
            plan.append(PlannedAction(info.name, "skip", "skipped", f"month {info.month} is not closed yet"))
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
