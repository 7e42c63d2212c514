"""Static checks of docker-compose.yaml and docker/ (no Docker engine runs here).

The file must follow Airflow's official compose shape, reference only files that exist, pin every image,
give every ``${VAR}`` a default and document it, and carry connection JSON that Airflow can load.
"""

from __future__ import annotations

import json
import re
import subprocess
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from genesys_es.assets import GENESYS_API_POOL
from genesys_es.provider_info import get_provider_info

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yaml"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}; `$${...}` is an escaped literal for the container shell.
VAR_RE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")

AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker-1": "celery worker --celery-hostname worker-1@%h --queues default,worker-1",
    "airflow-worker-2": "celery worker --celery-hostname worker-2@%h --queues default,worker-2",
    "airflow-triggerer": "triggerer",
}


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Substitute variables the way Compose does (defaults when unset), then unescape ``$$``."""
    env = env or {}

    def repl(match: re.Match[str]) -> str:
        name, op, default = match.group("name"), match.group("op"), match.group("default")
        value = env.get(name)
        if op == ":-":
            return value if value else default
        if op == "-":
            return value if value is not None else default
        if value is None:
            raise KeyError(f"${{{name}}} has no value and no default")
        return value

    return VAR_RE.sub(repl, text).replace("$$", "$")


@pytest.fixture(scope="module")
def raw() -> str:
    """Return the compose file as text."""
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(raw: str) -> dict[str, Any]:
    """Return the compose file parsed after interpolation with defaults only."""
    data = yaml.safe_load(interpolate(raw))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the services section."""
    return compose["services"]


def header_comment(raw: str) -> str:
    """Return the leading comment block of the file."""
    lines = []
    for line in raw.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def test_interpolate_follows_compose_rules() -> None:
    """The helper used below substitutes like Compose does, so the other checks mean something."""
    assert interpolate("${A:-x}") == "x"
    assert interpolate("${A:-x}", {"A": ""}) == "x"
    assert interpolate("${A-x}", {"A": ""}) == ""
    assert interpolate("${A-x}") == "x"
    assert interpolate("$${HOSTNAME} ${A}", {"A": "1"}) == "${HOSTNAME} 1"
    with pytest.raises(KeyError):
        interpolate("${A}")


def test_official_shape_with_celery_and_all_components(compose: dict[str, Any], services: dict) -> None:
    """x-airflow-common anchor, CeleryExecutor, Redis, PostgreSQL, init job and every Airflow component."""
    common = compose["x-airflow-common"]
    assert common["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert common["environment"]["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert "postgres" in common["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["image"] == common["image"], name
        assert service["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        if command:
            assert service["command"] == command, name
    for name in ("postgres", "redis", "elasticsearch", "genesys-simulator", "kibana"):
        assert name in services
    assert services["kibana"]["profiles"] == ["kibana"]
    # Only the optional service hides behind a profile.
    assert [n for n, s in services.items() if s.get("profiles")] == ["kibana"]


def test_every_image_tag_is_pinned(services: dict) -> None:
    """No `latest`, no untagged image; the versions agree with the rest of the repository."""
    for name, service in services.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not pinned"
    es_script = (REPO / "scripts" / "es.sh").read_text()
    es_version = re.search(r'ES_VERSION="\$\{ES_VERSION:-([0-9.]+)\}"', es_script).group(1)
    assert services["elasticsearch"]["image"] == f"elasticsearch:{es_version}"
    assert services["kibana"]["image"] == f"kibana:{es_version}"


def test_dockerfile_builds_from_the_pinned_airflow(services: dict) -> None:
    """The build context and Dockerfile exist; the base image is the Airflow version requirements.txt pins."""
    requirements = (REPO / "requirements.txt").read_text()
    airflow_version = re.search(r"^apache-airflow==([0-9.]+)$", requirements, re.M).group(1)
    built = [s for s in services.values() if "build" in s]
    assert built, "no service builds the Airflow image"
    for service in built:
        context = REPO / service["build"]["context"]
        dockerfile = context / service["build"]["dockerfile"]
        assert context.is_dir() and dockerfile.is_file()
        text = dockerfile.read_text()
        froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
        assert froms == [f"apache/airflow:{airflow_version}"]
        assert f'"apache-airflow=={airflow_version}"' in text, "pip may change the image's Airflow"


def dockerfile_copy_sources(dockerfile: Path) -> list[str]:
    """Return the source paths of every COPY instruction (without --from)."""
    sources = []
    for line in re.findall(r"^COPY\s+(.+)$", dockerfile.read_text(), re.M):
        parts = [p for p in line.split() if not p.startswith("--")]
        assert "--from" not in line
        sources.extend(parts[:-1])
    return sources


def ignored(path: str, patterns: list[str]) -> bool:
    """Apply .dockerignore rules (last match wins, `!` re-includes) to one relative path."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        if fnmatch(path, pat) or fnmatch(path, pat.replace("**/", "")) or path.startswith(pat + "/"):
            result = not negate
    return result


def test_dockerfile_copies_only_existing_files_not_ignored(services: dict) -> None:
    """Every COPY source exists and survives docker/Dockerfile.dockerignore."""
    build = services["airflow-apiserver"]["build"]
    context = REPO / build["context"]
    dockerfile = context / build["dockerfile"]
    ignore_file = dockerfile.with_name(dockerfile.name + ".dockerignore")
    assert ignore_file.is_file()
    patterns = [
        line.strip()
        for line in ignore_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = dockerfile_copy_sources(dockerfile)
    assert {"requirements.txt", "pyproject.toml", "plugins", "dags", "include"} <= set(sources)
    for source in sources:
        assert (context / source).exists(), f"COPY source {source} is missing"
        assert not ignored(source, patterns), f"COPY source {source} is excluded by {ignore_file.name}"
    # The heavy local folders never reach the build context.
    for heavy in (".venv", ".cache", ".git", "tests"):
        assert ignored(heavy, patterns), heavy
    # The readme named by pyproject.toml is copied (pip builds the package from it).
    assert "README.md" in sources


def test_mounted_paths_and_env_files_exist(compose: dict[str, Any], services: dict) -> None:
    """Bind mounts point at files in the repository; named volumes are declared."""
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name}: mounted path {source} is missing"
            else:
                assert source in declared, f"{name}: named volume {source} is not declared"
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            assert (REPO / path).exists(), f"{name}: env file {path} is missing"


def test_every_variable_has_a_default_and_is_documented(raw: str) -> None:
    """`docker compose up` works with no .env file, and the header explains each knob."""
    header = header_comment(raw)
    body = raw[len(header) :]
    found = {m.group("name"): m.group("op") for m in VAR_RE.finditer(body)}
    assert found, "no variables found: the pattern is broken"
    no_default = sorted(name for name, op in found.items() if op not in (":-", "-"))
    assert no_default == [], f"variables without a default: {no_default}"
    undocumented = sorted(name for name in found if not re.search(rf"^# {re.escape(name)}\s", header, re.M))
    assert undocumented == [], f"variables missing from the header comment: {undocumented}"
    documented = set(re.findall(r"^# ([A-Z_][A-Z0-9_]+)\s+- ", header, re.M))
    assert documented - set(found) == set(), "the header documents variables the file never uses"


def test_depends_on_targets_exist_and_have_healthchecks(services: dict) -> None:
    """Every dependency exists; `service_healthy` targets define a healthcheck; no cycles."""
    graph: dict[str, set[str]] = {}
    for name, service in services.items():
        deps = service.get("depends_on", {})
        deps = {key: {"condition": "service_started"} for key in deps} if isinstance(deps, list) else deps
        graph[name] = set(deps)
        for target, spec in deps.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec["condition"]
            assert condition in {"service_started", "service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
    seen: set[str] = set()

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, f"depends_on cycle: {' -> '.join((*stack, node))}"
        if node in seen:
            return
        for nxt in graph[node]:
            visit(nxt, (*stack, node))
        seen.add(node)

    for node in graph:
        visit(node, ())


def test_long_running_services_have_healthchecks(services: dict) -> None:
    """Everything but the one-shot init job reports health."""
    for name, service in services.items():
        if name == "airflow-init":
            assert service.get("restart") is None
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}


def test_connections_parse_and_match_the_provider(services: dict) -> None:
    """Both AIRFLOW_CONN_* values are JSON Airflow accepts; Genesys extras are the provider's fields."""
    from airflow.models.connection import Connection

    env = services["airflow-worker-1"]["environment"]
    genesys_json = json.loads(env["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"])
    es_json = json.loads(env["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"])

    genesys = Connection.from_json(env["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"], conn_id="genesys_cloud_default")
    assert genesys.conn_type == "genesys_cloud"
    assert (genesys.login, genesys.password) == ("demo-client", "demo-secret")
    extras = genesys.extra_dejson
    provider_fields = set(get_provider_info()["connection-types"][0]["conn-fields"])
    assert set(extras) <= provider_fields, set(extras) - provider_fields
    assert extras["requests_per_minute"] == 300
    assert extras["base_url"] == "http://genesys-simulator:8180"
    assert genesys_json["extra"]["region"] == "us_east_1"

    es = Connection.from_json(env["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"], conn_id="elasticsearch_default")
    assert (es.conn_type, es.host, es.port, es.schema) == ("elasticsearch", "elasticsearch", 9200, "http")
    assert es_json["host"] in services


def test_connections_follow_overrides(raw: str) -> None:
    """A real tenant: an empty GENESYS_BASE_URL stays empty and the budget variable lands as a number."""
    data = yaml.safe_load(
        interpolate(
            raw, {"GENESYS_BASE_URL": "", "GENESYS_REQUESTS_PER_MINUTE": "120", "GENESYS_REGION": "eu_west_1"}
        )
    )
    extra = json.loads(
        data["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"]
    )["extra"]
    assert extra == {"region": "eu_west_1", "base_url": "", "requests_per_minute": 120}


def test_init_job_creates_the_pool_and_is_valid_bash(services: dict) -> None:
    """airflow-init migrates, creates the admin user and the `genesys_api` pool."""
    init = services["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["environment"]["_AIRFLOW_WWW_USER_CREATE"] == "true"
    script_path = init["command"][0]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in init["volumes"]}
    script = REPO / mounts[script_path]
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert f'POOL_NAME="${{GENESYS_API_POOL_NAME:-{GENESYS_API_POOL}}}"' in text
    assert 'airflow pools set "$POOL_NAME" "$POOL_SLOTS"' in text
    for conn in ("genesys_cloud_default", "elasticsearch_default"):
        assert conn in text
    # The pool's slots and the DAG's partitions-at-once (which divides the request budget) are one knob.
    slots = init["environment"]["GENESYS_API_POOL_SLOTS"]
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"]["AIRFLOW__GENESYS_ES__MAX_ACTIVE_PARTITIONS"] == slots, name
    # Every service that runs task code waits for init.
    for name in AIRFLOW_SERVICES:
        if name != "airflow-init":
            assert (
                services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
            )


def test_simulator_service_runs_the_package(services: dict) -> None:
    """The simulator service runs `python -m include.genesys_simulator` with flags the CLI accepts."""
    sim = services["genesys-simulator"]
    assert sim["entrypoint"] == ["python", "-m", "include.genesys_simulator"]
    flags = {arg.split("=", 1)[0] for arg in sim["command"]}
    assert {
        "--host",
        "--port",
        "--seed",
        "--conversations-per-day",
        "--client-id",
        "--client-secret",
    } <= flags
    package = REPO / "include" / "genesys_simulator"
    assert package.is_dir()
    if not (package / "__main__.py").exists():
        pytest.skip("the simulator's CLI (include/genesys_simulator/__main__.py) is not there yet")
    source = "\n".join(p.read_text() for p in package.rglob("*.py"))
    unknown = sorted(flag for flag in flags if flag not in source)
    assert unknown == [], f"flags the simulator does not define: {unknown}"
    genesys = json.loads(services["airflow-worker-1"]["environment"]["AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT"])
    assert genesys["extra"]["base_url"].endswith(":8180")
    assert "--port=8180" in sim["command"]
