"""Hook for the Genesys Cloud Platform API (placeholder grown by the hook issue)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook


class GenesysCloudHook(BaseHook):
    """Talk to the Genesys Cloud Platform API with OAuth client credentials.

    :param genesys_conn_id: the ``genesys_cloud`` connection to use.
    """

    conn_name_attr = "genesys_conn_id"
    default_conn_name = "genesys_cloud_default"
    conn_type = "genesys_cloud"
    hook_name = "Genesys Cloud"

    def __init__(self, genesys_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.genesys_conn_id = genesys_conn_id
