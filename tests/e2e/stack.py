"""Helpers of the end-to-end tests: the running stack, the DAGs under test, days (fixtures: conftest.py)."""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO / "scripts" / "airflow-stack.sh"
INGEST_DAG_FILE = REPO / "dags" / "genesys_conversations_to_es.py"
PROBE_DAG_FILE = Path(__file__).resolve().parent / "dags" / "e2e_probe.py"
ARTIFACTS = REPO / "test-artifacts"

#: Small days keep the whole e2e run within a few minutes on 2 cores.
CONVERSATIONS_PER_DAY = int(os.environ.get("E2E_CONVERSATIONS_PER_DAY", "300"))
#: The executor of the stack: CeleryExecutor (Redis and two workers, as docker-compose.yaml) by default.
E2E_EXECUTOR = os.environ.get("E2E_EXECUTOR", "CeleryExecutor")
#: The OAuth client's budget, enforced by the simulator per client and set on the connection.
E2E_BUDGET = int(os.environ.get("E2E_BUDGET", "600"))


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


def missing_prerequisites(executor: str = "LocalExecutor") -> str | None:
    """Return why the full stack cannot run here, or None."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        return "PostgreSQL server not installed (run scripts/install-system-deps.sh)"
    if executor == "CeleryExecutor" and not shutil.which("redis-server"):
        return "Redis server not installed (run scripts/install-system-deps.sh)"
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
    executor: str = "LocalExecutor"
    logs: Path | None = None  # the components' log folder


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the test session's own Airflow settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(extra)
    return env


def past_day(days_ago: int) -> str:
    """Return the UTC day ``days_ago`` days before today as ``YYYY-MM-DD``."""
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


def day_bounds(day: str) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a ``YYYY-MM-DD`` day."""
    start = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)
    return start, start + timedelta(days=1)
