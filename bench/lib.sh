# Shared by the benchmark scripts; source it, do not run it.

# Runs the command RUNS times (output discarded, failures ignored: exit code 1 means
# findings) and prints the minimum and median wall time in milliseconds: "MIN MEDIAN".
timeit() {
  local runs=$1; shift
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f\n", a[1]/1000, a[int((NR+1)/2)]/1000}'
}
