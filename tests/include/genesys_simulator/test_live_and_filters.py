"""Live mode (the simulated now) and conversation/segment filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import requests

from include.genesys_simulator import SimulatorServer
from tests.include.genesys_simulator.helpers import DAY, login, page_all, query

NOW = datetime(2024, 3, 5, 11, 30, tzinfo=UTC)
TODAY = "2024-03-05T00:00:00.000Z/2024-03-06T00:00:00.000Z"


def test_live_day_grows_as_the_clock_advances(simulator_factory: Callable[..., SimulatorServer]) -> None:
    sim = simulator_factory(now=NOW)
    token = login(sim)
    first = page_all(sim, token, {"interval": TODAY})
    hits = query(sim, token, {"interval": TODAY, "paging": {"pageSize": 1}}).json()["totalHits"]
    assert hits == len(first) == len({c["conversationId"] for c in first})
    assert all(c["conversationStart"] < "2024-03-05T11:30:00.000Z" for c in first)
    open_ones = [c for c in first if "conversationEnd" not in c]
    assert open_ones, "some conversations must still be running at 11:30"
    for conv in open_ones:
        segments = [g for p in conv["participants"] for s in p["sessions"] for g in s["segments"]]
        assert any("segmentEnd" not in g for g in segments)
        assert all(g["segmentStart"] < "2024-03-05T11:30:00.000Z" for g in segments)
    closed = [c for c in first if "conversationEnd" in c]
    assert all(c["conversationEnd"] <= "2024-03-05T11:30:00.000Z" for c in closed)
    # Filter on open conversations: conversationEnd notExists.
    open_filter = {"type": "and", "predicates": [{"dimension": "conversationEnd", "operator": "notExists"}]}
    filtered = page_all(sim, token, {"interval": TODAY, "conversationFilters": [open_filter]})
    assert [c["conversationId"] for c in filtered] == [c["conversationId"] for c in open_ones]
    response = requests.post(f"{sim.base_url}/_sim/clock", json={"advanceSeconds": 1800}, timeout=5)
    assert response.json()["now"].startswith("2024-03-05T12:00:00")
    later = page_all(sim, token, {"interval": TODAY})
    assert len(later) > len(first)
    later_by_id = {c["conversationId"]: c for c in later}
    assert set(later_by_id) >= {c["conversationId"] for c in first}
    assert any("conversationEnd" in later_by_id[c["conversationId"]] for c in open_ones)
    assert sim.dataset.conversation_ids("2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z") == list(later_by_id)
    sim.set_clock(None)  # back to the real clock: the day is complete
    assert len(page_all(sim, token, {"interval": TODAY})) == sim.dataset.day_count(NOW.date())


def test_future_interval_holds_only_open_conversations(
    simulator_factory: Callable[..., SimulatorServer],
) -> None:
    sim = simulator_factory(now=NOW)
    token = login(sim)
    body = query(
        sim, token, {"interval": "2024-03-05T13:00:00Z/2024-03-05T14:00:00Z", "paging": {"pageSize": 100}}
    )
    hits = body.json()["totalHits"]
    assert hits == sim.dataset.count("2024-03-05T13:00:00Z", "2024-03-05T14:00:00Z") > 0
    conversations = body.json()["conversations"]
    assert all(
        "conversationEnd" not in c and c["conversationStart"] < "2024-03-05T11:30" for c in conversations
    )
    tomorrow = query(sim, token, {"interval": "2024-03-06T00:00:00Z/2024-03-07T00:00:00Z"}).json()
    assert tomorrow == {"totalHits": 0}


def test_segment_filters_match_ground_truth(simulator: SimulatorServer) -> None:
    token = login(simulator)
    truth = simulator.dataset.conversations("2024-03-05T08:00:00Z", "2024-03-05T10:00:00Z")
    queue_id = next(
        g["queueId"]
        for c in truth
        for p in c["participants"]
        for s in p["sessions"]
        for g in s["segments"]
        if "queueId" in g
    )
    segment_filter = {
        "type": "and",
        "clauses": [
            {
                "type": "or",
                "predicates": [
                    {"dimension": "mediaType", "value": "email"},
                    {"dimension": "mediaType", "value": "chat"},
                ],
            },
        ],
        "predicates": [{"dimension": "queueId", "value": queue_id}],
    }
    body = {"interval": "2024-03-05T08:00:00Z/2024-03-05T10:00:00Z", "segmentFilters": [segment_filter]}
    got = page_all(simulator, token, body, page_size=50)
    expected = [
        c["conversationId"]
        for c in truth
        if any(
            s["mediaType"] in ("email", "chat") and g.get("queueId") == queue_id
            for p in c["participants"]
            for s in p["sessions"]
            for g in s["segments"]
        )
    ]
    assert expected and [c["conversationId"] for c in got] == expected
    hits = query(simulator, token, {**body, "paging": {"pageSize": 1}}).json()["totalHits"]
    assert hits == len(expected)
    ids = [truth[3]["conversationId"], truth[9]["conversationId"]]
    by_id = {"type": "or", "predicates": [{"dimension": "conversationId", "value": v} for v in ids]}
    got = page_all(simulator, token, {"interval": body["interval"], "conversationFilters": [by_id]})
    assert [c["conversationId"] for c in got] == ids


def test_order_desc_reverses(simulator: SimulatorServer) -> None:
    token = login(simulator)
    asc = page_all(simulator, token, {"interval": "2024-03-05T09:00:00Z/2024-03-05T10:00:00Z"})
    desc = page_all(
        simulator, token, {"interval": "2024-03-05T09:00:00Z/2024-03-05T10:00:00Z", "order": "desc"}
    )
    assert [c["conversationId"] for c in desc] == [c["conversationId"] for c in reversed(asc)]
    by_end = page_all(simulator, token, {"interval": DAY, "orderBy": "conversationEnd"})
    ends = [c["conversationEnd"] for c in by_end]
    assert ends == sorted(ends) and len(ends) == len(page_all(simulator, token, {"interval": DAY}))
    # jobs results carry attributes, the details query never does
    assert all("attributes" not in p for c in asc for p in c["participants"])
