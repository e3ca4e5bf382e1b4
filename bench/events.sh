#!/usr/bin/env bash
# Cost of `record --events` (every off-CPU interval through a ring buffer)
# against the aggregated recording alone, on the context-switch ping-pong
# (bench/pingpong.c): untraced, `waitprof record`, `waitprof record --events`,
# interleaved round by round so drift hits all three alike. Median ns per
# round trip and the ratio to untraced, free-running and pinned to one CPU.
# Also prints how many events each --events run kept and lost.
#
# usage: sudo bench/events.sh [BUILD_DIR] [ROUNDS_PER_RUN] [REPEATS]
set -euo pipefail
build=${1:-build}
rounds=${2:-200000}
repeats=${3:-5}
. "$(dirname "$0")/bench_lib.sh"
bench_need waitprof
bench_tmp
. "$here/pingpong_lib.sh"

for mode in ${MODES:-free pinned}; do
	pin=""
	[[ $mode == pinned ]] && pin="taskset -c 1"
	: >"$tmp/untraced.$mode" >"$tmp/aggregated.$mode" >"$tmp/events.$mode"
	for r in $(seq "$repeats"); do
		plain "$pin" >>"$tmp/untraced.$mode"
		under "$pin" "$waitprof" record --no-locks -o "$tmp/w.data" >>"$tmp/aggregated.$mode"
		under "$pin" "$waitprof" record --no-locks --events -o "$tmp/w.data" >>"$tmp/events.$mode"
		grep -hoE '[0-9]+ events, none lost|[0-9]+ of [0-9]+ events lost' "$tmp/tracer.out" \
			| sed "s/^/bench: $mode round $r: /" >&2 || true
	done
done

# The ratios above move by +-15% on a shared VM. The BPF programs' own run
# time (kernel.bpf_stats_enabled, switched on only for these runs) does not
# depend on what else runs: ns per sched_switch call, with and without events.
# Ids of the sched_switch programs loaded now (bpftool here lacks pids).
switch_prog_ids() {
	bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
print(" ".join(str(p["id"]) for p in json.load(sys.stdin)
               if p.get("name", "").startswith("sched_switch")))'
}

# ns per call of the sched_switch programs not in the list given.
prog_ns() {
	bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
before = set(sys.argv[1].split())
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("sched_switch") and str(p["id"]) not in before \
       and p.get("run_cnt"):
        print("%.0f %d" % (p["run_time_ns"] / p["run_cnt"], p["run_cnt"]))
' "$1"
}

stats_run() {
	local before
	before=$(switch_prog_ids)
	"$@" -o "$tmp/s.data" >/dev/null 2>"$tmp/tracer.err" &
	local tracer=$!
	for _ in $(seq 200); do
		grep -q 'recording off-CPU' "$tmp/tracer.err" && break
		sleep 0.05
	done
	sleep 0.2
	taskset -c 1 "$tmp/pingpong" "$rounds" >/dev/null
	prog_ns "$before"
	kill -INT $tracer
	wait $tracer || true
}

old_stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled="$old_stats"; rm -rf "$tmp"' EXIT
sysctl -q -w kernel.bpf_stats_enabled=1
: >"$tmp/prog.aggregated" >"$tmp/prog.events"
for r in $(seq "$repeats"); do
	stats_run "$waitprof" record --no-locks >>"$tmp/prog.aggregated"
	stats_run "$waitprof" record --no-locks --events >>"$tmp/prog.events"
done
sysctl -q -w kernel.bpf_stats_enabled="$old_stats"

printf '%-8s %-12s %12s %8s\n' mode tool "ns/round" ratio
for mode in ${MODES:-free pinned}; do
	base=$(median <"$tmp/untraced.$mode")
	for tool in untraced aggregated events; do
		m=$(median <"$tmp/$tool.$mode")
		printf '%-8s %-12s %12.1f %7.2fx\n' "$mode" "$tool" "$m" "$(echo "$m / $base" | bc -l)"
	done
done
printf '\nsched_switch program, ns per call (median of %s runs, pinned ping-pong):\n' "$repeats"
for tool in aggregated events; do
	printf '%-12s %8.0f ns\n' "$tool" "$(cut -d' ' -f1 <"$tmp/prog.$tool" | median)"
done
