"""Index template, monthly indices, read alias, dead-letter index (writer leases are in ``leases``).

Names (see ``docs/ARCHITECTURE.md``): monthly indices ``<prefix>-YYYY.MM``, template ``<prefix>``
matching ``<prefix>-2*``, read alias ``<prefix>``, dead-letter index ``<prefix>-deadletter``, lease
index ``<prefix>-writers``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from genesys_es.instants import parse

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "genesys-conversations"
PREFIX_PLACEHOLDER = "__PREFIX__"
TEMPLATES_DIR = Path(
    os.environ.get(
        "GENESYS_ES_TEMPLATES_DIR", Path(__file__).resolve().parents[3] / "include" / "index_templates"
    )
)
#: An index prefix: lowercase, starting with a letter (so a DAG's natively rendered ``{{ params.index_prefix }}``
#: stays a string: "2024" would render as a number).
PREFIX_PATTERN = r"^[a-z][a-z0-9._-]{0,100}$"
_PREFIX_RE = re.compile(PREFIX_PATTERN)
_MONTH_RE = re.compile(r"^(\d{4})[.-](\d{2})$")


class LeaseError(RuntimeError):
    """Raised when a writer lease or the bulk-time settings cannot be handled."""


def validate_prefix(prefix: str) -> str:
    """Return the prefix if it is a valid lowercase index-name prefix, else raise ValueError.

    :param prefix: the index-name prefix, e.g. ``genesys-conversations``.
    """
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise ValueError(
            f"invalid index prefix {prefix!r}: use lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter (at most 101 characters)"
        )
    return prefix


def deadletter_index(prefix: str = DEFAULT_PREFIX) -> str:
    """Return the dead-letter index name for a prefix.

    :param prefix: the index-name prefix.
    """
    return f"{validate_prefix(prefix)}-deadletter"


def writers_index(prefix: str = DEFAULT_PREFIX) -> str:
    """Return the writer-lease index name for a prefix.

    :param prefix: the index-name prefix.
    """
    return f"{validate_prefix(prefix)}-writers"


@cache
def _load_asset(name: str) -> str:
    return (TEMPLATES_DIR / f"{name}.json").read_text(encoding="utf-8")


def load_template(name: str, prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """Return a JSON asset from ``include/index_templates`` with the prefix filled in.

    :param name: the asset name without ``.json`` (``conversations``, ``deadletter``, ``writers``).
    :param prefix: the index-name prefix.
    """
    body = json.loads(_load_asset(name).replace(PREFIX_PLACEHOLDER, validate_prefix(prefix)))
    body.pop("_comment", None)
    return body


def conversations_template(
    prefix: str = DEFAULT_PREFIX, *, shards: int = 1, replicas: int = 1
) -> dict[str, Any]:
    """Return the composable index template body for the monthly indices.

    :param prefix: the index-name prefix.
    :param shards: primary shards per monthly index.
    :param replicas: replicas per monthly index (outside bulk sessions).
    """
    if not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive integer, got {shards!r}")
    if not isinstance(replicas, int) or replicas < 0:
        raise ValueError(f"replicas must be a non-negative integer, got {replicas!r}")
    body = load_template("conversations", prefix)
    index_settings = body["template"]["settings"]["index"]
    index_settings["number_of_shards"] = shards
    index_settings["number_of_replicas"] = replicas
    return body


def create_if_missing(es: Elasticsearch, index: str, body: dict[str, Any]) -> bool:
    """Create an index unless it exists; return True when this call created it.

    :param es: the Elasticsearch client.
    :param index: the index name.
    :param body: the create-index body (settings, mappings).
    """
    if es.indices.exists(index=index):
        return False
    resp = es.options(ignore_status=400).indices.create(index=index, **body)
    if resp.meta.status == 400:
        error = resp.body.get("error", {}) if isinstance(resp.body, dict) else {}
        if error.get("type") != "resource_already_exists_exception":
            raise LeaseError(f"could not create index {index}: {error.get('reason', resp.body)}")
        return False
    return True


def ensure_index_resources(
    es: Elasticsearch, prefix: str = DEFAULT_PREFIX, *, shards: int = 1, replicas: int = 1
) -> None:
    """Create or update the template, the dead-letter and lease indices, and repair the read alias.

    Idempotent. The read alias ``<prefix>`` is attached by the template to every new monthly index;
    monthly indices that exist but are missing from it are added here.

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    :param shards: primary shards per monthly index.
    :param replicas: replicas per monthly index.
    """
    es.indices.put_index_template(
        name=validate_prefix(prefix), **conversations_template(prefix, shards=shards, replicas=replicas)
    )
    create_if_missing(es, deadletter_index(prefix), load_template("deadletter", prefix))
    create_if_missing(es, writers_index(prefix), load_template("writers", prefix))
    existing = es.options(ignore_status=404).indices.get_alias(index=f"{prefix}-2*", expand_wildcards="open")
    if existing.meta.status == 200:
        missing = [name for name, info in existing.body.items() if prefix not in info.get("aliases", {})]
        if missing:
            es.indices.update_aliases(actions=[{"add": {"index": name, "alias": prefix}} for name in missing])
            log.info("Added %d monthly indices to the read alias %s", len(missing), prefix)


def monthly_index(prefix: str, conversation_start: str | datetime) -> str:
    """Return the monthly index ``<prefix>-YYYY.MM`` for a conversation start (UTC month).

    :param prefix: the index-name prefix.
    :param conversation_start: the Genesys ``conversationStart`` (ISO string or datetime; naive = UTC).
    """
    start = parse(conversation_start)
    if start is None:
        raise ValueError(f"not a valid conversationStart: {conversation_start!r}")
    return _monthly_name(prefix, start.year, start.month)


@lru_cache(maxsize=256)
def _monthly_name(prefix: str, year: int, month: int) -> str:
    """Return ``<prefix>-YYYY.MM`` (validated once per prefix and month: this runs per document)."""
    return f"{validate_prefix(prefix)}-{year:04d}.{month:02d}"


def _month_index(prefix: str, month: Any) -> str:
    if isinstance(month, datetime | date):
        return f"{prefix}-{month.year:04d}.{month.month:02d}"
    if isinstance(month, str):
        text = month[len(prefix) + 1 :] if month.startswith(f"{prefix}-") else month
        match = _MONTH_RE.match(text)
        if match and 1 <= int(match.group(2)) <= 12:
            return f"{prefix}-{match.group(1)}.{match.group(2)}"
        return monthly_index(prefix, text)
    raise ValueError(f"not a month: {month!r} (use 'YYYY.MM', 'YYYY-MM', a date or an index name)")


def ensure_monthly_indices(es: Elasticsearch, prefix: str, months: Iterable[Any]) -> list[str]:
    """Create the monthly indices (from the template) and make sure they are in the read alias.

    :param es: the Elasticsearch client.
    :param prefix: the index-name prefix.
    :param months: months as ``YYYY.MM``/``YYYY-MM`` strings, dates, timestamps or index names.
    :raises LeaseError: the index template is missing (run ``ensure_index_resources`` first).
    """
    validate_prefix(prefix)
    names = sorted({_month_index(prefix, month) for month in months})
    if not names:
        return []
    if not es.indices.exists_index_template(name=prefix):
        raise LeaseError(f"index template {prefix} is missing: call ensure_index_resources first")
    for name in names:
        create_if_missing(es, name, {})
    es.indices.update_aliases(actions=[{"add": {"indices": names, "alias": prefix}}])
    return names
