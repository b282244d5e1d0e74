#!/usr/bin/env bash
# Times `stormwatch config` (the full audit, every rule) and its peak memory.
#
# Synthetic mode (no arguments): generated Tornado code bases of 10k, 100k and 1M lines with
# seeded debug settings, the full audit and `--select TW001`, and `bandit -r` (installed from
# PyPI into a private venv) on the 10k and 100k trees, counting what each finds.
#
# Real mode (checkouts as arguments): the full audit of each checkout, and of the generated
# 1M-line tree for comparison (SYNTHETIC=0 to skip it), with the time per line of each
# against the synthetic tree's. The checkouts' code is never part of this repository.
#
# Each row: wall time min / median of RUNS runs, lines/s at the median, peak RSS (MiB,
# largest of the runs, from /usr/bin/time -f %M), and the Python lines stormwatch read.
# With COMPARE=/path/to/other/stormwatch, the two binaries run alternately (a, b, a, b, ...)
# so that load from other work on the machine falls on both alike.
#
# usage: bench/config.sh                        (RUNS=N for repetitions; BANDIT=0 to skip bandit)
#        bench/config.sh CHECKOUT [CHECKOUT ...] (STORMWATCH_BIN=..., COMPARE=..., RUNS=N)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
if [ -z "${STORMWATCH_BIN:-}" ]; then
  cargo build --release -q -p stormwatch-cli
fi
BIN=${STORMWATCH_BIN:-$PWD/target/release/stormwatch}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=bench/lib.sh
. bench/lib.sh

# Python lines that stormwatch read in `dir` (from its report's inputs line).
audited_lines() {
  "$1" config "$2" --format json --fail-on none 2> /dev/null | python3 -c '
import json, re, sys
inputs = json.load(sys.stdin).get("inputs", [])
m = [re.search(r"\(([0-9]+) lines\)", i) for i in inputs]
print(next((x.group(1) for x in m if x), 0))'
}

# Full audit of `dir` by each binary, alternately; prints one row per binary:
# "label min_ms median_ms peak_mib".
measure() {
  local dir=$1; shift
  local bins=("$@")
  local -A times peaks
  for _ in $(seq "$RUNS"); do
    for b in "${bins[@]}"; do
      local t0 t1 mem
      t0=$(date +%s%N)
      /usr/bin/time -f '%M' -o "$WORK/mem" "$b" config "$dir" --format json --fail-on none > /dev/null 2>&1 || true
      mem=$(tail -1 "$WORK/mem")
      t1=$(date +%s%N)
      times[$b]+="$(( (t1 - t0) / 1000000 )) "
      [ "${mem:-0}" -gt "${peaks[$b]:-0}" ] && peaks[$b]=$mem
    done
  done
  for b in "${bins[@]}"; do
    read -r min med < <(printf '%s\n' ${times[$b]} | sort -n | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)]}')
    echo "$b $min $med $(( ${peaks[$b]:-0} / 1024 ))"
  done
}

report() {
  local name=$1 dir=$2
  local bins=("$BIN")
  [ -n "${COMPARE:-}" ] && bins+=("$COMPARE")
  local lines
  lines=$(audited_lines "$BIN" "$dir")
  while read -r b min med peak; do
    local lps us
    lps=$(awk -v l="$lines" -v t="$med" 'BEGIN {printf "%.0f", l / (t / 1000)}')
    us=$(awk -v l="$lines" -v t="$med" 'BEGIN {printf "%.2f", t * 1000 / l}')
    printf '%-34s %-10s %9s %9s %10s %9s %9s %s\n' "$name" "$lines" "$min" "$med" "$lps" "$us" "$peak" "$b"
  done < <(measure "$dir" "${bins[@]}")
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ $# -gt 0 ]; then
  printf '%-34s %-10s %9s %9s %10s %9s %9s %s\n' project lines "min ms" "median ms" "lines/s" "us/line" "peak MiB" binary
  for dir in "$@"; do
    report "$(basename "$dir")" "$dir"
  done
  if [ "${SYNTHETIC:-1}" = 1 ]; then
    python3 bench/gen_tree.py 1000000 "$WORK/tree" > /dev/null
    report "synthetic 1M-line tree" "$WORK/tree"
  fi
  exit 0
fi

if [ "${BANDIT:-1}" = 1 ]; then
  python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q bandit > /dev/null 2>&1 || true
fi
BANDIT_BIN="$WORK/venv/bin/bandit"

printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' lines seeded tool "min ms" "median ms" "lines/s" found note
for n in 10000 100000 1000000; do
  tree="$WORK/tree$n"
  seeded=$(python3 bench/gen_tree.py "$n" "$tree")
  actual=$(find "$tree" -name '*.py' -exec cat {} + | wc -l)
  read -r min med < <(timeit "$RUNS" "$BIN" config "$tree" --format json --select TW001)
  found=$("$BIN" config "$tree" --format json --select TW001 --fail-on none | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["findings"]))')
  lps=$(awk -v l="$actual" -v t="$med" 'BEGIN {printf "%.0f", l / (t / 1000)}')
  printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' "$actual" "$seeded" stormwatch "$min" "$med" "$lps" "$found" "TW001"
  read -r min med < <(timeit "$RUNS" "$BIN" config "$tree" --format json)
  lps=$(awk -v l="$actual" -v t="$med" 'BEGIN {printf "%.0f", l / (t / 1000)}')
  printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' "$actual" "$seeded" stormwatch "$min" "$med" "$lps" "-" "full audit"
  if [ -x "$BANDIT_BIN" ] && [ "$n" -le 100000 ]; then
    read -r bmin bmed < <(timeit 1 "$BANDIT_BIN" -r -q -f json -o "$WORK/bandit.json" "$tree")
    "$BANDIT_BIN" -r -q -f json -o "$WORK/bandit.json" "$tree" > /dev/null 2>&1 || true
    bfound=$(python3 -c 'import json; r=json.load(open("'"$WORK"'/bandit.json"))["results"]; print(sum(1 for x in r if "debug" in x["issue_text"].lower()))')
    blps=$(awk -v l="$actual" -v t="$bmed" 'BEGIN {printf "%.0f", l / (t / 1000)}')
    printf '%-8s %-8s %-10s %-12s %-12s %-14s %-12s %s\n' "$actual" "$seeded" bandit "$bmin" "$bmed" "$blps" "$bfound" "issues mentioning debug"
  fi
done
