#!/usr/bin/env bash
# `make bench`: measure ceiling, pipeline, baseline, throttled rate, scale and search latency (bench/run.py).
#
#   BENCH_MODE=quick|full   quick (default): 10k-conversation comparison, scale 10k/30k, 1-minute throttled run;
#                           full: 20k comparison x5 (other sections x3), scale 10k/100k/300k, 2-minute throttled run (about 20 minutes
#                           here, plus about 30 to load the 1M search corpus the first time; it is reused after).
#   BENCH_ES_PORT=9400      a dedicated Elasticsearch node (started here if not running, left running).
#   BENCH_ES_URL=...        use an existing node instead (no start).
#   BENCH_ARGS="..."        extra bench/run.py flags, e.g. "--only compare,throttled" or "--search-target 200000".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${BENCH_MODE:-quick}"
PORT="${BENCH_ES_PORT:-9400}"
if [[ -z "${BENCH_ES_URL:-}" ]]; then
  BENCH_ES_URL="http://127.0.0.1:$PORT"
  if ! curl -s -m 5 "$BENCH_ES_URL/_cluster/health" >/dev/null 2>&1; then
    ES_PORT="$PORT" ES_HEAP="${BENCH_ES_HEAP:-2g}" scripts/es.sh start
  fi
fi
# shellcheck disable=SC2086
exec .venv/bin/python -m bench.run --mode "$MODE" --es-url "$BENCH_ES_URL" ${BENCH_ARGS:-}
