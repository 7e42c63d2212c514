"""Index health checks: cluster health for named indices, with the reasons an index is not healthy.

Pure functions over an ``elasticsearch.Elasticsearch`` client, shared by the health sensor, its trigger,
the verify operator and the maintenance DAG.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

STATUS_RANK = {"red": 0, "yellow": 1, "green": 2}
#: Index blocks that stop writes; the disk flood stage sets ``read_only_allow_delete``.
WRITE_BLOCKS = ("read_only_allow_delete", "read_only", "write")
#: At most this many unassigned shards are explained per index (one explain call each).
MAX_EXPLAINED_SHARDS = 2


@dataclass
class IndexProblem:
    """Why one index is not healthy.

    :param index: the index name (or the requested name when it does not exist).
    :param status: its health (``red``/``yellow``/``green``/``missing``).
    :param reasons: human-readable reasons (unassigned shards with the allocator's explanation, blocks).
    """

    index: str
    status: str
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        why = "; ".join(self.reasons) if self.reasons else "no reason reported"
        return f"{self.index} is {self.status}: {why}"


@dataclass
class HealthResult:
    """Outcome of one health check.

    :param ok: every requested index reached the target status (and has no write block when checked).
    :param status: the health Elasticsearch reported for the requested indices together.
    :param target_status: the status that was required.
    :param timed_out: Elasticsearch answered 408 (``wait_for_status`` not reached in time).
    :param indices: health by index name.
    :param problems: the indices that are not healthy, with reasons.
    """

    ok: bool
    status: str
    target_status: str
    timed_out: bool = False
    indices: dict[str, str] = field(default_factory=dict)
    problems: list[IndexProblem] = field(default_factory=list)

    def message(self) -> str:
        """Return a one-paragraph description of the result."""
        names = ", ".join(sorted(self.indices)) or "(no index matched)"
        if self.ok:
            return f"health {self.status} (target {self.target_status}) for {names}"
        details = " | ".join(str(p) for p in self.problems) or f"cluster health is {self.status}"
        return f"indices not {self.target_status}: {details}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (for trigger events and XCom)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthResult:
        """Rebuild a result from :meth:`to_dict` output.

        :param data: the dict.
        """
        problems = [IndexProblem(**p) for p in data.get("problems", [])]
        return cls(**{**data, "problems": problems})


def validate_target_status(target_status: str) -> str:
    """Return the normalised target status, raising ValueError for anything but yellow or green.

    :param target_status: ``yellow`` or ``green``.
    """
    status = str(target_status).strip().lower()
    if status not in ("yellow", "green"):
        raise ValueError(f"target_status must be 'yellow' or 'green', got {target_status!r}")
    return status


def normalise_indices(indices: str | Sequence[str] | None) -> list[str]:
    """Return a list of index names/patterns from a comma-separated string or a sequence.

    :param indices: names, patterns or aliases; empty means the whole cluster.
    """
    if indices is None:
        return []
    if isinstance(indices, str):
        items: Iterable[str] = indices.split(",")
    else:
        items = indices
    return [str(i).strip() for i in items if str(i).strip()]


def check_health(
    es: Elasticsearch,
    indices: str | Sequence[str] | None,
    target_status: str = "yellow",
    *,
    wait_seconds: float = 0,
    check_blocks: bool = True,
    explain: bool = True,
) -> HealthResult:
    """Check the health of ``indices`` against ``target_status``, explaining any index that falls short.

    Elasticsearch answers 408 with ``timed_out: true`` when ``wait_for_status`` is not reached within the
    wait, and 503 while the master is unavailable or shards move; both count as "not yet healthy".

    :param es: the client.
    :param indices: index names, patterns or aliases; empty checks the whole cluster.
    :param target_status: ``yellow`` or ``green``.
    :param wait_seconds: let Elasticsearch wait up to this long for the status (0: answer at once).
    :param check_blocks: treat an index with a write block (e.g. the disk flood stage's
        ``read_only_allow_delete``) as unhealthy.
    :param explain: look up the reasons (shard allocation, blocks) for unhealthy indices.
    """
    target = validate_target_status(target_status)
    names = normalise_indices(indices)
    params: dict[str, Any] = {"level": "indices", "timeout": f"{max(0, int(wait_seconds))}s"}
    if names:
        params["index"] = names
        params["expand_wildcards"] = "open"
    if wait_seconds > 0:
        params["wait_for_status"] = target
    client = es.options(ignore_status=[408, 503], request_timeout=max(30.0, wait_seconds + 30))
    resp = client.cluster.health(**params)
    body = resp.body if hasattr(resp, "body") else dict(resp)
    http_status = resp.meta.status if hasattr(resp, "meta") else 200
    if http_status == 503 or "status" not in body:
        reason = _error_reason(body) or "cluster unavailable (503)"
        problems = [
            IndexProblem(index=n, status="unavailable", reasons=[reason]) for n in names or ["_cluster"]
        ]
        return HealthResult(ok=False, status="red", target_status=target, timed_out=False, problems=problems)
    by_index = {name: info.get("status", "red") for name, info in (body.get("indices") or {}).items()}
    status = body.get("status", "red")
    timed_out = bool(body.get("timed_out")) or http_status == 408
    problems: list[IndexProblem] = []
    for name, st in sorted(by_index.items()):
        if STATUS_RANK.get(st, 0) < STATUS_RANK[target]:
            problems.append(IndexProblem(index=name, status=st))
    if not problems and STATUS_RANK.get(status, 0) < STATUS_RANK[target]:
        problems.extend(_missing(es, names))
    if check_blocks and by_index:
        blocked = index_blocks(es, list(by_index))
        for name, blocks in sorted(blocked.items()):
            reason = "blocks: " + ", ".join(f"index.blocks.{b}=true" for b in blocks)
            existing = next((p for p in problems if p.index == name), None)
            if existing is None:
                problems.append(IndexProblem(index=name, status=by_index.get(name, status), reasons=[reason]))
            else:
                existing.reasons.append(reason)
    if explain:
        for problem in problems:
            if problem.status in ("red", "yellow"):
                problem.reasons[:0] = shard_reasons(es, problem.index)
    ok = not problems and STATUS_RANK.get(status, 0) >= STATUS_RANK[target]
    if not ok and not problems:
        problems.append(IndexProblem(index="_cluster", status=status, reasons=shard_reasons(es, None)))
    return HealthResult(
        ok=ok, status=status, target_status=target, timed_out=timed_out, indices=by_index, problems=problems
    )


def index_blocks(es: Elasticsearch, indices: Sequence[str]) -> dict[str, list[str]]:
    """Return the write blocks set on each of ``indices`` (only indices with a block are listed).

    :param es: the client.
    :param indices: concrete index names.
    """
    if not indices:
        return {}
    resp = es.options(ignore_status=404).indices.get_settings(
        index=list(indices), name="index.blocks.*", flat_settings=True, expand_wildcards="open"
    )
    out: dict[str, list[str]] = {}
    for name, data in dict(resp).items():
        if not isinstance(data, dict):
            continue
        settings = data.get("settings", {})
        blocks = [
            b for b in WRITE_BLOCKS if str(settings.get(f"index.blocks.{b}", "false")).lower() == "true"
        ]
        if blocks:
            out[name] = blocks
    return out


def shard_reasons(es: Elasticsearch, index: str | None) -> list[str]:
    """Return why shards of ``index`` (or of the cluster) are not started, using ``_cat/shards`` and the explain API.

    :param es: the client.
    :param index: the index, or None for every index.
    """
    try:
        kwargs: dict[str, Any] = {"format": "json", "h": "index,shard,prirep,state,unassigned.reason"}
        if index:
            kwargs["index"] = index
        rows = es.options(ignore_status=404).cat.shards(**kwargs)
    except Exception as exc:  # the explanation is best effort; never hide the health result behind it
        return [f"shard listing failed: {type(exc).__name__}"]
    reasons: list[str] = []
    explained = 0
    for row in rows.body if hasattr(rows, "body") else rows:
        if not isinstance(row, dict) or row.get("state") == "STARTED":
            continue
        kind = "primary" if row.get("prirep") == "p" else "replica"
        text = f"{kind} shard {row.get('index')}[{row.get('shard')}] {row.get('state')}"
        if row.get("unassigned.reason"):
            text += f" ({row['unassigned.reason']})"
        if row.get("state") == "UNASSIGNED" and explained < MAX_EXPLAINED_SHARDS:
            explained += 1
            text += explain_allocation(es, row["index"], int(row["shard"]), kind == "primary")
        reasons.append(text)
    return reasons


def explain_allocation(es: Elasticsearch, index: str, shard: int, primary: bool) -> str:
    """Return the allocator's short reason why a shard is unassigned (the first NO decider), or ''.

    :param es: the client.
    :param index: the index.
    :param shard: the shard number.
    :param primary: explain the primary (else a replica).
    """
    try:
        resp = es.cluster.allocation_explain(index=index, shard=shard, primary=primary)
    except Exception as exc:
        return f": allocation explain failed ({type(exc).__name__})"
    body = resp.body if hasattr(resp, "body") else dict(resp)
    deciders: list[str] = []
    for node in body.get("node_allocation_decisions") or []:
        for decider in node.get("deciders") or []:
            if decider.get("decision") == "NO":
                deciders.append(f"{decider.get('decider')}: {decider.get('explanation')}")
    if deciders:
        return ": " + "; ".join(dict.fromkeys(deciders))
    explanation = body.get("allocate_explanation") or body.get("explanation")
    return f": {explanation}" if explanation else ""


def _missing(es: Elasticsearch, names: Sequence[str]) -> list[IndexProblem]:
    """Return a problem for each requested name that matches no index (health waits for it: red)."""
    problems = []
    for name in names:
        if name == "_all":
            continue
        if any(c in name for c in "*?"):
            found = bool(es.options(ignore_status=404).indices.get_alias(index=name, expand_wildcards="open"))
        else:
            found = bool(es.indices.exists(index=name))
        if not found:
            problems.append(
                IndexProblem(index=name, status="missing", reasons=["no index or alias by that name"])
            )
    return problems


def _error_reason(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('type')}: {err.get('reason')}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return ""
