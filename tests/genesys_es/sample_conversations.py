"""Small, realistic Genesys Cloud conversation details (as the details query and jobs API return them).

Every function returns a fresh dict, so tests may modify what they get.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

QUEUE_SUPPORT = "5a1c0f2e-0d1b-4f0e-9a11-000000000q01"
QUEUE_BILLING = "5a1c0f2e-0d1b-4f0e-9a11-000000000q02"
AGENT_ALICE = "9f6e2c1a-7a3b-4c55-8d21-0000000a0001"
AGENT_BOB = "9f6e2c1a-7a3b-4c55-8d21-0000000a0002"
AGENT_CAROL = "9f6e2c1a-7a3b-4c55-8d21-0000000a0003"
WRAPUP_RESOLVED = "7c0d9b8e-1111-4e7e-b2a4-0000000w0001"
WRAPUP_ESCALATED = "7c0d9b8e-1111-4e7e-b2a4-0000000w0002"
DIVISION = "d1d1d1d1-0000-4000-8000-000000000001"
CUSTOMER_ANI = "tel:+13175550100"
SUPPORT_DNIS = "tel:+18005550199"


def _t(start: str, seconds: float) -> str:
    """Return an ISO timestamp ``seconds`` after ``start`` (Genesys millisecond format)."""
    base = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return (base + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _seg(start: str, a: float, b: float | None, segment_type: str, **extra: Any) -> dict[str, Any]:
    seg: dict[str, Any] = {"segmentStart": _t(start, a), "segmentType": segment_type}
    if b is not None:
        seg["segmentEnd"] = _t(start, b)
    seg.update(extra)
    return seg


def _metric(start: str, at: float, name: str, value: int) -> dict[str, Any]:
    return {"name": name, "value": value, "emitDate": _t(start, at)}


def voice_inbound_transfer(
    conversation_id: str = "c0000001-aaaa-4bbb-8ccc-000000000001", start: str = "2024-03-01T09:15:02.120Z"
) -> dict[str, Any]:
    """Inbound call: IVR, queue Support, Alice answers, holds, blind-transfers to Billing, Bob wraps up."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 612.5),
        "originatingDirection": "inbound",
        "divisionIds": [DIVISION],
        "mediaStatsMinConversationMos": 4.37,
        "mediaStatsMinConversationRFactor": 89.1,
        "conversationInitiator": "external",
        "customerParticipation": True,
        "participants": [
            {
                "participantId": "p-cust-1",
                "participantName": "Jane Customer",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-cust-1",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": CUSTOMER_ANI,
                        "dnis": SUPPORT_DNIS,
                        "sessionDnis": SUPPORT_DNIS,
                        "addressFrom": CUSTOMER_ANI,
                        "addressTo": SUPPORT_DNIS,
                        "remote": "Jane Customer",
                        "provider": "Edge",
                        "edgeId": "e-1",
                        "mediaEndpointStats": [{"codecs": ["opus"], "minMos": 4.37, "minRFactor": 89.1}],
                        "segments": [_seg(s, 0, 612.5, "interact", disconnectType="peer")],
                    }
                ],
            },
            {
                "participantId": "p-ivr-1",
                "participantName": "Main IVR",
                "purpose": "ivr",
                "sessions": [
                    {
                        "sessionId": "s-ivr-1",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": CUSTOMER_ANI,
                        "dnis": SUPPORT_DNIS,
                        "flow": {
                            "flowId": "f-1",
                            "flowName": "Main IVR",
                            "flowType": "INBOUNDCALL",
                            "transferType": "ACD",
                            "transferTargetName": "Support",
                        },
                        "metrics": [_metric(s, 35, "tIvr", 35000)],
                        "segments": [_seg(s, 0, 35, "ivr", disconnectType="transfer")],
                    }
                ],
            },
            {
                "participantId": "p-acd-1",
                "participantName": "Support",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-acd-1",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": CUSTOMER_ANI,
                        "dnis": SUPPORT_DNIS,
                        "requestedRoutings": ["Standard"],
                        "usedRouting": "Standard",
                        "selectedAgentId": AGENT_ALICE,
                        "metrics": [_metric(s, 35, "nOffered", 1), _metric(s, 62, "tAcd", 27000)],
                        "segments": [
                            _seg(s, 35, 62, "interact", queueId=QUEUE_SUPPORT, disconnectType="transfer")
                        ],
                    }
                ],
            },
            {
                "participantId": "p-agent-1",
                "participantName": "Alice Agent",
                "purpose": "agent",
                "userId": AGENT_ALICE,
                "teamId": "team-1",
                "sessions": [
                    {
                        "sessionId": "s-agent-1",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": CUSTOMER_ANI,
                        "dnis": SUPPORT_DNIS,
                        "metrics": [
                            _metric(s, 62, "tAlert", 5000),
                            _metric(s, 62, "tAnswered", 27000),
                            _metric(s, 300, "tTalk", 193000),
                            _metric(s, 300, "tHeld", 45000),
                            _metric(s, 300, "nTransferred", 1),
                            _metric(s, 300, "nBlindTransferred", 1),
                            _metric(s, 330, "tAcw", 30000),
                            _metric(s, 330, "tHandle", 268000),
                        ],
                        "segments": [
                            _seg(s, 57, 62, "alert", queueId=QUEUE_SUPPORT),
                            _seg(s, 62, 180, "interact", queueId=QUEUE_SUPPORT),
                            _seg(s, 180, 225, "hold", queueId=QUEUE_SUPPORT),
                            _seg(s, 225, 300, "interact", queueId=QUEUE_SUPPORT, disconnectType="transfer"),
                            _seg(
                                s,
                                300,
                                330,
                                "wrapup",
                                queueId=QUEUE_SUPPORT,
                                wrapUpCode=WRAPUP_ESCALATED,
                                wrapUpNote="Customer disputes March invoice, sent to billing",
                            ),
                        ],
                    }
                ],
            },
            {
                "participantId": "p-acd-2",
                "participantName": "Billing",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-acd-2",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "metrics": [_metric(s, 300, "nOffered", 1)],
                        "segments": [
                            _seg(s, 300, 320, "interact", queueId=QUEUE_BILLING, disconnectType="transfer")
                        ],
                    }
                ],
            },
            {
                "participantId": "p-agent-2",
                "participantName": "Bob Agent",
                "purpose": "agent",
                "userId": AGENT_BOB,
                "teamId": "team-2",
                "sessions": [
                    {
                        "sessionId": "s-agent-2",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "metrics": [
                            _metric(s, 320, "tAnswered", 20000),
                            _metric(s, 612, "tTalk", 292000),
                            _metric(s, 640, "tAcw", 28000),
                            _metric(s, 640, "tHandle", 320000),
                        ],
                        "segments": [
                            _seg(s, 318, 320, "alert", queueId=QUEUE_BILLING),
                            _seg(s, 320, 612.5, "interact", queueId=QUEUE_BILLING, disconnectType="peer"),
                            _seg(
                                s,
                                612.5,
                                640,
                                "wrapup",
                                queueId=QUEUE_BILLING,
                                wrapUpCode=WRAPUP_RESOLVED,
                                wrapUpNote="Refund issued",
                            ),
                        ],
                    }
                ],
            },
        ],
    }


def email_inbound(
    conversation_id: str = "c0000002-aaaa-4bbb-8ccc-000000000002", start: str = "2024-03-01T10:02:00.000Z"
) -> dict[str, Any]:
    """Inbound e-mail routed to Support and answered by Carol."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 3600),
        "originatingDirection": "inbound",
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-c2",
                "participantName": "Jane Customer",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-c2",
                        "mediaType": "email",
                        "direction": "inbound",
                        "addressFrom": "jane.customer@example.com",
                        "addressTo": "support@acme.example",
                        "segments": [_seg(s, 0, 3600, "interact")],
                    }
                ],
            },
            {
                "participantId": "p-a2",
                "participantName": "Support",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-a2",
                        "mediaType": "email",
                        "direction": "inbound",
                        "metrics": [_metric(s, 0, "nOffered", 1)],
                        "segments": [
                            _seg(s, 0, 600, "interact", queueId=QUEUE_SUPPORT, disconnectType="transfer")
                        ],
                    }
                ],
            },
            {
                "participantId": "p-g2",
                "participantName": "Carol Agent",
                "purpose": "agent",
                "userId": AGENT_CAROL,
                "sessions": [
                    {
                        "sessionId": "s-g2",
                        "mediaType": "email",
                        "direction": "inbound",
                        "addressFrom": "jane.customer@example.com",
                        "addressTo": "support@acme.example",
                        "metrics": [
                            _metric(s, 620, "tAnswered", 620000),
                            _metric(s, 3600, "tHandle", 2980000),
                        ],
                        "segments": [
                            _seg(s, 600, 620, "alert", queueId=QUEUE_SUPPORT),
                            _seg(s, 620, 3500, "interact", queueId=QUEUE_SUPPORT),
                            _seg(
                                s,
                                3500,
                                3600,
                                "wrapup",
                                queueId=QUEUE_SUPPORT,
                                wrapUpCode=WRAPUP_RESOLVED,
                                disconnectType="client",
                            ),
                        ],
                    }
                ],
            },
        ],
    }


def chat_inbound(
    conversation_id: str = "c0000003-aaaa-4bbb-8ccc-000000000003", start: str = "2024-03-02T14:30:00.000Z"
) -> dict[str, Any]:
    """Web chat answered by Alice in the Billing queue."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 900),
        "originatingDirection": "inbound",
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-c3",
                "participantName": "Sam Visitor",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-c3",
                        "mediaType": "chat",
                        "direction": "inbound",
                        "remote": "Sam Visitor",
                        "segments": [_seg(s, 0, 900, "interact", disconnectType="client")],
                    }
                ],
            },
            {
                "participantId": "p-a3",
                "participantName": "Billing",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-a3",
                        "mediaType": "chat",
                        "direction": "inbound",
                        "metrics": [_metric(s, 0, "nOffered", 1)],
                        "segments": [
                            _seg(s, 0, 40, "interact", queueId=QUEUE_BILLING, disconnectType="transfer")
                        ],
                    }
                ],
            },
            {
                "participantId": "p-g3",
                "participantName": "Alice Agent",
                "purpose": "agent",
                "userId": AGENT_ALICE,
                "sessions": [
                    {
                        "sessionId": "s-g3",
                        "mediaType": "chat",
                        "direction": "inbound",
                        "metrics": [
                            _metric(s, 40, "tAnswered", 40000),
                            _metric(s, 900, "tTalk", 860000),
                            _metric(s, 960, "tAcw", 60000),
                            _metric(s, 960, "tHandle", 920000),
                        ],
                        "segments": [
                            _seg(s, 40, 900, "interact", queueId=QUEUE_BILLING),
                            _seg(
                                s,
                                900,
                                960,
                                "wrapup",
                                queueId=QUEUE_BILLING,
                                wrapUpCode=WRAPUP_RESOLVED,
                                disconnectType="peer",
                            ),
                        ],
                    }
                ],
            },
        ],
    }


def callback(
    conversation_id: str = "c0000004-aaaa-4bbb-8ccc-000000000004", start: str = "2024-03-02T16:00:00.000Z"
) -> dict[str, Any]:
    """Scheduled callback: the customer asked to be called back, Bob dials out and talks."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 1500),
        "originatingDirection": "inbound",
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-c4",
                "participantName": "Lee Caller",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-c4",
                        "mediaType": "callback",
                        "direction": "inbound",
                        "ani": "tel:+13175550123",
                        "callbackNumbers": ["tel:+13175550123"],
                        "segments": [_seg(s, 0, 1200, "scheduled")],
                    }
                ],
            },
            {
                "participantId": "p-a4",
                "participantName": "Support",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-a4",
                        "mediaType": "callback",
                        "direction": "inbound",
                        "metrics": [_metric(s, 0, "nOffered", 1)],
                        "segments": [
                            _seg(s, 0, 1200, "interact", queueId=QUEUE_SUPPORT, disconnectType="transfer")
                        ],
                    }
                ],
            },
            {
                "participantId": "p-g4",
                "participantName": "Bob Agent",
                "purpose": "agent",
                "userId": AGENT_BOB,
                "sessions": [
                    {
                        "sessionId": "s-g4a",
                        "mediaType": "callback",
                        "direction": "inbound",
                        "metrics": [_metric(s, 1210, "tAnswered", 1210000)],
                        "segments": [
                            _seg(s, 1200, 1210, "alert", queueId=QUEUE_SUPPORT),
                            _seg(s, 1210, 1215, "interact", queueId=QUEUE_SUPPORT),
                        ],
                    },
                    {
                        "sessionId": "s-g4b",
                        "mediaType": "voice",
                        "direction": "outbound",
                        "dnis": "tel:+13175550123",
                        "addressTo": "tel:+13175550123",
                        "metrics": [
                            _metric(s, 1500, "tTalk", 270000),
                            _metric(s, 1530, "tAcw", 30000),
                            _metric(s, 1530, "tHandle", 320000),
                            _metric(s, 1215, "nOutbound", 1),
                        ],
                        "segments": [
                            _seg(s, 1215, 1230, "dialing"),
                            _seg(s, 1230, 1500, "interact"),
                            _seg(
                                s,
                                1500,
                                1530,
                                "wrapup",
                                queueId=QUEUE_SUPPORT,
                                wrapUpCode=WRAPUP_RESOLVED,
                                disconnectType="client",
                            ),
                        ],
                    },
                ],
            },
        ],
    }


def abandoned_in_queue(
    conversation_id: str = "c0000005-aaaa-4bbb-8ccc-000000000005", start: str = "2024-03-03T08:00:00.000Z"
) -> dict[str, Any]:
    """Inbound call that hangs up while waiting in the Support queue."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 95),
        "originatingDirection": "inbound",
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-c5",
                "participantName": "Pat Impatient",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-c5",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": "tel:+13175550177",
                        "dnis": SUPPORT_DNIS,
                        "segments": [_seg(s, 0, 95, "interact", disconnectType="peer")],
                    }
                ],
            },
            {
                "participantId": "p-i5",
                "participantName": "Main IVR",
                "purpose": "ivr",
                "sessions": [
                    {
                        "sessionId": "s-i5",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "segments": [_seg(s, 0, 20, "ivr", disconnectType="transfer")],
                    }
                ],
            },
            {
                "participantId": "p-a5",
                "participantName": "Support",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-a5",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": "tel:+13175550177",
                        "dnis": SUPPORT_DNIS,
                        "metrics": [_metric(s, 20, "nOffered", 1), _metric(s, 95, "tAbandon", 75000)],
                        "segments": [
                            _seg(s, 20, 95, "interact", queueId=QUEUE_SUPPORT, disconnectType="peer")
                        ],
                    }
                ],
            },
        ],
    }


def ivr_only(
    conversation_id: str = "c0000006-aaaa-4bbb-8ccc-000000000006", start: str = "2024-03-03T11:00:00.000Z"
) -> dict[str, Any]:
    """Self-served call: the caller checks a balance in the IVR and hangs up."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 70),
        "originatingDirection": "inbound",
        "selfServed": True,
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-c6",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-c6",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": "tel:+13175550188",
                        "dnis": SUPPORT_DNIS,
                        "segments": [_seg(s, 0, 70, "interact", disconnectType="peer")],
                    }
                ],
            },
            {
                "participantId": "p-i6",
                "participantName": "Main IVR",
                "purpose": "ivr",
                "sessions": [
                    {
                        "sessionId": "s-i6",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "flow": {"flowId": "f-1", "flowName": "Main IVR", "flowType": "INBOUNDCALL"},
                        "metrics": [_metric(s, 70, "tIvr", 70000)],
                        "segments": [_seg(s, 0, 70, "ivr", disconnectType="peer")],
                    }
                ],
            },
        ],
    }


def open_voice(
    conversation_id: str = "c0000007-aaaa-4bbb-8ccc-000000000007", start: str = "2024-03-03T23:55:00.000Z"
) -> dict[str, Any]:
    """A call still in progress: no conversationEnd, the agent segment has no end yet."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "originatingDirection": "inbound",
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-c7",
                "participantName": "Night Owl",
                "purpose": "customer",
                "sessions": [
                    {
                        "sessionId": "s-c7",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "ani": "tel:+13175550199",
                        "dnis": SUPPORT_DNIS,
                        "segments": [_seg(s, 0, None, "interact")],
                    }
                ],
            },
            {
                "participantId": "p-a7",
                "participantName": "Support",
                "purpose": "acd",
                "sessions": [
                    {
                        "sessionId": "s-a7",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "metrics": [_metric(s, 0, "nOffered", 1)],
                        "segments": [
                            _seg(s, 0, 30, "interact", queueId=QUEUE_SUPPORT, disconnectType="transfer")
                        ],
                    }
                ],
            },
            {
                "participantId": "p-g7",
                "participantName": "Carol Agent",
                "purpose": "agent",
                "userId": AGENT_CAROL,
                "sessions": [
                    {
                        "sessionId": "s-g7",
                        "mediaType": "voice",
                        "direction": "inbound",
                        "metrics": [_metric(s, 30, "tAnswered", 30000)],
                        "segments": [_seg(s, 30, None, "interact", queueId=QUEUE_SUPPORT)],
                    }
                ],
            },
        ],
    }


def outbound_voice(
    conversation_id: str = "c0000008-aaaa-4bbb-8ccc-000000000008", start: str = "2024-03-04T13:00:00.000Z"
) -> dict[str, Any]:
    """Agent-initiated outbound call to an external number."""
    s = start
    return {
        "conversationId": conversation_id,
        "conversationStart": s,
        "conversationEnd": _t(s, 300),
        "originatingDirection": "outbound",
        "divisionIds": [DIVISION],
        "participants": [
            {
                "participantId": "p-g8",
                "participantName": "Alice Agent",
                "purpose": "agent",
                "userId": AGENT_ALICE,
                "sessions": [
                    {
                        "sessionId": "s-g8",
                        "mediaType": "voice",
                        "direction": "outbound",
                        "ani": SUPPORT_DNIS,
                        "dnis": "tel:+441632960001",
                        "metrics": [
                            _metric(s, 0, "nOutbound", 1),
                            _metric(s, 300, "tTalk", 280000),
                            _metric(s, 320, "tHandle", 320000),
                        ],
                        "segments": [
                            _seg(s, 0, 20, "dialing"),
                            _seg(s, 20, 300, "interact", disconnectType="client"),
                            _seg(s, 300, 320, "wrapup", wrapUpCode=WRAPUP_RESOLVED),
                        ],
                    }
                ],
            },
            {
                "participantId": "p-e8",
                "participantName": "Acme Supplier",
                "purpose": "external",
                "externalContactId": "ext-c-1",
                "sessions": [
                    {
                        "sessionId": "s-e8",
                        "mediaType": "voice",
                        "direction": "outbound",
                        "ani": SUPPORT_DNIS,
                        "dnis": "tel:+441632960001",
                        "segments": [_seg(s, 20, 300, "interact", disconnectType="peer")],
                    }
                ],
            },
        ],
    }


def with_attributes(
    conversation_id: str = "c0000009-aaaa-4bbb-8ccc-000000000009", start: str = "2024-03-04T15:00:00.000Z"
) -> dict[str, Any]:
    """A call as the jobs API returns it: participant attributes set by the IVR flow."""
    conv = voice_inbound_transfer(conversation_id, start)
    conv["participants"][0]["attributes"] = {
        "AccountNumber": "ACC-000123",
        "CustomerEmail": "jane.customer@example.com",
        "CallbackNumber": "+1 (317) 555-0100",
        "Language": "en-US",
        "Intent": "billing_dispute",
        "VIP": "true",
    }
    conv["participants"][1]["attributes"] = {"Intent": "billing_dispute", "ivr.Path": "1>3>2"}
    return conv


SAMPLES: dict[str, Callable[..., dict[str, Any]]] = {
    "voice_inbound_transfer": voice_inbound_transfer,
    "email_inbound": email_inbound,
    "chat_inbound": chat_inbound,
    "callback": callback,
    "abandoned_in_queue": abandoned_in_queue,
    "ivr_only": ivr_only,
    "open_voice": open_voice,
    "outbound_voice": outbound_voice,
    "with_attributes": with_attributes,
}


def all_samples() -> list[dict[str, Any]]:
    """Return one fresh copy of every sample conversation."""
    return [copy.deepcopy(make()) for make in SAMPLES.values()]


def generate(count: int, *, day: str = "2024-03-05", seed_prefix: str = "g") -> list[dict[str, Any]]:
    """Return ``count`` varied conversations starting on ``day`` (unique ids, cycling the samples).

    :param count: how many conversations.
    :param day: UTC day ``YYYY-MM-DD`` the conversations start on.
    :param seed_prefix: prefix of the generated conversation ids.
    """
    makers = list(SAMPLES.values())
    base = datetime.fromisoformat(day).replace(tzinfo=UTC)
    out = []
    for i in range(count):
        start = (base + timedelta(seconds=37 * i % 86000)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(makers[i % len(makers)](f"{seed_prefix}{i:07d}-0000-4000-8000-{i:012d}", start))
    return out
