#!/usr/bin/env bash
# Cost of timing a function with uprobes, side by side on one workload:
# funclat_work spin N calls an empty function N times and prints the ns per
# call. Runs it untraced, under `waitprof funclat` (uprobe sessions and
# uprobe + uretprobe, each with and without --sample 100, and --no-stacks),
# under bpftrace uprobe/uretprobe + hist(), and under libbpf-tools
# funclatency, interleaved round by round, the workload pinned to CPU 1;
# reports the median ns per call and the cost each tool adds per probed
# call. Then the logger's wall time (a realistic call rate).
#
# usage: sudo bench/funclat.sh [BUILD_DIR] [CALLS] [REPEATS]
set -euo pipefail
build=${1:-build}
calls=${2:-20000}
repeats=${3:-5}
. "$(dirname "$0")/bench_lib.sh"
work=$build/tests/workloads/funclat_work
funclatency=${FUNCLATENCY:-/usr/sbin/funclatency}
bench_need waitprof
[[ -x $work ]] || bench_fail "build funclat_work first ($work)"
work=$(realpath "$work")
bench_tmp
trap 'rm -rf "$tmp"; rm -f /dev/shm/funclat-bench.journal' EXIT

per_call() { sed -n 's/.*"ns_per_call":\([0-9.]*\).*/\1/p'; }

pin="/usr/bin/taskset -c 1"
plain() { $pin "$work" spin "$calls" | per_call; }
waitprof_run() { "$waitprof" funclat -q --no-cost "$@" -o "$tmp/wp.out" "$work:probe_target" -- $pin "$work" spin "$calls" | per_call; }
bpftrace_run() {
	bpftrace -q -c "$pin $work spin $calls" -e "uprobe:$work:probe_target { @s[tid] = nsecs; }
		uretprobe:$work:probe_target /@s[tid]/ { @h = hist(nsecs - @s[tid]); delete(@s[tid]); }" \
		2>/dev/null | per_call
}
# funclatency attaches to every process mapping the file: start it, wait
# for its probes, run the workload, stop it.
funclatency_run() {
	[[ -x $funclatency ]] || { echo NA; return; }
	"$funclatency" "$work:probe_target" >"$tmp/fl.out" 2>"$tmp/fl.err" &
	local pid=$!
	sleep 1.5
	if ! kill -0 $pid 2>/dev/null; then echo NA; return; fi
	$pin "$work" spin "$calls" | per_call
	kill -INT $pid; wait $pid 2>/dev/null || true
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "NA"; else print v[int((NR+1)/2)]}'; }

declare -A res
tools=(plain waitprof waitprof_sample100 waitprof_nosession waitprof_nosession_sample100
       waitprof_nostacks bpftrace funclatency)
for ((r = 0; r < repeats; r++)); do
	res[plain]+="$(plain) "
	res[waitprof]+="$(waitprof_run) "
	res[waitprof_sample100]+="$(waitprof_run --sample 100) "
	res[waitprof_nosession]+="$(waitprof_run --no-session) "
	res[waitprof_nosession_sample100]+="$(waitprof_run --no-session --sample 100) "
	res[waitprof_nostacks]+="$(waitprof_run --no-stacks) "
	res[bpftrace]+="$(bpftrace_run) "
	res[funclatency]+="$(funclatency_run) "
done
base=$(echo ${res[plain]} | tr ' ' '\n' | grep -v NA | median)
echo "empty function, $calls calls, median of $repeats interleaved runs:"
printf '| %-32s | %12s | %22s |\n' "tool" "ns per call" "added per probed call"
printf '| %-32s | %12s | %22s |\n' "---" "---:" "---:"
for t in "${tools[@]}"; do
	m=$(echo ${res[$t]} | tr ' ' '\n' | grep -v '^NA$' | median)
	if [[ $m == NA ]]; then
		printf '| %-32s | %12s | %22s |\n' "$t" "did not run" "-"
		continue
	fi
	printf '| %-32s | %12.1f | %19.2f us |\n' "$t" "$m" "$(echo "($m - $base) / 1000" | bc -l)"
done
[[ -s $tmp/fl.err ]] && { echo; echo "funclatency said: $(head -3 "$tmp/fl.err" | tr '\n' ' ')"; }

# The logger: 3000 appends with 20 us of work between them; wall time.
logger() { /usr/bin/time -f %e -o "$tmp/t" "$@" >/dev/null 2>&1; cat "$tmp/t"; }
lg=(/usr/bin/taskset -c 1 "$work" logger 3000 0 /dev/shm/funclat-bench.journal "$tmp/checkpoint")
declare -A wall
for ((r = 0; r < repeats; r++)); do
	wall[plain]+="$(logger "${lg[@]}") "
	wall[waitprof]+="$(logger "$waitprof" funclat -q --no-cost -o "$tmp/wp.out" "$work:journal_append" "$work:record_event" -- "${lg[@]}") "
	wall[sample100]+="$(logger "$waitprof" funclat -q --no-cost --sample 100 -o "$tmp/wp.out" "$work:journal_append" "$work:record_event" -- "${lg[@]}") "
	wall[nosession_sample100]+="$(logger "$waitprof" funclat -q --no-cost --no-session --sample 100 -o "$tmp/wp.out" "$work:journal_append" "$work:record_event" -- "${lg[@]}") "
done
echo
echo "logger, 3000 appends (journal_append and record_event probed), wall seconds, median:"
for t in plain waitprof sample100 nosession_sample100; do
	printf '  %-20s %s s\n' "$t" "$(echo ${wall[$t]} | tr ' ' '\n' | median)"
done
