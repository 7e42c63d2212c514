#!/usr/bin/env bash
# The Airflow UI for the demo: `airflow standalone` on http://127.0.0.1:8080 with the demo's connections, pool
# and PII key stored in its metadata database (so they can be seen and edited under Admin), in the background.
#
# Usage: scripts/airflow-ui.sh [start|stop|status]
#   start (default)  start it (or say it runs), wait until it answers, print the address and how to log in
#   stop             stop it and everything it started; wait until ports 8080, 8793 and 8794 are free
#   status           print the health answer
# Works from any shell: the venv's bin folder is put on PATH here (standalone starts `airflow ...` from PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/demo_env.sh
export PATH="$REPO/.venv/bin:$PATH"
UI_PORT=8080
PORTS=(8080 8793 8794)  # api-server, and the log servers of the scheduler and triggerer
PID_FILE="$AIRFLOW_HOME/standalone.pid"
LOG_FILE="$AIRFLOW_HOME/standalone.log"
PASSWORDS="$AIRFLOW_HOME/ui_passwords.json"
# The UI reads connections and the Variable from the database, not from the demo's environment variables.
PII_SECRET="$AIRFLOW_VAR_GENESYS_ES_PII_SECRET"
unset AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT AIRFLOW_CONN_ELASTICSEARCH_DEFAULT AIRFLOW_VAR_GENESYS_ES_PII_SECRET
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$UI_PORT
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$PASSWORDS"
# The connection form's Test button (off by default in Airflow 3).
export AIRFLOW__CORE__TEST_CONNECTION=Enabled

say() { echo "airflow-ui: $*"; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
running() { [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
password() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$PASSWORDS"; }

login_line() {
  say "open http://127.0.0.1:$UI_PORT and log in as admin / $(password) (kept in $PASSWORDS)"
}

setup() {
  mkdir -p "$AIRFLOW_HOME"
  [[ -s "$PASSWORDS" ]] || python3 -c 'import json, secrets, sys; json.dump({"admin": secrets.token_urlsafe(12)}, open(sys.argv[1], "w"))' "$PASSWORDS"
  airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -20 "$AIRFLOW_HOME/db-migrate.log" >&2; exit 1; }
  airflow pools set genesys_api 4 "Genesys Cloud API: 300 requests/minute per OAuth client" >/dev/null
  python3 scripts/connections.py --genesys-url "http://127.0.0.1:$SIM_PORT" --es-url "http://127.0.0.1:$ES_PORT" \
    >"$AIRFLOW_HOME/connections.json"
  airflow connections import --overwrite "$AIRFLOW_HOME/connections.json" >/dev/null
  airflow variables set genesys_es_pii_secret "$PII_SECRET" >/dev/null
}

start() {
  if running; then say "already running (pid $(cat "$PID_FILE"))"; login_line; return; fi
  for port in "${PORTS[@]}"; do
    port_in_use "$port" && { say "port $port is in use by something else: stop it first (scripts/airflow-ui.sh stop)" >&2; exit 1; }
  done
  setup
  # setsid: standalone leads its own process group, so stop ends it with every component it started.
  setsid airflow standalone >"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 180); do
    curl -sf "http://127.0.0.1:$UI_PORT/api/v2/monitor/health" >/dev/null 2>&1 && break
    running || { tail -30 "$LOG_FILE" >&2; say "standalone exited (log above)" >&2; exit 1; }
    sleep 1
  done
  curl -sf "http://127.0.0.1:$UI_PORT/api/v2/monitor/health" >/dev/null || { say "no answer on port $UI_PORT after 180 s (log: $LOG_FILE)" >&2; exit 1; }
  say "up (pid $(cat "$PID_FILE"), log $LOG_FILE); stop it with scripts/airflow-ui.sh stop"
  login_line
  say "DAGs start paused and their runs wait until unpaused; Trigger unpauses by default (\"Unpause ... on trigger\")," \
    "and then the scheduler also catches up every day from [genesys_es] start_date ($AIRFLOW__GENESYS_ES__START_DATE)"
}

stop() {
  if [[ -f "$PID_FILE" ]]; then
    local pid; pid="$(cat "$PID_FILE")"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do pgrep -g "$pid" >/dev/null 2>&1 || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$PID_FILE"
  fi
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 40); do port_in_use "$port" || break; sleep 0.25; done
    port_in_use "$port" && { say "port $port is still in use (not by this script's processes?)" >&2; exit 1; }
  done
  say "stopped; ports ${PORTS[*]} are free"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) curl -s "http://127.0.0.1:$UI_PORT/api/v2/monitor/health"; echo ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
