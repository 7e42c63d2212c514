#!/usr/bin/env bash
# Lint, then run the test suite against a real Elasticsearch node (started here, stopped on exit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=.venv/bin

"$BIN/ruff" check .

# PostgreSQL and Chromium for the full-stack e2e and browser tests (idempotent; skips without root).
scripts/install-system-deps.sh

if [[ -z "${ES_URL:-}" ]]; then
  export ES_PORT="${ES_PORT:-9201}"
  trap 'scripts/es.sh stop' EXIT
  scripts/es.sh start
  export ES_URL="http://127.0.0.1:$ES_PORT"
fi

"$BIN/pytest" "$@"
