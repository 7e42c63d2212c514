"""The simulated conversation store: which conversations an interval matches, lazily, O(page) per page."""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from include.genesys_simulator.conversation import build_conversation, end_of
from include.genesys_simulator.filters import matches
from include.genesys_simulator.pools import Pools, pools_for
from include.genesys_simulator.timeline import MAX_DURATION_MS
from include.genesys_simulator.volume import DAY_MS, DayVolume, day_count, day_of_ms, ms_of

Json = dict[str, Any]
NEVER_MS = 1 << 62
ENDS_CHUNK = 2048  # "now" for intervals whose conversations have all ended


@dataclass(frozen=True)
class Block:
    """A run of matching conversations of one day, in start order: an index range or an explicit list."""

    day: DayVolume
    indices: Sequence[int]


class _Lru(OrderedDict):
    """A small thread-unsafe LRU map (callers hold the dataset lock)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: Any, make: Callable[[], Any]) -> Any:
        """Return the cached value for key, computing it on a miss."""
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


def _to_ms(value: datetime | str | int) -> int:
    """Accept a datetime, an ISO-8601 string or epoch ms."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ms_of(value)


class Dataset:
    """Deterministic conversations for (seed, day); matching follows the details query interval semantics."""

    def __init__(
        self,
        seed: int,
        conversations_per_day: int,
        volume_overrides: dict[date, int] | None = None,
        weekday_volume: bool = True,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.seed = seed
        self.conversations_per_day = conversations_per_day
        self.volume_overrides = dict(volume_overrides or {})
        self.weekday_volume = weekday_volume
        self.pools: Pools = pools_for(seed)
        self._now_ms = now_ms or (lambda: NEVER_MS)
        self._lock = threading.Lock()
        self._days: dict[date, DayVolume] = {}
        self._early = _Lru(512)
        self._ends = _Lru(2048)  # chunks of conversationEnd values (8 bytes per conversation)
        self._materialized = _Lru(32)

    # -- volume --------------------------------------------------------------------------------
    def day(self, d: date) -> DayVolume:
        """Return the volume model of a UTC day."""
        with self._lock:
            dv = self._days.get(d)
            if dv is None:
                count = day_count(
                    self.seed, d, self.conversations_per_day, self.volume_overrides, self.weekday_volume
                )
                dv = DayVolume(self.seed, d, count)
                self._days[d] = dv
            return dv

    def day_count(self, d: date) -> int:
        """Return how many conversations start on a UTC day (ignoring the clock)."""
        return self.day(d).count

    def now_ms(self) -> int:
        """Return the simulated now (epoch ms)."""
        return self._now_ms()

    # -- matching --------------------------------------------------------------------------------
    def _running_at(self, dv: DayVolume, t: int) -> list[int]:
        """Return indices of day conversations that started before t and end after t (cached)."""

        def scan() -> list[int]:
            lo = dv.first_at_or_after(t - MAX_DURATION_MS)
            hi = dv.first_at_or_after(t)
            out: list[int] = []
            for chunk in range(lo // ENDS_CHUNK, (hi - 1) // ENDS_CHUNK + 1 if hi > lo else lo // ENDS_CHUNK):
                ends = self._chunk_ends(dv, chunk)
                base = chunk * ENDS_CHUNK
                first, last = max(lo, base), min(hi, base + len(ends))
                out.extend(i for i in range(first, last) if ends[i - base] > t)
            return out

        with self._lock:
            cached = self._early.get((dv.day, dv.count, t))
        if cached is not None:
            return cached
        result = scan()
        with self._lock:
            self._early.get_or((dv.day, dv.count, t), lambda: result)
        return result

    def _chunk_ends(self, dv: DayVolume, chunk: int) -> array:
        """Return the conversationEnd (ms) of a chunk of a day's indices, computed once and cached."""
        key = (dv.day, dv.count, chunk)
        with self._lock:
            cached = self._ends.get(key)
        if cached is not None:
            return cached
        first = chunk * ENDS_CHUNK
        ends = array("q", (end_of(dv, i) for i in range(first, min(dv.count, first + ENDS_CHUNK))))
        with self._lock:
            self._ends.get_or(key, lambda: ends)
        return ends

    def effective_now(self, start_ms: int, end_ms: int) -> int:
        """Return now, or NEVER_MS when every conversation the interval can match has ended."""
        now = self.now_ms()
        return NEVER_MS if now >= end_ms + MAX_DURATION_MS else now

    def blocks(self, start_ms: int, end_ms: int, now_ms: int, overlap: bool = False) -> list[Block]:
        """Return the matching conversations of [start, end) in conversationStart order.

        Details-query semantics (overlap=False): conversations that started on a UTC day the interval
        touches and overlap the interval. Jobs semantics (overlap=True): every conversation that overlaps.
        """
        if end_ms <= start_ms:
            return []
        first_day = day_of_ms((start_ms - MAX_DURATION_MS) if overlap else start_ms)
        last_day = day_of_ms(end_ms - 1)
        t = min(start_ms, now_ms)
        upper = min(end_ms, now_ms)
        out: list[Block] = []
        d = first_day
        while d <= last_day:
            dv = self.day(d)
            if dv.count:
                if t > dv.start_ms:
                    early = self._running_at(dv, t)
                    if early:
                        out.append(Block(dv, early))
                lo = dv.first_at_or_after(max(start_ms, dv.start_ms))
                hi = dv.first_at_or_after(upper) if upper > dv.start_ms else 0
                if hi > lo:
                    out.append(Block(dv, range(lo, hi)))
            d += timedelta(days=1)
        return out

    def materialized(
        self,
        key: Any,
        blocks: list[Block],
        now_ms: int,
        conversation_filters: list[Json] | None,
        segment_filters: list[Json] | None,
        order_by: str,
    ) -> list[Block]:
        """Return blocks reduced by filters and re-sorted by order_by (cached per query)."""
        with self._lock:
            cached = self._materialized.get(key)
        if cached is not None:
            return cached
        rows: list[tuple[str, DayVolume, int]] = []
        for block in blocks:
            for i in block.indices:
                conv = build_conversation(self.pools, block.day, i, now_ms)
                if conv is None or not matches(conv, conversation_filters, segment_filters):
                    continue
                rows.append((_sort_key(conv, order_by), block.day, i))
        if order_by != "conversationStart":
            rows.sort(key=lambda r: r[0])
        result = [Block(dv, [i]) for _key, dv, i in rows]
        with self._lock:
            self._materialized.get_or(key, lambda: result)
        return result

    @staticmethod
    def total(blocks: list[Block]) -> int:
        """Return the number of conversations in blocks."""
        return sum(len(b.indices) for b in blocks)

    @staticmethod
    def slice(
        blocks: list[Block], offset: int, limit: int, descending: bool = False
    ) -> Iterator[tuple[DayVolume, int]]:
        """Yield (day, index) for positions [offset, offset + limit) of the (maybe reversed) sequence."""
        total = Dataset.total(blocks)
        if descending:
            positions = range(total - 1 - offset, max(-1, total - 1 - offset - limit), -1)
        else:
            positions = range(offset, min(total, offset + limit))
        if not positions:
            return
        starts: list[int] = []
        acc = 0
        for b in blocks:
            starts.append(acc)
            acc += len(b.indices)
        for pos in positions:
            bi = _block_of(starts, pos)
            block = blocks[bi]
            yield block.day, block.indices[pos - starts[bi]]

    def render(self, day: DayVolume, i: int, now_ms: int, with_attributes: bool = False) -> Json | None:
        """Return one conversation as the API returns it."""
        return build_conversation(self.pools, day, i, now_ms, with_attributes)

    # -- ground truth ----------------------------------------------------------------------------
    def conversations(
        self, start: datetime | str | int, end: datetime | str | int, with_attributes: bool = False
    ) -> list[Json]:
        """Return exactly what a details query over [start, end) matches, in conversationStart order."""
        s, e = _to_ms(start), _to_ms(end)
        now = self.effective_now(s, e)
        out: list[Json] = []
        for block in self.blocks(s, e, now):
            for i in block.indices:
                conv = self.render(block.day, i, now, with_attributes)
                if conv is not None:
                    out.append(conv)
        return out

    def conversation_ids(self, start: datetime | str | int, end: datetime | str | int) -> list[str]:
        """Return the conversationIds a details query over [start, end) matches, in start order."""
        return [c["conversationId"] for c in self.conversations(start, end)]

    def count(self, start: datetime | str | int, end: datetime | str | int) -> int:
        """Return totalHits of a details query over [start, end) without building conversations."""
        s, e = _to_ms(start), _to_ms(end)
        return self.total(self.blocks(s, e, self.effective_now(s, e)))


def _block_of(starts: list[int], pos: int) -> int:
    """Return the block holding a position (binary search over block starts)."""
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _sort_key(conv: Json, order_by: str) -> str:
    """Return the sort key of a conversation for an orderBy value (ISO strings sort as times)."""
    if order_by == "conversationEnd":
        return conv.get("conversationEnd", "9999")
    segments = [
        g for p in conv.get("participants", []) for s in p.get("sessions", []) for g in s.get("segments", [])
    ]
    if order_by == "segmentStart":
        return min((g["segmentStart"] for g in segments), default="9999")
    if order_by == "segmentEnd":
        return max((g.get("segmentEnd", "9999") for g in segments), default="9999")
    return conv["conversationStart"]


__all__ = ["DAY_MS", "Block", "Dataset"]
