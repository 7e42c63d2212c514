"""One real Airflow 3.3 per test session for the end-to-end and browser tests.

``scripts/airflow-stack.sh`` starts PostgreSQL, migrates a fresh metadata database, creates the connections
(to the session's Elasticsearch and simulator) and the ``genesys_api`` pool, and starts the api-server,
scheduler, dag-processor and triggerer (LocalExecutor). The DAG folder is a temporary folder holding the
repository's DAGs and the harness's probe DAG. Everything is stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.airflow_api import AirflowAPI

REPO = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO / "scripts" / "airflow-stack.sh"
INGEST_DAG_FILE = REPO / "dags" / "genesys_conversations_to_es.py"
PROBE_DAG_FILE = Path(__file__).resolve().parent / "dags" / "e2e_probe.py"
ARTIFACTS = REPO / "test-artifacts"

#: Small days keep the whole e2e run within a few minutes on 2 cores.
CONVERSATIONS_PER_DAY = int(os.environ.get("E2E_CONVERSATIONS_PER_DAY", "300"))


def target_dag_ids() -> list[str]:
    """Return the DAGs the e2e tests drive: the ingest DAG once it exists, else the harness's probe DAG.

    ``E2E_DAGS=a,b`` chooses explicitly; ``E2E_PROBE=1`` adds the probe DAG.
    """
    if os.environ.get("E2E_DAGS"):
        return [d.strip() for d in os.environ["E2E_DAGS"].split(",") if d.strip()]
    ids = ["genesys_conversations_to_es"] if INGEST_DAG_FILE.exists() else []
    if not ids or os.environ.get("E2E_PROBE") == "1":
        ids.append("e2e_probe")
    return ids


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_prerequisites() -> str | None:
    """Return why the full stack cannot run here, or None."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        return "PostgreSQL server not installed (run scripts/install-system-deps.sh)"
    if not (REPO / ".venv" / "bin" / "airflow").exists():
        return "no .venv/bin/airflow (run make venv)"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return "running as root without setpriv (needed to run PostgreSQL as the postgres user)"
    return None


@dataclass(frozen=True)
class Stack:
    """A running local Airflow."""

    base_url: str
    username: str
    password: str
    env_file: Path
    dags_folder: Path
    simulator: Any  # the in-process Genesys simulator, or None
    ingest_dag: bool  # the repository's ingest DAG is deployed (and its simulator is running)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` against this stack."""
        command = f"source {self.env_file} && airflow {' '.join(args)}"
        return subprocess.run(
            ["bash", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(),
            check=False,
        )


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the test session's own Airflow settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(extra)
    return env


def past_day(days_ago: int) -> str:
    """Return the UTC day ``days_ago`` days before today as ``YYYY-MM-DD``."""
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


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
    config = SimulatorConfig(
        seed=7, conversations_per_day=CONVERSATIONS_PER_DAY, rate_limit_per_minute=0, weekday_volume=False
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
    reason = missing_prerequisites()
    if reason:
        pytest.skip(reason)
    state_dir = REPO / ".cache" / "airflow-e2e"
    api_port = int(os.environ.get("E2E_AIRFLOW_PORT") or free_port())
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    env = clean_env(
        AIRFLOW_STACK_DIR=str(state_dir),
        AIRFLOW_STACK_PG_PORT=os.environ.get("E2E_PG_PORT", "5434"),
        AIRFLOW_STACK_PORT=str(api_port),
        AIRFLOW_STACK_DAGS_FOLDER=str(e2e_dags_folder),
        AIRFLOW_STACK_FRESH="1",
        AIRFLOW_STACK_ES_URL=es_url,
        AIRFLOW_STACK_GENESYS_URL=e2e_simulator.base_url if e2e_simulator else "http://127.0.0.1:9",
        AIRFLOW_STACK_GENESYS_RPM="6000",
        # No scheduled runs: the schedule starts tomorrow; the tests trigger and backfill past days.
        AIRFLOW__GENESYS_ES__START_DATE=tomorrow,
        AIRFLOW__GENESYS_ES__RETRY_DELAY_SECONDS="2",
        AIRFLOW__GENESYS_ES__MAX_ACTIVE_RUNS="3",
    )
    started = time.monotonic()
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


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a ``YYYY-MM-DD`` day."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=1)
