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
here=$(cd "$(dirname "$0")" && pwd)
waitprof=$build/waitprof
[[ -x $waitprof ]] || { echo "bench: build waitprof first ($waitprof)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/pingpong" "$here/pingpong.c"

# Runs the ping-pong under a system-wide recorder; waits until the recorder
# says it is attached (other tracers on the machine do not count), then
# stops it with SIGINT and waits for the recording to be written.
under() {
	local pin=$1; shift
	"$@" -o "$tmp/w.data" >/dev/null 2>"$tmp/tracer.err" &
	local tracer=$!
	for _ in $(seq 200); do
		grep -q 'recording off-CPU' "$tmp/tracer.err" && break
		sleep 0.05
	done
	sleep 0.2
	$pin "$tmp/pingpong" "$rounds"
	kill -INT $tracer
	wait $tracer || true
}

plain() { $1 "$tmp/pingpong" "$rounds"; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for mode in free pinned; do
	pin=""
	[[ $mode == pinned ]] && pin="taskset -c 1"
	: >"$tmp/untraced.$mode" >"$tmp/aggregated.$mode" >"$tmp/events.$mode"
	for r in $(seq "$repeats"); do
		plain "$pin" >>"$tmp/untraced.$mode"
		under "$pin" "$waitprof" record --no-locks >>"$tmp/aggregated.$mode"
		under "$pin" "$waitprof" record --no-locks --events >>"$tmp/events.$mode"
		grep -hoE '[0-9]+ events, none lost|[0-9]+ of [0-9]+ events lost' "$tmp/tracer.err" \
			| sed "s/^/bench: $mode round $r: /" >&2 || true
	done
done

printf '%-8s %-12s %12s %8s\n' mode tool "ns/round" ratio
for mode in free pinned; do
	base=$(median <"$tmp/untraced.$mode")
	for tool in untraced aggregated events; do
		m=$(median <"$tmp/$tool.$mode")
		printf '%-8s %-12s %12.1f %7.2fx\n' "$mode" "$tool" "$m" "$(echo "$m / $base" | bc -l)"
	done
done
