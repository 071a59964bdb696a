#!/usr/bin/env bash
# Prints how long `npm start` takes to be up: cold (no bundle cache), warm (cache hit) and with a policy new to the
# cache (the code's bundles cached), each on a fresh data folder.
# Usage: bash scripts/start-time.sh [runs per kind, default 1]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1}"
# The bundle cache it empties: COUNTERSIGN_BUNDLE_CACHE, or the default one.
cache="${COUNTERSIGN_BUNDLE_CACHE:-node_modules/.cache/countersign-local}"

once() {
  local data log pid t0 t1
  data="$(mktemp -d)"
  t0=$(date +%s%N)
  log="$data/start.log"
  PORT=0 COUNTERSIGN_CONFIG="${1:-countersign.config.yaml}" COUNTERSIGN_DATA_DIR="$data/data" COUNTERSIGN_ACCESS_LOG=0 node --import tsx local/start.ts >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    if grep -q 'is up in' "$log"; then t1=$(date +%s%N); break; fi
    if ! kill -0 "$pid" 2>/dev/null; then cat "$log" >&2; exit 1; fi
    sleep 0.1
  done
  kill -TERM "$pid"; wait "$pid" || true
  echo "$(grep -o 'is up in [0-9.]* s' "$log" | sed 's/is up in //') as printed, $(( (t1 - t0) / 1000000 )) ms from launch"
  rm -rf "$data"
}

for _ in $(seq 1 "$runs"); do
  rm -rf "$cache"
  echo "cold (no bundle cache): $(once)"
  echo "warm (bundle cache hit): $(once)"
  # The same policy with one more auditor, never seen before.
  policy="$(mktemp --suffix=.yaml)"
  sed "s/^auditors: \[\(.*\)\]/auditors: [\1, start-time-$RANDOM$RANDOM@example.com]/" countersign.config.yaml >"$policy"
  echo "new policy (code cached): $(once "$policy")"
  rm -f "$policy"
done
