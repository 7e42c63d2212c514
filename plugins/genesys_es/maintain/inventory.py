"""Inventory of the monthly indices: size, segments, settings and health per index, disk usage, targets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


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
