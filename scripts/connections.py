"""Print the demo's two Airflow connections, genesys_cloud_default and elasticsearch_default, in one place.

    python3 scripts/connections.py --genesys-url URL --es-url URL [--client-id ID] [--client-secret S]
                                   [--requests-per-minute N] [--format import|env]

``import`` (default) prints the file ``airflow connections import`` reads (what the UI shows and edits);
``env`` prints ``export AIRFLOW_CONN_*=...`` lines for a shell to ``eval`` (what ``make demo`` uses).
``scripts/demo_env.sh``, ``scripts/airflow-ui.sh`` and ``scripts/airflow-stack.sh`` call it;
``docker-compose.yaml`` holds the same two connections as compose variables. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any
from urllib.parse import urlsplit


def connections(
    genesys_url: str, es_url: str, client_id: str, client_secret: str, requests_per_minute: int
) -> dict[str, dict[str, Any]]:
    """Return the two connections as ``airflow connections import`` reads them (extras as JSON strings).

    The port 443 is not used by the hook: Airflow 3.3.2's list Test button needs a stored port (see README).
    """
    es = urlsplit(es_url)
    if es.scheme not in ("http", "https") or not es.hostname:
        raise SystemExit(f"--es-url: expected http(s)://host[:port], got {es_url!r}")
    return {
        "genesys_cloud_default": {
            "conn_type": "genesys_cloud",
            "login": client_id,
            "password": client_secret,
            "port": 443,
            "extra": json.dumps({"base_url": genesys_url, "requests_per_minute": requests_per_minute}),
        },
        "elasticsearch_default": {
            "conn_type": "elasticsearch",
            "host": es.hostname,
            "port": es.port or (443 if es.scheme == "https" else 9200),
            "schema": es.scheme,
            "extra": json.dumps({"request_timeout": 60}),
        },
    }


def main() -> None:
    """Print the connections in the chosen format."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genesys-url", required=True, help="base_url of genesys_cloud_default")
    parser.add_argument("--es-url", required=True, help="Elasticsearch of elasticsearch_default")
    parser.add_argument("--client-id", default="demo-client")
    parser.add_argument("--client-secret", default="demo-secret")
    parser.add_argument("--requests-per-minute", type=int, default=300)
    parser.add_argument("--format", choices=("import", "env"), default="import")
    args = parser.parse_args()
    conns = connections(
        args.genesys_url, args.es_url, args.client_id, args.client_secret, args.requests_per_minute
    )
    if args.format == "import":
        print(json.dumps(conns, indent=2))
        return
    for conn_id, conn in conns.items():
        value = json.dumps({**conn, "extra": json.loads(conn["extra"])})
        print(f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
