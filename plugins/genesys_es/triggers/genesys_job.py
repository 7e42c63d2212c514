"""Trigger that waits in the triggerer while Genesys Cloud prepares a conversation details job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from genesys_es.exceptions import GenesysApiError
from genesys_es.extract.jobs import DONE_STATES, ConversationJobs


class GenesysJobTrigger(BaseTrigger):
    """Poll a details job until it is done; yield ``{"state", "job_id", "error"}``; delete it when killed.

    The hook is synchronous and runs in a worker thread (``asyncio.to_thread``), spending the OAuth client's
    shared budget like every other request. States: the job's own (``FULFILLED``, ``FAILED``, ``CANCELLED``,
    ``EXPIRED``), ``GONE`` when Genesys no longer knows the job, ``ERROR`` when polling itself failed.

    :param job_id: the job.
    :param genesys_conn_id: the ``genesys_cloud`` connection.
    :param elasticsearch_conn_id: the ``elasticsearch`` connection holding the shared request budget.
    :param poll_seconds: seconds between two status requests.
    :param delay_seconds: seconds to wait before the first one (a poll interval, or a resubmission's backoff).
    """

    def __init__(
        self,
        job_id: str,
        genesys_conn_id: str,
        elasticsearch_conn_id: str,
        poll_seconds: float = 10.0,
        delay_seconds: float = 0.0,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.genesys_conn_id = genesys_conn_id
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.poll_seconds = float(poll_seconds)
        self.delay_seconds = float(delay_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the import path and keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "genesys_conn_id": self.genesys_conn_id,
                "elasticsearch_conn_id": self.elasticsearch_conn_id,
                "poll_seconds": self.poll_seconds,
                "delay_seconds": self.delay_seconds,
            },
        )

    def _call(self, action: str) -> Any:
        """Run one jobs-API call with a fresh hook (one thread, one call)."""
        from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
        from genesys_es.hooks.genesys_cloud import genesys_hook

        es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        try:
            with genesys_hook(self.genesys_conn_id, es) as hook:
                jobs = ConversationJobs(hook)
                return jobs.status(self.job_id) if action == "status" else jobs.delete(self.job_id)
        finally:
            es.close()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job is done (or gone); yield one event."""
        if self.delay_seconds > 0:
            await asyncio.sleep(self.delay_seconds)
        polls = 0
        while True:
            polls += 1
            try:
                status = await asyncio.to_thread(self._call, "status")
            except GenesysApiError as err:
                state = "GONE" if err.status == 404 else "ERROR"
                yield TriggerEvent({"state": state, "job_id": self.job_id, "error": str(err)})
                return
            except Exception as err:  # the hook already retried: report, the operator decides
                yield TriggerEvent(
                    {"state": "ERROR", "job_id": self.job_id, "error": f"{type(err).__name__}: {err}"}
                )
                return
            if status.state in DONE_STATES:
                self.log.info("job %s is %s after %d poll(s)", self.job_id, status.state, polls)
                yield TriggerEvent(
                    {"state": status.state, "job_id": self.job_id, "error": status.error_message}
                )
                return
            self.log.info("job %s is %s (poll %d)", self.job_id, status.state, polls)
            await asyncio.sleep(self.poll_seconds)

    async def on_kill(self) -> None:
        """Delete the job when a user kills the deferred task (clear, mark failed or success)."""
        deleted = await asyncio.to_thread(self._call, "delete")
        self.log.info("task killed: job %s %s", self.job_id, "deleted" if deleted else "was already gone")
