"""Client-side request budget: spend N requests a minute evenly across threads (GCRA, thread-safe).

Genesys Cloud allows 300 requests a minute per OAuth client by default and answers 429 beyond that. A
hook that spends its budget evenly (one request every ``60 / N`` seconds, with an optional small burst)
never meets a 429 in a healthy run. When a 429 arrives anyway (another process shares the client),
:meth:`RequestBudget.pause` holds every thread of the hook until the server's ``Retry-After`` has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestBudget:
    """Hand out request slots at a steady rate using the generic cell rate algorithm.

    :param requests_per_minute: the budget; ``None`` or ``0`` means unlimited.
    :param burst: how many requests may go out back to back after an idle spell (at least 1).
    :param clock: monotonic clock in seconds (injectable for tests).
    :param sleep: sleep function (injectable for tests).
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_minute is not None and requests_per_minute < 0:
            raise ValueError(
                f"requests_per_minute must be positive (or 0 for unlimited), got {requests_per_minute}"
            )
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.requests_per_minute = requests_per_minute or 0
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._interval = 60.0 / self.requests_per_minute if self.requests_per_minute else 0.0
        self._tolerance = (burst - 1) * self._interval
        self._tat = clock()  # theoretical arrival time of the next conforming request
        self._paused_until = 0.0
        self.granted = 0
        self.waited_seconds = 0.0
        self.pauses = 0

    @property
    def unlimited(self) -> bool:
        """Return True when no budget is enforced."""
        return self._interval == 0.0

    @property
    def interval(self) -> float:
        """Return the seconds between two requests at the steady rate."""
        return self._interval

    def acquire(self) -> float:
        """Block until the next request may go out; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if self.unlimited:
                    send_at = max(now, self._paused_until)
                else:
                    send_at = max(now, self._tat - self._tolerance, self._paused_until)
                    self._tat = max(self._tat, send_at) + self._interval
            delay = send_at - now
            if delay > 0:
                self._sleep(delay)
                waited += delay
            with self._lock:
                # A pause that began while this thread slept sends it back into the queue.
                if self._paused_until <= self._clock():
                    self.granted += 1
                    self.waited_seconds += waited
                    return waited

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (after a 429), then resume at the steady rate.

        :param seconds: how long the server asked to wait.
        """
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            if until > self._paused_until:
                self._paused_until = until
                self.pauses += 1
            self._tat = max(self._tat, self._paused_until)
