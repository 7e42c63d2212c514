"""One request budget per OAuth client, shared in Elasticsearch by every task and run (real node)."""

from __future__ import annotations

import threading
import uuid

import pytest
from elasticsearch import Elasticsearch

from genesys_es.extract.shared_budget import ElasticsearchBudgetStore, SharedRequestBudget, budget_key


@pytest.fixture
def store(es: Elasticsearch) -> ElasticsearchBudgetStore:
    return ElasticsearchBudgetStore(es, clock=lambda: 1000.0)  # a still clock: slots are exact


def test_slots_reserved_by_many_threads_are_spaced_by_the_rate(store: ElasticsearchBudgetStore) -> None:
    key = uuid.uuid4().hex
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            slot = store.reserve(key, 0.2)
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 60 requests from 6 threads (two tasks of three threads each, say): one slot each, 0.2 s apart,
    # none shared, none skipped, whatever the contention on the document.
    assert sorted(round(slot, 6) for slot in slots) == [round(1000.0 + 0.2 * k, 6) for k in range(60)]


def test_a_429_pauses_every_holder_of_the_client(store: ElasticsearchBudgetStore) -> None:
    key = uuid.uuid4().hex
    first = SharedRequestBudget(store, key, 300, sleep=lambda s: None)
    second = SharedRequestBudget(store, key, 300, sleep=lambda s: None)
    assert first.acquire() == 0.0
    first.pause(30)
    assert second.acquire() == pytest.approx(30.0)  # the other task waits out the Retry-After too
    assert first.pauses == 1 and second.granted == 1


def test_each_client_and_region_has_its_own_budget() -> None:
    assert budget_key("https://api.mypurecloud.com", "a") != budget_key("https://api.mypurecloud.ie", "a")
    assert budget_key("https://api.mypurecloud.com", "a") != budget_key("https://api.mypurecloud.com", "b")
    assert "client-id" not in budget_key("x", "client-id")


def test_a_shared_budget_needs_a_rate(store: ElasticsearchBudgetStore) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        SharedRequestBudget(store, "k", 0)
