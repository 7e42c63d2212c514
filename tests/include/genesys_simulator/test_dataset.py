"""Determinism, interval semantics, lazy paging and volume of the simulated dataset."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from include.genesys_simulator import MAX_DURATION_MS, Dataset
from include.genesys_simulator.dataset import NEVER_MS
from include.genesys_simulator.volume import ms_of

DAY = datetime(2024, 3, 5, tzinfo=UTC)  # a Tuesday


def iso_ms(text: str) -> int:
    """Parse an API timestamp to epoch ms."""
    return ms_of(datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_same_seed_same_data_other_seed_other_data() -> None:
    a = Dataset(7, 500).conversations(DAY, DAY + timedelta(hours=6))
    b = Dataset(7, 500).conversations(DAY, DAY + timedelta(hours=6))
    c = Dataset(8, 500).conversations(DAY, DAY + timedelta(hours=6))
    assert a == b and a
    assert {x["conversationId"] for x in a}.isdisjoint({x["conversationId"] for x in c})


def test_conversation_is_computed_on_its_own() -> None:
    """A conversation is the same whether built alone (a late page) or as part of a full scan."""
    ds = Dataset(7, 3000)
    full = ds.conversations(DAY, DAY + timedelta(days=1))
    dv = ds.day(DAY.date())
    for i in (0, 1234, dv.count - 1):
        assert ds.render(dv, i, NEVER_MS) == full[i]


def test_day_query_holds_exactly_the_days_starts_in_order() -> None:
    ds = Dataset(7, 1500)
    convs = ds.conversations(DAY, DAY + timedelta(days=1))
    assert len(convs) == ds.day_count(DAY.date()) == ds.count(DAY, DAY + timedelta(days=1))
    starts = [c["conversationStart"] for c in convs]
    assert starts == sorted(starts)
    assert all(s.startswith("2024-03-05") for s in starts)


def test_hour_slices_follow_the_interval_semantics() -> None:
    """A slice holds the day's conversations overlapping it, including earlier starts still running."""
    ds = Dataset(7, 1500)
    day_convs = ds.conversations(DAY, DAY + timedelta(days=1))
    union: set[str] = set()
    for hour in range(24):
        s, e = DAY + timedelta(hours=hour), DAY + timedelta(hours=hour + 1)
        s_ms, e_ms = ms_of(s), ms_of(e)
        got = ds.conversations(s, e)
        expected = [
            c["conversationId"]
            for c in day_convs
            if iso_ms(c["conversationStart"]) < e_ms and iso_ms(c["conversationEnd"]) > s_ms
        ]
        assert [c["conversationId"] for c in got] == expected
        assert ds.count(s, e) == len(expected)
        union.update(expected)
    assert union == {c["conversationId"] for c in day_convs}
    spanning = ds.conversations(DAY + timedelta(hours=10), DAY + timedelta(hours=11))
    assert any(iso_ms(c["conversationStart"]) < ms_of(DAY + timedelta(hours=10)) for c in spanning)


def test_previous_day_conversations_stay_out_of_the_next_day() -> None:
    """Midnight-spanning conversations belong to their start day only (details query semantics)."""
    ds = Dataset(7, 3000)
    monday = ds.conversations(DAY - timedelta(days=1), DAY)
    spanning = [c for c in monday if c["conversationEnd"] >= "2024-03-05"]
    assert spanning, "some conversations must span midnight"
    tuesday_first_hour = {c["conversationId"] for c in ds.conversations(DAY, DAY + timedelta(hours=1))}
    assert tuesday_first_hour.isdisjoint(c["conversationId"] for c in spanning)
    two_days = {
        c["conversationId"] for c in ds.conversations(DAY - timedelta(hours=1), DAY + timedelta(hours=1))
    }
    assert {c["conversationId"] for c in spanning} <= two_days


def test_durations_are_bounded_and_end_is_the_last_segment_end() -> None:
    ds = Dataset(11, 2500)
    for conv in ds.conversations(DAY, DAY + timedelta(days=1)):
        start, end = iso_ms(conv["conversationStart"]), iso_ms(conv["conversationEnd"])
        assert 0 < end - start <= MAX_DURATION_MS
        segments = [g for p in conv["participants"] for s in p["sessions"] for g in s["segments"]]
        assert min(iso_ms(g["segmentStart"]) for g in segments) == start
        assert max(iso_ms(g["segmentEnd"]) for g in segments) == end
        assert all(g["segmentStart"] < g["segmentEnd"] for g in segments)


def test_volume_overrides_zero_and_weekly_pattern() -> None:
    ds = Dataset(7, 2000, volume_overrides={date(2024, 3, 5): 250_000, date(2024, 3, 6): 0})
    assert ds.day_count(date(2024, 3, 5)) == 250_000
    assert ds.count(DAY + timedelta(days=1), DAY + timedelta(days=2)) == 0
    weekdays = [ds.day_count(date(2024, 3, 11) + timedelta(days=n)) for n in range(5)]
    weekend = [ds.day_count(date(2024, 3, 16)), ds.day_count(date(2024, 3, 17))]
    assert min(weekdays) > 1.5 * max(weekend)
    flat = Dataset(7, 2000, weekday_volume=False)
    assert flat.day_count(date(2024, 3, 16)) == 2000


def test_large_day_pages_cost_the_same_and_match_the_truth() -> None:
    """A page deep inside a 250,000-conversation day is an index range: no full-day generation."""
    ds = Dataset(7, 2000, volume_overrides={date(2024, 3, 5): 250_000})
    s, e = ms_of(DAY + timedelta(hours=12)), ms_of(DAY + timedelta(hours=13))
    blocks = ds.blocks(s, e, NEVER_MS)
    total = ds.total(blocks)
    assert 10_000 < total < 40_000
    page = list(ds.slice(blocks, total - 100, 100))
    starts = [ds.day(DAY.date()).start_of(i) for _dv, i in page]
    assert starts == sorted(starts) and all(st < e for st in starts)
    late = [ds.render(dv, i, NEVER_MS) for dv, i in page]
    assert all(iso_ms(c["conversationEnd"]) > s for c in late)
    desc = list(ds.slice(blocks, 0, 100, descending=True))
    assert desc == list(reversed(page))
