"""Realism statistics: media mix, participants, metrics consistent with segments, pools, diurnal volume."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from include.genesys_simulator import Dataset
from include.genesys_simulator.pools import pools_for
from include.genesys_simulator.volume import ms_of

DAY = datetime(2024, 3, 5, tzinfo=UTC)


def iso_ms(text: str) -> int:
    """Parse an API timestamp to epoch ms."""
    return ms_of(datetime.fromisoformat(text.replace("Z", "+00:00")))


@pytest.fixture(scope="module")
def day() -> list[dict[str, Any]]:
    """Return one simulated day of 3000 conversations."""
    return Dataset(7, 3000, weekday_volume=False).conversations(DAY, DAY + timedelta(days=1))


def media_of(conv: dict[str, Any]) -> str:
    """Return the media type of a conversation's first session."""
    return conv["participants"][0]["sessions"][0]["mediaType"]


def test_media_mix(day: list[dict[str, Any]]) -> None:
    mix = Counter(media_of(c) for c in day)
    share = {m: n / len(day) for m, n in mix.items()}
    assert set(share) == {"voice", "callback", "chat", "message", "email"}
    assert 0.5 < share["voice"] < 0.66
    assert all(0.02 < share[m] < 0.25 for m in ("callback", "chat", "message", "email"))


def test_participants_sessions_and_addresses(day: list[dict[str, Any]]) -> None:
    purposes = Counter(p["purpose"] for c in day for p in c["participants"])
    assert {"customer", "ivr", "acd", "agent", "external"} <= set(purposes)
    for conv in day:
        for p in conv["participants"]:
            for s in p["sessions"]:
                if s["mediaType"] == "voice" and p["purpose"] in ("customer", "ivr"):
                    assert s["ani"].startswith("tel:+") and s["dnis"].startswith("tel:+")
                if s["mediaType"] == "email" and p["purpose"] == "customer":
                    assert "@" in s["addressFrom"] and "@" in s["addressTo"]
                assert all(v not in (None, [], {}, "") for v in s.values())
            assert all(v not in (None, [], {}, "") for v in p.values())
        assert all(v not in (None, [], {}, "") for v in conv.values())
    directions = Counter(c["originatingDirection"] for c in day)
    assert 0.05 < directions["outbound"] / len(day) < 0.2


def test_metrics_are_consistent_with_segments(day: list[dict[str, Any]]) -> None:
    checked = 0
    for conv in day:
        for p in conv["participants"]:
            for s in p["sessions"]:
                metrics: dict[str, int] = {}
                for m in s.get("metrics", []):
                    metrics[m["name"]] = metrics.get(m["name"], 0) + m["value"]
                spans: Counter[str] = Counter()
                for g in s["segments"]:
                    spans[g["segmentType"]] += iso_ms(g["segmentEnd"]) - iso_ms(g["segmentStart"])
                if "tTalk" in metrics and p["purpose"] == "agent":
                    checked += 1
                    assert metrics["tTalk"] == spans["interact"] or s["mediaType"] == "callback"
                    assert metrics.get("tHeld", 0) == spans["hold"]
                    assert metrics["tAcw"] == spans["wrapup"]
                    assert metrics["tHandle"] == metrics["tTalk"] + metrics.get("tHeld", 0) + metrics["tAcw"]
                if "tAlert" in metrics:
                    assert metrics["tAlert"] == spans["alert"]
                if "tAbandon" in metrics:
                    assert metrics["tAbandon"] == spans["interact"] == metrics["tAcd"]
                if "nOffered" in metrics:
                    assert p["purpose"] == "acd" and metrics["tAcd"] == spans["interact"]
                wrapups = [g for g in s["segments"] if g["segmentType"] == "wrapup"]
                assert all("wrapUpCode" in g for g in wrapups)
    assert checked > 1500


def test_scenarios_exist(day: list[dict[str, Any]]) -> None:
    abandoned = [
        c
        for c in day
        if any(
            m["name"] == "tAbandon"
            for p in c["participants"]
            for s in p["sessions"]
            for m in s.get("metrics", [])
        )
    ]
    ivr_only = [c for c in day if c.get("selfServed")]
    transferred = [
        c
        for c in day
        if any(
            m["name"] == "nTransferred"
            for p in c["participants"]
            for s in p["sessions"]
            for m in s.get("metrics", [])
        )
    ]
    held = [
        c
        for c in day
        if any(
            g["segmentType"] == "hold"
            for p in c["participants"]
            for s in p["sessions"]
            for g in s["segments"]
        )
    ]
    for group, low, high in (
        (abandoned, 0.03, 0.12),
        (ivr_only, 0.04, 0.12),
        (transferred, 0.03, 0.12),
        (held, 0.08, 0.3),
    ):
        assert low < len(group) / len(day) < high
    assert all({p["purpose"] for p in c["participants"]} == {"customer", "ivr"} for c in ivr_only)
    spanning = [c for c in day if c["conversationEnd"] >= "2024-03-06"]
    assert spanning


def test_pools_and_divisions(day: list[dict[str, Any]]) -> None:
    pools = pools_for(7)
    queue_ids = {q.id for q in pools.queues}
    user_ids = {u.id for u in pools.users}
    codes = {code for code, _name in pools.wrap_up_codes}
    seen_queues = {
        g["queueId"]
        for c in day
        for p in c["participants"]
        for s in p["sessions"]
        for g in s["segments"]
        if "queueId" in g
    }
    seen_users = {p["userId"] for c in day for p in c["participants"] if "userId" in p}
    seen_codes = {
        g["wrapUpCode"]
        for c in day
        for p in c["participants"]
        for s in p["sessions"]
        for g in s["segments"]
        if "wrapUpCode" in g
    }
    assert (
        seen_queues == queue_ids and seen_users <= user_ids and len(seen_users) > 60 and seen_codes == codes
    )
    assert all(set(c["divisionIds"]) <= set(pools.division_ids) for c in day)


def test_diurnal_volume(day: list[dict[str, Any]]) -> None:
    hours = Counter(int(c["conversationStart"][11:13]) for c in day)
    assert hours[10] > 5 * hours[2]
    assert hours[15] > 3 * hours[23]
