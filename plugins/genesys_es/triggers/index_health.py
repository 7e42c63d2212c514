"""Trigger that waits in the triggerer until Elasticsearch indices reach a target health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
from genesys_es.verify.health import HealthResult, check_health, normalise_indices, validate_target_status

#: Longest single ``wait_for_status`` call; the trigger loops until its deadline.
MAX_SERVER_WAIT_S = 30.0


class ElasticsearchIndexHealthTrigger(BaseTrigger):
    """Poll cluster health until ``indices`` reach ``target_status`` or ``deadline`` passes.

    The synchronous ``elasticsearch`` client runs in a worker thread (``asyncio.to_thread``): the async
    client needs ``aiohttp``, which the Airflow stack does not install, and a health call is cheap. Each
    poll lets Elasticsearch wait (``wait_for_status``) for up to ``poke_interval`` seconds, so the trigger
    reacts as soon as the status is reached. It yields one event: ``{"status": "success"|"timeout"|"error",
    "health": HealthResult.to_dict(), "message": str}``.

    :param indices: index names, patterns or aliases (empty: the whole cluster).
    :param target_status: ``yellow`` or ``green``.
    :param elasticsearch_conn_id: the Airflow ``elasticsearch`` connection.
    :param deadline: epoch seconds after which the trigger reports ``timeout``.
    :param poke_interval: seconds between checks (also the server-side wait per check).
    :param check_blocks: treat write-blocked indices as unhealthy.
    """

    def __init__(
        self,
        indices: Sequence[str] | str | None,
        target_status: str,
        elasticsearch_conn_id: str,
        deadline: float,
        poke_interval: float = 10.0,
        check_blocks: bool = True,
    ) -> None:
        super().__init__()
        self.indices = normalise_indices(indices)
        self.target_status = validate_target_status(target_status)
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.deadline = float(deadline)
        self.poke_interval = float(poke_interval)
        self.check_blocks = check_blocks

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the import path and keyword arguments that rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "indices": self.indices,
                "target_status": self.target_status,
                "elasticsearch_conn_id": self.elasticsearch_conn_id,
                "deadline": self.deadline,
                "poke_interval": self.poke_interval,
                "check_blocks": self.check_blocks,
            },
        )

    def _check(self, wait_seconds: float, explain: bool) -> HealthResult:
        es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        try:
            return check_health(
                es,
                self.indices,
                self.target_status,
                wait_seconds=wait_seconds,
                check_blocks=self.check_blocks,
                explain=explain,
            )
        finally:
            es.close()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Check health until it is reached or the deadline passes; yield one event."""
        attempts = 0
        while True:
            remaining = self.deadline - time.time()
            wait = max(0.0, min(self.poke_interval, MAX_SERVER_WAIT_S, remaining))
            attempts += 1
            explain = remaining <= wait
            began = time.monotonic()
            try:
                result = await asyncio.to_thread(self._check, wait, explain)
            except Exception as exc:  # connection errors: keep trying until the deadline
                self.log.warning("health check failed (attempt %d): %s", attempts, type(exc).__name__)
                if time.time() >= self.deadline:
                    yield TriggerEvent(
                        {"status": "error", "health": None, "message": f"{type(exc).__name__}: {exc}"}
                    )
                    return
                await self._pause(began)
                continue
            if result.ok:
                yield TriggerEvent(
                    {"status": "success", "health": result.to_dict(), "message": result.message()}
                )
                return
            self.log.info("attempt %d: %s", attempts, result.message())
            if time.time() >= self.deadline:
                if not explain:
                    result = await asyncio.to_thread(self._check, 0, True)
                yield TriggerEvent(
                    {"status": "timeout", "health": result.to_dict(), "message": result.message()}
                )
                return
            await self._pause(began)

    async def _pause(self, began: float) -> None:
        """Sleep what is left of the poke interval after a check that answered early (503, error)."""
        left = self.poke_interval - (time.monotonic() - began)
        left = min(left, self.deadline - time.time())
        if left > 0:
            await asyncio.sleep(left)
