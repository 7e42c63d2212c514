"""A tiny stand-in for the ingest DAG, used only to check the end-to-end harness itself.

Same shape as ``genesys_conversations_to_es`` where the harness cares: one UTC day per scheduled run,
``date_from``/``date_to`` params, a mapped task over partitions with a readable ``map_index_template``, a
``chaos_fail_partitions`` drill param, and documents in Elasticsearch through ``elasticsearch_default``.
Its "source" is deterministic: day D holds ``probe_ids(D, conversations_per_day)``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, conf, dag, get_current_context, task

PARTITIONS_PER_DAY = 3


def probe_ids(day: str, conversations_per_day: int) -> list[str]:
    """Return the ids the probe's source holds for one UTC day."""
    return [f"probe-{day}-{i:05d}" for i in range(conversations_per_day)]


def _days(params: dict[str, Any], start: datetime | None, end: datetime | None) -> list[str]:
    if params.get("date_from"):
        first = date.fromisoformat(params["date_from"])
        last = date.fromisoformat(params.get("date_to") or params["date_from"])
    else:
        assert start is not None and end is not None, "no data interval and no date_from"
        first = start.astimezone(UTC).date()
        last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


@dag(
    dag_id="e2e_probe",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.parse(conf.get("genesys_es", "start_date", fallback="2026-11-01"), tz="UTC"),
    catchup=True,
    max_active_runs=3,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=2)},
    params={
        "date_from": Param(None, type=["null", "string"], format="date", title="From day (UTC)"),
        "date_to": Param(None, type=["null", "string"], format="date", title="To day (UTC, inclusive)"),
        "index_prefix": Param("e2e-probe", type="string", pattern="^[a-z0-9][a-z0-9_-]*$"),
        "conversations_per_day": Param(30, type="integer", minimum=1, maximum=10000),
        "chaos_fail_partitions": Param([], type="array", items={"type": "string"}),
    },
    tags=["e2e"],
)
def e2e_probe() -> None:
    """Build the probe DAG."""

    @task
    def plan() -> list[dict[str, Any]]:
        """Split each day of the run into partitions."""
        context = get_current_context()
        params = dict(context["params"])
        days = _days(params, context.get("data_interval_start"), context.get("data_interval_end"))
        return [
            {"day": day, "part": k, "label": f"{day} p{k}"}
            for day in days
            for k in range(1, PARTITIONS_PER_DAY + 1)
        ]

    @task(map_index_template="{{ partition_label }}")
    def index_partition(partition: dict[str, Any]) -> int:
        """Index the partition's share of the day's ids; fail the first try when the drill says so."""
        from airflow.sdk import BaseHook
        from elasticsearch import Elasticsearch, helpers

        context = get_current_context()
        context["partition_label"] = partition["label"]  # type: ignore[typeddict-unknown-key]
        params = context["params"]
        ti = context["ti"]
        if partition["label"] in params["chaos_fail_partitions"] and ti.try_number == 1:
            raise RuntimeError(f"drill: partition {partition['label']} fails on its first try")
        ids = probe_ids(partition["day"], params["conversations_per_day"])[
            partition["part"] - 1 :: PARTITIONS_PER_DAY
        ]
        conn = BaseHook.get_connection("elasticsearch_default")
        es = Elasticsearch(f"{conn.schema or 'http'}://{conn.host}:{conn.port or 9200}")
        actions = (
            {
                "_index": f"{params['index_prefix']}-probe",
                "_id": cid,
                "_source": {"conversationId": cid, "day": partition["day"], "partition": partition["label"]},
            }
            for cid in ids
        )
        ok, _ = helpers.bulk(es, actions, refresh="wait_for")
        return ok

    @task
    def verify(counts: list[int]) -> int:
        """Sum what the partitions indexed."""
        return sum(counts)

    verify(index_partition.expand(partition=plan()))


e2e_probe()
