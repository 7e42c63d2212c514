"""One partition's pipeline: read its pages from Genesys, build documents, bulk-index them, report.

Testable without Airflow: the partition operator validates its arguments, builds the hooks and calls
:func:`index_partition`. Writes are idempotent (``_id`` = ``conversationId``), so a retried partition changes
no count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from elasticsearch import Elasticsearch

from genesys_es.exceptions import PartitionFailedError
from genesys_es.extract.planning import Partition
from genesys_es.load.bulk import DEFAULT_CHUNK_SIZE, BulkResult, BulkWriter
from genesys_es.load.gc_tuning import frozen_heap
from genesys_es.load.index_setup import deadletter_index, monthly_index
from genesys_es.load.ingest import (
    PartitionStats,
    conversation_actions,
    deadletter_invalid,
    page_conversations,
    serialized_actions,
)
from genesys_es.load.leases import WriterSession
from genesys_es.transform.pii import PiiPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionWrite:
    """How one partition is written.

    :param index_prefix: the index prefix.
    :param pii: the run's PII policy.
    :param run_id: the Airflow run id stored in each document.
    :param holder: the writer-lease holder (one per partition, so a retry takes over a killed try's lease).
    :param deadletter_threshold: most dead-lettered documents before the partition fails.
    :param concurrency: pages fetched at once.
    :param max_chunk_bytes: upper bound of one bulk request body.
    :param chunk_size: upper bound of documents per bulk request.
    :param bulk_settings: no replica and refresh off while writing (indices a backfill creates only).
    :param before_write: called with the client and the index once the lease is held, before the first bulk
        request; raises to stop the partition (the operator checks that the index is not red).
    """

    index_prefix: str
    pii: PiiPolicy
    run_id: str
    holder: str
    deadletter_threshold: int = 0
    concurrency: int = 4
    max_chunk_bytes: int = 8 * 1024 * 1024
    chunk_size: int = DEFAULT_CHUNK_SIZE
    bulk_settings: bool = False
    before_write: Callable[[Elasticsearch, str], None] | None = None


class PageSource(Protocol):
    """Where a partition's pages come from: the details query's pages or a job's results."""

    @property
    def transport(self) -> Any: ...

    def pages(self, part: Partition, concurrency: int) -> Iterable[Any]: ...


def index_partition(
    es: Elasticsearch, source: PageSource, part: Partition, how: PartitionWrite
) -> dict[str, Any]:
    """Read a partition's pages and index its conversations; return the partition's small summary.

    :param es: the Elasticsearch client.
    :param source: reads the partition's pages from Genesys (a ``ConversationPager`` or ``JobPages``).
    :param part: the partition (sub-interval and page range).
    :param how: where and how to write.
    :raises PartitionFailedError: more documents were dead-lettered than allowed.
    """
    if how.concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {how.concurrency}")
    index, dead = monthly_index(how.index_prefix, part.start), deadletter_index(how.index_prefix)
    context = {"runId": how.run_id, "partition": part.label}
    stats, started = PartitionStats(), time.monotonic()
    log.info(
        "partition %s: pages %s..%s of %s..%s (about %d conversations) into %s",
        part.label,
        part.first_page,
        part.last_page if part.last_page is not None else "end",
        part.start.isoformat(),
        part.end.isoformat(),
        part.expected,
        index,
    )
    with frozen_heap():
        pages = source.pages(part, how.concurrency)
        actions = conversation_actions(
            page_conversations(pages, stats),
            part,
            index_prefix=how.index_prefix,
            pii=how.pii,
            run_id=how.run_id,
            label=part.label,
            stats=stats,
            dedupe=part.path == "sync",
        )
        writer = BulkWriter(
            es,
            deadletter_index=dead,
            max_chunk_bytes=how.max_chunk_bytes,
            chunk_size=how.chunk_size,
            deadletter_context=context,
        )
        result = _write_under_lease(writer, serialized_actions(actions), pages, how, index)
    invalid = deadletter_invalid(es, dead, stats.invalid, context, pii=how.pii)
    summary = _summary(part, index, stats, result, invalid, source.transport, time.monotonic() - started)
    log.info(
        "partition %s done: %d pages, %d conversations read, %d indexed (%d new, %d updated), "
        "%d dead-lettered, %d Genesys requests (%d retried) in %.1f s",
        part.label,
        summary["pages"],
        summary["conversations"],
        summary["indexed"],
        summary["created"],
        summary["updated"],
        summary["deadlettered"],
        summary["api_requests"],
        summary["api_retries"],
        summary["seconds"],
    )
    if summary["deadlettered"] > how.deadletter_threshold:
        raise PartitionFailedError(
            f"partition {part.label}: {summary['deadlettered']} document(s) dead-lettered in {dead} "
            f"(threshold {how.deadletter_threshold})"
        )
    return summary


def _write_under_lease(
    writer: BulkWriter,
    actions: Generator[dict[str, Any], None, None],
    pages: Any,
    how: PartitionWrite,
    index: str,
) -> BulkResult:
    """Write the actions while holding the index's writer lease; return the bulk result.

    The actions and the page reader under them are closed before the lease is released (the reader's
    fetch threads stop), so no page is fetched after the lease ends.
    """
    with WriterSession(writer.es, how.index_prefix, [index], how.holder, bulk_settings=how.bulk_settings):
        try:
            if how.before_write is not None:
                how.before_write(writer.es, index)
            return writer.write(actions)
        finally:
            actions.close()
            pages.close()


def _summary(
    part: Partition,
    index: str,
    stats: PartitionStats,
    result: BulkResult,
    invalid: int,
    transport: Any,
    seconds: float,
) -> dict[str, Any]:
    return {
        "label": part.label,
        "path": part.path,
        "index": index,
        "pages": stats.pages,
        "conversations": stats.conversations,
        "outside_partition": stats.outside_partition,
        "duplicates": stats.duplicates,
        "open": stats.open_conversations,
        "indexed": result.indexed,
        "created": result.created,
        "updated": result.updated,
        "deadlettered": result.deadlettered + invalid,
        "api_requests": transport.stats.get("requests", 0),
        "api_retries": transport.retries,
        "bulk_retried_items": result.retried_items,
        "bytes": result.bytes,
        "seconds": round(seconds, 2),
        "docs_per_s": round(result.indexed / seconds, 1) if seconds > 0 else 0.0,
    }
