"""The provider entry point registers the genesys_cloud connection type."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema

from genesys_es.extract.regions import REGION_DOMAINS, region_hosts
from genesys_es.provider_info import get_provider_info


def test_provider_info_validates_against_airflow_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    conn_types = {c["connection-type"]: c for c in info["connection-types"]}
    assert "genesys_cloud" in conn_types
    fields = conn_types["genesys_cloud"]["conn-fields"]
    assert fields["region"]["schema"]["enum"] == list(REGION_DOMAINS)
    assert {"base_url", "requests_per_minute"} <= set(fields)


def test_entry_point_is_installed() -> None:
    eps = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("genesys_es")]
    assert len(eps) == 1
    assert eps[0].load()()["package-name"] == "genesys-es"


def test_providers_manager_lists_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert "genesys-es" in ProvidersManager().providers
    assert (
        ProvidersManagerTaskRuntime().hooks["genesys_cloud"].hook_class_name
        == "genesys_es.hooks.genesys_cloud.GenesysCloudHook"
    )


def test_region_hosts() -> None:
    assert region_hosts("eu_central_1") == ("https://login.mypurecloud.de", "https://api.mypurecloud.de")
    assert region_hosts("mypurecloud.ie")[1] == "https://api.mypurecloud.ie"
    try:
        region_hosts("mars_north_1")
    except ValueError as exc:
        assert "us_east_1" in str(exc) and "mars_north_1" in str(exc)
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("unknown region accepted")
