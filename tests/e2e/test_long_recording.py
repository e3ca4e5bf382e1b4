#!/usr/bin/env python3
"""Long recordings lose nothing: the in-kernel maps are drained into user
space while recording (bpf/drain.h), so a workload with many more distinct
keys and stacks than the maps hold is recorded whole.

churner runs 60 short-lived processes (a fresh exec each, so user stack ids
differ per process, as under connection churn) of 8 threads that each sleep
12 times at varying call depths for 1-4 ms, and times every sleep. Recorded
with a 2048-entry histogram map (about 5,800 keys needed) and a
1024-entry stack map (about 2,500 stacks needed): nothing may be dropped,
every entry's stack must resolve, and the off-CPU total must agree with the
workload's own measurement within the 5% test_offcpu_truth allows. Run with
--raw-tp to test the raw tracepoint programs' buffers as well.
"""
import json
import os
import sys

from wptest import *

CHURNER = os.environ.get("CHURNER", "build/tests/workloads/churner")
# Half the keys and stacks the workload makes, or less; the quarter of a map
# left free after a drain is due absorbs about a second of it, so a drain
# thread starved on a loaded machine still keeps up.
HIST_SIZE, STACK_SIZE = 2048, 1024

require_bpf()
raw = "--raw-tp" in sys.argv
d = tmpdir()
data = os.path.join(d, "long.data")
args = [WAITPROF, "record", "-q", "--state", "S", "--hist-size", str(HIST_SIZE),
        "--stack-size", str(STACK_SIZE), "-o", data]
if raw:
    args.append("--force-raw-tp")
p = run(args + ["--", CHURNER, "-c", "60", "-t", "8", "-n", "12"], timeout=240)
truth = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
check(len(truth) == 60, f"all 60 children printed their truth ({len(truth)})")
true_ns = sum(t["blocked_ns"] for t in truth)
true_calls = sum(t["calls"] for t in truth)
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")

rep = report_json(data)
cnt = rep["counters"]
check(rep["recording"]["complete"], "recording is complete")
for name in ("dropped_hist_full", "dropped_stack_map_full", "dropped_thread_state_full",
             "process_notifications_lost", "lock_dropped_hist_full",
             "lock_dropped_holders_full", "lock_dropped_stack_map_full"):
    check(cnt.get(name, 0) == 0, f"{name} = {cnt.get(name, 0)}")
# The drains ran, and moved more than the maps hold: without them this
# recording dropped 3,936 intervals and 3,443 stacks and kept 31% of the time.
check(cnt.get("hist_drains", 0) >= 2 and cnt.get("hist_entries_drained", 0) > HIST_SIZE,
      f"histogram drained while recording: {cnt.get('hist_drains')} passes, "
      f"{cnt.get('hist_entries_drained')} entries")
check(cnt.get("stack_drains", 0) >= 2 and cnt.get("stacks_drained", 0) > STACK_SIZE,
      f"stacks drained while recording: {cnt.get('stack_drains')} passes, "
      f"{cnt.get('stacks_drained')} stacks")

mine = [e for e in rep["offcpu"] if e["comm"] == "churnw"]
check(len(mine) > STACK_SIZE, f"{len(mine)} distinct (process, stack) entries for the workers, "
      f"more than the {STACK_SIZE}-entry stack map holds")
# Kept, not named: until a new process's unwind tables are loaded its
# stacks are walked with frame pointers, which stop early under libc's
# nanosleep, and now and then one short-lived process's maps are not read
# in time to name its frames (that happens without draining too).
# start_thread, worker_main, descend and the nanosleep frame are always there.
def kept(e):
    user = [f for f in e["frames"] if f["kind"] == "user"]
    return len(user) >= 4 and not any((f.get("name") or "").startswith("[missing")
                                      for f in e["frames"])


unresolved = [e for e in mine if not kept(e)]
check(not unresolved, f"every worker entry's user stack was kept ({len(unresolved)} were not)")
got_ns = sum(t["offcpu_ns"] for t in rep["threads"] if t["comm"] == "churnw")
got_calls = sum(t["count"] for t in rep["threads"] if t["comm"] == "churnw")
err = abs(got_ns - true_ns) / true_ns
check(err <= 0.05, f"off-CPU {got_ns / 1e6:.1f} ms vs self-measured {true_ns / 1e6:.1f} ms "
      f"({err * 100:.1f}% off)")
# A 1 ms sleep whose timer fires before the thread is switched out never
# leaves the CPU asleep; that can only lower the count.
check(true_calls * 0.98 <= got_calls <= true_calls,
      f"{got_calls} sleeps recorded of {true_calls} made")
finish()
