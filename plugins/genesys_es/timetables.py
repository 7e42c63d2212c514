"""The ingest DAG's schedule: one run per UTC day, caught up from ``[genesys_es] start_date`` only.

The DAG's own ``start_date`` is kept early (:data:`EARLIEST_DAY`) so that a run for *any* logical date,
made by hand, by ``airflow dags test`` or by ``airflow backfill create``, has its tasks (Airflow creates
no task instance for a logical date before a task's start date, and would mark such a run successful with
nothing done). Catch-up, which creates runs by itself, starts at ``catchup_from`` instead.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable

#: The DAG's start date: early enough for any day Genesys Cloud can still hold.
EARLIEST_DAY = pendulum.datetime(2000, 1, 1, tz="UTC")


class DailyCatchupFromTimetable(CronDataIntervalTimetable):
    """Daily UTC data intervals ``[D, D+1)``; the scheduler creates runs from ``catchup_from`` on.

    :param catchup_from: the first day the scheduler runs by itself.
    """

    def __init__(self, catchup_from: pendulum.DateTime) -> None:
        super().__init__("0 0 * * *", "UTC")
        self.catchup_from = pendulum.instance(catchup_from).in_timezone("UTC").start_of("day")
        self.description = f"daily at 00:00 UTC, caught up from {self.catchup_from.date()}"

    @property
    def summary(self) -> str:
        return f"daily from {self.catchup_from.date()}"

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        # The scheduler asks from the DAG's start date (EARLIEST_DAY): catch up from catchup_from only.
        # A backfill asks from its own from-date, which is honoured whatever it is.
        earliest = restriction.earliest
        if earliest is None or earliest <= EARLIEST_DAY:
            earliest = self.catchup_from
        return super().next_dagrun_info(
            last_automated_data_interval=last_automated_data_interval,
            restriction=TimeRestriction(earliest, restriction.latest, restriction.catchup),
        )

    def serialize(self) -> dict[str, Any]:
        return {"catchup_from": self.catchup_from.isoformat()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DailyCatchupFromTimetable:
        return cls(pendulum.parse(data["catchup_from"]))


class GenesysEsPlugin(AirflowPlugin):
    """Register the timetable so the scheduler and the API server can read the serialized DAG."""

    name = "genesys_es"
    timetables = [DailyCatchupFromTimetable]
