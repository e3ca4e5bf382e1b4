#!/usr/bin/env python3
"""waitprof diff and analyze on CSV files of samples (no BPF needed).

- two files drawn from one distribution: --gate passes (exit 0), every group
  matched, in 20 seeded pairs;
- 5% of one group's samples 30x slower: --gate fails (exit 1) naming that
  group, p99 and new-bimodal flagged, the other group not;
- units: the same samples in us (column latency_us) compare equal to ns;
  analyze --unit scales a suffix-less column by exactly its unit;
- each --fail-* alone: exit 1 on a regression of its kind, 0 on the same
  files without one, 0 when only another kind was flagged; --min-samples
  compares an entry only at N samples a side (exactly N passes, N+1 not);
  --confidence flags a p99 growth only when its reported confidence is
  above C (probed on both sides of the value diff reports);
- malformed rows are reported with line numbers, not dropped silently;
- Markdown output is a table; JSON has the documented fields.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import WAITPROF, check, finish, run, tmpdir  # noqa: E402


def write(path, seed, n=5000, slow_frac=0.0, unit="ns", bad_lines=()):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write(f"timestamp_ns,latency_{unit},event\n")
        line = 1
        for i in range(n):
            for ev, median in (("read", 20000.0), ("write, sync", 80000.0)):
                m = median * 30 if ev == "read" and rng.random() < slow_frac else median
                v = rng.lognormvariate(0, 0.3) * m
                line += 1
                if line in bad_lines:
                    f.write(f"{i},oops,{ev}\n")
                    continue
                value = f"{v / 1000:.3f}" if unit == "us" else f"{int(v)}"
                f.write(f'{i},{value},"{ev}"\n')


def diff(a, b, *args):
    p = run([WAITPROF, "diff", a, b, "--by", "event", *args], check=False)
    return p


def entry(p, key):
    out = json.loads(p.stdout)
    return next(e for e in out["entries"] if e["key"] == key), out


def test_fail_options(d, base, slow):
    same = os.path.join(d, "same.csv")
    write(same, 102)
    # base vs slow: 5% of reads 30x slower (p99 ~30x, total ~2.5x, bimodal).
    for opt in (["--fail-p99", "100"], ["--fail-total", "25"], ["--fail-new-bimodal"]):
        p = diff(base, slow, *opt, "-F", "json")
        e, _ = entry(p, "read")
        q = diff(base, same, *opt)
        check(p.returncode == 1 and q.returncode == 0,
              f"{' '.join(opt)}: exit {p.returncode} on the slow reads (flags {e['flags']}), "
              f"{q.returncode} on an unchanged file")
    p = diff(base, slow, "--fail-p99", "100", "-F", "json")
    e, _ = entry(p, "read")
    grew = e["delta_pct"]["p99"]
    p = diff(base, slow, "--fail-p99", str(int(grew * 2)), "-F", "json")
    e, _ = entry(p, "read")
    check(p.returncode == 0 and "p99" not in e["flags"] and "total" in e["flags"],
          f"--fail-p99 {int(grew * 2)} (twice the {grew:.0f}% growth): exit {p.returncode}, "
          f"although another kind is flagged ({e['flags']})")
    # 5000 samples a side in each group.
    p = diff(base, slow, "--fail-p99", "100", "--min-samples", "5000")
    q = diff(base, slow, "--fail-p99", "100", "--min-samples", "5001", "-F", "json")
    out = json.loads(q.stdout)
    check(p.returncode == 1 and q.returncode == 0 and out["summary"]["flagged"] == 0 and
          not any(e["compared"] for e in out["entries"]),
          f"--min-samples 5000: exit {p.returncode}; 5001 (above the 5000 samples): exit "
          f"{q.returncode}, {out['summary']['flagged']} flagged, none compared")
    # A small, borderline regression: 1.2% of 1000 reads 30x slower (p99
    # +14% with these seeds). Its p99 confidence lies well inside (0.5,
    # 0.9999); --confidence on each side of it must flip --fail-p99 10.
    lo, hi = os.path.join(d, "lo.csv"), os.path.join(d, "hi.csv")
    write(lo, 1000, n=1000)
    write(hi, 2000, n=1000, slow_frac=0.012)
    p = diff(lo, hi, "--fail-p99", "10", "-F", "json")
    e, _ = entry(p, "read")
    c = e["confidence"]["p99_increased"]
    check(0.55 < c < 0.97 and e["delta_pct"]["p99"] > 10,
          f"borderline regression: p99 +{e['delta_pct']['p99']:.0f}% at confidence {c:.3f}")
    below, above = max(0.5, round(c - 0.03, 3)), min(0.9999, round(c + 0.03, 3))
    p = diff(lo, hi, "--fail-p99", "10", "--confidence", str(below), "-F", "json")
    e_lo, _ = entry(p, "read")
    q = diff(lo, hi, "--fail-p99", "10", "--confidence", str(above))
    check(p.returncode == 1 and "p99" in e_lo["flags"] and q.returncode == 0,
          f"--confidence {below}: exit {p.returncode} (flags {e_lo['flags']}); "
          f"--confidence {above}: exit {q.returncode}")
    p = diff(lo, hi, "--confidence", "0.3")
    check(p.returncode == 2, f"--confidence 0.3 (below 0.5): exit {p.returncode}")


def test_analyze_unit(d):
    path = os.path.join(d, "plain.csv")
    with open(path, "w") as f:
        f.write("latency,event\n")
        for i in range(1, 1001):
            f.write(f"{i},a\n")
    got = {}
    for unit, scale in (("ns", 1), ("us", 1000), ("ms", 10**6), ("s", 10**9)):
        out = json.loads(run([WAITPROF, "analyze", path, "--unit", unit, "-F", "json"]).stdout)
        g = out["groups"][0]
        got[unit] = (out["unit"], g["total_ns"], g["max_ns"])
        check(out["unit"] == unit and g["total_ns"] == 500500 * scale and
              g["max_ns"] == 1000 * scale,
              f"analyze --unit {unit}: total {g['total_ns']} ns (want {500500 * scale}), "
              f"max {g['max_ns']} ns")
    out = json.loads(run([WAITPROF, "analyze", path, "-F", "json"]).stdout)
    check(out["unit"] == "ns" and out["groups"][0]["total_ns"] == 500500,
          "analyze without --unit: a suffix-less column is ns")
    p = run([WAITPROF, "analyze", path, "--unit", "parsec"], check=False)
    check(p.returncode == 2, f"analyze --unit parsec: exit {p.returncode}")


def main():
    d = tmpdir()
    fails = []
    for seed in range(20):
        a, b = os.path.join(d, "a.csv"), os.path.join(d, "b.csv")
        write(a, 2 * seed)
        write(b, 2 * seed + 1)
        p = diff(a, b, "--gate", "-F", "json")
        out = json.loads(p.stdout)
        if p.returncode != 0 or out["summary"]["matched"] != 2:
            fails.append((seed, p.returncode, [e["key"] for e in out["entries"] if e["flags"]]))
    check(not fails, f"20 pairs from one distribution pass --gate ({fails})")

    base, slow = os.path.join(d, "base.csv"), os.path.join(d, "slow.csv")
    write(base, 100)
    write(slow, 101, slow_frac=0.05)
    p = diff(base, slow, "--gate", "-F", "json")
    out = json.loads(p.stdout)
    flagged = {e["key"]: e["flags"] for e in out["entries"] if e["flags"]}
    check(p.returncode == 1, f"a 5% slow mode fails the gate (exit {p.returncode})")
    check(set(flagged) == {"read"} and "p99" in flagged["read"] and
          "new_bimodal" in flagged["read"], f"only 'read' flagged, p99 and new bimodal: {flagged}")
    read = next(e for e in out["entries"] if e["key"] == "read")
    check(read["confidence"]["p99_increased"] >= 0.99 and read["mann_whitney"]["p_value"] < 0.05,
          f"confidence {read['confidence']['p99_increased']:.4f}, "
          f"Mann-Whitney p {read['mann_whitney']['p_value']:.2g}")
    p = diff(base, slow, "--fail-total", "1000")
    check(p.returncode == 0, "a total-only gate at +1000% passes (total grew ~2.5x)")
    p = diff(base, slow, "--gate", "-F", "markdown")
    check(p.stdout.count("\n|") >= 3 and ":x:" in p.stdout and "`read`" in p.stdout,
          "markdown: a table with the flagged row marked")

    test_fail_options(d, base, slow)
    test_analyze_unit(d)

    us = os.path.join(d, "base_us.csv")
    write(us, 100, unit="us")
    p = diff(base, us, "--gate", "-F", "json")
    out = json.loads(p.stdout)
    tot = {e["key"]: (e["base"]["total_ns"], e["current"]["total_ns"]) for e in out["entries"]}
    check(p.returncode == 0 and all(abs(a - b) <= 0.001 * a for a, b in tot.values()),
          f"latency_us read as microseconds: same totals as ns ({tot})")

    bad = os.path.join(d, "bad.csv")
    write(bad, 100, bad_lines=(7, 5000))
    p = diff(base, bad)
    check("2 malformed rows" in p.stderr and "line 7" in p.stderr,
          f"malformed rows reported: {p.stderr.strip()}")
    p = run([WAITPROF, "analyze", bad, "--by", "event", "-F", "json"], check=False)
    out = json.loads(p.stdout)
    check(out["malformed"]["count"] == 2 and
          [x["line"] for x in out["malformed"]["listed"]] == [7, 5000],
          "analyze lists the malformed rows by line number")
    check(sum(g["count"] for g in out["groups"]) + 2 == out["rows"],
          "every other row is counted")
    p = run([WAITPROF, "analyze", os.path.join(d, "none.csv")], check=False)
    check(p.returncode == 2, "analyze: missing file, exit 2")
    p = run([WAITPROF, "analyze", bad, "--column", "nope"], check=False)
    check(p.returncode == 2 and "nope" in p.stderr, "analyze: unknown column, exit 2, named")
    finish()


if __name__ == "__main__":
    main()
