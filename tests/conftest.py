"""Session-wide test setup: an isolated Airflow home and shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Airflow reads its configuration at import time: isolate it before anything imports airflow.
os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".cache" / "airflow-test"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / ".cache" / "no-plugins"))

pytest_plugins = [
    "tests.fixtures.elasticsearch",
    "tests.fixtures.simulator",
    "tests.fixtures.airflow",
]
