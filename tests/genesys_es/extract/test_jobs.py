"""ConversationJobs against the simulator: availability, submit, poll, cursor results, delete, 403."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from genesys_es.exceptions import GenesysApiError, GenesysJobError
from genesys_es.extract.jobs import ConversationJobs, read_ahead
from genesys_es.extract.models import ConversationPage
from genesys_es.hooks.genesys_cloud import GenesysCloudHook
from tests.genesys_es.hooks.test_genesys_cloud import use_connection

DAY = datetime(2024, 3, 4, tzinfo=UTC)
NEXT = DAY + timedelta(days=1)


def _fulfilled(jobs: ConversationJobs, job_id: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while (state := jobs.status(job_id).state) not in ("FULFILLED", "FAILED", "EXPIRED"):
        assert time.monotonic() < deadline, f"job {job_id} still {state}"
        time.sleep(0.1)
    return state


def test_a_job_returns_the_day_the_details_query_returns_with_attributes(
    simulator_factory, monkeypatch
) -> None:
    sim = simulator_factory(volume_overrides={date(2024, 3, 4): 2500}, job_fulfill_seconds=0.3)
    use_connection(monkeypatch, sim)
    with GenesysCloudHook() as hook:
        jobs = ConversationJobs(hook)
        assert jobs.availability() <= datetime.now(UTC)
        job_id = jobs.submit(DAY, NEXT)
        assert jobs.status(job_id).state == "QUEUED"
        assert _fulfilled(jobs, job_id) == "FULFILLED"
        pages = list(jobs.iter_results(job_id))
        ids = [c["conversationId"] for page in pages for c in page.conversations]
        assert [len(page.conversations) for page in pages] == [1000, 1000, 500]
        assert [page.page_number for page in pages] == [1, 2, 3]
        # Same matching as the details query: every conversation that started that day, once, in order.
        assert sorted(ids) == sorted(sim.dataset.conversation_ids(DAY, NEXT))
        assert len(set(ids)) == len(ids)
        starts = [c["conversationStart"] for page in pages for c in page.conversations]
        assert starts == sorted(starts)
        assert any(
            p.get("attributes") for page in pages for c in page.conversations for p in c["participants"]
        )
        assert jobs.delete(job_id) is True
        with pytest.raises(GenesysApiError) as gone:
            jobs.status(job_id)
        assert gone.value.status == 404
        assert jobs.delete(job_id) is False


def test_results_before_fulfilment_are_refused_and_page_size_checked(simulator_factory, monkeypatch) -> None:
    sim = simulator_factory(job_fulfill_seconds=30)
    use_connection(monkeypatch, sim)
    with GenesysCloudHook() as hook:
        jobs = ConversationJobs(hook)
        job_id = jobs.submit(DAY, NEXT)
        with pytest.raises(GenesysApiError, match="QUEUED"):
            next(jobs.iter_results(job_id))
        with pytest.raises(ValueError, match="page_size"):
            next(jobs.iter_results(job_id, page_size=1001))
        with pytest.raises(ValueError, match="longer than 7 days"):
            jobs.submit(DAY, DAY + timedelta(days=8))


def test_a_client_without_the_permission_gets_a_clear_error(simulator_factory, monkeypatch) -> None:
    sim = simulator_factory(analytics_permission=False)
    use_connection(monkeypatch, sim)
    with GenesysCloudHook() as hook:
        jobs = ConversationJobs(hook)
        with pytest.raises(GenesysJobError, match="analytics:conversationDetail:view"):
            jobs.availability()
        with pytest.raises(GenesysJobError, match="refused to create a details job"):
            jobs.submit(DAY, NEXT)


def _pages(n: int, log: list[str], fail_at: int | None = None, seconds: float = 0.0):
    for number in range(1, n + 1):
        log.append(f"read {number}")
        time.sleep(seconds)
        if number == fail_at:
            raise GenesysApiError(500, "page failed")
        yield ConversationPage(number, [{"conversationId": f"c{number}"}], 0)


def test_the_next_cursor_page_is_read_while_this_one_is_indexed() -> None:
    log: list[str] = []
    seen = []
    for page in read_ahead(_pages(3, log, seconds=0.05)):
        time.sleep(0.2)  # indexing: the next page arrives meanwhile
        log.append(f"indexed {page.page_number}")
        seen.append(page.page_number)
    assert seen == [1, 2, 3]
    assert log.index("read 2") < log.index("indexed 1")
    assert log.index("read 3") < log.index("indexed 2")


def test_a_read_ahead_stops_when_closed_and_passes_errors_on() -> None:
    log: list[str] = []
    reader = read_ahead(_pages(10, log))
    assert next(reader).page_number == 1
    reader.close()
    # Closed after page 1: page 2 was already being read, nothing after it.
    assert [e for e in log if e.startswith("read")] == ["read 1", "read 2"]
    with pytest.raises(GenesysApiError, match="page failed"):
        list(read_ahead(_pages(3, [], fail_at=2)))
