"""Run one partition try in its own process (for the SIGKILL scenario); prints ``BULK <n>`` per request.

Usage: ``python -m tests.faults.partition_worker '<json>'`` with ``prefix``, ``partition``, ``try_number``,
``run_id``, ``max_chunk_bytes`` and ``pause_s`` (sleep after each bulk request, so the parent can kill
the process while it writes). Connections come from the ``AIRFLOW_CONN_*`` environment variables.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def main(raw: str) -> None:
    """Run the partition described by ``raw`` and print its summary as ``SUMMARY <json>``."""
    from genesys_es.extract.planning import Partition
    from genesys_es.load import bulk
    from tests.faults.conftest import run_partition

    args: dict[str, Any] = json.loads(raw)
    original = bulk._RecordingClient.bulk
    calls = [0]

    def announced(self: Any, *a: Any, **kw: Any) -> Any:
        resp = original(self, *a, **kw)
        calls[0] += 1
        print(f"BULK {calls[0]}", flush=True)
        time.sleep(args.get("pause_s", 0.0))
        return resp

    bulk._RecordingClient.bulk = announced  # type: ignore[method-assign]
    summary = run_partition(
        args["prefix"],
        Partition.from_xcom(args["partition"]),
        try_number=args["try_number"],
        run_id=args["run_id"],
        max_chunk_bytes=args["max_chunk_bytes"],
    )
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
