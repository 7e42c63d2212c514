"""Operator that reads one partition of Genesys conversation details and bulk-indexes it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context, Variable
from airflow.sdk.exceptions import AirflowFailException

from genesys_es.exceptions import PartitionFailedError

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

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


def fail_fast_unless_writable(es: Elasticsearch, index: str) -> None:
    """Raise at once, naming the index and why, when its primaries are not all assigned (red).

    Without this every bulk request waits a minute for the missing primary before it fails.

    :param es: the Elasticsearch client.
    :param index: the index about to be written.
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
        from genesys_es.load.bulk import DEFAULT_CHUNK_SIZE
        from genesys_es.load.partition import PartitionWrite, index_partition
        from genesys_es.run_config import RunConfig

        config, part = RunConfig.from_xcom(self.run_config), Partition.from_xcom(self.partition)
        ti, run_id = context["ti"], context["run_id"]
        if part.label in config.chaos_fail_partitions and ti.try_number == 1:
            raise PartitionFailedError(f"drill: partition {part.label} fails its first try on purpose")
        how = PartitionWrite(
            index_prefix=config.index_prefix,
            pii=pii_policy_for(config.pii),
            run_id=run_id,
            holder=f"{run_id}:{ti.map_index}".replace("|", "_"),  # one per partition: a retry takes over
            deadletter_threshold=config.deadletter_threshold,
            concurrency=self.concurrency,
            max_chunk_bytes=self.max_chunk_bytes,
            chunk_size=DEFAULT_CHUNK_SIZE if self.chunk_size is None else self.chunk_size,
            bulk_settings=self.bulk_settings,
            before_write=fail_fast_unless_writable,
        )
        es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        with GenesysCloudHook(
            self.genesys_conn_id, max_concurrency=self.concurrency, budget_store=ElasticsearchBudgetStore(es)
        ) as genesys:
            return index_partition(es, ConversationPager(genesys), part, how)
