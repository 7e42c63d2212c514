"""Instants are parsed and formatted in one place, the same way everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from genesys_es import instants


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-01T09:15:02.120Z",
        "2024-03-01T09:15:02.120+00:00",
        "2024-03-01T10:15:02.120+01:00",
        "2024-03-01T09:15:02.120",
    ],
)
def test_every_spelling_of_one_instant_parses_to_the_same_utc_datetime(text: str) -> None:
    assert instants.parse(text) == datetime(2024, 3, 1, 9, 15, 2, 120000, tzinfo=UTC)
    assert instants.format_ms(instants.parse_strict(text)) == "2024-03-01T09:15:02.120Z"


def test_bad_values_are_none_leniently_and_named_strictly() -> None:
    assert instants.parse("yesterday") is None and instants.parse(None) is None and instants.parse(3) is None
    with pytest.raises(ValueError, match=r"^start: not an ISO-8601 timestamp: 'yesterday'$"):
        instants.parse_strict("yesterday", "start")


def test_formats() -> None:
    moment = datetime(2024, 3, 5, tzinfo=timezone(timedelta(hours=2)))
    assert instants.to_iso(moment) == "2024-03-04T22:00:00Z"
    assert instants.format_ms(datetime(2024, 3, 5, 1, 2, 3, 999999)) == "2024-03-05T01:02:03.999Z"
    assert instants.now_ms().endswith("Z") and len(instants.now_ms()) == 24
