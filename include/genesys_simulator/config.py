"""Simulator configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from include.genesys_simulator.faults_profile import FaultProfile


@dataclass
class SimulatorConfig:
    """Everything that shapes the simulated Genesys Cloud org (data, limits, clock, faults)."""

    seed: int = 7
    conversations_per_day: int = 2000  # nominal weekday volume; weekends are lower (see docs/simulator.md)
    rate_limit_per_minute: int | None = 300  # 0 or None disables rate limiting
    rate_limit_scope: str = "token"  # "token": a budget per access token; "client": one per OAuth client
    token_ttl_seconds: int = 86400
    client_id: str = "demo-client"
    client_secret: str = "demo-secret"
    volume_overrides: dict[date, int] = field(default_factory=dict)  # exact volume per UTC day
    now: datetime | None = None  # None: real clock; a datetime freezes the simulated now
    faults: FaultProfile | str | None = None
    max_interval_days: int = 7  # details query interval maximum (see docs/simulator.md)
    job_fulfill_seconds: float = 0.5  # time a details job stays QUEUED before FULFILLED
    job_data_lag_seconds: int = 0  # dataAvailabilityDate = now - lag
    analytics_permission: bool = True  # False: the client's role lacks it; every details endpoint answers 403
    weekday_volume: bool = True  # False: every day has exactly conversations_per_day
    response_cache_mb: int = 0  # > 0: keep rendered pages of settled intervals (see page_cache.py)

    def __post_init__(self) -> None:
        if self.rate_limit_scope not in ("token", "client"):
            raise ValueError(f"rate_limit_scope must be 'token' or 'client', got {self.rate_limit_scope!r}")
