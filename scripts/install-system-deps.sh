#!/usr/bin/env bash
# Install the Debian packages the full-stack tests need: PostgreSQL (Airflow's metadata database),
# Redis (the Celery broker) and Chromium (the browser test). Idempotent: installs only what is missing, runs `apt-get update`
# at most once. As non-root without passwordless sudo it installs nothing and says so (exit 0), so
# `make test` still runs everything else; the e2e tests then skip with the same reason.
#
# Usage: scripts/install-system-deps.sh [--check]
#   --check  only report what is missing (exit 1 when something is).
set -euo pipefail

# Debian package -> a file that proves it is installed.
declare -A PROBES=(
  [postgresql]="/usr/lib/postgresql/*/bin/initdb"
  [chromium]="/usr/bin/chromium"
  [fonts-dejavu-core]="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
  [redis-server]="/usr/bin/redis-server"
)

have() {
  local pattern="$1"
  # shellcheck disable=SC2086
  compgen -G $pattern >/dev/null
}

missing=()
for pkg in "${!PROBES[@]}"; do
  have "${PROBES[$pkg]}" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-system-deps: ${!PROBES[*]} already installed"
  exit 0
fi

if [[ "${1:-}" == "--check" ]]; then
  echo "install-system-deps: missing: ${missing[*]}" >&2
  exit 1
fi

if [[ "$(id -u)" == 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "install-system-deps: not root and no passwordless sudo: skipping install of ${missing[*]}" \
       "(the e2e and browser tests will be skipped)" >&2
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: no apt-get on this system: install ${missing[*]} yourself" >&2
  exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
# Installing the postgresql package must not start (or create) the distribution's own cluster on 5432:
# the stack script runs its own cluster in .cache. policy-rc.d stops invoke-rc.d from starting services.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod +x "$policy"
  created_policy=1
fi
status=0
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" || status=$?
if [[ $created_policy == 1 ]]; then "${SUDO[@]}" rm -f "$policy"; fi
[[ $status == 0 ]] || { echo "install-system-deps: apt-get install failed ($status)" >&2; exit "$status"; }

for pkg in "${missing[@]}"; do
  have "${PROBES[$pkg]}" || { echo "install-system-deps: $pkg installed but ${PROBES[$pkg]} not found" >&2; exit 1; }
done
echo "install-system-deps: done"
