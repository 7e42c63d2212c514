"""scripts/connections.py: the demo's two connections, written once for every script that needs them."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from genesys_es.provider_info import get_provider_info
from tests.test_docker_compose import interpolate

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "connections.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the script with ``args``."""
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False)


def env_connections(*args: str) -> dict[str, str]:
    """Return the AIRFLOW_CONN_* values a shell gets from ``eval`` of the ``env`` format."""
    shell = f'eval "$({sys.executable} {SCRIPT} --format env {shlex.join(args)})"; env'
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if line.startswith("AIRFLOW_CONN_"))


def test_env_format_gives_connections_airflow_loads() -> None:
    from airflow.models.connection import Connection

    conns = env_connections(
        "--genesys-url",
        "http://127.0.0.1:8181",
        "--es-url",
        "https://es.example:9243",
        "--client-secret",
        "it's",
    )
    assert set(conns) == {"AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT", "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"}
    genesys = Connection.from_json(
        conns["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"], conn_id="genesys_cloud_default"
    )
    assert (genesys.conn_type, genesys.login, genesys.password, genesys.port) == (
        "genesys_cloud",
        "demo-client",
        "it's",  # quoted for the shell
        443,
    )
    assert genesys.extra_dejson == {"base_url": "http://127.0.0.1:8181", "requests_per_minute": 300}
    assert set(genesys.extra_dejson) <= set(get_provider_info()["connection-types"][0]["conn-fields"])
    es = Connection.from_json(conns["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"], conn_id="elasticsearch_default")
    assert (es.conn_type, es.host, es.port, es.schema) == ("elasticsearch", "es.example", 9243, "https")


def test_import_format_holds_extras_as_json_text() -> None:
    result = run(
        "--genesys-url", "http://sim:8180", "--es-url", "http://127.0.0.1", "--requests-per-minute", "120"
    )
    assert result.returncode == 0, result.stderr
    conns = json.loads(result.stdout)
    assert json.loads(conns["genesys_cloud_default"]["extra"])["requests_per_minute"] == 120
    assert conns["elasticsearch_default"]["port"] == 9200  # http without a port


def test_a_bad_elasticsearch_url_is_refused() -> None:
    result = run("--genesys-url", "http://sim:8180", "--es-url", "127.0.0.1:9200")
    assert result.returncode != 0 and "--es-url" in result.stderr and not result.stdout


def test_docker_compose_holds_the_same_connections() -> None:
    """Compose cannot run the script: its copy keeps the script's fields (it adds region and verify_certs)."""
    compose = yaml.safe_load(interpolate((REPO / "docker-compose.yaml").read_text()))
    env = compose["x-airflow-common"]["environment"]
    conns = json.loads(run("--genesys-url", "x", "--es-url", "http://es:9200").stdout)
    for conn_id in ("genesys_cloud_default", "elasticsearch_default"):
        ours = {**conns[conn_id], "extra": json.loads(conns[conn_id]["extra"])}
        # Compare field names, and the fixed port (the other values are the compose defaults).
        theirs = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        assert set(ours) == set(theirs), conn_id
        assert set(ours["extra"]) <= set(theirs["extra"]), conn_id
        if conn_id == "genesys_cloud_default":
            assert theirs["port"] == ours["port"]
