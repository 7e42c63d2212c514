"""Build one conversation (the details API JSON shape) from (seed, day, index), cut at the simulated now."""

from __future__ import annotations

import functools
import time
from typing import Any

from include.genesys_simulator.pools import (
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    SUPPORT_ADDRESSES,
    WRAP_UP_NOTES,
    Pools,
    Queue,
    User,
)
from include.genesys_simulator.rng import Rng, derive
from include.genesys_simulator.timeline import Skeleton
from include.genesys_simulator.volume import DayVolume

Json = dict[str, Any]

FLOW_TYPES = {"voice": "INBOUNDCALL", "callback": "INBOUNDCALL"}
INTENTS = ("billing", "support", "sales", "cancel", "order_status", "other")
TIERS = ("bronze", "silver", "gold", "platinum")


@functools.lru_cache(maxsize=1024)
def _day_prefix(day: int) -> str:
    """Return ``YYYY-MM-DDT`` of a UTC day number since the epoch."""
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))


@functools.lru_cache(maxsize=16384)
def iso(ms: int) -> str:
    """Format epoch milliseconds as the API does: 2024-03-05T10:15:30.123Z.

    Cached, with only the day formatted by ``strftime``: segment ends, next segment starts and metric
    emit dates repeat the same instants, and this runs several times per segment.
    """
    seconds, milli = divmod(ms, 1000)
    day, rest = divmod(seconds, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day_prefix(day)}{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


def skeleton_of(day: DayVolume, i: int) -> Skeleton:
    """Return the timing skeleton of conversation i of a day."""
    return Skeleton(Rng(derive(day.key, i, 2)))


def end_of(day: DayVolume, i: int) -> int:
    """Return the (eventual) conversationEnd of conversation i of a day, epoch ms."""
    return day.start_of(i) + skeleton_of(day, i).duration()


class _Session:
    """A session being assembled: attributes, segments and metrics with absolute ms times."""

    __slots__ = ("fields", "metrics", "segments")

    def __init__(self, **fields: Any) -> None:
        self.fields: Json = {k: v for k, v in fields.items() if v is not None}
        self.segments: list[tuple[str, int, int, Json]] = []
        self.metrics: list[tuple[str, int, int]] = []

    def seg(self, kind: str, start: int, end: int, **extra: Any) -> _Session:
        """Add a segment [start, end) with extra fields (None values dropped)."""
        if end > start:
            self.segments.append((kind, start, end, {k: v for k, v in extra.items() if v is not None}))
        return self

    def metric(self, name: str, value: int, emit: int) -> _Session:
        """Add a metric emitted at an instant."""
        self.metrics.append((name, int(value), emit))
        return self


_END_ONLY = ("disconnectType", "wrapUpCode", "wrapUpNote")


def _render_session(session: _Session, now: int) -> Json | None:
    """Render a session as of now: later segments and metrics are left out, a running segment is open."""
    segments: list[Json] = []
    for kind, start, end, extra in session.segments:
        if start >= now:
            continue
        seg: Json = {"segmentStart": iso(start), "segmentType": kind}
        if end <= now:
            seg["segmentEnd"] = iso(end)
            seg.update(extra)
        else:
            seg.update({k: v for k, v in extra.items() if k not in _END_ONLY})
        segments.append(seg)
    if not segments:
        return None
    out = dict(session.fields)
    metrics = [
        {"emitDate": iso(emit), "name": name, "value": value}
        for name, value, emit in sorted(session.metrics, key=lambda m: m[2])
        if emit <= now
    ]
    if metrics:
        out["metrics"] = metrics
    out["segments"] = segments
    return out


class _Participant:
    """A participant being assembled."""

    __slots__ = ("attributes", "fields", "sessions")

    def __init__(self, **fields: Any) -> None:
        self.fields: Json = {k: v for k, v in fields.items() if v is not None}
        self.sessions: list[_Session] = []
        self.attributes: dict[str, str] | None = None

    def session(self, **fields: Any) -> _Session:
        """Add and return a new session."""
        s = _Session(**fields)
        self.sessions.append(s)
        return s


def _render_participant(p: _Participant, now: int, with_attributes: bool) -> Json | None:
    """Render a participant as of now (None when none of its sessions has started)."""
    sessions = [r for r in (_render_session(s, now) for s in p.sessions) if r is not None]
    if not sessions:
        return None
    out = dict(p.fields)
    if with_attributes and p.attributes:
        out["attributes"] = dict(p.attributes)
    out["sessions"] = sessions
    return out


class _Builder:
    """Assemble all participants of one conversation from its skeleton."""

    def __init__(self, pools: Pools, skel: Skeleton, rng: Rng, start: int) -> None:
        self.pools = pools
        self.k = skel
        self.rng = rng
        self.start = start
        self.participants: list[_Participant] = []
        self.queues: list[Queue] = []
        self.users: list[User] = []
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        self.customer_name = f"{first} {last}"
        self.customer_phone = f"tel:+1{rng.randint(2012000000, 9899999999)}"
        self.customer_email = (
            f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
        )
        self.dnis = "tel:" + rng.choice(pools.dnis_numbers)
        self.edge_id = rng.choice(pools.edge_ids)
        self.external_contact_id = rng.uuid() if rng.chance(0.3) else None
        self.external_org_id = rng.choice(pools.external_organization_ids) if rng.chance(0.1) else None

    # -- participants -----------------------------------------------------------------------
    def participant(self, purpose: str, name: str | None, **fields: Any) -> _Participant:
        """Add a participant with a fresh id."""
        p = _Participant(participantId=self.rng.uuid(), participantName=name, purpose=purpose, **fields)
        self.participants.append(p)
        return p

    def customer(self) -> _Participant:
        """Add the customer participant (with the attributes only the jobs API returns)."""
        p = self.participant(
            "customer",
            self.customer_name,
            externalContactId=self.external_contact_id,
            externalOrganizationId=self.external_org_id,
        )
        rng = self.rng
        if rng.chance(0.85):
            p.attributes = {
                "ivr.Language": rng.choice(("en-US", "en-US", "en-US", "es-US", "fr-CA")),
                "ivr.Intent": rng.choice(INTENTS),
                "customer.Tier": rng.choice(TIERS),
                "crm.AccountId": f"A{rng.randint(100000, 999999)}",
            }
        return p

    def agent(self, queue: Queue) -> tuple[_Participant, User]:
        """Add an agent participant for a user picked from the pool."""
        user = self.rng.choice(self.pools.users)
        self.users.append(user)
        p = self.participant("agent", user.name, userId=user.id, teamId=user.team_id)
        return p, user

    def acd(self, queue: Queue) -> _Participant:
        """Add an ACD participant for a queue."""
        self.queues.append(queue)
        return self.participant("acd", queue.name)

    def pick_queue(self, digital: bool) -> Queue:
        """Pick a queue suited to the media."""
        return self.rng.choice(self.pools.digital_queues if digital else self.pools.voice_queues)

    def wrap_up(self) -> tuple[str, str | None]:
        """Pick a wrap-up code and maybe a note."""
        code = self.rng.choice(self.pools.wrap_up_codes)[0]
        note = self.rng.choice(WRAP_UP_NOTES) if self.rng.chance(0.3) else None
        return code, note

    # -- agent handling ----------------------------------------------------------------------
    def handle(
        self,
        agent: _Session,
        customer: _Session | None,
        queue: Queue,
        queue_entry: int,
        alert: int,
        answer: int,
        talk_end: int,
        acw: int,
        held: int,
        hold_at: float,
        agent_disconnect: str,
    ) -> None:
        """Add alert, interact, hold and wrap-up segments and their metrics to an agent session."""
        qid = queue.id
        agent.seg("alert", alert, answer, queueId=qid)
        agent.metric("tAlert", answer - alert, answer).metric("tAnswered", answer - queue_entry, answer)
        agent.metric("nConnected", 1, answer)
        if held:
            h1 = answer + int((talk_end - answer - held) * hold_at)
            h2 = h1 + held
            agent.seg("interact", answer, h1, queueId=qid)
            agent.seg("hold", h1, h2, queueId=qid)
            agent.seg("interact", h2, talk_end, queueId=qid, disconnectType=agent_disconnect)
            agent.metric("tHeld", held, h2).metric("tHeldComplete", held, h2)
            if customer is not None:
                customer.seg("hold", h1, h2, queueId=qid)
        else:
            agent.seg("interact", answer, talk_end, queueId=qid, disconnectType=agent_disconnect)
        talk = talk_end - answer - held
        agent.metric("tTalk", talk, talk_end).metric("tTalkComplete", talk, talk_end)
        code, note = self.wrap_up()
        acw_end = talk_end + acw
        agent.seg("wrapup", talk_end, acw_end, queueId=qid, wrapUpCode=code, wrapUpNote=note)
        agent.metric("tAcw", acw, acw_end).metric("tHandle", talk + held + acw, acw_end)

    def acd_wait(self, acd: _Session, queue: Queue, entry: int, leave: int, answered: bool) -> None:
        """Add the ACD waiting segment and its metrics."""
        acd.seg("interact", entry, leave, queueId=queue.id, disconnectType="transfer" if answered else "peer")
        acd.metric("nOffered", 1, entry).metric("tAcd", leave - entry, leave)
        if not answered:
            acd.metric("tAbandon", leave - entry, leave)

    def customer_interact(self, session: _Session, start: int, end: int, disconnect: str) -> None:
        """Add customer interact segments over [start, end) around any hold already added."""
        holds = sorted((s[1], s[2]) for s in session.segments if s[0] == "hold")
        cursor = start
        for h1, h2 in holds:
            session.seg("interact", cursor, h1)
            cursor = h2
        session.seg("interact", cursor, end, disconnectType=disconnect)
        session.segments.sort(key=lambda s: s[1])


def _build_voice_inbound(b: _Builder) -> None:
    """Inbound voice: IVR, then maybe queue, agent(s), transfers."""
    k, t0, rng = b.k, b.start, b.rng
    cust = b.customer().session(
        mediaType="voice",
        direction="inbound",
        ani=b.customer_phone,
        dnis=b.dnis,
        sessionDnis=b.dnis,
        edgeId=b.edge_id,
        provider="Edge",
        sessionId=rng.uuid(),
        requestedRoutings=None,
    )
    flow_id, flow_name = rng.choice(b.pools.flows[:3])
    t1 = t0 + k.ivr
    queue = b.pick_queue(digital=False)
    ivr_p = b.participant("ivr", flow_name)
    ivr = ivr_p.session(
        mediaType="voice",
        direction="inbound",
        ani=b.customer_phone,
        dnis=b.dnis,
        sessionDnis=b.dnis,
        edgeId=b.edge_id,
        sessionId=rng.uuid(),
        remote=b.customer_name,
        flow={
            "flowId": flow_id,
            "flowName": flow_name,
            "flowType": "INBOUNDCALL",
            "flowVersion": "12.0",
            "entryType": "dnis",
            "entryReason": b.dnis,
            "exitReason": "DISCONNECT" if k.scenario == "ivr_only" else "TRANSFER",
            "transferType": None if k.scenario == "ivr_only" else "ACD",
            "transferTargetName": None if k.scenario == "ivr_only" else queue.name,
            "transferTargetAddress": None if k.scenario == "ivr_only" else queue.id,
            "startingLanguage": "en-us",
            "endingLanguage": "en-us",
        },
    )
    ivr.fields["flow"] = {key: v for key, v in ivr.fields["flow"].items() if v is not None}
    ivr.seg("ivr", t0, t1, disconnectType="peer" if k.scenario == "ivr_only" else "transfer")
    ivr.metric("tIvr", k.ivr, t1)
    if k.scenario == "ivr_only":
        b.customer_interact(cust, t0, t1, "endpoint")
        return
    acd = b.acd(queue).session(
        mediaType="voice",
        direction="inbound",
        ani=b.customer_phone,
        dnis=b.dnis,
        sessionId=rng.uuid(),
        requestedRoutings=["Standard"],
        remote=b.customer_name,
    )
    if k.scenario == "abandoned":
        t_ab = t1 + k.wait
        b.acd_wait(acd, queue, t1, t_ab, answered=False)
        b.customer_interact(cust, t0, t_ab, "endpoint")
        return
    answer = t1 + k.wait
    alert = answer - k.alert
    talk_end = answer + k.talk
    b.acd_wait(acd, queue, t1, answer, answered=True)
    acd.fields["usedRouting"] = "Standard"
    agent_p, user = b.agent(queue)
    acd.fields["selectedAgentId"] = user.id
    agent = agent_p.session(
        mediaType="voice",
        direction="inbound",
        ani=b.customer_phone,
        dnis=b.dnis,
        sessionId=rng.uuid(),
        remote=b.customer_name,
        edgeId=b.edge_id,
        usedRouting="Standard",
        requestedRoutings=["Standard"],
    )
    if k.scenario == "answered":
        customer_hangs_up = rng.chance(0.6)
        b.handle(
            agent,
            cust,
            queue,
            t1,
            alert,
            answer,
            talk_end,
            k.acw,
            k.held,
            k.hold_at,
            "peer" if customer_hangs_up else "client",
        )
        b.customer_interact(cust, t0, talk_end, "endpoint" if customer_hangs_up else "peer")
        return
    # transfers: agent 1 hands over at talk_end
    b.handle(agent, cust, queue, t1, alert, answer, talk_end, k.acw, k.held, k.hold_at, "transfer")
    agent.metric("nTransferred", 1, talk_end).metric("nBlindTransferred", 1, talk_end)
    if k.scenario == "external_transfer":
        end = talk_end + k.talk2
        ext = b.participant("external", f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")
        ext_number = f"tel:+1{rng.randint(2012000000, 9899999999)}"
        ext.session(
            mediaType="voice",
            direction="outbound",
            ani=b.dnis,
            dnis=ext_number,
            sessionId=rng.uuid(),
            edgeId=b.edge_id,
        ).seg("interact", talk_end, end, disconnectType="peer")
        b.customer_interact(cust, t0, end, "endpoint")
        return
    queue2 = b.pick_queue(digital=False)
    acd2 = b.acd(queue2).session(
        mediaType="voice",
        direction="inbound",
        ani=b.customer_phone,
        dnis=b.dnis,
        sessionId=rng.uuid(),
        requestedRoutings=["Standard"],
        usedRouting="Standard",
        remote=b.customer_name,
    )
    answer2 = talk_end + k.wait2
    b.acd_wait(acd2, queue2, talk_end, answer2, answered=True)
    agent2_p, user2 = b.agent(queue2)
    acd2.fields["selectedAgentId"] = user2.id
    agent2 = agent2_p.session(
        mediaType="voice",
        direction="inbound",
        ani=b.customer_phone,
        dnis=b.dnis,
        sessionId=rng.uuid(),
        remote=b.customer_name,
        edgeId=b.edge_id,
    )
    end2 = answer2 + k.talk2
    b.handle(agent2, None, queue2, talk_end, answer2 - k.alert2, answer2, end2, k.acw2, 0, 0.0, "peer")
    b.customer_interact(cust, t0, end2, "endpoint")


def _build_voice_outbound(b: _Builder) -> None:
    """Agent-initiated outbound call to an external party."""
    k, t0, rng = b.k, b.start, b.rng
    queue = b.pick_queue(digital=False)
    agent_p, _user = b.agent(queue)
    b.queues.append(queue)
    dial_end = t0 + k.dial
    agent = agent_p.session(
        mediaType="voice",
        direction="outbound",
        ani=b.dnis,
        dnis=b.customer_phone,
        sessionId=rng.uuid(),
        edgeId=b.edge_id,
        remote=b.customer_name,
    )
    agent.metric("nOutbound", 1, t0)
    contact = t0 + min(k.dial // 3, 4000)
    agent.seg("dialing", t0, contact, queueId=queue.id)
    ext = b.participant("external", b.customer_name, externalContactId=b.external_contact_id)
    ext_s = ext.session(
        mediaType="voice",
        direction="outbound",
        ani=b.dnis,
        dnis=b.customer_phone,
        sessionId=rng.uuid(),
        edgeId=b.edge_id,
    )
    if k.scenario == "unanswered":
        agent.seg("contacting", contact, dial_end, queueId=queue.id, disconnectType="client")
        ext_s.seg("contacting", contact, dial_end, disconnectType="peer")
        agent.metric("tContacting", dial_end - contact, dial_end).metric("tDialing", contact - t0, contact)
        return
    agent.seg("contacting", contact, dial_end, queueId=queue.id)
    agent.metric("tContacting", dial_end - contact, dial_end).metric("tDialing", contact - t0, contact)
    talk_end = dial_end + k.talk
    agent.metric("nConnected", 1, dial_end)
    if k.held:
        h1 = dial_end + int((k.talk - k.held) * k.hold_at)
        h2 = h1 + k.held
        agent.seg("interact", dial_end, h1, queueId=queue.id)
        agent.seg("hold", h1, h2, queueId=queue.id)
        agent.seg("interact", h2, talk_end, queueId=queue.id, disconnectType="client")
        agent.metric("tHeld", k.held, h2).metric("tHeldComplete", k.held, h2)
        ext_s.seg("interact", dial_end, h1).seg("hold", h1, h2).seg(
            "interact", h2, talk_end, disconnectType="peer"
        )
    else:
        agent.seg("interact", dial_end, talk_end, queueId=queue.id, disconnectType="client")
        ext_s.seg("interact", dial_end, talk_end, disconnectType="peer")
    talk = k.talk - k.held
    agent.metric("tTalk", talk, talk_end).metric("tTalkComplete", talk, talk_end)
    code, note = b.wrap_up()
    acw_end = talk_end + k.acw
    agent.seg("wrapup", talk_end, acw_end, queueId=queue.id, wrapUpCode=code, wrapUpNote=note)
    agent.metric("tAcw", k.acw, acw_end).metric("tHandle", talk + k.held + k.acw, acw_end)


def _build_callback(b: _Builder) -> None:
    """A scheduled callback: waits in queue, an agent previews it and dials the customer."""
    k, t0, rng = b.k, b.start, b.rng
    queue = b.pick_queue(digital=False)
    cust_p = b.customer()
    cust = cust_p.session(
        mediaType="callback",
        direction="inbound",
        sessionId=rng.uuid(),
        callbackNumbers=[b.customer_phone],
        callbackUserName=b.customer_name,
        callbackScheduledTime=iso(t0),
        requestedRoutings=["Standard"],
    )
    acd = b.acd(queue).session(
        mediaType="callback",
        direction="inbound",
        sessionId=rng.uuid(),
        callbackNumbers=[b.customer_phone],
        callbackUserName=b.customer_name,
        requestedRoutings=["Standard"],
        usedRouting="Standard",
    )
    answer = t0 + k.wait
    b.acd_wait(acd, queue, t0, answer, answered=True)
    agent_p, user = b.agent(queue)
    acd.fields["selectedAgentId"] = user.id
    agent_cb = agent_p.session(
        mediaType="callback",
        direction="outbound",
        sessionId=rng.uuid(),
        callbackNumbers=[b.customer_phone],
        callbackUserName=b.customer_name,
    )
    agent_cb.seg("alert", answer - k.alert, answer, queueId=queue.id)
    agent_cb.metric("tAlert", k.alert, answer).metric("tAnswered", k.wait, answer)
    dial_end = answer + k.dial
    agent_cb.seg("interact", answer, dial_end, queueId=queue.id, disconnectType="transfer")
    voice = agent_p.session(
        mediaType="voice",
        direction="outbound",
        ani=b.dnis,
        dnis=b.customer_phone,
        sessionId=rng.uuid(),
        edgeId=b.edge_id,
        remote=b.customer_name,
    )
    voice.seg("dialing", answer, dial_end, queueId=queue.id)
    voice.metric("nOutbound", 1, answer)
    if k.scenario == "unanswered":
        cust.seg("interact", t0, dial_end, disconnectType="peer")
        voice.segments[-1][3]["disconnectType"] = "client"
        return
    talk_end = dial_end + k.talk
    cust.seg("interact", t0, talk_end, disconnectType="endpoint")
    voice.seg("interact", dial_end, talk_end, queueId=queue.id, disconnectType="peer")
    voice.metric("nConnected", 1, dial_end)
    voice.metric("tTalk", k.talk, talk_end).metric("tTalkComplete", k.talk, talk_end)
    code, note = b.wrap_up()
    acw_end = talk_end + k.acw
    voice.seg("wrapup", talk_end, acw_end, queueId=queue.id, wrapUpCode=code, wrapUpNote=note)
    voice.metric("tAcw", k.acw, acw_end).metric("tHandle", k.talk + k.acw, acw_end)


def _build_digital(b: _Builder) -> None:
    """Chat, message and email: queue, agent, maybe transfer."""
    k, t0, rng = b.k, b.start, b.rng
    media = k.media
    queue = b.pick_queue(digital=True)
    addr: Json = {}
    if media == "email":
        addr = {"addressFrom": b.customer_email, "addressTo": rng.choice(SUPPORT_ADDRESSES)}
    elif media == "message":
        addr = {
            "addressFrom": b.customer_phone.removeprefix("tel:"),
            "addressTo": b.dnis.removeprefix("tel:"),
        }
    cust = b.customer().session(mediaType=media, direction="inbound", sessionId=rng.uuid(), **addr)
    acd = b.acd(queue).session(
        mediaType=media, direction="inbound", sessionId=rng.uuid(), requestedRoutings=["Standard"], **addr
    )
    if k.scenario == "abandoned":
        leave = t0 + k.wait
        b.acd_wait(acd, queue, t0, leave, answered=False)
        cust.seg("interact", t0, leave, disconnectType="endpoint")
        return
    answer = t0 + k.wait
    b.acd_wait(acd, queue, t0, answer, answered=True)
    acd.fields["usedRouting"] = "Standard"
    agent_p, user = b.agent(queue)
    acd.fields["selectedAgentId"] = user.id
    agent = agent_p.session(mediaType=media, direction="inbound", sessionId=rng.uuid(), **addr)
    talk_end = answer + k.talk
    if k.scenario == "answered":
        b.handle(agent, None, queue, t0, answer - k.alert, answer, talk_end, k.acw, 0, 0.0, "client")
        cust.seg("interact", t0, talk_end, disconnectType="peer")
        return
    b.handle(agent, None, queue, t0, answer - k.alert, answer, talk_end, k.acw, 0, 0.0, "transfer")
    agent.metric("nTransferred", 1, talk_end).metric("nBlindTransferred", 1, talk_end)
    queue2 = b.pick_queue(digital=True)
    acd2 = b.acd(queue2).session(
        mediaType=media,
        direction="inbound",
        sessionId=rng.uuid(),
        requestedRoutings=["Standard"],
        usedRouting="Standard",
        **addr,
    )
    answer2 = talk_end + k.wait2
    b.acd_wait(acd2, queue2, talk_end, answer2, answered=True)
    agent2_p, user2 = b.agent(queue2)
    acd2.fields["selectedAgentId"] = user2.id
    agent2 = agent2_p.session(mediaType=media, direction="inbound", sessionId=rng.uuid(), **addr)
    end2 = answer2 + k.talk2
    b.handle(agent2, None, queue2, talk_end, answer2 - k.alert2, answer2, end2, k.acw2, 0, 0.0, "client")
    cust.seg("interact", t0, end2, disconnectType="peer")


def build_conversation(
    pools: Pools, day: DayVolume, i: int, now_ms: int, with_attributes: bool = False
) -> Json | None:
    """Return conversation i of a day as the details API returns it at now_ms (None if not started yet)."""
    start = day.start_of(i)
    if start >= now_ms:
        return None
    skel = skeleton_of(day, i)
    end = start + skel.duration()
    rng = Rng(derive(day.key, i, 3))
    conversation_id = Rng(derive(day.key, i, 4)).uuid()
    b = _Builder(pools, skel, rng, start)
    if skel.media == "voice":
        if skel.direction == "outbound":
            _build_voice_outbound(b)
        else:
            _build_voice_inbound(b)
    elif skel.media == "callback":
        _build_callback(b)
    else:
        _build_digital(b)
    ended = end <= now_ms
    conv: Json = {"conversationId": conversation_id, "conversationStart": iso(start)}
    if ended:
        conv["conversationEnd"] = iso(end)
    outbound = skel.direction == "outbound"
    conv["conversationInitiator"] = "agent" if outbound else "customer"
    conv["customerParticipation"] = True
    divisions = sorted({q.division_id for q in b.queues}) or [pools.division_ids[0]]
    conv["divisionIds"] = divisions
    if rng.chance(0.1):
        conv["externalTag"] = f"CRM-{rng.randint(10000, 99999)}"
    if ended and skel.media in ("voice", "callback") and b.users:
        mos = round(rng.uniform(3.6, 4.6), 4)
        conv["mediaStatsMinConversationMos"] = mos
        conv["mediaStatsMinConversationRFactor"] = round(mos * 20.0 - 0.5, 4)
    conv["originatingDirection"] = "outbound" if outbound else "inbound"
    if skel.scenario == "ivr_only":
        conv["selfServed"] = True
    participants = [
        r for r in (_render_participant(p, now_ms, with_attributes) for p in b.participants) if r is not None
    ]
    conv["participants"] = participants
    return conv
