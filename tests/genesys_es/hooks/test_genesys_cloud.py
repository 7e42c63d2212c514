"""GenesysCloudHook against the simulator: OAuth, retries, budget, paging, planning (no mocked HTTP)."""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from genesys_es.exceptions import GenesysApiError, GenesysAuthError, GenesysCredentialsError
from genesys_es.extract.models import QUERY_PATH
from genesys_es.extract.paging import ConversationPager
from genesys_es.extract.planning import Partition, belongs_to, plan_partitions
from genesys_es.hooks.genesys_cloud import GenesysCloudHook

pytest.importorskip("include.genesys_simulator")

DAY = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
NEXT = DAY + timedelta(days=1)


def use_connection(monkeypatch, sim, *, secret: str = "demo-secret", rpm: float = 0, **extra) -> None:
    """Point the default Genesys connection at a running simulator."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT",
        json.dumps(
            {
                "conn_type": "genesys_cloud",
                "login": "demo-client",
                "password": secret,
                "extra": {"base_url": sim.base_url, "requests_per_minute": rpm, **extra},
            }
        ),
    )


def token_requests(sim) -> int:
    return int(sim.stats()["token_requests"])


def read_partitions(hook: GenesysCloudHook, partitions: list[Partition], concurrency: int = 4):
    """Read partitions like the ingest task: return (ids kept, (partition label, page number) list)."""
    kept: list[str] = []
    pages: list[tuple[str, int]] = []
    for p in partitions:
        for page in ConversationPager(hook).iter_pages(
            p.start, p.end, p.first_page, p.last_page, page_size=p.page_size, concurrency=concurrency
        ):
            pages.append((f"{p.start.isoformat()}|{p.end.isoformat()}", page.page_number))
            kept.extend(c["conversationId"] for c in page.conversations if belongs_to(c, p))
    return kept, pages


# -- connection, hosts ---------------------------------------------------------------------------------


def test_region_hosts_and_unknown_region(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_EU",
        json.dumps(
            {"conn_type": "genesys_cloud", "login": "id", "password": "pw", "extra": {"region": "eu_west_1"}}
        ),
    )
    hook = GenesysCloudHook("genesys_eu")
    assert (hook.login_base, hook.api_base) == ("https://login.mypurecloud.ie", "https://api.mypurecloud.ie")
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_MARS",
        json.dumps(
            {"conn_type": "genesys_cloud", "login": "id", "password": "pw", "extra": {"region": "mars_1"}}
        ),
    )
    with pytest.raises(ValueError, match=r"mars_1.*us_east_1"):
        _ = GenesysCloudHook("genesys_mars").api_base


def test_missing_credentials_are_a_clear_error(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_EMPTY", json.dumps({"conn_type": "genesys_cloud", "login": "id"})
    )
    with pytest.raises(ValueError, match="client secret as password"):
        _ = GenesysCloudHook("genesys_empty").api_base


def test_the_budget_is_the_connections_and_shared_only_with_a_store(monkeypatch, es):
    from genesys_es.extract.shared_budget import ElasticsearchBudgetStore, SharedRequestBudget

    monkeypatch.setenv(
        "AIRFLOW_CONN_GENESYS_SHARED",
        json.dumps(
            {
                "conn_type": "genesys_cloud",
                "login": "id",
                "password": "pw",
                "extra": {"base_url": "http://127.0.0.1:9", "requests_per_minute": 300},
            }
        ),
    )
    alone = GenesysCloudHook("genesys_shared", budget_utilization=1.0)
    assert alone.budget.requests_per_minute == 300 and alone.budget.interval == 0.2
    shared = GenesysCloudHook("genesys_shared", budget_store=ElasticsearchBudgetStore(es))
    assert isinstance(shared.budget, SharedRequestBudget) and shared.budget.requests_per_minute == 294
    unlimited = GenesysCloudHook(
        "genesys_shared", requests_per_minute=0, budget_store=ElasticsearchBudgetStore(es)
    )
    assert unlimited.budget.unlimited  # nothing to share: no Elasticsearch round trip per request


def test_constructor_does_no_io(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT", raising=False)
    hook = GenesysCloudHook(max_concurrency=8, timeout=(1, 2))  # no connection exists: must not matter yet
    assert hook.max_concurrency == 8 and hook._session is None


# -- OAuth ---------------------------------------------------------------------------------------------


def test_thousand_requests_use_one_token(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    before = token_requests(simulator)
    with GenesysCloudHook(max_concurrency=4) as hook:
        total = ConversationPager(hook).count(DAY, NEXT)
        assert total > 0
        pages = 0
        page_size = max(1, -(-total // 999))  # about 999 pages for the day
        for _page in ConversationPager(hook).iter_pages(
            DAY, NEXT, 1, 999, page_size=page_size, concurrency=4
        ):
            pages += 1
        assert pages == 999
        assert hook.stats["requests"] == 1000
    assert token_requests(simulator) - before == 1


def test_token_expiring_mid_run_is_refreshed_before_it_fails(monkeypatch, simulator_factory):
    sim = simulator_factory(token_ttl_seconds=3, rate_limit_per_minute=0)
    use_connection(monkeypatch, sim)
    hook = GenesysCloudHook(max_concurrency=2)
    deadline = time.monotonic() + 5
    counts = set()
    while time.monotonic() < deadline:
        counts.add(ConversationPager(hook).count(DAY, NEXT))
        time.sleep(0.05)
    assert len(counts) == 1
    assert hook.stats["token_requests"] >= 2  # 5 s of 3 s tokens refreshed 0.75 s early
    assert hook.stats["reauthentications"] == 0  # refreshed ahead of expiry, never met a 401
    assert token_requests(sim) == hook.stats["token_requests"]


def test_revoked_token_is_fetched_again_once(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    hook = GenesysCloudHook()
    first = ConversationPager(hook).count(DAY, NEXT)
    before = token_requests(simulator)
    import requests

    requests.post(f"{simulator.base_url}/_sim/tokens/revoke", timeout=5).raise_for_status()
    assert ConversationPager(hook).count(DAY, NEXT) == first
    assert token_requests(simulator) - before == 1
    assert hook.stats["reauthentications"] == 1
    assert hook.stats["retries"] == 0


def test_bad_credentials_fail_clearly_without_the_secret(monkeypatch, simulator, caplog):
    secret = "s3cr3t-Wrong-Value-91"
    use_connection(monkeypatch, simulator, secret=secret)
    caplog.set_level(logging.DEBUG)
    hook = GenesysCloudHook()
    with pytest.raises(GenesysAuthError) as info:
        ConversationPager(hook).count(DAY, NEXT)
    message = str(info.value)
    assert "demo-client" in message and "refused" in message
    # A task log names the connection to fix.
    assert isinstance(info.value, GenesysCredentialsError), type(info.value)
    assert info.value.advice == "check the connection 'genesys_cloud_default'" and message.endswith(
        info.value.advice
    )
    assert secret not in message and secret not in repr(info.value)
    ok, text = hook.test_connection()
    assert not ok and "refused" in text and secret not in text
    # The UI tests its form under a temporary connection id: the answer names the credentials, not that id,
    # and carries the login service's own reason.
    assert "genesys_cloud_default" not in text and "check the client id and secret" in text, text
    assert "no message" not in text, text
    assert secret not in caplog.text
    assert hook.stats["retries"] == 0  # refused credentials are not retried


def test_test_connection_succeeds(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    ok, text = GenesysCloudHook().test_connection()
    assert ok, text
    assert simulator.base_url in text


def test_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:  # a port nobody listens on: the "proxy" refuses every connection
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("http_proxy", dead_proxy)
    hook = GenesysCloudHook(retry_limit=1, retry_min_wait=0)
    with pytest.raises(requests.exceptions.ProxyError):
        ConversationPager(hook).count(DAY, NEXT)
    assert simulator.stats()["token_requests"] == 0  # nothing got past the proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert ConversationPager(GenesysCloudHook()).count(DAY, NEXT) > 0


def test_a_netrc_entry_for_the_host_does_not_replace_the_bearer_token(monkeypatch, simulator, tmp_path):
    use_connection(monkeypatch, simulator)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert ConversationPager(GenesysCloudHook()).count(DAY, NEXT) > 0


# -- errors and retries --------------------------------------------------------------------------------


def test_bad_request_fails_at_once_with_genesys_message(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    hook = GenesysCloudHook()
    with pytest.raises(GenesysApiError) as info:
        hook.request("POST", QUERY_PATH, {"interval": "not an interval", "paging": {"pageSize": 5}})
    assert info.value.status == 400
    assert info.value.message and info.value.message in str(info.value)
    assert hook.stats["retries"] == 0 and hook.stats["requests"] == 1


def test_429_waits_exactly_retry_after(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    hook = GenesysCloudHook()
    expected = ConversationPager(hook).count(DAY, NEXT)  # token and connection warm
    simulator.set_faults({"burst_429_probability": 0.3, "burst_429_length": 2, "burst_429_retry_after": 1})
    t0 = time.monotonic()
    try:
        counts = [ConversationPager(hook).count(DAY, NEXT) for _ in range(3)]
    finally:
        simulator.set_faults(None)
    elapsed = time.monotonic() - t0
    rate_limited = hook.stats["rate_limited"]
    assert counts == [expected] * 3
    assert rate_limited >= 2
    assert rate_limited == simulator.stats()["api_requests_by_status"]["429"]
    # Each 429 costs its Retry-After (1 s) and no more: no exponential backoff on top.
    assert rate_limited * 1.0 <= elapsed < rate_limited * 1.0 + 1.0


def test_server_errors_back_off_and_are_counted(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    hook = GenesysCloudHook(retry_min_wait=0.05, retry_max_wait=0.2)
    expected = ConversationPager(hook).count(DAY, NEXT)
    simulator.set_faults("server_errors")
    try:
        counts = {ConversationPager(hook).count(DAY + timedelta(minutes=i), NEXT) for i in range(30)}
    finally:
        simulator.set_faults(None)
    assert hook.retries > 0
    assert max(counts) <= expected


# -- reading -------------------------------------------------------------------------------------------


def test_hostile_day_is_read_with_no_page_lost_or_doubled(monkeypatch, simulator_factory):
    sim = simulator_factory(conversations_per_day=3000, rate_limit_per_minute=0, faults="hostile", seed=11)
    use_connection(monkeypatch, sim)
    hook = GenesysCloudHook(max_concurrency=4, timeout=(5, 10), retry_min_wait=0.05, retry_max_wait=1)
    partitions = plan_partitions(
        DAY, NEXT, ConversationPager(hook).count, page_size=100, pages_per_partition=7
    )
    assert len(partitions) > 1
    kept, pages = read_partitions(hook, partitions)
    wanted = [p for part in partitions for p in range(part.first_page, part.last_page + 1)]
    assert sorted(n for _, n in pages) == sorted(wanted)
    assert len(pages) == len(set(pages))
    assert len(kept) == len(set(kept))
    assert set(kept) == set(sim.dataset.conversation_ids(DAY, NEXT))
    stats = sim.stats()
    assert hook.retries > 0 and hook.stats["rate_limited"] > 0
    assert sum(stats.get("faults_injected", {"x": 1}).values()) > 0


def test_open_ended_partition_collects_late_arrivals(monkeypatch, simulator_factory):
    today = datetime(2024, 3, 6, tzinfo=UTC)
    noon = today + timedelta(hours=12)
    sim = simulator_factory(conversations_per_day=4000, rate_limit_per_minute=0, now=noon)
    use_connection(monkeypatch, sim)
    hook = GenesysCloudHook()
    partitions = plan_partitions(
        today,
        today + timedelta(days=1),
        ConversationPager(hook).count,
        pages_per_partition=5,
        open_ended=True,
    )
    assert partitions[-1].last_page is None
    at_noon = set(sim.dataset.conversation_ids(today, today + timedelta(days=1)))
    sim.set_clock(noon + timedelta(hours=3))  # the day keeps growing while the run is under way
    later = set(sim.dataset.conversation_ids(today, today + timedelta(days=1)))
    assert len(later) > len(at_noon)
    kept, _ = read_partitions(hook, partitions)
    assert len(kept) == len(set(kept))
    assert set(kept) == later


def test_get_conversations_by_id(monkeypatch, simulator):
    use_connection(monkeypatch, simulator)
    hook = GenesysCloudHook()
    ids = sorted(simulator.dataset.conversation_ids(DAY, NEXT))
    wanted = [*ids[::9][:150], "not-a-real-id"]
    found = ConversationPager(hook).get_conversations(wanted, start=DAY, end=NEXT + timedelta(days=1))
    assert [c["conversationId"] for c in found] == wanted[:-1]
    assert all("participants" in c for c in found)


def test_big_day_split_under_a_small_cap_is_read_completely(monkeypatch, simulator_factory):
    """The 250k path at 1/40 scale: the same split-and-read, with the cap scaled down the same way."""
    big = date(2024, 3, 5)
    start = datetime(2024, 3, 5, tzinfo=UTC)
    end = start + timedelta(days=1)
    sim = simulator_factory(rate_limit_per_minute=0, volume_overrides={big: 6_250})
    use_connection(monkeypatch, sim)
    hook = GenesysCloudHook(max_concurrency=4)
    partitions = plan_partitions(
        start, end, ConversationPager(hook).count, page_size=50, pages_per_partition=10, cap=2_500
    )
    intervals = {(p.start, p.end) for p in partitions}
    assert len(intervals) >= 3
    assert all(ConversationPager(hook).count(s, e) <= 2_250 for s, e in intervals)
    kept, pages = read_partitions(hook, partitions)
    assert len(pages) == len(set(pages))
    assert len(kept) == 6_250 == len(set(kept))
    assert set(kept) == set(sim.dataset.conversation_ids(start, end))


@pytest.mark.slow
def test_250k_day_is_planned_under_the_cap_and_read_completely(
    monkeypatch, simulator_factory, record_property
):
    big = date(2024, 3, 5)
    start = datetime(2024, 3, 5, tzinfo=UTC)
    end = start + timedelta(days=1)
    sim = simulator_factory(rate_limit_per_minute=0, volume_overrides={big: 250_000})
    use_connection(monkeypatch, sim)
    hook = GenesysCloudHook(max_concurrency=8)
    t0 = time.monotonic()
    partitions = plan_partitions(
        start, end, ConversationPager(hook).count, page_size=100, pages_per_partition=50
    )
    planning_requests = hook.stats["requests"]
    intervals = {(p.start, p.end) for p in partitions}
    assert len(intervals) >= 3
    assert all(ConversationPager(hook).count(s, e) <= 90_000 for s, e in intervals)
    kept, pages = read_partitions(hook, partitions, concurrency=8)
    elapsed = time.monotonic() - t0
    record_property("seconds", round(elapsed, 1))
    record_property("pages", len(pages))
    print(
        f"250k day: {len(intervals)} sub-intervals, {planning_requests} planning requests, "
        f"{len(pages)} pages in {elapsed:.1f}s"
    )
    assert len(kept) == 250_000 == len(set(kept))
    assert set(kept) == set(sim.dataset.conversation_ids(start, end))
