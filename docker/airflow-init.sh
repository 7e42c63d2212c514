#!/usr/bin/env bash
# One-shot init job of docker-compose.yaml (service airflow-init, runs as root, idempotent):
#   1. prepares the shared folders and their ownership (AIRFLOW_UID:0),
#   2. migrates the metadata database and creates the admin user (the image's /entrypoint does both when
#      _AIRFLOW_DB_MIGRATE and _AIRFLOW_WWW_USER_CREATE are true),
#   3. creates or resizes the `genesys_api` pool that every task calling Genesys Cloud runs in,
#   4. shows the two connections given as AIRFLOW_CONN_* environment variables (secrets masked).
set -euo pipefail

AIRFLOW_UID="${AIRFLOW_UID:-50000}"
POOL_NAME="${GENESYS_API_POOL_NAME:-genesys_api}"
POOL_SLOTS="${GENESYS_API_POOL_SLOTS:-4}"
POOL_DESCRIPTION="${GENESYS_API_POOL_DESCRIPTION:-Tasks calling the Genesys Cloud API (one OAuth client: 300 requests/minute)}"

mem_mb=$(( $(getconf _PHYS_PAGES) * $(getconf PAGE_SIZE) / 1048576 ))
if (( mem_mb < 6000 )); then
  echo "WARNING: ${mem_mb} MB of memory; Airflow with CeleryExecutor plus Elasticsearch wants at least 6 GB." >&2
fi

echo "airflow-init: preparing /opt/airflow/{logs,dags,config,include}"
mkdir -p /opt/airflow/{logs,dags,config,include}
/entrypoint airflow version
/entrypoint airflow config list >/dev/null

echo "airflow-init: pool ${POOL_NAME} with ${POOL_SLOTS} slots"
env -u _AIRFLOW_DB_MIGRATE -u _AIRFLOW_WWW_USER_CREATE \
  /entrypoint airflow pools set "$POOL_NAME" "$POOL_SLOTS" "$POOL_DESCRIPTION"

for conn in genesys_cloud_default elasticsearch_default; do
  env -u _AIRFLOW_DB_MIGRATE -u _AIRFLOW_WWW_USER_CREATE \
    /entrypoint airflow connections get "$conn" -o yaml >/dev/null \
    && echo "airflow-init: connection ${conn} is set" \
    || { echo "airflow-init: connection ${conn} is missing or invalid" >&2; exit 1; }
done

chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs /opt/airflow/config
echo "airflow-init: done"
