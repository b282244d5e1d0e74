#!/usr/bin/env bash
# Times `stormwatch config` on generated Tornado code bases of 10k, 100k and 1M lines with
# seeded debug settings, and `bandit -r` (installed from PyPI into a private venv) on the
# 10k and 100k trees, counting what each finds.
#
# usage: bench/config.sh            (RUNS=N for repetitions; BANDIT=0 to skip bandit)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
cargo build --release -q -p stormwatch-cli
BIN=$PWD/target/release/stormwatch
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=bench/lib.sh
. bench/lib.sh

if [ "${BANDIT:-1}" = 1 ]; then
  python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q bandit > /dev/null 2>&1 || true
fi
BANDIT_BIN="$WORK/venv/bin/bandit"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' lines seeded tool "min ms" "median ms" "lines/s" found note
for n in 10000 100000 1000000; do
  tree="$WORK/tree$n"
  seeded=$(python3 bench/gen_tree.py "$n" "$tree")
  actual=$(find "$tree" -name '*.py' -exec cat {} + | wc -l)
  read -r min med < <(timeit "$RUNS" "$BIN" config "$tree" --format json --select TW001)
  found=$("$BIN" config "$tree" --format json --select TW001 --fail-on none | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))')
  lps=$(awk -v l="$actual" -v t="$med" 'BEGIN {printf "%.0f", l / (t / 1000)}')
  printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' "$actual" "$seeded" stormwatch "$min" "$med" "$lps" "$found" "TW001"
  if [ -x "$BANDIT_BIN" ] && [ "$n" -le 100000 ]; then
    read -r bmin bmed < <(timeit 1 "$BANDIT_BIN" -r -q -f json -o "$WORK/bandit.json" "$tree")
    "$BANDIT_BIN" -r -q -f json -o "$WORK/bandit.json" "$tree" > /dev/null 2>&1 || true
    bfound=$(python3 -c 'import json; r=json.load(open("'"$WORK"'/bandit.json"))["results"]; print(sum(1 for x in r if "debug" in x["issue_text"].lower()))')
    blps=$(awk -v l="$actual" -v t="$bmed" 'BEGIN {printf "%.0f", l / (t / 1000)}')
    printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' "$actual" "$seeded" bandit "$bmin" "$bmed" "$blps" "$bfound" "issues mentioning debug"
  fi
done
