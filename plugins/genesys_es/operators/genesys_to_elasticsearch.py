"""Operator that reads one partition of Genesys conversation details and bulk-indexes it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context, Variable
from airflow.sdk.exceptions import AirflowFailException

if TYPE_CHECKING:
    from genesys_es.load.bulk import BulkResult, BulkWriter
    from genesys_es.load.read_ahead import ReadAhead

#: The HMAC key's Variable; "secret" in its name makes Airflow mask it in the UI and in logs.
PII_KEY_VARIABLE = "genesys_es_pii_secret"
#: The name used before 0.2 (not masked by Airflow); still read, with a warning to rename it.
OLD_PII_KEY_VARIABLE = "genesys_es_pii_key"


def _pii_key() -> str | None:
    """Return the HMAC key from its Variable (or the old one, masked from here on), or None."""
    key = Variable.get(PII_KEY_VARIABLE, default=None)
    if key is None and (key := Variable.get(OLD_PII_KEY_VARIABLE, default=None)) is not None:
        from airflow.sdk.log import mask_secret

        mask_secret(key)
        logging.getLogger(__name__).warning(
            "the PII key is read from the Variable %r, which Airflow does not mask in the UI: "
            "rename it to %r",
            OLD_PII_KEY_VARIABLE,
            PII_KEY_VARIABLE,
        )
    return key


class PartitionFailedError(RuntimeError):
    """Raised when a partition cannot be completed (the task is retried)."""


def pii_policy_for(mode: str):
    """Return the PII policy of a run; ``hash`` reads its key from the Variable ``genesys_es_pii_secret``.

    A missing or short key is a configuration error: the task fails at once, without retries.

    :param mode: ``hash``, ``drop`` or ``keep``.
    """
    from genesys_es.transform.pii import PiiPolicy

    key = _pii_key() if mode == "hash" else None
    if mode == "hash" and not key:
        raise AirflowFailException(
            f"pii=hash needs a secret key in the Airflow Variable {PII_KEY_VARIABLE!r} "
            "(at least 16 characters); set it, or choose pii=drop"
        )
    try:
        return PiiPolicy(mode=mode, key=key.encode("utf-8") if key else None)
    except ValueError as exc:
        raise AirflowFailException(f"{exc} (Variable {PII_KEY_VARIABLE!r})") from None


def _fail_fast_unless_writable(es: Any, index: str) -> None:
    """Raise at once, naming the index and why, when its primaries are not all assigned (red).

    Without this every bulk request waits a minute for the missing primary before it fails.
    """
    from genesys_es.verify.health import check_health

    state = check_health(es, index, "yellow", wait_seconds=10, check_blocks=False)
    if state.status == "red" or any(p.status in ("red", "missing", "unavailable") for p in state.problems):
        raise PartitionFailedError(f"cannot write to {index}: {state.message()}")


class GenesysToElasticsearchOperator(BaseOperator):
    """Read one partition of Genesys Cloud conversation details and bulk-index it into Elasticsearch.

    Writes are idempotent (``_id`` = ``conversationId``), so a retried partition changes no count.

    :param partition: the partition to read (a ``Partition.to_xcom()`` dict from the planner).
    :param run_config: the run's settings (a ``RunConfig.to_xcom()`` dict).
    :param genesys_conn_id: the ``genesys_cloud`` connection.
    :param elasticsearch_conn_id: the ``elasticsearch`` connection.
    :param concurrency: pages fetched at once.
    :param max_chunk_bytes: upper bound of one bulk request body.
    :param chunk_size: upper bound of documents per bulk request (default ``bulk.DEFAULT_CHUNK_SIZE``).
    :param bulk_settings: no replica and refresh off while writing (restored by the last writer); only for
        indices nobody searches yet, such as those a backfill creates. The daily path leaves them off.
    """

    template_fields: Sequence[str] = ("partition", "run_config")
    ui_color = "#f4a460"

    def __init__(
        self,
        *,
        partition: dict[str, Any],
        run_config: dict[str, Any],
        genesys_conn_id: str = "genesys_cloud_default",
        elasticsearch_conn_id: str = "elasticsearch_default",
        concurrency: int = 4,
        max_chunk_bytes: int = 8 * 1024 * 1024,
        chunk_size: int | None = None,
        bulk_settings: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.partition = partition
        self.run_config = run_config
        self.genesys_conn_id = genesys_conn_id
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.concurrency = concurrency
        self.max_chunk_bytes = max_chunk_bytes
        self.chunk_size = chunk_size
        self.bulk_settings = bulk_settings

    def execute(self, context: Context) -> dict[str, Any]:
        """Extract the partition's pages, index them and return a small summary."""
        from genesys_es.extract.paging import ConversationPager
        from genesys_es.extract.planning import Partition
        from genesys_es.extract.shared_budget import ElasticsearchBudgetStore
        from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
        from genesys_es.hooks.genesys_cloud import GenesysCloudHook
        from genesys_es.load.bulk import DEFAULT_CHUNK_SIZE, BulkWriter
        from genesys_es.load.gc_tuning import frozen_heap
        from genesys_es.load.index_setup import deadletter_index, monthly_index
        from genesys_es.load.ingest import (
            PartitionStats,
            conversation_actions,
            deadletter_invalid,
            page_conversations,
            serialized_actions,
        )
        from genesys_es.load.read_ahead import ReadAhead
        from genesys_es.run_config import RunConfig

        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        config = RunConfig.from_xcom(self.run_config)
        part = Partition.from_xcom(self.partition)
        ti = context["ti"]
        run_id = context["run_id"]
        if part.label in config.chaos_fail_partitions and ti.try_number == 1:
            raise PartitionFailedError(f"drill: partition {part.label} fails its first try on purpose")

        pii = pii_policy_for(config.pii)
        es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        genesys = GenesysCloudHook(
            genesys_conn_id=self.genesys_conn_id,
            max_concurrency=self.concurrency,
            budget_store=ElasticsearchBudgetStore(es),
        )
        index = monthly_index(config.index_prefix, part.start)
        # One holder per partition, not per try: a retry takes over the lease of a killed try.
        holder = f"{run_id}:{ti.map_index}".replace("|", "_")
        stats = PartitionStats()
        started = time.monotonic()
        self.log.info(
            "partition %s: pages %s..%s of %s..%s (about %d conversations) into %s",
            part.label,
            part.first_page,
            part.last_page if part.last_page is not None else "end",
            part.start.isoformat(),
            part.end.isoformat(),
            part.expected,
            index,
        )
        try:
            with frozen_heap():
                pages = ConversationPager(genesys).iter_pages(
                    part.start,
                    part.end,
                    first_page=part.first_page,
                    last_page=part.last_page,
                    page_size=part.page_size,
                    concurrency=self.concurrency,
                )
                actions = conversation_actions(
                    page_conversations(pages, stats),
                    part,
                    index_prefix=config.index_prefix,
                    pii=pii,
                    run_id=run_id,
                    label=part.label,
                    stats=stats,
                )
                # From here a thread fetches, builds and serializes: the first pages arrive while the
                # index and the leases are set up, the next ones while a bulk request is in flight.
                with ReadAhead(serialized_actions(actions), name=f"build {part.label}") as ahead:
                    writer = BulkWriter(
                        es,
                        deadletter_index=deadletter_index(config.index_prefix),
                        max_chunk_bytes=self.max_chunk_bytes,
                        chunk_size=DEFAULT_CHUNK_SIZE if self.chunk_size is None else self.chunk_size,
                        deadletter_context={"runId": run_id, "partition": part.label},
                    )
                    result = self._write_under_lease(writer, ahead, config.index_prefix, index, holder)
            invalid = deadletter_invalid(
                es,
                deadletter_index(config.index_prefix),
                stats.invalid,
                {"runId": run_id, "partition": part.label},
                pii=pii,
            )
        finally:
            genesys.close()
        seconds = time.monotonic() - started
        deadlettered = result.deadlettered + invalid
        summary = {
            "label": part.label,
            "index": index,
            "pages": stats.pages,
            "conversations": stats.conversations,
            "outside_partition": stats.outside_partition,
            "duplicates": stats.duplicates,
            "open": stats.open_conversations,
            "indexed": result.indexed,
            "created": result.created,
            "updated": result.updated,
            "deadlettered": deadlettered,
            "api_requests": genesys.stats.get("requests", 0),
            "api_retries": genesys.retries,
            "bulk_retried_items": result.retried_items,
            "bytes": result.bytes,
            "seconds": round(seconds, 2),
            "docs_per_s": round(result.indexed / seconds, 1) if seconds > 0 else 0.0,
        }
        self.log.info("partition %s done: %s", part.label, summary)
        if deadlettered > config.deadletter_threshold:
            raise PartitionFailedError(
                f"partition {part.label}: {deadlettered} document(s) dead-lettered in "
                f"{deadletter_index(config.index_prefix)} (threshold {config.deadletter_threshold})"
            )
        return summary

    def _write_under_lease(
        self,
        writer: BulkWriter,
        ahead: ReadAhead[dict[str, Any]],
        prefix: str,
        index: str,
        holder: str,
    ) -> BulkResult:
        """Write the read-ahead's actions while holding the index's writer lease; return the bulk result.

        The read-ahead is closed before the lease is released, so no page is fetched after the lease ends.
        """
        from genesys_es.load.index_setup import bulk_write_session

        with bulk_write_session(writer.es, prefix, [index], holder, bulk_settings=self.bulk_settings):
            try:
                _fail_fast_unless_writable(writer.es, index)
                return writer.write(ahead)
            finally:
                ahead.close()
