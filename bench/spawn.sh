#!/usr/bin/env bash
# Recording overhead on a storm of short-lived processes, side by side,
# interleaved round by round: untraced, the floor (a counting-only bpftrace
# sched_switch probe), libbpf-tools `offcputime` and `waitprof record`
# (defaults, system-wide). Two workloads, each under its own tracer run:
#  - a shell loop running /bin/true N times: wall time, ratio to untraced;
#  - `pgbench -C` (a new connection, so a new backend process, per
#    transaction) against a private PostgreSQL cluster: tps, ratio.
# With each, the tracer's CPU seconds while tracing (/proc/PID/stat).
#
# usage: bench/spawn.sh [BUILD_DIR] [TRUE_RUNS] [PGBENCH_SECONDS] [ROUNDS]
set -euo pipefail
build=${1:-build}
nproc_runs=${2:-5000}
seconds=${3:-10}
rounds=${4:-3}
. "$(dirname "$0")/bench_lib.sh"
bench_need waitprof offcputime bpftrace
bench_tmp
. "$here/pg_lib.sh"
pg_start_traced

# Wall seconds for N runs of /bin/true, one after the other.
true_loop() {
	local t0 t1 i
	t0=$(date +%s.%N)
	for ((i = 0; i < nproc_runs; i++)); do /bin/true; done
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

connect_storm() { pgbench_tps -C -c 4 -j 2 -T "$seconds"; }

# one TOOL WORKLOAD: a run of the workload, under the tool unless untraced.
one() {
	local tool=$1 work=$2 cpu0
	case $tool in
	untraced) $work >>"$tmp/$tool.$work"; return ;;
	floor) tracer_start "$tmp/tracer.out" "${FLOOR[@]}" ;;
	offcputime) tracer_start "$tmp/tracer.out" "$offcputime" ;;
	waitprof) tracer_start "$tmp/tracer.out" "$waitprof" record -o "$tmp/w.data" ;;
	esac
	cpu0=$(tracer_cpu)
	$work >>"$tmp/$tool.$work"
	tracer_cpu_since "$cpu0" >>"$tmp/$tool.$work.cpu"
	tracer_stop
	if [[ $tool == waitprof ]]; then
		grep -c 'warning:.*so far' "$tmp/tracer.out" >>"$tmp/waitprof.$work.warnings" || true
		waitprof_cost "$tmp/w.data" | cut -d' ' -f1 >>"$tmp/$tool.$work.total"
	fi
}

tools="untraced floor offcputime waitprof"
for r in $(seq "$rounds"); do
	for work in true_loop connect_storm; do
		for tool in $tools; do
			one "$tool" "$work"
		done
	done
	echo "bench: round $r/$rounds done" >&2
done

col() { [[ -s $1 ]] && median <"$1" || echo -; }
echo "spawn: $nproc_runs x /bin/true; pgbench -C 4 clients ${seconds} s; $rounds interleaved rounds, medians"
printf '%-12s %9s %7s %8s | %8s %7s %8s | %s\n' tool "true s" ratio "cpu s" "-C tps" ratio "cpu s" \
	"waitprof all-CPU s (true, -C)"
bt=$(median <"$tmp/untraced.true_loop")
bc_=$(median <"$tmp/untraced.connect_storm")
for tool in $tools; do
	t=$(median <"$tmp/$tool.true_loop")
	c=$(median <"$tmp/$tool.connect_storm")
	extra=""
	[[ $tool == waitprof ]] && extra="$(col "$tmp/waitprof.true_loop.total"), $(col "$tmp/waitprof.connect_storm.total")"
	printf '%-12s %9.2f %6.2fx %8s | %8.1f %6.2fx %8s | %s\n' "$tool" "$t" \
		"$(echo "$t / $bt" | bc -l)" "$(col "$tmp/$tool.true_loop.cpu")" "$c" \
		"$(echo "$c / $bc_" | bc -l)" "$(col "$tmp/$tool.connect_storm.cpu")" "$extra"
done
if [[ -s $tmp/waitprof.true_loop.warnings ]]; then
	echo "waitprof budget warnings on stderr per run (true loop): $(tr '\n' ' ' <"$tmp/waitprof.true_loop.warnings")"
	echo "waitprof budget warnings on stderr per run (pgbench -C): $(tr '\n' ' ' <"$tmp/waitprof.connect_storm.warnings")"
fi
