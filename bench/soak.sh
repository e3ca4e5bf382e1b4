#!/usr/bin/env bash
# A long system-wide `waitprof record` (defaults) of pgbench reconnecting
# every 10 s (a new pgbench, so new backend processes, every 10 s) against a
# private PostgreSQL cluster. Samples the recorder's CPU seconds and RSS
# every SAMPLE seconds, then prints what was lost (the recording's counters
# and budgets, from the JSON report), the budget lines the recorder said on
# stderr, and its CPU time in all.
#
# usage: bench/soak.sh [BUILD_DIR] [SECONDS] [SAMPLE_SECONDS] [-- RECORD_OPTIONS...]
set -euo pipefail
build=${1:-build}
seconds=${2:-600}
sample=${3:-30}
shift $(($# < 3 ? $# : 3))
[[ ${1:-} == -- ]] && shift
. "$(dirname "$0")/bench_lib.sh"
bench_need waitprof
bench_tmp
. "$here/pg_lib.sh"
loop_pid=
stop_load() {
	[[ -n $loop_pid ]] || return 0
	kill "$loop_pid" 2>/dev/null || true
	wait "$loop_pid" 2>/dev/null || true
	loop_pid=
}
trap 'stop_load; tracer_cleanup; pg_stop; rm -rf "$tmp"' EXIT
pg_start

# The load: 10 s pgbench runs back to back, each with new connections.
(
	trap 'kill $pb 2>/dev/null; exit 0' TERM
	while :; do
		pgbench_tps -c 4 -j 2 -T 10 >>"$tmp/load.tps" & pb=$!
		wait $pb || true
	done
) &
loop_pid=$!
sleep 2

tracer_start "$tmp/record.err" "$waitprof" record -o "$tmp/soak.data" "$@"
echo "soak: ${seconds} s system-wide recording of pgbench reconnecting every 10 s"
printf '%8s %12s %10s\n' "t (s)" "cpu s" "rss MB"
t0=$(date +%s)
while :; do
	elapsed=$(($(date +%s) - t0))
	printf '%8d %12s %10s\n' "$elapsed" "$(tracer_cpu)" "$(tracer_rss_mb)"
	((elapsed >= seconds)) && break
	sleep $((seconds - elapsed < sample ? seconds - elapsed : sample))
done
tracer_stop
stop_load

echo "load: $(wc -l <"$tmp/load.tps") pgbench runs, median $(median <"$tmp/load.tps") tps"
echo "recorder stderr (budget lines):"
grep 'warning' "$tmp/record.err" | sed 's/^/  /' || echo "  none"
"$waitprof" report -F json "$tmp/soak.data" | python3 -c '
import json, sys
rep = json.load(sys.stdin)
c, r = rep["counters"], rep["recorder"]
cpu = (r["cpu_user_us"] + r["cpu_sys_us"]) / 1e6
tracing = r["cpu_tracing_us"] / 1e6
rss = r["max_rss_kb"] / 1024
print(f"recorder CPU in all: {cpu:.1f} s ({tracing:.1f} s while tracing), peak RSS {rss:.0f} MB")
print("losses (counters):")
keys = [k for k in sorted(c) if ("dropped" in k or "lost" in k or k in
        ("processes_not_tracked", "unwind_mappings_over_budget")) and c[k]]
for k in keys:
    print(f"  {k:36s} {c[k]:>12}")
if not keys:
    print("  none")
stacks, locks, waits = len(rep["offcpu"]), len(rep["locks"]), c.get("lock_futex_waits", 0)
print(f"kept: {stacks} off-CPU stacks, {locks} locks, {waits} futex waits")
'
