#!/usr/bin/env python3
"""The recorder states its own cost and its overflowed budgets.

1. A recording of a ping-pong (a known number of context switches) with
   --bpf-stats: the report's first lines give the recorder's CPU time (> 0)
   and each BPF program's run count; the sched_switch program ran at least
   once per round trip of the ping-pong; kernel.bpf_stats_enabled reads the
   same after the recording as before.
2. A system-wide recording with a budget of 2 processes while processes
   start: stderr says so while recording (once, naming --max-processes),
   and the text report says it in its first lines, the JSON report in
   "recorder": {"budgets_exceeded": [...]}.
"""
import os
import subprocess
import threading
import time

from wptest import *

require_bpf()
d = tmpdir()
ROUNDS = 20000


def sysctl_stats():
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        return f.read().strip()


# 1. Cost, with BPF statistics.
before = sysctl_stats()
data = os.path.join(d, "cost.data")
p = run([WAITPROF, "record", "--bpf-stats", "-o", data, "--", PINGPONG, str(ROUNDS)])
check(sysctl_stats() == before, f"kernel.bpf_stats_enabled as found ({before} -> {sysctl_stats()})")
check("recorder CPU:" in p.stderr, "record says its CPU time on stderr")
text = run([WAITPROF, "report", data]).stdout
head = text.splitlines()[:4]
check(head and head[0].startswith("waitprof recorder:"), f"report leads with the recorder: {head[:1]}")
check(any(l.strip().startswith("CPU:") for l in head), "report's first lines give the recorder's CPU")
rep = report_json(data)
r = rep.get("recorder", {})
cpu = r.get("cpu_user_us", 0) + r.get("cpu_sys_us", 0)
check(cpu > 0, f"recorder CPU {cpu} us > 0")
check(r.get("max_rss_kb", 0) > 0, f"recorder peak RSS {r.get('max_rss_kb')} kB > 0")
check(r.get("bpf_stats") in ("enabled by --bpf-stats", "already on"),
      f"bpf_stats state: {r.get('bpf_stats')}")
progs = {x["name"]: x for x in r.get("bpf_programs", [])}
switch = [x for n, x in progs.items() if n.startswith("sched_switch")]
runs = sum(x["run_count"] for x in switch)
# Two switches per round trip, each traced on switch-out and switch-in: at
# least one run of the program per round trip, whatever else runs.
check(runs >= ROUNDS, f"sched_switch program runs {runs} >= {ROUNDS} round trips")
check(sum(x["run_time_ns"] for x in switch) > 0, "sched_switch program run time > 0")
check(all(x["run_count"] >= 0 for x in progs.values()) and len(progs) >= 2,
      f"{len(progs)} programs listed")
check(r.get("system_ipis") is None or r["system_ipis"]["function_calls"] >= 0,
      "system-wide IPIs present or null")

# 2. A tiny process budget, overflowed while recording.
SECONDS = 8
data = os.path.join(d, "budget.data")
lines = []
t0 = time.time()
rec = subprocess.Popen([WAITPROF, "record", "-d", str(SECONDS), "--max-processes", "2",
                        "-o", data], stderr=subprocess.PIPE, text=True)


def read_stderr():
    for line in rec.stderr:
        lines.append((time.time() - t0, line.rstrip()))


reader = threading.Thread(target=read_stderr)
reader.start()
while not any("recording off-CPU" in l for _, l in lines) and time.time() - t0 < 30:
    time.sleep(0.05)
churn = subprocess.Popen(["sh", "-c", "for i in $(seq 400); do /bin/true; done; sleep 60"],
                         stdout=subprocess.DEVNULL)
rc = rec.wait(timeout=300)
reader.join()
churn.kill()
churn.wait()
check(rc == 0, f"budget recording exit {rc}")
live = [(t, l) for t, l in lines if "processes past the budget" in l and "so far" in l]
check(len(live) == 1, f"one live line about the process budget ({len(live)})")
if live:
    t, l = live[0]
    print(f"  at {t:.1f} s: {l}")
    check("--max-processes" in l, "the live line names --max-processes")
    # Said while recording, not at the end: the recording lasts SECONDS
    # after it started; the end's summary comes after that.
    started = next(t for t, l in lines if "recording off-CPU" in l)
    check(t < started + SECONDS - 1, f"said while recording ({t - started:.1f} s in)")
text = run([WAITPROF, "report", data]).stdout.splitlines()
top = [i for i, l in enumerate(text) if "WARNING" in l and "processes past the budget" in l]
check(bool(top) and top[0] < 16, f"the report's WARNING is near the top (line {top[:1]})")
b = {x["counter"]: x for x in report_json(data)["recorder"]["budgets_exceeded"]}
pb = b.get("processes_not_tracked", {})
check(pb.get("count", 0) > 0 and pb.get("option") == "--max-processes",
      f"JSON budgets_exceeded: {pb}")
finish()
