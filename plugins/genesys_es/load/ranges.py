"""Scans and deletes over a range of conversation starts: every hit of a query, rebuild deletes, open ones."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from genesys_es.instants import format_ms, parse_strict
from genesys_es.load.bulk import BulkWriter

log = logging.getLogger(__name__)


def iter_hits(
    es: Elasticsearch,
    index: str,
    query: dict[str, Any],
    *,
    source: Any = False,
    page_size: int = 5000,
    keep_alive: str = "2m",
) -> Iterator[dict[str, Any]]:
    """Yield every hit of a query with a point in time and ``search_after`` (a missing index yields nothing).

    The index is refreshed first, so the scan sees what was just written (the last writer of a run
    refreshes too, but a scan must not depend on that).

    :param es: the Elasticsearch client.
    :param index: an index, alias or pattern.
    :param query: the query DSL.
    :param source: the ``_source`` filter (``False`` for ids only).
    :param page_size: hits per page.
    :param keep_alive: how long the point in time stays open between pages.
    """
    es.options(ignore_status=404).indices.refresh(index=index)
    opened = es.options(ignore_status=404).open_point_in_time(index=index, keep_alive=keep_alive)
    if opened.meta.status == 404:
        return
    pit_id = opened["id"]
    search_after: list[Any] | None = None
    try:
        while True:
            kwargs: dict[str, Any] = {"search_after": search_after} if search_after else {}
            resp = es.search(
                pit={"id": pit_id, "keep_alive": keep_alive},
                query=query,
                source=source,
                size=page_size,
                sort=[{"_shard_doc": "asc"}],
                track_total_hits=False,
                **kwargs,
            )
            pit_id = resp.get("pit_id", pit_id)
            hits = resp["hits"]["hits"]
            if not hits:
                return
            yield from hits
            search_after = hits[-1]["sort"]
    finally:
        es.options(ignore_status=404).close_point_in_time(id=pit_id)


def _start_range(start: str | datetime, end: str | datetime | None = None) -> dict[str, Any]:
    bounds = {"gte": _ms(start)}
    if end is not None:
        bounds["lt"] = _ms(end)
    return {"range": {"conversationStart": bounds}}


def _delete_hits(es: Elasticsearch, index_or_alias: str, hits: Iterable[dict[str, Any]], why: str) -> int:
    """Bulk-delete the given hits, refresh when anything went, and return how many were deleted."""
    actions = ({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]} for hit in hits)
    result = BulkWriter(es, deadletter_index=None).write(actions)
    if result.deleted:
        es.options(ignore_status=404).indices.refresh(index=index_or_alias)
        log.info("Deleted %d documents of %s %s", result.deleted, index_or_alias, why)
    return result.deleted


def delete_absent_at_source(
    es: Elasticsearch,
    index_or_alias: str,
    start: str | datetime,
    end: str | datetime,
    run_id: str,
    still_at_source: Callable[[list[str]], set[str]],
    *,
    batch_size: int = 1000,
) -> int:
    """Delete documents of [start, end) that run ``run_id`` did not write and the source no longer has.

    After every partition of a ``rebuild`` run succeeded, each conversation it read carries its run id in
    ``pipeline.runId``. The others are only candidates: another run (a concurrent one, or its refresh of
    open conversations) may have written them since. Each candidate is looked up at the source in batches,
    and only those it no longer has are deleted.

    :param es: the Elasticsearch client.
    :param index_or_alias: the read alias or a monthly index.
    :param start: range start (inclusive).
    :param end: range end (exclusive).
    :param run_id: the rebuild run's id.
    :param still_at_source: returns which of the given conversation ids the source still has.
    :param batch_size: candidates looked up per call.
    """
    query = {
        "bool": {
            "filter": [_start_range(start, end)],
            "must_not": [{"term": {"pipeline.runId": run_id}}],
        }
    }

    def absent() -> Iterator[dict[str, Any]]:
        hits = iter_hits(es, index_or_alias, query)
        while batch := list(itertools.islice(hits, batch_size)):
            present = still_at_source([hit["_id"] for hit in batch])
            yield from (hit for hit in batch if hit["_id"] not in present)

    return _delete_hits(es, index_or_alias, absent(), f"no longer at the source in [{start}, {end})")


def find_open_conversations(es: Elasticsearch, alias: str, since: str | datetime) -> list[dict[str, Any]]:
    """Return conversations indexed while still open with ``conversationStart >= since``, oldest first.

    :param es: the Elasticsearch client.
    :param alias: the read alias (or an index).
    :param since: earliest ``conversationStart`` to consider.
    """
    query = {"bool": {"filter": [{"term": {"derived.open": True}}, _start_range(since)]}}
    found = [
        {
            "conversationId": hit["_source"].get("conversationId", hit["_id"]),
            "conversationStart": hit["_source"].get("conversationStart"),
        }
        for hit in iter_hits(es, alias, query, source=["conversationId", "conversationStart"])
    ]
    return sorted(found, key=lambda item: (str(item["conversationStart"]), item["conversationId"]))


def _ms(value: str | datetime) -> str:
    """Return an instant (ISO string or datetime) formatted to the millisecond, or raise ValueError."""
    return format_ms(parse_strict(value))
