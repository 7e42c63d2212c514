"""Operator that reads one partition of Genesys conversation details and bulk-indexes it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator, Context, Variable
from airflow.sdk.exceptions import AirflowFailException

from genesys_es.exceptions import GenesysJobError, PartitionFailedError
from genesys_es.extract.jobs import RESUBMIT_STATES, ConversationJobs, JobPages
from genesys_es.extract.paging import ConversationPager
from genesys_es.extract.planning import Partition
from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
from genesys_es.hooks.genesys_cloud import GenesysCloudHook, genesys_hook
from genesys_es.load.bulk import DEFAULT_CHUNK_SIZE
from genesys_es.load.partition import PageSource, PartitionWrite, index_partition
from genesys_es.run_config import RunConfig
from genesys_es.triggers.genesys_job import GenesysJobTrigger

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

    A ``sync`` partition reads pages of the details query. A ``jobs`` partition submits a details job, waits
    for it deferred (:class:`~genesys_es.triggers.genesys_job.GenesysJobTrigger`, no worker slot held),
    then reads its results by cursor; a job that fails or expires is submitted again with backoff, and a job
    is deleted once read, when its task fails, or when a user kills the task. Writes are idempotent
    (``_id`` = ``conversationId``), so a retried partition changes no count.

    :param partition: the partition to read (a ``Partition.to_xcom()`` dict from the planner, which adds
        ``fresh_index`` to a jobs partition whose monthly index was empty when planned: that index is
        written with bulk-time settings, restored by its last writer).
    :param run_config: the run's settings (a ``RunConfig.to_xcom()`` dict).
    :param genesys_conn_id: the ``genesys_cloud`` connection.
    :param elasticsearch_conn_id: the ``elasticsearch`` connection.
    :param concurrency: pages fetched at once (sync path).
    :param max_chunk_bytes: upper bound of one bulk request body.
    :param chunk_size: upper bound of documents per bulk request (default ``bulk.DEFAULT_CHUNK_SIZE``).
    :param job_poll_seconds: seconds between two status requests of a job.
    :param job_attempts: most jobs submitted for one partition (a failed or expired job is resubmitted).
    :param job_backoff_seconds: wait before polling a resubmitted job, doubled at each attempt.
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
        job_poll_seconds: float = 10.0,
        job_attempts: int = 4,
        job_backoff_seconds: float = 30.0,
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
        self.job_poll_seconds = job_poll_seconds
        self.job_attempts = job_attempts
        self.job_backoff_seconds = job_backoff_seconds
        self._job_id: str | None = None
        self._es: Elasticsearch | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        """Index a sync partition, or submit a jobs partition's job and defer until it is ready."""
        config, part = RunConfig.from_xcom(self.run_config), Partition.from_xcom(self.partition)
        if part.label in config.chaos_fail_partitions and context["ti"].try_number == 1:
            raise PartitionFailedError(f"drill: partition {part.label} fails its first try on purpose")
        if part.path == "jobs":
            self.submit_and_defer(part, attempt=1)
        return self.index(context, lambda hook: ConversationPager(hook))

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, attempt: int = 1
    ) -> dict[str, Any]:
        """Read and index the fulfilled job's results, or resubmit a failed one, or fail with the reason."""
        part, event = Partition.from_xcom(self.partition), event or {}
        self._job_id, state = event.get("job_id"), event.get("state")
        if state == "FULFILLED":
            try:
                return self.index(context, lambda hook: JobPages(ConversationJobs(hook), str(self._job_id)))
            finally:
                self.delete_job()
        self.delete_job()
        if state in (*RESUBMIT_STATES, "GONE") and attempt < self.job_attempts:
            self.log.warning(
                "job of %s is %s (%s); submitting it again", part.label, state, event.get("error")
            )
            self.submit_and_defer(part, attempt=attempt + 1)
        raise GenesysJobError(
            f"partition {part.label}: job {event.get('job_id')} ended {state} ({event.get('error') or 'no message'}) "
            f"after {attempt} attempt(s)"
        )

    def submit_and_defer(self, part: Partition, attempt: int) -> NoReturn:
        """Submit the partition's job and defer to the triggerer until Genesys has prepared it."""
        with genesys_hook(self.genesys_conn_id, self.get_es()) as hook:
            try:
                job_id = ConversationJobs(hook).submit(part.start, part.end)
            except GenesysJobError as err:  # a missing permission: retrying changes nothing
                raise AirflowFailException(str(err)) from None
        # A job is never ready at once: the first poll waits one interval, a resubmission its backoff.
        delay = self.job_poll_seconds if attempt == 1 else self.job_backoff_seconds * 2 ** (attempt - 2)
        self.log.info(
            "partition %s: submitted job %s (attempt %d); waiting deferred", part.label, job_id, attempt
        )
        self.defer(
            trigger=GenesysJobTrigger(
                job_id, self.genesys_conn_id, self.elasticsearch_conn_id, self.job_poll_seconds, delay
            ),
            method_name="execute_complete",
            kwargs={"attempt": attempt},
        )

    def index(self, context: Context, source: Callable[[GenesysCloudHook], PageSource]) -> dict[str, Any]:
        """Index the partition's pages from ``source`` (built on this task's hook); return its summary."""
        config, part = RunConfig.from_xcom(self.run_config), Partition.from_xcom(self.partition)
        ti, run_id = context["ti"], context["run_id"]
        how = PartitionWrite(
            index_prefix=config.index_prefix,
            pii=pii_policy_for(config.pii),
            run_id=run_id,
            holder=f"{run_id}:{ti.map_index}".replace("|", "_"),  # one per partition: a retry takes over
            deadletter_threshold=config.deadletter_threshold,
            concurrency=self.concurrency,
            max_chunk_bytes=self.max_chunk_bytes,
            chunk_size=DEFAULT_CHUNK_SIZE if self.chunk_size is None else self.chunk_size,
            bulk_settings=bool(self.partition.get("fresh_index")),
            before_write=fail_fast_unless_writable,
        )
        with genesys_hook(self.genesys_conn_id, self.get_es(), max_concurrency=self.concurrency) as hook:
            return index_partition(self.get_es(), source(hook), part, how)

    def get_es(self) -> Elasticsearch:
        """Return the task's Elasticsearch client (built once)."""
        if self._es is None:
            self._es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        return self._es

    def delete_job(self) -> None:
        """Delete the partition's job, if any (its results are read, or no longer wanted)."""
        if self._job_id is None:
            return
        job_id, self._job_id = self._job_id, None
        with genesys_hook(self.genesys_conn_id, self.get_es()) as hook:
            deleted = ConversationJobs(hook).delete(job_id)
        self.log.info("job %s %s", job_id, "deleted" if deleted else "was already gone")

    def on_kill(self) -> None:
        """Delete the job being read when the task is killed."""
        self.delete_job()
