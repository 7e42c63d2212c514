"""The trigger forms of both DAGs: every field states its rule, and a refused value is named with its rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from genesys_es.run_config import RunConfigError, build_run_config

DAGS = Path(__file__).resolve().parents[2] / "dags"
INDEX_NAME_PARAMS = {"index_prefix", "audit_index"}


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return {d: bag.dags[d] for d in ("genesys_conversations_to_es", "genesys_index_maintenance")}


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return kind if isinstance(kind, list) else [kind]


def test_every_field_states_its_rule(dags: dict[str, Any]) -> None:
    for dag in dags.values():
        for name, param in dag.params.items():
            assert len(param.description or "") > 10, f"{dag.dag_id}.{name} has no description"


def test_optional_switches_and_lists_are_not_marked_required(dags: dict[str, Any]) -> None:
    """The form puts a red star on every field whose type does not allow null."""
    for dag in dags.values():
        for name, param in dag.params.items():
            kinds = _types(param.schema)
            if {"boolean", "array"} & set(kinds):
                assert "null" in kinds, f"{dag.dag_id}.{name} shows a required star"


def test_index_names_are_refused_by_the_first_task_naming_field_and_rule(dags: dict[str, Any]) -> None:
    """Airflow 3.3.2's form cannot check a pattern, and shows a value the API refuses as "Bad Request".

    So the form takes any index name up to the length it can enforce, and the run's first task refuses a bad
    one with the field's name and rule.
    """
    for dag in dags.values():
        for name in INDEX_NAME_PARAMS & set(dag.params):
            schema = dag.params.get_param(name).schema
            assert "pattern" not in schema and schema["maxLength"] == 101, f"{dag.dag_id}.{name}"
    ingest = dags["genesys_conversations_to_es"]
    form = copy.deepcopy(ingest.params)
    form["index_prefix"] = "Bad Prefix!"
    params = form.validate()  # accepted by the form and the API: the run is created
    with pytest.raises(
        RunConfigError, match=r"index_prefix: invalid index prefix 'Bad Prefix!': use lowercase"
    ):
        build_run_config(params, None)


def test_the_maintenance_tasks_refuse_a_bad_audit_index_before_any_work() -> None:
    from genesys_es.operators.maintenance import ElasticsearchIndexMaintenanceOperator

    op = ElasticsearchIndexMaintenanceOperator(
        task_id="maintain",
        index_prefix="genesys-conversations",
        audit_index="Audit!",
        elasticsearch_conn_id="none",
    )
    with pytest.raises(ValueError, match=r"^audit_index: invalid index prefix 'Audit!': use lowercase"):
        op.execute({})
