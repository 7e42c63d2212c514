"""Document building: derived fields with Genesys semantics, pipeline metadata, bad input."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys_es.transform.documents import InvalidConversationError, build_document
from genesys_es.transform.pii import PiiPolicy
from tests.genesys_es import sample_conversations as samples

KEEP = PiiPolicy("keep")


def derived(conversation: dict) -> dict:
    return build_document(conversation, pii=KEEP)["derived"]


def test_voice_transfer_derivations() -> None:
    d = derived(samples.voice_inbound_transfer())
    assert d["durationMs"] == 612_500
    assert d["direction"] == "inbound"
    assert d["transferred"] is True and d["abandoned"] is False and d["open"] is False
    assert set(d["queueIds"]) == {samples.QUEUE_SUPPORT, samples.QUEUE_BILLING}
    assert set(d["userIds"]) == {samples.AGENT_ALICE, samples.AGENT_BOB}
    assert set(d["wrapUpCodes"]) == {samples.WRAPUP_ESCALATED, samples.WRAPUP_RESOLVED}
    assert set(d["purposes"]) == {"customer", "ivr", "acd", "agent"}
    assert d["participantCount"] == 6
    assert d["day"] == "2024-03-01"
    # summed over both agents: 193 s + 292 s of talk
    assert d["metrics"]["tTalk"] == 485_000
    assert d["metrics"]["nOffered"] == 2


def test_abandon_follows_tabandon_not_missing_agent() -> None:
    assert derived(samples.abandoned_in_queue())["abandoned"] is True
    # IVR-only calls never reached a queue: not an abandon even without an agent
    ivr = derived(samples.ivr_only())
    assert ivr["abandoned"] is False and ivr["userIds"] == []
    # the fallback (no metrics at all): queued, ended, never answered by an agent
    trimmed = samples.abandoned_in_queue()
    for participant in trimmed["participants"]:
        for session in participant["sessions"]:
            session.pop("metrics", None)
    assert derived(trimmed)["abandoned"] is True
    answered = samples.chat_inbound()
    for participant in answered["participants"]:
        for session in participant["sessions"]:
            session.pop("metrics", None)
    assert derived(answered)["abandoned"] is False


def test_ivr_to_queue_handoff_is_not_a_transfer() -> None:
    # ivr and acd participants end with disconnectType=transfer on every routed call
    email = derived(samples.email_inbound())
    assert "transfer" in email["disconnectTypes"]
    assert email["transferred"] is False
    # an agent segment ending in a transfer counts even without the metric
    conv = samples.voice_inbound_transfer()
    for participant in conv["participants"]:
        for session in participant["sessions"]:
            session["metrics"] = [
                m for m in session.get("metrics", []) if not m["name"].endswith("Transferred")
            ]
    assert derived(conv)["transferred"] is True


def test_direction_and_media() -> None:
    assert derived(samples.outbound_voice())["direction"] == "outbound"
    conv = samples.outbound_voice()
    del conv["originatingDirection"]
    assert derived(conv)["direction"] == "outbound"  # first session's direction
    assert derived(samples.callback())["mediaTypes"] == ["callback", "voice"]


def test_open_conversation() -> None:
    d = derived(samples.open_voice())
    assert d["open"] is True and d["durationMs"] is None


def test_attributes_are_merged_across_participants() -> None:
    d = derived(samples.with_attributes())
    assert d["attributes"]["Intent"] == "billing_dispute"  # same value twice -> one value
    assert d["attributes"]["ivr.Path"] == "1>3>2"
    assert "attributes" not in derived(samples.chat_inbound())


def test_document_keeps_the_original_and_adds_pipeline() -> None:
    raw = samples.voice_inbound_transfer()
    before = copy.deepcopy(raw)
    doc = build_document(
        raw, pii=KEEP, run_id="scheduled__2024-03-01", partition="2024-03-01 09:00-12:00 p1-20"
    )
    assert raw == before
    assert {k: v for k, v in doc.items() if k not in ("derived", "pipeline")} == raw
    assert doc["pipeline"]["runId"] == "scheduled__2024-03-01"
    assert doc["pipeline"]["partition"] == "2024-03-01 09:00-12:00 p1-20"
    assert doc["pipeline"]["piiMode"] == "keep"
    assert doc["pipeline"]["indexedAt"].endswith("Z")


@pytest.mark.parametrize(
    "conversation",
    [
        {},
        {"conversationId": ""},
        {"conversationId": "x"},
        {"conversationId": "x", "conversationStart": "soon"},
        [],
    ],
)
def test_unusable_conversations_raise_a_clear_error(conversation) -> None:
    with pytest.raises(InvalidConversationError):
        build_document(conversation, pii=KEEP)


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(participants=junk, end=junk, direction=junk)
def test_wrongly_typed_fields_never_crash(participants, end, direction) -> None:
    conv = {
        "conversationId": "c-junk",
        "conversationStart": "2024-03-01T00:00:00Z",
        "conversationEnd": end,
        "originatingDirection": direction,
        "participants": participants,
    }
    for policy in (KEEP, PiiPolicy("drop"), PiiPolicy("hash", b"k" * 16)):
        doc = build_document(conv, pii=policy)
        assert doc["conversationId"] == "c-junk"
        assert isinstance(doc["derived"]["mediaTypes"], list)
