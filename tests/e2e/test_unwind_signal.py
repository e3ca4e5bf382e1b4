#!/usr/bin/env python3
"""Whole user stacks across signal frames, and truncation reported.

sigblock (built -O2 -fomit-frame-pointer) blocks in nanosleep inside a
SIGUSR1 handler that interrupted poll() in main, and in a child it forked
from a SIGUSR2 handler, as PostgreSQL's postmaster forks its children. The
CFI walker must cross the kernel's signal frame (glibc's __restore_rt) and
reach _start: 99% of the CFI-walked part of that off-CPU time (at least half
of it) must carry the whole chain, in order, and be recorded as ending at a
root, and no frame-pointer walk of it may claim a root. The same workload walked
with frame pointers only must be reported as truncated (so the test can
fail, and truncation is not silent).
"""
import os

from wptest import *

require_bpf()
SIGBLOCK = os.environ.get("SIGBLOCK", "build/tests/workloads/sigblock")
ROUNDS, SLEEP_MS = 40, 10
d = tmpdir()

# Outermost first; matched as substrings, except the exact first frame.
TAIL = ["main", "park_main", "park_once", "poll"]
CHAINS = {
    "handler": TAIL + ["on_usr1", "handler_sleep", "ms_sleep", "nanosleep"],
    "child": TAIL + ["on_usr2", "fork_from_handler", "child_main", "child_sleep", "ms_sleep",
                     "nanosleep"],
}


def has_chain(frames, chain):
    if not frames or frames[0] != "_start":
        return False
    i = 0
    for f in frames[1:]:
        if i < len(chain) and chain[i] in f:
            i += 1
    return i == len(chain)


def shares(rep, pids):
    """Per role: (time in nanosleep, share of it walked with CFI, share of
    the CFI-walked time with the whole chain, share of the CFI-walked time
    recorded as ending at a root, share of all of it with the whole chain)."""
    out = {}
    for role, pid in pids.items():
        total = cfi = full = rooted = full_any = 0
        for e in rep["offcpu"]:
            kernel = [f["name"] for f in e["frames"] if f["kind"] == "kernel"]
            if e["pid"] != pid or e["comm"] != "sigblock" or \
                    not any("nanosleep" in k for k in kernel):
                continue
            user = [f["name"] for f in e["frames"] if f["kind"] != "kernel"]
            total += e["total_ns"]
            full_any += e["total_ns"] if has_chain(user, CHAINS[role]) else 0
            if e.get("user_walk") != "cfi" and role in ("handler", "child") and \
                    e.get("user_end") == "root":
                rooted_fp.append(e)
            if e.get("user_walk") != "cfi":
                continue
            cfi += e["total_ns"]
            full += e["total_ns"] if has_chain(user, CHAINS[role]) else 0
            rooted += e["total_ns"] if e.get("user_end") == "root" else 0
        out[role] = (total, cfi / total if total else 0, full / cfi if cfi else 0,
                     rooted / cfi if cfi else 0, full_any / total if total else 0)
    return out


rooted_fp = []
results = {}
for unwind in ("cfi", "fp"):
    data = os.path.join(d, f"{unwind}.data")
    # The first signal comes 300 ms after start, when the tables are loaded
    # (until then a process walks with frame pointers: a loader latency,
    # reported as truncation, not what this test is about).
    p = run([WAITPROF, "record", "-q", "--unwind", unwind, "-o", data, "--", SIGBLOCK,
             "-n", str(ROUNDS), "-s", str(SLEEP_MS), "-S", "300"])
    truth = workload_truth(p.stdout)
    check(truth["main"]["handled"] > ROUNDS and truth["child"]["status"] == 0,
          f"{unwind}: workload ran ({truth})")
    rep = report_json(data)
    results[unwind] = (shares(rep, {"handler": truth["main"]["pid"],
                                    "child": truth["child"]["pid"]}), rep["chains"])
    text = run([WAITPROF, "report", data]).stdout
    print(f"--unwind {unwind}: " + next(l.strip() for l in text.splitlines()
                                        if l.strip().startswith("chains:")))
    for role, (total, cfi, full, rooted, _) in results[unwind][0].items():
        print(f"  {role}: {total / 1e6:.0f} ms in nanosleep, {cfi * 100:.1f}% walked with CFI, "
              f"of which whole chain {full * 100:.1f}%, ends at a root {rooted * 100:.1f}%")

cfi_res, chains = results["cfi"]
for role, (total, cfi, full, rooted, _) in cfi_res.items():
    # Each sleep is SLEEP_MS; the child sleeps ROUNDS times, the handler
    # at least ROUNDS times.
    check(total >= 0.8 * ROUNDS * SLEEP_MS * 1e6, f"cfi: {role} blocked {total / 1e6:.0f} ms "
          f"(need {0.8 * ROUNDS * SLEEP_MS} ms)")
    check(cfi >= 0.5, f"cfi: {role}: {cfi * 100:.1f}% of its time walked with CFI (need 50%)")
    check(full >= 0.99, f"cfi: {role}: {full * 100:.1f}% of its CFI-walked time has the whole "
          f"chain from _start through the signal frame (need 99%)")
    check(rooted >= 0.99, f"cfi: {role}: {rooted * 100:.1f}% of its CFI-walked time recorded as "
          f"reaching a root (need 99%)")
check(not rooted_fp, f"no frame-pointer walk of this code claims a root ({len(rooted_fp)})")
fp, chains = results["fp"]
for role, (total, cfi, _, _, full_any) in fp.items():
    check(cfi == 0 and full_any < 0.5, f"fp: {role}: frame pointers alone cannot cross this "
          f"code ({full_any * 100:.1f}% whole chains), so the test can fail")
# A frame-pointer walk through code without frame pointers reads whatever
# rbp points at: coreutils' sleep leaves it on its timespec, whose
# 200,000,000 ns read as a return address. No frame outside code is shown.
data = os.path.join(d, "sleep.data")
run([WAITPROF, "record", "-q", "--unwind", "fp", "-o", data, "--", "sleep", "0.2"])
frames = [f["name"] for e in report_json(data)["offcpu"] for f in e["frames"] if f["kind"] != "kernel"]
# sleep is PIE: its code and its libraries lie far above 1 TB. (Frames of
# maps not yet read when the process exited, on a loaded machine, may be
# unnamed, but they are real addresses.)
low = [f for f in frames if f.startswith("[unknown 0x") and int(f[11:-1], 16) < 1 << 40]
check(frames and not low, f"fp: sleep's stack shows no frame outside code ({frames})")
check(chains["truncated_ns"] > 0.3 * chains["user_ns"],
      f"fp: truncation reported ({chains['truncated_ns'] / max(chains['user_ns'], 1) * 100:.1f}%"
      f" of user-stack time)")
finish()
