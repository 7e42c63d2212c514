# Environment shared by `make demo` and `scripts/airflow-ui.sh` (sourced, not run).
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ES_PORT="${ES_PORT:-9200}"
export SIM_PORT="${SIM_PORT:-8180}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/.cache/airflow-demo}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__GENESYS_ES__START_DATE="${AIRFLOW__GENESYS_ES__START_DATE:-$(date -u -d '3 days ago' +%F)}"
export AIRFLOW__GENESYS_ES__MAX_ACTIVE_PARTITIONS="${AIRFLOW__GENESYS_ES__MAX_ACTIVE_PARTITIONS:-1}"
# The connections genesys_cloud_default and elasticsearch_default (one definition: scripts/connections.py).
_connections="$(python3 "$REPO/scripts/connections.py" --format env \
  --genesys-url "http://127.0.0.1:$SIM_PORT" --es-url "http://127.0.0.1:$ES_PORT")"
eval "$_connections"
unset _connections
export AIRFLOW_VAR_GENESYS_ES_PII_SECRET="${AIRFLOW_VAR_GENESYS_ES_PII_SECRET:-demo-pii-key-change-me-0123456789}"
