#!/usr/bin/env python3
"""waitprof diff as a CI gate, on a logger whose only change is where it
flushes (tests/workloads/logger.c).

- baseline: the logger swaps its buffer under log_mu and writes after
  unlocking; current: it writes (2 ms) while holding log_mu. `diff --gate
  --by lock` must exit 1 and name log_mu; the function view must flag the
  function that waits for it. Each --fail-* alone gives the exit code of
  its own kind on these real recordings, flipping where log_mu's growth
  crosses --fail-total and its count crosses --min-samples.
- every recording holds lock data (locks are on by default): one without
  fails the test, it is not a reason to gate on other views only.
- false alarms: 8 recordings of the unchanged logger (the baseline above,
  the rebuilt one, 6 more), each recorded once and never again, are
  compared in all 56 ordered pairs, in all four views. Every failing pair
  is printed. A pair whose current run spent 5 points more of the
  workers' off-CPU time waiting for a CPU than its base (the recording's
  own run-queue split) measured growth the machine's load caused: it is
  counted apart. The test passes only if the other failing pairs all
  involve one recording: one run disturbed otherwise (a host stall) fails
  every pair it is in and is tolerated; two, or a gate that flags
  unchanged pairs at random, are not. A gate that flags 10% of unchanged
  pairs (in any view) passes this 6% of the time, 20%: 0.1% (simulated,
  all pairs judged, as on a quiet machine). Fewer than half the pairs
  judged: that part is skipped (77), said. Runtime about a minute.
- a rebuilt binary (other code layout, other addresses) still matches by name.
- exit 2 on usage and input errors; flamegraph --diff takes recordings.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import (LOGGER, LOGGER_PAD, WAITPROF, check, finish, report_json,  # noqa: E402
                    require_bpf, run, skip, tmpdir)

VIEWS = ["lock", "stack", "function", "thread"]


def record(d, name, exe, mode):
    """A recording, checked to hold lock data (locks are on by default)."""
    data = os.path.join(d, name + ".data")
    p = run([WAITPROF, "record", "-o", data, "--", exe, mode])
    rep = report_json(data)
    sources = rep["recording"].get("lock_sources") or ""
    check("futex" in sources and "without lock contention" not in p.stderr,
          f"{name}: recorded with lock data (sources {sources!r})")
    workers = [t for t in rep["threads"] if t["comm"] == "logger" and t["count"] >= 100]
    off = sum(t["offcpu_ns"] for t in workers)
    RUNQUEUE_PCT[data] = 100.0 * sum(t["runqueue_ns"] for t in workers) / off if off else 0
    return data, rep


# Per recording: the share of the logger workers' off-CPU time spent
# runnable, waiting for a CPU (the machine's load during that run).
RUNQUEUE_PCT = {}
# A pair whose current run waited this many points more for a CPU than its
# base measured real growth the load caused, not a false alarm of the
# gate's statistics: such pairs are counted apart, not judged.
LOAD_RISE_PCT = 5.0


def diff(base, cur, *args):
    p = run([WAITPROF, "diff", base, cur, "-F", "json", *args], check=False)
    out = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
    return p.returncode, out, p.stderr


def test_regression(d, exe):
    base, _ = record(d, "off", exe, "off")
    cur, rep = record(d, "under", exe, "under")
    mu = [l for l in rep["locks"] if l["symbol"] == "log_mu"]
    waits = mu[0]["contentions"] if mu else 0
    check(waits >= 100, f"flush under the lock: log_mu has {waits} contended waits")
    if waits:
        rc, out, _ = diff(base, cur, "--by", "lock", "--gate")
        flagged = [e for e in out["entries"] if e["flags"]]
        check(rc == 1, f"flush under the lock fails the lock gate (exit {rc})")
        check(any("log_mu" in e["key"] for e in flagged),
              "the flagged lock is named log_mu: " + ", ".join(e["key"] for e in flagged))
        p = run([WAITPROF, "diff", base, cur, "--by", "lock", "--gate", "-F", "markdown"],
                check=False)
        check("log_mu" in p.stdout and ":x:" in p.stdout and p.stdout.count("\n|") >= 2,
              "markdown table names log_mu with a regression mark")
    rc, out, _ = diff(base, cur, "--by", "function", "--gate")
    flagged = [e["key"] for e in out["entries"] if e["flags"]]
    check(rc == 1 and "log_message" in flagged,
          f"function view fails too and flags log_message (exit {rc}, flagged {flagged})")
    rc, out, _ = diff(base, cur, "--by", "function")
    check(rc == 0 and out["summary"]["flagged"] >= 1,
          "without --gate/--fail-* regressions are shown but exit 0")
    test_fail_options(base, cur)
    return base


def log_mu_entry(out):
    return next((e for e in out["entries"] if "log_mu" in e["key"]), None) if out else None


def test_fail_options(base, cur):
    """Each --fail-* alone on the real lock regression. log_mu waits a few
    times in the baseline and ~200 times (2 ms each) with the flush under
    it. Too rare in the baseline to compare (below --min-samples), its
    growth counts against the baseline's whole total (docs/DIFF.md): the
    exit code must flip where that share crosses --fail-total, and where
    --min-samples crosses its count in the current recording. Its p99 is
    not judged, so --fail-p99 alone passes although total is flagged."""
    rc, out, _ = diff(base, cur, "--by", "lock", "--fail-total", "25")
    e = log_mu_entry(out)
    check(rc == 1 and e and "total" in e["flags"],
          f"--fail-total 25: exit {rc}, log_mu flags {e and e['flags']}")
    if not e:
        return
    base_n = e["base"]["count"] if e.get("base") else 0
    cur_n = e["current"]["count"]
    growth = e["current"]["total_ns"] - (e["base"]["total_ns"] if e.get("base") else 0)
    share = 100.0 * growth / out["summary"]["base_total_ns"]
    below, above = f"{share * 0.95:.1f}", f"{share * 1.05:.1f}"
    rc_below = diff(base, cur, "--by", "lock", "--fail-total", below)[0]
    rc_above = diff(base, cur, "--by", "lock", "--fail-total", above)[0]
    check(rc_below == 1 and rc_above == 0,
          f"log_mu grew by {share:.0f}% of the baseline's total: --fail-total {below} exit "
          f"{rc_below}, {above} exit {rc_above}")
    rc_n = diff(base, cur, "--by", "lock", "--fail-total", "25", "--min-samples", str(cur_n))[0]
    rc_n1 = diff(base, cur, "--by", "lock", "--fail-total", "25",
                 "--min-samples", str(cur_n + 1))[0]
    check(base_n < 100 and rc_n == 1 and rc_n1 == 0,
          f"log_mu has {cur_n} waits ({base_n} before): --min-samples {cur_n} exit {rc_n}, "
          f"{cur_n + 1} exit {rc_n1}")
    rc, out, _ = diff(base, cur, "--by", "lock", "--fail-p99", "100")
    e = log_mu_entry(out)
    check(rc == 0 and e and not e["compared"] and "total" in e["flags"],
          f"--fail-p99 100: exit {rc}: log_mu's p99 not judged on {base_n} baseline waits, "
          f"and its total flag ({e and e['flags']}) is not of that kind")
    rc, out, _ = diff(base, cur, "--by", "lock", "--fail-new-bimodal")
    e = log_mu_entry(out)
    check(rc == 0 and e and e["current"]["modality"]["verdict"] != "bimodal",
          f"--fail-new-bimodal: exit {rc}, log_mu now "
          f"{e and e['current']['modality']['verdict']} (one mode: waits behind one 2 ms write)")


def gate_failures(a, b):
    worst = []
    for view in VIEWS:
        rc, out, err = diff(a, b, "--by", view, "--gate")
        flagged = [(e["key"][-80:], e["flags"]) for e in out["entries"] if e["flags"]] \
            if out else err
        if rc != 0:
            worst.append(f"{view}: exit {rc} {flagged}")
    return worst


def test_unchanged(runs):
    """All ordered pairs of unchanged recordings through --gate, each view.
    A failing pair whose current run waited LOAD_RISE_PCT points more for a
    CPU than its base is the load's, counted apart; the other failing pairs
    must all share one recording (see the top)."""
    failing, loaded = [], []
    rq = [RUNQUEUE_PCT.get(data, 0.0) for _, data in runs]
    print("     run-queue share of the workers' off-CPU time: " +
          ", ".join(f"{name} {r:.1f}%" for (name, _), r in zip(runs, rq)))
    for i, (name_a, a) in enumerate(runs):
        for j, (name_b, b) in enumerate(runs):
            if i == j:
                continue
            failed = gate_failures(a, b)
            if not failed:
                continue
            rise = rq[j] - rq[i]
            (loaded if rise > LOAD_RISE_PCT else failing).append((i, j))
            print(f"     unchanged {name_a} -> {name_b} (run queue {rise:+.1f} points): "
                  f"{'; '.join(failed)}")
    pairs = len(runs) * (len(runs) - 1)
    judged = pairs - sum(1 for i in range(len(runs)) for j in range(len(runs))
                         if i != j and rq[j] - rq[i] > LOAD_RISE_PCT)
    common = [k for k in range(len(runs)) if all(k in f for f in failing)]
    outlier = f", all involving {runs[common[0]][0]}" if failing and common else ""
    print(f"     false alarms: {len(failing)} of {judged} judged ordered pairs{outlier}; "
          f"{len(loaded)} more failed where the current run waited over {LOAD_RISE_PCT:.0f} "
          f"points more for a CPU ({pairs - judged} such pairs)")
    check(not failing or common,
          f"unchanged logger: {len(failing)} of {judged} judged ordered pairs fail --gate in "
          f"some view, and they {'share one recording' if common else 'do not share one recording'}"
          f" (at most one disturbed run is tolerated): {failing}")
    if judged < pairs // 2:
        skip(f"the gate's false alarms: only {judged} of {pairs} pairs could be judged (the "
             f"machine's load moved the run-queue share of the runs apart: {rq})")


def test_rebuilt(d, base):
    # Same name (the thread name is part of a stack's key), other layout.
    exe2 = LOGGER_PAD
    out = run(["nm", exe2]).stdout + run(["nm", LOGGER]).stdout
    addrs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "log_message":
            addrs.setdefault("log_message", set()).add(parts[0])
    check(len(addrs.get("log_message", ())) == 2, "the rebuild moved log_message")
    cur, _ = record(d, "pad", exe2, "off")
    rc, out, _ = diff(base, cur, "--by", "stack", "--gate")
    worker_keys = [e for e in out["entries"] if ";worker;" in e["key"] and "sleep_us" in e["key"]]
    matched = [e for e in worker_keys if e["status"] == "matched"]
    check(matched and matched[0]["base"]["count"] >= 1000,
          f"a rebuilt binary's worker sleep stack matches by name "
          f"({len(matched)} of {len(worker_keys)} matched)")
    # Whether its gate passes is judged with the other unchanged runs.
    check(rc in (0, 1), f"the rebuilt logger's gate exits 0 or 1 (exit {rc})")
    rc, out, _ = diff(base, cur, "--by", "function", "--gate")
    keys = {e["key"]: e["status"] for e in out["entries"]}
    check(keys.get("log_message") == "matched" or keys.get("sleep_us") == "matched"
          or keys.get("slow_write") == "matched",
          f"functions match across the rebuild: {keys}")
    return cur


def test_errors(d, base):
    p = run([WAITPROF, "diff", base], check=False)
    check(p.returncode == 2, f"one input: exit 2 ({p.returncode})")
    p = run([WAITPROF, "diff", base, os.path.join(d, "missing.data")], check=False)
    check(p.returncode == 2 and "missing.data" in p.stderr, "missing input: exit 2, named")
    p = run([WAITPROF, "diff", base, base, "--by", "colour"], check=False)
    check(p.returncode == 2, "bad --by: exit 2")
    csv = os.path.join(d, "x.csv")
    with open(csv, "w") as f:
        f.write("latency_ns\n1\n")
    p = run([WAITPROF, "diff", base, csv], check=False)
    check(p.returncode == 2, "a recording against a CSV: exit 2")
    p = run([WAITPROF, "diff", base, base, "--fail-p99", "x"], check=False)
    check(p.returncode == 2, "bad --fail-p99: exit 2")
    rc, out, _ = diff(base, base, "--gate")
    check(rc == 0 and out["summary"]["only_base"] == 0 and out["summary"]["only_current"] == 0,
          "a recording against itself: exit 0, everything matched")


def test_flamegraph(d, base):
    cur = os.path.join(d, "under.data")
    svg = os.path.join(d, "diff.svg")
    p = run([WAITPROF, "flamegraph", "--diff", base, cur, "-o", svg], check=False)
    ok = p.returncode == 0 and os.path.getsize(svg) > 1000
    check(ok, f"flamegraph --diff reads two recordings (exit {p.returncode}) {p.stderr[:200]}")
    if ok:
        text = open(svg).read()
        check("log_message" in text, "the differential flame graph names log_message")


def main():
    require_bpf()
    d = tmpdir()
    exe = LOGGER
    base = test_regression(d, exe)
    test_errors(d, base)
    test_flamegraph(d, base)
    rebuilt = test_rebuilt(d, base)
    runs = [("off", base), ("rebuilt", rebuilt)]
    for i in range(int(os.environ.get("DIFF_RUNS", "8")) - 2):
        runs.append((f"run{i}", record(d, f"run{i}", exe, "off")[0]))
    test_unchanged(runs)
    finish()


if __name__ == "__main__":
    main()
