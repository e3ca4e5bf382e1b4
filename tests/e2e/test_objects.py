#!/usr/bin/env python3
"""Per-object state: objects are read once, children are named.

forker forks short-lived children (2 ms each) that block in
fork_child_wait(), and every third one execs forker again to block in
exec_child_wait(). The process tracker must read each object (file) once for
the whole recording, not once per process, and still name every child's
stack with its own image: a forked child with its parent's functions, an
exec'd child with the new image's, never the other way round.

A forked child walks its first stacks with its parent's unwind tables, so
its chains are whole. An exec'd child that sleeps right after ld.so mapped
libc may sleep before user space has loaded libc's table (the walk then
falls back to frame pointers, counted): its frames must still be named,
from the maps read when its first stack fell outside the known tables.

Then the same with the recorder stopped (SIGSTOP) for as long as the
children live, as a loaded machine may keep it off the CPU: no child can be
read from /proc, and the exec'd ones are named from the kernel's own
record of their mappings (perf MMAP2 records) alone.
"""
import os

from wptest import *

require_bpf()
FORKER = os.environ.get("FORKER", "build/tests/workloads/forker")
CHILDREN, MS = 90, 5  # exec'd children sleep 5 x MS = 25 ms
d = tmpdir()
data = os.path.join(d, "fork.data")
p = run([WAITPROF, "record", "-q", "-o", data, "--", FORKER, str(CHILDREN), str(MS)],
        timeout=180)
truth = workload_truth(p.stdout)
rep = report_json(data)
c = rep["counters"]

forks, execs = truth["fk-fork"]["children"], truth["fk-exec"]["children"]
check(forks == 60 and execs == 30, f"workload: {forks} forked and {execs} exec'd children")

# The children's sleeps (kernel stacks in nanosleep): which function names
# them, weighted by time. The children timed each sleep around the call, so
# the recorded total (blocked + waiting for a CPU) matches their own clocks.
named = {"fk-fork": {}, "fk-exec": {}}
for e in rep["offcpu"]:
    if e["comm"] not in named:
        continue
    kern = [f["name"] for f in e["frames"] if f["kind"] == "kernel"]
    if not any("nanosleep" in f for f in kern):
        continue
    user = [f["name"] for f in e["frames"] if f["kind"] != "kernel"]
    key = ("fork_child_wait" if any("fork_child_wait" in f for f in user) else
           "exec_child_wait" if any("exec_child_wait" in f for f in user) else "other")
    named[e["comm"]][key] = named[e["comm"]].get(key, 0) + e["total_ns"]
    if not user or any(f.startswith("[unknown") for f in user):
        named[e["comm"]]["unknown"] = named[e["comm"]].get("unknown", 0) + e["total_ns"]
    named[e["comm"]].setdefault("pids", set()).add(e["pid"])

for comm, want, wrong in (("fk-fork", "fork_child_wait", "exec_child_wait"),
                          ("fk-exec", "exec_child_wait", "fork_child_wait")):
    n = named[comm]
    total = sum(v for k, v in n.items() if k not in ("pids", "unknown"))
    share = n.get(want, 0) / total if total else 0
    slept = truth[comm]["blocked_ns"]
    print(f"     {comm}: {len(n.get('pids', ()))} pids, {total / 1e6:.1f} ms in nanosleep "
          f"(children timed {slept / 1e6:.1f} ms), {share:.1%} in {want}, "
          f"{n.get(wrong, 0) / 1e6:.2f} ms in {wrong}, {n.get('other', 0) / 1e6:.2f} ms unnamed")
    check(0.9 * slept <= total <= 1.05 * slept + 1e6,
          f"{comm}: recorded {total / 1e6:.1f} ms of sleep, the children timed {slept / 1e6:.1f} ms")
    if comm == "fk-fork":
        check(share >= 0.95, f"{comm}: {share:.1%} of the children's sleep names {want} (>= 95%)")
    unknown = n.get("unknown", 0) / total if total else 1
    check(unknown <= 0.05, f"{comm}: {unknown:.1%} of the sleep has unnamed frames (<= 5%)")
    check(n.get(wrong, 0) == 0, f"{comm}: no time named with the other image's {wrong}")

# Each object once: forker, libc, ld.so (and the like), not once per child.
reads, objects = c.get("maps_reads", 0), c.get("objects_read", 0)
print(f"     maps reads {reads}, unchanged {c.get('maps_reads_unchanged')}, "
      f"object lookups {c.get('object_lookups')}, objects read {objects}, "
      f"tables built {c.get('unwind_tables_built')}, reused {c.get('unwind_tables_reused')}, "
      f"named from parent {c.get('processes_named_from_parent')}")
check(objects <= 8, f"{objects} objects read for {CHILDREN} children (<= 8: each object once)")
check(c.get("unwind_tables_built", 99) <= 8,
      f"{c.get('unwind_tables_built')} unwind tables built (<= 8: each object once)")
check(c.get("processes_not_tracked", 1) == 0, "no process past the budget")


def sleep_names(rep, comm):
    """ns of comm's sleeps in nanosleep, and how many have unnamed frames."""
    total = unknown = 0
    for e in rep["offcpu"]:
        kern = [f["name"] for f in e["frames"] if f["kind"] == "kernel"]
        if e["comm"] != comm or not any("nanosleep" in f for f in kern):
            continue
        user = [f["name"] for f in e["frames"] if f["kind"] != "kernel"]
        total += e["total_ns"]
        if not user or any(f.startswith("[unknown") for f in user):
            unknown += e["total_ns"]
    return total, unknown


# The recorder is stopped before the workload starts and continued after it
# ended: every child is gone before its notifications are read.
stopped = os.path.join(d, "stopped.data")
p = run([WAITPROF, "record", "-q", "-o", stopped, "--", "sh", "-c",
         'kill -STOP $PPID; "$0" 30 2; s=$?; kill -CONT $PPID; exit $s', FORKER], timeout=180)
truth = workload_truth(p.stdout)
rep = report_json(stopped)
c = rep["counters"]
execs = truth["fk-exec"]["children"]
total, unknown = sleep_names(rep, "fk-exec")
named = c.get("processes_named_from_mmap_events", 0)
print(f"     stopped recorder: fk-exec {total / 1e6:.1f} ms in nanosleep "
      f"(children timed {truth['fk-exec']['blocked_ns'] / 1e6:.1f} ms), "
      f"{unknown / 1e6:.1f} ms with unnamed frames; mmap events {c.get('mmap_events')}, "
      f"lost {c.get('mmap_events_lost')}, processes named from them {named}, "
      f"maps reads {c.get('maps_reads')}")
check(execs == 10 and total > 0, f"stopped recorder: {execs} exec'd children, {total} ns of sleep")
check(unknown <= 0.05 * total,
      f"stopped recorder: {unknown / max(total, 1):.1%} of fk-exec's sleep has unnamed frames (<= 5%)")
check(named >= execs, f"{named} processes named from perf's mmap records alone (>= {execs})")
check(c.get("mmap_events_lost", 1) == 0, "no mmap records lost")

finish()
