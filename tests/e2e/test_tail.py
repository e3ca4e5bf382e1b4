#!/usr/bin/env python3
"""waitprof tail end to end (issue 18) on lockers' logger: 4 threads append
to a journal under journal_mu (random pauses between appends); every 32nd
append persists a checkpoint with fdatasync, under the lock or (-F) after
the unlock. The journal is on tmpfs and the checkpoint on a disk (-c), so
only the flush waits for the disk: on one ext4 file system an append's
write(2) under the lock also waits for the flush's journal commit now and
then, which makes even the fixed logger's tail partly lock-bound. The
target is journal_append; the workload times each call itself (-R).

- every call is seen: the calls equal the workload's;
- accounting: per band and over all calls, on-CPU (measured, not a
  remainder) + runnable + the waits equal the calls' time within 2%;
- per call, against the workload's own clock around each call (-L: one
  line per call): every call's pieces (its waterfall: on CPU, blocked,
  runnable) add up to its time exactly; no call is longer than the
  workload measured (+10 us: two CPUs' clocks); of the calls of >= 1 ms
  at least 90% are within 2% + 50 us (the probes' two traps, which run
  outside the span: ~6 us a call idle, up to ~130 us beside CPU hogs) of
  the workload's measure (measured on a loaded machine: 96-97% within
  2% + 50 us, 86-95% within 2% alone; the rest lose time to a preemption
  in the workload's own code between its clock and the call: one such
  call of ~0.9 ms failed a check of the sum, since dropped, in CI);
  the median call is within 20 us (the traps);
- flush under the lock: the slowest 1% spend most of their time off CPU
  (> 50%), their largest wait is journal_mu (> 40% of their time), and
  off-wake says its holders were in fdatasync: of journal_mu's waits
  > 80% are followed to the thread that ended them, and besides queueing
  on journal_mu themselves (a lock handed down a queue of waiters) what
  those threads were blocked in was mostly fdatasync (directly or through
  their own waker); the fastest half hardly waits on journal_mu;
- flush off the lock (-F): the slowest 1% are not lock-bound: journal_mu
  is not their largest wait and holds < 25% of their time;
- waterfall: the text's slowest calls and the Chrome trace written in the
  same run have the same calls and pieces; the trace loads in headless
  Chromium in a page that parses it and counts its slices (pieces per call
  equal the text's, their durations add up to each call's); -F html's own
  check of its drawn waterfall passes;
- -p: a running logger, for 2 s: its calls, journal_mu among the reasons;
- refusals in one line: a syscall target, an unknown function, no process.
Shares, not absolute times: the machine may be loaded (runnable time grows,
the verdicts must not change).

usage: test_tail.py [--raw-tp]
"""
import os
import re
import shutil
import subprocess
import tempfile

from wptest import *

require_bpf()
RAW_TP = "--raw-tp" in sys.argv[1:]
d = tmpdir()
SLACK = 0.02
# The entry and return traps run on the call's thread outside its span:
# ~6 us a call here, up to ~130 us beside CPU hogs (measured).
TRAPS_NS = 50000


def tail(name, flush_off=False, rounds=800):
    out = os.path.join(d, name + ".json")
    log = os.path.join(d, name + ".calls")
    args = ["logger", "-t", "4", "-n", str(rounds), "-p", "100", "-d", "/dev/shm",
            "-c", "/var/tmp", "-R", "-L", log]
    if flush_off:
        args.append("-F")
    extra = ["--raw-tp"] if RAW_TP else []
    # -w: every call's waterfall, for the per-call checks.
    p = run([WAITPROF, "tail", "-q", *extra, "-F", "json", "-o", out, "-w", "100000",
             LOCKERS + ":journal_append", "--", LOCKERS, *args], timeout=240)
    truth = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            t = json.loads(line)
            truth[t.get("lock") or t.get("function")] = t
    with open(out) as f:
        rep = json.load(f)
    truth["calls_log"] = {}
    with open(log) as f:
        for line in f:
            tid, t0, t1, cpu = map(int, line.split())
            truth["calls_log"].setdefault(tid, []).append((t0, t1))
    return rep, truth


def check_per_call(what, t, truth):
    """Each call's pieces against its total, and against the workload's clock."""
    log = truth["calls_log"]
    check(len(t["waterfall"]) == t["calls"], f"{what}: a waterfall for each of the {t['calls']} calls")
    untiled = [c for c in t["waterfall"] if sum(p["dur_ns"] for p in c["pieces"]) != c["total_ns"]]
    check(not untiled, f"{what}: every call's pieces add up to its time ({len(untiled)} do not)")
    rows, unmatched = [], 0
    for c in t["waterfall"]:
        e, x = c["entry_ns"], c["entry_ns"] + c["total_ns"]
        # The workload's call on that thread that holds (or nearly: two
        # CPUs' clocks) the span.
        m = [k for k in log.get(c["tid"], []) if k[0] <= e + 10000 and x <= k[1] + 10000]
        if len(m) != 1:
            unmatched += 1
            continue
        rows.append((m[0][1] - m[0][0], c["total_ns"]))
    # A span adopts the waits of its own probe traps (a preemption on the
    # way in or back), which lie outside the workload's clock: beside a CPU
    # hog one call in ~3200 reached past the 10 us slack.
    check(unmatched <= max(1, len(t["waterfall"]) // 1000),
          f"{what}: every call but one in a thousand matches one call the workload timed "
          f"({unmatched} of {len(t['waterfall'])} do not)")
    longer = [r for r in rows if r[1] > r[0] + 10000]
    check(not longer, f"{what}: no call longer than the workload measured: {longer[:3]}")
    gaps = sorted(r[0] - r[1] for r in rows)
    med = gaps[len(gaps) // 2] if gaps else 0
    check(med <= 20000, f"{what}: median call {med / 1e3:.1f} us shorter than the workload's clock "
          f"(the probes' traps; <= 20 us)")
    # The long calls, where the traps' allowance is small against the call:
    # those of 1 ms or more, or (a fast disk makes few) the 10 longest.
    big = [r for r in rows if r[0] >= 1000000]
    if len(big) < 10:
        big = sorted(rows, key=lambda r: r[0])[-10:]
    strict = [r for r in big if abs(r[0] - r[1]) <= SLACK * r[0]]
    within = [r for r in big if abs(r[0] - r[1]) <= SLACK * r[0] + TRAPS_NS]
    shortest = min((r[0] for r in big), default=0)
    check(len(big) >= 10 and shortest >= 100000 and len(big) - len(within) <= max(1, len(big) // 10),
          f"{what}: {len(within)} of the {len(big)} longest calls (from {shortest / 1e3:.0f} us) "
          f"within 2% + 50 us (the probes' traps) of the workload's clock (at most 10% or 1 "
          f"outside; within 2% alone: {len(strict)})")


def waits_ns(b):
    return sum(w["total_ns"] for w in b["waits"])


def share(b, pred):
    return sum(w["total_ns"] for w in b["waits"] if pred(w)) / max(b["total_ns"], 1)


def check_accounting(what, t, truth):
    calls = truth["journal_append"]["calls"]
    check(t["calls"] == calls and truth["journal_mu"]["calls"] == calls,
          f"{what}: {t['calls']} calls seen, the workload made {calls}")
    check(sum(b["calls"] for b in t["bands"]) == t["calls"],
          f"{what}: the bands hold every call")
    total = parts = 0
    for b in t["bands"]:
        p = b["on_cpu_ns"] + b["runqueue_ns"] + waits_ns(b)
        total += b["total_ns"]
        parts += p
        check(abs(p - b["total_ns"]) <= SLACK * max(b["total_ns"], 1),
              f"{what}: {b['band']}: on-CPU + runnable + waits = {p / 1e6:.2f} ms, "
              f"calls' time {b['total_ns'] / 1e6:.2f} ms")
        check(b["blocked_ns"] == waits_ns(b), f"{what}: {b['band']}: blocked_ns is the waits' sum")
    check(abs(parts - total) <= SLACK * total,
          f"{what}: all calls: parts {parts / 1e6:.1f} ms = total {total / 1e6:.1f} ms")
    own = truth["journal_append"]["total_ns"]
    # The workload's clock around each call also holds the entry and return
    # traps, of which only part falls between the probes' timestamps.
    check(total <= own * (1 + SLACK) and total >= own * 0.3,
          f"{what}: calls' time {total / 1e6:.1f} ms within the workload's own "
          f"{own / 1e6:.1f} ms (ratio {total / max(own, 1):.2f}, the rest is probe traps)")
    check(t["p50_ns"] <= t["p90_ns"] <= t["p99_ns"] <= t["max_ns"], f"{what}: percentiles ordered")


def is_journal_mu(w):
    return "journal_mu" in w["reason"]


def slow_band(t):
    return [b for b in t["bands"] if b["band"] == "p99-p100"][0]


def fast_band(t):
    return [b for b in t["bands"] if b["band"] == "p0-p50"][0]


def describe(b):
    return ", ".join(f"{w['reason']} {w['total_ns'] / max(b['total_ns'], 1) * 100:.0f}%"
                     for w in b["waits"][:3]) or "no waits"


def text_waterfall(text):
    """[(total label, [piece lines])] of the text's waterfall."""
    calls = []
    for line in text.splitlines():
        m = re.match(r"\s+#(\d+)\s+(\S+ \S+)\s+pid (\d+) tid (\d+)\s+\((\d+) pieces", line)
        if m:
            calls.append({"rank": int(m.group(1)), "tid": int(m.group(4)),
                          "pieces": int(m.group(5)), "lines": []})
        elif calls and re.match(r"\s+\+", line) and not line.rstrip().endswith("return"):
            calls[-1]["lines"].append(line)
    return calls


def browse(path):
    """The DOM after the page's scripts ran, and the console errors."""
    profile = tempfile.mkdtemp(prefix="tail-chromium-")
    try:
        p = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-background-networking", "--no-first-run",
                            "--disable-component-update", "--disable-sync",
                            "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
                            "--virtual-time-budget=5000", "--dump-dom", "file://" + path],
                           capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    check(p.returncode == 0, "chromium ran: %s" % p.stderr[-300:])
    errors = [l for l in p.stderr.splitlines() if "Uncaught" in l]
    return p.stdout, errors


def body_attrs(dom):
    m = re.search(r"<body([^>]*)>", dom)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1))) if m else {}


# A page that is no part of waitprof: it parses the trace as a trace viewer
# would (traceEvents, complete "X" slices on pid/tid tracks) and counts
# each call's slices and their durations.
TRACE_PAGE = """<!DOCTYPE html><html><body>
<script type="application/json" id="t">%s</script>
<script>
var out = [], tr = JSON.parse(document.getElementById('t').textContent), calls = {};
tr.traceEvents.forEach(function (e) {
  if (e.ph !== 'X') return;
  var c = calls[e.args.call] = calls[e.args.call] || {n: 0, us: 0, total_us: 0, ns: 0, total_ns: 0};
  if (e.cat === 'call') { c.total_us = e.dur; c.total_ns = e.args.total_ns; c.tid = e.tid; c.ts = e.ts; }
  else { c.n++; c.us += e.dur; c.ns += e.args.dur_ns; }
});
Object.keys(calls).forEach(function (k) {
  var c = calls[k];
  out.push(k + ':' + c.tid + ':' + c.n + ':' + c.ns + ':' + c.total_ns + ':' + c.us.toFixed(3) + ':' + c.total_us.toFixed(3));
});
document.body.setAttribute('data-calls', out.join(' '));
</script></body></html>"""


def check_waterfall(text, trace_file):
    calls = text_waterfall(text)
    check(len(calls) == 3, f"text: the waterfall of the 3 slowest calls ({len(calls)})")
    for c in calls:
        check(len(c["lines"]) == c["pieces"],
              f"text: call #{c['rank']} prints its {c['pieces']} pieces ({len(c['lines'])})")
    with open(trace_file) as f:
        raw = f.read()
    json.loads(raw)
    if not chromium():
        check(False, "chromium is needed to load the trace (scripts/deps)")
        return
    page = os.path.join(d, "trace.html")
    with open(page, "w") as f:
        f.write(TRACE_PAGE % raw.replace("<", "\\u003c"))
    dom, errors = browse(page)
    check(not errors, f"trace page: no script error: {errors[:2]}")
    got = {}
    for item in body_attrs(dom).get("data-calls", "").split():
        rank, tid, n, ns, total_ns, us, total_us = item.split(":")
        got[int(rank)] = (int(tid), int(n), int(ns), int(total_ns), float(us), float(total_us))
    check(sorted(got) == [1, 2, 3], f"trace: the 3 calls parsed in chromium: {sorted(got)}")
    for c in calls:
        g = got.get(c["rank"])
        if not g:
            continue
        tid, n, ns, total_ns, us, total_us = g
        check(tid == c["tid"] and n == c["pieces"],
              f"trace: call #{c['rank']} has the text's thread and {c['pieces']} pieces: tid {tid}, {n}")
        check(ns == total_ns and abs(us - total_us) <= 0.001 * n + 0.001,
              f"trace: call #{c['rank']}'s slices add up to it: {ns} of {total_ns} ns, "
              f"{us:.3f} of {total_us:.3f} us")


def check_html(path):
    if not chromium():
        check(False, "chromium is needed to load the HTML report")
        return
    with open(path) as f:
        page = f.read()
    check("http://" not in page and "https://" not in page, "html: no external URL")
    dom, errors = browse(path)
    attrs = body_attrs(dom)
    check(not errors and attrs.get("data-selfcheck") == "ok",
          f"html: its waterfall check passes: {attrs.get('data-selfcheck')} {errors[:2]}")
    check(attrs.get("data-calls") == "3" and int(attrs.get("data-pieces", "0")) >= 3,
          f"html: 3 slowest calls drawn, {attrs.get('data-pieces')} pieces")
    check("p99-p100" in dom and "journal_mu" in dom, "html: the bands and the lock are on the page")


# Flush under the lock.
rep, truth = tail("under")
t = rep["targets"][0]
check(t["target"].endswith(":journal_append"), f"target {t['target']}")
check_accounting("flush under the lock", t, truth)
check_per_call("flush under the lock", t, truth)
slow, fast = slow_band(t), fast_band(t)
off = 1 - slow["on_cpu_ns"] / max(slow["total_ns"], 1)
top = slow["waits"][0] if slow["waits"] else {"reason": "", "lock": None, "frames": []}
check(off > 0.5, f"under: the slowest 1% spend {off * 100:.0f}% of their time off CPU (> 50%)")
check("journal_mu" in top["reason"] and share(slow, is_journal_mu) > 0.4,
      f"under: the slowest 1%'s largest wait is journal_mu, > 40% of their time: {describe(slow)}")
ow = top.get("offwake") or {"followed_ns": 0, "waker_waits": []}
check(ow["followed_ns"] > 0.8 * top["total_ns"],
      f"under: off-wake followed {ow['followed_ns'] / max(top['total_ns'], 1) * 100:.0f}% of the "
      f"slowest 1%'s journal_mu waits to the thread that ended them (> 80%)")
ww = ow["waker_waits"]
# The wakers of a lock's waiters are mostly its previous waiters (a queue):
# that part is journal_mu itself. Of what else they were blocked in,
# fdatasync is the most (the holder that made the queue).
fsync_w = sum(w["total_ns"] for w in ww if w["reason"].startswith("fdatasync"))
other_w = max([w["total_ns"] for w in ww
               if not w["reason"].startswith("fdatasync") and not is_journal_mu(w)] + [0])
check(fsync_w > 0 and fsync_w > other_w,
      f"under: while the slowest 1% waited on journal_mu, what the threads that woke them were "
      f"blocked in, besides queueing on journal_mu, was mostly fdatasync "
      f"({fsync_w / max(ow['followed_ns'], 1) * 100:.0f}%; next {other_w / max(ow['followed_ns'], 1) * 100:.0f}%): "
      + ", ".join(f"{w['reason']} {w['total_ns'] / max(ow['followed_ns'], 1) * 100:.0f}%" for w in ww[:4]))
check(share(slow, lambda w: is_journal_mu(w) or "fdatasync" in w["reason"]) >= 0.3,
      f"under: journal_mu and fdatasync hold >= 30% of the slowest 1%'s time: {describe(slow)}")
mu = [w for b in t["bands"] for w in b["waits"] if is_journal_mu(w)]
check(mu and all(w["lock"] == "journal_mu" for w in mu),
      "under: journal_mu waits carry the lock's symbol")
check(any(any(f["name"] == "futex_wait" or "lll_lock" in f["name"] for f in w["frames"])
          for w in mu), "under: journal_mu waits have their frames")
fsync = [w for b in t["bands"] for w in b["waits"] if w["reason"].startswith("fdatasync")]
named = sum(w["total_ns"] for w in fsync if w["reason"] == "fdatasync in flush_journal")
check(fsync and named >= 0.5 * sum(w["total_ns"] for w in fsync),
      f"under: most fdatasync time reads 'fdatasync in flush_journal' (CFI through libc): "
      f"{named / max(sum(w['total_ns'] for w in fsync), 1) * 100:.0f}%")
fast_mu = share(fast, is_journal_mu)
check(fast_mu < 0.1 and fast_mu < share(slow, is_journal_mu) / 2,
      f"under: the fastest half waits {fast_mu * 100:.1f}% on journal_mu "
      f"(< 10%, < half the slowest 1%'s {share(slow, is_journal_mu) * 100:.0f}%)")
trace_file = os.path.join(d, "slowest.trace.json")
text = run([WAITPROF, "tail", "-q", "-F", "text", "-w", "3", "--trace", trace_file,
            LOCKERS + ":journal_append", "--", LOCKERS, "logger", "-t", "4", "-n", "200",
            "-d", "/dev/shm", "-c", "/var/tmp"]).stdout
check("The slowest 1% spend" in text and "the median call waits" in text,
      "text: the sentence comparing the slowest 1% with the median call")
check_waterfall(text, trace_file)
html_file = os.path.join(d, "tail.html")
run([WAITPROF, "tail", "-q", "-F", "html", "-w", "3", "-o", html_file, LOCKERS + ":journal_append",
     "--", LOCKERS, "logger", "-t", "4", "-n", "200", "-d", "/dev/shm", "-c", "/var/tmp"])
check_html(html_file)

# Flush after the unlock.
rep, truth = tail("off", flush_off=True)
t = rep["targets"][0]
check_accounting("flush off the lock", t, truth)
check_per_call("flush off the lock", t, truth)
slow = slow_band(t)
top = slow["waits"][0] if slow["waits"] else {"reason": ""}
check(not is_journal_mu(top),
      f"off: the slowest 1%'s largest wait is not journal_mu: {describe(slow)}")
check(share(slow, is_journal_mu) < 0.25,
      f"off: journal_mu holds {share(slow, is_journal_mu) * 100:.0f}% of the slowest 1% (< 25%)")
# -p: attached to a running logger (calls in progress at attach time are
# counted as unmatched returns, not reported).
proc = subprocess.Popen([LOCKERS, "logger", "-t", "4", "-n", "1000000", "-p", "200", "-d",
                         "/dev/shm", "-c", "/var/tmp"], stdout=subprocess.DEVNULL)
try:
    out = os.path.join(d, "pid.json")
    extra = ["--raw-tp"] if RAW_TP else []
    run([WAITPROF, "tail", "-q", *extra, "-p", str(proc.pid), "-d", "2", "-F", "json", "-o",
         out, LOCKERS + ":journal_append"])
    with open(out) as f:
        t = json.load(f)["targets"][0]
    reasons = {w["reason"] for b in t["bands"] for w in b["waits"]}
    check(t["calls"] > 100, f"-p: {t['calls']} calls in 2 s")
    check("journal_mu" in reasons, f"-p: journal_mu among the reasons: {sorted(reasons)[:5]}")
finally:
    proc.kill()
    proc.wait()

for what, args in (("a syscall target", ["syscall:fdatasync", "--", "true"]),
                   ("an unknown function", [LOCKERS + ":no_such_function", "--", "true"]),
                   ("no -p or command", [LOCKERS + ":journal_append"])):
    p = run([WAITPROF, "tail", "-q", *args], check=False)
    lines = p.stderr.strip().splitlines()
    check(p.returncode != 0 and len(lines) == 1, f"refuses {what} in one line: {lines}")

for k, v in rep["counters"].items():
    if k in ("calls_lost_ring_full", "dropped_span_map_full", "dropped_stack_map_full"):
        check(v == 0, f"counter {k} = {v}")
finish()
