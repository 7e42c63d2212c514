"""PII handling for Genesys conversation documents: keep, keyed hash, or drop.

The policy covers the fields that carry a person's identity or contact address in the analytics
conversation details: session ``ani``, ``dnis``, ``sessionDnis``, ``addressFrom``, ``addressTo``,
``addressOther``, ``addressSelf``, ``remote`` (caller display name), the participant's
``participantName`` (not for queue/flow participants), and participant attribute values that look
like an e-mail address or a phone number (or whose key names one). Free text such as wrap-up notes is out of scope: names typed into a
note are not detected.
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
)
PARTICIPANT_PII_FIELDS: tuple[str, ...] = ("participantName",)
#: Purposes whose ``participantName`` names a queue or a flow, not a person: kept in every mode.
NON_PERSON_PURPOSES: tuple[str, ...] = ("acd", "ivr", "workflow", "voicemail", "station")

_EMAIL_RE = re.compile(r"^(mailto:)?[^@\s]+@[^@\s]+\.[^@\s]+$", re.IGNORECASE)
_PHONE_RE = re.compile(r"^(tel:|sip:)?\+?[\d\s().\-/]{7,}(@\S+)?$", re.IGNORECASE)
_DATE_RE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([T ].*)?$")
_PII_KEY_RE = re.compile(r"(e-?mail|phone|mobile|msisdn|\bani\b|dnis|address|ssn)", re.IGNORECASE)


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

        :param value: a string (other types are hashed by their string form).
        """
        if self.mode == "keep" or value is None:
            return value
        if self.mode == "drop":
            return None
        return self.hash_value(value if isinstance(value, str) else str(value))

    def _apply_fields(self, obj: dict[str, Any], names: tuple[str, ...]) -> None:
        for name in names:
            if name in obj:
                new = self.apply_value(obj[name])
                if new is None:
                    del obj[name]
                else:
                    obj[name] = new

    def apply_attributes(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Return participant attributes with contact-like values handled by the policy.

        :param attributes: the participant's ``attributes`` map (jobs API).
        """
        if self.mode == "keep":
            return dict(attributes)
        out: dict[str, Any] = {}
        for key, value in attributes.items():
            sensitive = bool(_PII_KEY_RE.search(str(key))) or (
                isinstance(value, str) and looks_like_contact(value)
            )
            if not sensitive:
                out[key] = value
                continue
            new = self.apply_value(value)
            if new is not None:
                out[key] = new
        return out

    def apply(self, conversation: dict[str, Any]) -> dict[str, Any]:
        """Return the conversation with its PII handled, leaving the input untouched.

        Only the participant and session dicts on the way to a PII field are copied; segments, metrics
        and the rest are shared with the input (copy on write).

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
                new_sessions: list[Any] = []
                for session in sessions:
                    if isinstance(session, dict):
                        session = dict(session)
                        self._apply_fields(session, SESSION_PII_FIELDS)
                    new_sessions.append(session)
                participant["sessions"] = new_sessions
            new_participants.append(participant)
        out["participants"] = new_participants
        return out
