"""Per-token request budget (fixed one-minute windows) and the inin-ratelimit-* headers."""

from __future__ import annotations

import math
import threading
import time

WINDOW_SECONDS = 60.0
UNLIMITED_ALLOWED = 1_000_000  # advertised budget when limiting is disabled


class RateLimiter:
    """Allow `per_minute` API requests per token per window; None or 0 disables limiting."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute or 0
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    @property
    def enabled(self) -> bool:
        """Return whether limiting is on."""
        return self.per_minute > 0

    def take(self, token: str) -> tuple[bool, int, int]:
        """Spend one request of a token's budget; return (allowed, count, seconds until reset)."""
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get(token, (now, 0))
            if now - start >= WINDOW_SECONDS:
                start, count = now, 0
            reset = max(1, math.ceil(start + WINDOW_SECONDS - now))
            if self.enabled and count >= self.per_minute:
                self._windows[token] = (start, count)
                return False, count, reset
            count += 1
            self._windows[token] = (start, count)
            return True, count, reset

    def headers(self, count: int, reset: int) -> dict[str, str]:
        """Return the inin-ratelimit-* headers."""
        allowed = self.per_minute if self.enabled else 0
        return {
            "inin-ratelimit-count": str(count),
            "inin-ratelimit-allowed": str(allowed or UNLIMITED_ALLOWED),
            "inin-ratelimit-reset": str(reset),
        }

    def clear(self) -> None:
        """Forget all windows."""
        with self._lock:
            self._windows.clear()
