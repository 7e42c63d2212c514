"""orjson serialization for Elasticsearch requests and pre-serialized bulk sources."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson
from elasticsearch.serializer import JsonSerializer
from elasticsearch.serializer import OrjsonSerializer as _ClientOrjsonSerializer


def _default(value: Any) -> Any:
    """Serialize what orjson does not handle natively (pendulum datetimes, sets, Decimals...)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return JsonSerializer().default(value)


def dumps(value: Any) -> bytes:
    """Return the compact JSON bytes of a value (orjson, with a fallback for datetime subclasses).

    :param value: any JSON-like value.
    """
    return orjson.dumps(value, default=_default)


def loads(data: bytes | str) -> Any:
    """Parse JSON bytes or text.

    :param data: the JSON document.
    """
    return orjson.loads(data)


class OrjsonSerializer(_ClientOrjsonSerializer):
    """The client's orjson serializer with the project's fallback for non-JSON types."""

    def default(self, data: Any) -> Any:
        """Return a JSON-compatible form of a value orjson cannot serialize by itself."""
        return _default(data)
