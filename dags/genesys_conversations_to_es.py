"""Daily ingest of Genesys Cloud conversation details into Elasticsearch.

**Which day a run owns.** A run for logical date D owns the UTC day [D, D+1), however it was made:
by the schedule, by **Trigger** in the UI, by `airflow dags test <dag> D` or by
`airflow backfill create --from-date A --to-date B` (one run per day). A run without a logical date
owns the day it was triggered. The form's `date_from`/`date_to` replace that day with a range of days.

The scheduler catches up by itself from `[genesys_es] start_date` (default 2026-11-01); every other
day can be run by hand or by backfill at any time (the DAG's start date is kept early for that).

Each day is planned into partitions (sub-intervals under the 100,000-result cap, then page ranges),
each partition indexed in its own mapped task; then the run verifies every day (and re-checks the days
before it once Genesys has settled) and emits the `genesys_conversations_index` asset.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, conf, dag

from genesys_es.assets import DEFAULT_INDEX_PREFIX, GENESYS_API_POOL
from genesys_es.extract.planning import DEFAULT_PAGES_PER_PARTITION
from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator
from genesys_es.operators.ingest_tasks import (
    ensure_index,
    finalize_run,
    plan_partitions,
    publish_index,
    refresh_open_conversations,
    resolve_run,
)
from genesys_es.operators.verify import GenesysElasticsearchVerifyOperator
from genesys_es.timetables import EARLIEST_DAY, DailyCatchupFromTimetable

CATCHUP_FROM = pendulum.parse(conf.get("genesys_es", "start_date", fallback="2026-11-01"), tz="UTC")
MAX_ACTIVE_PARTITIONS = conf.getint("genesys_es", "max_active_partitions", fallback=4)
JOB_POLL_SECONDS = conf.getfloat("genesys_es", "job_poll_seconds", fallback=10.0)


@dag(
    dag_id="genesys_conversations_to_es",
    description="Index Genesys Cloud conversation details into Elasticsearch, one UTC day per run.",
    schedule=DailyCatchupFromTimetable(CATCHUP_FROM),
    start_date=EARLIEST_DAY,
    catchup=True,
    max_active_runs=conf.getint("genesys_es", "max_active_runs", fallback=2),
    tags=["genesys", "elasticsearch", "ingest"],
    default_args={
        "owner": "genesys-es",
        "retries": 3,
        "retry_delay": timedelta(seconds=conf.getint("genesys_es", "retry_delay_seconds", fallback=30)),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
    },
    # Index names are checked by the first task, not by a schema pattern: Airflow 3.3.2's form cannot check a
    # pattern and shows a param the API refuses as "Bad Request", naming neither the field nor its rule.
    params={
        "date_from": Param(
            None,
            type=["null", "string"],
            format="date",
            title="From day (UTC)",
            description="First UTC day to (re)index. Leave empty to index the run's own day.",
        ),
        "date_to": Param(
            None,
            type=["null", "string"],
            format="date",
            title="To day (UTC, inclusive)",
            description="Last UTC day to (re)index (at most 31 days after From).",
        ),
        "mode": Param(
            "upsert",
            enum=["upsert", "rebuild"],
            title="Mode",
            description="upsert: add and update; rebuild: also delete documents of the range "
            "that no longer exist in Genesys.",
        ),
        "pii": Param(
            "drop",
            enum=["drop", "hash", "keep"],
            title="Personal data",
            description="drop (default: no personal data leaves Genesys), hash (keyed HMAC-SHA256 so joins "
            "still work; key in the Variable genesys_es_pii_secret), or keep ANI/DNIS, names and addresses.",
        ),
        "path": Param(
            "sync",
            enum=["sync", "jobs"],
            title="Path",
            description="sync (default): the details query, for recent days. jobs: the analytics jobs API, "
            "ten times faster on the same budget, for history; days after its dataAvailabilityDate still go "
            "through the details query.",
        ),
        "page_size": Param(
            100,
            type="integer",
            minimum=1,
            maximum=100,
            title="Page size",
            description="Conversations per details-query page, 1 to 100 (100, the API's maximum, spends the "
            "fewest requests).",
        ),
        "pages_per_partition": Param(
            DEFAULT_PAGES_PER_PARTITION,
            type="integer",
            minimum=1,
            maximum=1000,
            title="Pages per partition",
            description="Most pages one partition task reads; the planner evens partitions out over the "
            "running tasks.",
        ),
        "dry_run": Param(
            False, type=["boolean", "null"], title="Dry run", description="Plan partitions only."
        ),
        "deadletter_threshold": Param(
            0,
            type="integer",
            minimum=0,
            title="Dead-letter threshold",
            description="Fail a partition when more documents than this were dead-lettered.",
        ),
        "refresh_open_days": Param(
            3,
            type="integer",
            minimum=0,
            maximum=31,
            title="Refresh open conversations (days back)",
            description="Re-read conversations indexed while still open that started this many days "
            "before the range.",
        ),
        "index_prefix": Param(
            DEFAULT_INDEX_PREFIX,
            type="string",
            maxLength=101,
            title="Index prefix",
            description="Monthly indices are <prefix>-YYYY.MM, the read alias <prefix>: lowercase letters, "
            "digits, '.', '_' or '-', starting with a letter (at most 101 characters).",
        ),
        "latency_target_p95_ms": Param(
            1000,
            type=["null", "number"],
            minimum=1,
            title="Search latency target p95 (ms)",
            description="The verify task fails when the probe queries' p95 exceeds this; empty skips the probe.",
        ),
    },
    render_template_as_native_obj=True,
    doc_md=__doc__,
)
def genesys_conversations_to_es() -> None:
    """Build the ingest DAG."""
    run = resolve_run()
    index_ready = ensure_index(run)
    partitions = plan_partitions(run, parallelism=MAX_ACTIVE_PARTITIONS)
    index_ready >> partitions
    indexed = GenesysToElasticsearchOperator.partial(
        task_id="extract_and_index",
        run_config=run,
        pool=GENESYS_API_POOL,
        max_active_tis_per_dag=MAX_ACTIVE_PARTITIONS,
        map_index_template="{{ task.partition['label'] }}",
        job_poll_seconds=JOB_POLL_SECONDS,
    ).expand(partition=partitions)
    refreshed = refresh_open_conversations(run)
    index_ready >> refreshed
    summary = finalize_run(run, indexed.output, refreshed)
    verify = GenesysElasticsearchVerifyOperator(
        task_id="verify",
        index_prefix="{{ params.index_prefix }}",
        start="{{ ti.xcom_pull(task_ids='resolve_run')['start'] }}",
        end="{{ ti.xcom_pull(task_ids='resolve_run')['end'] }}",
        pii="{{ ti.xcom_pull(task_ids='resolve_run')['pii'] }}",
        latency_target_p95_ms="{{ params.latency_target_p95_ms }}",
        pool=GENESYS_API_POOL,
    )
    summary >> verify
    publish_index(run, verify.output)


genesys_conversations_to_es()
