"""Turn a Genesys conversation (details query or jobs API) into an Elasticsearch document.

The ``_source`` is the original conversation after PII handling, plus ``derived`` (fields computed
for search, see ``docs/indexing.md``) and ``pipeline`` (provenance). The input dict is not modified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from genesys_es.instants import now_ms, parse
from genesys_es.transform.pii import PiiPolicy

SCHEMA_VERSION = 1
#: Metrics whose presence on any session means the customer abandoned in queue.
ABANDON_METRICS = ("tAbandon", "tShortAbandon")
#: Metrics that count agent transfers (blind and consult).
TRANSFER_METRICS = ("nTransferred", "nBlindTransferred", "nConsultTransferred")
#: Participant purposes that stand for a person handling the interaction.
AGENT_PURPOSES = ("agent", "user")


class InvalidConversationError(ValueError):
    """Raised when a conversation cannot become a document (no id or no usable start time)."""


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Return the dict items of a list (anything else yields nothing)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class _Walk:
    """Everything the derivations need, collected in one pass over participants, sessions and segments."""

    __slots__ = (
        "agent_interact",
        "agent_transfer",
        "attributes",
        "disconnect_types",
        "first_direction",
        "media_types",
        "metrics",
        "participant_count",
        "purposes",
        "queue_ids",
        "queued",
        "search",
        "segment_types",
        "user_ids",
        "wrapup_codes",
    )

    def __init__(self, conversation: dict[str, Any], clear_text: bool) -> None:
        media: dict[str, None] = {}
        queues: dict[str, None] = {}
        users: dict[str, None] = {}
        wrapups: dict[str, None] = {}
        purposes: dict[str, None] = {}
        disconnects: dict[str, None] = {}
        segtypes: dict[str, None] = {}
        search: dict[str, None] = {}
        metrics: dict[str, int | float] = {}
        attributes: dict[str, list[str]] = {}
        self.agent_interact = self.agent_transfer = self.queued = False
        self.first_direction: str | None = None
        participants = _dicts(conversation.get("participants"))
        self.participant_count = len(participants)
        # The hot loop of a partition task: plain loops and local lookups, no helper calls per item.
        for participant in participants:
            purpose = participant.get("purpose")
            is_agent = purpose in AGENT_PURPOSES
            if isinstance(purpose, str) and purpose:
                purposes[purpose] = None
                if purpose == "acd":
                    self.queued = True
            user_id = participant.get("userId")
            if isinstance(user_id, str) and user_id:
                users[user_id] = None
            name = participant.get("participantName")
            if isinstance(name, str) and name and (clear_text or purpose in ("acd", "ivr")):
                search[name] = None
            attrs = participant.get("attributes")
            if isinstance(attrs, dict):
                _merge_attributes(attributes, attrs)
            sessions = participant.get("sessions")
            if not isinstance(sessions, list):
                continue
            for session in sessions:
                if not isinstance(session, dict):
                    continue
                value = session.get("mediaType")
                if isinstance(value, str) and value:
                    media[value] = None
                if self.first_direction is None:
                    value = session.get("direction")
                    if isinstance(value, str) and value:
                        self.first_direction = value.lower()
                if clear_text:
                    for key in ("remote", "addressFrom", "addressTo", "ani", "dnis"):
                        value = session.get(key)
                        if isinstance(value, str) and value:
                            search[value] = None
                flow = session.get("flow")
                if isinstance(flow, dict):
                    value = flow.get("flowName")
                    if isinstance(value, str) and value:
                        search[value] = None
                session_metrics = session.get("metrics")
                if isinstance(session_metrics, list):
                    for metric in session_metrics:
                        if not isinstance(metric, dict):
                            continue
                        metric_name, number = metric.get("name"), metric.get("value")
                        if (
                            isinstance(metric_name, str)
                            and metric_name
                            and isinstance(number, int | float)
                            and not isinstance(number, bool)
                        ):
                            metrics[metric_name] = metrics.get(metric_name, 0) + number
                segments = session.get("segments")
                if not isinstance(segments, list):
                    continue
                for segment in segments:
                    if not isinstance(segment, dict):
                        continue
                    get = segment.get
                    value = get("queueId")
                    if isinstance(value, str) and value:
                        queues[value] = None
                    value = get("wrapUpCode")
                    if isinstance(value, str) and value:
                        wrapups[value] = None
                    disconnect = get("disconnectType")
                    if isinstance(disconnect, str) and disconnect:
                        disconnects[disconnect] = None
                    segment_type = get("segmentType")
                    if isinstance(segment_type, str) and segment_type:
                        segtypes[segment_type] = None
                    value = get("wrapUpNote")
                    if isinstance(value, str) and value:
                        search[value] = None
                    if is_agent:
                        if segment_type == "interact":
                            self.agent_interact = True
                        if disconnect == "transfer":
                            self.agent_transfer = True
        tag = conversation.get("externalTag")
        if isinstance(tag, str) and tag:
            search[tag] = None
        self.media_types, self.queue_ids, self.user_ids = list(media), list(queues), list(users)
        self.wrapup_codes, self.purposes = list(wrapups), list(purposes)
        self.disconnect_types, self.segment_types, self.search = (
            list(disconnects),
            list(segtypes),
            list(search),
        )
        self.metrics = {k: int(v) if float(v).is_integer() else v for k, v in metrics.items()}
        self.attributes = {k: vals[0] if len(vals) == 1 else vals for k, vals in attributes.items()}


def _merge_attributes(merged: dict[str, list[str]], attributes: dict[str, Any]) -> None:
    for key, value in attributes.items():
        if value is None or isinstance(value, dict | list):
            continue
        key_s = str(key).strip()
        if not key_s:
            continue
        values = merged.setdefault(key_s, [])
        text = str(value)
        if text not in values:
            values.append(text)


def summed_metrics(conversation: dict[str, Any]) -> dict[str, int | float]:
    """Return every session metric summed by name over the whole conversation.

    :param conversation: the Genesys conversation.
    """
    return _Walk(conversation, clear_text=False).metrics


def _abandoned(walk: _Walk, ended: bool) -> bool:
    if any(walk.metrics.get(name) for name in ABANDON_METRICS):
        return True
    return not walk.metrics and ended and walk.queued and not walk.agent_interact


def _transferred(walk: _Walk) -> bool:
    return any(walk.metrics.get(name) for name in TRANSFER_METRICS) or walk.agent_transfer


def is_abandoned(conversation: dict[str, Any]) -> bool:
    """Return True when the customer left while waiting in a queue (Genesys abandon semantics).

    Genesys emits ``tAbandon`` (``tShortAbandon`` for short abandons) on the ``acd`` participant's session
    when the customer disconnects in queue; that is authoritative. Without any metric (a trimmed
    response) the fallback is: the conversation ended, it reached a queue (an ``acd`` participant) and no
    agent ever had an ``interact`` segment.

    :param conversation: the Genesys conversation.
    """
    return _abandoned(_Walk(conversation, clear_text=False), bool(conversation.get("conversationEnd")))


def is_transferred(conversation: dict[str, Any]) -> bool:
    """Return True when an agent transferred the interaction (blind or consult).

    ``nTransferred`` (and its blind/consult variants) is authoritative; otherwise a segment of an
    agent/user participant that ended with ``disconnectType: transfer``. IVR-to-queue and
    queue-to-agent hand-offs (also ``transfer`` disconnects, on ``ivr``/``acd`` participants) are
    routing, not transfers.

    :param conversation: the Genesys conversation.
    """
    return _transferred(_Walk(conversation, clear_text=False))


def merged_attributes(conversation: dict[str, Any]) -> dict[str, Any]:
    """Return the participants' attributes merged into one map (a key set twice keeps all values).

    :param conversation: the Genesys conversation (after PII handling).
    """
    return _Walk(conversation, clear_text=False).attributes


def build_derived(
    conversation: dict[str, Any], pii: PiiPolicy, *, start: datetime | None = None
) -> dict[str, Any]:
    """Return the ``derived`` object of a (PII-handled) conversation.

    :param conversation: the Genesys conversation after PII handling.
    :param pii: the policy that was applied (``keep`` puts names and addresses into ``searchText``).
    :param start: ``conversationStart`` already parsed (parsed here when not given).
    """
    if start is None:
        start = parse(conversation.get("conversationStart"))
    end = parse(conversation.get("conversationEnd"))
    ended = bool(conversation.get("conversationEnd"))
    walk = _Walk(conversation, clear_text=pii.mode == "keep")
    direction = conversation.get("originatingDirection")
    derived: dict[str, Any] = {
        "open": not ended,
        "durationMs": int((end - start).total_seconds() * 1000) if start and end and end >= start else None,
        "day": f"{start.year:04d}-{start.month:02d}-{start.day:02d}" if start else None,
        "direction": direction.lower() if isinstance(direction, str) and direction else walk.first_direction,
        "mediaTypes": walk.media_types,
        "queueIds": walk.queue_ids,
        "userIds": walk.user_ids,
        "wrapUpCodes": walk.wrapup_codes,
        "purposes": walk.purposes,
        "disconnectTypes": walk.disconnect_types,
        "segmentTypes": walk.segment_types,
        "abandoned": _abandoned(walk, ended),
        "transferred": _transferred(walk),
        "metrics": walk.metrics,
        "participantCount": walk.participant_count,
        "searchText": walk.search,
    }
    if walk.attributes:
        derived["attributes"] = walk.attributes
    return derived


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
    start = parse(conversation.get("conversationStart"))
    if start is None:
        raise InvalidConversationError(
            f"conversation {conversation_id} has no valid conversationStart: "
            f"{conversation.get('conversationStart')!r}"
        )
    doc = pii.apply(conversation)
    doc["derived"] = build_derived(doc, pii, start=start)
    doc["pipeline"] = {
        "indexedAt": now_ms(),
        "runId": run_id,
        "partition": partition,
        "piiMode": pii.mode,
        "schemaVersion": SCHEMA_VERSION,
    }
    return doc
