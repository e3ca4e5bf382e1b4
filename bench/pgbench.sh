#!/usr/bin/env bash
# Recording overhead on a real server: pgbench against a private PostgreSQL
# cluster, side by side, interleaved round by round: untraced, the floor (a
# counting-only bpftrace sched_switch probe), libbpf-tools `offcputime` and
# `waitprof record` (defaults, system-wide). Prints per tool the median tps
# and its ratio to untraced, the tracer's CPU seconds while pgbench ran
# (/proc/PID/stat, from attached to the end of the run: loading the BPF
# programs is left out) and as a share of one CPU, and for waitprof its whole CPU time (recording, reading
# the maps, symbolizing: from the recording) and its BPF ns per sched_switch
# run (--bpf-stats; WAITPROF_BPF_STATS=0 leaves BPF statistics as found).
#
# usage: bench/pgbench.sh [BUILD_DIR] [SECONDS_PER_RUN] [ROUNDS] [CLIENTS]
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
rounds=${3:-5}
clients=${4:-8}
stats_opt=--bpf-stats
[[ ${WAITPROF_BPF_STATS:-1} == 0 ]] && stats_opt=
. "$(dirname "$0")/bench_lib.sh"
bench_need waitprof offcputime bpftrace
bench_tmp
. "$here/pg_lib.sh"
pg_start_traced

run_pgbench() { pgbench_tps -c "$clients" -j 2 -T "$seconds"; }

# traced NAME CMD...: one pgbench run under a tracer; appends tps and CPU.
traced() {
	local name=$1; shift
	local cpu0
	tracer_start "$tmp/$name.out" "$@"
	cpu0=$(tracer_cpu)
	run_pgbench >>"$tmp/$name.tps"
	tracer_cpu_since "$cpu0" >>"$tmp/$name.cpu"
	tracer_stop
}

tools="untraced floor offcputime waitprof"
for r in $(seq "$rounds"); do
	run_pgbench >>"$tmp/untraced.tps"
	traced floor "${FLOOR[@]}"
	traced offcputime "$offcputime"
	traced waitprof "$waitprof" record $stats_opt -o "$tmp/w.data"
	read -r cpu ns < <(waitprof_cost "$tmp/w.data")
	echo "$cpu" >>"$tmp/waitprof.total"
	[[ $ns != - ]] && echo "$ns" >>"$tmp/waitprof.ns"
	echo "bench: round $r/$rounds: untraced $(tail -1 "$tmp/untraced.tps") tps," \
		"floor $(tail -1 "$tmp/floor.tps"), offcputime $(tail -1 "$tmp/offcputime.tps")," \
		"waitprof $(tail -1 "$tmp/waitprof.tps")" >&2
done

echo "pgbench: $clients clients, ${seconds} s per run, $rounds interleaved rounds, medians"
printf '%-12s %10s %7s %12s %8s %12s %14s\n' tool tps ratio "cpu s (run)" "% cpu" "cpu s (all)" "bpf ns/switch"
base=$(median <"$tmp/untraced.tps")
for tool in $tools; do
	tps=$(median <"$tmp/$tool.tps")
	cpu=-; total=-; ns=-
	[[ -s $tmp/$tool.cpu ]] && cpu=$(median <"$tmp/$tool.cpu")
	[[ -s $tmp/$tool.total ]] && total=$(median <"$tmp/$tool.total")
	[[ -s $tmp/$tool.ns ]] && ns=$(median <"$tmp/$tool.ns")
	share=-
	[[ $cpu != - ]] && share=$(echo "100 * $cpu / $seconds" | bc -l | awk '{ printf "%.1f", $1 }')
	printf '%-12s %10.1f %6.2fx %12s %8s %12s %14s\n' "$tool" "$tps" \
		"$(echo "$tps / $base" | bc -l)" "$cpu" "$share" "$total" "$ns"
done
