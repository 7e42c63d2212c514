"""Give Elasticsearch cores of its own for a run (as in a deployment), by CPU affinity on one machine.

In production the Elasticsearch nodes never share cores with the Airflow workers. On a single benchmark machine
they do, so the pipeline's own CPU (parsing pages, building documents) is taken from the node and the
pipeline/ceiling ratio measures that competition more than the pipeline. ``split_cores`` pins every thread of
the node to one half of the CPUs and this process (and what it starts or forks afterwards: the simulator, the
partition tasks, the ceiling's posting threads) to the other half, then restores both. The ceiling and the
pipeline are measured under the same split, so the ratio compares like with like.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def node_pid(es) -> int:
    """Return the process id of the Elasticsearch node the client talks to (it must run on this machine)."""
    info = es.nodes.info(node_id="_local", metric="process", filter_path="nodes.*.process.id")
    return int(next(iter(info["nodes"].values()))["process"]["id"])


def pin_process(pid: int, cpus: set[int]) -> int:
    """Pin every thread of a process to ``cpus``; return how many threads were pinned.

    :param pid: the process.
    :param cpus: the CPU numbers it may run on.
    """
    pinned = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
            pinned += 1
        except ProcessLookupError:  # the thread ended meanwhile
            continue
    if not pinned:
        raise ProcessLookupError(f"process {pid} has no threads left to pin")
    return pinned


def halves(cpus: set[int]) -> tuple[set[int], set[int]]:
    """Split the CPUs into (node, harness) halves; the node gets the upper half (at least one CPU each).

    :param cpus: the CPUs available to this process.
    """
    ordered = sorted(cpus)
    if len(ordered) < 2:
        raise ValueError(f"splitting cores needs at least 2 CPUs, this process may use {len(ordered)}")
    middle = len(ordered) // 2
    return set(ordered[middle:]), set(ordered[:middle])


@contextmanager
def split_cores(es) -> Iterator[dict[str, list[int]]]:
    """Run the block with the node and this process on separate CPUs; restore both afterwards.

    :param es: a client of the node (local to this machine).
    """
    available = os.sched_getaffinity(0)
    node_cpus, own_cpus = halves(available)
    pid = node_pid(es)
    node_before = os.sched_getaffinity(pid)
    pin_process(pid, node_cpus)
    pin_process(os.getpid(), own_cpus)
    try:
        yield {"elasticsearch_cpus": sorted(node_cpus), "pipeline_cpus": sorted(own_cpus)}
    finally:
        pin_process(os.getpid(), available)
        pin_process(pid, node_before)
