"""Query-latency probes: representative searches run N times after a warm-up, with client and server timings.

A probe is a JSON file ``{"name", "description", "request"}`` in ``include/latency_probes/``; ``request`` is a
search body whose strings may hold placeholders filled from the index itself (:func:`sample_parameters`):
``{{userId}}``, ``{{queueId}}``, ``{{wrapUpCode}}``, ``{{word}}``, ``{{start}}``, ``{{end}}``.
Client-side latency is wall time around each search (``time.perf_counter``), the server's ``took`` is reported
next to it. The shard request cache is bypassed (``request_cache=false``) so aggregations are really run.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genesys_es.instants import to_iso
from genesys_es.verify.counts import interval_query

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

#: ``include/latency_probes`` next to the ``plugins`` folder (repository or Airflow deployment layout).
DEFAULT_PROBES_PATH = Path(__file__).resolve().parents[3] / "include" / "latency_probes"
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")
WORD = re.compile(r"[^\W\d_]{4,}")


@dataclass(frozen=True)
class Probe:
    """One representative search.

    :param name: short name (the file's ``name``).
    :param request: the search body, with placeholders.
    :param description: what the probe stands for.
    """

    name: str
    request: dict[str, Any]
    description: str = ""


@dataclass
class ProbeStats:
    """Timings of one probe's measured runs (milliseconds)."""

    name: str
    runs: int
    client_p50_ms: float
    client_p95_ms: float
    client_max_ms: float
    took_p50_ms: float
    took_p95_ms: float
    took_max_ms: float
    hits: int | None = None


@dataclass
class LatencyReport:
    """Timings of all probes: per probe and over every measured run together.

    :param alias: the index or alias probed.
    :param runs: measured runs per probe.
    :param warmup: unmeasured runs per probe before measuring.
    :param probes: per-probe timings.
    :param parameters: the values the placeholders were filled with.
    """

    alias: str
    runs: int
    warmup: int
    probes: list[ProbeStats] = field(default_factory=list)
    client_p50_ms: float = 0.0
    client_p95_ms: float = 0.0
    client_max_ms: float = 0.0
    took_p50_ms: float = 0.0
    took_p95_ms: float = 0.0
    took_max_ms: float = 0.0
    parameters: dict[str, str] = field(default_factory=dict)

    def meets(self, target_p95_ms: float | None) -> bool:
        """Return whether the overall client-side p95 is within ``target_p95_ms`` (None: no target).

        :param target_p95_ms: the target in milliseconds.
        """
        return target_p95_ms is None or self.client_p95_ms <= float(target_p95_ms)

    def table(self) -> str:
        """Return a fixed-width table of the timings."""
        head = f"{'probe':<22} {'runs':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'took p50':>8} {'took p95':>8} {'took max':>8}"
        rows = [head, "-" * len(head)]
        for p in [*self.probes, self._overall()]:
            rows.append(
                f"{p.name:<22} {p.runs:>4} {p.client_p50_ms:>8.1f} {p.client_p95_ms:>8.1f} {p.client_max_ms:>8.1f} "
                f"{p.took_p50_ms:>8.1f} {p.took_p95_ms:>8.1f} {p.took_max_ms:>8.1f}"
            )
        return "\n".join(rows)

    def _overall(self) -> ProbeStats:
        return ProbeStats(
            name="ALL",
            runs=self.runs * len(self.probes),
            client_p50_ms=self.client_p50_ms,
            client_p95_ms=self.client_p95_ms,
            client_max_ms=self.client_max_ms,
            took_p50_ms=self.took_p50_ms,
            took_p95_ms=self.took_p95_ms,
            took_max_ms=self.took_max_ms,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable summary."""
        return asdict(self)

    def summary(self, target_p95_ms: float | None) -> dict[str, Any]:
        """Return the rounded figures a task summary carries.

        :param target_p95_ms: the target the report was measured against.
        """
        return {
            "target_p95_ms": target_p95_ms,
            "p50_ms": round(self.client_p50_ms, 1),
            "p95_ms": round(self.client_p95_ms, 1),
            "max_ms": round(self.client_max_ms, 1),
            "took_p95_ms": round(self.took_p95_ms, 1),
            "probes": {p.name: round(p.client_p95_ms, 1) for p in self.probes},
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Return the nearest-rank percentile of ``values`` (0 for no values).

    :param values: the samples.
    :param pct: the percentile, 0-100.
    """
    if not values:
        return 0.0
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0-100, got {pct}")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def load_probes(path: str | Path | None = None) -> list[Probe]:
    """Load every ``*.json`` probe in ``path`` (a folder or one file), sorted by file name.

    :param path: folder or file; default ``include/latency_probes``.
    """
    root = Path(path) if path else DEFAULT_PROBES_PATH
    files = sorted(root.glob("*.json")) if root.is_dir() else [root]
    if not files or not files[0].exists():
        raise ValueError(f"no latency probes found at {root}")
    probes = []
    for file in files:
        data = json.loads(file.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("request"), dict):
            raise ValueError(f"{file}: a probe needs a 'request' object")
        probes.append(
            Probe(
                name=str(data.get("name") or file.stem),
                request=data["request"],
                description=data.get("description", ""),
            )
        )
    return probes


def fill(value: Any, params: Mapping[str, str]) -> Any:
    """Return ``value`` with ``{{name}}`` placeholders replaced from ``params`` (recursively).

    :param value: a JSON value.
    :param params: placeholder values.
    """
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in params:
                raise ValueError(f"no value for placeholder {{{{{key}}}}}")
            return str(params[key])

        return PLACEHOLDER.sub(sub, value)
    if isinstance(value, list):
        return [fill(v, params) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, params) for k, v in value.items()}
    return value


def sample_parameters(
    es: Elasticsearch, alias: str, start: datetime | str | None = None, end: datetime | str | None = None
) -> dict[str, str]:
    """Pick placeholder values that exist in the index: the busiest agent, queue and its top wrap-up code, a word.

    :param es: the client.
    :param alias: index or alias.
    :param start: interval start (default: the earliest conversation).
    :param end: interval end (default: just after the latest conversation).
    """
    query = interval_query(start, end) if start and end else {"match_all": {}}
    resp = es.search(
        index=alias,
        query=query,
        size=1,
        source=["derived.searchText"],
        sort=[{"conversationStart": "desc"}],
        track_total_hits=False,
        aggs={
            "users": {"terms": {"field": "derived.userIds", "size": 1}},
            "queues": {
                "terms": {"field": "derived.queueIds", "size": 1},
                "aggs": {"wrapups": {"terms": {"field": "derived.wrapUpCodes", "size": 1}}},
            },
            "first": {"min": {"field": "conversationStart"}},
            "last": {"max": {"field": "conversationStart"}},
        },
    )
    aggs = resp.get("aggregations", {})

    def top(buckets: list[dict[str, Any]], default: str) -> str:
        return str(buckets[0]["key"]) if buckets else default

    queues = aggs.get("queues", {}).get("buckets", [])
    params = {
        "userId": top(aggs.get("users", {}).get("buckets", []), "none"),
        "queueId": top(queues, "none"),
        "wrapUpCode": top(queues[0]["wrapups"]["buckets"] if queues else [], "none"),
        "word": "conversation",
    }
    hits = resp["hits"]["hits"]
    text = (hits[0].get("_source", {}).get("derived", {}) or {}).get("searchText") if hits else None
    words = WORD.findall(text if isinstance(text, str) else " ".join(text or []))
    if words:
        params["word"] = max(words, key=len)
    if start and end:
        params["start"], params["end"] = to_iso(start), to_iso(end)
    else:
        first, last = (
            aggs.get("first", {}).get("value_as_string"),
            aggs.get("last", {}).get("value_as_string"),
        )
        params["start"] = first or "1970-01-01T00:00:00Z"
        params["end"] = f"{last}||+1s" if last else "now"
    return params


def run_probes(
    es: Elasticsearch,
    alias: str,
    probes: Sequence[Probe],
    *,
    runs: int,
    warmup: int,
    params: Mapping[str, str] | None = None,
) -> LatencyReport:
    """Run each probe ``warmup`` times unmeasured, then ``runs`` times measured; return the timings.

    :param es: the client.
    :param alias: index or alias to search.
    :param probes: the probes.
    :param runs: measured runs per probe (>= 1).
    :param warmup: unmeasured runs per probe (>= 0).
    :param params: placeholder values (default: :func:`sample_parameters`).
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if not probes:
        raise ValueError("no probes to run")
    params = dict(params) if params is not None else sample_parameters(es, alias)
    report = LatencyReport(alias=alias, runs=runs, warmup=warmup, parameters=params)
    all_client: list[float] = []
    all_took: list[float] = []
    for probe in probes:
        body = fill(probe.request, params)
        client_ms: list[float] = []
        took_ms: list[float] = []
        hits: int | None = None
        for n in range(warmup + runs):
            began = time.perf_counter()
            resp = es.search(index=alias, body=body, request_cache=False)
            elapsed = (time.perf_counter() - began) * 1000
            if n < warmup:
                continue
            client_ms.append(elapsed)
            took_ms.append(float(resp.get("took", 0)))
            total = resp.get("hits", {}).get("total")
            hits = (
                total.get("value") if isinstance(total, dict) else len(resp.get("hits", {}).get("hits", []))
            )
        report.probes.append(
            ProbeStats(
                name=probe.name,
                runs=runs,
                client_p50_ms=percentile(client_ms, 50),
                client_p95_ms=percentile(client_ms, 95),
                client_max_ms=max(client_ms),
                took_p50_ms=percentile(took_ms, 50),
                took_p95_ms=percentile(took_ms, 95),
                took_max_ms=max(took_ms),
                hits=hits,
            )
        )
        all_client.extend(client_ms)
        all_took.extend(took_ms)
    report.client_p50_ms = percentile(all_client, 50)
    report.client_p95_ms = percentile(all_client, 95)
    report.client_max_ms = max(all_client)
    report.took_p50_ms = percentile(all_took, 50)
    report.took_p95_ms = percentile(all_took, 95)
    report.took_max_ms = max(all_took)
    return report
