#!/usr/bin/env bash
# One-command demo: completed by the ingest DAG issue.
set -euo pipefail
echo "make demo: the ingest DAG is not built yet (see issue 5); 'make test' runs the current suite." >&2
exit 1
