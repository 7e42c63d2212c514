"""Produce an iterable's items in a thread ahead of their consumer, in order and bounded."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

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


def _put(handover: queue.Queue[Any], stop: threading.Event, value: Any) -> bool:
    """Put ``value`` into the hand-over queue unless the consumer stops first; return whether it went in."""
    while not stop.is_set():
        try:
            handover.put(value, timeout=_PUT_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _produce(items: Iterable[Any], batch: int, handover: queue.Queue[Any], stop: threading.Event) -> None:
    """Iterate ``items`` into the queue in lists of ``batch``, then ``_DONE`` or the failure; close ``items``."""
    iterator = iter(items)
    buffer: list[Any] = []
    try:
        for item in iterator:
            buffer.append(item)
            if len(buffer) >= batch:
                if not _put(handover, stop, buffer):
                    return
                buffer = []
        if buffer and not _put(handover, stop, buffer):
            return
        _put(handover, stop, _DONE)
    except BaseException as exc:  # handed to the consumer, which raises it
        if not buffer or _put(handover, stop, buffer):
            _put(handover, stop, _Failure(exc))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


class ReadAhead(Generic[T]):
    """Iterate over ``items`` while a thread, started at once, produces up to ``batch * max_batches`` ahead.

    A partition task builds documents and waits for Elasticsearch in turn; with the building in a thread,
    the next documents are made while a bulk request is in flight, so the task's CPU and the node's work
    overlap instead of alternating. The thread starts when the object is made, so the first pages are
    fetched while the task still sets up its index and leases. Items cross the thread boundary in lists
    of ``batch`` (one queue operation per list, not per item), and at most ``max_batches`` lists wait,
    which bounds memory.

    An exception in the producer is raised in the consumer, with its traceback, after every item produced
    before it. ``close()`` (or leaving the ``with`` block) stops the producer at its next item and closes
    ``items`` (so a page reader shuts down its fetch threads), waiting up to ``join_seconds`` for that.

    :param items: the iterable to produce; it is iterated (and closed) only in the producer thread.
    :param batch: items per hand-over.
    :param max_batches: hand-overs that may wait for the consumer.
    :param name: the producer thread's name.
    :param join_seconds: how long ``close()`` waits for the producer to finish.
    :raises ValueError: ``batch`` or ``max_batches`` is not positive.
    """

    def __init__(
        self,
        items: Iterable[T],
        *,
        batch: int = 100,
        max_batches: int = 10,
        name: str = "read-ahead",
        join_seconds: float = 30.0,
    ) -> None:
        if batch < 1 or max_batches < 1:
            raise ValueError(f"batch and max_batches must be positive, got {batch} and {max_batches}")
        self.name = name
        self.join_seconds = join_seconds
        self._handover: queue.Queue[Any] = queue.Queue(maxsize=max_batches)
        self._stop = threading.Event()
        self._current: list[T] = []
        self._position = 0
        self._finished = False
        # The thread gets the queue and the event, not ``self``: an abandoned ReadAhead can be collected,
        # and collecting it stops the thread.
        self._thread = threading.Thread(
            target=_produce, args=(items, batch, self._handover, self._stop), name=name, daemon=True
        )
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while self._position >= len(self._current):
            if self._finished:
                raise StopIteration
            value = self._handover.get()
            if value is _DONE or isinstance(value, _Failure):
                self.close()
                if value is _DONE:
                    raise StopIteration
                raise value.error
            self._current, self._position = value, 0
        item = self._current[self._position]
        self._position += 1
        return item

    def close(self) -> None:
        """Stop the producer and wait up to ``join_seconds`` for it to close its source."""
        self._finished = True
        self._current, self._position = [], 0
        self._stop.set()
        self._thread.join(self.join_seconds)
        if self._thread.is_alive():
            log.warning(
                "%s: the producer did not stop within %.0f s; leaving it behind", self.name, self.join_seconds
            )

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # An abandoned iterator must not leave its producer blocked on a full queue for good.
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
