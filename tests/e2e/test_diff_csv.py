#!/usr/bin/env python3
"""waitprof diff and analyze on CSV files of samples (no BPF needed).

- two files drawn from one distribution: --gate passes (exit 0), every group
  matched, in 20 seeded pairs;
- 5% of one group's samples 30x slower: --gate fails (exit 1) naming that
  group, p99 and new-bimodal flagged, the other group not;
- units: the same samples in us (column latency_us) compare equal to ns;
- malformed rows are reported with line numbers, not dropped silently;
- Markdown output is a table; JSON has the documented fields.
"""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import WAITPROF, check, failures, run, tmpdir  # noqa: E402


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
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
