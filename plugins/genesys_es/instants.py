"""Instants, in one place: parse Genesys and ISO-8601 timestamps to aware UTC datetimes and format them back.

Genesys writes ``2024-03-01T09:15:02.120Z``; Airflow and Python write ``2024-03-01T09:15:02.120000+00:00``.
Every module parses and formats through these functions, so a naive datetime always means UTC and every
instant the pipeline writes has the same shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (a naive datetime is taken to be UTC).

    :param value: the datetime to normalise.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse(value: Any) -> datetime | None:
    """Return an aware UTC datetime for a datetime or an ISO-8601 string, or None when it is neither.

    :param value: e.g. ``2024-03-01T09:15:02.120Z`` (a naive value is taken as UTC).
    """
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        try:
            return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00")))
        except ValueError:
            return None
    return None


def parse_strict(value: Any, name: str | None = None) -> datetime:
    """Return an aware UTC datetime for a datetime or an ISO-8601 string; raise ValueError otherwise.

    :param value: the instant.
    :param name: what the value is, named in the error message.
    """
    parsed = parse(value)
    if parsed is None:
        raise ValueError(f"{name + ': ' if name else ''}not an ISO-8601 timestamp: {value!r}")
    return parsed


def format_ms(value: datetime) -> str:
    """Format an instant the way Genesys writes it, to the millisecond: ``2024-03-01T00:00:00.000Z``.

    :param value: the datetime (naive means UTC).
    """
    value = as_utc(value)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


def to_iso(value: datetime | str) -> str:
    """Return ``isoformat`` in UTC with a ``Z`` (``2024-03-05T00:00:00Z``); raise ValueError when invalid.

    :param value: a datetime or an ISO-8601 string.
    """
    if not isinstance(value, datetime | str):
        raise ValueError(f"expected a datetime or ISO string, got {type(value).__name__}")
    return parse_strict(value).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    """Return the current instant, aware UTC."""
    return datetime.now(UTC)


def now_ms() -> str:
    """Return the current instant formatted by :func:`format_ms`."""
    return format_ms(now())
