"""A fair baseline: the same extraction, written the way a competent engineer would in an afternoon.

Pages of the day fetched by a thread pool (4 at once, pages in order), the same document transformation as
the pipeline, and ``elasticsearch.helpers.parallel_bulk`` (4 threads, 500-document chunks) with the
client's default serializer, on an index whose refresh is off while it loads (then one refresh, so the
documents are searchable when the clock stops, as the pipeline's are). No request budget, no retries, no
dead letters, no partitions: what the pipeline adds for trust, this leaves out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from bench.common import CLIENT_ID, CLIENT_SECRET, count

INTERVAL = "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z"
THREADS = 4


def run_parallel_baseline(es_url: str, sim_url: str, prefix: str, index: str) -> dict[str, float]:
    """Index the benchmark day with a thread pool and ``parallel_bulk``; return documents, seconds, docs/s."""
    from elasticsearch import Elasticsearch, helpers

    from genesys_es.transform.documents import build_document
    from genesys_es.transform.pii import PiiPolicy

    es = Elasticsearch(es_url, request_timeout=120, connections_per_node=THREADS * 2)
    pii = PiiPolicy(mode="drop")
    started = time.perf_counter()
    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=THREADS))
    token = http.post(
        f"{sim_url}/oauth/token", auth=(CLIENT_ID, CLIENT_SECRET), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{sim_url}/api/v2/analytics/conversations/details/query"

    def page(number: int) -> dict[str, Any]:
        body = {"interval": INTERVAL, "paging": {"pageSize": 100, "pageNumber": number}}
        response = http.post(url, json=body, headers=headers)
        response.raise_for_status()
        return response.json()

    first = page(1)
    pages = -(-first.get("totalHits", 0) // 100)

    def actions() -> Iterator[dict[str, Any]]:
        with ThreadPoolExecutor(THREADS) as pool:
            for result in [first, *pool.map(page, range(2, pages + 1))]:
                for conversation in result.get("conversations", []):
                    doc = build_document(conversation, pii=pii, run_id="baseline", partition="day")
                    yield {"_index": index, "_id": doc["conversationId"], "_source": doc}

    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": "-1"}})
    for ok, item in helpers.parallel_bulk(es, actions(), thread_count=THREADS, chunk_size=500):
        if not ok:
            raise RuntimeError(f"parallel_bulk refused a document: {item}")
    es.indices.put_settings(index=index, settings={"index": {"refresh_interval": None}})
    es.indices.refresh(index=index)
    seconds = time.perf_counter() - started
    indexed = count(es, prefix)
    return {"indexed": indexed, "seconds": round(seconds, 2), "docs_per_s": round(indexed / seconds, 1)}
