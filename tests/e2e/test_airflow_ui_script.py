"""``scripts/airflow-ui.sh`` as the README tells a newcomer to use it, from a shell without the venv on PATH."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.stack import REPO

pytestmark = pytest.mark.e2e

SCRIPT = REPO / "scripts" / "airflow-ui.sh"
PORTS = (8080, 8793, 8794)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _script(action: str, home: Path, sim_port: int, es_port: int) -> subprocess.CompletedProcess[str]:
    # A plain shell: no venv on PATH, no AIRFLOW_* of the test session.
    env = {
        "HOME": str(Path.home()),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "AIRFLOW_HOME": str(home),
        "SIM_PORT": str(sim_port),
        "ES_PORT": str(es_port),
    }
    return subprocess.run(
        [str(SCRIPT), action], env=env, capture_output=True, text=True, timeout=400, check=False, cwd="/"
    )


def test_the_ui_script_starts_on_loopback_prints_the_login_and_stops_cleanly(
    tmp_path: Path, e2e_simulator: Any, es_url: str
) -> None:
    if e2e_simulator is None:
        pytest.skip("needs the simulator")
    if not all(_free(p) for p in PORTS):
        pytest.skip(f"one of the ports {PORTS} is in use")
    sim_port = int(e2e_simulator.base_url.rsplit(":", 1)[1])
    es_port = int(es_url.rsplit(":", 1)[1])
    home = tmp_path / "airflow-ui"
    try:
        started = _script("start", home, sim_port, es_port)
        assert started.returncode == 0, started.stdout + started.stderr
        login = re.search(r"open http://127\.0\.0\.1:8080 and log in as admin / (\S+)", started.stdout)
        assert login, started.stdout
        password = login.group(1)
        assert json.loads((home / "ui_passwords.json").read_text())["admin"] == password
        assert "DAGs start paused" in started.stdout
        # A second start says it runs and prints the login again.
        again = _script("start", home, sim_port, es_port)
        assert "already running" in again.stdout and password in again.stdout, again.stdout
        # Bound to loopback only.
        listening = subprocess.run(["ss", "-ltnH", "sport = :8080"], capture_output=True, text=True).stdout
        assert "127.0.0.1:8080" in listening and "0.0.0.0:8080" not in listening, listening

        api = "http://127.0.0.1:8080"
        token = requests.post(
            f"{api}/auth/token", json={"username": "admin", "password": password}, timeout=30
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        connections = requests.get(f"{api}/api/v2/connections", headers=headers, timeout=30).json()
        assert {c["connection_id"] for c in connections["connections"]} >= {
            "genesys_cloud_default",
            "elasticsearch_default",
        }
        pools = requests.get(f"{api}/api/v2/pools/genesys_api", headers=headers, timeout=30)
        assert pools.status_code == 200
        # The home page's "Plugin Import Error" count (the package must be found once on sys.path).
        errors = requests.get(f"{api}/api/v2/plugins/importErrors", headers=headers, timeout=30).json()
        assert errors["import_errors"] == [], errors
        # The connection form's Test: success with the right secret, the reason with a wrong one.
        form = {
            "connection_id": "genesys_cloud_default",
            "conn_type": "genesys_cloud",
            "login": "demo-client",
            "port": 0,
            "extra": json.dumps({"base_url": e2e_simulator.base_url}),
        }
        ok = requests.post(
            f"{api}/api/v2/connections/test",
            json={**form, "password": "demo-secret"},
            headers=headers,
            timeout=120,
        ).json()
        assert ok["status"] is True and "Connected to Genesys Cloud" in ok["message"], ok
        bad = requests.post(
            f"{api}/api/v2/connections/test", json={**form, "password": "wrong"}, headers=headers, timeout=120
        ).json()
        assert bad["status"] is False and "check the client id and secret" in bad["message"], bad
    finally:
        stopped = _script("stop", home, sim_port, es_port)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert all(_free(p) for p in PORTS), "a port is still held after stop"
