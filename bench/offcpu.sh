#!/usr/bin/env bash
# Off-CPU recording overhead on a context-switch ping-pong, side by side:
# untraced, under `waitprof record` (system-wide) and under libbpf-tools
# `offcputime` (system-wide), interleaved round by round so drift hits all
# three alike. Reports the median ns per round trip and the ratio to
# untraced, free-running and pinned to one CPU (both processes on CPU 1:
# ~1 us per switch and far less noise).
#
# usage: sudo bench/offcpu.sh [BUILD_DIR] [ROUNDS_PER_RUN] [REPEATS]
set -euo pipefail
build=${1:-build}
rounds=${2:-200000}
repeats=${3:-7}
. "$(dirname "$0")/bench_lib.sh"
bench_need waitprof offcputime
bench_tmp
. "$here/pingpong_lib.sh"

for mode in free pinned; do
	pin=""
	[[ $mode == pinned ]] && pin="taskset -c 1"
	: >"$tmp/untraced.$mode" >"$tmp/waitprof.$mode" >"$tmp/offcputime.$mode"
	: >"$tmp/waitprof-offcpu.$mode"
	for r in $(seq "$repeats"); do
		plain "$pin" >>"$tmp/untraced.$mode"
		under "$pin" "$waitprof" record -o "$tmp/w.data" >>"$tmp/waitprof.$mode"
		# What offcputime does: off-CPU time only, no lock tracing.
		under "$pin" "$waitprof" record --no-locks -o "$tmp/w.data" \
			>>"$tmp/waitprof-offcpu.$mode"
		under "$pin" "$offcputime" >>"$tmp/offcputime.$mode"
		echo "bench: $mode round $r/$repeats" >&2
	done
done

printf '%-8s %-16s %12s %8s\n' mode tool "ns/round" ratio
for mode in free pinned; do
	base=$(median <"$tmp/untraced.$mode")
	for tool in untraced waitprof waitprof-offcpu offcputime; do
		m=$(median <"$tmp/$tool.$mode")
		printf '%-8s %-16s %12.1f %7.2fx\n' "$mode" "$tool" "$m" "$(echo "$m / $base" | bc -l)"
	done
done
