"""The DAG under test (the ingest DAG or the harness's probe DAG) and checks shared by the e2e tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.e2e.airflow_api import AirflowAPI
from tests.e2e.stack import Stack, day_bounds

PROBE_CONVERSATIONS_PER_DAY = 40


@dataclass
class Target:
    """A DAG under test and how to read its source and its Elasticsearch copy."""

    dag_id: str
    mapped_task: str
    prefix: str
    stack: Stack
    results: dict[str, Any] = field(default_factory=dict)

    def conf(self, date_from: str | None = None, date_to: str | None = None, **extra: Any) -> dict[str, Any]:
        """Return the run conf, as the trigger form would submit it."""
        if self.dag_id == "e2e_probe":
            conf: dict[str, Any] = {
                "index_prefix": self.prefix,
                "conversations_per_day": PROBE_CONVERSATIONS_PER_DAY,
                "chaos_fail_partitions": [],
            }
        else:
            conf = {
                "index_prefix": self.prefix,
                "mode": "upsert",
                "pii": "hash",
                "page_size": 100,
                "pages_per_partition": 1,
                "dry_run": False,
                "refresh_open_days": 0,
                "chaos_fail_partitions": [],
            }
        if date_from:
            conf.update(date_from=date_from, date_to=date_to or date_from)
        conf.update(extra)
        return conf

    def source_ids(self, day: str) -> set[str]:
        """Return the conversation ids the source holds for one UTC day."""
        if self.dag_id == "e2e_probe":
            from tests.e2e.dags.e2e_probe import probe_ids

            return set(probe_ids(day, PROBE_CONVERSATIONS_PER_DAY))
        start, end = day_bounds(day)
        return set(self.stack.simulator.dataset.conversation_ids(start, end))

    def es_ids(self, es: Elasticsearch, day: str) -> list[str]:
        """Return every document id Elasticsearch holds for one UTC day (duplicates kept)."""
        start, end = day_bounds(day)
        if self.dag_id == "e2e_probe":
            index, query = f"{self.prefix}-probe", {"term": {"day": day}}
        else:
            index = self.prefix
            query = {"range": {"conversationStart": {"gte": start.isoformat(), "lt": end.isoformat()}}}
        es.indices.refresh(index=index)
        answer = es.search(index=index, query=query, size=10_000, source=False, track_total_hits=True)
        assert answer["hits"]["total"]["value"] < 10_000
        return [hit["_id"] for hit in answer["hits"]["hits"]]

    def es_total(self, es: Elasticsearch) -> int:
        """Return the number of documents the run wrote, all days together."""
        index = f"{self.prefix}-probe" if self.dag_id == "e2e_probe" else self.prefix
        es.indices.refresh(index=index)
        return es.count(index=index)["count"]


def assert_day_matches_source(target: Target, es: Elasticsearch, day: str) -> None:
    """Elasticsearch holds every source conversation of the day once, and nothing else."""
    ids = target.es_ids(es, day)
    expected = target.source_ids(day)
    assert expected, f"the source has no conversation on {day}"
    assert len(ids) == len(set(ids)), f"{day}: duplicate documents"
    missing, extra = expected - set(ids), set(ids) - expected
    assert not missing and not extra, (
        f"{day}: {len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} extra"
    )


def assert_run_succeeded(api: AirflowAPI, target: Target, run: dict[str, Any]) -> None:
    """Fail with the task states and the first failed task's log when a run did not succeed."""
    if run["state"] == "success":
        return
    details = api.describe(target.dag_id, run["dag_run_id"])
    failed = [t for t in api.task_instances(target.dag_id, run["dag_run_id"]) if t["state"] == "failed"]
    log = ""
    if failed:
        t = failed[0]
        log = api.task_log(target.dag_id, run["dag_run_id"], t["task_id"], t["try_number"], t["map_index"])[
            -3000:
        ]
    pytest.fail(f"run {run['dag_run_id']} is {run['state']}: {details}\n{log}")
