#!/usr/bin/env python3
"""A long system-wide recording under a high context-switch rate and a
stream of short-lived processes stays within a fixed memory bound.

Samples the recorder's resident memory and the kernel memory of its BPF
maps (memlock in /proc/PID/fdinfo) while it runs; both must stay flat after
warm-up, and the recording must come out whole with its drops counted.
SOAK_SECONDS sets the length (CI: 40 s; docs/RELIABILITY.md has longer runs).
"""
import os
import subprocess
import time

from wptest import *

require_bpf()
seconds = int(os.environ.get("SOAK_SECONDS", "40"))
d = tmpdir()
data = os.path.join(d, "soak.data")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bpf_memlock(pid):
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except OSError:
            continue
        if "map_type:" in info:
            for line in info.splitlines():
                if line.startswith("memlock:"):
                    total += int(line.split()[1])
    return total


load = [subprocess.Popen([PINGPONG, "100000000"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)]
# Short-lived processes: new pids, maps to capture, tables to load.
churn = subprocess.Popen(["sh", "-c", "while :; do /bin/true; sleep 0.01; done"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# A small process budget, reached early: past it the recorder must stop
# growing (the default, 4096, is the same bound, reached later).
rec = subprocess.Popen([WAITPROF, "record", "-q", "-d", str(seconds), "--max-processes", "300",
                        "-o", data])
samples = []
t0 = time.time()
while rec.poll() is None:
    try:
        samples.append((time.time() - t0, rss_kb(rec.pid), bpf_memlock(rec.pid)))
    except OSError:
        break
    time.sleep(2)
rc = rec.wait()
for p in load + [churn]:
    p.kill()
    p.wait()
check(rc == 0, f"soak: recorder exit {rc}")
# While recording; after -d ends the recorder symbolizes, a bounded,
# one-off cost reported apart.
live = [s for s in samples if s[2] > 0 and s[0] < seconds - 1]
final_rss = max((s[1] for s in samples), default=0)
check(len(live) >= 5, f"soak: {len(live)} memory samples")
if len(live) >= 5:
    warm = live[len(live) // 3]
    last = live[-1]
    print("  t(s)   rss(MB)  bpf maps(MB)")
    for t, r, m in live[:: max(1, len(live) // 10)]:
        print(f"  {t:5.0f}  {r / 1024:7.1f}  {m / 2**20:9.1f}")
    check(last[2] == warm[2], f"soak: BPF map memory fixed ({warm[2] / 2**20:.1f} MB -> "
          f"{last[2] / 2**20:.1f} MB)")
    check(last[1] - warm[1] < 8 * 1024, f"soak: recorder RSS flat after warm-up "
          f"({warm[1] / 1024:.1f} MB -> {last[1] / 1024:.1f} MB, limit +8 MB)")
print(f"  peak RSS including the final symbolization: {final_rss / 1024:.1f} MB")
rep = report_json(data)
c = rep["counters"]
check(rep["recording"]["complete"], "soak: recording complete")
dropped = {k: v for k, v in c.items() if k.startswith("dropped") and v}
print(f"  drops: {dropped or 'none'}; processes seen: "
      f"{len(set(t['pid'] for t in rep['threads']))}")
check(c.get("processes_not_tracked", 0) > 0, "soak: processes past the budget are counted, not kept")
finish()
