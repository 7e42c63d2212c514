"""Turn a Genesys conversation (details query or jobs API) into an Elasticsearch document.

The ``_source`` is the original conversation after PII handling, plus ``derived`` (fields computed
for search, see ``docs/indexing.md``) and ``pipeline`` (provenance). The input dict is not modified.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from genesys_es.pii import PiiPolicy

SCHEMA_VERSION = 1
#: Metrics whose presence on any session means the customer abandoned in queue.
ABANDON_METRICS = ("tAbandon", "tShortAbandon")
#: Metrics that count agent transfers (blind and consult).
TRANSFER_METRICS = ("nTransferred", "nBlindTransferred", "nConsultTransferred")
#: Participant purposes that stand for a person handling the interaction.
AGENT_PURPOSES = ("agent", "user")


class InvalidConversationError(ValueError):
    """Raised when a conversation cannot become a document (no id or no usable start time)."""


def parse_time(value: Any) -> datetime | None:
    """Parse a Genesys ISO-8601 timestamp into an aware UTC datetime, or return None.

    :param value: a string such as ``2024-03-01T09:15:02.120Z`` (a naive value is taken as UTC).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Return the dict items of a list (anything else yields nothing)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _sessions(conversation: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for participant in _dicts(conversation.get("participants")):
        for session in _dicts(participant.get("sessions")):
            yield participant, session


def _unique(values: Iterator[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value:
            seen.setdefault(value, None)
    return list(seen)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    return None


def summed_metrics(conversation: dict[str, Any]) -> dict[str, int | float]:
    """Return every session metric summed by name over the whole conversation.

    :param conversation: the Genesys conversation.
    """
    totals: dict[str, int | float] = {}
    for _participant, session in _sessions(conversation):
        for metric in _dicts(session.get("metrics")):
            name, value = metric.get("name"), _number(metric.get("value"))
            if isinstance(name, str) and name and value is not None:
                totals[name] = totals.get(name, 0) + value
    return {name: int(v) if float(v).is_integer() else v for name, v in totals.items()}


def is_abandoned(conversation: dict[str, Any], metrics: dict[str, int | float]) -> bool:
    """Return True when the customer left while waiting in a queue (Genesys abandon semantics).

    Genesys emits ``tAbandon`` on the ``acd`` participant's session when the customer disconnects in
    queue; that is authoritative. Without any metric (a trimmed response) the fallback is: the
    conversation ended, it reached a queue (an ``acd`` participant) and no agent ever had an
    ``interact`` segment.

    :param conversation: the Genesys conversation.
    :param metrics: its summed metrics.
    """
    if any(metrics.get(name) for name in ABANDON_METRICS):
        return True
    if metrics or not conversation.get("conversationEnd"):
        return False
    participants = _dicts(conversation.get("participants"))
    queued = any(p.get("purpose") == "acd" for p in participants)
    answered = any(
        seg.get("segmentType") == "interact"
        for p in participants
        if p.get("purpose") in AGENT_PURPOSES
        for s in _dicts(p.get("sessions"))
        for seg in _dicts(s.get("segments"))
    )
    return queued and not answered


def is_transferred(conversation: dict[str, Any], metrics: dict[str, int | float]) -> bool:
    """Return True when an agent transferred the interaction (blind or consult).

    ``nTransferred`` (and its blind/consult variants) is authoritative; otherwise a segment of an
    agent/user participant that ended with ``disconnectType: transfer``. IVR-to-queue and
    queue-to-agent hand-offs (also ``transfer`` disconnects, on ``ivr``/``acd`` participants) are
    routing, not transfers.

    :param conversation: the Genesys conversation.
    :param metrics: its summed metrics.
    """
    if any(metrics.get(name) for name in TRANSFER_METRICS):
        return True
    return any(
        seg.get("disconnectType") == "transfer"
        for p in _dicts(conversation.get("participants"))
        if p.get("purpose") in AGENT_PURPOSES
        for s in _dicts(p.get("sessions"))
        for seg in _dicts(s.get("segments"))
    )


def conversation_direction(conversation: dict[str, Any]) -> str | None:
    """Return the conversation's direction: ``originatingDirection``, else the first session's.

    :param conversation: the Genesys conversation.
    """
    direction = conversation.get("originatingDirection")
    if isinstance(direction, str) and direction:
        return direction.lower()
    for _participant, session in _sessions(conversation):
        value = session.get("direction")
        if isinstance(value, str) and value:
            return value.lower()
    return None


def merged_attributes(conversation: dict[str, Any]) -> dict[str, Any]:
    """Return the participants' attributes merged into one map (a key set twice keeps all values).

    :param conversation: the Genesys conversation (after PII handling).
    """
    merged: dict[str, list[str]] = {}
    for participant in _dicts(conversation.get("participants")):
        attributes = participant.get("attributes")
        if not isinstance(attributes, dict):
            continue
        for key, value in attributes.items():
            if value is None or isinstance(value, dict | list):
                continue
            key_s = str(key).strip()
            if not key_s:
                continue
            values = merged.setdefault(key_s, [])
            if str(value) not in values:
                values.append(str(value))
    return {key: vals[0] if len(vals) == 1 else vals for key, vals in merged.items()}


def _search_text(conversation: dict[str, Any], pii: PiiPolicy) -> list[str]:
    """Return names, addresses and wrap-up notes for full-text search (only values stored in clear)."""
    parts: list[Any] = []
    if pii.mode == "keep":
        for _participant, session in _sessions(conversation):
            parts.extend(session.get(name) for name in ("remote", "addressFrom", "addressTo", "ani", "dnis"))
        parts.extend(p.get("participantName") for p in _dicts(conversation.get("participants")))
    else:
        parts.extend(
            p.get("participantName")
            for p in _dicts(conversation.get("participants"))
            if p.get("purpose") in ("acd", "ivr")
        )
    for _participant, session in _sessions(conversation):
        flow = session.get("flow")
        if isinstance(flow, dict):
            parts.append(flow.get("flowName"))
        parts.extend(seg.get("wrapUpNote") for seg in _dicts(session.get("segments")))
    parts.append(conversation.get("externalTag"))
    return _unique(iter(parts))


def build_derived(conversation: dict[str, Any], pii: PiiPolicy) -> dict[str, Any]:
    """Return the ``derived`` object of a (PII-handled) conversation.

    :param conversation: the Genesys conversation after PII handling.
    :param pii: the policy that was applied (decides what goes into ``searchText``).
    """
    start = parse_time(conversation.get("conversationStart"))
    end = parse_time(conversation.get("conversationEnd"))
    participants = _dicts(conversation.get("participants"))
    segments = [seg for _p, s in _sessions(conversation) for seg in _dicts(s.get("segments"))]
    metrics = summed_metrics(conversation)
    derived: dict[str, Any] = {
        "open": not conversation.get("conversationEnd"),
        "durationMs": int((end - start).total_seconds() * 1000) if start and end and end >= start else None,
        "day": start.strftime("%Y-%m-%d") if start else None,
        "direction": conversation_direction(conversation),
        "mediaTypes": _unique(s.get("mediaType") for _p, s in _sessions(conversation)),
        "queueIds": _unique(seg.get("queueId") for seg in segments),
        "userIds": _unique(p.get("userId") for p in participants),
        "wrapUpCodes": _unique(seg.get("wrapUpCode") for seg in segments),
        "purposes": _unique(p.get("purpose") for p in participants),
        "disconnectTypes": _unique(seg.get("disconnectType") for seg in segments),
        "segmentTypes": _unique(seg.get("segmentType") for seg in segments),
        "abandoned": is_abandoned(conversation, metrics),
        "transferred": is_transferred(conversation, metrics),
        "metrics": metrics,
        "participantCount": len(participants),
        "searchText": _search_text(conversation, pii),
    }
    attributes = merged_attributes(conversation)
    if attributes:
        derived["attributes"] = attributes
    return derived


def _copy_for(conversation: dict[str, Any], pii: PiiPolicy) -> dict[str, Any]:
    """Return a copy the policy may modify: shallow for ``keep``, deep (fast, via orjson) otherwise."""
    if pii.mode == "keep":
        return dict(conversation)
    try:
        return orjson.loads(orjson.dumps(conversation))
    except TypeError:
        return copy.deepcopy(conversation)


def build_document(
    conversation: dict[str, Any],
    *,
    pii: PiiPolicy,
    run_id: str | None = None,
    partition: str | None = None,
) -> dict[str, Any]:
    """Return the Elasticsearch ``_source`` for one Genesys conversation.

    :param conversation: the conversation as Genesys returns it (not modified).
    :param pii: what to do with personal data.
    :param run_id: the Airflow run id, stored under ``pipeline.runId``.
    :param partition: the partition label, stored under ``pipeline.partition``.
    :raises InvalidConversationError: no ``conversationId`` or no parsable ``conversationStart``.
    """
    if not isinstance(conversation, dict):
        raise InvalidConversationError(
            f"a conversation must be a JSON object, got {type(conversation).__name__}"
        )
    conversation_id = conversation.get("conversationId")
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise InvalidConversationError("conversation has no conversationId")
    if parse_time(conversation.get("conversationStart")) is None:
        raise InvalidConversationError(
            f"conversation {conversation_id} has no valid conversationStart: "
            f"{conversation.get('conversationStart')!r}"
        )
    doc = pii.apply(_copy_for(conversation, pii))
    doc["derived"] = build_derived(doc, pii)
    doc["pipeline"] = {
        "indexedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "runId": run_id,
        "partition": partition,
        "piiMode": pii.mode,
        "schemaVersion": SCHEMA_VERSION,
    }
    return doc
