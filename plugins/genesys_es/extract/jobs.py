"""The analytics jobs API: submit a details job, poll it, read its results by cursor, delete it.

For history: a job's results come 1,000 conversations per request (ten times a details page) with the
participants' attributes, so a backfill reads at ten times the synchronous path's rate on the same budget.
Pure extraction logic over the same transport as :mod:`genesys_es.extract.paging`, testable without Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from genesys_es.exceptions import GenesysApiError, GenesysError, GenesysJobError
from genesys_es.extract.models import ConversationPage, check_interval, format_interval
from genesys_es.extract.paging import Transport
from genesys_es.instants import parse_strict

log = logging.getLogger(__name__)

JOBS_PATH = "/api/v2/analytics/conversations/details/jobs"
#: Largest page of a job's results.
MAX_RESULTS_PAGE_SIZE = 1000
#: States after which a job changes no more.
DONE_STATES = frozenset({"FULFILLED", "FAILED", "CANCELLED", "EXPIRED"})
#: States of a job that is worth submitting again.
RESUBMIT_STATES = frozenset({"FAILED", "EXPIRED"})


class JobStatus(BaseModel):
    """``GET .../jobs/{jobId}``: the job's state and, once failed, why."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    state: str
    error_message: str | None = Field(default=None, alias="errorMessage")
    expiration_date: str | None = Field(default=None, alias="expirationDate")


class JobResults(BaseModel):
    """One page of a job's results: conversations (plain dicts, attributes included) and the next cursor."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    conversations: list[dict[str, Any]] = Field(default_factory=list)
    cursor: str | None = None


def _permission_hint(err: GenesysApiError, action: str) -> GenesysError:
    """Turn a 403 into an error naming the permission the OAuth client lacks; keep any other error."""
    if err.status == 403:
        return GenesysJobError(
            f"Genesys Cloud refused to {action} ({err}): the OAuth client's role needs the permission "
            "analytics:conversationDetail:view, which also covers the jobs API"
        )
    return err


class ConversationJobs:
    """Submit, poll, read and delete conversation details jobs through a transport (``GenesysCloudHook``).

    :param transport: sends one request with token, budget and retries.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def availability(self) -> datetime:
        """Return ``dataAvailabilityDate``: jobs hold complete data for conversations before it."""
        try:
            data = self.transport.request("GET", f"{JOBS_PATH}/availability")
        except GenesysApiError as err:
            raise _permission_hint(err, "tell when job data is available") from None
        return parse_strict(data["dataAvailabilityDate"])

    def submit(self, start: datetime, end: datetime) -> str:
        """Submit a job for the conversations that started on the UTC days of ``[start, end)``; return its id.

        ``startOfDayIntervalMatching`` gives the details query's matching (no conversation of an earlier
        day), so a job and the synchronous path agree on which day a conversation belongs to.

        :param start: interval start.
        :param end: interval end, exclusive (at most 7 days after ``start``).
        """
        check_interval(start, end)
        body = {
            "interval": format_interval(start, end),
            "order": "asc",
            "orderBy": "conversationStart",
            "startOfDayIntervalMatching": True,
        }
        try:
            data = self.transport.request("POST", JOBS_PATH, body)
        except GenesysApiError as err:
            raise _permission_hint(err, "create a details job") from None
        return str(data["jobId"])

    def status(self, job_id: str) -> JobStatus:
        """Return a job's state.

        :param job_id: the job.
        """
        return JobStatus.model_validate(self.transport.request("GET", f"{JOBS_PATH}/{job_id}"))

    def delete(self, job_id: str) -> bool:
        """Delete a job (its results are no longer needed); return False when Genesys no longer had it.

        :param job_id: the job.
        """
        try:
            self.transport.request("DELETE", f"{JOBS_PATH}/{job_id}")
        except GenesysApiError as err:
            if err.status == 404:
                return False
            raise
        return True

    def iter_results(self, job_id: str, page_size: int = MAX_RESULTS_PAGE_SIZE) -> Iterator[ConversationPage]:
        """Yield a fulfilled job's results page by page, following the cursor until there is none.

        Each request is retried by the transport; the cursor is kept, so a retried read resumes where it
        stopped. Pages are numbered from 1 (``total_hits`` is unknown and left 0).

        :param job_id: the fulfilled job.
        :param page_size: conversations per request (1..1000).
        """
        if not 1 <= page_size <= MAX_RESULTS_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{MAX_RESULTS_PAGE_SIZE}, got {page_size}")
        cursor: str | None = None
        number = 0
        while True:
            query = "?" + urlencode({"pageSize": page_size, **({"cursor": cursor} if cursor else {})})
            page = JobResults.model_validate(
                self.transport.request("GET", f"{JOBS_PATH}/{job_id}/results{query}")
            )
            number += 1
            if page.conversations:
                yield ConversationPage(number, page.conversations, 0)
            if not page.cursor:
                return
            cursor = page.cursor


@dataclass(frozen=True)
class JobPages:
    """The pages of one fulfilled job, as a partition's source (see :func:`genesys_es.load.partition`).

    :param jobs: the jobs client.
    :param job_id: the fulfilled job.
    """

    jobs: ConversationJobs
    job_id: str

    @property
    def transport(self) -> Transport:
        """Return the transport (its counters go into the partition's summary)."""
        return self.jobs.transport

    def pages(self, part: Any, concurrency: int) -> Iterator[ConversationPage]:
        """Yield the job's result pages in cursor order, the next one read while this one is indexed.

        A cursor gives one page at a time, so ``concurrency`` does not apply; reading one page ahead keeps
        the request and the indexing of the previous page from waiting on each other.
        """
        log.info("reading job %s of %s..%s by cursor", self.job_id, part.start, part.end)
        return read_ahead(self.jobs.iter_results(self.job_id))


def read_ahead(pages: Iterator[ConversationPage]) -> Iterator[ConversationPage]:
    """Yield ``pages`` while a worker thread already reads the next one (at most two pages held).

    :param pages: the pages, read in order.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="job-cursor") as pool:
        upcoming = pool.submit(next, pages, None)
        while (page := upcoming.result()) is not None:
            upcoming = pool.submit(next, pages, None)
            yield page
