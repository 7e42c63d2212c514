"""The ingest DAG's timetable: daily UTC intervals, caught up from the configured day only."""

from __future__ import annotations

import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction

from genesys_es.timetables import EARLIEST_DAY, DailyCatchupFromTimetable

CATCHUP_FROM = pendulum.datetime(2026, 11, 1, tz="UTC")


def test_catch_up_starts_at_the_configured_day_not_the_dags_start_date() -> None:
    timetable = DailyCatchupFromTimetable(CATCHUP_FROM)
    first = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(EARLIEST_DAY, None, catchup=True),
    )
    assert first is not None
    assert (first.data_interval.start, first.data_interval.end) == (CATCHUP_FROM, CATCHUP_FROM.add(days=1))
    following = timetable.next_dagrun_info(
        last_automated_data_interval=first.data_interval,
        restriction=TimeRestriction(EARLIEST_DAY, None, catchup=True),
    )
    assert following is not None and following.data_interval.start == CATCHUP_FROM.add(days=1)


def test_a_backfill_before_the_catchup_start_gets_its_days() -> None:
    # `airflow backfill create --from-date 2026-10-20 --to-date 2026-10-22`, as Airflow asks the timetable.
    timetable, start = DailyCatchupFromTimetable(CATCHUP_FROM), pendulum.datetime(2026, 10, 20, tz="UTC")
    restriction = TimeRestriction(start, start.add(days=2), catchup=True)
    days, last = [], None
    while (
        info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
    ) is not None:
        days.append(info.data_interval.start.date().isoformat())
        last = info.data_interval
    assert days == ["2026-10-20", "2026-10-21", "2026-10-22"]


def test_a_later_dag_start_date_still_wins() -> None:
    later = pendulum.datetime(2026, 11, 20, tz="UTC")
    info = DailyCatchupFromTimetable(CATCHUP_FROM).next_dagrun_info(
        last_automated_data_interval=DataInterval(CATCHUP_FROM, CATCHUP_FROM.add(days=1)),
        restriction=TimeRestriction(later, None, catchup=True),
    )
    assert info is not None and info.data_interval.start == later


def test_serializes_through_the_registered_plugin() -> None:
    from airflow.serialization.encoders import encode_timetable

    encoded = encode_timetable(DailyCatchupFromTimetable(CATCHUP_FROM))
    assert encoded["__type"] == "genesys_es.timetables.DailyCatchupFromTimetable"
    back = DailyCatchupFromTimetable.deserialize(encoded["__var"])
    assert back.catchup_from == CATCHUP_FROM and back.summary == "daily from 2026-11-01"
