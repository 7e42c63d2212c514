"""Airflow Assets the DAGs produce and consume."""

from __future__ import annotations

from airflow.sdk import Asset

DEFAULT_INDEX_PREFIX = "genesys-conversations"

#: Updated by the ingest DAG after each verified run; the maintenance DAG follows it.
CONVERSATIONS_INDEX = Asset(name="genesys_conversations_index", uri=f"elasticsearch://{DEFAULT_INDEX_PREFIX}")

#: Airflow pool shared by all tasks that call the Genesys API (size it to the client's request budget).
GENESYS_API_POOL = "genesys_api"
