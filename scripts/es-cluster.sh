#!/usr/bin/env bash
# A three-node Elasticsearch cluster on loopback (the Maven zip, as scripts/es.sh runs one node): every node
# master-eligible and data, security off, one cluster name, replicas possible.
#
# Usage: scripts/es-cluster.sh start|stop|status|kill N|start-node N
#   start        start the nodes that are not running and wait until the cluster has all of them (green)
#   stop         stop every node (data kept in .cache/elasticsearch/run-<port>)
#   status       print the cluster health
#   kill N       SIGKILL node N (1..3), as a crash does
#   start-node N start node N again (it rejoins the cluster)
# Settings: ES_CLUSTER_PORTS (default "9211 9212 9213"; transport ports are +100), ES_HEAP (default 512m),
# ES_CLUSTER_NAME (default genesys-es-cluster), ES_WAIT_SECONDS (default 180).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a PORTS <<<"${ES_CLUSTER_PORTS:-9211 9212 9213}"
export ES_CLUSTER_NAME="${ES_CLUSTER_NAME:-genesys-es-cluster}"
export ES_HEAP="${ES_HEAP:-512m}"
WAIT_SECONDS="${ES_WAIT_SECONDS:-180}"
CACHE="${ES_CACHE_DIR:-$ROOT/.cache/elasticsearch}"

die() { echo "es-cluster: $*" >&2; exit 1; }

node_name() { echo "node-$1"; }

seeds() { local out=() p; for p in "${PORTS[@]}"; do out+=("$((p + 100))"); done; (IFS=,; echo "${out[*]}"); }

masters() { local out=() i; for i in "${!PORTS[@]}"; do out+=("$(node_name $((i + 1)))"); done; (IFS=,; echo "${out[*]}"); }

port_of() {
  local n="$1"
  [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 1 && n <= ${#PORTS[@]} )) || die "node number must be 1..${#PORTS[@]}, got '$n'"
  echo "${PORTS[$((n - 1))]}"
}

start_node() {
  local n="$1" port; port="$(port_of "$n")"
  ES_PORT="$port" ES_NODE_NAME="$(node_name "$n")" ES_SEED_TRANSPORT_PORTS="$(seeds)" \
    ES_INITIAL_MASTERS="$(masters)" ES_NO_WAIT=1 "$ROOT/scripts/es.sh" start
}

health() { curl -s -m 5 "http://127.0.0.1:${PORTS[0]}/_cluster/health" 2>/dev/null || true; }

wait_green() {
  local deadline=$((SECONDS + WAIT_SECONDS)) h url
  while (( SECONDS < deadline )); do
    for port in "${PORTS[@]}"; do
      url="http://127.0.0.1:$port/_cluster/health?wait_for_nodes=${#PORTS[@]}&wait_for_status=green&timeout=2s"
      h="$(curl -s -m 5 "$url" 2>/dev/null || true)"
      if [[ "$h" == *'"status":"green"'* && "$h" == *"\"number_of_nodes\":${#PORTS[@]}"* ]]; then
        echo "es-cluster: $ES_CLUSTER_NAME green with ${#PORTS[@]} nodes on ports ${PORTS[*]}"
        return
      fi
    done
    sleep 1
  done
  die "the cluster did not reach green with ${#PORTS[@]} nodes within ${WAIT_SECONDS}s: $(health)"
}

case "${1:-}" in
  start)
    for i in "${!PORTS[@]}"; do start_node $((i + 1)); done
    wait_green
    ;;
  stop)
    for port in "${PORTS[@]}"; do ES_PORT="$port" "$ROOT/scripts/es.sh" stop; done
    ;;
  status) health; echo ;;
  kill)
    port="$(port_of "${2:-}")"
    pid_file="$CACHE/run-$port/es.pid"
    [[ -f "$pid_file" ]] || die "node ${2} is not running (no $pid_file)"
    kill -9 "$(cat "$pid_file")" && rm -f "$pid_file"
    echo "es-cluster: node ${2} (port $port) killed"
    ;;
  start-node) start_node "${2:-}" ;;
  *) die "usage: $0 start|stop|status|kill N|start-node N" ;;
esac
