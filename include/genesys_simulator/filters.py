"""Evaluate conversationFilters and segmentFilters (and/or predicates and clauses) on a conversation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Json = dict[str, Any]

CONVERSATION_DIMENSIONS = frozenset(
    {
        "conversationId",
        "conversationEnd",
        "conversationStart",
        "conversationInitiator",
        "customerParticipation",
        "divisionId",
        "externalTag",
        "originatingDirection",
        "selfServed",
        "mediaStatsMinConversationMos",
    }
)
PARTICIPANT_DIMENSIONS = {
    "purpose": "purpose",
    "userId": "userId",
    "participantId": "participantId",
    "participantName": "participantName",
    "teamId": "teamId",
    "externalContactId": "externalContactId",
    "externalOrganizationId": "externalOrganizationId",
}
SESSION_DIMENSIONS = {
    "mediaType": "mediaType",
    "direction": "direction",
    "ani": "ani",
    "dnis": "dnis",
    "sessionDnis": "sessionDnis",
    "sessionId": "sessionId",
    "edgeId": "edgeId",
    "addressFrom": "addressFrom",
    "addressTo": "addressTo",
    "selectedAgentId": "selectedAgentId",
    "usedRouting": "usedRouting",
    "provider": "provider",
    "remote": "remote",
}
SEGMENT_DIMENSIONS = {
    "segmentType": "segmentType",
    "queueId": "queueId",
    "wrapUpCode": "wrapUpCode",
    "wrapUpNote": "wrapUpNote",
    "disconnectType": "disconnectType",
    "segmentEnd": "segmentEnd",
    "segmentStart": "segmentStart",
}
SEGMENT_FILTER_DIMENSIONS = frozenset(
    set(PARTICIPANT_DIMENSIONS) | set(SESSION_DIMENSIONS) | set(SEGMENT_DIMENSIONS) | CONVERSATION_DIMENSIONS
)


class FilterError(ValueError):
    """A filter names an unknown dimension or is malformed."""


def _conversation_values(conv: Json, name: str) -> list[Any]:
    """Return the values of a conversation-level dimension."""
    if name == "divisionId":
        return list(conv.get("divisionIds", []))
    if name in conv:
        return [conv[name]]
    return []


def _segment_contexts(conv: Json) -> Iterator[tuple[Json, Json, Json]]:
    """Yield (participant, session, segment) for every segment of a conversation."""
    for participant in conv.get("participants", []):
        for session in participant.get("sessions", []):
            for segment in session.get("segments", []):
                yield participant, session, segment


def _metric_total(conv: Json, session: Json | None, name: str) -> int | None:
    """Return a metric summed over a session (or over the whole conversation)."""
    sessions = (
        [session]
        if session is not None
        else [s for p in conv.get("participants", []) for s in p.get("sessions", [])]
    )
    values = [m["value"] for s in sessions for m in s.get("metrics", []) if m["name"] == name]
    return sum(values) if values else None


def _in_range(value: float | None, rng: Json | None) -> bool:
    """Return whether value satisfies a {gt, gte, lt, lte} range."""
    if value is None:
        return False
    rng = rng or {}
    checks = (
        ("gt", lambda v, b: v > b),
        ("gte", lambda v, b: v >= b),
        ("lt", lambda v, b: v < b),
        ("lte", lambda v, b: v <= b),
    )
    return all(op(value, rng[key]) for key, op in checks if rng.get(key) is not None)


def _values(conv: Json, ctx: tuple[Json, Json, Json] | None, name: str) -> list[Any]:
    """Return the values of a dimension in a conversation or segment context."""
    if ctx is None or name in CONVERSATION_DIMENSIONS:
        return _conversation_values(conv, name)
    participant, session, segment = ctx
    if name in PARTICIPANT_DIMENSIONS:
        key = PARTICIPANT_DIMENSIONS[name]
        return [participant[key]] if key in participant else []
    if name in SESSION_DIMENSIONS:
        key = SESSION_DIMENSIONS[name]
        return [session[key]] if key in session else []
    key = SEGMENT_DIMENSIONS[name]
    return [segment[key]] if key in segment else []


def _predicate(conv: Json, ctx: tuple[Json, Json, Json] | None, pred: Json) -> bool:
    """Evaluate one predicate."""
    ptype = pred.get("type") or "dimension"
    operator = pred.get("operator") or "matches"
    if ptype == "metric":
        session = ctx[1] if ctx is not None else None
        total = _metric_total(conv, session, str(pred.get("metric")))
        if operator == "exists":
            return total is not None
        if operator == "notExists":
            return total is None
        if pred.get("range"):
            return _in_range(total, pred.get("range"))
        return total is not None and str(total) == str(pred.get("value"))
    if ptype == "property":
        return False
    name = str(pred.get("dimension"))
    values = _values(conv, ctx, name)
    if operator == "exists":
        return bool(values)
    if operator == "notExists":
        return not values
    if pred.get("range"):
        return any(_in_range(v, pred.get("range")) for v in values if isinstance(v, int | float))
    target = pred.get("value")
    return any(_as_text(v) == _as_text(target) for v in values)


def _as_text(value: Any) -> str:
    """Compare values as the API does: booleans lower-case, everything else as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filter(conv: Json, ctx: tuple[Json, Json, Json] | None, flt: Json) -> bool:
    """Evaluate a filter {type, predicates, clauses} in a context."""
    results = [_predicate(conv, ctx, p) for p in flt.get("predicates") or []]
    results += [_filter(conv, ctx, c) for c in flt.get("clauses") or []]
    if not results:
        return True
    return all(results) if (flt.get("type") or "and") == "and" else any(results)


def validate_filters(filters: list[Json] | None, segment_level: bool) -> None:
    """Raise FilterError when a filter uses an unknown dimension or operator."""
    allowed = SEGMENT_FILTER_DIMENSIONS if segment_level else CONVERSATION_DIMENSIONS

    def check(flt: Json) -> None:
        if (flt.get("type") or "and") not in ("and", "or"):
            raise FilterError(f"Invalid filter type: {flt.get('type')}")
        for pred in flt.get("predicates") or []:
            ptype = pred.get("type") or "dimension"
            if ptype not in ("dimension", "metric", "property"):
                raise FilterError(f"Invalid predicate type: {ptype}")
            if (pred.get("operator") or "matches") not in ("matches", "exists", "notExists"):
                raise FilterError(f"Invalid operator: {pred.get('operator')}")
            if ptype == "dimension" and pred.get("dimension") not in allowed:
                raise FilterError(f"Invalid dimension: {pred.get('dimension')}")
            if ptype == "metric" and not pred.get("metric"):
                raise FilterError("A metric predicate needs a metric")
        for clause in flt.get("clauses") or []:
            check(clause)

    for flt in filters or []:
        check(flt)


def matches(conv: Json, conversation_filters: list[Json] | None, segment_filters: list[Json] | None) -> bool:
    """Return whether a conversation satisfies all conversation filters and all segment filters."""
    for flt in conversation_filters or []:
        if not _filter(conv, None, flt):
            return False
    for flt in segment_filters or []:
        if not any(_filter(conv, ctx, flt) for ctx in _segment_contexts(conv)):
            return False
    return True
