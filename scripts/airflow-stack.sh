#!/usr/bin/env bash
# A real local Airflow 3.3 for the end-to-end tests and for trying the DAGs by hand:
# PostgreSQL (Debian's packages) as the metadata database, LocalExecutor or CeleryExecutor (Redis from
# Debian's packages as the broker, two workers as in docker-compose.yaml), and the api-server, scheduler,
# dag-processor and triggerer as background processes with pid files and logs, all under .cache/.
#
# Usage: scripts/airflow-stack.sh start|stop|status|env
#   start   initialise (once) and start PostgreSQL, create the database, migrate it, create the
#           connections and the pool, start the four Airflow components, wait for /api/v2/monitor/health
#   stop    stop only what `start` started (by its pid files and process groups) and PostgreSQL
#   status  print the health answer
#   env     print the environment file to `source` for running `airflow ...` against this stack
#
# Settings (environment):
#   AIRFLOW_STACK_DIR         state folder (default .cache/airflow-stack)
#   AIRFLOW_STACK_PG_PORT     PostgreSQL port on 127.0.0.1 (default 5433)
#   AIRFLOW_STACK_PORT        api-server port on 127.0.0.1 (default 8280)
#   AIRFLOW_STACK_DAGS_FOLDER DAGs folder (default: the repository's dags/)
#   AIRFLOW_STACK_FRESH       1: drop and recreate the metadata database at start (default 0)
#   AIRFLOW_STACK_USER / AIRFLOW_STACK_PASSWORD  SimpleAuthManager admin (default admin / admin)
#   AIRFLOW_STACK_ES_URL      Elasticsearch for elasticsearch_default (default http://127.0.0.1:9200)
#   AIRFLOW_STACK_GENESYS_URL base_url of genesys_cloud_default (default http://127.0.0.1:8180, the simulator)
#   AIRFLOW_STACK_GENESYS_CLIENT_ID / _SECRET (default demo-client / demo-secret)
#   AIRFLOW_STACK_GENESYS_RPM requests_per_minute of genesys_cloud_default (default 300)
#   AIRFLOW_STACK_POOL_SLOTS  slots of the genesys_api pool (default 4)
#   AIRFLOW_STACK_WAIT_SECONDS how long start waits for health (default 240)
#   AIRFLOW_STACK_EXECUTOR    LocalExecutor (default) or CeleryExecutor
#   AIRFLOW_STACK_REDIS_PORT  Redis port on 127.0.0.1 for CeleryExecutor (default 6380)
#   AIRFLOW_STACK_CELERY_WORKERS  Celery workers (default 2), worker-N@<host>, queues default and worker-N
#   AIRFLOW_STACK_CELERY_CONCURRENCY task slots per Celery worker (default 4)
# Any other AIRFLOW__* variable set by the caller reaches the Airflow processes unchanged
# (e.g. AIRFLOW__GENESYS_ES__START_DATE).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="${AIRFLOW_STACK_DIR:-$ROOT/.cache/airflow-stack}"
PG_PORT="${AIRFLOW_STACK_PG_PORT:-5433}"
API_PORT="${AIRFLOW_STACK_PORT:-8280}"
DAGS_FOLDER="${AIRFLOW_STACK_DAGS_FOLDER:-$ROOT/dags}"
ADMIN_USER="${AIRFLOW_STACK_USER:-admin}"
ADMIN_PASSWORD="${AIRFLOW_STACK_PASSWORD:-admin}"
ES_URL_FOR_CONN="${AIRFLOW_STACK_ES_URL:-http://127.0.0.1:9200}"
GENESYS_URL="${AIRFLOW_STACK_GENESYS_URL:-http://127.0.0.1:8180}"
GENESYS_CLIENT_ID="${AIRFLOW_STACK_GENESYS_CLIENT_ID:-demo-client}"
GENESYS_CLIENT_SECRET="${AIRFLOW_STACK_GENESYS_CLIENT_SECRET:-demo-secret}"
GENESYS_RPM="${AIRFLOW_STACK_GENESYS_RPM:-300}"
POOL_SLOTS="${AIRFLOW_STACK_POOL_SLOTS:-4}"
WAIT_SECONDS="${AIRFLOW_STACK_WAIT_SECONDS:-240}"
VENV_BIN="${AIRFLOW_STACK_VENV_BIN:-$ROOT/.venv/bin}"
EXECUTOR="${AIRFLOW_STACK_EXECUTOR:-LocalExecutor}"
REDIS_PORT="${AIRFLOW_STACK_REDIS_PORT:-6380}"
CELERY_WORKERS="${AIRFLOW_STACK_CELERY_WORKERS:-2}"
CELERY_CONCURRENCY="${AIRFLOW_STACK_CELERY_CONCURRENCY:-4}"

PG_DATA="$STACK_DIR/pgdata"
PG_RUN="$STACK_DIR/pgrun"
PG_LOG="$STACK_DIR/logs/postgresql.log"
PID_DIR="$STACK_DIR/pids"
LOG_DIR="$STACK_DIR/logs"
ENV_FILE="$STACK_DIR/env.sh"
COMPONENTS=(api-server scheduler dag-processor triggerer)
case "$EXECUTOR" in
  LocalExecutor) ;;
  CeleryExecutor) for ((i = 1; i <= CELERY_WORKERS; i++)); do COMPONENTS+=("celery-worker-$i"); done ;;
  *) echo "airflow-stack: AIRFLOW_STACK_EXECUTOR must be LocalExecutor or CeleryExecutor, got $EXECUTOR" >&2; exit 1 ;;
esac
REDIS_DIR="$STACK_DIR/redis"

die() { echo "airflow-stack: $*" >&2; exit 1; }
say() { echo "airflow-stack: $*"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [[ -n "$dir" && -x "$dir/initdb" ]] \
    || die "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): run scripts/install-system-deps.sh"
  echo "$dir"
}

# PostgreSQL refuses to run as root: as root, run its commands as the `postgres` system user.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    setpriv --reuid=postgres --regid="$(id -g postgres)" --clear-groups -- "$@"
  else
    "$@"
  fi
}

pg_running() { [[ -f "$PG_DATA/postmaster.pid" ]] && as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

psql_admin() { "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

start_postgres() {
  local bin; bin="$(pg_bin)"
  mkdir -p "$STACK_DIR" "$LOG_DIR" "$PG_RUN"
  if [[ "$(id -u)" == 0 ]]; then
    as_pg true
    # The postgres user must be able to reach the state folder.
    local d="$STACK_DIR"; while [[ "$d" != "/" ]]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
    chown postgres "$PG_RUN" "$LOG_DIR"
    touch "$PG_LOG"; chown postgres "$PG_LOG"
  fi
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    say "initialising a PostgreSQL cluster in $PG_DATA"
    mkdir -p "$PG_DATA"
    [[ "$(id -u)" == 0 ]] && chown postgres "$PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 \
      || { tail -20 "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  if pg_running; then
    say "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    port_in_use "$PG_PORT" && die "port $PG_PORT is in use by something else: set AIRFLOW_STACK_PG_PORT"
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start \
      -o "-p $PG_PORT -k $PG_RUN -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" >/dev/null \
      || { tail -20 "$PG_LOG" >&2; die "PostgreSQL did not start"; }
    say "PostgreSQL up on 127.0.0.1:$PG_PORT"
  fi
  if [[ "${AIRFLOW_STACK_FRESH:-0}" == 1 ]]; then
    psql_admin -d postgres -c "DROP DATABASE IF EXISTS airflow WITH (FORCE)"
  fi
  if [[ "$(psql_admin -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'airflow'")" != 1 ]]; then
    psql_admin -d postgres -c "CREATE DATABASE airflow"
    say "created database airflow"
  fi
}

start_redis() {
  [[ "$EXECUTOR" == CeleryExecutor ]] || return 0
  command -v redis-server >/dev/null || die "redis-server not found: run scripts/install-system-deps.sh"
  mkdir -p "$REDIS_DIR"
  if [[ -f "$REDIS_DIR/redis.pid" ]] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    say "Redis already running on 127.0.0.1:$REDIS_PORT"; return
  fi
  port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is in use by something else: set AIRFLOW_STACK_REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$LOG_DIR/redis.log" --save "" --appendonly no \
    || die "Redis did not start (see $LOG_DIR/redis.log)"
  for _ in $(seq 1 50); do port_in_use "$REDIS_PORT" && break; sleep 0.1; done
  say "Redis up on 127.0.0.1:$REDIS_PORT"
}

stop_redis() {
  [[ -f "$REDIS_DIR/redis.pid" ]] || return 0
  local pid; pid="$(cat "$REDIS_DIR/redis.pid")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$REDIS_DIR/redis.pid"
  say "stopped Redis (pid $pid)"
}

write_env() {
  mkdir -p "$STACK_DIR/home" "$STACK_DIR/no-plugins"
  [[ -s "$STACK_DIR/jwt_secret" ]] || python3 -c "import secrets; print(secrets.token_urlsafe(32))" >"$STACK_DIR/jwt_secret"
  printf '{"%s": "%s"}\n' "$ADMIN_USER" "$ADMIN_PASSWORD" >"$STACK_DIR/passwords.json"
  cat >"$ENV_FILE" <<EOF
# Generated by scripts/airflow-stack.sh: source it to run airflow commands against the local stack.
export PATH="$VENV_BIN:\$PATH"
export PYTHONPATH="$ROOT\${PYTHONPATH:+:\$PYTHONPATH}"
export AIRFLOW_HOME="$STACK_DIR/home"
export AIRFLOW__CORE__EXECUTOR=$EXECUTOR
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg2://postgres@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__CELERY__WORKER_CONCURRENCY=$CELERY_CONCURRENCY
# The scheduler's and triggerer's log servers (Airflow's defaults 8793/8794 unless set by the caller).
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=${AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT:-8793}
export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=${AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT:-8794}
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://postgres@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$DAGS_FOLDER"
export AIRFLOW__CORE__PLUGINS_FOLDER="$STACK_DIR/no-plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$ADMIN_USER:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$STACK_DIR/passwords.json"
# The connection list's Test button (off by default in Airflow 3).
export AIRFLOW__CORE__TEST_CONNECTION=Enabled
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT=$API_PORT
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
export AIRFLOW__API__WORKERS=1
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
export AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$STACK_DIR/jwt_secret")"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$LOG_DIR/tasks"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=\${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-10}
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=\${AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME:-1}
export AIRFLOW__CORE__PARALLELISM=\${AIRFLOW__CORE__PARALLELISM:-8}
# Each partition task spends requests_per_minute / max_active_partitions: equal to the pool's slots.
export AIRFLOW__GENESYS_ES__MAX_ACTIVE_PARTITIONS=\${AIRFLOW__GENESYS_ES__MAX_ACTIVE_PARTITIONS:-$POOL_SLOTS}
# The simulator prepares a details job in 0.5 s (Genesys in minutes): poll it every 2 s, not every 10.
export AIRFLOW__GENESYS_ES__JOB_POLL_SECONDS=\${AIRFLOW__GENESYS_ES__JOB_POLL_SECONDS:-2}
EOF
}

setup_airflow() {
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  say "migrating the metadata database"
  airflow db migrate >"$LOG_DIR/db-migrate.log" 2>&1 || { tail -30 "$LOG_DIR/db-migrate.log" >&2; die "airflow db migrate failed"; }
  python3 "$ROOT/scripts/connections.py" --genesys-url "$GENESYS_URL" --es-url "$ES_URL_FOR_CONN" \
    --client-id "$GENESYS_CLIENT_ID" --client-secret "$GENESYS_CLIENT_SECRET" --requests-per-minute "$GENESYS_RPM" \
    >"$STACK_DIR/connections.json" || die "cannot write the connections"
  airflow connections import --overwrite "$STACK_DIR/connections.json" >"$LOG_DIR/setup.log" 2>&1 \
    || { tail -20 "$LOG_DIR/setup.log" >&2; die "cannot create the connections"; }
  airflow pools set genesys_api "$POOL_SLOTS" "Tasks calling the Genesys Cloud API (300 requests/minute per client)" \
    >>"$LOG_DIR/setup.log" 2>&1 || { tail -20 "$LOG_DIR/setup.log" >&2; die "cannot create the pool"; }
  # pii=hash keys its HMAC with this Variable (a random key kept in the state folder; the default is pii=drop).
  [[ -s "$STACK_DIR/pii_key" ]] || python3 -c "import secrets; print(secrets.token_hex(24))" >"$STACK_DIR/pii_key"
  airflow variables set genesys_es_pii_secret "$(cat "$STACK_DIR/pii_key")" >>"$LOG_DIR/setup.log" 2>&1 \
    || { tail -20 "$LOG_DIR/setup.log" >&2; die "cannot set the Variable genesys_es_pii_secret"; }
  say "connections genesys_cloud_default ($GENESYS_URL), elasticsearch_default ($ES_URL_FOR_CONN); pool genesys_api ($POOL_SLOTS slots)"
}

component_running() {
  local pid_file="$PID_DIR/$1.pid"
  [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

start_components() {
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  mkdir -p "$PID_DIR"
  port_in_use "$API_PORT" && ! component_running api-server \
    && die "port $API_PORT is in use by something else: set AIRFLOW_STACK_PORT"
  local c
  for c in "${COMPONENTS[@]}"; do
    if component_running "$c"; then say "$c already running (pid $(cat "$PID_DIR/$c.pid"))"; continue; fi
    # setsid: each component leads its own process group, so stop ends it with its children only.
    local -a cmd=(airflow "$c")
    if [[ "$c" == celery-worker-* ]]; then
      local name="${c#celery-}"
      # As the compose file's workers: own name, the default queue plus one of its own, own log-server port.
      cmd=(env "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((8793 + 10 * ${name#worker-}))"
        airflow celery worker --celery-hostname "$name@%h" --queues "default,$name"
        --concurrency "$CELERY_CONCURRENCY")
    fi
    setsid "${cmd[@]}" >"$LOG_DIR/$c.log" 2>&1 </dev/null &
    echo $! >"$PID_DIR/$c.pid"
    say "started $c (pid $!, log $LOG_DIR/$c.log)"
  done
}

celery_ready() {
  local c
  for c in "${COMPONENTS[@]}"; do
    [[ "$c" == celery-worker-* ]] || continue
    grep -q "ready\." "$LOG_DIR/$c.log" 2>/dev/null || return 1
  done
}

health() { curl -s -m 5 "http://127.0.0.1:$API_PORT/api/v2/monitor/health" 2>/dev/null || true; }

wait_healthy() {
  local deadline=$((SECONDS + WAIT_SECONDS)) h c
  while (( SECONDS < deadline )); do
    for c in "${COMPONENTS[@]}"; do
      component_running "$c" || { tail -30 "$LOG_DIR/$c.log" >&2; stop_components; die "$c exited (log above)"; }
    done
    h="$(health)"
    if python3 -c '
import json, sys
h = json.loads(sys.argv[1])
ok = all((h.get(k) or {}).get("status") == "healthy" for k in ("metadatabase", "scheduler", "triggerer", "dag_processor"))
sys.exit(0 if ok else 1)' "$h" 2>/dev/null && celery_ready; then
      say "Airflow ($EXECUTOR) healthy on http://127.0.0.1:$API_PORT (user $ADMIN_USER / $ADMIN_PASSWORD); source $ENV_FILE for the CLI"
      return
    fi
    sleep 2
  done
  echo "airflow-stack: last health answer: $h" >&2
  for c in "${COMPONENTS[@]}"; do echo "--- $c ---" >&2; tail -15 "$LOG_DIR/$c.log" >&2; done
  die "Airflow did not become healthy within ${WAIT_SECONDS}s"
}

stop_components() {
  # Every component that has a pid file, whichever executor started it.
  local f c pid
  local -a started=()
  for f in "$PID_DIR"/*.pid; do [[ -f "$f" ]] && started+=("$(basename "$f" .pid)"); done
  for c in "${started[@]}"; do
    pid="$(cat "$PID_DIR/$c.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for c in "${started[@]}"; do
    pid="$(cat "$PID_DIR/$c.pid")"
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || pgrep -g "$pid" >/dev/null 2>&1 || break
      sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$PID_DIR/$c.pid"
    say "stopped $c (pid $pid)"
  done
}

stop_postgres() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  as_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 && say "stopped PostgreSQL" || true
}

case "${1:-}" in
  start)
    [[ -x "$VENV_BIN/airflow" ]] || die "no $VENV_BIN/airflow: run 'make venv' first"
    start_postgres
    start_redis
    write_env
    setup_airflow
    start_components
    wait_healthy
    ;;
  stop)
    stop_components
    stop_redis
    stop_postgres
    ;;
  status)
    health; echo
    ;;
  env)
    [[ -f "$ENV_FILE" ]] || die "no $ENV_FILE yet: run start first"
    cat "$ENV_FILE"
    ;;
  *)
    die "usage: $0 start|stop|status|env"
    ;;
esac
