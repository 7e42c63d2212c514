"""Share a Genesys request budget between the partition tasks that are running right now."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class BudgetShare:
    """Re-divide a connection's request budget by the number of partition tasks running, in the background.

    A partition task starts with ``initial`` shares (the DAG's ``max_active_partitions``), so a full wave
    of tasks never exceeds the budget. Every ``poll_s`` seconds it counts the tasks running: more tasks take
    effect at once (smaller share); fewer only when two counts in a row agree (larger share), so a task that
    starts in the gap left by a finished one meets enlarged shares for one poll at most. The last wave of
    partitions and the gaps between tasks then spend the budget instead of leaving it unused.

    :param count: return how many tasks spend the budget now (this one included); errors keep the share.
    :param apply: give this task that many shares (e.g. :meth:`GenesysCloudHook.share_budget`).
    :param initial: shares at the start.
    :param poll_s: seconds between two counts.
    """

    def __init__(
        self,
        count: Callable[[], int],
        apply: Callable[[int], object],
        *,
        initial: int,
        poll_s: float = 2.0,
    ) -> None:
        if initial < 1:
            raise ValueError(f"initial must be at least 1, got {initial}")
        if poll_s <= 0:
            raise ValueError(f"poll_s must be positive, got {poll_s}")
        self._count = count
        self._apply = apply
        self.parts = initial
        self.poll_s = poll_s
        self._candidate: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, running: int) -> int:
        """Take one count of the running tasks into account; return the shares now in force.

        :param running: tasks spending the budget now (values below 1 count as 1: this task).
        """
        running = max(1, running)
        if running >= self.parts:
            self._candidate = None
            if running > self.parts:
                self._set(running)
        elif self._candidate is None:
            self._candidate = running
        else:
            self._set(max(self._candidate, running))
            self._candidate = None
        return self.parts

    def _set(self, parts: int) -> None:
        self._apply(parts)
        log.info("request budget: %d task(s) running, this one now spends 1/%d of it", parts, parts)
        self.parts = parts

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                running = self._count()
            except Exception as exc:  # a failed count keeps the current share
                log.debug("could not count the running tasks (%s); keeping 1/%d", exc, self.parts)
                continue
            self.observe(running)

    def start(self) -> BudgetShare:
        """Start counting in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="budget-share", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop counting (the share in force stays)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_s + 5)

    def __enter__(self) -> BudgetShare:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
