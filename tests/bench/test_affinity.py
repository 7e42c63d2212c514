"""The benchmark's core split: halves of the CPUs, and pinning every thread of a process."""

from __future__ import annotations

import os
import threading

import pytest

from bench.affinity import halves, pin_process


def test_halves_give_the_node_the_upper_half():
    assert halves({0, 1}) == ({1}, {0})
    assert halves({0, 1, 2, 3, 4}) == ({2, 3, 4}, {0, 1})
    with pytest.raises(ValueError, match="at least 2 CPUs"):
        halves({3})


def test_pin_process_pins_every_thread_and_new_threads_inherit():
    available = os.sched_getaffinity(0)
    target = {min(available)}
    stop = threading.Event()
    seen: dict[str, set[int]] = {}

    def wait() -> None:
        stop.wait()
        seen["old"] = os.sched_getaffinity(0)

    old = threading.Thread(target=wait)
    old.start()
    try:
        assert pin_process(os.getpid(), target) >= 2
        new = threading.Thread(target=lambda: seen.__setitem__("new", os.sched_getaffinity(0)))
        new.start()
        new.join()
        stop.set()
        old.join()
        assert seen == {"old": target, "new": target}
        assert os.sched_getaffinity(0) == target
    finally:
        stop.set()
        pin_process(os.getpid(), available)
    assert os.sched_getaffinity(0) == available


def test_split_runs_only_against_a_local_node_with_two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import run

    monkeypatch.setattr(run.os, "sched_getaffinity", lambda pid: {0, 1})
    assert run.split_unavailable("http://127.0.0.1:9400") is None
    assert run.split_unavailable("http://localhost:9200") is None
    assert "not on this machine" in (run.split_unavailable("https://es.example.com:9200") or "")
    monkeypatch.setattr(run.os, "sched_getaffinity", lambda pid: {0})
    assert "fewer than 2 CPUs" in (run.split_unavailable("http://127.0.0.1:9400") or "")
