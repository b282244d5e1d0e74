#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, seeded from the repository's
# own fixtures, two at a time, and prints one Markdown table row per target: executions,
# coverage (libFuzzer's `cov`), corpus size and crashes. A crash leaves its input under
# fuzz/artifacts/TARGET/ and fails the script; make it a regression test.
#
#   fuzz/run.sh 600            # ten minutes per target
#   fuzz/run.sh 45 osv deploy  # a smoke run of two targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the stable toolchain accepts its flags with
# RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all=(requirements pyproject lockfiles installed_metadata osv osv_archive deploy tornado_audit yaml policy fix probe)
targets=("${@:-${all[@]}}")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
jobs=${FUZZ_JOBS:-2}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# seed TARGET [SELECTOR] FILE...: copy fixtures into the target's seed corpus, prefixed
# with a selector byte for targets that multiplex formats.
seed() {
  local target=$1 selector=$2
  shift 2
  mkdir -p "$work/$target"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    local out
    out="$work/$target/$(echo "$f" | tr '/' '_')"
    if [ -n "$selector" ]; then
      { printf "\\x$(printf %02x "$selector")"; cat "$f"; } > "$out"
    else
      cp "$f" "$out"
    fi
  done
}
fixtures() { find crates examples -path '*/target' -prune -o -type f "$@" -print 2>/dev/null | head -60; }

mapfile -t reqs < <(fixtures \( -name 'requirements*.txt' -o -name '*.in' -o -name 'constraints*.txt' \))
seed requirements "" "${reqs[@]}"
mapfile -t pyprojects < <(fixtures -name pyproject.toml)
seed pyproject "" "${pyprojects[@]}"
i=0
for name in poetry.lock uv.lock pdm.lock pylock.toml Pipfile Pipfile.lock; do
  mapfile -t locks < <(fixtures -name "$name")
  seed lockfiles "$i" "${locks[@]}"
  i=$((i + 1))
done
mkdir -p "$work/installed_metadata"
printf 'Metadata-Version: 2.1\nName: tornado\nVersion: 6.4.1\nSummary: x\n\nbody\n' > "$work/installed_metadata/metadata"
mapfile -t osv_json < <(fixtures -name '*.json' -path '*osv*')
seed osv 0 "${osv_json[@]}"
if [ -d ../shared/advisory-db/pypa-vulns ]; then
  mapfile -t osv_yaml < <(find ../shared/advisory-db/pypa-vulns -name '*.yaml' | head -60)
  seed osv 1 "${osv_yaml[@]}"
fi
# Archives of the OSV records: one written to a file (sizes in each entry's header), one
# streamed (sizes in data descriptors), so both ways of reading start covered.
mkdir -p "$work/osv_archive"
if command -v python3 > /dev/null; then
  python3 - "$work/osv_archive" "${osv_json[@]}" <<'PY'
import io, sys, zipfile
out, files = sys.argv[1], sys.argv[2:] or []
record = b'{"id":"PYSEC-1","affected":[{"package":{"name":"tornado","ecosystem":"PyPI"},"versions":["1.0"]}]}'
def fill(z):
    z.writestr("vulns/PYSEC-1.json", record)
    z.writestr(".github/x.yml", b"on: push")
    for f in files[:8]:
        z.write(f, "vulns/" + f.replace("/", "_"))
with zipfile.ZipFile(out + "/seekable.zip", "w", zipfile.ZIP_DEFLATED) as z:
    fill(z)
class Stream(io.RawIOBase):
    def __init__(self): self.data = bytearray()
    def writable(self): return True
    def write(self, b): self.data += b; return len(b)
s = Stream()
with zipfile.ZipFile(s, "w", zipfile.ZIP_DEFLATED) as z:
    fill(z)
open(out + "/streamed.zip", "wb").write(bytes(s.data))
PY
fi
i=0
for pattern in 'Dockerfile' 'docker-compose*.yml' '*.yaml' '*.service' 'supervisord*.conf' 'Procfile' '.env*'; do
  mapfile -t deploys < <(fixtures -name "$pattern")
  seed deploy "$i" "${deploys[@]}"
  i=$((i + 1))
done
mapfile -t pys < <(fixtures -name '*.py')
seed tornado_audit "" "${pys[@]}"
mapfile -t yamls < <(fixtures \( -name '*.yml' -o -name '*.yaml' \))
seed yaml "" "${yamls[@]}"
mkdir -p "$work/policy"
mapfile -t policies < <(fixtures \( -name 'stormwatch.toml' -o -name 'policy*.toml' \))
seed policy 0 "${policies[@]}"
seed policy 1 "${pyprojects[@]}"
mapfile -t baselines < <(fixtures -name 'baseline*.json')
seed policy 2 "${baselines[@]}"
mkdir -p "$work/fix"
printf '\x00<a href="tornado-1.0.tar.gz#sha256=ab" data-requires-python="&gt;=3.9" data-yanked>x</a>' > "$work/fix/html"
printf '\x01{"files":[{"filename":"tornado-1.0.tar.gz","hashes":{"sha256":"ab"},"yanked":"x"}]}' > "$work/fix/json"
seed fix 6 "${reqs[@]}"
seed fix 7 "${pyprojects[@]}"
mkdir -p "$work/probe"
{ printf '\x01\x00\xc8Server: TornadoServer/6.4.2\nSet-Cookie: user="2|1:0|10:1|4:user|8:YQ==|ab"; Path=/\nContent-Type: text/html\n\n<link href="/static/a.css?v=1">'
  printf '\xff\x01\x94\n\nTraceback (most recent call last):\n  File "x.py", line 1, in f\nKeyError: 1'
  printf '\xff\x01\x2e\nLocation: /home\n\n'; } > "$work/probe/tornado"

(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build -O)

run_one() {
  local target=$1
  mkdir -p "$work/$target" "fuzz/artifacts/$target"
  local log="$work/$target.log"
  local status=0
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "$work/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/") > "$log" 2>&1 || status=$?
  local execs cov corpus
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  local verdict="none"
  if [ "$status" -ne 0 ]; then
    verdict="CRASH (exit $status): $(grep -m1 -E 'ERROR|panicked' "$log" || true)"
    cp "$log" "fuzz/artifacts/$target/last.log"
  fi
  echo "| $target | ${seconds}s | ${execs:-?} | ${cov:-?} | ${corpus:-?} | $verdict |"
  [ "$status" -eq 0 ]
}

echo "| target | time | executions | coverage (edges) | corpus | crashes |"
echo "|---|---|---|---|---|---|"
failed=0
pids=()
for target in "${targets[@]}"; do
  run_one "$target" > "$work/$target.row" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
for target in "${targets[@]}"; do cat "$work/$target.row"; done
exit $failed
