#!/usr/bin/env python3
"""Off-CPU totals against a workload's own measurement.

blocker's named threads block in nanosleep, poll and a pipe read and time
each blocking call. waitprof's off-CPU total per thread name must agree
within 5%, counts within 2, and the stacks must name the workload's own
functions. Run with --raw-tp to test the raw tracepoint fallback.
"""
import os
import sys

from wptest import *

require_bpf()
raw = "--raw-tp" in sys.argv
d = tmpdir()
data = os.path.join(d, "off.data")
args = [WAITPROF, "record", "-q", "-o", data]
if raw:
    args.append("--force-raw-tp")
rounds = 40
p = run(args + ["--", BLOCKER, "-n", str(rounds), "-s", "10", "-P", "15", "-w", "20"])
truth = workload_truth(p.stdout)
check(set(truth) == {"sleeper", "poller", "reader", "writer"},
      f"workload printed its truth for all threads: {sorted(truth)}")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")

rep = report_json(data)
check(rep["recording"]["complete"], "recording is complete")
check(rep["recording"]["attach_mode"] == ("raw_tp" if raw else "tp_btf"),
      f"attach mode {rep['recording']['attach_mode']}")
pid = truth["sleeper"]["pid"]
got = threads_by_comm(rep, pid)
for name, t in sorted(truth.items()):
    g = got.get(name)
    if not g:
        check(False, f"{name}: recorded at all")
        continue
    err = abs(g["offcpu_ns"] - t["blocked_ns"]) / t["blocked_ns"]
    check(err <= 0.05, f"{name}: off-CPU {g['offcpu_ns'] / 1e6:.1f} ms vs self-measured "
          f"{t['blocked_ns'] / 1e6:.1f} ms ({err * 100:.2f}% apart, limit 5%)")
    # Preemptions (a woken reader taking the writer's CPU) are off-CPU time
    # too, but not blocking calls: count them apart.
    blocked_count = g["count"] - g["preempted_count"]
    check(abs(blocked_count - t["calls"]) <= 2,
          f"{name}: {blocked_count} blocked intervals (+{g['preempted_count']} preempted) "
          f"vs {t['calls']} blocking calls (limit 2)")
    check(g["tids"] == {t["tid"]}, f"{name}: recorded under its tid {t['tid']}")
    check(g["blocked_ns"] + g["runqueue_ns"] == g["offcpu_ns"] and g["blocked_ns"] > 0,
          f"{name}: blocked {g['blocked_ns'] / 1e6:.2f} ms + runqueue "
          f"{g['runqueue_ns'] / 1e6:.2f} ms = off-CPU {g['offcpu_ns'] / 1e6:.2f} ms")

# The stacks name the workload's functions (the frame-pointer walk sees
# every frame but the one that called into libc).
expect = {"sleeper": "sleeper_main", "poller": "poller_main",
          "reader": "reader_main", "writer": "writer_main"}
frames_by_comm = {}
kernel_by_comm = {}
for e in rep["offcpu"]:
    if e["pid"] == pid:
        frames_by_comm.setdefault(e["comm"], set()).update(f["name"] for f in e["frames"])
        kernel_by_comm.setdefault(e["comm"], set()).update(
            f["name"] for f in e["frames"] if f["kind"] == "kernel")
for comm, fn in expect.items():
    names = frames_by_comm.get(comm, set())
    check(fn in names, f"{comm}: stacks name {fn}")
    check(any(n in kernel_by_comm.get(comm, ()) for n in ("schedule", "__schedule")),
          f"{comm}: kernel frames (kind kernel) include the scheduler")

# Folded output agrees with the JSON totals (values are microseconds).
folded = run([WAITPROF, "report", "-F", "folded", data]).stdout
fold_us = {}
for line in folded.splitlines():
    stack, _, value = line.rpartition(" ")
    comm = stack.split(";", 1)[0]
    fold_us[comm] = fold_us.get(comm, 0) + int(value)
for name in truth:
    want = got.get(name, {}).get("offcpu_ns", 0) / 1000
    check(abs(fold_us.get(name, 0) - want) <= 1 + want * 0.001,
          f"{name}: folded total {fold_us.get(name, 0)} us matches JSON {want:.0f} us")
    # Its heaviest line: a first stack walked before the process's tables
    # loaded (late on a loaded machine) stops in libc.
    lines = [l for l in folded.splitlines() if l.startswith(name + ";")]
    line = max(lines, key=lambda l: int(l.rpartition(" ")[2]), default="")
    check(expect[name] in line and "_[k]" in line and
          line.index("_[k]") > line.index(expect[name]),
          f"{name}: folded line has user frames first, then kernel frames _[k]")

# The per-thread stack cache must give the stacks a fresh walk gives: with
# every hit re-walked, disagreements are counted and must be (nearly) none.
data2 = os.path.join(d, "verify.data")
run([WAITPROF, "record", "-q", "-o", data2, "--verify-every", "1"] +
    (["--force-raw-tp"] if raw else []) + ["--", BLOCKER, "-n", "30"])
c = report_json(data2)["counters"]
verified = c["stack_cache_verified"]
check(verified >= 100, f"stack cache: {verified} hits re-walked")
check(c["stack_cache_mismatch_user"] <= verified * 0.02,
      f"stack cache: {c['stack_cache_mismatch_user']} user-stack disagreements in {verified}")
check(c["stack_cache_mismatch_kernel"] <= verified * 0.02,
      f"stack cache: {c['stack_cache_mismatch_kernel']} kernel-stack disagreements in {verified}")
finish()
