"""PII policy: keep, keyed hash, drop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from genesys_es.transform.documents import build_document
from genesys_es.transform.pii import DEFAULT_PII_MODE, HASH_PREFIX, PiiPolicy, looks_like_contact
from include.genesys_simulator.pools import FIRST_NAMES, LAST_NAMES
from tests.genesys_es import sample_conversations as samples

KEY = b"0123456789abcdef-test-key"
OTHER_KEY = b"fedcba9876543210-test-key"


def _customer_session(doc: dict) -> dict:
    return doc["participants"][0]["sessions"][0]


def test_default_mode_is_drop_and_needs_no_key() -> None:
    policy = PiiPolicy()
    assert policy.mode == DEFAULT_PII_MODE == "drop"
    doc = build_document(samples.voice_inbound_transfer(), pii=policy)
    assert "ani" not in _customer_session(doc)


def test_hash_requires_a_long_enough_key() -> None:
    with pytest.raises(ValueError, match="needs a key"):
        PiiPolicy("hash")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        PiiPolicy("hash", b"short")
    with pytest.raises(ValueError, match="one of"):
        PiiPolicy("mask", KEY)  # type: ignore[arg-type]


def test_key_is_never_shown() -> None:
    policy = PiiPolicy("hash", KEY)
    assert KEY.decode() not in repr(policy)
    assert KEY.decode() not in str(policy)


def test_hash_is_stable_keyed_and_joins_across_conversations() -> None:
    policy = PiiPolicy("hash", KEY)
    first = build_document(samples.voice_inbound_transfer(), pii=policy)
    second = build_document(samples.voice_inbound_transfer("other-id"), pii=policy)
    ani = _customer_session(first)["ani"]
    assert ani.startswith(HASH_PREFIX)
    assert samples.CUSTOMER_ANI not in ani
    assert ani == _customer_session(second)["ani"]  # same caller -> same hash: joins still work
    # the same number in other fields hashes identically
    assert _customer_session(first)["addressFrom"] == ani
    other = build_document(samples.voice_inbound_transfer(), pii=PiiPolicy("hash", OTHER_KEY))
    assert _customer_session(other)["ani"] != ani  # keyed: another key gives another value


def test_hash_covers_every_listed_field_and_keeps_queue_names() -> None:
    raw = samples.voice_inbound_transfer()
    doc = build_document(raw, pii=PiiPolicy("hash", KEY))
    session = _customer_session(doc)
    for name in ("ani", "dnis", "sessionDnis", "addressFrom", "addressTo", "remote"):
        assert session[name].startswith(HASH_PREFIX), name
    names = {p["purpose"]: p.get("participantName") for p in doc["participants"]}
    assert names["customer"].startswith(HASH_PREFIX)
    assert names["agent"].startswith(HASH_PREFIX)
    assert names["acd"] in ("Support", "Billing")  # a queue is not a person
    text = " ".join(doc["derived"]["searchText"])
    assert "Jane" not in text and "+1317" not in text


def test_drop_removes_fields_and_keep_keeps_them() -> None:
    raw = samples.email_inbound()
    dropped = build_document(raw, pii=PiiPolicy("drop"))
    kept = build_document(raw, pii=PiiPolicy("keep"))
    assert "addressFrom" not in _customer_session(dropped)
    assert "participantName" not in dropped["participants"][0]
    assert _customer_session(kept)["addressFrom"] == "jane.customer@example.com"
    assert kept["participants"][0]["participantName"] == "Jane Customer"
    assert "jane.customer@example.com" in kept["derived"]["searchText"]
    assert "jane.customer@example.com" not in str(dropped)
    assert raw["participants"][0]["sessions"][0]["addressFrom"] == "jane.customer@example.com"  # input intact


def test_contact_like_attribute_values_are_handled() -> None:
    raw = samples.with_attributes()
    hashed = build_document(raw, pii=PiiPolicy("hash", KEY))["derived"]["attributes"]
    dropped = build_document(raw, pii=PiiPolicy("drop"))["derived"]["attributes"]
    assert hashed["CustomerEmail"].startswith(HASH_PREFIX)
    assert hashed["CallbackNumber"].startswith(HASH_PREFIX)
    assert hashed["AccountNumber"] == "ACC-000123" and hashed["Language"] == "en-US"
    assert "CustomerEmail" not in dropped and "CallbackNumber" not in dropped
    assert dropped["Intent"] == "billing_dispute"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane@example.com", True),
        ("mailto:a.b@c.io", True),
        ("+1 (317) 555-0100", True),
        ("tel:+13175550100", True),
        ("sip:+4930123456@edge.example", True),
        ("en-US", False),
        ("ACC-000123", False),
        ("2024-03-01", False),
        ("12345", False),
    ],
)
def test_looks_like_contact(value: str, expected: bool) -> None:
    assert looks_like_contact(value) is expected


# --- every string of generated conversations, details query and jobs API alike ----------------------

_PHONE_RE = re.compile(r"(?<![\w-])\+?\d{10,15}(?![\w-])")
_EMAIL_RE = re.compile(r"[^\s@/]+@[^\s@/]+\.[a-z]{2,}", re.IGNORECASE)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _personal_values(conversation: dict[str, Any]) -> set[str]:
    """Return the phone numbers, e-mail addresses and person names the simulator put into a conversation."""
    found = set()
    for text in _strings(conversation):
        found.update(_PHONE_RE.findall(text.removeprefix("tel:")))
        found.update(_EMAIL_RE.findall(text))
        found.update(
            f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES if f"{first} {last}" in text
        )
    return found


@pytest.mark.parametrize("with_attributes", [False, True], ids=["details-query", "jobs-api"])
def test_drop_leaves_no_phone_email_or_name_in_any_string(with_attributes: bool) -> None:
    from include.genesys_simulator.dataset import Dataset

    start = datetime(2026, 11, 10, tzinfo=UTC)
    conversations = Dataset(11, 1500).conversations(
        start, start + timedelta(days=1), with_attributes=with_attributes
    )
    personal = set().union(*map(_personal_values, conversations))
    # The generated day does carry personal data in many places (else this test would prove nothing).
    assert sum("@" in value for value in personal) > 50 and sum(" " in value for value in personal) > 50
    media = {
        s.get("mediaType") for c in conversations for p in c["participants"] for s in p.get("sessions", [])
    }
    assert {"voice", "callback", "email", "chat"} <= media
    policy = PiiPolicy("drop")
    for conversation in conversations:
        document = build_document(conversation, pii=policy)
        for text in _strings(document):
            assert not _PHONE_RE.search(text.removeprefix("tel:")), (conversation["conversationId"], text)
            assert not _EMAIL_RE.search(text), (conversation["conversationId"], text)
            assert not any(f"{first} {last}" in text for first in FIRST_NAMES for last in LAST_NAMES), text


def test_hash_keeps_joins_on_callback_numbers_and_entry_reasons() -> None:
    conversation = {
        "conversationId": "c-1",
        "conversationStart": "2026-11-10T10:00:00.000Z",
        "participants": [
            {
                "purpose": "customer",
                "sessions": [
                    {
                        "mediaType": "callback",
                        "callbackNumbers": ["tel:+15551234567", "tel:+15557654321"],
                        "callbackUserName": "Ava Smith",
                        "flow": {"entryReason": "tel:+18005550100", "flowName": "Callback Flow"},
                        "segments": [{"segmentType": "wrapup", "wrapUpNote": "called Ava back"}],
                    }
                ],
            }
        ],
    }
    session = build_document(conversation, pii=PiiPolicy("hash", KEY))["participants"][0]["sessions"][0]
    policy = PiiPolicy("hash", KEY)
    assert session["callbackNumbers"] == [
        policy.hash_value("tel:+15551234567"),
        policy.hash_value("tel:+15557654321"),
    ]
    assert session["flow"] == {
        "entryReason": policy.hash_value("tel:+18005550100"),
        "flowName": "Callback Flow",
    }
    assert session["callbackUserName"].startswith(HASH_PREFIX)
    assert session["segments"][0]["wrapUpNote"].startswith(HASH_PREFIX)
    # The input is left untouched.
    assert conversation["participants"][0]["sessions"][0]["flow"]["entryReason"] == "tel:+18005550100"
