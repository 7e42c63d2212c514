"""Produce an iterable's items in a thread ahead of their consumer, in order and bounded."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_DONE = object()
#: Seconds a put waits before it checks again whether the consumer stopped.
_PUT_POLL_SECONDS = 0.1


class _Failure:
    """An exception raised by the producer, carried to the consumer."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(
    items: Iterable[T],
    *,
    batch: int = 100,
    max_batches: int = 10,
    name: str = "read-ahead",
    join_seconds: float = 30.0,
) -> Iterator[T]:
    """Yield the items of ``items`` in order while a thread produces up to ``batch * max_batches`` ahead.

    A partition task builds documents and waits for Elasticsearch in turn; with the building in a thread,
    the next documents are made while a bulk request is in flight, so the task's CPU and the node's work
    overlap instead of alternating. Items cross the thread boundary in lists of ``batch`` (one queue
    operation per list, not per item), and at most ``max_batches`` lists wait, which bounds memory.

    An exception in the producer is raised in the consumer, with its traceback, after every item produced
    before it. When the consumer stops early (an exception, ``close()``), the producer stops at its next
    item and closes ``items`` (so a page reader shuts down its fetch threads); the consumer waits up to
    ``join_seconds`` for that.

    :param items: the iterable to produce; it is iterated (and closed) only in the producer thread.
    :param batch: items per hand-over.
    :param max_batches: hand-overs that may wait for the consumer.
    :param name: the producer thread's name.
    :param join_seconds: how long an early stop waits for the producer to finish.
    :raises ValueError: ``batch`` or ``max_batches`` is not positive.
    """
    if batch < 1 or max_batches < 1:
        raise ValueError(f"batch and max_batches must be positive, got {batch} and {max_batches}")
    handover: queue.Queue[Any] = queue.Queue(maxsize=max_batches)
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                handover.put(value, timeout=_PUT_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        buffer: list[T] = []
        try:
            for item in iterator:
                buffer.append(item)
                if len(buffer) >= batch:
                    if not put(buffer):
                        return
                    buffer = []
            if buffer and not put(buffer):
                return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            if not buffer or put(buffer):
                put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            value = handover.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield from value
    finally:
        stop.set()
        thread.join(join_seconds)
        if thread.is_alive():
            log.warning("%s: the producer did not stop within %.0f s; leaving it behind", name, join_seconds)
