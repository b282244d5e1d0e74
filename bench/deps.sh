#!/usr/bin/env bash
# Whole-process timings of the dependency audit, start-up included ("cold"): importing the
# PyPA snapshot, and `stormwatch deps` on generated lockfiles of 100 / 1,000 / 10,000
# packages with the database ready. In-process ("warm") timings: `cargo bench -p stormwatch-audit`.
#
# usage: bench/deps.sh [ADVISORY_DIR]   (default: ../shared/advisory-db/pypa-vulns)
set -euo pipefail
cd "$(dirname "$0")/.."
VULNS=${1:-../shared/advisory-db/pypa-vulns}
RUNS=${RUNS:-15}
if [ ! -d "$VULNS" ]; then
  echo "advisory snapshot not found at $VULNS; nothing to measure" >&2
  exit 0
fi
cargo build --release -q -p stormwatch-cli
BIN=target/release/stormwatch
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=bench/lib.sh
. bench/lib.sh

report() {
  local runs=$1
  read -r min med < <(timeit "$@")
  echo "min $min ms, median $med ms ($runs runs)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "db import ($(find "$VULNS" -name '*.yaml' -o -name '*.json' | wc -l) files):"
report 3 "$BIN" db import "$VULNS" --db "$WORK/advisories.db"
"$BIN" db import "$VULNS" --db "$WORK/advisories.db" | head -1
for n in 100 1000 10000; do
  python3 bench/gen_lock.py "$VULNS" "$n" "$WORK/uv-$n.lock"
  mkdir -p "$WORK/p$n" && cp "$WORK/uv-$n.lock" "$WORK/p$n/uv.lock"
  findings=$("$BIN" deps "$WORK/p$n/uv.lock" --db "$WORK/advisories.db" --format json --fail-on none \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))')
  echo "deps, $n packages ($findings findings):"
  report "$RUNS" "$BIN" deps "$WORK/p$n/uv.lock" --db "$WORK/advisories.db" --format json
done
