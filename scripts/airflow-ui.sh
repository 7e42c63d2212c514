#!/usr/bin/env bash
# Run `airflow standalone` (UI on :8080) with the demo's connections, pool and PII key already set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/demo_env.sh
.venv/bin/airflow db migrate >/dev/null
.venv/bin/airflow pools set genesys_api 4 "Genesys Cloud API: 300 requests/minute per OAuth client" >/dev/null
echo "Airflow UI: http://127.0.0.1:8080 (the admin password is printed below and kept in $AIRFLOW_HOME)"
exec .venv/bin/airflow standalone
