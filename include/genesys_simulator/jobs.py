"""Async details jobs: submit, poll (QUEUED -> FULFILLED or FAILED), page results by cursor, delete."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from include.genesys_simulator.bodies import AsyncConversationQuery, dump
from include.genesys_simulator.conversation import iso
from include.genesys_simulator.dataset import NEVER_MS, Block, Dataset
from include.genesys_simulator.errors import bad_request, not_found
from include.genesys_simulator.page_cache import PageCache, RenderedPage
from include.genesys_simulator.query import (
    check_options,
    parse_body,
    parse_interval,
    plan_query,
    validation_error,
)
from include.genesys_simulator.rng import derive, uniform_at
from include.genesys_simulator.timeline import MAX_DURATION_MS

DEFAULT_RESULTS_PAGE_SIZE = 1000
MAX_RESULTS_PAGE_SIZE = 1000
JOB_TTL_MS = 7 * 86_400_000

Json = dict[str, Any]


@dataclass
class Job:
    """One submitted details job."""

    id: str
    body: Json
    start_ms: int
    end_ms: int
    submitted_ms: int  # simulated clock
    submitted_mono: float
    fail: bool
    blocks: list[Block] | None = None
    now_ms: int = 0
    total: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class JobStore:
    """All jobs of a simulator run."""

    def __init__(
        self,
        dataset: Dataset,
        seed: int,
        fulfill_seconds: float,
        data_lag_seconds: int,
        pages: PageCache | None = None,
    ) -> None:
        self.dataset = dataset
        self.pages = pages or PageCache(0)
        self.seed = seed
        self.fulfill_seconds = fulfill_seconds
        self.data_lag_seconds = data_lag_seconds
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._count = 0

    def data_availability_ms(self) -> int:
        """Return the instant up to which job data is complete."""
        return self.dataset.now_ms() - self.data_lag_seconds * 1000

    def submit(self, raw: bytes, failure_probability: float) -> Json:
        """Create a job from a request body."""
        data = parse_body(raw)
        try:
            body = dump(AsyncConversationQuery.model_validate(data))
        except ValidationError as exc:
            raise validation_error(exc) from None
        start_ms, end_ms = parse_interval(body["interval"])
        check_options(body)
        with self._lock:
            self._count += 1
            n = self._count
        fail = uniform_at(derive(self.seed, n, 0x70B), 1) < failure_probability
        job = Job(
            id=str(uuid.uuid4()),
            body=body,
            start_ms=start_ms,
            end_ms=end_ms,
            submitted_ms=self.dataset.now_ms(),
            submitted_mono=time.monotonic(),
            fail=fail,
        )
        with self._lock:
            self._jobs[job.id] = job
        return {"jobId": job.id}

    def _get(self, job_id: str) -> Job:
        """Return a job or raise 404."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise not_found(f"Unable to find job with id {job_id}")
        return job

    def _state(self, job: Job) -> str:
        """Return a job's state now."""
        if time.monotonic() - job.submitted_mono < self.fulfill_seconds:
            return "QUEUED"
        if self.dataset.now_ms() - job.submitted_ms > JOB_TTL_MS:
            return "EXPIRED"
        return "FAILED" if job.fail else "FULFILLED"

    def status(self, job_id: str) -> Json:
        """Answer GET .../jobs/{jobId}."""
        job = self._get(job_id)
        state = self._state(job)
        out: Json = {"state": state}
        if state == "FAILED":
            out["errorMessage"] = "The job failed while processing the query. Please resubmit it."
        out["submissionDate"] = iso(job.submitted_ms)
        if state in ("FULFILLED", "FAILED"):
            out["completionDate"] = iso(job.submitted_ms + int(self.fulfill_seconds * 1000))
            out["expirationDate"] = iso(job.submitted_ms + JOB_TTL_MS)
        return out

    def _ensure_plan(self, job: Job) -> None:
        """Compute the job's matching conversations once (as of its submission time)."""
        with job.lock:
            if job.blocks is not None:
                return
            overlap = not job.body.get("startOfDayIntervalMatching", False)
            as_of = NEVER_MS if job.submitted_ms >= job.end_ms + MAX_DURATION_MS else job.submitted_ms
            plan = plan_query(self.dataset, job.body, job.start_ms, job.end_ms, overlap=overlap, now_ms=as_of)
            job.now_ms = as_of
            job.blocks = plan.blocks
            total = self.dataset.total(plan.blocks)
            limit = job.body.get("limit")
            job.total = min(total, limit) if limit else total

    def results(self, job_id: str, cursor: str | None, page_size: int | None) -> Json | RenderedPage:
        """Answer GET .../jobs/{jobId}/results."""
        job = self._get(job_id)
        state = self._state(job)
        if state != "FULFILLED":
            raise bad_request(f"Results are not available for a job in state {state}.")
        size = page_size or DEFAULT_RESULTS_PAGE_SIZE
        if size < 1 or size > MAX_RESULTS_PAGE_SIZE:
            raise bad_request(f"pageSize must be between 1 and {MAX_RESULTS_PAGE_SIZE}.")
        offset = _decode_cursor(job.id, cursor) if cursor else 0
        self._ensure_plan(job)
        assert job.blocks is not None
        limit = max(0, min(size, job.total - offset))
        descending = (job.body.get("order") or "asc") == "desc"
        tail: Json = {}
        if offset + limit < job.total:
            tail["cursor"] = _encode_cursor(job.id, offset + limit)
        tail["dataAvailabilityDate"] = iso(self.data_availability_ms())
        key = orjson.dumps([job.body, job.now_ms, offset, limit]) if job.now_ms == NEVER_MS else None
        cached = self.pages.get(key) if key is not None else None
        if cached is None:
            conversations = [
                conv
                for day, i in self.dataset.slice(job.blocks, offset, limit, descending)
                if (conv := self.dataset.render(day, i, job.now_ms, with_attributes=True)) is not None
            ]
            if key is None or not self.pages.enabled:
                return {**({"conversations": conversations} if conversations else {}), **tail}
            cached = RenderedPage(orjson.dumps(conversations), len(conversations))
            self.pages.put(key, cached)
        # A settled job's page, rendered once: only its cursor (which names the job) is new.
        head = b'{"conversations":' + cached.body + b"," if cached.conversations else b"{"
        return RenderedPage(head + orjson.dumps(tail)[1:], cached.conversations)

    def delete(self, job_id: str) -> None:
        """Answer DELETE .../jobs/{jobId}."""
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                raise not_found(f"Unable to find job with id {job_id}")

    def availability(self) -> Json:
        """Answer GET .../jobs/availability."""
        return {"dataAvailabilityDate": iso(self.data_availability_ms())}

    def clear(self) -> None:
        """Forget all jobs."""
        with self._lock:
            self._jobs.clear()
            self._count = 0


def _encode_cursor(job_id: str, offset: int) -> str:
    """Return an opaque cursor."""
    return base64.urlsafe_b64encode(f"{job_id}:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(job_id: str, cursor: str) -> int:
    """Return the offset of a cursor, or raise 400 for a cursor of another job or garbage."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        owner, offset = base64.urlsafe_b64decode(padded.encode()).decode().rsplit(":", 1)
        if owner != job_id:
            raise ValueError(owner)
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(f"Invalid cursor: {cursor}") from None
