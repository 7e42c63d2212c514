"""Two runs at once, every task of both spending one OAuth client's budget: no 429, the budget used."""

from __future__ import annotations

import queue
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from genesys_es.extract.paging import ConversationPager
from genesys_es.extract.planning import Partition, plan_partitions
from genesys_es.extract.shared_budget import ElasticsearchBudgetStore
from genesys_es.hooks.genesys_cloud import GenesysCloudHook
from genesys_es.load.index_setup import ensure_index_resources
from tests.faults.conftest import run_partition

RPM = 300
DAYS = (date(2026, 11, 9), date(2026, 11, 10))
PER_DAY = 4000


def _api_requests(sim: Any) -> int:
    stats = sim.stats()
    return sum(stats["api_requests_by_path"].values())


def _plan(es: Elasticsearch, day: date) -> list[Partition]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hook = GenesysCloudHook(budget_store=ElasticsearchBudgetStore(es))
    return plan_partitions(
        start, start + timedelta(days=1), ConversationPager(hook).count, pages_per_partition=8, parallelism=4
    )


def _verify(es_conn: str, prefix: str, day: date) -> dict[str, Any]:
    from genesys_es.operators.verify import GenesysElasticsearchVerifyOperator

    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return GenesysElasticsearchVerifyOperator(
        task_id="verify",
        index_prefix=prefix,
        start=start.isoformat(),
        end=(start + timedelta(days=1)).isoformat(),
    ).execute({"run_id": f"run-{day}"})


def test_two_runs_and_all_their_tasks_meet_no_429_and_use_the_budget(
    simulator_factory, airflow_connections, es: Elasticsearch, index_prefix: str
) -> None:
    # The simulator counts one budget per OAuth client, over all the tokens its tasks fetch.
    sim = simulator_factory(
        conversations_per_day=PER_DAY,
        volume_overrides=dict.fromkeys(DAYS, PER_DAY),
        rate_limit_per_minute=RPM,
        rate_limit_scope="client",
    )
    airflow_connections(sim.base_url, requests_per_minute=RPM)
    ensure_index_resources(es, index_prefix)

    work: queue.Queue[Partition | None] = queue.Queue()
    done: dict[date, int] = dict.fromkeys(DAYS, 0)
    failures: list[BaseException] = []
    lock = threading.Lock()

    def partition_slot() -> None:  # one slot of the genesys_api pool: partitions of either run
        while (part := work.get()) is not None:
            try:
                run_partition(index_prefix, part, run_id=f"run-{part.start.date()}")
            except BaseException as exc:
                failures.append(exc)
            with lock:
                done[part.start.date()] += 1

    first = _plan(es, DAYS[0])  # run 1 plans its day
    before, started = _api_requests(sim), time.monotonic()
    slots = [threading.Thread(target=partition_slot) for _ in range(4)]
    for part in first:
        work.put(part)
    for slot in slots:
        slot.start()
    second = _plan(es, DAYS[1])  # run 2 plans while run 1's partitions run
    for part in second:
        work.put(part)
    # Run 1 verifies its day (counting at Genesys) while run 2's partitions still run.
    while done[DAYS[0]] < len(first):
        time.sleep(0.05)
    verified_first = _verify("elasticsearch_default", index_prefix, DAYS[0])
    for _ in slots:
        work.put(None)
    for slot in slots:
        slot.join()
    elapsed, spent = time.monotonic() - started, _api_requests(sim) - before
    verified_second = _verify("elasticsearch_default", index_prefix, DAYS[1])

    assert not failures, failures
    assert verified_first["ok"] and verified_second["ok"]
    assert verified_first["index_count"] == verified_second["index_count"] == PER_DAY
    assert sim.stats()["rate_limited"] == 0, "a healthy run meets no 429"
    allowed = elapsed / 60 * RPM
    assert spent <= allowed + 1
    assert spent / allowed >= 0.9, f"{spent} requests in {elapsed:.1f} s: {spent / allowed:.2f} of the budget"
