"""Counters served at GET /_sim/stats."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counters of what the simulator answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with getattr(self, "_lock", threading.Lock()):
            self.token_requests = 0
            self.tokens_issued = 0
            self.token_failures = 0
            self.api_requests = 0
            self.by_path: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.by_path_status: Counter[str] = Counter()
            self.rate_limited = 0
            self.faults: Counter[str] = Counter()
            self.tokens_revoked = 0
            self.jobs_created = 0
            self.conversations_returned = 0

    def record_api(self, path: str, status: int) -> None:
        """Count an API response."""
        with self._lock:
            self.api_requests += 1
            self.by_path[path] += 1
            self.by_status[str(status)] += 1
            self.by_path_status[f"{path} {status}"] += 1

    def add(self, name: str, amount: int = 1) -> None:
        """Add to a scalar counter."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def fault(self, kind: str) -> None:
        """Count an injected fault."""
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return all counters as JSON-ready data."""
        with self._lock:
            return {
                "token_requests": self.token_requests,
                "tokens_issued": self.tokens_issued,
                "token_failures": self.token_failures,
                "tokens_revoked": self.tokens_revoked,
                "api_requests": self.api_requests,
                "api_requests_by_path": dict(self.by_path),
                "api_requests_by_status": dict(self.by_status),
                "api_requests_by_path_and_status": dict(self.by_path_status),
                "rate_limited": self.rate_limited,
                "faults_injected": dict(self.faults),
                "faults_injected_total": sum(self.faults.values()),
                "jobs_created": self.jobs_created,
                "conversations_returned": self.conversations_returned,
            }
