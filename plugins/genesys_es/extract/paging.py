"""Page the conversation details query: one page, a count, pages in order fetched concurrently, ids.

Pure extraction logic over a transport that sends one API request with auth, budget and retries (the
Airflow ``GenesysCloudHook``), so it is testable without Airflow. Pages come back in page order however
many are in flight; an open-ended interval (today) is read until the first page that is not full.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

from genesys_es.exceptions import GenesysPaginationCapError
from genesys_es.extract.models import (
    MAX_INTERVAL,
    MAX_PAGE_SIZE,
    PAGINATION_CAP,
    QUERY_PATH,
    ConversationPage,
    ConversationQuery,
    ConversationQueryResponse,
    Order,
    QueryFilters,
    as_utc,
    normalize_filters,
)

log = logging.getLogger(__name__)

#: Most conversation ids put in one ``conversationId`` filter by :meth:`ConversationPager.get_conversations`.
ID_BATCH_SIZE = 100


class Transport(Protocol):
    """What paging needs from the Genesys hook."""

    max_concurrency: int

    @property
    def budget(self) -> Any: ...

    def get_conn(self) -> Any: ...

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any: ...


class ConversationPager:
    """Read conversation details through a transport (``GenesysCloudHook``).

    :param transport: sends one request with token, budget and retries; thread-safe.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def query(self, query: ConversationQuery) -> ConversationQueryResponse:
        """Run one details query and return its validated response.

        :param query: the validated request.
        """
        data = self.transport.request("POST", QUERY_PATH, query.to_body())
        return ConversationQueryResponse.model_validate(data)

    def get_page(
        self,
        start: datetime,
        end: datetime,
        page_number: int,
        page_size: int = MAX_PAGE_SIZE,
        filters: QueryFilters | dict[str, Any] | None = None,
        order: Order = "asc",
    ) -> ConversationPage:
        """Read one page of conversations of ``[start, end)`` ordered by ``conversationStart``.

        :param start: interval start.
        :param end: interval end, exclusive.
        :param page_number: page from 1.
        :param page_size: results per page (1..100).
        :param filters: optional conversation/segment filters.
        :param order: sort order of ``conversationStart``.
        """
        query = ConversationQuery.build(
            start, end, page_number=page_number, page_size=page_size, filters=filters, order=order
        )
        response = self.query(query)
        return ConversationPage(page_number, response.conversations, response.total_hits)

    def count(
        self, start: datetime, end: datetime, filters: QueryFilters | dict[str, Any] | None = None
    ) -> int:
        """Return ``totalHits`` for ``[start, end)`` with one page-size-1 request.

        :param start: interval start.
        :param end: interval end, exclusive.
        :param filters: optional conversation/segment filters.
        """
        return self.get_page(start, end, 1, page_size=1, filters=filters).total_hits

    def iter_pages(
        self,
        start: datetime,
        end: datetime,
        first_page: int = 1,
        last_page: int | None = None,
        page_size: int = MAX_PAGE_SIZE,
        concurrency: int | None = None,
        filters: QueryFilters | dict[str, Any] | None = None,
    ) -> Iterator[ConversationPage]:
        """Yield pages ``first_page..last_page`` of ``[start, end)`` in page order, fetched concurrently.

        With ``last_page=None`` (a live interval) pages are read until the first page that is not full: an
        empty page, or a short one (the next would be empty). Pages up to the latest ``totalHits`` are
        fetched concurrently, pages past it one at a time, so no page is requested needlessly.

        :param start: interval start.
        :param end: interval end, exclusive.
        :param first_page: first page, from 1.
        :param last_page: last page, or None for open-ended.
        :param page_size: results per page (1..100).
        :param concurrency: requests in flight (default and upper bound: the hook's ``max_concurrency``).
        :param filters: optional conversation/segment filters.
        """
        if first_page < 1:
            raise ValueError(f"first_page must be at least 1, got {first_page}")
        if last_page is not None and last_page < first_page:
            raise ValueError(f"last_page ({last_page}) must not be before first_page ({first_page})")
        # Validate interval, paging and filters once, before any thread starts.
        ConversationQuery.build(
            start, end, page_number=last_page or first_page, page_size=page_size, filters=filters
        )
        filters = normalize_filters(filters) or None
        self.transport.get_conn()
        _ = self.transport.budget  # build shared state before the worker threads race for it
        limit = self.transport.max_concurrency
        workers = concurrency or limit
        if workers > limit:
            log.warning(
                "concurrency %d exceeds the hook's max_concurrency %d; using %d", workers, limit, limit
            )
            workers = limit
        window = workers * 2
        max_page = PAGINATION_CAP // page_size
        inflight: deque[tuple[int, Future[ConversationPage]]] = deque()
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genesys-page")

        def submit(page_number: int) -> None:
            inflight.append(
                (page_number, executor.submit(self.get_page, start, end, page_number, page_size, filters))
            )

        try:
            next_page = first_page
            if last_page is not None:
                while next_page <= last_page or inflight:
                    while next_page <= last_page and len(inflight) < window:
                        submit(next_page)
                        next_page += 1
                    _, future = inflight.popleft()
                    yield future.result()
                return
            frontier = first_page  # pages known to exist from the latest totalHits
            while True:
                while next_page <= min(frontier, max_page) and len(inflight) < window:
                    submit(next_page)
                    next_page += 1
                if not inflight:
                    if next_page > max_page:
                        raise GenesysPaginationCapError(
                            f"{as_utc(start).isoformat()}..{as_utc(end).isoformat()} holds more than "
                            f"{PAGINATION_CAP} results; plan it into smaller sub-intervals"
                        )
                    submit(next_page)
                    next_page += 1
                _, future = inflight.popleft()
                page = future.result()
                if page.conversations:
                    yield page
                if len(page.conversations) < page_size:
                    return
                frontier = max(frontier, math.ceil(page.total_hits / page_size))
        finally:
            for _, future in inflight:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)

    def pages(self, part: Any, concurrency: int) -> Iterator[ConversationPage]:
        """Yield a partition's pages, as a partition's source (see :func:`genesys_es.load.partition`).

        :param part: the partition (sub-interval and page range).
        :param concurrency: pages fetched at once.
        """
        return self.iter_pages(
            part.start,
            part.end,
            first_page=part.first_page,
            last_page=part.last_page,
            page_size=part.page_size,
            concurrency=concurrency,
        )

    def get_conversations(
        self,
        conversation_ids: list[str],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Return the current state of conversations by id (to refresh ones indexed while still open).

        Ids are queried in batches with a ``conversationId`` filter over ``[start, end)``, cut into
        intervals the API accepts. Ids Genesys no longer knows are absent from the result.

        :param conversation_ids: ids to look up.
        :param start: earliest ``conversationStart`` day of those conversations (default: 7 days ago).
        :param end: end of the search (default: now).
        """
        ids = list(dict.fromkeys(conversation_ids))
        if not ids:
            return []
        end = as_utc(end) if end is not None else datetime.now(UTC)
        start = as_utc(start) if start is not None else end - MAX_INTERVAL
        if start >= end:
            raise ValueError(f"start {start.isoformat()} must be before end {end.isoformat()}")
        windows = []
        cursor = start
        while cursor < end:
            windows.append((cursor, min(cursor + MAX_INTERVAL, end)))
            cursor = windows[-1][1]
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), ID_BATCH_SIZE):
            batch = ids[i : i + ID_BATCH_SIZE]
            filters = {
                "conversationFilters": [
                    {
                        "type": "or",
                        "predicates": [
                            {"type": "dimension", "dimension": "conversationId", "value": cid}
                            for cid in batch
                        ],
                    }
                ]
            }
            for window_start, window_end in windows:
                for page in self.iter_pages(window_start, window_end, filters=filters, concurrency=1):
                    for conversation in page.conversations:
                        if conversation.get("conversationId"):
                            found[conversation["conversationId"]] = conversation
        return [found[cid] for cid in ids if cid in found]
