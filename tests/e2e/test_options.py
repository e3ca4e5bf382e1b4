#!/usr/bin/env python3
"""record and report options that no other test exercised, each against a
workload whose behaviour is known:

- --no-follow-forks: forker's children (fk-fork, fk-exec) are not recorded;
  by default they are.
- --no-locks: no lock contention recorded (lockers' contended mutex has
  hundreds of waits by default); --no-kernel-locks keeps the futex waits
  but names no kernel lock source, and records none of the mmap_lock
  contention that threads mapping memory cause by default.
- -m on lock waits, at the median wait of a run without it: fewer waits
  kept, averaging at least the minimum, and kept + filtered = the futex
  waits seen (within 2).
- -M: no off-CPU interval and no lock wait above the maximum (lockers'
  contended mutex waits ~6 ms without it), the intervals left out counted.
- --no-stack-cache: no stack cache hits; by default blocker's repeated
  sleeps hit it.
- --unwind-rows N: at most N CFI rows loaded where the default loads more,
  and the mappings left without tables counted.
- report --top N: the text report lists at most N stacks.
"""
import os
import re

from wptest import *

require_bpf()
FORKER = os.environ.get("FORKER", os.path.join(os.path.dirname(BLOCKER), "forker"))
d = tmpdir()


def record(name, opts, cmd):
    data = os.path.join(d, name + ".data")
    run([WAITPROF, "record", "-q", "-o", data, *opts, "--", *cmd])
    return data, report_json(data)


def comms(rep):
    return {t["comm"] for t in rep["threads"]}


_, rep = record("forks", [], [FORKER, "6", "20"])
check("fk-fork" in comms(rep), f"default: forked children recorded ({sorted(comms(rep))})")
_, rep = record("noforks", ["--no-follow-forks"], [FORKER, "6", "20"])
check(not comms(rep) & {"fk-fork", "fk-exec"},
      f"--no-follow-forks: no child recorded ({sorted(comms(rep))})")

_, rep = record("locks", [], [LOCKERS, "mutex"])
n = sum(l["contentions"] for l in rep["locks"])
check(n >= 50, f"default: {n} lock contentions recorded")
lock_max = max(l["max_ns"] for l in rep["locks"]) if rep["locks"] else 0
check(lock_max > 2_000_000, f"default: longest lock wait {lock_max / 1e6:.1f} ms (above 2 ms)")
# -m on lock waits: set at this run's median wait, about half are left out,
# and every wait is kept or counted as filtered.
mu = [l for l in rep["locks"] if l["symbol"] == "contended_mu"]
min_us = int(mu[0]["p50_ns"] / 1000) if mu else 5000
_, rep = record("minwait", ["-m", str(min_us)], [LOCKERS, "mutex"])
c = rep["counters"]
kept = sum(l["contentions"] for l in rep["locks"])
# Each kept wait is at least -m long, so is their mean (the histograms hold
# the sleeping part of each wait, without its runnable part: not comparable).
mean = sum(l["total_wait_ns"] for l in rep["locks"]) / kept if kept else 0
check(mean >= min_us * 1000,
      f"-m {min_us}: the kept waits average {mean / 1e6:.2f} ms (at least {min_us / 1000:.2f})")
check(0 < kept < n and c["lock_filtered_duration"] > 0 and
      abs(kept + c["lock_filtered_duration"] - c["lock_futex_waits"]
          - c["lock_kernel_contentions"]) <= 2,
      f"-m {min_us}: {kept} waits kept (of {n} without -m) + {c['lock_filtered_duration']} "
      f"filtered = {c['lock_futex_waits']} futex waits + {c['lock_kernel_contentions']} "
      f"kernel lock contentions")
_, rep = record("maxwait", ["-M", "2000"], [LOCKERS, "mutex"])
lock_max = max((l["max_ns"] for l in rep["locks"]), default=0)
off_max = max((e["max_ns"] for e in rep["offcpu"]), default=0)
check(rep["offcpu"] and off_max <= 2_000_000 and rep["counters"]["filtered_by_duration"] > 0,
      f"-M 2000: longest off-CPU interval {off_max / 1e6:.2f} ms, "
      f"{rep['counters']['filtered_by_duration']} intervals left out")
c = rep["counters"]
kept = sum(l["contentions"] for l in rep["locks"])
check(lock_max <= 2_000_000 and c["lock_filtered_duration"] >= n // 2 and
      abs(kept + c["lock_filtered_duration"] - c["lock_futex_waits"]
          - c["lock_kernel_contentions"]) <= 2,
      f"-M 2000: longest lock wait {lock_max / 1e6:.2f} ms (at most 2 ms); {kept} waits kept "
      f"+ {c['lock_filtered_duration']} filtered (at least half of {n}) = "
      f"{c['lock_futex_waits']} futex waits + {c['lock_kernel_contentions']} kernel")
_, rep = record("nolocks", ["--no-locks"], [LOCKERS, "mutex"])
check(not rep["locks"] and rep["counters"].get("lock_futex_waits", 0) == 0,
      f"--no-locks: {len(rep['locks'])} locks, {rep['counters'].get('lock_futex_waits', 0)} futex waits")
_, rep = record("nokl", ["--no-kernel-locks"], [LOCKERS, "mutex"])
src = rep["recording"].get("lock_sources", "")
check(sum(l["contentions"] for l in rep["locks"]) >= 50 and "kernel" not in src
      and rep["counters"].get("lock_kernel_contentions", 0) == 0,
      f"--no-kernel-locks: futex waits kept, sources {src!r}")
# Threads mapping and unmapping contend on the kernel's mmap_lock: by
# default kernel lock contention is recorded, with --no-kernel-locks none.
mmap = [LOCKERS, "mmap", "-t", "4", "-n", "200"]
_, rep = record("kl", [], mmap)
kl = rep["counters"]["lock_kernel_contentions"]
kinds = sum(l["contentions"] for l in rep["locks"] if l["kind"] == "kernel")
_, rep = record("nokl_mmap", ["--no-kernel-locks"], mmap)
nokl = rep["counters"]["lock_kernel_contentions"]
nokinds = sum(l["contentions"] for l in rep["locks"] if l["kind"] == "kernel")
check(kl >= 20 and kinds >= 20 and nokl == 0 and nokinds == 0,
      f"mmap_lock: {kl} kernel lock contentions ({kinds} in kernel locks) by default, "
      f"{nokl} ({nokinds}) with --no-kernel-locks")

_, rep = record("cache", [], [BLOCKER, "-n", "30"])
default_rows = rep["counters"]["unwind_rows_loaded"]
default_over = rep["counters"]["unwind_mappings_over_budget"]
check(rep["counters"]["stack_cache_hits"] > 0,
      f"default: {rep['counters']['stack_cache_hits']} stack cache hits")
_, rep = record("nocache", ["--no-stack-cache"], [BLOCKER, "-n", "30"])
check(rep["counters"]["stack_cache_hits"] == 0,
      f"--no-stack-cache: {rep['counters']['stack_cache_hits']} stack cache hits")

# blocker and its libraries need ~30k CFI rows: 4096 leaves some out.
_, rep = record("rows", ["--unwind-rows", "4096"], [BLOCKER, "-n", "5"])
c = rep["counters"]
check(default_rows > 4096 and default_over == 0 and c["unwind_rows_budget"] == 4096 and
      c["unwind_rows_loaded"] <= 4096 and c["unwind_mappings_over_budget"] > 0,
      f"--unwind-rows 4096: {c['unwind_rows_loaded']} rows loaded (default: {default_rows}), "
      f"{c['unwind_mappings_over_budget']} mappings over budget (default: {default_over})")

data, rep = record("top", [], [BLOCKER, "-n", "30"])
stacks = len(rep["offcpu"])
for top in (1, 3):
    text = run([WAITPROF, "report", "--top", str(top), data]).stdout
    off = text[text.index("waitprof off-CPU report"):]
    shown = len(re.findall(r"^#\d+ ", off, re.M))
    check(stacks > top and shown == top and f"{stacks - top} more stacks" in off,
          f"--top {top}: {shown} of {stacks} off-CPU stacks shown, the rest counted")
finish()
