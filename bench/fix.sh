#!/usr/bin/env bash
# `stormwatch fix` on a requirements file of N pins (default 1,500: every PyPA package with
# a listed vulnerable version, the rest clean), against the PyPA snapshot: the dry run
# (plan + diff) and the real fix (edits read back, journal), whole process, release build.
#
# usage: bench/fix.sh [ADVISORY_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
VULNS=${1:-../shared/advisory-db/pypa-vulns}
N=${2:-1500}
if [ ! -d "$VULNS" ]; then
  echo "advisory snapshot not found at $VULNS; nothing to measure" >&2
  exit 0
fi
cargo build --release -q -p stormwatch-cli
BIN=$PWD/target/release/stormwatch
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export STORMWATCH_DB=$WORK/advisories.db
"$BIN" db import "$VULNS" > /dev/null
python3 bench/gen_lock.py "$VULNS" "$N" "$WORK/uv.lock"
mkdir -p "$WORK/app"
python3 - "$WORK/uv.lock" "$WORK/app/requirements.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
pins = re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', text)
open(sys.argv[2], "w").write("".join(f"{n}=={v}  # pinned\n" for n, v in pins))
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "requirements.txt: $(wc -l < "$WORK/app/requirements.txt") pins"
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/out" 2>&1 || true
  read -r secs kb < <(tail -1 "$WORK/time")
  printf '%-30s %6.2f s  peak RSS %4d MiB  (%s)\n' "$label" "$secs" $((kb / 1024)) \
    "$(grep -c '^Fixed\|^Would fix' "$WORK/out") fixed, $(grep -c '^Not fixed' "$WORK/out") not"
}
measure "fix --dry-run" "$BIN" fix "$WORK/app" --offline --dry-run
measure "fix (edits, read back)" "$BIN" fix "$WORK/app" --offline
