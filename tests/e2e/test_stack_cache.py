#!/usr/bin/env python3
"""The per-thread stack cache gives the stacks a fresh walk gives.

Several blocker processes run at once and one after another (the same
stacks in many processes, new processes and threads all the time, the
vforker sleeping uninterruptibly; 30 rounds each, so that first visits,
always misses, do not decide the hit rate), and the shell that starts them execs
into the last one (a thread whose address space changes under it). With
--verify-every 1 every cache hit is walked again and compared; the cache
must still hit, and the stacks must name each thread's own functions. Kernel-stack
disagreements must be at most 0.1% of the re-walks, user-stack ones 1%. Two
callers that reach one blocking point with equal registers (jitcall) must
get their own stacks, with 0 disagreements. Then --no-stack-cache must turn
off both caches (off-CPU and futex).
"""
import json
import os
import shlex

from wptest import *

require_bpf()
d = tmpdir()
b = shlex.quote(BLOCKER)
one = f"{b} -n 30 -s 5 -P 5 -w 5 -o sleeper,poller,reader,writer,vforker >/dev/null"
script = f"{one} & {one} & {one}; {one}; wait; exec {one}"

data = os.path.join(d, "verify.data")
run([WAITPROF, "record", "-q", "-o", data, "--verify-every", "1", "--", "sh", "-c", script])
rep = report_json(data)
c = rep["counters"]
verified = c["stack_cache_verified"]
# Stale misses (a place walked before its process's tables loaded, walked
# again with them) grow with how late the tables load on a loaded machine:
# the price of late tables, not of the key. The hit rate is of the rest.
hits, misses = c["stack_cache_hits"], c["stack_cache_misses"]
stale = c["stack_cache_misses_stale"]
check(verified >= 200, f"{verified} cache hits re-walked")
check(verified == hits, f"every hit re-walked with --verify-every 1 ({verified} of {hits})")
# Kernel stacks: the kernel-path key must hold to 0.1%. User stacks: the
# key is the user registers, which cannot tell two callers at one depth
# apart; 1 in 357 re-walks disagreed in one run here (docs/BENCHMARKS.md,
# what is left), so the bound is 1% until the key is stronger.
kern, user = c["stack_cache_mismatch_kernel"], c["stack_cache_mismatch_user"]
check(kern <= verified * 0.001,
      f"{kern} kernel disagreements in {verified} re-walks (limit 0.1%)")
check(user <= max(1, verified * 0.01),
      f"{user} user disagreements in {verified} re-walks (limit 1%)")
check(hits >= (hits + misses) * 0.5,
      f"the cache hit {hits} of {hits + misses} lookups (at least half: the threads block "
      f"at a few places, many times; {stale} more re-walked for new unwind tables)")

expect = {"sleeper": "sleeper_main", "poller": "poller_main",
          "reader": "reader_main", "writer": "writer_main"}
names_by_pid = {}
cfi_names = {}
for e in rep["offcpu"]:
    if e["comm"] in expect:
        names = {f["name"] for f in e["frames"]}
        names_by_pid.setdefault((e["pid"], e["comm"]), set()).update(names)
        # A stack walked before its process's tables loaded (late on a
        # loaded machine) stops in libc: only CFI walks must name it.
        if e.get("user_walk") == "cfi":
            cfi_names.setdefault((e["pid"], e["comm"]), set()).update(names)
pids = {pid for pid, _ in names_by_pid}
check(len(pids) >= 5, f"{len(pids)} blocker processes recorded (5 started)")
check(len(cfi_names) >= len(names_by_pid) // 2,
      f"{len(cfi_names)} of {len(names_by_pid)} threads have CFI-walked stacks")
wrong = [(pid, comm) for (pid, comm), names in names_by_pid.items()
         if any(fn in names for other, fn in expect.items() if other != comm)]
wrong += [(pid, comm) for (pid, comm), names in cfi_names.items() if expect[comm] not in names]
check(not wrong, f"every thread's stacks name its own function and no other's: {wrong}")

# Two callers at one blocking point with equal registers (jitcall): the
# cache must tell them apart by the return addresses on the stack, near the
# blocking frame (sites) and in the outermost frames only (deep, as an
# interpreter's calls into C). Every hit is re-walked: 0 may disagree, and
# each caller's sleeps must carry its own stack, as many as it made.
JITCALL = os.environ.get("JITCALL", os.path.join(WORKLOADS, "jitcall"))
for mode in ("sites", "deep"):
    data3 = os.path.join(d, f"jit-{mode}.data")
    out = run([WAITPROF, "record", "-q", "-o", data3, "--verify-every", "1", "--",
               JITCALL, "-m", mode, "-n", "150", "-s", "1000"])
    truth = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            t = json.loads(line)
            truth[t["caller"]] = truth.get(t["caller"], 0) + t["calls"]
    rep3 = report_json(data3)
    c3 = rep3["counters"]
    v3, h3 = c3["stack_cache_verified"], c3["stack_cache_hits"]
    l3 = h3 + c3["stack_cache_misses"] + c3["stack_cache_misses_stale"]
    check(v3 >= 200, f"{mode}: {v3} cache hits re-walked")
    check(c3["stack_cache_mismatch_user"] == 0,
          f"{mode}: {c3['stack_cache_mismatch_user']} user stacks from the cache differed from "
          f"the walk (of {v3} re-walks): the cache must tell the two callers apart")
    check(c3["stack_cache_misses_other_caller"] >= 1,
          f"{mode}: the callers met at equal registers "
          f"({c3['stack_cache_misses_other_caller']} misses for the other caller's return addresses)")
    check(h3 >= l3 * 0.8, f"{mode}: each caller keeps a way: {h3} of {l3} lookups hit")
    got = {"caller_a": 0, "caller_b": 0}
    for e in rep3["offcpu"]:
        names = [f["name"] for f in e["frames"]]
        # The sleeps, by their kernel frames: a frame-pointer walk (before
        # the tables load) skips wait_point, not the callers.
        if "do_nanosleep" not in names:
            continue
        for caller in got:
            if caller in names:
                got[caller] += e["count"]
    for caller, calls in truth.items():
        # Each call sleeps once; a preemption inside the syscall before it
        # sleeps adds an interval at the same place, never removes one.
        check(calls <= got[caller] <= calls * 1.2 + 5,
              f"{mode}: {got[caller]} sleeps under {caller}, which slept {calls} times")

# --no-stack-cache reaches both caches.
data2 = os.path.join(d, "nocache.data")
run([WAITPROF, "record", "-q", "-o", data2, "--no-stack-cache", "--", BLOCKER, "-n", "10"])
c2 = report_json(data2)["counters"]
check(c2["stack_cache_hits"] == 0 and c2["stack_cache_misses"] == 0,
      f"--no-stack-cache: off-CPU cache unused ({c2['stack_cache_hits']} hits)")
check(c2.get("lock_stack_cache_hits", 0) == 0,
      f"--no-stack-cache: futex stack cache unused ({c2.get('lock_stack_cache_hits')} hits)")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")
finish()
