#!/bin/bash
# Lock tracing costs (docs/BENCHMARKS.md, "## Locks"), medians of interleaved runs:
#  1. the default futex mode on a lock-heavy benchmark (locks_bench handoff:
#     nearly every lock is a futex wait and a wake) against bpftrace doing
#     the same (futex wait histogram per address and user stack), and
#     against waitprof without lock tracing (--no-locks);
#  2. the per-call cost of the pthread uprobes (--uprobes: lock entry and
#     return, unlock entry) on uncontended pthread_mutex_lock/unlock pairs,
#     against bpftrace probing the same three points.
# The benchmark runs pinned to one CPU (PIN=CPU, default 1; PIN= to run
# free): on the shared 2-vCPU machine free-running wall times scatter 4x.
# usage: bench/locks.sh [WAITPROF] [ROUNDS]   (root; bpftrace from
# scripts/deps/bench/locks.txt; mounts tracefs for bpftrace if needed)
set -eu
WAITPROF=${1:-build/waitprof}
ROUNDS=${2:-5}
THREADS=4 PAIRS=20000 UNCONTENDED=20000
PIN=${PIN-1}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -g -fno-omit-frame-pointer -pthread -o "$tmp/locks_bench.bin" "$here/locks_bench.c"
# The name bpftrace filters on is the benchmark's, pinned or not.
mkdir "$tmp/pin" && ln -s "$tmp/locks_bench.bin" "$tmp/pin/locks_bench"
if [ -n "$PIN" ]; then
	printf '#!/bin/sh\nexec taskset -c %s %s "$@"\n' "$PIN" "$tmp/pin/locks_bench" > "$tmp/locks_bench"
else
	printf '#!/bin/sh\nexec %s "$@"\n' "$tmp/pin/locks_bench" > "$tmp/locks_bench"
fi
chmod +x "$tmp/locks_bench"
if ! mountpoint -q /sys/kernel/tracing; then
	mount -t tracefs tracefs /sys/kernel/tracing
fi

cat > "$tmp/futex.bt" <<'BT'
tracepoint:syscalls:sys_enter_futex /comm == "locks_bench" && ((args->op & 127) == 0 || (args->op & 127) == 9)/
{ @start[tid] = nsecs; @addr[tid] = args->uaddr; }
tracepoint:syscalls:sys_exit_futex /@start[tid]/
{ @wait[pid, @addr[tid], ustack] = hist(nsecs - @start[tid]); delete(@start[tid]); delete(@addr[tid]); }
BT
cat > "$tmp/uprobe.bt" <<'BT'
uprobe:/lib/x86_64-linux-gnu/libc.so.6:pthread_mutex_lock /comm == "locks_bench"/ { @start[tid] = nsecs; @lock[tid] = arg0; }
uretprobe:/lib/x86_64-linux-gnu/libc.so.6:pthread_mutex_lock /@start[tid]/
{ @acq[@lock[tid], ustack] = hist(nsecs - @start[tid]); @since[tid] = nsecs; delete(@start[tid]); delete(@lock[tid]); }
uprobe:/lib/x86_64-linux-gnu/libc.so.6:pthread_mutex_unlock /@since[tid]/
{ @hold[arg0] = hist(nsecs - @since[tid]); delete(@since[tid]); }
BT

# bench_with_bpftrace SCRIPT ARGS...: runs the benchmark while bpftrace traces.
bench_with_bpftrace() {
	local script=$1; shift
	bpftrace "$script" > "$tmp/bt.out" 2>&1 &
	local bt=$!
	for _ in $(seq 100); do grep -q Attaching "$tmp/bt.out" 2>/dev/null && break; sleep 0.1; done
	sleep 0.5
	"$tmp/locks_bench" "$@"
	kill -INT $bt; wait $bt || true
}

run() {	# run NAME COMMAND...: appends "NAME ns_per_pair" to results
	local name=$1; shift
	local line
	line=$("$@" 2>/dev/null | grep '^{"mode"')
	echo "$name $(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ns_per_pair"])')" >> "$tmp/results"
}

for r in $(seq "$ROUNDS"); do
	run "handoff:untraced" "$tmp/locks_bench" handoff $THREADS $PAIRS
	run "handoff:waitprof --no-locks (off-CPU only)" "$WAITPROF" record -q --no-locks -o "$tmp/a.data" -- "$tmp/locks_bench" handoff $THREADS $PAIRS
	run "handoff:waitprof --no-kernel-locks (off-CPU + futex)" "$WAITPROF" record -q --no-kernel-locks -o "$tmp/a.data" -- "$tmp/locks_bench" handoff $THREADS $PAIRS
	run "handoff:waitprof default (off-CPU + futex + kernel locks)" "$WAITPROF" record -q -o "$tmp/a.data" -- "$tmp/locks_bench" handoff $THREADS $PAIRS
	run "handoff:bpftrace futex waits + ustack" bench_with_bpftrace "$tmp/futex.bt" handoff $THREADS $PAIRS
	run "uncontended:untraced" "$tmp/locks_bench" uncontended $UNCONTENDED
	run "uncontended:waitprof --uprobes" "$WAITPROF" record -q --uprobes --no-kernel-locks -o "$tmp/a.data" -- "$tmp/locks_bench" uncontended $UNCONTENDED
	run "uncontended:bpftrace lock uprobe+uretprobe, unlock uprobe" bench_with_bpftrace "$tmp/uprobe.bt" uncontended $UNCONTENDED
done

PIN=$PIN python3 - "$tmp/results" "$ROUNDS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, _, v = line.rstrip().rpartition(" ")
    rows.setdefault(name, []).append(float(v))
print(f"medians of {sys.argv[2]} interleaved rounds (ns per lock/unlock pair)")
import os
print(f"benchmark pinned to CPU {os.environ.get('PIN')}" if os.environ.get("PIN") else "benchmark not pinned")
for bench in ("handoff", "uncontended"):
    base = statistics.median(rows[f"{bench}:untraced"])
    print(f"\n| {bench} | ns per pair (median) | vs untraced | per-pair cost |")
    print("| --- | --- | --- | --- |")
    for name, vals in rows.items():
        if not name.startswith(bench + ":"):
            continue
        m = statistics.median(vals)
        print(f"| {name.split(':', 1)[1]} | {m:.0f} | {m / base:.2f}x | {m - base:+.0f} ns |")
PY
