"""Benchmark part 3: the naive baseline, written the way tutorials do it.

One sequential page loop over the whole day with ``requests`` (``response.json()``), the same document
transformation as the pipeline (so both do the same work per conversation), and the client's
``helpers.bulk`` with its default (stdlib ``json``) serializer in 200-document batches. No concurrency, no
bulk-time index settings, no byte-bounded chunks.
"""

from __future__ import annotations

import time

import requests

from bench.common import CLIENT_ID, CLIENT_SECRET, count


def run_baseline(es_url: str, sim_url: str, prefix: str, index: str) -> dict[str, float]:
    """Index the benchmark day naively into ``index``; return documents, seconds and docs/s."""
    from elasticsearch import Elasticsearch, helpers

    from genesys_es.transform.documents import build_document
    from genesys_es.transform.pii import PiiPolicy

    es = Elasticsearch(es_url, request_timeout=120)
    pii = PiiPolicy(mode="drop")
    started = time.perf_counter()
    http = requests.Session()
    token = http.post(
        f"{sim_url}/oauth/token",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    batch: list[dict] = []
    page = 1
    while True:
        body = {
            "interval": "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z",
            "paging": {"pageSize": 100, "pageNumber": page},
        }
        response = http.post(
            f"{sim_url}/api/v2/analytics/conversations/details/query", json=body, headers=headers
        )
        response.raise_for_status()
        conversations = response.json().get("conversations", [])
        if not conversations:
            break
        for conversation in conversations:
            doc = build_document(conversation, pii=pii, run_id="baseline", partition="day")
            batch.append({"_index": index, "_id": doc["conversationId"], "_source": doc})
            if len(batch) == 200:
                helpers.bulk(es, batch)
                batch = []
        page += 1
    if batch:
        helpers.bulk(es, batch)
    seconds = time.perf_counter() - started
    indexed = count(es, prefix)
    return {"indexed": indexed, "seconds": round(seconds, 2), "docs_per_s": round(indexed / seconds, 1)}
