"""Run a deferrable operator to its end in one process, its triggers inline (tests, benchmarks, debugging).

Airflow runs a trigger in the triggerer and resumes the task on a worker; here the trigger's first event is
awaited in this process and handed to the method the operator deferred to, until that method returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from airflow.sdk.exceptions import TaskDeferred
from airflow.triggers.base import BaseTrigger


def first_event(trigger: BaseTrigger) -> dict[str, Any]:
    """Run a trigger until its first event; return the event's payload.

    :param trigger: the trigger.
    """

    async def wait() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise RuntimeError(f"{type(trigger).__name__} ended without an event")

    return asyncio.run(wait())


def run_deferred(operator: Any, context: Mapping[str, Any]) -> Any:
    """Execute an operator, run each trigger it defers to, resume it, until it returns; return its result.

    :param operator: the operator.
    :param context: the task context handed to ``execute`` and to each resumed method.
    """
    try:
        return operator.execute(context)
    except TaskDeferred as deferred:
        pending = deferred
    while True:
        event = first_event(pending.trigger)
        try:
            return getattr(operator, pending.method_name)(context, event=event, **(pending.kwargs or {}))
        except TaskDeferred as again:
            pending = again
