"""Fault injection (each kind observable, deterministic from the seed, counted) and the command line."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from include.genesys_simulator import FaultProfile, SimulatorServer
from include.genesys_simulator.__main__ import config_from_args, parse_args
from include.genesys_simulator.server import free_port
from tests.include.genesys_simulator.helpers import DAY, assert_error_body, login, query

REPO = Path(__file__).resolve().parents[3]
BODY = {"interval": DAY, "paging": {"pageSize": 5}}


def only(**fields: float) -> FaultProfile:
    """Return a profile with just the given fields set."""
    return FaultProfile(name="test", **fields)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(simulator: SimulatorServer, status: int) -> None:
    token = login(simulator)
    simulator.set_faults(only(**{f"error_{status}_probability": 1.0}))
    response = query(simulator, token, BODY)
    assert response.status_code == status
    assert response.json()["status"] == status
    assert simulator.stats()["faults_injected"] == {str(status): 1}


def test_429_burst_then_recovery(simulator: SimulatorServer) -> None:
    token = login(simulator)
    simulator.set_faults(only(burst_429_probability=1.0, burst_429_length=3, burst_429_retry_after=2))
    limited = query(simulator, token, BODY)
    assert_error_body(limited, 429, "too.many.requests.retry.after")
    assert limited.headers["Retry-After"] == "2"
    simulator.set_faults("none")
    assert query(simulator, token, BODY).status_code == 200


def test_connection_reset_and_truncated_body(simulator: SimulatorServer) -> None:
    token = login(simulator)
    simulator.set_faults(only(reset_probability=1.0))
    with pytest.raises(requests.ConnectionError):
        query(simulator, token, BODY)
    simulator.set_faults(only(truncate_probability=1.0))
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        query(simulator, token, BODY).json()
    simulator.set_faults(None)
    assert query(simulator, token, BODY).status_code == 200
    faults = simulator.stats()["faults_injected"]
    assert faults["reset"] == 1 and faults["truncate"] == 1


def test_slow_response_and_token_revocation(simulator: SimulatorServer) -> None:
    token = login(simulator)
    simulator.set_faults(only(slow_probability=1.0, slow_seconds=0.6))
    started = time.monotonic()
    assert query(simulator, token, BODY).status_code == 200
    assert time.monotonic() - started >= 0.6
    simulator.set_faults(only(revoke_probability=1.0))
    assert_error_body(query(simulator, token, BODY), 401, "bad.credentials")
    simulator.set_faults("none")
    assert query(simulator, token, BODY).status_code == 401  # revoked for good
    assert query(simulator, login(simulator), BODY).status_code == 200
    assert simulator.stats()["tokens_revoked"] == 1


def test_faults_are_deterministic_from_the_seed(simulator_factory: Callable[..., SimulatorServer]) -> None:
    def statuses(seed: int) -> list[int]:
        sim = simulator_factory(seed=seed, faults=only(error_503_probability=0.3, burst_429_probability=0.1))
        token = login(sim)
        return [query(sim, token, BODY).status_code for _ in range(30)]

    first, again, other = statuses(7), statuses(7), statuses(8)
    assert first == again
    assert first != other
    assert {200, 503} <= set(first)


def test_fault_admin_endpoint_and_hostile_profile(simulator: SimulatorServer) -> None:
    url = f"{simulator.base_url}/_sim/faults"
    assert requests.post(url, json={"profile": "hostile"}, timeout=5).json()["name"] == "hostile"
    custom = requests.post(url, json={"profile": "none", "error_502_probability": 1.0}, timeout=5).json()
    assert custom["error_502_probability"] == 1.0
    assert query(simulator, login(simulator), BODY).status_code == 502
    assert requests.post(url, json={"profile": "nope"}, timeout=5).status_code == 400
    stats = requests.get(f"{simulator.base_url}/_sim/stats", timeout=5).json()
    assert stats["faults_injected_total"] == 1
    assert requests.post(f"{simulator.base_url}/_sim/reset", timeout=5).status_code == 200
    assert requests.get(f"{simulator.base_url}/_sim/stats", timeout=5).json()["api_requests"] == 0


def test_job_failures_from_profile(simulator_factory: Callable[..., SimulatorServer]) -> None:
    sim = simulator_factory(faults=only(job_failure_probability=1.0), job_fulfill_seconds=0)
    headers = {"Authorization": f"Bearer {login(sim)}"}
    job = requests.post(
        f"{sim.base_url}/api/v2/analytics/conversations/details/jobs",
        headers=headers,
        json={"interval": DAY},
        timeout=5,
    ).json()
    status = requests.get(
        f"{sim.base_url}/api/v2/analytics/conversations/details/jobs/{job['jobId']}",
        headers=headers,
        timeout=5,
    ).json()
    assert status["state"] == "FAILED" and status["errorMessage"]


def test_cli_defaults_and_flags() -> None:
    args = parse_args([])
    assert (args.host, args.port, args.seed, args.conversations_per_day) == ("127.0.0.1", 8180, 7, 2000)
    assert (args.rate_limit_per_minute, args.token_ttl_seconds) == (300, 86400)
    assert (args.client_id, args.client_secret) == ("demo-client", "demo-secret")
    config = config_from_args(
        parse_args(
            [
                "--fault-profile",
                "hostile",
                "--now",
                "2024-03-05T12:00:00Z",
                "--volume",
                "2024-03-05=250000",
                "--rate-limit-per-minute",
                "0",
            ]
        )
    )
    assert config.faults == "hostile" and config.now is not None and config.now.hour == 12
    assert config.volume_overrides and config.rate_limit_per_minute == 0


def test_cli_serves_login_and_api() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "include.genesys_simulator",
            "--port",
            str(port),
            "--conversations-per-day",
            "300",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                requests.get(f"{base}/_sim/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        token = requests.post(
            f"{base}/oauth/token",
            auth=("demo-client", "demo-secret"),
            data={"grant_type": "client_credentials"},
            timeout=5,
        ).json()["access_token"]
        response = requests.post(
            f"{base}/api/v2/analytics/conversations/details/query",
            json=BODY,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200 and response.headers["inin-ratelimit-allowed"] == "300"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
