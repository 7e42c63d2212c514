"""Every documented error and limit answers with the real status, code and body shape."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from include.genesys_simulator import SimulatorServer
from tests.include.genesys_simulator.helpers import DAY, JOBS_PATH, assert_error_body, login, query


def test_default_page_size_is_25_and_max_is_100(simulator: SimulatorServer) -> None:
    token = login(simulator)
    body = query(simulator, token, {"interval": DAY}).json()
    assert len(body["conversations"]) == 25
    assert (
        len(query(simulator, token, {"interval": DAY, "paging": {"pageSize": 100}}).json()["conversations"])
        == 100
    )
    response = query(simulator, token, {"interval": DAY, "paging": {"pageSize": 101, "pageNumber": 1}})
    assert_error_body(response, 400, "bad.request")


def test_pagination_beyond_100000_results_is_rejected(simulator: SimulatorServer) -> None:
    token = login(simulator)
    ok = query(simulator, token, {"interval": DAY, "paging": {"pageSize": 100, "pageNumber": 1000}})
    assert ok.status_code == 200 and "conversations" not in ok.json()  # 100,000 exactly is allowed
    response = query(simulator, token, {"interval": DAY, "paging": {"pageSize": 100, "pageNumber": 1001}})
    body = assert_error_body(response, 400, "bad.request")
    assert "Pagination may not exceed 100000 results" in body["message"]
    response = query(simulator, token, {"interval": DAY, "paging": {"pageSize": 25, "pageNumber": 4001}})
    assert "Pagination may not exceed 100000 results" in response.json()["message"]


def test_empty_page_omits_conversations(simulator: SimulatorServer) -> None:
    token = login(simulator)
    body = query(simulator, token, {"interval": DAY, "paging": {"pageSize": 100, "pageNumber": 900}}).json()
    assert "conversations" not in body
    assert body["totalHits"] == len(simulator.dataset.conversation_ids(DAY.split("/")[0], DAY.split("/")[1]))


def test_interval_maximum_and_malformed_intervals(simulator: SimulatorServer) -> None:
    token = login(simulator)
    seven = query(simulator, token, {"interval": "2024-03-01T00:00:00Z/2024-03-08T00:00:00Z"})
    assert seven.status_code == 200
    eight = query(simulator, token, {"interval": "2024-03-01T00:00:00Z/2024-03-08T00:00:01Z"})
    assert "maximum of 7 days" in assert_error_body(eight, 400, "bad.request")["message"]
    for interval in ("2024-03-01", "2024-03-02T00:00:00Z/2024-03-01T00:00:00Z", "yesterday/today"):
        assert_error_body(query(simulator, token, {"interval": interval}), 400, "invalid.value")
    duration = query(simulator, token, {"interval": "2024-03-05T00:00:00Z/P1D", "paging": {"pageSize": 1}})
    assert duration.json()["totalHits"] == query(simulator, token, {"interval": DAY}).json()["totalHits"]


def test_malformed_json_and_bad_fields(simulator: SimulatorServer) -> None:
    token = login(simulator)
    assert_error_body(query(simulator, token, b'{"interval": '), 400, "bad.request")
    assert_error_body(query(simulator, token, b"[1, 2]"), 400, "bad.request")
    unknown = assert_error_body(query(simulator, token, {"interval": DAY, "pageSize": 5}), 400, "bad.request")
    assert "pageSize" in unknown["message"]
    assert_error_body(query(simulator, token, {"order": "asc"}), 400, "bad.request")  # interval is required
    assert_error_body(
        query(simulator, token, {"interval": DAY, "paging": {"pageSize": "many"}}), 400, "bad.request"
    )
    assert_error_body(query(simulator, token, {"interval": DAY, "order": "sideways"}), 400, "invalid.value")
    assert_error_body(query(simulator, token, {"interval": DAY, "orderBy": "mood"}), 400, "invalid.value")
    bad_dimension = {"type": "and", "predicates": [{"dimension": "favouriteColour", "value": "blue"}]}
    assert_error_body(
        query(simulator, token, {"interval": DAY, "segmentFilters": [bad_dimension]}), 400, "invalid.value"
    )


def test_missing_unknown_expired_and_revoked_tokens(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    sim = simulator_factory(token_ttl_seconds=1)
    missing = requests.post(
        f"{sim.base_url}/api/v2/analytics/conversations/details/query", json={"interval": DAY}
    )
    assert_error_body(missing, 401, "authentication.required")
    assert_error_body(query(sim, "not-a-token", {"interval": DAY}), 401, "bad.credentials")
    token = login(sim)
    assert query(sim, token, {"interval": DAY}).status_code == 200
    time.sleep(1.1)
    assert_error_body(query(sim, token, {"interval": DAY}), 401, "bad.credentials")
    fresh = login(sim)
    assert requests.post(f"{sim.base_url}/_sim/tokens/revoke", timeout=5).json() == {"revoked": 2}
    assert_error_body(query(sim, fresh, {"interval": DAY}), 401, "bad.credentials")
    assert query(sim, login(sim), {"interval": DAY}).status_code == 200


def test_oauth_token_endpoint(simulator: SimulatorServer) -> None:
    url = f"{simulator.base_url}/oauth/token"
    ok = requests.post(url, auth=("demo-client", "demo-secret"), data={"grant_type": "client_credentials"})
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "bearer" and ok.json()["expires_in"] == 86400
    form = requests.post(
        url,
        data={"grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"},
    )
    assert form.status_code == 200 and form.json()["access_token"] != ok.json()["access_token"]
    wrong = requests.post(url, auth=("demo-client", "nope"), data={"grant_type": "client_credentials"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    no_grant = requests.post(url, auth=("demo-client", "demo-secret"), data={})
    assert no_grant.status_code == 400 and no_grant.json()["error"] == "invalid_request"
    bad_grant = requests.post(url, auth=("demo-client", "demo-secret"), data={"grant_type": "password"})
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"
    stats = simulator.stats()
    assert stats["token_requests"] == 5 and stats["tokens_issued"] == 2 and stats["token_failures"] == 3


def test_job_errors(simulator_factory: Callable[..., SimulatorServer]) -> None:
    sim = simulator_factory(job_fulfill_seconds=30)
    token = login(sim)
    headers = {"Authorization": f"Bearer {token}"}
    unknown = requests.get(f"{sim.base_url}{JOBS_PATH}/does-not-exist", headers=headers)
    assert_error_body(unknown, 404, "not.found")
    created = requests.post(f"{sim.base_url}{JOBS_PATH}", headers=headers, json={"interval": DAY})
    assert created.status_code == 202
    job_id = created.json()["jobId"]
    status = requests.get(f"{sim.base_url}{JOBS_PATH}/{job_id}", headers=headers).json()
    assert status["state"] == "QUEUED" and "submissionDate" in status
    early = requests.get(f"{sim.base_url}{JOBS_PATH}/{job_id}/results", headers=headers)
    assert_error_body(early, 400, "bad.request")
    bad_body = requests.post(
        f"{sim.base_url}{JOBS_PATH}", headers=headers, json={"interval": DAY, "paging": {}}
    )
    assert_error_body(bad_body, 400, "bad.request")
    deleted = requests.delete(f"{sim.base_url}{JOBS_PATH}/{job_id}", headers=headers)
    assert deleted.status_code == 204
    assert_error_body(
        requests.delete(f"{sim.base_url}{JOBS_PATH}/{job_id}", headers=headers), 404, "not.found"
    )
