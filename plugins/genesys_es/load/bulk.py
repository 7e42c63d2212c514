"""Byte-bounded streaming bulk writer with 429 retry, a dead-letter index, and range helpers.

Sources are serialized once with orjson; ``elasticsearch.helpers.streaming_bulk`` groups them into
chunks of at most ``max_chunk_bytes`` and re-sends rejected items (429, and 503 when a shard is not
ready) with exponential backoff. An item Elasticsearch refuses for good (status 400: mapping or parse
errors) goes to the dead-letter index with its reason. Anything else that still fails after the
retries raises :class:`BulkWriteError`: nothing is silently dropped.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch
from elasticsearch.helpers import streaming_bulk

from genesys_es.instants import now_ms
from genesys_es.transform.serialization import dumps

log = logging.getLogger(__name__)

#: Item statuses that are re-sent with backoff.
RETRY_STATUSES: tuple[int, ...] = (429, 503)
#: Item statuses that mean "this document is wrong": dead-lettered, never retried.
PERMANENT_STATUSES: tuple[int, ...] = (400,)
OP_TYPES = ("index", "create", "delete")
MAX_REASON_CHARS = 4000


@dataclass
class BulkResult:
    """What one :meth:`BulkWriter.write` call did."""

    indexed: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    not_found: int = 0
    deadlettered: int = 0
    retried_items: int = 0
    retried_requests: int = 0
    failed_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes: int = 0
    requests: int = 0
    largest_chunk_bytes: int = 0
    chunk_bytes: list[int] = field(default_factory=list, repr=False)

    @property
    def docs_per_second(self) -> float:
        """Return indexed documents per second."""
        return self.indexed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a small JSON-friendly summary (for XCom and logs)."""
        data = asdict(self)
        data.pop("chunk_bytes")
        data["seconds"] = round(self.seconds, 3)
        data["docs_per_second"] = round(self.docs_per_second, 1)
        return data


class BulkWriteError(RuntimeError):
    """Raised when items were neither written nor dead-lettered; carries the partial result.

    :param message: what went wrong.
    :param result: the counts so far (``failed_ids`` lists the items that were not written).
    :param failures: ``{"_id", "_index", "status", "type", "reason"}`` per failed item (first 100).
    """

    def __init__(
        self, message: str, result: BulkResult, failures: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.result = result
        self.failures = failures or []


class _RecordingClient:
    """Delegate to a client and record each bulk request's size and per-item rejections."""

    def __init__(self, client: Elasticsearch, result: BulkResult, rejected: list[int]) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_result", result)
        object.__setattr__(self, "_rejected", rejected)

    def options(self, **kwargs: Any) -> _RecordingClient:
        return _RecordingClient(self._client.options(**kwargs), self._result, self._rejected)

    def bulk(self, *args: Any, operations: list[bytes], **kwargs: Any) -> Any:
        size = sum(len(line) + 1 for line in operations)
        result = self._result
        result.requests += 1
        result.bytes += size
        result.chunk_bytes.append(size)
        result.largest_chunk_bytes = max(result.largest_chunk_bytes, size)
        try:
            resp = self._client.bulk(*args, operations=operations, **kwargs)
        except ApiError as exc:
            if exc.status_code in RETRY_STATUSES:
                result.retried_requests += 1
            raise
        if resp.body.get("errors"):
            self._rejected[0] += sum(
                1 for item in resp.body["items"] if next(iter(item.values())).get("status") in RETRY_STATUSES
            )
        return resp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._client, name, value)


#: Documents per bulk request: 250 (about 1 MB) beat 500 and 1000 with the node on its own core and matched
#: them on shared cores (docs/benchmarks.md); four partition tasks keep the node busy between requests.
DEFAULT_CHUNK_SIZE = 250


def _error_parts(error: Any) -> tuple[str, str, str | None]:
    """Return (type, reason, caused_by reason) of a bulk item error."""
    if isinstance(error, dict):
        caused = error.get("caused_by")
        caused_reason = caused.get("reason") if isinstance(caused, dict) else None
        return str(error.get("type", "unknown")), str(error.get("reason", error)), caused_reason
    return "unknown", str(error), None


class BulkWriter:
    """Write conversation documents with streaming bulk, retries and a dead-letter index.

    :param es: the Elasticsearch client.
    :param deadletter_index: where refused documents go (``None``: refused documents raise instead).
    :param max_chunk_bytes: upper bound of one bulk request body, in bytes.
    :param chunk_size: upper bound of actions per bulk request.
    :param max_retries: how often a rejected (429/503) item is re-sent.
    :param initial_backoff: seconds before the first re-send (doubles each time).
    :param max_backoff: longest wait between re-sends, in seconds.
    :param deadletter_context: extra fields stored with every dead letter (e.g. ``runId``, ``partition``).
    """

    def __init__(
        self,
        es: Elasticsearch,
        *,
        deadletter_index: str | None,
        max_chunk_bytes: int = 8 * 1024 * 1024,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_retries: int = 6,
        initial_backoff: float = 0.5,
        max_backoff: float = 30,
        deadletter_context: dict[str, Any] | None = None,
    ) -> None:
        if max_chunk_bytes < 1024:
            raise ValueError(f"max_chunk_bytes must be at least 1024, got {max_chunk_bytes}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        if max_retries < 0 or initial_backoff < 0 or max_backoff < 0:
            raise ValueError("max_retries, initial_backoff and max_backoff must not be negative")
        self.es = es
        self.deadletter_index = deadletter_index
        self.max_chunk_bytes = max_chunk_bytes
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.deadletter_context = dict(deadletter_context or {})

    def write(self, actions: Iterable[dict[str, Any]]) -> BulkResult:
        """Write actions (``{"_index", "_id", "_source"}``, or ``"_op_type": "delete"``) and return counts.

        :param actions: an iterable (consumed lazily) of bulk actions.
        :raises BulkWriteError: an item was neither written nor dead-lettered, or a request failed.
        """
        result = BulkResult()
        rejected = [0, 0]  # items answered with a retry status; of those, finally failed
        pending: dict[tuple[str, str], deque[bytes | None]] = defaultdict(deque)
        deadletters: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        started = time.perf_counter()

        def expand(action: dict[str, Any]) -> tuple[dict[str, Any], bytes | None]:
            op_type = action.get("_op_type", "index")
            if op_type not in OP_TYPES:
                raise ValueError(f"unsupported _op_type {op_type!r}; use one of {', '.join(OP_TYPES)}")
            index, doc_id = action.get("_index"), action.get("_id")
            if not index or not doc_id:
                raise ValueError("every bulk action needs _index and _id")
            header = {op_type: {"_index": index, "_id": doc_id}}
            if op_type == "delete":
                pending[(index, doc_id)].append(None)
                return header, None
            source = action.get("_source")
            if source is None:
                raise ValueError(f"action for {index}/{doc_id} has no _source")
            data = source if isinstance(source, bytes) else dumps(source)
            pending[(index, doc_id)].append(data)
            return header, data

        client = _RecordingClient(self.es, result, rejected)
        try:
            for ok, item in streaming_bulk(
                client,  # type: ignore[arg-type]
                actions,
                chunk_size=self.chunk_size,
                max_chunk_bytes=self.max_chunk_bytes,
                expand_action_callback=expand,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
                retry_on_status=RETRY_STATUSES,
            ):
                op_type, info = next(iter(item.items()))
                key = (info.get("_index", ""), info.get("_id", ""))
                queue = pending.get(key)
                data = queue.popleft() if queue else None
                if queue is not None and not queue:
                    del pending[key]
                status = int(info.get("status", 500))
                if ok:
                    self._count_ok(result, op_type, info)
                elif op_type == "delete" and status == 404:
                    result.not_found += 1
                elif status in PERMANENT_STATUSES and self.deadletter_index and op_type != "delete":
                    deadletters.append(self._deadletter_doc(info, op_type, status, data))
                    if len(deadletters) >= 100:
                        self._flush_deadletters(deadletters, result)
                else:
                    result.failed_ids.append(str(key[1]))
                    if status in RETRY_STATUSES:
                        rejected[1] += 1
                    error_type, reason, _ = _error_parts(info.get("error"))
                    if len(failures) < 100:
                        failures.append(
                            {
                                "_id": key[1],
                                "_index": key[0],
                                "status": status,
                                "type": error_type,
                                "reason": reason[:MAX_REASON_CHARS],
                            }
                        )
        except ApiError as exc:
            self._finish(result, deadletters, started, rejected)
            raise BulkWriteError(
                f"bulk request failed with {exc.status_code}: {exc}", result, failures
            ) from exc
        self._finish(result, deadletters, started, rejected)
        if result.failed_ids:
            sample = ", ".join(f"{f['_id']} ({f['status']} {f['type']})" for f in failures[:5])
            raise BulkWriteError(
                f"{len(result.failed_ids)} document(s) were neither written nor dead-lettered after "
                f"{self.max_retries} retries: {sample}",
                result,
                failures,
            )
        log.info(
            "bulk write: %d document(s) indexed (%d new, %d updated), %d dead-lettered, %d request(s), "
            "%.1f MB in %.1f s (%.0f docs/s)",
            result.indexed,
            result.created,
            result.updated,
            result.deadlettered,
            result.requests,
            result.bytes / 2**20,
            result.seconds,
            result.docs_per_second,
        )
        return result

    def _finish(
        self, result: BulkResult, deadletters: list[dict[str, Any]], started: float, rejected: list[int]
    ) -> None:
        self._flush_deadletters(deadletters, result)
        # Items rejected with a retry status were re-sent, except those that finally failed.
        result.retried_items = max(0, rejected[0] - rejected[1])
        result.seconds = time.perf_counter() - started

    @staticmethod
    def _count_ok(result: BulkResult, op_type: str, info: dict[str, Any]) -> None:
        outcome = info.get("result")
        if op_type == "delete":
            result.deleted += 1
            return
        result.indexed += 1
        if outcome == "created":
            result.created += 1
        elif outcome in ("updated", "noop"):
            result.updated += 1

    def _deadletter_doc(
        self, info: dict[str, Any], op_type: str, status: int, data: bytes | None
    ) -> dict[str, Any]:
        error_type, reason, caused_by = _error_parts(info.get("error"))
        return {
            **self.deadletter_context,
            "conversationId": info.get("_id"),
            "index": info.get("_index"),
            "opType": op_type,
            "reason": reason[:MAX_REASON_CHARS],
            "type": error_type,
            "causedBy": caused_by,
            "status": status,
            "failedAt": now_ms(),
            "source": data.decode("utf-8", errors="replace") if data is not None else None,
        }

    def _flush_deadletters(self, deadletters: list[dict[str, Any]], result: BulkResult) -> None:
        """Write buffered dead letters (``_id`` = ``<index>|<conversationId>``, so re-runs overwrite)."""
        if not deadletters:
            return
        operations: list[Any] = []
        for doc in deadletters:
            operations.append(
                {"index": {"_index": self.deadletter_index, "_id": f"{doc['index']}|{doc['conversationId']}"}}
            )
            operations.append(dumps(doc))
        resp = self.es.bulk(operations=operations, refresh="wait_for")
        failed = [
            next(iter(item.values())) for item in resp["items"] if next(iter(item.values())).get("error")
        ]
        if failed:
            ids = [str(item.get("_id")) for item in failed]
            result.failed_ids.extend(ids)
            raise BulkWriteError(
                f"could not write {len(failed)} dead letter(s): {failed[0].get('error')}", result
            )
        result.deadlettered += len(deadletters)
        for doc in deadletters:
            log.warning(
                "Dead-lettered %s in %s: %s %s",
                doc["conversationId"],
                doc["index"],
                doc["type"],
                doc["reason"][:300],
            )
        deadletters.clear()
