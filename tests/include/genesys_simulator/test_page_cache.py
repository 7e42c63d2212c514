"""The simulator's page cache: repeats of a settled page are answered from it, byte for byte the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest
import requests

from include.genesys_simulator import SimulatorServer
from include.genesys_simulator.page_cache import PageCache, RenderedPage
from tests.include.genesys_simulator.helpers import DAY, login, query

NOW = datetime(2024, 3, 5, 11, 30, tzinfo=UTC)


def _stats(sim: SimulatorServer) -> dict:
    return requests.get(f"{sim.base_url}/_sim/stats", timeout=5).json()


def _body(interval: str, page: int) -> bytes:
    return orjson.dumps({"interval": interval, "paging": {"pageSize": 100, "pageNumber": page}})


def test_settled_pages_are_answered_from_the_cache_unchanged(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    cached = simulator_factory(response_cache_mb=64)
    plain = simulator_factory()
    token_c, token_p = login(cached), login(plain)
    for page in (1, 2, 7):
        first = query(cached, token_c, _body(DAY, page))
        again = query(cached, token_c, _body(DAY, page))
        reference = query(plain, token_p, _body(DAY, page))
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert orjson.loads(again.content) == orjson.loads(reference.content)
    stats = _stats(cached)
    assert stats["page_cache"]["hits"] == 3
    assert stats["page_cache"]["pages"] == 3
    # Cached answers still count as answered conversations.
    assert stats["conversations_returned"] == _stats(plain)["conversations_returned"] * 2
    assert _stats(plain)["page_cache"]["pages"] == 0


def test_pages_that_can_still_change_are_not_cached(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    sim = simulator_factory(response_cache_mb=64, now=NOW)
    token = login(sim)
    before = query(sim, token, _body(DAY, 1)).json()
    assert _stats(sim)["page_cache"]["pages"] == 0
    requests.post(f"{sim.base_url}/_sim/clock", json={"advanceSeconds": 3600}, timeout=5)
    after = query(sim, token, _body(DAY, 1)).json()
    assert after["totalHits"] > before["totalHits"], "a live day must keep growing"


def test_moving_the_clock_back_forgets_cached_pages(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    sim = simulator_factory(response_cache_mb=64)
    token = login(sim)
    settled = query(sim, token, _body(DAY, 1)).json()
    assert _stats(sim)["page_cache"]["pages"] == 1
    requests.post(f"{sim.base_url}/_sim/clock", json={"now": NOW.isoformat()}, timeout=5)
    assert _stats(sim)["page_cache"]["pages"] == 0
    live = query(sim, token, _body(DAY, 1)).json()
    assert live["totalHits"] < settled["totalHits"]


def test_faults_and_rate_limits_still_apply_to_cached_pages(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    sim = simulator_factory(response_cache_mb=64, rate_limit_per_minute=3)
    token = login(sim)
    statuses = [query(sim, token, _body(DAY, 1)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_the_cache_stays_within_its_byte_bound() -> None:
    cache = PageCache(max_bytes=100)
    for n in range(5):
        cache.put(b"k%d" % n, RenderedPage(b"x" * 30, 1))
    assert cache.size_bytes <= 100
    assert cache.get(b"k0") is None and cache.get(b"k4") is not None
    cache.put(b"big", RenderedPage(b"x" * 200, 1))
    assert cache.get(b"big") is None
    assert PageCache(0).get(b"k") is None
    with pytest.raises(ValueError):
        PageCache(-1)


def _job_pages(sim: SimulatorServer, token: str) -> list[dict]:
    """Submit a details job for DAY, wait for it, and return its result pages (cursor followed)."""
    import time

    headers = {"Authorization": f"Bearer {token}"}
    jobs = f"{sim.base_url}/api/v2/analytics/conversations/details/jobs"
    job_id = requests.post(jobs, json={"interval": DAY}, headers=headers, timeout=5).json()["jobId"]
    while requests.get(f"{jobs}/{job_id}", headers=headers, timeout=5).json()["state"] != "FULFILLED":
        time.sleep(0.05)
    pages, cursor = [], None
    while True:
        params = {"pageSize": 300, **({"cursor": cursor} if cursor else {})}
        page = requests.get(f"{jobs}/{job_id}/results", params=params, headers=headers, timeout=5).json()
        pages.append(page)
        if not (cursor := page.get("cursor")):
            return pages


def test_settled_job_results_are_rendered_once_and_keep_their_own_cursor(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    cached = simulator_factory(response_cache_mb=64, job_fulfill_seconds=0.05)
    plain = simulator_factory(job_fulfill_seconds=0.05)
    token = login(cached)
    first, again = _job_pages(cached, token), _job_pages(cached, token)
    reference = _job_pages(plain, login(plain))
    assert len(first) == len(reference) > 1
    for a, b, ref in zip(first, again, reference, strict=True):
        assert a["conversations"] == b["conversations"] == ref["conversations"]
        assert ("cursor" in a) == ("cursor" in b) == ("cursor" in ref)
    # Each job's cursor names its own job: the second job's pages are cached, not its cursors.
    assert first[0]["cursor"] != again[0]["cursor"]
    assert _stats(cached)["page_cache"]["hits"] == len(first)
