"""Operator that verifies ingested days: health, per-day counts against Genesys, settled re-checks, latency."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from genesys_es.extract.paging import ConversationPager
from genesys_es.extract.planning import split_days
from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
from genesys_es.instants import parse_strict, to_iso
from genesys_es.load import leases
from genesys_es.operators.arguments import number
from genesys_es.verify import health, latency, reconciliation
from genesys_es.verify.counts import VerificationError

if TYPE_CHECKING:
    from airflow.sdk import Context
    from elasticsearch import Elasticsearch


class GenesysElasticsearchVerifyOperator(BaseOperator):
    """Verify ingested UTC days of Genesys conversations in Elasticsearch; fail with the numbers.

    Checks, in order: the read alias's health (``health_target``; colour, blocks, missing primaries and
    bulk-time settings left behind); each UTC day of ``[start, end)`` against Genesys' count (see
    :mod:`genesys_es.verify.reconciliation`: a day that may still grow passes within ``count_tolerance``, a
    settled one is compared by id, its missing conversations fetched and indexed); the days before
    ``start`` still waiting for their settled check (``settle_lookback_days``); finally the latency probes
    against ``latency_target_p95_ms``. Every day checked is recorded in ``<prefix>-reconciliation``.
    Returns a small summary dict; raises :class:`VerificationError` listing every failed check.

    :param index_prefix: the index prefix; the read alias has the same name (templated).
    :param start: first day's start, ISO-8601 (templated).
    :param end: last day's end, exclusive (templated).
    :param pii: the PII mode for conversations fetched to repair a day (templated).
    :param genesys_conn_id: the ``genesys_cloud`` connection.
    :param elasticsearch_conn_id: the ``elasticsearch`` connection.
    :param count_tolerance: relative tolerance (0.01 = 1 %) while a day may still grow (templated).
    :param latency_target_p95_ms: client-side p95 target in ms; None skips the latency check (templated).
    :param latency_runs: measured runs per probe (templated).
    :param latency_warmup: unmeasured runs per probe first (templated).
    :param probes_path: folder of probe JSON files (default ``include/latency_probes``).
    :param list_missing_limit: at most this many missing ids are listed per day.
    :param health_target: ``yellow`` or ``green``.
    :param settle_minutes: a day ending less than this long ago may still grow.
    :param settle_lookback_days: earlier days looked at for their settled check (0: none).
    :param repair: fetch and index the missing conversations of a settled day.
    """

    template_fields: Sequence[str] = (
        "index_prefix",
        "start",
        "end",
        "pii",
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
        pii: str = "drop",
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
        settle_lookback_days: int = reconciliation.DEFAULT_SETTLE_LOOKBACK_DAYS,
        repair: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.index_prefix = index_prefix
        self.start = start
        self.end = end
        self.pii = pii
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
        self.settle_lookback_days = settle_lookback_days
        self.repair = repair
        self._pager: ConversationPager | None = None
        self._es: Elasticsearch | None = None

    # -- the two sides --------------------------------------------------------------------------

    def get_es(self) -> Elasticsearch:
        """Return the Elasticsearch client from the connection (one per task)."""
        if self._es is None:
            self._es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        return self._es

    @property
    def pager(self) -> ConversationPager:
        """Return the Genesys reader (one hook per task, so the token and the budget are shared)."""
        if self._pager is None:
            from genesys_es.hooks.genesys_cloud import genesys_hook

            hook = genesys_hook(self.genesys_conn_id, self.get_es())
            self._pager = ConversationPager(hook)
        return self._pager

    def source_count(self, start: datetime, end: datetime) -> int:
        """Return Genesys' conversation count for ``[start, end)``.

        :param start: interval start.
        :param end: interval end.
        """
        return int(self.pager.count(start, end))

    def source_ids(self, start: datetime, end: datetime) -> Iterator[str]:
        """Yield the ids of the conversations Genesys reports as started in ``[start, end)``.

        :param start: interval start.
        :param end: interval end.
        """
        return reconciliation.source_ids(self.pager, start, end)

    def fetch_and_index(self, ids: list[str], start: datetime, end: datetime, run_id: str | None) -> int:
        """Fetch conversations by id from Genesys and index them; return how many were indexed.

        :param ids: the missing conversation ids.
        :param start: their day's start.
        :param end: their day's end.
        :param run_id: the run stored in the documents.
        """
        from genesys_es.load.ingest import index_conversations
        from genesys_es.operators.genesys_to_elasticsearch import pii_policy_for

        conversations = self.pager.get_conversations(ids, start=start, end=end)
        result, _ = index_conversations(
            self.get_es(),
            conversations,
            index_prefix=str(self.index_prefix),
            pii=pii_policy_for(str(self.pii)),
            run_id=run_id,
            label="settle-repair",
        )
        return result.indexed

    # -- execution ------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the checks and return the summary, or raise VerificationError with the numbers."""
        start, end, tolerance, probing = self._arguments()
        es, alias, failures = self.get_es(), str(self.index_prefix), []
        state = health.check_health(es, alias, self.health_target, check_blocks=True)
        self.log.info("Health: %s", state.message())
        if not state.ok:
            failures.append(state.message())
        failures += leases.settings_drift(es, alias)
        checks = self.check_days(es, start, end, tolerance, context.get("run_id"))
        failures += [f"{c.day}: {c.reconciliation.message()}" for c in checks if not c.ok]
        report, latency_failure = self.measure_latency(es, alias, start, end, *probing)
        failures += [latency_failure] if latency_failure else []
        summary = self.summary(alias, start, end, state.status, checks, report, ok=not failures)
        if failures:
            raise VerificationError("verification failed: " + " || ".join(failures))
        return summary

    def _arguments(self) -> tuple[datetime, datetime, float, tuple[float | None, int, int]]:
        """Return the rendered arguments checked: start, end, tolerance, (latency target, runs, warm-up)."""
        start, end = parse_strict(self.start, "start"), parse_strict(self.end, "end")
        if end <= start:
            raise ValueError(f"end ({to_iso(end)}) must be after start ({to_iso(start)})")
        tolerance = number(self.count_tolerance, "count_tolerance", minimum=0)
        if tolerance >= 1:
            raise ValueError(f"count_tolerance is a fraction below 1, got {tolerance}")
        target = number(self.latency_target_p95_ms, "latency_target_p95_ms", minimum=0, optional=True)
        runs = number(self.latency_runs, "latency_runs", minimum=1, integer=True)
        warmup = number(self.latency_warmup, "latency_warmup", minimum=0, integer=True)
        return start, end, tolerance, (target, runs, warmup)

    def check_days(
        self, es: Elasticsearch, start: datetime, end: datetime, tolerance: float, run_id: str | None
    ) -> list[reconciliation.DayCheck]:
        """Check every day of the range and the earlier days due for their settled check; record each."""
        alias = str(self.index_prefix)
        settle = timedelta(minutes=int(self.settle_minutes))
        days = [day_start.date() for day_start, _ in split_days(start, end)]
        earlier = reconciliation.days_due(
            es, alias, days[0], settle=settle, lookback_days=int(self.settle_lookback_days)
        )
        if earlier:
            self.log.info("Re-checking %d earlier day(s) now settled: %s", len(earlier), earlier)
        checks = []
        for day in [*earlier, *days]:
            check = reconciliation.check_day(
                es,
                alias,
                day,
                count=self.source_count,
                ids=self.source_ids,
                repair=self._repair(run_id),
                settle=settle,
                tolerance=tolerance,
                list_limit=int(self.list_missing_limit),
            )
            reconciliation.record(es, alias, check, run_id)
            checks.append(check)
        self.log.info("Reconciliation per UTC day:\n%s", reconciliation.table(checks))
        return checks

    def _repair(self, run_id: str | None) -> Any:
        if not self.repair:
            return None
        return lambda ids, start, end: self.fetch_and_index(ids, start, end, run_id)

    def measure_latency(
        self,
        es: Elasticsearch,
        alias: str,
        start: datetime,
        end: datetime,
        target: float | None,
        runs: int,
        warmup: int,
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Run the latency probes when a target is set; return their summary and a failure or None."""
        if target is None:
            return None, None
        probes = latency.load_probes(self.probes_path)
        params = latency.sample_parameters(es, alias, start, end)
        report = latency.run_probes(es, alias, probes, runs=runs, warmup=warmup, params=params)
        self.log.info("Latency (%d runs after %d warm-up):\n%s", runs, warmup, report.table())
        if report.meets(target):
            return report.summary(target), None
        slowest = max(report.probes, key=lambda p: p.client_p95_ms).name
        return report.summary(target), (
            f"query latency p95 {report.client_p95_ms:.1f} ms exceeds the target {target:.1f} ms "
            f"(p50 {report.client_p50_ms:.1f} ms, max {report.client_max_ms:.1f} ms, "
            f"server took p95 {report.took_p95_ms:.1f} ms; slowest probe {slowest})"
        )

    def summary(
        self,
        alias: str,
        start: datetime,
        end: datetime,
        status: str,
        checks: list[reconciliation.DayCheck],
        latency_summary: dict[str, Any] | None,
        *,
        ok: bool,
    ) -> dict[str, Any]:
        """Return the small XCom summary: totals over the range's days, one row per day checked."""
        days = {day_start.date() for day_start, _ in split_days(start, end)}
        recs = [c.reconciliation for c in checks if c.day in days]
        missing = [cid for rec in recs for cid in rec.missing_ids]
        return {
            "index": alias,
            "start": to_iso(start),
            "end": to_iso(end),
            "health": status,
            "source_count": sum(r.source_count for r in recs),
            "index_count": sum(r.index_count for r in recs),
            "difference": sum(r.difference for r in recs),
            "growing": any(r.growing for r in recs),
            "missing_total": sum(r.missing_total for r in recs),
            "missing_ids": missing[: int(self.list_missing_limit)],
            "days": [c.row() for c in checks],
            "latency": latency_summary,
            "ok": ok,
        }
