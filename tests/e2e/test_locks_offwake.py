#!/usr/bin/env python3
"""Off-wake chains (waitprof record --wakers, report -F folded --view offwake).

blocker's reader blocks in read() on a pipe that the writer thread feeds:
every reader wakeup must chain to a waker stack in writer_main (through
the pipe write in the kernel), and the chains must add up to the reader's
off-CPU time. The sleeper is woken by its timer: its wakers are the
hrtimer interrupt, with no user frames. Without --wakers there are no
such chains.
"""
import os

from wptest import *

require_bpf()
d = tmpdir()
data = os.path.join(d, "w.data")
p = run([WAITPROF, "record", "-q", "--wakers", "-o", data, "--", BLOCKER,
         "-n", "30", "-s", "5", "-P", "5", "-w", "10"])
truth = workload_truth(p.stdout)
pid = truth["reader"]["pid"]
rep = report_json(data)
check(rep["counters"].get("dropped_wakers_full", 1) == 0, "no waker record dropped")
folded = run([WAITPROF, "report", "-F", "folded", "--view", "offwake", data]).stdout
chains = {}
for line in folded.splitlines():
    stack, _, value = line.rpartition(" ")
    frames = stack.split(";")
    if "--" not in frames:
        continue
    cut = frames.index("--")
    chains.setdefault(frames[0], []).append((frames[1:cut], frames[cut + 1:], int(value)))

reader = chains.get("reader", [])
check(len(reader) >= 1, f"reader: off-wake chains ({len(reader)})")
from_writer = [c for c in reader if c[1][-1] == "writer_[w]"]
total_us = sum(c[2] for c in reader)
writer_us = sum(c[2] for c in from_writer)
check(total_us > 0 and writer_us >= 0.95 * total_us,
      f"reader: {writer_us} of {total_us} us woken by thread writer")
# Until the writer's unwind tables are loaded its walks use frame pointers,
# which miss the frame that called into libc: most, not all, name it.
named_us = sum(c[2] for c in from_writer if "writer_main_[w]" in c[1])
check(named_us >= 0.5 * total_us,
      f"reader: {named_us} of {total_us} us woken from writer_main (the write call)")
check(all(c[1][0] == "try_to_wake_up_[w]" for c in from_writer),
      "reader: waker chains start at the wakeup (try_to_wake_up)")
check(all("reader_main" in c[0] for c in from_writer), "reader: waiter frames name reader_main")
got = threads_by_comm(rep, pid)["reader"]
blocked_us = (got["offcpu_ns"] - got["preempted_ns"]) / 1000
check(abs(total_us - blocked_us) <= 0.05 * blocked_us + 100,
      f"reader: chains add up to {total_us} us vs {blocked_us:.0f} us off-CPU (not preempted)")

sleeper = chains.get("sleeper", [])
check(len(sleeper) >= 1 and all("hrtimer_wakeup_[w]" in c[1] for c in sleeper),
      "sleeper: woken by its timer (hrtimer_wakeup)")
check(all("writer_main_[w]" not in c[1] for c in sleeper),
      "sleeper: an interrupt's waker has no user frames of the interrupted task")

data2 = os.path.join(d, "now.data")
run([WAITPROF, "record", "-q", "-o", data2, "--", BLOCKER, "-n", "5", "-o", "sleeper"])
folded2 = run([WAITPROF, "report", "-F", "folded", "--view", "offwake", data2]).stdout
check(not [l for l in folded2.splitlines() if l.startswith("sleeper;")],
      "without --wakers: no waker chains")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")
finish()
