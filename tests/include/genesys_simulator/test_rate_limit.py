"""Per-token rate limiting: budget headers, the 429 after the budget, a fresh budget per token."""

from __future__ import annotations

from collections.abc import Callable

from include.genesys_simulator import SimulatorServer
from tests.include.genesys_simulator.helpers import DAY, assert_error_body, login, query


def test_request_after_budget_gets_429_with_retry_after(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    sim = simulator_factory(rate_limit_per_minute=5)
    token = login(sim)
    body = {"interval": DAY, "paging": {"pageSize": 1}}
    for n in range(1, 6):
        response = query(sim, token, body)
        assert response.status_code == 200
        assert response.headers["inin-ratelimit-count"] == str(n)
        assert response.headers["inin-ratelimit-allowed"] == "5"
        assert 0 < int(response.headers["inin-ratelimit-reset"]) <= 60
    limited = query(sim, token, body)
    error = assert_error_body(limited, 429, "too.many.requests.retry.after")
    retry_after = int(limited.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert (
        error["message"] == f"Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
    )
    assert limited.headers["inin-ratelimit-count"] == "5"
    # The budget is per token: a new token may send at once.
    assert query(sim, login(sim), body).status_code == 200
    stats = sim.stats()
    assert stats["rate_limited"] == 1
    assert stats["api_requests_by_status"] == {"200": 6, "429": 1}


def test_disabled_rate_limit_never_answers_429(simulator: SimulatorServer) -> None:
    token = login(simulator)
    statuses = {
        query(simulator, token, {"interval": DAY, "paging": {"pageSize": 1}}).status_code for _ in range(40)
    }
    assert statuses == {200}


def test_reset_clears_windows(simulator_factory: Callable[..., SimulatorServer]) -> None:
    sim = simulator_factory(rate_limit_per_minute=1)
    token = login(sim)
    assert query(sim, token, {"interval": DAY, "paging": {"pageSize": 1}}).status_code == 200
    assert query(sim, token, {"interval": DAY, "paging": {"pageSize": 1}}).status_code == 429
    sim.reset()  # tokens are forgotten too
    assert query(sim, token, {"interval": DAY}).status_code == 401
    assert query(sim, login(sim), {"interval": DAY, "paging": {"pageSize": 1}}).status_code == 200
    assert sim.stats()["api_requests"] == 2
