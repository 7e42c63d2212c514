"""Fixtures of the end-to-end and browser tests: one real Airflow 3.3 per test session.

``scripts/airflow-stack.sh`` starts PostgreSQL, migrates a fresh metadata database, creates the connections
(to the session's Elasticsearch and simulator) and the ``genesys_api`` pool, and starts the api-server,
scheduler, dag-processor and triggerer, with CeleryExecutor (Redis, two workers) unless
``E2E_EXECUTOR=LocalExecutor``. The DAG folder is a temporary folder holding the
repository's DAGs and the harness's probe DAG. Everything is stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.e2e.airflow_api import AirflowAPI
from tests.e2e.stack import (
    ARTIFACTS,
    CONVERSATIONS_PER_DAY,
    E2E_BUDGET,
    E2E_EXECUTOR,
    PROBE_DAG_FILE,
    REPO,
    STACK_SCRIPT,
    Stack,
    clean_env,
    free_port,
    missing_prerequisites,
    target_dag_ids,
)
from tests.e2e.targets import Target


@pytest.fixture(scope="session")
def e2e_simulator() -> Iterator[Any]:
    """Start the Genesys Cloud simulator in-process (small days, no rate limit), if it exists yet."""
    if "genesys_conversations_to_es" not in target_dag_ids():
        yield None
        return
    try:
        from include.genesys_simulator import SimulatorConfig, SimulatorServer
    except ImportError as exc:
        pytest.fail(f"the ingest DAG exists but the simulator cannot be imported: {exc}")
    # One budget per OAuth client, as Genesys enforces it: a task or worker over it would meet a 429.
    config = SimulatorConfig(
        seed=7,
        conversations_per_day=CONVERSATIONS_PER_DAY,
        rate_limit_per_minute=E2E_BUDGET,
        rate_limit_scope="client",
        weekday_volume=False,
    )
    with SimulatorServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def e2e_dags_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAG folder with the repository's DAGs and the harness's probe DAG (symlinks)."""
    folder = tmp_path_factory.mktemp("e2e-dags")
    for dag_file in sorted((REPO / "dags").glob("*.py")):
        (folder / dag_file.name).symlink_to(dag_file)
    (folder / PROBE_DAG_FILE.name).symlink_to(PROBE_DAG_FILE)
    return folder


@pytest.fixture(scope="session")
def airflow_stack(es_url: str, e2e_simulator: Any, e2e_dags_folder: Path) -> Iterator[Stack]:
    """Start the local Airflow once per session and stop it at the end."""
    reason = missing_prerequisites(E2E_EXECUTOR)
    if reason:
        pytest.skip(reason)
    state_dir = REPO / ".cache" / "airflow-e2e"
    api_port = int(os.environ.get("E2E_AIRFLOW_PORT") or free_port())
    # The schedule starts today: its first interval [today, tomorrow) is due only tomorrow, so no scheduled
    # run appears while the tests trigger and backfill past days; a run triggered from the UI form (logical
    # date now) is not before the start date, so its tasks are created.
    today = datetime.now(UTC).date().isoformat()
    env = clean_env(
        AIRFLOW_STACK_DIR=str(state_dir),
        AIRFLOW_STACK_PG_PORT=os.environ.get("E2E_PG_PORT", "5434"),
        AIRFLOW_STACK_PORT=str(api_port),
        AIRFLOW_STACK_DAGS_FOLDER=str(e2e_dags_folder),
        AIRFLOW_STACK_FRESH="1",
        AIRFLOW_STACK_ES_URL=es_url,
        AIRFLOW_STACK_GENESYS_URL=e2e_simulator.base_url if e2e_simulator else "http://127.0.0.1:9",
        AIRFLOW_STACK_GENESYS_RPM=str(E2E_BUDGET),
        AIRFLOW_STACK_EXECUTOR=E2E_EXECUTOR,
        AIRFLOW_STACK_REDIS_PORT=os.environ.get("E2E_REDIS_PORT", "6381"),
        # Off Airflow's default log-server ports, which the demo UI (scripts/airflow-ui.sh) uses.
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="8893",
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="8894",
        AIRFLOW__GENESYS_ES__START_DATE=today,
        AIRFLOW__GENESYS_ES__RETRY_DELAY_SECONDS="2",
        AIRFLOW__GENESYS_ES__MAX_ACTIVE_RUNS="3",
        AIRFLOW__GENESYS_ES__ALLOW_DRILLS="True",  # the partition-retry drill (not a form field)
    )
    started = time.monotonic()
    # Leftovers of an interrupted session (pid files, a running PostgreSQL) are stopped first.
    subprocess.run([str(STACK_SCRIPT), "stop"], env=env, capture_output=True, check=False)
    result = subprocess.run(
        [str(STACK_SCRIPT), "start"], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        subprocess.run([str(STACK_SCRIPT), "stop"], env=env, check=False)
        pytest.fail(f"airflow-stack.sh start failed:\n{result.stdout}\n{result.stderr}")
    print(f"\nairflow stack up in {time.monotonic() - started:.0f}s on port {api_port}")
    try:
        yield Stack(
            base_url=f"http://127.0.0.1:{api_port}",
            username="admin",
            password="admin",
            env_file=state_dir / "env.sh",
            dags_folder=e2e_dags_folder,
            simulator=e2e_simulator,
            ingest_dag=e2e_simulator is not None,
            executor=E2E_EXECUTOR,
            logs=state_dir / "logs",
        )
    finally:
        logs = state_dir / "logs"
        if logs.is_dir():
            # Keep the component logs as test artifacts for post-mortems.
            target = ARTIFACTS / "airflow-logs"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(logs, target, ignore=shutil.ignore_patterns("tasks"), dirs_exist_ok=True)
        subprocess.run([str(STACK_SCRIPT), "stop"], env=env, check=False)


@pytest.fixture(scope="session")
def airflow_api(airflow_stack: Stack) -> AirflowAPI:
    """An API client logged in as the stack's admin."""
    return AirflowAPI(airflow_stack.base_url, airflow_stack.username, airflow_stack.password)


@pytest.fixture(scope="module", params=target_dag_ids())
def target(request: pytest.FixtureRequest, airflow_stack: Stack, airflow_api: AirflowAPI, es: Elasticsearch):
    """The DAG under test, deployed and unpaused, with its own index prefix."""
    dag_id = request.param
    if dag_id == "genesys_conversations_to_es":
        assert airflow_stack.ingest_dag, "the ingest DAG needs the simulator"
        mapped_task = "extract_and_index"
    else:
        mapped_task = "index_partition"
    airflow_api.wait_for_dag(dag_id)
    airflow_api.unpause(dag_id)
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    yield Target(dag_id=dag_id, mapped_task=mapped_task, prefix=prefix, stack=airflow_stack)
    es.options(ignore_status=404).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
