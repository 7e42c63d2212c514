#!/usr/bin/env bash
# Stop what `make demo` and `scripts/airflow-ui.sh` started.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/demo_env.sh
scripts/airflow-ui.sh stop
if [[ -f .cache/simulator.pid ]]; then kill "$(cat .cache/simulator.pid)" 2>/dev/null; rm -f .cache/simulator.pid; echo "simulator stopped"; fi
scripts/es.sh stop
