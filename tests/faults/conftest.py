"""Shared machinery of the fault-injection suite (see docs/fault-injection.md).

Every scenario runs the real pipeline code (the partition operator's ``execute()``, the DAG, or a real
subprocess) against the simulator and a real Elasticsearch node, then compares the final index with the
simulator's ground truth: same ids, no duplicates, current content.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from genesys_es.extract import paging
from genesys_es.extract.planning import Partition, make_label
from genesys_es.hooks import genesys_cloud
from genesys_es.instants import parse as parse_time
from genesys_es.run_config import build_run_config
from genesys_es.transform.documents import build_document
from genesys_es.transform.pii import PiiPolicy

REPO = Path(__file__).resolve().parents[2]
ES_SCRIPT = REPO / "scripts" / "es.sh"

#: The day every scenario reads (a Wednesday in the past); small volumes keep each scenario to seconds.
DAY = date(2026, 11, 4)
DAY_START = datetime(2026, 11, 4, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)

#: The dedicated node for scenarios that restart a node or need node settings (a one-slot write queue).
DEDICATED_PORT = int(os.environ.get("FAULTS_ES_PORT", "9470"))
DEDICATED_SETTINGS = "-E thread_pool.write.queue_size=1 -E node.processors=1"


# --- the dedicated Elasticsearch node ------------------------------------------------------------


@dataclass
class DedicatedNode:
    """A single-node Elasticsearch of this suite's own, started with ``scripts/es.sh`` on its own port."""

    port: int
    settings: str
    client: Elasticsearch = field(init=False)

    def __post_init__(self) -> None:
        self.client = Elasticsearch(self.url, request_timeout=60)

    @property
    def url(self) -> str:
        """Return the node's URL."""
        return f"http://127.0.0.1:{self.port}"

    def _script(self, action: str) -> None:
        env = {**os.environ, "ES_PORT": str(self.port), "ES_HEAP": "512m", "ES_EXTRA_SETTINGS": self.settings}
        subprocess.run([str(ES_SCRIPT), action], check=True, env=env, capture_output=True, text=True)

    def start(self) -> None:
        """Start the node (no-op when it already runs) and wait until it answers."""
        self._script("start")

    def stop(self) -> None:
        """Stop the node (SIGTERM, then SIGKILL after 30 s)."""
        self._script("stop")

    def wait_ready(self, index: str | None = None, timeout: float = 60) -> None:
        """Wait until the node answers and, when given, the index's primaries are assigned."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.options(request_timeout=10).cluster.health(
                    index=index, wait_for_status="yellow", timeout="10s"
                )
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@pytest.fixture(scope="session")
def dedicated_es() -> Iterator[DedicatedNode]:
    """Start this suite's own node once per session (tiny write queue) and stop it at the end."""
    node = DedicatedNode(DEDICATED_PORT, DEDICATED_SETTINGS)
    node.start()
    try:
        yield node
    finally:
        node.client.close()
        if not os.environ.get("FAULTS_ES_KEEP"):  # keep it between local runs: FAULTS_ES_KEEP=1
            node.stop()


@pytest.fixture
def dedicated_prefix(dedicated_es: DedicatedNode) -> Iterator[str]:
    """Return a unique index prefix on the dedicated node, cleaned afterwards."""
    import uuid

    prefix = f"f{uuid.uuid4().hex[:10]}"
    yield prefix
    es = dedicated_es.client
    try:
        es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=prefix)
    except Exception:  # the node may be down after a failed restart scenario
        pass


def point_es_connection(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point the ``elasticsearch_default`` connection at another node (e.g. the dedicated one)."""
    host, _, port = url.removeprefix("http://").partition(":")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT",
        json.dumps({"conn_type": "elasticsearch", "host": host, "port": int(port), "schema": "http"}),
    )


# --- an instrumented hook: tests see every hook the operator builds ------------------------------


class HookRecorder:
    """Replace ``GenesysCloudHook`` (as the operator imports it) with a subclass that records instances.

    :param overrides: constructor arguments forced on every hook (e.g. a short ``timeout``).
    :param page_filter: called with each page the hook returns; may mutate the page's conversations.
    :param before_page: called before each page request (e.g. to advance the simulator's clock).
    """

    def __init__(self) -> None:
        self.hooks: list[genesys_cloud.GenesysCloudHook] = []
        self.overrides: dict[str, Any] = {}
        self.page_filter: Callable[[Any], None] | None = None
        self.before_page: Callable[[int], None] | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Install the recording subclasses where the partition operator finds them."""
        recorder = self

        class RecordingHook(genesys_cloud.GenesysCloudHook):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **{**kwargs, **recorder.overrides})
                recorder.hooks.append(self)

        class RecordingPager(paging.ConversationPager):
            def get_page(self, start, end, page_number, *args: Any, **kwargs: Any):  # type: ignore[override]
                if recorder.before_page is not None:
                    recorder.before_page(page_number)
                page = super().get_page(start, end, page_number, *args, **kwargs)
                if recorder.page_filter is not None:
                    recorder.page_filter(page)
                return page

        from genesys_es.operators import genesys_to_elasticsearch

        monkeypatch.setattr(genesys_cloud, "GenesysCloudHook", RecordingHook)
        monkeypatch.setattr(paging, "ConversationPager", RecordingPager)
        monkeypatch.setattr(genesys_to_elasticsearch, "ConversationPager", RecordingPager)

    def total(self, key: str) -> int:
        """Return a stats counter summed over every recorded hook."""
        return sum(hook.stats.get(key, 0) for hook in self.hooks)


@pytest.fixture
def hook_recorder(monkeypatch: pytest.MonkeyPatch) -> HookRecorder:
    """Return an installed :class:`HookRecorder`."""
    recorder = HookRecorder()
    recorder.install(monkeypatch)
    return recorder


# --- running a partition ---------------------------------------------------------------------------


def whole_day_partition(
    page_size: int = 25, start: datetime = DAY_START, end: datetime = DAY_END
) -> Partition:
    """Return one open-ended partition over ``[start, end)`` (reads until the first short page)."""
    return Partition(
        start=start,
        end=end,
        first_page=1,
        last_page=None,
        page_size=page_size,
        expected=0,
        label=make_label(start, end, 1, None),
    )


def run_partition(
    prefix: str,
    partition: Partition,
    *,
    try_number: int = 1,
    run_id: str = "manual__faults",
    concurrency: int = 4,
    max_chunk_bytes: int = 8 * 1024 * 1024,
    **params: Any,
) -> dict[str, Any]:
    """Run the partition operator's ``execute()`` as one Airflow try would, and return its summary."""
    from genesys_es.operators.genesys_to_elasticsearch import GenesysToElasticsearchOperator

    day = partition.start.date().isoformat()
    config = build_run_config({"date_from": day, "date_to": day, "index_prefix": prefix, **params}, None)
    operator = GenesysToElasticsearchOperator(
        task_id="extract_and_index",
        partition=partition.to_xcom(),
        run_config=config.to_xcom(),
        concurrency=concurrency,
        max_chunk_bytes=max_chunk_bytes,
    )
    context = {"ti": SimpleNamespace(try_number=try_number, map_index=0), "run_id": run_id}
    return operator.execute(context)  # type: ignore[arg-type]


# --- ground truth ----------------------------------------------------------------------------------


def source_conversations(sim: Any, start: datetime = DAY_START, end: datetime = DAY_END) -> dict[str, dict]:
    """Return the simulator's conversations that started in ``[start, end)``, by id (its clock now)."""
    out: dict[str, dict] = {}
    for conversation in sim.dataset.conversations(start, end):
        started = parse_time(conversation["conversationStart"])
        if started is not None and start <= started < end:
            out[conversation["conversationId"]] = conversation
    return out


def indexed_hits(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    """Return every document of every monthly index of a prefix (not only the alias), refreshed first."""
    es.indices.refresh(index=f"{prefix}-2*")
    resp = es.search(index=f"{prefix}-2*", size=10_000, query={"match_all": {}}, track_total_hits=True)
    assert resp["hits"]["total"]["value"] < 10_000, "scenario too large for one search page"
    return resp["hits"]["hits"]


def deadletter_hits(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    """Return the dead letters of a prefix."""
    index = f"{prefix}-deadletter"
    if not es.indices.exists(index=index):
        return []
    es.indices.refresh(index=index)
    return es.search(index=index, size=10_000)["hits"]["hits"]


def expected_source(conversation: dict[str, Any]) -> dict[str, Any]:
    """Return the ``_source`` the pipeline must have indexed for a conversation (without ``pipeline``)."""
    doc = build_document(conversation, pii=PiiPolicy(mode="drop"))
    doc.pop("pipeline")
    return json.loads(json.dumps(doc))


def assert_index_equals_source(
    es: Elasticsearch,
    prefix: str,
    source: dict[str, dict],
    *,
    deadlettered: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Assert zero lost, zero duplicated and current content; return the hits.

    :param source: the ground truth by id (:func:`source_conversations`).
    :param deadlettered: ids that must be in the dead-letter index instead of the monthly indices.
    """
    hits = indexed_hits(es, prefix)
    ids = [hit["_id"] for hit in hits]
    duplicates = [doc_id for doc_id, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"{len(duplicates)} conversation(s) indexed more than once: {duplicates[:5]}"
    expected_ids = set(source) - set(deadlettered)
    lost = expected_ids - set(ids)
    extra = set(ids) - expected_ids
    assert not lost, f"{len(lost)} conversation(s) lost: {sorted(lost)[:5]}"
    assert not extra, f"{len(extra)} unexpected document(s): {sorted(extra)[:5]}"
    stale = []
    for hit in hits:
        got = dict(hit["_source"])
        got.pop("pipeline", None)
        if got != expected_source(source[hit["_id"]]):
            stale.append(hit["_id"])
        assert hit["_index"] == f"{prefix}-{source[hit['_id']]['conversationStart'][:7].replace('-', '.')}"
    assert not stale, f"{len(stale)} document(s) differ from the source: {stale[:5]}"
    dead = {hit["_source"]["conversationId"] for hit in deadletter_hits(es, prefix)}
    assert dead == set(deadlettered), (
        f"dead letters {sorted(dead)[:5]} != expected {sorted(deadlettered)[:5]}"
    )
    return hits


def index_settings(es: Elasticsearch, index: str) -> dict[str, str | None]:
    """Return the bulk-time settings of an index as they are now."""
    flat = es.indices.get_settings(index=index, flat_settings=True)[index]["settings"]
    return {name: flat.get(name) for name in ("index.refresh_interval", "index.number_of_replicas")}


def leases(es: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    """Return the lease documents of a prefix's writer index."""
    index = f"{prefix}-writers"
    es.indices.refresh(index=index)
    resp = es.search(index=index, size=1000, query={"term": {"kind": "lease"}})
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def release_after_ttl(es: Elasticsearch, prefix: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run ``leases.release_expired`` as it would run once the lease TTL has passed."""
    from genesys_es import instants
    from genesys_es.load import leases

    later = datetime.now(UTC) + timedelta(seconds=leases.DEFAULT_LEASE_TTL_S + 1)
    with monkeypatch.context() as patch:
        patch.setattr(instants, "now", lambda: later)
        return leases.release_expired(es, prefix)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.1) -> bool:
    """Poll a predicate until it holds or the timeout passes; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def day_simulator(simulator_factory: Callable[..., Any], volume: int, **overrides: Any) -> Any:
    """Start a simulator whose :data:`DAY` holds exactly ``volume`` conversations."""
    return simulator_factory(
        conversations_per_day=volume, volume_overrides={DAY: volume}, rate_limit_per_minute=0, **overrides
    )
