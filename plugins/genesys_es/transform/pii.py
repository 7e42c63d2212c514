"""PII handling for Genesys conversation documents: keep, keyed hash, or drop.

The policy covers every field of the analytics conversation models (details query and jobs API, as the
official SDK's ``AnalyticsConversation*``, ``AnalyticsParticipant*``, ``AnalyticsSession``,
``AnalyticsFlow`` and ``AnalyticsConversationSegment`` define them) that can carry a person's identity,
contact address or words: the session fields in :data:`SESSION_PII_FIELDS` (numbers, addresses, display
and callback names, callback numbers, e-mail recipients, room and journey ids), the flow's entry reason
and transfer target (:data:`FLOW_PII_FIELDS`: an inbound call's entry reason is the dialled number), the
segment's free text (:data:`SEGMENT_PII_FIELDS`: wrap-up notes and e-mail subjects), the participant's
``participantName`` (not for queue/flow participants), and participant attribute and segment property
values that look like an e-mail address or a phone number, or whose key names one.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

PiiMode = Literal["keep", "hash", "drop"]
PII_MODES: tuple[str, ...] = ("keep", "hash", "drop")
#: The mode used when nothing is configured: no personal data leaves Genesys unless asked for.
DEFAULT_PII_MODE: PiiMode = "drop"
#: Prefix of hashed values, so a reader can tell a hash from a real address.
HASH_PREFIX = "hmac:"
MIN_KEY_BYTES = 16

SESSION_PII_FIELDS: tuple[str, ...] = (
    "ani",
    "dnis",
    "sessionDnis",
    "addressFrom",
    "addressTo",
    "addressOther",
    "addressSelf",
    "remote",
    "remoteNameDisplayable",
    "callbackNumbers",
    "callbackUserName",
    "cc",
    "bcc",
    "destinationAddresses",
    "screenShareAddressSelf",
    "videoAddressSelf",
    "roomId",
    "journeyCustomerId",
)
FLOW_PII_FIELDS: tuple[str, ...] = ("entryReason", "transferTargetAddress", "transferTargetName")
SEGMENT_PII_FIELDS: tuple[str, ...] = ("wrapUpNote", "subject")
PARTICIPANT_PII_FIELDS: tuple[str, ...] = ("participantName",)
#: Purposes whose ``participantName`` names a queue or a flow, not a person: kept in every mode.
NON_PERSON_PURPOSES: tuple[str, ...] = ("acd", "ivr", "workflow", "voicemail", "station")

_EMAIL_RE = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$", re.IGNORECASE)
_PHONE_RE = re.compile(r"^(tel:|sip:)?\+?[\d\s().\-/]{7,}(@\S+)?$", re.IGNORECASE)
_DATE_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([T ].*)?$")
_PII_KEY_RE = re.compile(r"(e-?mail|phone|mobile|msisdn|\bani\b|dnis|address|ssn|name)", re.IGNORECASE)


def looks_like_contact(value: str) -> bool:
    """Return True when a string looks like an e-mail address or a phone number.

    :param value: the attribute value to test.
    """
    text = value.strip()
    if _EMAIL_RE.match(text):
        return True
    if _DATE_RE.match(text):
        return False
    return bool(_PHONE_RE.match(text)) and sum(ch.isdigit() for ch in text) >= 7


def _is_sensitive(key: Any, value: Any) -> bool:
    """Return whether an attribute or property names or holds a contact (by its key or its value)."""
    return bool(_PII_KEY_RE.search(str(key))) or (isinstance(value, str) and looks_like_contact(value))


def _is_sensitive_property(prop: Any) -> bool:
    return isinstance(prop, dict) and _is_sensitive(prop.get("property", ""), prop.get("value"))


@lru_cache(maxsize=65536)
def _hmac_hex(key: bytes, value: str) -> str:
    """Return ``hmac:`` + HMAC-SHA256 hex (cached: the same numbers recur across conversations)."""
    return HASH_PREFIX + hmac.digest(key, value.encode("utf-8"), "sha256").hex()


@dataclass(frozen=True)
class PiiPolicy:
    """Decide what happens to personal data in a conversation.

    :param mode: ``keep`` (store as received), ``hash`` (keyed HMAC-SHA256, stable so joins and
        exact-match searches still work) or ``drop`` (remove the field).
    :param key: the HMAC key (at least 16 bytes); required for ``hash``, never logged or shown.
    """

    mode: PiiMode = DEFAULT_PII_MODE
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in PII_MODES:
            raise ValueError(f"PII mode must be one of {', '.join(PII_MODES)}, got {self.mode!r}")
        if isinstance(self.key, str):
            object.__setattr__(self, "key", self.key.encode("utf-8"))
        if self.mode == "hash":
            if not self.key:
                raise ValueError("PII mode 'hash' needs a key (bytes); none was given")
            if len(self.key) < MIN_KEY_BYTES:
                raise ValueError(f"PII hash key must be at least {MIN_KEY_BYTES} bytes long")

    def hash_value(self, value: str) -> str:
        """Return the keyed HMAC-SHA256 of a value as ``hmac:<hex>``.

        :param value: the value to hash (hashed exactly as received, after trimming whitespace).
        """
        if not self.key:
            raise ValueError("hash_value needs a PII key")
        return _hmac_hex(self.key, value.strip())

    def apply_value(self, value: Any) -> Any:
        """Return the value as the policy stores it (``None`` means drop it).

        :param value: a string or a list of strings (other types are hashed by their string form).
        """
        if self.mode == "keep" or value is None:
            return value
        if self.mode == "drop":
            return None
        if isinstance(value, list):
            return [self.hash_value(v if isinstance(v, str) else str(v)) for v in value]
        return self.hash_value(value if isinstance(value, str) else str(value))

    def _apply_fields(self, obj: dict[str, Any], names: tuple[str, ...]) -> None:
        for name in names:
            if name in obj:
                new = self.apply_value(obj[name])
                if new is None:
                    del obj[name]
                else:
                    obj[name] = new

    def _cleaned(self, obj: Any, names: tuple[str, ...]) -> Any:
        """Return a dict with ``names`` handled, copied only when it holds one of them."""
        if not isinstance(obj, dict) or not any(name in obj for name in names):
            return obj
        obj = dict(obj)
        self._apply_fields(obj, names)
        return obj

    def _session(self, session: dict[str, Any]) -> dict[str, Any]:
        session = dict(session)
        self._apply_fields(session, SESSION_PII_FIELDS)
        if "flow" in session:
            session["flow"] = self._cleaned(session["flow"], FLOW_PII_FIELDS)
        segments = session.get("segments")
        if isinstance(segments, list):
            session["segments"] = [self._segment(segment) for segment in segments]
        return session

    def _segment(self, segment: Any) -> Any:
        segment = self._cleaned(segment, SEGMENT_PII_FIELDS)
        properties = segment.get("properties") if isinstance(segment, dict) else None
        if isinstance(properties, list) and any(_is_sensitive_property(p) for p in properties):
            segment = dict(segment)
            segment["properties"] = [self._property(p) for p in properties]
        return segment

    def _property(self, prop: Any) -> Any:
        if not _is_sensitive_property(prop):
            return prop
        prop = dict(prop)
        self._apply_fields(prop, ("value",))
        return prop

    def apply_attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Return participant attributes with contact-like values handled by the policy.

        :param attributes: the participant's ``attributes`` map (jobs API).
        """
        if self.mode == "keep":
            return dict(attributes)
        out: dict[str, Any] = {}
        for key, value in attributes.items():
            if not _is_sensitive(key, value):
                out[key] = value
                continue
            new = self.apply_value(value)
            if new is not None:
                out[key] = new
        return out

    def apply(self, conversation: dict[str, Any]) -> dict[str, Any]:
        """Return the conversation with its PII handled, leaving the input untouched.

        Participants and sessions are copied; a flow, segment or property only when it holds a PII field.
        Metrics and the rest are shared with the input (copy on write).

        :param conversation: the Genesys conversation.
        """
        out = dict(conversation)
        if self.mode == "keep":
            return out
        participants = conversation.get("participants")
        if not isinstance(participants, list):
            return out
        new_participants: list[Any] = []
        for participant in participants:
            if not isinstance(participant, dict):
                new_participants.append(participant)
                continue
            participant = dict(participant)
            if participant.get("purpose") not in NON_PERSON_PURPOSES:
                self._apply_fields(participant, PARTICIPANT_PII_FIELDS)
            attributes = participant.get("attributes")
            if isinstance(attributes, Mapping):
                participant["attributes"] = self.apply_attributes(attributes)
            sessions = participant.get("sessions")
            if isinstance(sessions, list):
                participant["sessions"] = [self._session(s) if isinstance(s, dict) else s for s in sessions]
            new_participants.append(participant)
        out["participants"] = new_participants
        return out
