"""Fault profiles: how often the simulator misbehaves, deterministically from the seed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class FaultProfile:
    """Per-request fault probabilities for API calls (each request draws once per kind)."""

    name: str = "custom"
    burst_429_probability: float = 0.0  # chance a request starts a 429 burst
    burst_429_length: int = 3  # requests answered 429 in one burst (including the first)
    burst_429_retry_after: int = 1  # Retry-After seconds sent with burst 429s
    error_500_probability: float = 0.0
    error_502_probability: float = 0.0
    error_503_probability: float = 0.0
    error_504_probability: float = 0.0
    slow_probability: float = 0.0
    slow_seconds: float = 2.0
    reset_probability: float = 0.0  # close the socket without any response
    truncate_probability: float = 0.0  # send headers and half the body, then close
    revoke_probability: float = 0.0  # revoke every token before handling the request (it gets 401)
    token_error_probability: float = 0.0  # /oauth/token answers 503
    job_failure_probability: float = 0.0  # an async job ends FAILED

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultProfile:
        """Build a profile from a dict, starting from a named profile when "name" names one."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault profile fields: {sorted(unknown)}")
        base = PROFILES.get(str(data.get("name", "")), FaultProfile())
        return replace(base, **data)

    @property
    def active(self) -> bool:
        """Return whether any fault can happen."""
        return any(getattr(self, f.name) > 0 for f in fields(self) if f.name.endswith("_probability"))


PROFILES: dict[str, FaultProfile] = {
    "none": FaultProfile(name="none"),
    "mild": FaultProfile(
        name="mild",
        burst_429_probability=0.02,
        error_503_probability=0.01,
        error_504_probability=0.01,
        slow_probability=0.02,
        slow_seconds=0.5,
    ),
    "flaky": FaultProfile(
        name="flaky",
        burst_429_probability=0.04,
        error_500_probability=0.02,
        error_502_probability=0.02,
        error_503_probability=0.02,
        error_504_probability=0.02,
        slow_probability=0.03,
        slow_seconds=1.0,
        reset_probability=0.02,
        truncate_probability=0.02,
        job_failure_probability=0.1,
    ),
    "hostile": FaultProfile(
        name="hostile",
        burst_429_probability=0.08,
        burst_429_length=4,
        error_500_probability=0.04,
        error_502_probability=0.04,
        error_503_probability=0.04,
        error_504_probability=0.04,
        slow_probability=0.05,
        slow_seconds=2.0,
        reset_probability=0.04,
        truncate_probability=0.04,
        revoke_probability=0.02,
        token_error_probability=0.05,
        job_failure_probability=0.25,
    ),
    "rate_limited": FaultProfile(name="rate_limited", burst_429_probability=0.15, burst_429_length=5),
    "server_errors": FaultProfile(
        name="server_errors",
        error_500_probability=0.05,
        error_502_probability=0.05,
        error_503_probability=0.05,
        error_504_probability=0.05,
    ),
    "slow": FaultProfile(name="slow", slow_probability=0.3, slow_seconds=2.0),
    "resets": FaultProfile(name="resets", reset_probability=0.1),
    "truncated": FaultProfile(name="truncated", truncate_probability=0.1),
    "revocation": FaultProfile(name="revocation", revoke_probability=0.05),
}


def resolve_profile(value: FaultProfile | str | dict[str, Any] | None) -> FaultProfile:
    """Turn a profile, a profile name, a dict or None into a FaultProfile."""
    if value is None:
        return PROFILES["none"]
    if isinstance(value, FaultProfile):
        return value
    if isinstance(value, str):
        try:
            return PROFILES[value]
        except KeyError:
            raise ValueError(f"unknown fault profile {value!r}; known: {sorted(PROFILES)}") from None
    return FaultProfile.from_dict(value)
