"""Benchmark part 1: the raw bulk ceiling of the Elasticsearch node for the pipeline's own documents.

The benchmark day's conversations (the simulator's dataset, same seed and volume as the pipeline reads)
become the pipeline's real documents (``conversation_actions``, default PII policy), serialized once up front
into NDJSON bulk bodies. Only the posting is timed: ``threads`` threads send the bodies with the same index
settings the pipeline uses while writing (``refresh_interval: -1``, ``number_of_replicas: 0``), then one
refresh makes the documents searchable, as the pipeline's last writer does when it restores the settings.
The ceiling is the rate of that whole step; the rate of the posting alone is reported beside it (without
the refresh, the segments are still to be written when the clock stops: about 40 % of the node's work here).
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import DAY_END, DAY_START, count, es_client, prepare_index


def pipeline_documents(conversations_per_day: int, with_attributes: bool = False) -> list[tuple[str, bytes]]:
    """Return ``(id, serialized source)`` of the benchmark day's documents, built as the pipeline builds them.

    :param conversations_per_day: the day's volume.
    :param with_attributes: as the jobs API returns them (participant attributes included).
    """
    from bench.common import DAY
    from genesys_es.extract.planning import Partition
    from genesys_es.load.ingest import PartitionStats, conversation_actions
    from genesys_es.transform.pii import PiiPolicy
    from genesys_es.transform.serialization import dumps
    from include.genesys_simulator.config import SimulatorConfig
    from include.genesys_simulator.dataset import Dataset

    config = SimulatorConfig(seed=7, volume_overrides={DAY: conversations_per_day})
    dataset = Dataset(
        config.seed,
        config.conversations_per_day,
        config.volume_overrides,
        config.weekday_volume,
        now_ms=lambda: int(time.time() * 1000),
    )
    day = Partition(
        start=DAY_START, end=DAY_END, first_page=1, last_page=None, page_size=100, expected=0, label="day"
    )
    actions = conversation_actions(
        dataset.conversations(DAY_START, DAY_END, with_attributes=with_attributes),
        day,
        index_prefix="unused",
        pii=PiiPolicy(mode="drop"),
        run_id="bench__run",
        label="day",
        stats=PartitionStats(),
    )
    return [(a["_id"], dumps(a["_source"])) for a in actions]


def bodies(documents: list[tuple[str, bytes]], chunk_docs: int) -> list[bytes]:
    """Return NDJSON bulk bodies of ``chunk_docs`` documents (index given in the URL)."""
    from genesys_es.transform.serialization import dumps

    out = []
    for start in range(0, len(documents), chunk_docs):
        lines = []
        for doc_id, source in documents[start : start + chunk_docs]:
            lines.append(dumps({"index": {"_id": doc_id}}))
            lines.append(source)
        out.append(b"\n".join(lines) + b"\n")
    return out


def post(es_url: str, prefix: str, chunks: list[bytes], threads: int) -> tuple[float, float]:
    """Post pre-built bodies into a fresh index with ``threads`` threads, then refresh it.

    :return: seconds until the last bulk answer, and until the documents were searchable.
    """
    es = es_client(es_url, connections_per_node=max(10, threads * 2))
    index = prepare_index(es, prefix)
    es.indices.put_settings(
        index=index, settings={"index": {"refresh_interval": "-1", "number_of_replicas": 0}}
    )
    work = iter(chunks)
    lock = threading.Lock()
    errors: list[Any] = []

    def worker() -> None:
        while True:
            with lock:
                body = next(work, None)
            if body is None:
                return
            resp = es.bulk(index=index, operations=body)
            if resp.get("errors"):
                errors.append(next(i for i in resp["items"] if next(iter(i.values())).get("error")))

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    posted = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"ceiling bulk errors: {errors[0]}")
    es.indices.refresh(index=index)
    return posted, time.perf_counter() - started


def measure_grid(
    es_url: str,
    documents: list[tuple[str, bytes]],
    threads_options: tuple[int, ...],
    chunk_options: tuple[int, ...],
    prefix: str,
) -> list[dict[str, Any]]:
    """Measure each (threads, chunk size) once; return rows sorted best first."""
    rows = []
    for threads, chunk_docs in itertools.product(threads_options, chunk_options):
        chunks = bodies(documents, chunk_docs)
        posted, seconds = post(es_url, prefix, chunks, threads)
        es = es_client(es_url)
        indexed = count(es, prefix)
        rows.append(
            {
                "threads": threads,
                "chunk_docs": chunk_docs,
                "chunk_mb": round(sum(map(len, chunks)) / len(chunks) / 2**20, 2),
                "seconds": round(seconds, 2),
                "docs_per_s": round(indexed / seconds, 1),
                "posting_docs_per_s": round(indexed / posted, 1),
            }
        )
    return sorted(rows, key=lambda r: -r["docs_per_s"])
