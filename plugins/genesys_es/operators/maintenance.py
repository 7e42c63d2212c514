"""Operators of the index maintenance DAG: maintain closed months, then verify health and latency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
from genesys_es.maintain import audit, checks, maintenance
from genesys_es.maintain.audit import AuditEvent
from genesys_es.maintain.notifications import AUDIT_XCOM_KEY
from genesys_es.operators.arguments import flag, number
from genesys_es.verify import health
from genesys_es.verify.counts import VerificationError

if TYPE_CHECKING:
    from airflow.sdk import Context
    from elasticsearch import Elasticsearch


class _AuditingOperator(BaseOperator):
    """Shared plumbing: Elasticsearch client, audit index, events to the log, the index, XCom."""

    def __init__(
        self,
        *,
        index_prefix: str = "genesys-conversations",
        elasticsearch_conn_id: str = "elasticsearch_default",
        audit_index: str = audit.DEFAULT_AUDIT_INDEX,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.index_prefix = index_prefix
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.audit_index = audit_index

    def get_es(self) -> Elasticsearch:
        """Return the Elasticsearch client from the connection."""
        return ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()

    def checked_prefix(self) -> str:
        """Return the index prefix once it and the audit index are valid; refuse either with its name and rule."""
        from genesys_es.load.index_setup import validate_prefix

        for field in ("index_prefix", "audit_index"):
            try:
                validate_prefix(str(getattr(self, field)))
            except ValueError as err:
                raise ValueError(f"{field}: {err}") from None
        return str(self.index_prefix)

    def _tag(self, events: list[AuditEvent], context: Context) -> None:
        ti = context.get("ti")
        for event in events:
            event.dag_id = getattr(ti, "dag_id", None) or self.dag_id
            event.run_id = getattr(ti, "run_id", None)
            event.task_id = self.task_id

    def record(self, es: Elasticsearch, events: list[AuditEvent], context: Context) -> None:
        """Write ``events`` to the audit index and push them to XCom for the notifiers.

        :param es: the client.
        :param events: the events.
        :param context: the task context.
        """
        self._tag(events, context)
        written = audit.write(es, str(self.audit_index), events)
        self.log.info("Wrote %d audit event(s) to %s", written, self.audit_index)
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=AUDIT_XCOM_KEY, value=[e.to_dict() for e in events])


class ElasticsearchIndexMaintenanceOperator(_AuditingOperator):
    """Inventory the monthly indices, check constraints, and force-merge and restore settings of closed months.

    Logs the inventory table and the plan, performs the plan (:func:`genesys_es.maintain.maintenance.execute_plan`),
    writes one audit event per planned action to ``audit_index`` and the task log, and pushes the events to
    XCom (key ``audit_events``) for notifiers. Fails when an action failed.

    :param index_prefix: the index prefix (templated).
    :param elasticsearch_conn_id: the ``elasticsearch`` connection.
    :param audit_index: the audit index (templated).
    :param max_shards: most shard copies an index may have to be acted on (templated).
    :param max_index_size_gb: primary size above which an index is skipped for archiving (templated; None: no limit).
    :param disk_watermark: ``low``, ``high`` or ``flood_stage``: skip when a node is at or above it (templated).
    :param closed_after_days: days into the next month before a month is closed (templated).
    :param target_replicas: replicas for closed months; None: the index template's (templated).
    :param target_refresh_interval: refresh interval for closed months; None: the template's (templated).
    :param dry_run: plan and audit only (templated).
    :param merge_timeout_s: client timeout of one force-merge.
    """

    template_fields: Sequence[str] = (
        "index_prefix",
        "audit_index",
        "max_shards",
        "max_index_size_gb",
        "disk_watermark",
        "closed_after_days",
        "target_replicas",
        "target_refresh_interval",
        "dry_run",
    )
    ui_color = "#c9b3e6"

    def __init__(
        self,
        *,
        max_shards: Any = 10,
        max_index_size_gb: Any = 50,
        disk_watermark: str = "high",
        closed_after_days: Any = 2,
        target_replicas: Any = None,
        target_refresh_interval: str | None = None,
        dry_run: Any = False,
        merge_timeout_s: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_shards = max_shards
        self.max_index_size_gb = max_index_size_gb
        self.disk_watermark = disk_watermark
        self.closed_after_days = closed_after_days
        self.target_replicas = target_replicas
        self.target_refresh_interval = target_refresh_interval
        self.dry_run = dry_run
        self.merge_timeout_s = merge_timeout_s

    def constraints(self) -> maintenance.Constraints:
        """Return the validated constraints from the (rendered) arguments."""
        size_gb = number(self.max_index_size_gb, "max_index_size_gb", optional=True)
        return maintenance.Constraints(
            max_shards=number(self.max_shards, "max_shards", integer=True, minimum=1, optional=True) or 10,
            max_size_bytes=None if size_gb is None else int(size_gb * 1024**3),
            disk_watermark=str(self.disk_watermark),
            closed_after_days=number(self.closed_after_days, "closed_after_days", integer=True, optional=True)
            or 0,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Inventory, plan, act, audit; return counts of actions by status."""
        prefix = self.checked_prefix()
        dry_run = flag(self.dry_run, "dry_run", default=False)
        replicas = number(self.target_replicas, "target_replicas", integer=True, optional=True)
        refresh = self.target_refresh_interval or None
        es = self.get_es()
        infos, events = maintenance.run_maintenance(
            es,
            prefix,
            self.constraints(),
            replicas=replicas,
            refresh_interval=refresh,
            dry_run=dry_run,
            merge_timeout_s=self.merge_timeout_s,
            log=self.log,
        )
        self.record(es, events, context)
        return audit.summarize(infos, events, dry_run=dry_run)


class ElasticsearchIndexVerifyOperator(_AuditingOperator):
    """Check the read alias's health and query latency after maintenance; audit both; fail with the numbers.

    :param index_prefix: the index prefix; the read alias has the same name (templated).
    :param elasticsearch_conn_id: the ``elasticsearch`` connection.
    :param audit_index: the audit index (templated).
    :param health_target: ``yellow`` or ``green`` (templated).
    :param latency_target_p95_ms: client-side p95 target in ms; None skips the probes (templated).
    :param latency_runs: measured runs per probe (templated).
    :param latency_warmup: unmeasured runs per probe (templated).
    :param probes_path: folder of probe JSON files (default ``include/latency_probes``).
    """

    template_fields: Sequence[str] = (
        "index_prefix",
        "audit_index",
        "health_target",
        "latency_target_p95_ms",
        "latency_runs",
        "latency_warmup",
    )
    ui_color = "#9fd5a8"

    def __init__(
        self,
        *,
        health_target: str = "yellow",
        latency_target_p95_ms: Any = None,
        latency_runs: Any = 20,
        latency_warmup: Any = 3,
        probes_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.health_target = health_target
        self.latency_target_p95_ms = latency_target_p95_ms
        self.latency_runs = latency_runs
        self.latency_warmup = latency_warmup
        self.probes_path = probes_path

    def execute(self, context: Context) -> dict[str, Any]:
        """Run the checks, audit them, and return the numbers (or raise VerificationError)."""
        alias = self.checked_prefix()
        target_status = health.validate_target_status(str(self.health_target))
        target = number(self.latency_target_p95_ms, "latency_target_p95_ms", optional=True)
        runs = number(self.latency_runs, "latency_runs", integer=True, minimum=1, optional=True) or 1
        warmup = number(self.latency_warmup, "latency_warmup", integer=True, optional=True) or 0
        es = self.get_es()
        events, result, failures = checks.check_index(
            es,
            alias,
            target_status,
            latency_target=target,
            runs=runs,
            warmup=warmup,
            probes_path=self.probes_path,
            log=self.log,
        )
        for event in events:
            self.log.info("AUDIT %s", event.line())
        self.record(es, events, context)
        if failures:
            raise VerificationError("verification after maintenance failed: " + " || ".join(failures))
        return result
