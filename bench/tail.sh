#!/usr/bin/env bash
# Cost of `waitprof tail` on the logger (tests/workloads/lockers.c, 4
# threads appending under a lock, flush every 32nd append; journal and
# checkpoint on tmpfs so the disk adds no noise): the logger's own clock
# around each journal_append call, untraced, under `waitprof funclat`
# (the anchor: the same uprobe + uretprobe pair) and under `waitprof tail`,
# interleaved round by round; median ns per call and what each tool adds
# per call. Then the BPF programs' own run time (BPF_ENABLE_STATS, held by
# a helper process for those runs only: the kernel.bpf_stats_enabled
# sysctl is one switch for everyone on a shared machine): ns per run of tail's
# sched_switch, sched_waking, entry and return programs, and their run
# counts (every switch on the machine runs the sched_switch program; those
# of threads outside the traced process only look up their process).
#
# usage: sudo bench/tail.sh [BUILD_DIR] [ROUNDS] [REPEATS]
set -euo pipefail
build=${1:-build}
rounds=${2:-1500}
repeats=${3:-5}
. "$(dirname "$0")/bench_lib.sh"
bench_need waitprof bpftool python3
lockers=$(realpath "$build/tests/workloads/lockers")
[[ -x $lockers ]] || bench_fail "build lockers first"
bench_tmp
stats_holder=
trap '[[ -n $stats_holder ]] && kill $stats_holder; rm -rf "$tmp"' EXIT

logger=("$lockers" logger -t 4 -n "$rounds" -p 100 -d /dev/shm -c /dev/shm -R)
# ns per journal_append call, by the logger's own clock.
per_call() {
	python3 -c '
import json, sys
for line in sys.stdin:
    if "\"function\"" in line:
        t = json.loads(line)
        print("%.0f" % (t["total_ns"] / t["calls"]))'
}
plain() { "${logger[@]}" | per_call; }
funclat_run() { "$waitprof" funclat -q --no-cost -o "$tmp/f.out" "$lockers:journal_append" -- "${logger[@]}" | per_call; }
tail_run() { "$waitprof" tail -q -w 0 -o "$tmp/t.out" "$lockers:journal_append" -- "${logger[@]}" | per_call; }
median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "NA"; else print v[int((NR+1)/2)]}'; }

: >"$tmp/plain" >"$tmp/funclat" >"$tmp/tail"
for r in $(seq "$repeats"); do
	plain >>"$tmp/plain"
	funclat_run >>"$tmp/funclat"
	tail_run >>"$tmp/tail"
done

# tail's programs loaded by a run, their ns per run and run count.
prog_ids() { bpftool -j prog show | python3 -c '
import json, sys
print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p.get("name", "").startswith("tail_")))'; }
prog_stats() { bpftool -j prog show | python3 -c '
import json, sys
before = set(sys.argv[1].split())
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("tail_") and str(p["id"]) not in before and p.get("run_cnt"):
        print(p["name"], "%.0f" % (p["run_time_ns"] / p["run_cnt"]), p["run_cnt"])' "$1"; }

# bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME): on while the fd is open.
python3 -c '
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint32 * 4)()
if libc.syscall(321, 32, ctypes.byref(attr), 16) < 0:
    sys.exit("bench: BPF_ENABLE_STATS: " + os.strerror(ctypes.get_errno()))
open(sys.argv[1], "w").close()
signal.sigwait([signal.SIGTERM])' "$tmp/stats.on" &
stats_holder=$!
for _ in $(seq 100); do [[ -e $tmp/stats.on ]] && break; sleep 0.05; done
[[ -e $tmp/stats.on ]] || bench_fail "cannot enable BPF run-time stats"
: >"$tmp/stats"
for r in $(seq "$repeats"); do
	before=$(prog_ids)
	"$waitprof" tail -q -w 0 -o "$tmp/t.out" "$lockers:journal_append" -- \
		"${logger[@]}" >/dev/null &
	tracer=$!
	# The programs' counters, read while they are loaded: the last
	# reading before the run ends (within 0.1 s of its end).
	last=
	while kill -0 $tracer 2>/dev/null; do
		now=$(prog_stats "$before")
		[[ -n $now ]] && last=$now
		sleep 0.1
	done
	[[ -n $last ]] && echo "$last" >>"$tmp/stats"
	wait $tracer || true
done
kill $stats_holder
stats_holder=

base=$(median <"$tmp/plain")
printf '%-10s %14s %14s\n' tool "ns/call" "added ns/call"
for tool in plain funclat tail; do
	m=$(median <"$tmp/$tool")
	printf '%-10s %14s %14s\n' "$tool" "$m" "$((m - base))"
done
printf '\nprogram, ns per run (median of %s runs), runs (median):\n' "$repeats"
for prog in $(awk '{print $1}' "$tmp/stats" | sort -u); do
	ns=$(awk -v p="$prog" '$1 == p {print $2}' "$tmp/stats" | median)
	cnt=$(awk -v p="$prog" '$1 == p {print $3}' "$tmp/stats" | median)
	printf '%-16s %8s %10s\n' "$prog" "$ns" "$cnt"
done
