"""A byte-bounded cache of rendered details-query pages whose answer can no longer change.

A page of a settled interval (every conversation it can match has ended) depends only on the request
body, so the simulator can keep its encoded JSON and answer the same request again without rendering.
Genesys' own CPU is not on the caller's machine; with the cache the simulator's is close to that too,
which is what a benchmark of the caller needs. Off by default (``response_cache_mb = 0``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedPage:
    """An encoded JSON answer and how many conversations it holds (for ``/_sim/stats``)."""

    body: bytes
    conversations: int


class PageCache:
    """Least-recently-used cache of rendered pages, keyed by the exact request body, bounded in bytes.

    :param max_bytes: total size of the cached bodies; 0 disables the cache.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must not be negative, got {max_bytes}")
        self.max_bytes = max_bytes
        self._pages: OrderedDict[bytes, RenderedPage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        """Return True when pages are kept."""
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        """Return the total size of the cached bodies."""
        return self._bytes

    def get(self, key: bytes) -> RenderedPage | None:
        """Return the cached page of a request body, or None.

        :param key: the raw request body.
        """
        if not self.enabled:
            return None
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: bytes, page: RenderedPage) -> None:
        """Keep a page, evicting the least recently used ones beyond the byte bound.

        :param key: the raw request body.
        :param page: its rendered answer.
        """
        size = len(key) + len(page.body)
        if not self.enabled or size > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._bytes -= len(key) + len(old.body)
            self._pages[key] = page
            self._bytes += size
            while self._bytes > self.max_bytes:
                evicted_key, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted_key) + len(evicted.body)

    def clear(self) -> None:
        """Forget every page (the clock moved back, or the simulator was reset)."""
        with self._lock:
            self._pages.clear()
            self._bytes = 0

    def snapshot(self) -> dict[str, int]:
        """Return counters for ``/_sim/stats``."""
        with self._lock:
            return {
                "pages": len(self._pages),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
            }
