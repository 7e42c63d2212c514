"""Counter-based deterministic randomness: every draw is a pure function of its key."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_INV_2_64 = 1.0 / 18446744073709551616.0


def mix64(x: int) -> int:
    """Return the splitmix64 finaliser of x (a well-mixed 64-bit integer)."""
    x = (x + _GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def derive(*parts: int) -> int:
    """Combine integers into one 64-bit key."""
    key = 0x2545F4914F6CDD1D
    for part in parts:
        key = mix64(key ^ (part & MASK64))
    return key


def uniform_at(key: int, stream: int) -> float:
    """Return a float in [0, 1) for (key, stream)."""
    return mix64(key ^ ((stream * _GOLDEN) & MASK64)) * _INV_2_64


class Rng:
    """A small deterministic generator: draw n of key k is mix64(k, n)."""

    __slots__ = ("_counter", "_key")

    def __init__(self, key: int) -> None:
        self._key = key
        self._counter = 0

    def random(self) -> float:
        """Return the next float in [0, 1)."""
        self._counter += 1
        return mix64(self._key ^ ((self._counter * _GOLDEN) & MASK64)) * _INV_2_64

    def bits(self) -> int:
        """Return the next 64 random bits."""
        self._counter += 1
        return mix64(self._key ^ ((self._counter * _GOLDEN) & MASK64))

    def randint(self, low: int, high: int) -> int:
        """Return an integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def uniform(self, low: float, high: float) -> float:
        """Return a float in [low, high)."""
        return low + (high - low) * self.random()

    def chance(self, probability: float) -> bool:
        """Return True with the given probability."""
        return self.random() < probability

    def choice(self, items: Sequence[T]) -> T:
        """Return one item, uniformly."""
        return items[int(self.random() * len(items))]

    def weighted(self, items: Sequence[T], cumulative: Sequence[float]) -> T:
        """Return one item given cumulative weights ending in 1.0."""
        u = self.random()
        for item, edge in zip(items, cumulative, strict=True):
            if u < edge:
                return item
        return items[-1]

    def exponential(self, mean: float) -> float:
        """Return an exponential variate with the given mean."""
        return -mean * math.log(1.0 - self.random())

    def lognormal(self, median: float, sigma: float) -> float:
        """Return a log-normal variate with the given median (Box-Muller normal)."""
        u1 = 1.0 - self.random()
        u2 = self.random()
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        return median * math.exp(sigma * z)

    def uuid(self) -> str:
        """Return a random-looking version-4 UUID string."""
        value = (self.bits() << 64) | self.bits()
        return str(uuid.UUID(int=value, version=4))


def cumulative(weights: Sequence[float]) -> list[float]:
    """Turn weights into cumulative fractions ending in exactly 1.0."""
    total = float(sum(weights))
    acc = 0.0
    out: list[float] = []
    for weight in weights:
        acc += weight / total
        out.append(acc)
    out[-1] = 1.0
    return out
