"""Daily volume and conversation start times: start_i = F^-1((i + u_i) / N), monotone in i."""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import UTC, date, datetime

from include.genesys_simulator.rng import derive, uniform_at

DAY_MS = 86_400_000
BIN_MS = 900_000  # 15-minute bins of the diurnal density
BINS = DAY_MS // BIN_MS
EPOCH_DAY = date(1970, 1, 1).toordinal()

# Relative volume per weekday (Monday first).
WEEKDAY_FACTORS = (1.08, 1.04, 1.0, 0.98, 0.92, 0.42, 0.30)


def _diurnal_weight(hour: float) -> float:
    """Return the relative arrival rate at an hour of the UTC day (morning and afternoon peaks)."""
    morning = math.exp(-((hour - 10.5) ** 2) / (2 * 2.2**2))
    afternoon = 0.8 * math.exp(-((hour - 15.0) ** 2) / (2 * 2.5**2))
    return 0.06 + morning + afternoon


def _build_cdf() -> list[float]:
    """Return the cumulative distribution of arrivals at each bin edge (BINS + 1 values)."""
    weights = [_diurnal_weight((b + 0.5) * BIN_MS / 3_600_000) for b in range(BINS)]
    total = sum(weights)
    cdf = [0.0]
    for w in weights:
        cdf.append(cdf[-1] + w / total)
    cdf[-1] = 1.0
    return cdf


CDF = _build_cdf()


def day_start_ms(day: date) -> int:
    """Return epoch milliseconds of a UTC day's midnight."""
    return (day.toordinal() - EPOCH_DAY) * DAY_MS


def day_of_ms(ms: int) -> date:
    """Return the UTC day containing an epoch-millisecond instant."""
    return date.fromordinal(EPOCH_DAY + ms // DAY_MS)


def ms_of(dt: datetime) -> int:
    """Return epoch milliseconds of an aware datetime (naive means UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def inverse_cdf_ms(p: float) -> int:
    """Return the offset into the day (ms) where the cumulative arrival fraction reaches p."""
    b = bisect_right(CDF, p) - 1
    if b >= BINS:
        b = BINS - 1
    lo, hi = CDF[b], CDF[b + 1]
    frac = (p - lo) / (hi - lo) if hi > lo else 0.0
    return min(DAY_MS - 1, int((b + frac) * BIN_MS))


def cdf_at_ms(offset_ms: int) -> float:
    """Return the cumulative arrival fraction at an offset into the day."""
    if offset_ms <= 0:
        return 0.0
    if offset_ms >= DAY_MS:
        return 1.0
    b, rem = divmod(offset_ms, BIN_MS)
    return CDF[b] + (CDF[b + 1] - CDF[b]) * rem / BIN_MS


class DayVolume:
    """Volume and start times of one simulated day."""

    __slots__ = ("count", "day", "key", "start_ms")

    def __init__(self, seed: int, day: date, count: int) -> None:
        self.day = day
        self.count = count
        self.key = derive(seed, day.toordinal())
        self.start_ms = day_start_ms(day)

    def start_of(self, i: int) -> int:
        """Return the conversationStart (epoch ms) of conversation i of the day."""
        h = (self.key + i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 32)) * 0xD6E8FEB86659FD93) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 32)) * 0xD6E8FEB86659FD93) & 0xFFFFFFFFFFFFFFFF
        p = (i + (h ^ (h >> 32)) * 5.421010862427522e-20) / self.count
        b = bisect_right(CDF, p) - 1
        lo = CDF[b]
        offset = int((b + (p - lo) / (CDF[b + 1] - lo)) * BIN_MS)
        return self.start_ms + (offset if offset < DAY_MS else DAY_MS - 1)

    def first_at_or_after(self, ms: int) -> int:
        """Return the smallest index whose start is >= ms (count when none)."""
        n = self.count
        if n == 0 or ms <= self.start_ms:
            return 0
        if ms >= self.start_ms + DAY_MS:
            return n
        guess = int(cdf_at_ms(ms - self.start_ms) * n)
        lo, hi = max(0, guess - 2), min(n, guess + 2)
        # Widen until the bracket is valid (it almost always is at once).
        while lo > 0 and self.start_of(lo) >= ms:
            lo = max(0, lo - 16)
        while hi < n and self.start_of(hi) < ms:
            hi = min(n, hi + 16)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.start_of(mid) < ms:
                lo = mid + 1
            else:
                hi = mid
        return lo


def day_count(seed: int, day: date, per_day: int, overrides: dict[date, int], weekday_volume: bool) -> int:
    """Return the number of conversations that start on a UTC day."""
    if day in overrides:
        return max(0, int(overrides[day]))
    if not weekday_volume:
        return max(0, per_day)
    jitter = 0.94 + 0.12 * uniform_at(derive(seed, day.toordinal(), 0xDA7), 1)
    return max(0, round(per_day * WEEKDAY_FACTORS[day.weekday()] * jitter))
