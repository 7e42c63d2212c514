"""Garbage-collector settings for the hot loop of a partition task."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap(young_threshold: int = 100_000) -> Iterator[None]:
    """Leave the objects alive now out of garbage collection, and collect young objects less often.

    A task process holds Airflow's whole heap (hundreds of thousands of objects). Pages of JSON are
    acyclic and freed by reference counting, yet they trigger collections that walk that heap again and
    again; freezing it (what Airflow's executors do before forking) and a larger first-generation
    threshold take that cost out of the loop. The threshold is restored on exit, and the heap unfrozen
    unless it was already frozen on entry (a forking executor freezes it on purpose).

    :param young_threshold: allocations between two first-generation collections while inside.
    """
    old = gc.get_threshold()
    was_frozen = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(max(young_threshold, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if not was_frozen:
            gc.unfreeze()
