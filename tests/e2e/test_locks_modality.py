#!/usr/bin/env python3
"""Bimodal lock latency end to end (issue 5) on lockers' logger: 4 threads
append to a journal under journal_mu (10 us of formatting under the lock,
random pauses between appends); every 32nd append runs fdatasync.

A lock is judged on its waits that slept (docs/MODALITY.md, "Locks"):
- flush under the lock, futex waits alone: bimodal (or more modes), the
  waits behind ordinary appends and the waits behind the flush; the
  slowest mode holds most of the wait;
- the same with --uprobes: every acquisition is timed and judged too, the
  waits still decide, and the hold times (lock return to unlock) show the
  flush as its own mode: about one hold in 32;
- flush moved off the lock, with and without --uprobes: the waits that are
  left (behind ordinary appends) are one mode, and far fewer.
Futex calls that return at once (the lock was released before the thread
could sleep) are counted as retries, not waits.
"""
import os

from wptest import *

LOCKERS = os.environ.get("LOCKERS", os.path.join(os.path.dirname(BLOCKER), "lockers"))
require_bpf()
d = tmpdir()
MULTI = ("bimodal", "multimodal")


def record(name, *extra, flush_off=False, rounds=6000, pause_us=100):
    data = os.path.join(d, name + ".data")
    # The journal on a disk (/var/tmp, not a tmpfs /tmp): fdatasync must
    # reach a device to be slow.
    args = ["logger", "-t", "4", "-n", str(rounds), "-p", str(pause_us), "-s", "10",
            "-d", "/var/tmp"]
    if flush_off:
        args.append("-F")
    p = run([WAITPROF, "record", "-q", *extra, "-o", data, "--", LOCKERS, *args])
    t = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][0])
    rep = report_json(data)
    ls = [l for l in rep["locks"] if l["pid"] == t["pid"] and l["symbol"] == "journal_mu"]
    return data, t, (ls[0] if ls else None)


def modes(m):
    return ", ".join(f"{x['count_share'] * 100:.0f}% ~{x['center_ns'] / 1e3:.0f} us"
                     for x in m["modes"])


def check_flagged(l, what):
    m = l["modality"]
    check(l["modality_of"] == "waits", f"{what}: judged on the futex waits")
    check(m["verdict"] in MULTI, f"{what}: {m['verdict']} ({l['contentions']} waits: {modes(m)})")
    if m["verdict"] in MULTI:
        # The flush's own latency may split further (a rare multi-ms stall):
        # the modes above the fastest together hold most of the wait.
        fast = min(m["modes"], key=lambda x: x["center_ns"])
        slow = [x for x in m["modes"] if x["center_ns"] >= 3 * fast["center_ns"]]
        share = sum(x["time_share"] for x in slow)
        check(slow and share >= 0.5,
              f"{what}: the slow modes (from {min(x['center_ns'] for x in slow) / 1e3:.0f} us; "
              f"fastest {fast['center_ns'] / 1e3:.0f} us) hold {share * 100:.0f}% of the wait")


def check_not_flagged(l, what, onlock_wait=None):
    m = l["modality"]
    check(m["verdict"] not in MULTI,
          f"{what}: {m['verdict']} ({l['contentions']} waits: {modes(m)})")
    if onlock_wait is not None:
        check(l["total_wait_ns"] * 2 < onlock_wait,
              f"{what}: {l['total_wait_ns'] / 1e6:.1f} ms of waiting vs "
              f"{onlock_wait / 1e6:.1f} ms under the lock")


data, t, l = record("onlock")
check(l is not None and l["kind"] == "mutex", "flush under the lock: journal_mu is a mutex")
onlock_wait = l["total_wait_ns"] if l else 0
if l:
    check_flagged(l, "flush under the lock, futex waits alone")
    check(l["futex_retries"] >= 0 and sum(b["count"] for b in l["histogram"]) == l["contentions"],
          f"retries ({l['futex_retries']}) are kept out of the wait histogram")
    text = run([WAITPROF, "report", data]).stdout
    check(any(line.strip().startswith(f"journal_mu: {l['modality']['verdict']}")
              for line in text.splitlines()), "the text report says the verdict in words")
    # The report leads with the findings, and names what the holders block on.
    lines = text.splitlines()
    first = lines[1] if len(lines) > 1 else ""
    check(lines[0] == "Findings:" and first.strip().startswith("journal_mu (mutex") and
          ("bimodal" in first or "multimodal" in first),
          f"the report leads with the finding: {first.strip()[:100]!r}")
    cause = lines[2].strip() if len(lines) > 2 else ""
    check("fdatasync" in cause and "flush_journal" in cause and "journal_append" in cause,
          f"the finding names the holders' fdatasync: {cause!r}")
    check("<- mode 1" in text and "<- mode 2" in text and "antimode" in text,
          "the lock's histogram marks its modes and the antimode")
    found = [f for f in report_json(data)["findings"] if f["subject"].startswith("journal_mu")]
    check(found and "fdatasync" in (found[0]["cause"] or "") and found[0]["slow_ns"] > 0,
          f"JSON findings carry the lock's finding and cause: {found[:1]}")

# With --uprobes the probes' traps lengthen every acquisition; a longer pause
# keeps the lock about as busy as without them.
data, t, lu = record("uprobes", "--uprobes", rounds=3000, pause_us=300)
if lu:
    check(lu["acquisitions"] == t["calls"],
          f"--uprobes: every acquisition timed ({lu['acquisitions']} of {t['calls']})")
    check_flagged(lu, "--uprobes, flush under the lock")
    a = lu.get("acquisition_modality", {})
    print(f"info acquisitions: {a.get('verdict')} ({modes(a) if a else '-'})")
    check(bool(a), "--uprobes: the acquisitions are judged on their own too")
    # Hold times (lock return to unlock) show the flush itself: one hold in 32.
    h = lu.get("hold_modality", {})
    check(lu["holds"] == t["calls"], f"--uprobes: {lu['holds']} holds == {t['calls']} appends")
    if h.get("verdict") in MULTI:
        fast = max(h["modes"], key=lambda x: x["count_share"])
        slow = [x for x in h["modes"] if x["center_ns"] > 10 * fast["center_ns"]]
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
if l:
    check_not_flagged(l, "flush off the lock", onlock_wait)
    text = run([WAITPROF, "report", data]).stdout
    findings = text[:text.find("\n\n")]
    check("journal_mu" not in findings, f"flush off the lock: no finding on journal_mu")
data, t, l = record("offlock-uprobes", "--uprobes", flush_off=True, rounds=3000, pause_us=300)
if l:
    check_not_flagged(l, "flush off the lock, --uprobes")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")
finish()
