"""Operator that verifies an ingested interval: health, counts against Genesys, missing ids, query latency."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from genesys_es import health, latency, verification
from genesys_es.operators.rendered import rendered_number
from genesys_es.verification import VerificationError, to_iso

if TYPE_CHECKING:
    from airflow.sdk import Context
    from elasticsearch import Elasticsearch


def _parse(value: Any, name: str) -> datetime:
    try:
        return datetime.fromisoformat(to_iso(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


class GenesysElasticsearchVerifyOperator(BaseOperator):
    """Verify one ingested interval of Genesys conversations in Elasticsearch; fail with the numbers.

    Checks, in order: the read alias's health (``health_target``); the count of conversations that started
    in ``[start, end)`` against Genesys' count, with ``count_tolerance`` for an interval that is still
    growing (see :mod:`genesys_es.verification`); when counts differ, the source ids are compared and the
    missing ones listed (at most ``list_missing_limit``); finally the latency probes run ``latency_runs``
    times after ``latency_warmup`` warm-up runs and the client-side p95 is compared with
    ``latency_target_p95_ms``. Returns a small summary dict; raises :class:`VerificationError` listing
    every failed check with its numbers.

    :param index_prefix: the index prefix; the read alias has the same name (templated).
    :param start: interval start, ISO-8601 (templated).
    :param end: interval end, exclusive (templated).
    :param genesys_conn_id: the ``genesys_cloud`` connection.
    :param elasticsearch_conn_id: the ``elasticsearch`` connection.
    :param count_tolerance: relative tolerance (0.01 = 1 %) while the interval is still growing (templated).
    :param latency_target_p95_ms: client-side p95 target in ms; None skips the latency check (templated).
    :param latency_runs: measured runs per probe (templated).
    :param latency_warmup: unmeasured runs per probe first (templated).
    :param probes_path: folder of probe JSON files (default ``include/latency_probes``).
    :param list_missing_limit: at most this many missing ids are listed.
    :param health_target: ``yellow`` or ``green``.
    :param settle_minutes: an interval ending less than this long ago counts as still growing.
    """

    template_fields: Sequence[str] = (
        "index_prefix",
        "start",
        "end",
        "count_tolerance",
        "latency_target_p95_ms",
        "latency_runs",
        "latency_warmup",
    )
    ui_color = "#9fd5a8"

    def __init__(
        self,
        *,
        start: Any,
        end: Any,
        index_prefix: str = "genesys-conversations",
        genesys_conn_id: str = "genesys_cloud_default",
        elasticsearch_conn_id: str = "elasticsearch_default",
        count_tolerance: Any = 0.01,
        latency_target_p95_ms: Any = None,
        latency_runs: Any = 20,
        latency_warmup: Any = 3,
        probes_path: str | None = None,
        list_missing_limit: int = 100,
        health_target: str = "yellow",
        settle_minutes: int = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.index_prefix = index_prefix
        self.start = start
        self.end = end
        self.genesys_conn_id = genesys_conn_id
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.count_tolerance = count_tolerance
        self.latency_target_p95_ms = latency_target_p95_ms
        self.latency_runs = latency_runs
        self.latency_warmup = latency_warmup
        self.probes_path = probes_path
        self.list_missing_limit = list_missing_limit
        self.health_target = health_target
        self.settle_minutes = settle_minutes

    # -- the two sides --------------------------------------------------------------------------

    def get_es(self) -> Elasticsearch:
        """Return the Elasticsearch client from the connection."""
        return health.get_client(self.elasticsearch_conn_id)

    def source_count(self, start: datetime, end: datetime) -> int:
        """Return Genesys' conversation count for ``[start, end)``.

        :param start: interval start.
        :param end: interval end.
        """
        from genesys_es.hooks.genesys_cloud import GenesysCloudHook

        return int(GenesysCloudHook(genesys_conn_id=self.genesys_conn_id).count(start, end))

    def source_ids(self, start: datetime, end: datetime) -> Iterator[str]:
        """Yield the ids of the conversations Genesys reports as started in ``[start, end)``.

        :param start: interval start.
        :param end: interval end.
        """
        from genesys_es.hooks.genesys_cloud import GenesysCloudHook

        lo, hi = to_iso(start), to_iso(end)
        for page in GenesysCloudHook(genesys_conn_id=self.genesys_conn_id).iter_pages(start, end):
            for conv in page.conversations or []:
                item = conv if isinstance(conv, dict) else conv.model_dump(by_alias=True)
                began = item.get("conversationStart")
                if item.get("conversationId") and (began is None or lo <= to_iso(began) < hi):
                    yield str(item["conversationId"])

    # -- execution ------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the checks and return the summary, or raise VerificationError with the numbers."""
        start, end = _parse(self.start, "start"), _parse(self.end, "end")
        if end <= start:
            raise ValueError(f"end ({to_iso(end)}) must be after start ({to_iso(start)})")
        tolerance = rendered_number(self.count_tolerance, "count_tolerance", minimum=0)
        if tolerance >= 1:
            raise ValueError(f"count_tolerance is a fraction below 1, got {tolerance}")
        target = rendered_number(
            self.latency_target_p95_ms, "latency_target_p95_ms", minimum=0, optional=True
        )
        runs = rendered_number(self.latency_runs, "latency_runs", minimum=1, integer=True)
        warmup = rendered_number(self.latency_warmup, "latency_warmup", minimum=0, integer=True)
        alias = str(self.index_prefix)
        es = self.get_es()
        failures: list[str] = []

        state = health.check_health(es, alias, self.health_target, check_blocks=True)
        self.log.info("Health: %s", state.message())
        if not state.ok:
            failures.append(state.message())

        growing = verification.is_growing(end, settle=timedelta(minutes=int(self.settle_minutes)))
        rec = verification.verify_interval(
            es,
            alias,
            start,
            end,
            source_count=self.source_count(start, end),
            source_ids=lambda: self.source_ids(start, end),
            tolerance=tolerance,
            growing=growing,
            list_limit=int(self.list_missing_limit),
        )
        self.log.info("Counts: %s", rec.message())
        if not rec.ok:
            failures.append(f"count reconciliation failed: {rec.message()}")

        report = None
        if target is not None:
            probes = latency.load_probes(self.probes_path)
            params = latency.sample_parameters(es, alias, start, end)
            report = latency.run_probes(es, alias, probes, runs=runs, warmup=warmup, params=params)
            self.log.info("Latency (%d runs after %d warm-up):\n%s", runs, warmup, report.table())
            if not report.meets(target):
                failures.append(
                    f"query latency p95 {report.client_p95_ms:.1f} ms exceeds the target {target:.1f} ms "
                    f"(p50 {report.client_p50_ms:.1f} ms, max {report.client_max_ms:.1f} ms, "
                    f"server took p95 {report.took_p95_ms:.1f} ms; slowest probe "
                    f"{max(report.probes, key=lambda p: p.client_p95_ms).name})"
                )

        summary = {
            "index": alias,
            "start": to_iso(start),
            "end": to_iso(end),
            "health": state.status,
            "source_count": rec.source_count,
            "index_count": rec.index_count,
            "difference": rec.difference,
            "growing": rec.growing,
            "missing_total": rec.missing_total,
            "missing_ids": rec.missing_ids,
            "latency": None
            if report is None
            else {
                "target_p95_ms": target,
                "p50_ms": round(report.client_p50_ms, 1),
                "p95_ms": round(report.client_p95_ms, 1),
                "max_ms": round(report.client_max_ms, 1),
                "took_p95_ms": round(report.took_p95_ms, 1),
                "probes": {p.name: round(p.client_p95_ms, 1) for p in report.probes},
            },
            "ok": not failures,
        }
        if failures:
            raise VerificationError("verification failed: " + " || ".join(failures))
        return summary
