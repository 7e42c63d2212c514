"""Sensor that waits until Elasticsearch indices reach a target health (poke or deferrable)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowSensorTimeout

from genesys_es.hooks.elasticsearch_client import ElasticsearchClientHook
from genesys_es.triggers.index_health import ElasticsearchIndexHealthTrigger
from genesys_es.verify.health import HealthResult, check_health, normalise_indices, validate_target_status

if TYPE_CHECKING:
    from airflow.sdk import Context
    from elasticsearch import Elasticsearch

#: Extra time the deferral timeout allows past the trigger's own deadline (the trigger reports first).
DEFERRAL_MARGIN_S = 120


class ElasticsearchIndexHealthSensor(BaseSensorOperator):
    """Wait until the named Elasticsearch indices reach ``target_status`` (yellow or green).

    In poke (or reschedule) mode each poke asks cluster health for the indices; with ``deferrable=True``
    the wait runs in the triggerer (:class:`ElasticsearchIndexHealthTrigger`) and holds no worker slot.
    Health answers 408 (``timed_out``) and 503 count as "not yet". On timeout the task fails with the
    indices that are not healthy and why: unassigned shards with the allocator's reason, write blocks
    such as ``read_only_allow_delete`` from the disk flood stage.

    :param indices: index names, patterns or aliases, as a list or a comma-separated string (templated).
    :param target_status: ``yellow`` or ``green`` (templated).
    :param elasticsearch_conn_id: the Airflow ``elasticsearch`` connection.
    :param deferrable: wait in the triggerer instead of a worker slot.
    :param check_blocks: count an index with a write block as unhealthy.
    """

    template_fields: Sequence[str] = ("indices", "target_status")
    ui_color = "#f0c75e"

    def __init__(
        self,
        *,
        indices: Sequence[str] | str,
        target_status: str = "yellow",
        elasticsearch_conn_id: str = "elasticsearch_default",
        deferrable: bool = False,
        check_blocks: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.indices = indices
        self.target_status = target_status
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.deferrable = deferrable
        self.check_blocks = check_blocks
        self._es: Elasticsearch | None = None

    def get_es(self) -> Elasticsearch:
        """Return the Elasticsearch client (built once from the connection)."""
        if self._es is None:
            self._es = ElasticsearchClientHook(elasticsearch_conn_id=self.elasticsearch_conn_id).get_conn()
        return self._es

    def _validated(self) -> tuple[list[str], str]:
        names = normalise_indices(self.indices)
        if not names:
            raise ValueError("indices must name at least one index, pattern or alias")
        return names, validate_target_status(self.target_status)

    def _check(self, *, explain: bool) -> HealthResult:
        names, target = self._validated()
        return check_health(self.get_es(), names, target, check_blocks=self.check_blocks, explain=explain)

    def poke(self, context: Context) -> PokeReturnValue:
        """Return whether the indices are healthy, with the health summary as XCom."""
        result = self._check(explain=False)
        self.log.info("%s", result.message())
        return PokeReturnValue(is_done=result.ok, xcom_value=result.to_dict() if result.ok else None)

    def execute(self, context: Context) -> Any:
        """Check once; then defer to the trigger or poke until healthy, failing with the reasons on timeout."""
        names, target = self._validated()
        if self.deferrable:
            result = self._check(explain=False)
            if result.ok:
                self.log.info("%s", result.message())
                return result.to_dict()
            self.log.info("deferring: %s", result.message())
            self.defer(
                trigger=ElasticsearchIndexHealthTrigger(
                    indices=names,
                    target_status=target,
                    elasticsearch_conn_id=self.elasticsearch_conn_id,
                    deadline=time.time() + float(self.timeout),
                    poke_interval=float(self.poke_interval),
                    check_blocks=self.check_blocks,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=float(self.timeout) + DEFERRAL_MARGIN_S),
            )
        try:
            return super().execute(context)
        except AirflowSensorTimeout as exc:
            result = self._check(explain=True)
            raise AirflowSensorTimeout(f"{exc} {result.message()}") from exc

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the health summary from the trigger's event, or fail with the unhealthy indices.

        :param context: the task context.
        :param event: the trigger's event payload.
        """
        if not event:
            raise AirflowSensorTimeout("index health trigger ended without an event")
        if event.get("status") == "success":
            self.log.info("%s", event.get("message"))
            return event.get("health") or {}
        raise AirflowSensorTimeout(
            f"Elasticsearch health not reached within {self.timeout}s ({event.get('status')}): "
            f"{event.get('message')}"
        )
