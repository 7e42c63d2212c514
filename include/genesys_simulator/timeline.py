"""The timing skeleton of one conversation: media, scenario and phase durations, cheap to compute."""

from __future__ import annotations

from include.genesys_simulator.rng import Rng, cumulative

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
# No conversation lasts longer than this (first segment start to last segment end, wrap-up included).
MAX_DURATION_MS = 6 * HOUR

MEDIA = ("voice", "callback", "chat", "message", "email")
MEDIA_CUM = cumulative((0.58, 0.05, 0.10, 0.15, 0.12))

INBOUND_VOICE = ("ivr_only", "abandoned", "answered", "transferred", "external_transfer")
INBOUND_VOICE_CUM = cumulative((0.12, 0.08, 0.70, 0.08, 0.02))
DIGITAL = ("abandoned", "answered", "transferred")
DIGITAL_CUM = cumulative((0.07, 0.88, 0.05))
EMAIL = ("answered", "transferred")
EMAIL_CUM = cumulative((0.95, 0.05))


def _clip(value: float, low: int, high: int) -> int:
    """Return value as int ms, clipped to [low, high]."""
    return max(low, min(high, int(value)))


class Skeleton:
    """Phase durations (ms) of one conversation; all other content hangs off these times."""

    __slots__ = (
        "acw",
        "acw2",
        "alert",
        "alert2",
        "dial",
        "direction",
        "held",
        "hold_at",
        "ivr",
        "media",
        "scenario",
        "talk",
        "talk2",
        "wait",
        "wait2",
    )

    def __init__(self, rng: Rng) -> None:
        media = rng.weighted(MEDIA, MEDIA_CUM)
        self.media = media
        self.direction = "inbound"
        self.ivr = self.wait = self.alert = self.talk = self.held = self.acw = 0
        self.hold_at = 0.0
        self.wait2 = self.alert2 = self.talk2 = self.acw2 = self.dial = 0
        if media == "voice":
            if rng.chance(0.15):
                self.direction = "outbound"
                self.scenario = "answered" if rng.chance(0.8) else "unanswered"
                self.dial = rng.randint(8 * SECOND, 35 * SECOND)
                self.talk = _clip(rng.lognormal(4 * MINUTE, 0.7), 15 * SECOND, 75 * MINUTE)
                self.acw = _clip(rng.lognormal(40 * SECOND, 0.6), 5 * SECOND, 15 * MINUTE)
                self._hold(rng)
                return
            self.scenario = rng.weighted(INBOUND_VOICE, INBOUND_VOICE_CUM)
            self.ivr = _clip(rng.lognormal(45 * SECOND, 0.5), 5 * SECOND, 10 * MINUTE)
            if self.scenario == "ivr_only":
                return
            if self.scenario == "abandoned":
                self.wait = _clip(rng.lognormal(40 * SECOND, 1.0), 2 * SECOND, 30 * MINUTE)
                return
            self.wait = _clip(rng.lognormal(60 * SECOND, 1.0), 6 * SECOND, 45 * MINUTE)
            self.alert = min(rng.randint(3 * SECOND, 15 * SECOND), self.wait // 2)
            self.acw = _clip(rng.lognormal(45 * SECOND, 0.6), 5 * SECOND, 15 * MINUTE)
            if self.scenario == "answered":
                self.talk = _clip(rng.lognormal(5 * MINUTE, 0.7), 20 * SECOND, 90 * MINUTE)
            else:
                self.talk = _clip(rng.lognormal(2 * MINUTE, 0.6), 20 * SECOND, 60 * MINUTE)
                self.talk2 = _clip(rng.lognormal(5 * MINUTE, 0.7), 20 * SECOND, 90 * MINUTE)
                if self.scenario == "transferred":
                    self.wait2 = _clip(rng.lognormal(30 * SECOND, 0.8), 6 * SECOND, 30 * MINUTE)
                    self.alert2 = min(rng.randint(3 * SECOND, 12 * SECOND), self.wait2 // 2)
                    self.acw2 = _clip(rng.lognormal(45 * SECOND, 0.6), 5 * SECOND, 15 * MINUTE)
            self._hold(rng)
            return
        if media == "callback":
            self.scenario = "answered" if rng.chance(0.9) else "unanswered"
            self.wait = _clip(rng.lognormal(10 * MINUTE, 1.0), 30 * SECOND, 3 * HOUR)
            self.alert = min(rng.randint(5 * SECOND, 40 * SECOND), self.wait // 2)
            self.dial = rng.randint(6 * SECOND, 25 * SECOND)
            self.talk = _clip(rng.lognormal(5 * MINUTE, 0.7), 20 * SECOND, 60 * MINUTE)
            self.acw = _clip(rng.lognormal(45 * SECOND, 0.6), 5 * SECOND, 15 * MINUTE)
            return
        if media == "email":
            self.scenario = rng.weighted(EMAIL, EMAIL_CUM)
            self.wait = _clip(rng.lognormal(45 * MINUTE, 1.0), 1 * MINUTE, 4 * HOUR)
            self.alert = min(rng.randint(5 * SECOND, 30 * SECOND), self.wait // 2)
            self.talk = _clip(rng.lognormal(6 * MINUTE, 0.6), 1 * MINUTE, 45 * MINUTE)
            self.acw = _clip(rng.lognormal(30 * SECOND, 0.6), 5 * SECOND, 10 * MINUTE)
            if self.scenario == "transferred":
                self.wait2 = _clip(rng.lognormal(20 * MINUTE, 0.8), 1 * MINUTE, 40 * MINUTE)
                self.alert2 = min(rng.randint(5 * SECOND, 30 * SECOND), self.wait2 // 2)
                self.talk2 = _clip(rng.lognormal(5 * MINUTE, 0.6), 1 * MINUTE, 20 * MINUTE)
                self.acw2 = _clip(rng.lognormal(30 * SECOND, 0.6), 5 * SECOND, 10 * MINUTE)
            return
        # chat and message
        self.scenario = rng.weighted(DIGITAL, DIGITAL_CUM)
        slow = media == "message"
        self.wait = _clip(
            rng.lognormal((3 if slow else 1) * MINUTE, 1.2 if slow else 1.0),
            5 * SECOND,
            (2 * HOUR) if slow else 30 * MINUTE,
        )
        if self.scenario == "abandoned":
            return
        self.alert = min(rng.randint(3 * SECOND, 20 * SECOND), self.wait // 2)
        self.talk = _clip(rng.lognormal((10 if slow else 8) * MINUTE, 0.7), 1 * MINUTE, 90 * MINUTE)
        self.acw = _clip(rng.lognormal(30 * SECOND, 0.6), 5 * SECOND, 10 * MINUTE)
        if self.scenario == "transferred":
            self.wait2 = _clip(rng.lognormal(60 * SECOND, 0.8), 5 * SECOND, 20 * MINUTE)
            self.alert2 = min(rng.randint(3 * SECOND, 15 * SECOND), self.wait2 // 2)
            self.talk2 = _clip(rng.lognormal(6 * MINUTE, 0.6), 1 * MINUTE, 45 * MINUTE)
            self.acw2 = _clip(rng.lognormal(30 * SECOND, 0.6), 5 * SECOND, 10 * MINUTE)

    def _hold(self, rng: Rng) -> None:
        """Maybe put the customer on hold for part of the first agent's talk time."""
        if self.scenario in ("answered", "transferred", "external_transfer") and rng.chance(0.25):
            self.held = int(self.talk * rng.uniform(0.1, 0.35))
            self.hold_at = rng.uniform(0.2, 0.6)

    def duration(self) -> int:
        """Return the conversation's duration (ms), first segment start to last segment end."""
        s = self.scenario
        if self.media == "voice" and self.direction == "outbound":
            if s == "unanswered":
                return self.dial
            return self.dial + self.talk + self.acw
        if self.media == "callback":
            if s == "unanswered":
                return self.wait + self.dial
            return self.wait + self.dial + self.talk + self.acw
        if s == "ivr_only":
            return self.ivr
        if s == "abandoned":
            return self.ivr + self.wait
        first = self.ivr + self.wait + self.talk
        if s == "answered":
            return first + self.acw
        if s == "external_transfer":
            return max(first + self.acw, first + self.talk2)
        # transferred: agent 1 wraps up while the customer waits for agent 2
        return max(first + self.acw, first + self.wait2 + self.talk2 + self.acw2)
