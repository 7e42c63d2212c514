"""Benchmark section ``airflow``: one day run by a real Airflow (scheduler, executor, task supervisor).

The harness's pipeline figure forks each partition task from a pre-warmed server; here the same day goes
through ``scripts/airflow-stack.sh`` (PostgreSQL, LocalExecutor or CeleryExecutor, api-server, scheduler,
dag-processor, triggerer), triggered through the REST API as the UI's form does, so the difference is what
Airflow's own per-task work costs: scheduling, queueing, starting a task process, XCom, heartbeats.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import DAY, REPO, drop_prefix, es_client, free_port, log, simulator

STACK = REPO / "scripts" / "airflow-stack.sh"


def _stack_env(es_url: str, sim_url: str, executor: str, port: int, slots: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_STACK_DIR=str(REPO / ".cache" / "airflow-bench"),
        AIRFLOW_STACK_PG_PORT=os.environ.get("BENCH_PG_PORT", "5436"),
        AIRFLOW_STACK_REDIS_PORT=os.environ.get("BENCH_REDIS_PORT", "6382"),
        AIRFLOW_STACK_PORT=str(port),
        AIRFLOW_STACK_FRESH="1",
        AIRFLOW_STACK_ES_URL=es_url,
        AIRFLOW_STACK_GENESYS_URL=sim_url,
        AIRFLOW_STACK_GENESYS_RPM="0",  # unthrottled, as the harness's pipeline figure
        AIRFLOW_STACK_EXECUTOR=executor,
        AIRFLOW_STACK_POOL_SLOTS=str(slots),
        AIRFLOW__GENESYS_ES__START_DATE=datetime.now(UTC).date().isoformat(),
        AIRFLOW__CORE__PARALLELISM=str(slots + 4),
    )
    return env


def _phase_seconds(tis: list[dict[str, Any]]) -> float:
    """Return wall seconds from the first partition task's start to the last one's end."""
    starts = [datetime.fromisoformat(t["start_date"]) for t in tis if t.get("start_date")]
    ends = [datetime.fromisoformat(t["end_date"]) for t in tis if t.get("end_date")]
    return (max(ends) - min(starts)).total_seconds()


def run_through_airflow(
    es_url: str, conversations: int, executor: str = "LocalExecutor", slots: int = 4
) -> dict[str, Any]:
    """Run the day once unmeasured (warm-up) and once measured through a real Airflow; return the figures.

    :param es_url: the benchmark node.
    :param conversations: the day's volume.
    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param slots: the ``genesys_api`` pool's slots (partition tasks at once).
    """
    from tests.e2e.airflow_api import AirflowAPI

    es = es_client(es_url)
    port = free_port()
    dag_id = "genesys_conversations_to_es"
    with simulator({DAY: conversations}) as sim:
        env = _stack_env(es_url, sim.base_url, executor, port, slots)
        subprocess.run([str(STACK), "stop"], env=env, capture_output=True, check=False)
        began = time.perf_counter()
        started = subprocess.run([str(STACK), "start"], env=env, capture_output=True, text=True, check=False)
        if started.returncode != 0:
            subprocess.run([str(STACK), "stop"], env=env, check=False)
            raise RuntimeError(f"airflow-stack.sh start failed:\n{started.stdout}\n{started.stderr}")
        log(f"airflow: {executor} stack up in {time.perf_counter() - began:.0f} s")
        try:
            api = AirflowAPI(f"http://127.0.0.1:{port}", "admin", "admin")
            api.wait_for_dag(dag_id)
            api.unpause(dag_id)
            runs = []
            for name in ("warm-up", "measured"):
                prefix = f"bench-airflow-{name}"
                drop_prefix(es, prefix)
                conf = {
                    "date_from": DAY.isoformat(),
                    "date_to": DAY.isoformat(),
                    "index_prefix": prefix,
                    "pii": "drop",
                    "refresh_open_days": 0,
                    "latency_target_p95_ms": None,
                }
                clock = time.perf_counter()
                run = api.trigger(dag_id, conf)
                run = api.wait_for_run(dag_id, run["dag_run_id"], timeout=1800)
                seconds = time.perf_counter() - clock
                if run["state"] != "success":
                    raise RuntimeError(
                        f"the {name} run ended {run['state']}:\n{api.describe(dag_id, run['dag_run_id'])}"
                    )
                tis = api.task_instances(dag_id, run["dag_run_id"], "extract_and_index")
                phase = _phase_seconds(tis)
                indexed = es.count(index=prefix)["count"]
                runs.append(
                    {
                        "name": name,
                        "indexed": indexed,
                        "run_seconds": round(seconds, 1),
                        "partition_phase_seconds": round(phase, 1),
                        "partitions": len(tis),
                        "docs_per_s_run": round(indexed / seconds, 1),
                        "docs_per_s_partition_phase": round(indexed / phase, 1),
                    }
                )
                log(f"airflow: {name} run {runs[-1]}")
                drop_prefix(es, prefix)
        finally:
            subprocess.run([str(STACK), "stop"], env=env, capture_output=True, check=False)
    return {"executor": executor, "conversations": conversations, "slots": slots, "runs": runs}
