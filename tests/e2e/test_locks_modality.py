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
- flush moved off the lock (a 1 ms sleep, the journal on a tmpfs: see
  record()), with and without --uprobes: the waits that are left (behind
  ordinary appends) are one mode, and far fewer.
Futex calls that return at once (the lock was released before the thread
could sleep) are counted as retries, not waits.
"""
import os

from wptest import *

LOCKERS = os.environ.get("LOCKERS", os.path.join(os.path.dirname(BLOCKER), "lockers"))
require_bpf()
d = tmpdir()
MULTI = ("bimodal", "multimodal")
# The lock's own verdict (src/analysis/lock_verdict.c) from all the evidence.
FLAGGED = ("bimodal", "slow-holder")


def record(name, *extra, flush_off=False, rounds=6000, pause_us=100):
    data = os.path.join(d, name + ".data")
    # The journal on a disk (/var/tmp, not a tmpfs /tmp): fdatasync must
    # reach a device to be slow. After the lock, fdatasync on a disk is not
    # a clean negative: the next holder's write() may wait under the lock
    # for the page fdatasync has under writeback (seen: 56 of 1653 holds
    # slept ~2 ms in write(), a real slow holder that waitprof rightly
    # flags). So the flush after the lock is a timed sleep of about
    # fdatasync's cost, the journal on a tmpfs, as in eval_locks.py.
    args = ["logger", "-t", "4", "-n", str(rounds), "-p", str(pause_us), "-s", "10"]
    if flush_off:
        args += ["-F", "-d", "/dev/shm", "-S", "1000"]
    else:
        args += ["-d", "/var/tmp"]
    p = run([WAITPROF, "record", "-q", *extra, "-o", data, "--", LOCKERS, *args])
    t = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][0])
    rep = report_json(data)
    ls = [l for l in rep["locks"] if l["pid"] == t["pid"] and l["symbol"] == "journal_mu"]
    return data, t, (ls[0] if ls else None)


def modes(m):
    return ", ".join(f"{x['count_share'] * 100:.0f}% ~{x['center_ns'] / 1e3:.0f} us"
                     for x in m["modes"])


def lock_findings(data):
    return [f for f in report_json(data)["findings"] if f["subject"].startswith("journal_mu")]


def check_flagged(l, what, data):
    m = l["modality"]
    check(l["modality_of"] == "waits", f"{what}: judged on the futex waits")
    check(l["verdict"] in FLAGGED, f"{what}: {l['verdict']}: {l['verdict_text']}")
    found = lock_findings(data)
    check(found and not found[0]["is_hint"] and "fdatasync" in (found[0]["cause"] or ""),
          f"{what}: the findings name journal_mu and the holders' fdatasync: "
          f"{[(f['text'][:60], f['cause']) for f in found]}")
    if l["verdict"] == "bimodal":
        # The flush's own latency may split further (a rare multi-ms stall):
        # the modes above the fastest together hold most of the wait.
        fast = min(m["modes"], key=lambda x: x["center_ns"])
        slow = [x for x in m["modes"] if x["center_ns"] >= 3 * fast["center_ns"]]
        share = sum(x["time_share"] for x in slow)
        check(slow and share >= 0.5,
              f"{what}: the slow modes (from {min(x['center_ns'] for x in slow) / 1e3:.0f} us; "
              f"fastest {fast['center_ns'] / 1e3:.0f} us) hold {share * 100:.0f}% of the wait")


def check_not_flagged(l, what, data, onlock_wait=None):
    m = l["modality"]
    # The flush sleeps after the unlock: the owners never sleep holding
    # the lock (a negative control of the owner notes).
    check(l["owner_holds_slept"] <= 0.01 * max(l["owner_holds"], 100),
          f"{what}: owners slept holding the lock in {l['owner_holds_slept']} of "
          f"{l['owner_holds']} holds seen")
    check(l["verdict"] not in FLAGGED + ("likely-bimodal",),
          f"{what}: {l['verdict']} ({l['contentions']} waits: {modes(m)}; {l['verdict_text']})")
    found = lock_findings(data)
    check(not found, f"{what}: no finding on journal_mu ({[f['text'][:80] for f in found]})")
    if onlock_wait is not None:
        check(l["total_wait_ns"] * 2 < onlock_wait,
              f"{what}: {l['total_wait_ns'] / 1e6:.1f} ms of waiting vs "
              f"{onlock_wait / 1e6:.1f} ms under the lock")


data, t, l = record("onlock")
check(l is not None and l["kind"] == "mutex", "flush under the lock: journal_mu is a mutex")
onlock_wait = l["total_wait_ns"] if l else 0
if l:
    check_flagged(l, "flush under the lock, futex waits alone", data)
    check(l["futex_retries"] >= 0 and sum(b["count"] for b in l["histogram"]) == l["contentions"],
          f"retries ({l['futex_retries']}) are kept out of the wait histogram")
    text = run([WAITPROF, "report", data]).stdout
    check(any(line.strip() == f"journal_mu: {l['verdict_text']}" for line in text.splitlines()),
          "the text report says the verdict in words")
    # The report leads with the recorder's cost, then the findings, and
    # names what the holders block on.
    lines = text.splitlines()
    at = lines.index("Findings:") if "Findings:" in lines else -1
    head = lines[:max(at, 0)]
    check(text.startswith("waitprof recorder:") and at > 0 and head[-1] == "" and
          all(l.startswith("  ") for l in head[1:-1]),
          f"the recorder's lines come first, then the findings (line {at}): {head[:at]}")
    lines = lines[max(at, 0):]
    first = lines[1] if len(lines) > 1 else ""
    check(lines[0] == "Findings:" and first.strip().startswith("journal_mu (mutex") and
          any(w in first for w in ("bimodal", "multimodal", "slow holder")),
          f"the report leads with the finding: {first.strip()[:100]!r}")
    cause = lines[2].strip() if len(lines) > 2 else ""
    check("fdatasync" in cause and "flush_journal" in cause and "journal_append" in cause,
          f"the finding names the holders' fdatasync: {cause!r}")
    check("<- mode 1" in text and "<- mode 2" in text and "antimode" in text,
          "the lock's histogram marks its modes and the antimode")
    found = [f for f in report_json(data)["findings"] if f["subject"].startswith("journal_mu")]
    check(found and "fdatasync" in (found[0]["cause"] or "") and found[0]["slow_ns"] > 0,
          f"JSON findings carry the lock's finding and cause: {found[:1]}")
    # Without uprobes, the owners the waiters saw (bpf/lock_owners.bpf.h):
    # nearly every flush has a waiter queue behind it, and each is seen as
    # a sleep under the lock, in fdatasync.
    flushes = t["calls"] // 32
    sites = l.get("owner_sleep_sites", [])
    top = " <- ".join(f["name"] for f in reversed(sites[0]["frames"])) if sites else ""
    check(0.8 * flushes <= l["owner_holds_slept"] <= l["owner_holds"],
          f"owners slept holding the lock in {l['owner_holds_slept']} of {l['owner_holds']} "
          f"holds seen; {flushes} flushes under it")
    check("fdatasync" in top, f"the owners' sleeps under the lock are in fdatasync: {top[:120]}")

# With --uprobes the probes' traps lengthen every acquisition; a longer pause
# keeps the lock about as busy as without them.
data, t, lu = record("uprobes", "--uprobes", rounds=3000, pause_us=300)
if lu:
    check(lu["acquisitions"] == t["calls"],
          f"--uprobes: every acquisition timed ({lu['acquisitions']} of {t['calls']})")
    check_flagged(lu, "--uprobes, flush under the lock", data)
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
    check_not_flagged(l, "flush off the lock", data, onlock_wait)
data, t, l = record("offlock-uprobes", "--uprobes", flush_off=True, rounds=3000, pause_us=300)
if l:
    check_not_flagged(l, "flush off the lock, --uprobes", data)
    h = l.get("hold_modality", {})
    print(f"info flush off, --uprobes: holds {h.get('verdict')} ({modes(h) if h else '-'}), "
          f"probe cost ~{l['probe_ns'] / 1e3:.1f} us")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")
finish()
