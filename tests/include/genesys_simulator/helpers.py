"""Small HTTP helpers for simulator tests."""

from __future__ import annotations

from typing import Any

import requests

from include.genesys_simulator import SimulatorServer

QUERY_PATH = "/api/v2/analytics/conversations/details/query"
JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
DAY = "2024-03-05T00:00:00.000Z/2024-03-06T00:00:00.000Z"


def login(sim: SimulatorServer, session: requests.Session | None = None) -> str:
    """Return a fresh access token."""
    http = session or requests
    response = http.post(
        f"{sim.base_url}/oauth/token",
        auth=(sim.config.client_id, sim.config.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def query(sim: SimulatorServer, token: str, body: dict[str, Any] | bytes) -> requests.Response:
    """POST a details query (a dict as JSON, bytes as they are)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if isinstance(body, bytes):
        return requests.post(f"{sim.base_url}{QUERY_PATH}", data=body, headers=headers, timeout=30)
    return requests.post(f"{sim.base_url}{QUERY_PATH}", json=body, headers=headers, timeout=30)


def page_all(
    sim: SimulatorServer, token: str, body: dict[str, Any], page_size: int = 100
) -> list[dict[str, Any]]:
    """Page a query until the first empty page; return all conversations."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        response = query(sim, token, {**body, "paging": {"pageSize": page_size, "pageNumber": page}})
        response.raise_for_status()
        conversations = response.json().get("conversations", [])
        if not conversations:
            return out
        out.extend(conversations)
        page += 1


def assert_error_body(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the Genesys error body shape and return it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["contextId"], str) and body["contextId"]
    assert body["details"] == [] or isinstance(body["details"], list)
    assert isinstance(body["errors"], list)
    return body
