#!/usr/bin/env python3
"""Bimodal lock latency end to end (issue 5) on lockers' logger: 4 threads
append to a journal under journal_mu; every 32nd append runs fdatasync.

- flush under the lock, futex waits alone: most waiting happens behind the
  flush: the slowest mode holds most of the wait time. (The verdict is
  printed, not asserted: fdatasync here takes ~0.3 ms, close enough to the
  scheduling noise of a shared 2-vCPU VM that waits alone came out bimodal
  in one run and unimodal in the next.)
- the same with --uprobes: every acquisition is timed (uncontended ones
  included) and judged, the futex waits are judged separately too, and the
  hold times (lock return to unlock) show the flush as its own mode: about
  one hold in 32, several times slower than the rest;
- flush moved off the lock: the waiting all but disappears.
"""
import os

from wptest import *

LOCKERS = os.environ.get("LOCKERS", os.path.join(os.path.dirname(BLOCKER), "lockers"))
require_bpf()
d = tmpdir()
MULTI = ("bimodal", "multimodal")


def record(name, *extra, flush_off=False):
    data = os.path.join(d, name + ".data")
    args = ["logger", "-t", "4", "-n", "1500", "-p", "50", "-d", d]
    if flush_off:
        args.append("-F")
    p = run([WAITPROF, "record", "-q", *extra, "-o", data, "--", LOCKERS, *args])
    t = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][0])
    rep = report_json(data)
    ls = [l for l in rep["locks"] if l["pid"] == t["pid"] and l["symbol"] == "journal_mu"]
    return data, t, (ls[0] if ls else None)


data, t, l = record("onlock")
check(l is not None and l["kind"] == "mutex", "flush under the lock: journal_mu is a mutex")
if l:
    m = l["modality"]
    slow = max(m["modes"], key=lambda x: x["center_ns"])
    check(l["modality_of"] == "waits", "futex waits alone are judged without --uprobes")
    print(f"info futex waits alone: {m['verdict']} ({l['contentions']} waits)")
    check(slow["time_share"] >= 0.5, f"the slowest mode ({slow['center_ns'] / 1e3:.0f} us) "
          f"holds {slow['time_share'] * 100:.0f}% of the wait")
    text = run([WAITPROF, "report", data]).stdout
    check(any(line.strip().startswith(f"journal_mu: {m['verdict']}")
              for line in text.splitlines()), "the text report says the verdict in words")
    onlock_wait = l["total_wait_ns"]

data, t, l = record("uprobes", "--uprobes")
if l:
    m = l["modality"]

    check(l["modality_of"] == "acquisitions" and l["acquisitions"] == t["calls"],
          f"--uprobes: every acquisition judged ({l['acquisitions']} of {t['calls']})")
    # Acquisition times include the probes' own traps (the workload's
    # bookkeeping lock is probed too, inside journal_mu): how they split
    # depends on the machine's load, so the verdict is printed, not asserted.
    print(f"info acquisitions: {m['verdict']}, median {l['acquisition_p50_ns'] / 1e3:.0f} us")
    check("wait_modality" in l, "--uprobes: the futex waits are judged on their own too")
    # Hold times (lock return to unlock) show the flush itself: one hold in 32.
    h = l.get("hold_modality", {})
    check(l["holds"] == t["calls"], f"--uprobes: {l['holds']} holds == {t['calls']} appends")
    if h.get("verdict") in MULTI:
        # fdatasync's own latency may split into more than one slow mode.
        fast = max(h["modes"], key=lambda x: x["count_share"])
        slow = [x for x in h["modes"] if x["center_ns"] > 4 * fast["center_ns"]]
        share = sum(x["count_share"] for x in slow)
        check(slow and 0.015 <= share <= 0.07,
              f"hold times: slow modes hold {share * 100:.1f}% of holds (1 in 32 flushes), "
              f"at ~{min((x['center_ns'] for x in slow), default=0) / 1e3:.0f} us and up vs "
              f"~{fast['center_ns'] / 1e3:.0f} us")
    else:
        check(False, f"hold times under the flushing lock: {h.get('verdict')}, want bimodal")
else:
    check(False, "--uprobes: journal_mu recorded")

data, t, l = record("offlock", flush_off=True)
wait = l["total_wait_ns"] if l else 0
check(wait * 5 < onlock_wait, f"flush off the lock: {wait / 1e6:.1f} ms of waiting vs "
      f"{onlock_wait / 1e6:.1f} ms under the lock")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")
finish()
