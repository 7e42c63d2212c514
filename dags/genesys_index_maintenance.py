"""Maintenance of the Genesys conversation indices, after every ingest and at least weekly.

Runs when the ingest DAG updates the ``genesys_conversations_index`` asset, and every Sunday 03:00 UTC.
``maintain_closed_months`` gives back their settings to indices a killed backfill left with refresh off and
no replica (once its lease has expired), logs the inventory table, checks constraints, force-merges closed
months to one segment and restores their replicas and refresh interval (never an index an ingest is writing
to), with one audit event per action in the audit index and the log. ``wait_for_health`` and ``verify_health_and_latency``
check the read alias afterwards. Audit events go to the webhook of the connection named in
``[genesys_es] audit_webhook_conn_id`` when it is set (see docs/verification.md).

**Paused when first deployed** (as every DAG under Airflow's default ``dags_are_paused_at_creation``):
unpause it with its toggle in the UI or ``airflow dags unpause genesys_index_maintenance``; from then on it
follows every ingest run and runs weekly. A month counts as closed ``closed_after_days`` days into the next
month (UTC); until then its index is listed as skipped, with the date it closes.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, conf, dag

from genesys_es.assets import CONVERSATIONS_INDEX, DEFAULT_INDEX_PREFIX
from genesys_es.maintain.audit import DEFAULT_AUDIT_INDEX
from genesys_es.maintain.notifications import AuditWebhookNotifier
from genesys_es.operators.maintenance import (
    ElasticsearchIndexMaintenanceOperator,
    ElasticsearchIndexVerifyOperator,
)
from genesys_es.sensors.index_health import ElasticsearchIndexHealthSensor

WEBHOOK_CONN_ID = conf.get("genesys_es", "audit_webhook_conn_id", fallback="")
WEBHOOK_FORMAT = conf.get("genesys_es", "audit_webhook_format", fallback="json")
NOTIFIERS = [AuditWebhookNotifier(WEBHOOK_CONN_ID, payload_format=WEBHOOK_FORMAT)] if WEBHOOK_CONN_ID else []


@dag(
    dag_id="genesys_index_maintenance",
    description="Force-merge closed monthly indices, restore their settings, verify, and audit every action.",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 0", timezone="UTC"), assets=[CONVERSATIONS_INDEX]
    ),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genesys", "elasticsearch", "maintenance"],
    default_args={
        "owner": "genesys-es",
        "retries": 1,
        "retry_delay": timedelta(
            seconds=conf.getint("genesys_es", "maintenance_retry_delay_seconds", fallback=300)
        ),
    },
    # Index names are checked by the first task, not by a schema pattern: Airflow 3.3.2's form cannot check a
    # pattern and shows a param the API refuses as "Bad Request", naming neither the field nor its rule.
    params={
        "index_prefix": Param(
            DEFAULT_INDEX_PREFIX,
            type="string",
            maxLength=101,
            title="Index prefix",
            description="The ingest's index prefix: lowercase letters, digits, '.', '_' or '-', starting with a "
            "letter (at most 101 characters).",
        ),
        "audit_index": Param(
            DEFAULT_AUDIT_INDEX,
            type="string",
            maxLength=101,
            title="Audit index",
            description="Where audit events are written; same rule as the index prefix.",
        ),
        "max_shards": Param(
            10, type="integer", minimum=1, description="Most shard copies an index may have."
        ),
        "max_index_size_gb": Param(
            50, type=["null", "number"], minimum=0, description="Bigger indices are skipped: archive them."
        ),
        "disk_watermark": Param(
            "high",
            enum=["low", "high", "flood_stage"],
            description="Skip every action while a node's disk is at or above this watermark.",
        ),
        "closed_after_days": Param(
            2,
            type="integer",
            minimum=0,
            description="Days into the next month (UTC) after which a month counts as closed (0 or more).",
        ),
        "latency_target_p95_ms": Param(
            500,
            type=["null", "number"],
            minimum=0,
            description="Fail the verification when the probe queries' p95 exceeds this (ms); empty skips it.",
        ),
        "latency_runs": Param(
            20, type="integer", minimum=1, description="Measured runs per probe (1 or more)."
        ),
        "dry_run": Param(False, type=["boolean", "null"], description="Plan and audit only; change nothing."),
    },
    render_template_as_native_obj=True,
    doc_md=__doc__,
)
def genesys_index_maintenance():
    maintain = ElasticsearchIndexMaintenanceOperator(
        task_id="maintain_closed_months",
        index_prefix="{{ params.index_prefix }}",
        audit_index="{{ params.audit_index }}",
        max_shards="{{ params.max_shards }}",
        max_index_size_gb="{{ params.max_index_size_gb }}",
        disk_watermark="{{ params.disk_watermark }}",
        closed_after_days="{{ params.closed_after_days }}",
        dry_run="{{ params.dry_run }}",
        on_success_callback=NOTIFIERS,
        on_failure_callback=NOTIFIERS,
    )
    wait = ElasticsearchIndexHealthSensor(
        task_id="wait_for_health",
        indices="{{ params.index_prefix }}",
        target_status="yellow",
        deferrable=conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval=15,
        timeout=600,
    )
    verify = ElasticsearchIndexVerifyOperator(
        task_id="verify_health_and_latency",
        index_prefix="{{ params.index_prefix }}",
        audit_index="{{ params.audit_index }}",
        latency_target_p95_ms="{{ params.latency_target_p95_ms }}",
        latency_runs="{{ params.latency_runs }}",
        on_success_callback=NOTIFIERS,
        on_failure_callback=NOTIFIERS,
    )
    maintain >> wait >> verify


maintenance_dag = genesys_index_maintenance()

if __name__ == "__main__":
    maintenance_dag.test()
