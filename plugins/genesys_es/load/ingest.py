"""Turn pages of Genesys conversations into bulk actions for one partition (pure, no Airflow)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from genesys_es.extract.planning import Partition, belongs_to
from genesys_es.instants import now_ms
from genesys_es.load.index_setup import monthly_index
from genesys_es.transform.documents import InvalidConversationError, build_document
from genesys_es.transform.pii import PiiPolicy
from genesys_es.transform.serialization import dumps

log = logging.getLogger(__name__)


@dataclass
class PartitionStats:
    """Counters of one partition's extraction, reported in its summary."""

    pages: int = 0
    conversations: int = 0
    outside_partition: int = 0
    duplicates: int = 0
    to_index: int = 0
    open_conversations: int = 0
    invalid: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the counters as a small dict (invalid conversations only by count)."""
        data = asdict(self)
        data["invalid"] = len(self.invalid)
        return data


def page_conversations(
    pages: Iterable[Any],
    stats: PartitionStats,
    *,
    progress_every_s: float = 5.0,
    progress_every_pages: int = 10,
) -> Iterator[dict[str, Any]]:
    """Yield the conversations of pages in order, counting pages and logging progress.

    A progress line follows the first page, then every ``progress_every_pages`` pages or
    ``progress_every_s`` seconds, whichever comes first.

    :param pages: pages with a ``conversations`` list (``ConversationPage``).
    :param stats: counters updated in place.
    :param progress_every_s: most seconds between progress log lines.
    :param progress_every_pages: most pages between progress log lines.
    """
    last_log, last_pages = time.monotonic(), 0
    for page in pages:
        stats.pages += 1
        yield from page.conversations
        now = time.monotonic()
        first = stats.pages == 1  # the first page says the partition is under way
        if first or now - last_log >= progress_every_s or stats.pages - last_pages >= progress_every_pages:
            last_log, last_pages = now, stats.pages
            log.info(
                "progress: %d page(s) and %d conversation(s) read, %d to index",
                stats.pages,
                stats.conversations,
                stats.to_index,
            )


def conversation_actions(
    conversations: Iterable[Any],
    partition: Partition | None,
    *,
    index_prefix: str,
    pii: PiiPolicy,
    run_id: str | None,
    label: str | None,
    stats: PartitionStats,
    dedupe: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yield one index action per conversation that belongs to the partition.

    A conversation returned by a slice query but starting outside the slice belongs to another
    partition and is skipped here; one seen twice (``totalHits`` drift) is written once.
    A conversation that cannot become a document (no id, no start) is collected in
    ``stats.invalid`` for the dead-letter index instead of being dropped.

    :param conversations: conversation dicts as the details query returns them.
    :param partition: the partition being read, or ``None`` to keep every conversation.
    :param index_prefix: the index prefix (monthly indices are ``<prefix>-YYYY.MM``).
    :param pii: how to treat personal data.
    :param run_id: the Airflow run id stored in each document.
    :param label: the partition label stored in each document.
    :param stats: counters updated in place.
    :param dedupe: skip a conversation seen before (offset paging under ``totalHits`` drift); a job's
        cursor repeats none, and its slice may hold 300,000 ids: memory stays flat without the set.
    """
    seen: set[str] = set()
    for conversation in conversations:
        stats.conversations += 1
        try:
            source = build_document(conversation, pii=pii, run_id=run_id, partition=label)
        except InvalidConversationError as exc:
            stats.invalid.append({"conversation": conversation, "reason": str(exc)})
            continue
        conversation_id = source["conversationId"]
        if partition is not None and not belongs_to(conversation, partition):
            stats.outside_partition += 1
            continue
        if dedupe:
            if conversation_id in seen:
                stats.duplicates += 1
                continue
            seen.add(conversation_id)
        stats.to_index += 1
        if "conversationEnd" not in conversation:
            stats.open_conversations += 1
        yield {
            "_index": monthly_index(index_prefix, source["conversationStart"]),
            "_id": conversation_id,
            "_source": source,
        }


def index_conversations(
    es: Elasticsearch,
    conversations: Iterable[dict[str, Any]],
    *,
    index_prefix: str,
    pii: PiiPolicy,
    run_id: str | None,
    label: str,
) -> tuple[Any, PartitionStats]:
    """Index whole conversations fetched by id (open ones refreshed, missing ones repaired).

    Return the bulk result and the counters; refused documents go to the dead-letter index.

    :param es: the Elasticsearch client.
    :param conversations: conversation dicts as the details query returns them.
    :param index_prefix: the index prefix.
    :param pii: how to treat personal data.
    :param run_id: the Airflow run id stored in each document.
    :param label: what wrote them (stored as the document's partition).
    """
    from genesys_es.load.bulk import BulkWriter
    from genesys_es.load.index_setup import deadletter_index

    stats = PartitionStats()
    actions = conversation_actions(
        conversations, None, index_prefix=index_prefix, pii=pii, run_id=run_id, label=label, stats=stats
    )
    context = {"runId": run_id, "partition": label}
    result = BulkWriter(
        es, deadletter_index=deadletter_index(index_prefix), deadletter_context=context
    ).write(actions)
    result.deadlettered += deadletter_invalid(
        es, deadletter_index(index_prefix), stats.invalid, context, pii=pii
    )
    return result, stats


def serialized_actions(actions: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield the actions with ``_source`` as JSON bytes, the form the bulk body carries.

    Serializing as the documents are built holds the ones waiting in a bulk chunk (and for its retries) as
    bytes: a fraction of the memory of the dicts.

    :param actions: bulk actions whose ``_source`` is a dict (bytes pass through).
    """
    for action in actions:
        source = action.get("_source")
        if source is not None and not isinstance(source, bytes):
            action = {**action, "_source": dumps(source)}
        yield action


def deadletter_invalid(
    es: Elasticsearch,
    deadletter_index: str,
    invalid: list[dict[str, Any]],
    context: dict[str, Any],
    *,
    pii: PiiPolicy,
) -> int:
    """Store conversations that could not become documents in the dead-letter index; return how many.

    The stored source gets the run's PII policy, like every document: nothing personal leaks through it.

    :param es: the Elasticsearch client.
    :param deadletter_index: the dead-letter index.
    :param invalid: ``{"conversation", "reason"}`` items from :attr:`PartitionStats.invalid`.
    :param context: fields stored with each dead letter (run id, partition).
    :param pii: the run's PII policy.
    """
    if not invalid:
        return 0
    operations: list[Any] = []
    failed_at = now_ms()
    for position, item in enumerate(invalid):
        conversation = item["conversation"]
        conversation_id = conversation.get("conversationId") if isinstance(conversation, dict) else None
        doc_id = f"invalid|{context.get('partition')}|{conversation_id or position}"
        operations.append({"index": {"_index": deadletter_index, "_id": doc_id}})
        operations.append(
            dumps(
                {
                    **context,
                    "conversationId": conversation_id if isinstance(conversation_id, str) else None,
                    "index": None,
                    "opType": "extract",
                    "reason": item["reason"],
                    "type": "invalid_source_conversation",
                    "status": None,
                    "failedAt": failed_at,
                    "source": dumps(
                        pii.apply(conversation) if isinstance(conversation, dict) else conversation
                    ).decode("utf-8", errors="replace"),
                }
            )
        )
        log.warning("Dead-lettered an invalid source conversation: %s", item["reason"])
    response = es.bulk(operations=operations, refresh="wait_for")
    if response.get("errors"):
        raise RuntimeError(
            f"could not write invalid conversations to {deadletter_index}: {response['items'][0]}"
        )
    return len(invalid)
