#!/usr/bin/env bash
# Manage a single-node Elasticsearch for tests and the demo (or one node of a cluster: scripts/es-cluster.sh).
# Usage: scripts/es.sh start|stop|status
# Cluster node settings (set by es-cluster.sh): ES_CLUSTER_NAME, ES_NODE_NAME, ES_SEED_TRANSPORT_PORTS
# (comma-separated transport ports of every node), ES_INITIAL_MASTERS (node names), ES_NO_WAIT=1 (do not
# wait for health: a cluster answers only once a majority of its masters is up).
set -euo pipefail

ES_VERSION="${ES_VERSION:-8.19.21}"
ES_PORT="${ES_PORT:-9200}"
ES_HEAP="${ES_HEAP:-1g}"
ES_WAIT_SECONDS="${ES_WAIT_SECONDS:-120}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ES_CACHE_DIR:-$ROOT/.cache/elasticsearch}"
HOME_DIR="$CACHE/elasticsearch-$ES_VERSION"
RUN_DIR="$CACHE/run-$ES_PORT"
PID_FILE="$RUN_DIR/es.pid"
ES_USER="${ES_USER:-genesys-es}"

die() { echo "es.sh: $*" >&2; exit 1; }

java_home() {
  if [[ -n "${ES_JAVA_HOME:-}" ]]; then echo "$ES_JAVA_HOME"; return; fi
  local java
  java="$(command -v java || true)"
  [[ -n "$java" ]] || die "no Java found: install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless) or set ES_JAVA_HOME"
  dirname "$(dirname "$(readlink -f "$java")")"
}

check_java() {
  local jh="$1" ver
  [[ -x "$jh/bin/java" ]] || die "ES_JAVA_HOME=$jh has no bin/java"
  ver="$("$jh/bin/java" -version 2>&1 | head -1 | sed -E 's/.*version "([0-9]+).*/\1/')"
  [[ "$ver" =~ ^[0-9]+$ ]] || die "cannot read the Java version from $jh/bin/java"
  (( ver >= 17 )) || die "Java $ver found at $jh; Elasticsearch $ES_VERSION needs Java 17 or newer"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

download() {
  [[ -d "$HOME_DIR" ]] && return
  mkdir -p "$CACHE"
  local zip="$CACHE/elasticsearch-$ES_VERSION.zip"
  if [[ ! -f "$zip" ]]; then
    command -v mvn >/dev/null || die "mvn not found: install Maven to download Elasticsearch"
    echo "es.sh: downloading org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip with mvn"
    mvn -q -B dependency:copy \
      "-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
      "-DoutputDirectory=$CACHE" >"$CACHE/mvn.log" 2>&1 \
      || die "download failed (see $CACHE/mvn.log): $(tail -3 "$CACHE/mvn.log" | tr '\n' ' ')"
  fi
  local tmp="$CACHE/unpack.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  (cd "$tmp" && python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall('.')" "$zip") \
    || die "cannot unpack $zip"
  mv "$tmp/elasticsearch-$ES_VERSION" "$HOME_DIR"
  rm -rf "$tmp"
  chmod +x "$HOME_DIR"/bin/*
}

health() {
  curl -s -m 5 "http://127.0.0.1:$ES_PORT/_cluster/health" 2>/dev/null || true
}

start() {
  if [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "es.sh: already running (pid $(cat "$PID_FILE")) on 127.0.0.1:$ES_PORT"; return
  fi
  port_in_use "$ES_PORT" && die "port $ES_PORT is already in use: stop what listens there or set ES_PORT"
  local jh; jh="$(java_home)"; check_java "$jh"
  download
  mkdir -p "$RUN_DIR/data" "$RUN_DIR/logs"
  local -a runner=()
  if [[ "$(id -u)" == 0 ]]; then
    id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER" \
      || die "cannot create system user $ES_USER (Elasticsearch refuses to run as root)"
    chown -R "$ES_USER" "$HOME_DIR" "$RUN_DIR"
    # The user must be able to reach the cache directory.
    local d="$CACHE"; while [[ "$d" != "/" ]]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
    runner=(setpriv --reuid="$ES_USER" --regid="$(id -g "$ES_USER")" --clear-groups --)
  fi
  rm -f "$PID_FILE"
  local -a discovery=(-E "discovery.type=single-node")
  if [[ -n "${ES_SEED_TRANSPORT_PORTS:-}" ]]; then
    local seeds
    seeds="$(echo "$ES_SEED_TRANSPORT_PORTS" | sed -E 's/([0-9]+)/127.0.0.1:\1/g')"
    discovery=(-E "discovery.seed_hosts=$seeds")
    # Only a cluster's very first start may bootstrap it; a restarted node rejoins through the seeds.
    [[ -d "$RUN_DIR/data/_state" ]] || discovery+=(-E "cluster.initial_master_nodes=$ES_INITIAL_MASTERS")
  fi
  ES_JAVA_HOME="$jh" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP ${ES_EXTRA_JAVA_OPTS:-}" \
    "${runner[@]}" "$HOME_DIR/bin/elasticsearch" -d -p "$PID_FILE" \
      "${discovery[@]}" \
      -E "xpack.security.enabled=false" \
      -E "network.host=127.0.0.1" \
      -E "http.port=$ES_PORT" \
      -E "transport.port=$((ES_PORT + 100))" \
      -E "cluster.name=${ES_CLUSTER_NAME:-genesys-es-$ES_PORT}" \
      -E "node.name=${ES_NODE_NAME:-genesys-es-$ES_PORT}" \
      -E "path.data=$RUN_DIR/data" \
      -E "path.logs=$RUN_DIR/logs" \
      -E "action.destructive_requires_name=false" \
      -E "cluster.routing.allocation.disk.threshold_enabled=${ES_DISK_THRESHOLD:-true}" \
      ${ES_EXTRA_SETTINGS:-} >"$RUN_DIR/stdout.log" 2>&1 \
    || { tail -20 "$RUN_DIR/stdout.log" >&2; die "Elasticsearch failed to start"; }
  if [[ -n "${ES_NO_WAIT:-}" ]]; then
    echo "es.sh: node ${ES_NODE_NAME:-} starting on http://127.0.0.1:$ES_PORT (pid $(cat "$PID_FILE"))"
    return
  fi
  local deadline=$((SECONDS + ES_WAIT_SECONDS)) h
  while (( SECONDS < deadline )); do
    h="$(health)"
    if [[ "$h" == *'"status":"green"'* || "$h" == *'"status":"yellow"'* ]]; then
      echo "es.sh: Elasticsearch $ES_VERSION up on http://127.0.0.1:$ES_PORT (pid $(cat "$PID_FILE"))"
      return
    fi
    sleep 1
  done
  echo "es.sh: --- tail of the node log ---" >&2
  tail -30 "$RUN_DIR/logs/${ES_CLUSTER_NAME:-genesys-es-$ES_PORT}.log" 2>/dev/null >&2 || tail -30 "$RUN_DIR/stdout.log" >&2
  stop >/dev/null 2>&1 || true
  die "Elasticsearch did not reach yellow/green within ${ES_WAIT_SECONDS}s"
}

stop() {
  [[ -f "$PID_FILE" ]] || { echo "es.sh: not running (no pid file $PID_FILE)"; return; }
  local pid; pid="$(cat "$PID_FILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$PID_FILE"
  echo "es.sh: stopped (pid $pid)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) health; echo ;;
  *) die "usage: $0 start|stop|status" ;;
esac
