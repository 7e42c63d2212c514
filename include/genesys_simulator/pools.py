"""Fixed pools of org objects (divisions, queues, users, teams, wrap-up codes, flows), stable per seed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from include.genesys_simulator.rng import Rng, derive

FIRST_NAMES = (
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Emma",
    "Lucas",
    "Sofia",
    "Ethan",
    "Chloe",
    "Mateo",
    "Amara",
    "Jonas",
    "Priya",
    "Kenji",
    "Fatima",
    "Oscar",
    "Leila",
    "Diego",
    "Hanna",
    "Tariq",
    "Ines",
    "Marek",
    "Yuki",
    "Omar",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Muller",
    "Rossi",
    "Nguyen",
    "Kowalski",
    "Okafor",
    "Silva",
    "Tanaka",
    "Dubois",
    "Johansson",
    "Patel",
    "Kim",
    "Haddad",
    "Novak",
    "Fischer",
    "Moreau",
    "Costa",
    "Ivanova",
    "Brown",
)
QUEUE_NAMES = (
    "Sales",
    "Billing",
    "Technical Support",
    "Retention",
    "Claims",
    "Onboarding",
    "VIP Care",
    "Collections",
    "Returns",
    "Spanish Support",
    "Email Care",
    "Digital Messaging",
)
WRAP_UP_NAMES = (
    "Resolved",
    "Escalated",
    "Callback Requested",
    "Billing Question",
    "Technical Issue",
    "Sale Completed",
    "Cancellation",
    "Complaint",
    "Wrong Number",
    "Information Provided",
    "Follow-up Needed",
    "No Answer",
    "Password Reset",
    "Order Status",
)
WRAP_UP_NOTES = (
    "Customer asked about the last invoice; explained the charges.",
    "Reset the account password and verified access.",
    "Issue escalated to tier 2, ticket created.",
    "Customer will call back after checking the order number.",
    "Offered a discount to keep the subscription.",
    "Confirmed delivery date and sent tracking link.",
    "Caller reached the wrong department, transferred.",
)
FLOW_NAMES = ("Main IVR", "Support IVR", "After Hours", "Callback Flow")
DIVISION_NAMES = ("Home", "Customer Care", "Sales Division")
EMAIL_DOMAINS = ("example.com", "mail.example.org", "inbox.example.net")
SUPPORT_ADDRESSES = ("support@acme-demo.example", "billing@acme-demo.example", "sales@acme-demo.example")


@dataclass(frozen=True)
class Queue:
    """A routing queue."""

    id: str
    name: str
    division_id: str


@dataclass(frozen=True)
class User:
    """An agent."""

    id: str
    name: str
    team_id: str
    division_id: str


@dataclass(frozen=True)
class Pools:
    """All fixed pools of one simulated org."""

    division_ids: tuple[str, ...]
    queues: tuple[Queue, ...]
    voice_queues: tuple[Queue, ...]
    digital_queues: tuple[Queue, ...]
    users: tuple[User, ...]
    team_ids: tuple[str, ...]
    wrap_up_codes: tuple[tuple[str, str], ...]  # (id, name)
    flows: tuple[tuple[str, str], ...]  # (id, name)
    edge_ids: tuple[str, ...]
    dnis_numbers: tuple[str, ...]
    external_organization_ids: tuple[str, ...]


@lru_cache(maxsize=16)
def pools_for(seed: int) -> Pools:
    """Build the org pools for a seed."""
    rng = Rng(derive(seed, 0x90015))
    division_ids = tuple(rng.uuid() for _ in DIVISION_NAMES)
    queues = tuple(
        Queue(id=rng.uuid(), name=name, division_id=division_ids[1 + (n % 2)])
        for n, name in enumerate(QUEUE_NAMES)
    )
    voice_queues = tuple(q for q in queues if q.name not in ("Email Care", "Digital Messaging"))
    digital_queues = tuple(
        q for q in queues if q.name in ("Email Care", "Digital Messaging", "Billing", "Sales")
    )
    team_ids = tuple(rng.uuid() for _ in range(6))
    users = tuple(
        User(
            id=rng.uuid(),
            name=f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n * 7) % len(LAST_NAMES)]}",
            team_id=team_ids[n % len(team_ids)],
            division_id=division_ids[n % len(division_ids)],
        )
        for n in range(80)
    )
    wrap_up_codes = tuple((rng.uuid(), name) for name in WRAP_UP_NAMES)
    flows = tuple((rng.uuid(), name) for name in FLOW_NAMES)
    edge_ids = tuple(rng.uuid() for _ in range(4))
    dnis_numbers = tuple(f"+1800555{n:04d}" for n in range(100, 106))
    external_organization_ids = tuple(rng.uuid() for _ in range(5))
    return Pools(
        division_ids=division_ids,
        queues=queues,
        voice_queues=voice_queues,
        digital_queues=digital_queues,
        users=users,
        team_ids=team_ids,
        wrap_up_codes=wrap_up_codes,
        flows=flows,
        edge_ids=edge_ids,
        dnis_numbers=dnis_numbers,
        external_organization_ids=external_organization_ids,
    )
