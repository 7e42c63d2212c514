"""Provider info for Airflow's ``apache_airflow_provider`` entry point; imports nothing heavy."""

from __future__ import annotations

from typing import Any

from genesys_es import __version__
from genesys_es.extract.regions import DEFAULT_REGION, REGION_DOMAINS


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata that registers the ``genesys_cloud`` connection type."""
    return {
        "package-name": "genesys-es",
        "name": "Genesys Cloud to Elasticsearch",
        "description": "Keeps a searchable Elasticsearch copy of Genesys Cloud CX conversation details.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "genesys_cloud",
                "hook-class-name": "genesys_es.hooks.genesys_cloud.GenesysCloudHook",
                "hook-name": "Genesys Cloud",
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "description": "Genesys Cloud region: "
                        + ", ".join(f"{name} = {domain}" for name, domain in REGION_DOMAINS.items()),
                        "schema": {
                            "type": ["string", "null"],
                            "default": DEFAULT_REGION,
                            "enum": list(REGION_DOMAINS),
                        },
                    },
                    "base_url": {
                        "label": "Base URL override",
                        "description": "One URL serving both /oauth/token and /api/v2 "
                        "(a proxy or the local simulator). Leave empty to use the region's hosts.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "requests_per_minute": {
                        "label": "Requests per minute",
                        "description": "Client-side budget for this OAuth client (Genesys allows 300 by default).",
                        "schema": {"type": ["integer", "null"], "default": 300, "minimum": 1},
                    },
                },
                "ui-field-behaviour": {
                    # The port is not used (HTTPS, 443) but shown: Airflow 3.3.2's Test button in the
                    # connection list sends port 0 for a connection without one and refuses the test with
                    # 400 "The host or port to test differs from the stored connection" (apache/airflow#73298).
                    "hidden-fields": ["host", "schema", "extra"],
                    "relabeling": {"login": "Client ID", "password": "Client secret", "port": "Port (443)"},
                    "placeholders": {
                        "port": "443",
                        "login": "OAuth client id (client credentials grant)",
                        "password": "OAuth client secret",
                        "base_url": "http://127.0.0.1:8180",
                    },
                },
            }
        ],
    }
