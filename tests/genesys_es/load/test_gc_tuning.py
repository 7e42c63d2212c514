"""frozen_heap: the heap alive on entry is frozen inside and everything is restored on exit."""

from __future__ import annotations

import gc

import pytest

from genesys_es.load.gc_tuning import frozen_heap


def test_frozen_heap_freezes_and_restores() -> None:
    before_threshold = gc.get_threshold()
    before_frozen = gc.get_freeze_count()
    with frozen_heap(young_threshold=12_345):
        assert gc.get_freeze_count() > before_frozen
        assert gc.get_threshold()[0] == max(12_345, before_threshold[0])
        assert gc.get_threshold()[1:] == before_threshold[1:]
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == 0


def test_frozen_heap_keeps_a_heap_frozen_before_entry_frozen() -> None:
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        with frozen_heap():
            pass
        # Unfreezing would empty the permanent generation; frozen objects that died meanwhile (other
        # threads run too) may lower the count a little, so only "still frozen" is asserted.
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_frozen_heap_restores_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
