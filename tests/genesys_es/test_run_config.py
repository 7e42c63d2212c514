"""Run params are validated up front and resolve to UTC days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genesys_es.run_config import RunConfig, RunConfigError, build_run_config

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)
DAY_START = datetime(2024, 3, 1, tzinfo=UTC)
DAY_END = datetime(2024, 3, 2, tzinfo=UTC)


def test_a_run_owns_the_utc_day_of_its_logical_date() -> None:
    # Scheduled (logical date = interval start), manual, `dags test` and backfill runs alike: any time
    # of day D, in any timezone, resolves to the UTC day D.
    for logical_date in (
        DAY_START,
        DAY_START.replace(hour=23, minute=59),
        datetime(2024, 3, 1, 20, tzinfo=UTC),
    ):
        assert build_run_config({}, logical_date, now=NOW).days == ("2024-03-01",)


def test_the_failure_drill_is_refused_unless_drills_are_allowed() -> None:
    drill = {"chaos_fail_partitions": ["2024-03-01 00:00-24:00 p1-2"]}
    with pytest.raises(RunConfigError, match="unknown param\\(s\\) 'chaos_fail_partitions'"):
        build_run_config(drill, DAY_START, now=NOW)
    config = build_run_config(drill, DAY_START, now=NOW, allow_drills=True)
    assert config.chaos_fail_partitions == ("2024-03-01 00:00-24:00 p1-2",)


def test_the_trigger_form_has_exactly_the_known_params() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from genesys_es.run_config import KNOWN_PARAMS
    from tests.dags.test_dag_integrity import DAGS

    dag = DagBag(dag_folder=str(DAGS / "genesys_conversations_to_es.py")).get_dag(
        "genesys_conversations_to_es"
    )
    assert set(dag.params) == KNOWN_PARAMS  # no drill field, nothing the run would refuse


def test_a_misspelled_param_is_refused_with_the_known_ones() -> None:
    with pytest.raises(RunConfigError) as exc:
        build_run_config({"date_form": "2024-03-01", "date_to": "2024-03-01"}, DAY_START, now=NOW)
    message = str(exc.value)
    assert "unknown param(s) 'date_form'" in message
    assert "date_from" in message and "index_prefix" in message


def test_scheduled_run_covers_its_data_interval_day() -> None:
    config = build_run_config({}, DAY_START, now=NOW)
    assert config.days == ("2024-03-01",)
    assert config.start == DAY_START and config.end == DAY_END
    assert (config.mode, config.pii, config.page_size, config.pages_per_partition) == (
        "upsert",
        "drop",
        100,
        50,
    )


def test_manual_range_is_inclusive() -> None:
    config = build_run_config({"date_from": "2024-02-28", "date_to": "2024-03-02"}, None, now=NOW)
    assert config.days == ("2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02")


def test_round_trips_through_xcom() -> None:
    config = build_run_config(
        {"mode": "rebuild", "chaos_fail_partitions": ["x"]}, DAY_START, now=NOW, allow_drills=True
    )
    assert RunConfig.from_xcom(config.to_xcom()) == config


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"date_from": "2024-03-05", "date_to": "2024-03-01"}, "before date_from"),
        ({"date_from": "2024-03-01"}, "both date_from and date_to"),
        ({"date_from": "2024-13-01", "date_to": "2024-03-01"}, "must be a date"),
        ({"date_from": "2024-01-01", "date_to": "2024-03-01"}, "at most 31 days"),
        ({"date_from": "2024-04-01", "date_to": "2024-04-02"}, "in the future"),
        ({"page_size": 500}, "page_size must be from 1 to 100"),
        ({"page_size": "many"}, "page_size must be an integer"),
        ({"mode": "merge"}, "mode must be"),
        ({"pii": "maybe"}, "pii must be"),
        ({"index_prefix": "Bad Prefix"}, "index_prefix"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"chaos_fail_partitions": "p1"}, "chaos_fail_partitions"),
    ],
)
def test_bad_params_fail_with_a_clear_message(params: dict, fragment: str) -> None:
    with pytest.raises(RunConfigError, match="invalid run params") as exc:
        build_run_config(params, DAY_START, now=NOW)
    assert fragment in str(exc.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RunConfigError) as exc:
        build_run_config({"page_size": 0, "mode": "x", "pii": "y"}, DAY_START, now=NOW)
    message = str(exc.value)
    assert "page_size" in message and "mode" in message and "pii" in message


@settings(deadline=None, max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "date_from",
                "date_to",
                "page_size",
                "pages_per_partition",
                "mode",
                "pii",
                "dry_run",
                "deadletter_threshold",
                "index_prefix",
                "chaos_fail_partitions",
            ]
        ),
        st.one_of(
            st.none(),
            st.integers(-5, 2000),
            st.text(max_size=12),
            st.booleans(),
            st.lists(st.text(max_size=5), max_size=2),
        ),
    )
)
def test_any_params_give_a_config_or_a_clear_error(params: dict) -> None:
    try:
        config = build_run_config(params, DAY_START, now=NOW)
    except RunConfigError as exc:
        assert str(exc).startswith("invalid run params: ")
    else:
        assert 1 <= len(config.days) <= 31
        assert 1 <= config.page_size <= 100
        assert config.mode in ("upsert", "rebuild")
