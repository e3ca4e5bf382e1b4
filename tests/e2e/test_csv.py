#!/usr/bin/env python3
"""CSV exports and analyze, against real recordings.

- report --format csv: one row per entry; its totals equal the folded
  output's (per thread name and overall); every row's p50 <= p90 <= p99 <= max.
- hostile names survive: C++ frames with commas, spaces and quotes
  (templates, operator"") and thread names with commas, quotes and
  semicolons read back intact with Python's csv (and pandas when installed).
- analyze streams: a generated file of N rows (piped) runs in bounded memory;
  the peak RSS and the rate are printed (docs/DIFF.md has the 100M figure).
"""
import csv
import io
import os
import re
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import (BLOCKER, HOSTILE, WAITPROF, check, failures, report_json,  # noqa: E402
                    require_bpf, run, finish, skip, tmpdir)  # noqa: E402


MIN_SAMPLES = int(re.search(r"#define MODALITY_MIN_SAMPLES\s+(\d+)", open(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "../../src/analysis/modality.h")).read()).group(1))


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def folded_by_comm(text):
    out = {}
    for line in text.splitlines():
        stack, _, value = line.rpartition(" ")
        comm = stack.split(";", 1)[0]
        out[comm] = out.get(comm, 0) + int(value)
    return out


def test_totals(d):
    data = os.path.join(d, "blocker.data")
    run([WAITPROF, "record", "-o", data, "--", BLOCKER, "-n", "30"])
    rows = csv_rows(run([WAITPROF, "report", "-F", "csv", data]).stdout)
    folded = run([WAITPROF, "report", "-F", "folded", data]).stdout
    off = [r for r in rows if r["kind"] == "offcpu"]
    check(len(off) > 3, f"{len(off)} off-CPU rows")
    by_comm = {}
    for r in off:
        by_comm[r["comm"]] = by_comm.get(r["comm"], 0) + int(r["total_ns"])
    fold = folded_by_comm(folded)
    lines = {}
    for line in folded.splitlines():
        c = line.split(";", 1)[0]
        lines[c] = lines.get(c, 0) + 1
    for comm, total in by_comm.items():
        # folded prints whole microseconds per line: at most 1 us lost per line
        want = fold.get(comm, 0)
        check(0 <= total / 1000 - want <= lines.get(comm, 0) + 1,
              f"{comm}: CSV total {total / 1000:.0f} us = folded {want} us")
    all_csv = sum(by_comm.values()) / 1000
    all_fold = sum(fold.values())
    check(abs(all_csv - all_fold) <= len(folded.splitlines()) + 1,
          f"overall CSV {all_csv:.0f} us = folded {all_fold} us")
    bad = [r for r in rows if not (int(r["p50_ns"]) <= int(r["p90_ns"]) <= int(r["p99_ns"])
                                   <= int(r["max_ns"]) or r["kind"] == "lock")]
    check(not bad, f"p50 <= p90 <= p99 <= max in every off-CPU row ({len(bad)} not)")
    # Each off-CPU row carries the verdict the JSON report gives the same
    # entry (same thread name, count and total), not just any verdict.
    verdicts = {}
    for e in report_json(data)["offcpu"]:
        verdicts.setdefault((e["pid"], e["comm"], e["count"], e["total_ns"]), set()).add(
            e["modality"]["verdict"])
    wrong = [r for r in off
             if r["verdict"] not in verdicts.get((int(r["pid"]), r["comm"], int(r["count"]),
                                                   int(r["total_ns"])), ())]
    check(not wrong, f"every off-CPU row's verdict is the JSON report's for that entry "
                     f"({len(wrong)} of {len(off)} not: "
                     f"{[(r['comm'], r['verdict']) for r in wrong[:3]]})")
    # And the verdict the workload implies: blocker's threads block 30 times
    # each, fewer than MODALITY_MIN_SAMPLES, so no row of its can hold
    # enough waits to be called anything but insufficient.
    few = [r for r in off if int(r["count"]) < MIN_SAMPLES]
    called = [(r["comm"], r["count"], r["verdict"]) for r in few if r["verdict"] != "insufficient"]
    sleeper = [r for r in off if r["comm"] == "sleeper" and "sleeper_main" in r["name"]]
    check(few and not called and sleeper and
          all(r["verdict"] == "insufficient" for r in sleeper),
          f"rows of fewer than {MIN_SAMPLES} waits are insufficient ({len(few)} rows, "
          f"{len(called)} called otherwise: {called[:3]}; the sleeper's 30 sleeps: "
          f"{[r['verdict'] for r in sleeper]})")


def test_hostile(d):
    data = os.path.join(d, "hostile.data")
    run([WAITPROF, "record", "-o", data, "--", HOSTILE, "quoting"])
    text = run([WAITPROF, "report", "-F", "csv", data]).stdout
    rows = csv_rows(text)
    comms = {r["comm"] for r in rows}
    for name in ("a,b\"c", "semi;colon", "sp ace"):
        check(name in comms, f"thread name {name!r} survives quoting")
    names = " ".join(r["name"] for r in rows)
    check("wait_in<long, double>(long, double, long)" in names,
          "a template frame with a comma and spaces survives")
    check('operator"" _naps' in names or "operator\"\"_naps" in names,
          "a frame with double quotes (operator\"\") survives")
    check(all(len(r) == 12 for r in rows), "every row has the 12 columns")
    try:
        import pandas
    except ImportError:
        skip("pandas not installed (python3-pandas): pandas check")
        return
    df = pandas.read_csv(io.StringIO(text))
    check(len(df) == len(rows) and set(df["comm"]) == comms,
          f"pandas reads the same {len(rows)} rows and names")
    check(int(df["total_ns"].sum()) == sum(int(r["total_ns"]) for r in rows),
          "pandas sums the same total_ns")


def test_stream(d, rows=int(os.environ.get("CSV_ROWS", "5000000"))):
    """Piped rows: memory must not grow with the file."""
    gen = ("awk 'BEGIN{print \"timestamp_ns,latency_ns,event\"; "
           f"for(i=0;i<{rows};i++) printf \"%d,%d,ev%d\\n\", i, (i*7919)%100000+100, i%4}}'")
    out = os.path.join(d, "analyze.json")
    t0 = time.time()
    p = subprocess.run(f"{gen} | /usr/bin/time -f '%M' {WAITPROF} analyze - --by event "
                       f"-F json > {out}", shell=True, capture_output=True, text=True)
    wall = time.time() - t0
    rss_kb = int(p.stderr.strip().splitlines()[-1]) if p.stderr.strip() else -1
    import json
    res = json.load(open(out))
    check(p.returncode == 0 and res["rows"] == rows, f"{res['rows']} rows analysed")
    check(sum(g["count"] for g in res["groups"]) == rows and len(res["groups"]) == 4,
          "every row in one of 4 groups")
    check(0 < rss_kb < 20000, f"peak RSS {rss_kb} KB for {rows} rows (bound 20 MB)")
    print(f"analyze: {rows} rows in {wall:.1f} s ({rows / wall / 1e6:.2f} M rows/s "
          f"incl. the generator), peak RSS {rss_kb} KB")


def main():
    d = tmpdir()
    test_stream(d)
    require_bpf()
    test_totals(d)
    test_hostile(d)
    finish()


if __name__ == "__main__":
    main()
