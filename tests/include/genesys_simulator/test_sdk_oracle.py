"""The official Genesys SDK is the oracle: it logs in, pages a day, runs a job and deserializes everything."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

PureCloud = pytest.importorskip("PureCloudPlatformClientV2")

from PureCloudPlatformClientV2 import (  # noqa: E402
    AnalyticsApi,
    ApiClient,
    AsyncConversationQuery,
    ConversationQuery,
    PagingSpec,
)
from PureCloudPlatformClientV2.rest import ApiException  # noqa: E402

from include.genesys_simulator import SimulatorServer  # noqa: E402

DAY_START = datetime(2024, 3, 5, tzinfo=UTC)
DAY_END = datetime(2024, 3, 6, tzinfo=UTC)
INTERVAL = "2024-03-05T00:00:00.000Z/2024-03-06T00:00:00.000Z"


def sdk_client(sim: SimulatorServer, secret: str | None = None) -> ApiClient:
    """Log in with the SDK's own client-credentials flow against the simulator."""
    client = ApiClient(host=sim.base_url)
    assert client.get_conf_url("login", sim.base_url) == sim.base_url  # no //api. to rewrite
    return client.get_client_credentials_token(sim.config.client_id, secret or sim.config.client_secret)


def assert_fully_mapped(model: Any, raw: Any, path: str = "$") -> None:
    """Assert every JSON key maps to an SDK attribute that deserialized to a value (no unknown enum)."""
    if isinstance(raw, list):
        assert isinstance(model, list) and len(model) == len(raw), path
        for n, (m, r) in enumerate(zip(model, raw, strict=True)):
            assert_fully_mapped(m, r, f"{path}[{n}]")
        return
    if isinstance(raw, dict) and hasattr(model, "attribute_map"):
        reverse = {json_name: attr for attr, json_name in model.attribute_map.items()}
        for key, value in raw.items():
            assert key in reverse, f"{path}.{key} is not a field of {type(model).__name__}"
            attr_value = getattr(model, reverse[key])
            assert attr_value is not None, f"{path}.{key} was dropped by the SDK"
            if isinstance(attr_value, str):
                assert attr_value != "outdated_sdk_version", f"{path}.{key}={value!r} is not an allowed value"
            assert_fully_mapped(attr_value, value, f"{path}.{key}")
        return
    if isinstance(raw, str):
        assert model != "outdated_sdk_version", f"{path}={raw!r} is not an allowed value"


def test_sdk_pages_a_whole_day(simulator_factory: Callable[..., SimulatorServer]) -> None:
    simulator = simulator_factory(volume_overrides={date(2024, 3, 5): 640})
    api_client = sdk_client(simulator)
    api = AnalyticsApi(api_client)
    seen: list[str] = []
    total_hits = None
    page = 1
    while True:
        body = ConversationQuery()
        body.interval = INTERVAL
        body.order = "asc"
        body.order_by = "conversationStart"
        body.paging = PagingSpec()
        body.paging.page_size = 100
        body.paging.page_number = page
        response = api.post_analytics_conversations_details_query(body)
        total_hits = response.total_hits if total_hits is None else total_hits
        assert response.total_hits == total_hits
        if not response.conversations:
            break
        for conversation in response.conversations:
            assert conversation.conversation_start.tzinfo is not None
            seen.append(conversation.conversation_id)
        page += 1
    assert total_hits == len(seen) == len(set(seen))
    assert seen == simulator.dataset.conversation_ids(DAY_START, DAY_END)
    assert total_hits == 640  # a day-aligned query holds exactly the conversations started that day


def test_sdk_deserializes_every_field(simulator: SimulatorServer) -> None:
    """Every field the simulator sends exists in the SDK's models, with allowed enum values."""
    api_client = sdk_client(simulator)
    raw = simulator.dataset.conversations(DAY_START, DAY_END)[::4]
    assert {s["mediaType"] for c in raw for p in c["participants"] for s in p["sessions"]} == {
        "voice",
        "callback",
        "chat",
        "message",
        "email",
    }
    # Deserialize the exact JSON the API would send, in chunks like pages.
    for offset in range(0, len(raw), 250):
        chunk = {"conversations": raw[offset : offset + 250], "totalHits": len(raw)}
        model = api_client._ApiClient__deserialize(chunk, "AnalyticsConversationQueryResponse")
        assert_fully_mapped(model, chunk)
    jobs_raw = simulator.dataset.conversations(DAY_START, DAY_END, with_attributes=True)[::8]
    model = api_client._ApiClient__deserialize(
        {"conversations": jobs_raw}, "AnalyticsConversationAsyncQueryResponse"
    )
    assert_fully_mapped(model, {"conversations": jobs_raw})
    assert any(p.attributes for c in model.conversations for p in c.participants)


def test_sdk_runs_a_jobs_export(simulator: SimulatorServer) -> None:
    api = AnalyticsApi(sdk_client(simulator))
    availability = api.get_analytics_conversations_details_jobs_availability()
    assert availability.data_availability_date is not None
    body = AsyncConversationQuery()
    body.interval = "2024-03-05T06:00:00.000Z/2024-03-05T08:00:00.000Z"
    job = api.post_analytics_conversations_details_jobs(body)
    states = []
    for _ in range(100):
        status = api.get_analytics_conversations_details_job(job.job_id)
        states.append(status.state)
        if status.state == "FULFILLED":
            break
        time.sleep(0.1)
    assert states[0] == "QUEUED" and states[-1] == "FULFILLED"
    ids: list[str] = []
    cursor = None
    with_attributes = 0
    while True:
        kwargs = {"page_size": 200}
        if cursor:
            kwargs["cursor"] = cursor
        page = api.get_analytics_conversations_details_job_results(job.job_id, **kwargs)
        for conversation in page.conversations or []:
            ids.append(conversation.conversation_id)
            with_attributes += any(p.attributes for p in conversation.participants)
        cursor = page.cursor
        if not cursor:
            break
    assert len(ids) == len(set(ids))
    # Jobs match by overlap: the details query's matches plus earlier-day conversations running at 06:00.
    sync_ids = set(simulator.dataset.conversation_ids("2024-03-05T06:00:00Z", "2024-03-05T08:00:00Z"))
    assert sync_ids <= set(ids)
    assert with_attributes > len(ids) // 2
    api.delete_analytics_conversations_details_job(job.job_id)
    with pytest.raises(ApiException) as excinfo:
        api.get_analytics_conversations_details_job(job.job_id)
    assert excinfo.value.status == 404


def test_sdk_login_with_wrong_secret_fails(simulator: SimulatorServer) -> None:
    with pytest.raises(ApiException) as excinfo:
        sdk_client(simulator, secret="wrong")
    assert excinfo.value.status == 401
