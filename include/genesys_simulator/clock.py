"""The simulated clock: the real clock, or a frozen instant that tests set and advance."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from include.genesys_simulator.volume import ms_of


class SimClock:
    """Return the simulated now; frozen when set to an instant, real when set to None."""

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: int | None = ms_of(now) if now is not None else None

    def now_ms(self) -> int:
        """Return the simulated now in epoch milliseconds."""
        with self._lock:
            frozen = self._frozen
        return frozen if frozen is not None else int(time.time() * 1000)

    def now(self) -> datetime:
        """Return the simulated now as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now_ms() / 1000, tz=UTC)

    @property
    def frozen(self) -> bool:
        """Return whether the clock is frozen."""
        with self._lock:
            return self._frozen is not None

    def set(self, now: datetime | None) -> None:
        """Freeze the clock at now, or return to the real clock with None."""
        with self._lock:
            self._frozen = ms_of(now) if now is not None else None

    def advance(self, seconds: float) -> None:
        """Move a frozen clock forward (a real clock is frozen at real now first)."""
        with self._lock:
            base = self._frozen if self._frozen is not None else int(time.time() * 1000)
            self._frozen = base + int(timedelta(seconds=seconds).total_seconds() * 1000)
