"""One request budget per OAuth client for every task and run, kept in Elasticsearch.

Genesys Cloud allows each OAuth client 300 requests a minute. Planning, partitions, refresh, rebuild and
verify tasks of any number of runs, on any worker, spend that one budget: each request takes the next slot
of a generic cell rate algorithm whose state (the theoretical arrival time of the next request) is one
document per client in :data:`BUDGET_INDEX`, updated with optimistic concurrency (a realtime get and a
conditional write per request: ten small operations a second at 300 requests a minute). A task that finds
nobody else asking gets the whole rate; several tasks share it slot by slot, never more than it together,
whenever they start or stop. A 429 (somebody outside this tool uses the
client) pauses every task.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from elasticsearch import ApiError, ConflictError, NotFoundError
from elasticsearch import ConnectionError as EsConnectionError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

#: The index holding one budget document per OAuth client (shared by every index prefix).
BUDGET_INDEX = "genesys-request-budget"
_SETTINGS = {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}}
_MAPPINGS = {"dynamic": False, "properties": {"tat": {"type": "double"}}}
#: Elasticsearch answers that a reservation waits out and tries again (a busy or restarting node).
_BUSY_STATUSES = (429, 502, 503, 504)


def budget_key(api_base: str, client_id: str) -> str:
    """Return the budget document id of an OAuth client (a digest: no client id stored in clear).

    :param api_base: the API base URL (one client id per region).
    :param client_id: the OAuth client id.
    """
    return hashlib.sha256(f"{api_base}|{client_id}".encode()).hexdigest()[:24]


class ElasticsearchBudgetStore:
    """Reserve request slots of an OAuth client's budget in Elasticsearch (GCRA, compare-and-set).

    :param es: the Elasticsearch client.
    :param index: the budget index.
    :param clock: wall clock in seconds (slots are shared across machines).
    """

    def __init__(
        self, es: Elasticsearch, index: str = BUDGET_INDEX, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.es = es
        self.index = index
        self.clock = clock
        self._ready = False
        self._lock = threading.Lock()

    def _ensure_index(self) -> None:
        """Create the budget index once (another task may be creating it too) and wait for its shard."""
        with self._lock:
            if self._ready:
                return
            if not self.es.indices.exists(index=self.index):
                self.es.options(ignore_status=400).indices.create(
                    index=self.index, settings=_SETTINGS, mappings=_MAPPINGS
                )
            self.es.cluster.health(index=self.index, wait_for_status="yellow", timeout="30s")
            self._ready = True

    def reserve(self, key: str, interval: float, not_before: float = 0.0, patience: float = 60.0) -> float:
        """Take the next free slot at or after ``not_before`` and return when it is (clock seconds).

        A busy node (429, 5xx, a dropped connection) is waited out with a short backoff, a concurrent
        reservation retried at once.

        :param key: the client's budget document id.
        :param interval: seconds between two requests at the client's rate.
        :param not_before: the earliest time the slot may be.
        :param patience: seconds a busy or unreachable node is waited out before the error is raised.
        """
        self._ensure_index()
        give_up, busy = time.monotonic() + patience, 0
        while True:
            try:
                return self._compare_and_set(key, interval, not_before)
            except ConflictError:
                continue
            except (ApiError, EsConnectionError) as exc:
                if isinstance(exc, ApiError) and exc.status_code not in _BUSY_STATUSES:
                    raise
                if time.monotonic() >= give_up:
                    raise
                busy += 1
                time.sleep(min(2.0, 0.05 * 2 ** min(busy, 6)))

    def _compare_and_set(self, key: str, span: float, not_before: float) -> float:
        """Move the client's next free time on by ``span`` if nobody moved it meanwhile; return the old one."""
        try:
            doc = self.es.get(index=self.index, id=key)
        except NotFoundError:
            slot = max(self.clock(), not_before)
            self.es.create(index=self.index, id=key, document={"tat": slot + span})
            return slot
        slot = max(self.clock(), float(doc["_source"]["tat"]), not_before)
        self.es.index(
            index=self.index,
            id=key,
            document={"tat": slot + span},
            if_seq_no=doc["_seq_no"],
            if_primary_term=doc["_primary_term"],
        )
        return slot


class SharedRequestBudget:
    """A hook's request budget drawn from an OAuth client's shared budget (same interface as RequestBudget).

    :param store: where the client's budget lives.
    :param key: the client's budget document id (:func:`budget_key`).
    :param requests_per_minute: the client's whole budget (positive).
    :param sleep: sleep function (injectable for tests).
    """

    def __init__(
        self,
        store: ElasticsearchBudgetStore,
        key: str,
        requests_per_minute: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"a shared budget needs a positive rate, got {requests_per_minute}")
        self.store = store
        self.key = key
        self.requests_per_minute = requests_per_minute
        self._sleep = sleep
        self._lock = threading.Lock()
        self.granted = 0
        self.waited_seconds = 0.0
        self.pauses = 0

    unlimited = False

    @property
    def interval(self) -> float:
        """Return the seconds between two requests of the client at the steady rate."""
        return 60.0 / self.requests_per_minute

    def acquire(self) -> float:
        """Block until this thread's slot of the client's budget comes; return the seconds waited."""
        slot = self.store.reserve(self.key, self.interval)
        waited = max(0.0, slot - self.store.clock())
        if waited:
            self._sleep(waited)
        with self._lock:
            self.granted += 1
            self.waited_seconds += waited
        return waited

    def pause(self, seconds: float) -> None:
        """Hold every task of the client for ``seconds`` from now (after a 429).

        :param seconds: how long the server asked to wait.
        """
        self.store.reserve(self.key, 0.0, not_before=self.store.clock() + max(0.0, seconds))
        with self._lock:
            self.pauses += 1
