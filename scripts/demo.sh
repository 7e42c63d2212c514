#!/usr/bin/env bash
# One-command demo: Elasticsearch + the Genesys simulator + the ingest DAG over three days, then a report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/demo_env.sh

scripts/es.sh start
mkdir -p .cache
if ! curl -sf "http://127.0.0.1:$SIM_PORT/_sim/stats" >/dev/null 2>&1; then
  .venv/bin/python -m include.genesys_simulator --host 127.0.0.1 --port "$SIM_PORT" --seed 7 \
    --conversations-per-day 2000 --rate-limit-per-minute 300 >.cache/simulator.log 2>&1 &
  echo $! >.cache/simulator.pid
  for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$SIM_PORT/_sim/stats" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -sf "http://127.0.0.1:$SIM_PORT/_sim/stats" >/dev/null || { tail -20 .cache/simulator.log; echo "demo: the simulator did not start" >&2; exit 1; }
  echo "demo: Genesys simulator on http://127.0.0.1:$SIM_PORT (pid $(cat .cache/simulator.pid))"
fi
.venv/bin/python scripts/demo.py "$@"
cat <<MSG

Elasticsearch (http://127.0.0.1:$ES_PORT) and the simulator (http://127.0.0.1:$SIM_PORT) are still running.
Open the Airflow UI with the same connections:   scripts/airflow-ui.sh   (it prints the address and the login)
Stop everything:                                  scripts/demo-stop.sh
MSG
