#!/usr/bin/env bash
# Runs `stormwatch config` over checkouts of real Tornado applications and prints, per
# project, the commit, the wall time, peak memory and every finding at medium or above, for
# judging by hand (verdicts are recorded in bench/RESULTS.md). The projects' code is never
# part of this repository: pass the checkouts as arguments.
#
# usage: bench/corpus.sh CHECKOUT [CHECKOUT ...]      (ALL_CODE=1 adds --all-code)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p stormwatch-cli
BIN=${STORMWATCH_BIN:-$PWD/target/release/stormwatch}
extra=()
[ "${ALL_CODE:-0}" = 1 ] && extra+=(--all-code)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%-40s %-12s %9s %9s %6s %6s\n' project commit "time ms" "peak MiB" "med+" all
for dir in "$@"; do
  name=$(basename "$dir")
  commit=$(git -C "$dir" rev-parse --short=12 HEAD 2>/dev/null || echo "-")
  start=$(date +%s%N)
  if command -v /usr/bin/time > /dev/null; then
    mem=$( { /usr/bin/time -f '%M' timeout 120 "$BIN" config "$dir" --format json --fail-on none "${extra[@]}" > "$out"; } 2>&1 | tail -1)
  else
    timeout 120 "$BIN" config "$dir" --format json --fail-on none "${extra[@]}" > "$out"
    mem=0
  fi
  end=$(date +%s%N)
  python3 - "$name" "$commit" "$(( (end - start) / 1000000 ))" "$mem" "$out" <<'PY'
import json, sys
name, commit, ms, mem, path = sys.argv[1:]
report = json.load(open(path))
findings = report["findings"]
high = [f for f in findings if f["severity"] in ("medium", "high", "critical")]
print(f"{name:40} {commit:12} {ms:>9} {int(mem) // 1024:>9} {len(high):>6} {len(findings):>6}")
gaps = report.get("incomplete", [])
unread = [g for g in gaps if "syntax error" in g.get("message", "") or "UTF-8" in g.get("message", "")]
if unread:
    print(f"    ({len(unread)} files could not be parsed)")
for gap in [g for g in gaps if g not in unread]:
    loc = gap.get("location", {})
    print(f"    (incomplete) {loc.get('file', '')}:{loc.get('line', '')}  {gap.get('message', '')[:160]}")
for f in high:
    loc = f["location"]
    print(f"    {f['id']} {f['severity']:8} {loc['file']}:{loc['line']}  {f['message']}")
PY
done
