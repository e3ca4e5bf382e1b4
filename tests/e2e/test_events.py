#!/usr/bin/env python3
"""record --events against workloads that measure themselves.

- every interval the histograms count is an event (per-thread sums of event
  durations equal the aggregated totals within 1%);
- the Chrome trace is valid JSON, every thread has a named track, and each
  blocker thread's blocked spans sum to its self-measured blocked time
  within 5%; every flow arrow has a start and an end;
- a deliberately small ring buffer loses events, and the loss is counted:
  events kept + events lost = intervals in the histograms, exactly;
- without --events the recording has no events section and the event
  formats say so (exit 1), and the default path's event ring is one page
  (the program needs the map to load; read from the recorder's fdinfo);
- with --raw-tp the recording says it was made on raw_tp.
"""
import csv
import io
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import (BLOCKER, PINGPONG, WAITPROF, check, finish, report_json,  # noqa: E402
                    require_bpf, run, tmpdir, workload_truth)

HERE = os.path.dirname(os.path.abspath(__file__))
# --raw-tp: the same checks on the raw tracepoint fallback path.
RAW = ["--force-raw-tp"] if "--raw-tp" in sys.argv else []


def events_csv(data):
    p = run([WAITPROF, "report", "-F", "events-csv", data])
    return list(csv.DictReader(io.StringIO(p.stdout, newline="")))


def test_sums_and_trace(d):
    data = os.path.join(d, "ev.data")
    p = run([WAITPROF, "record", "--events", *RAW, "-o", data, "--", BLOCKER, "-n", "40"])
    truth = workload_truth(p.stdout)
    check("events, none lost" in p.stderr, "recorder reports the event count and no loss")
    rows = events_csv(data)
    rep = report_json(data)
    check(rep["counters"].get("events_lost", -1) == 0, "events_lost counter is recorded (0)")
    agg = {}
    for t in rep["threads"]:
        agg[t["tid"]] = agg.get(t["tid"], 0) + t["offcpu_ns"]
    ev = {}
    for r in rows:
        ev[int(r["tid"])] = ev.get(int(r["tid"]), 0) + int(r["total_ns"])
        check_row = int(r["blocked_ns"]) + int(r["runqueue_ns"]) == int(r["total_ns"])
        if not check_row:
            check(False, f"row blocked + runqueue = total: {r}")
            break
    check(len(rows) > 100, f"{len(rows)} events recorded")
    worst = 0.0
    for tid, total in agg.items():
        got = ev.get(tid, 0)
        worst = max(worst, abs(got - total) / max(total, 1))
    check(worst <= 0.01, f"per-thread event sums match aggregated totals (worst {worst:.4%}, limit 1%)")
    check(set(ev) == set(agg), "same threads in events and histograms")

    p = run([WAITPROF, "report", "-F", "chrome-trace", data])
    trace = json.loads(p.stdout)
    evs = trace["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in evs
             if e["ph"] == "M" and e["name"] == "thread_name"}
    for name, t in truth.items():
        tid = t["tid"]
        check(any(k[1] == tid and v == name for k, v in names.items()),
              f"{name}: thread_name metadata for tid {tid}")
        # The workload's clock runs until it is back on a CPU: blocked plus
        # the runnable wait after the wakeup (not preemptions).
        blocked_us = sum(e["dur"] for e in evs
                         if e["ph"] == "X" and e["tid"] == tid and
                         (e.get("cat") == "blocked" or
                          (e.get("cat") == "runnable" and e["name"] == "runnable")))
        err = abs(blocked_us * 1000 - t["blocked_ns"]) / t["blocked_ns"]
        check(err <= 0.05, f"{name}: blocked + runnable spans {blocked_us / 1000:.1f} ms vs self-measured "
              f"{t['blocked_ns'] / 1e6:.1f} ms ({err:.2%}, limit 5%)")
    starts = {e["id"] for e in evs if e["ph"] == "s"}
    ends = {e["id"] for e in evs if e["ph"] == "f"}
    check(starts and starts == ends, f"{len(starts)} wakeup flows, each with both ends")
    spans = {}
    for e in evs:
        if e["ph"] == "X":
            spans.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    unbound = [e for e in evs if e["ph"] in ("s", "f") and
               not any(a - 1e-3 <= e["ts"] <= b + 1e-3 for a, b in spans.get(e["tid"], []))]
    check(not unbound, f"every flow end lies in a slice of its thread ({len(unbound)} do not)")
    reader = truth["reader"]["tid"]
    writer = truth["writer"]["tid"]
    woke_by_writer = [e for e in evs if e["ph"] == "f" and e["tid"] == reader]
    check(any(r["waker_tid"] == str(writer) and r["tid"] == str(reader) for r in rows),
          "the writer is recorded as the reader's waker")
    check(len(woke_by_writer) > 0, "flow arrows end on the reader's track")
    for e in evs:
        if e["ph"] == "X" and (e["dur"] < 0 or e["ts"] < 0):
            check(False, f"span with negative time: {e}")
            break


def test_lost(d):
    data = os.path.join(d, "small.data")
    # nice 19: the reader drains less often, so the 4 KiB ring overflows
    # even on a quiet machine; the ping-pong itself runs at normal priority.
    p = run(["nice", "-n", "19", WAITPROF, "record", "--events", *RAW, "--events-buffer", "4K",
             "-o", data, "--", "nice", "-n", "-19", PINGPONG, "100000"])
    rep = report_json(data)
    lost = rep["counters"].get("events_lost", 0)
    oom = (rep["counters"].get("events_dropped_no_memory", 0) +
           rep["counters"].get("events_dropped_limit", 0))
    rows = events_csv(data)
    intervals = sum(t["count"] for t in rep["threads"])
    check(lost > 0, f"a 4 KiB ring loses events ({lost} lost, {len(rows)} kept)")
    check(len(rows) + lost + oom == intervals,
          f"kept {len(rows)} + lost {lost} + oom {oom} = {intervals} intervals in the histograms")
    check("events lost" in p.stderr and "--events-buffer" in p.stderr,
          "the recorder warns about the loss and names the fix")


def test_off_by_default(d):
    data = os.path.join(d, "plain.data")
    run([WAITPROF, "record", "-o", data, "--", BLOCKER, "-n", "5", "-o", "sleeper"])
    p = run([WAITPROF, "report", "-F", "events-csv", data], check=False)
    check(p.returncode == 1 and "--events" in p.stderr,
          "events-csv without --events: exit 1, tells how to record events")
    p = run([WAITPROF, "report", "-F", "chrome-trace", data], check=False)
    check(p.returncode == 1, "chrome-trace without --events: exit 1")


RINGBUF = 27	# BPF_MAP_TYPE_RINGBUF


def ring_sizes(pid, timeout=30):
    """max_entries of the ring buffer maps the process holds, once it holds
    its maps (loading BTF takes seconds on a loaded machine)."""
    end = time.time() + timeout
    while time.time() < end:
        sizes = []
        for fd in os.listdir(f"/proc/{pid}/fdinfo"):
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
            except OSError:
                continue
            if info.get("map_type", "").strip() == str(RINGBUF):
                sizes.append(int(info["max_entries"]))
        if len(sizes) >= 2:	# events and proc_notifies
            return sorted(sizes)
        time.sleep(0.1)
    return []


def test_ring_size(d):
    page = os.sysconf("SC_PAGESIZE")
    for extra, want in (([], page), (["--events"], 8 << 20)):
        data = os.path.join(d, "ring.data")
        p = subprocess.Popen([WAITPROF, "record", "-q", *RAW, *extra, "-o", data, "--",
                              "sleep", "30"])
        try:
            sizes = ring_sizes(p.pid)
        finally:
            p.send_signal(2)
            p.wait(timeout=60)
        # proc_notifies is 64K; the events ring is the other one.
        events = [s for s in sizes if s != 64 * 1024] or sizes[:1]
        check(events == [want], f"record {' '.join(extra) or '(default)'}: event ring "
                                f"{events} bytes, want [{want}] (rings held: {sizes})")


def test_attach_mode(d):
    data = os.path.join(d, "mode.data")
    run([WAITPROF, "record", "-q", *RAW, "-o", data, "--", BLOCKER, "-n", "3", "-o", "sleeper"])
    mode = report_json(data)["recording"]["attach_mode"]
    check(mode == ("raw_tp" if RAW else "tp_btf"), f"recorded on {mode}")


def main():
    require_bpf()
    d = tmpdir()
    test_sums_and_trace(d)
    test_lost(d)
    test_off_by_default(d)
    test_ring_size(d)
    test_attach_mode(d)
    finish()


if __name__ == "__main__":
    main()
