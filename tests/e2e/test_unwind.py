#!/usr/bin/env python3
"""Whole user stacks without frame pointers.

blocker's threads block in libc under known call chains. Built with
-fomit-frame-pointer -O2 (blocker_nofp) and with frame pointers (blocker),
at least 95% of each thread's off-CPU time must carry the full chain, in
order, from start_thread down to the libc call. libbpf-tools offcputime runs
on the same workload for comparison, when installed.
"""
import os
import re
import shutil
import subprocess
import time

from wptest import *

require_bpf()
BLOCKER_NOFP = os.environ.get("BLOCKER_NOFP", "build/tests/workloads/blocker_nofp")
d = tmpdir()

# Outermost first; each name must appear in this order (libc names vary:
# matched as substrings).
CHAINS = {
    "sleeper": ["start_thread", "sleeper_main", "sleep_once", "ms_sleep", "nanosleep"],
    "poller": ["start_thread", "poller_main", "poll_once", "poll"],
    "reader": ["start_thread", "reader_main", "read_once", "read"],
}


def has_chain(frames, chain):
    i = 0
    for f in frames:
        if i < len(chain) and chain[i] in f:
            i += 1
    return i == len(chain)


def chain_shares(rep, pid):
    total, full = {}, {}
    for e in rep["offcpu"]:
        if e["pid"] != pid or e["comm"] not in CHAINS:
            continue
        user = [f["name"] for f in e["frames"] if f["kind"] != "kernel"]
        total[e["comm"]] = total.get(e["comm"], 0) + e["total_ns"]
        if has_chain(user, CHAINS[e["comm"]]):
            full[e["comm"]] = full.get(e["comm"], 0) + e["total_ns"]
    return {c: full.get(c, 0) / total[c] for c in total}


def offcputime_shares(binary):
    """The same measure from libbpf-tools offcputime, attached by pid."""
    tool = shutil.which("offcputime") or "/usr/sbin/offcputime"
    if not os.path.exists(tool):
        return None
    # The workload outlives the tool: offcputime symbolizes at exit, from
    # the live process's maps.
    w = subprocess.Popen([binary, "-n", "400", "-o", "sleeper,poller,reader"],
                         stdout=subprocess.DEVNULL)
    p = subprocess.Popen([tool, "-p", str(w.pid), "2"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=60)
    w.kill()
    w.wait()
    total, full = {}, {}
    for block in out.split("\n\n"):
        lines = [l.strip() for l in block.strip().splitlines()]
        m = re.match(r"-\s+(\S+)\s+\(\d+\)", lines[-2]) if len(lines) >= 2 else None
        if not m or m.group(1) not in CHAINS or not lines[-1].isdigit():
            continue
        comm, us = m.group(1), int(lines[-1])
        frames = list(reversed([l.split("+")[0] for l in lines[:-2] if l != "--"]))
        total[comm] = total.get(comm, 0) + us
        if has_chain(frames, CHAINS[comm]):
            full[comm] = full.get(comm, 0) + us
    return {c: full.get(c, 0) / total[c] for c in total}


results = {}
for label, binary, unwind in (("no frame pointers, cfi", BLOCKER_NOFP, "cfi"),
                              ("frame pointers, cfi", BLOCKER, "cfi"),
                              ("frame pointers, --unwind fp", BLOCKER, "fp")):
    data = os.path.join(d, label.replace(" ", "_").replace(",", "") + ".data")
    p = run([WAITPROF, "record", "-q", "--unwind", unwind, "-o", data, "--", binary,
             "-n", "60", "-o", "sleeper,poller,reader"])
    rep = report_json(data)
    pid = workload_truth(p.stdout)["sleeper"]["pid"]
    results[label] = chain_shares(rep, pid)
    c = rep["counters"]
    print(f"{label}: cfi walks {c.get('unwind_cfi_walks', 0)}, fp walks "
          f"{c.get('unwind_fp_walks', 0)}, stops at end {c.get('unwind_cfi_stop_end', 0)}, "
          f"tables {c.get('unwind_tables_built', 0)} ({c.get('unwind_table_bytes', 0)} B, "
          f"{c.get('unwind_load_us', 0)} us)")

for label, shares in results.items():
    if "--unwind fp" in label:
        continue
    for comm in CHAINS:
        s = shares.get(comm, 0)
        check(s >= 0.95, f"{label}: {comm} has its full chain in {s * 100:.1f}% of its off-CPU time "
              f"(need 95%)")

print("\nSide by side: share of off-CPU time with the full call chain")
anchors = {}
for label, binary in (("offcputime, no frame pointers", BLOCKER_NOFP),
                      ("offcputime, frame pointers", BLOCKER)):
    try:
        anchors[label] = offcputime_shares(binary)
    except Exception as e:  # the comparison is informative, not a gate
        anchors[label] = None
        print(f"  {label}: could not run ({e})")
print(f"  {'':34s} " + " ".join(f"{c:>8s}" for c in CHAINS))
for label, shares in list(results.items()) + list(anchors.items()):
    if shares is None:
        print(f"  {label:34s} (not installed)")
        continue
    print(f"  {label:34s} " + " ".join(f"{shares.get(c, 0) * 100:7.1f}%" for c in CHAINS))
fp = results["frame pointers, --unwind fp"]
check(all(fp.get(c, 0) < 0.5 for c in CHAINS),
      "the frame-pointer walk alone misses the frame that calls into libc (so the test can fail)")
finish()
