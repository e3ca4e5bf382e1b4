#!/usr/bin/env python3
"""Lock contention against workloads that measure themselves (lockers.c).

- mutex: threads queue on the global contended_mu; waitprof's total futex
  wait must be within 20% of the time the workload spent in
  pthread_mutex_lock, the lock named by its symbol, kind mutex, the waiter
  and holder stacks shown, and the folded views agree with the JSON.
- rwlock: table_rwlock, kind rwlock, total within 20%.
- condvar: work_cv is a condition variable (waiting for work), never a
  mutex; work_mu stays a (barely contended) mutex.
- quiet: an uncontended mutex leaves no contention record at all.
- mmap: threads hammering mmap/munmap contend on the kernel's mmap_lock:
  a kernel rwsem with kernel stacks through the mmap paths.
Run with --raw-tp to test the raw tracepoint fallback for kernel locks.
"""
import os
import sys

from wptest import *

LOCKERS = os.environ.get("LOCKERS", os.path.join(os.path.dirname(BLOCKER), "lockers"))
require_bpf()
raw = "--raw-tp" in sys.argv
d = tmpdir()


def record(name, mode, *args, extra=()):
    data = os.path.join(d, name + ".data")
    cmd = [WAITPROF, "record", "-q", "-o", data, *extra]
    if raw:
        cmd.append("--force-raw-tp")
    p = run(cmd + ["--", LOCKERS, mode, *args])
    truth = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            t = json.loads(line)
            truth[t["lock"]] = t
    return data, truth, report_json(data)


def locks_at(rep, pid, addr):
    return [l for l in rep["locks"] if l["pid"] == pid and l["address"] == addr]


def frame_names(entries, key="callsites"):
    return {f["name"] for e in entries for s in e[key] for f in s["frames"]}


def tracefs_mounted():
    return any(line.split()[2] == "tracefs" for line in open("/proc/self/mounts"))


# ---- mutex ----
# The futex syscall tracepoints need tracefs for their ids; a fresh machine
# has none mounted: waitprof mounts it for the lookup and leaves the mount
# table as it found it.
mounted_before = tracefs_mounted()
data, truth, rep = record("mutex", "mutex", "-t", "4", "-n", "60", "-u", "2000")
check(tracefs_mounted() == mounted_before,
      f"tracefs mount state unchanged by recording (mounted: {mounted_before})")
header = run([WAITPROF, "report", data]).stdout
want = "raw_tp sys_enter/exit" if raw else "syscall tracepoints"
check(f"futex ({want})" in header, f"futex waits traced through {want}")
t = truth["contended_mu"]
ls = locks_at(rep, t["pid"], t["addr"])
check(len(ls) == 1, f"mutex: one lock entry at contended_mu's address ({len(ls)})")
if ls:
    l = ls[0]
    err = abs(l["total_wait_ns"] - t["wait_ns"]) / t["wait_ns"]
    check(err <= 0.20, f"mutex: total wait {l['total_wait_ns'] / 1e6:.1f} ms vs self-measured "
          f"{t['wait_ns'] / 1e6:.1f} ms ({err * 100:.1f}% apart, limit 20%)")
    check(l["symbol"] == "contended_mu", f"mutex: named by its symbol ({l['symbol']})")
    check(l["kind"] == "mutex", f"mutex: kind {l['kind']}")
    check(t["waits"] * 0.8 <= l["contentions"] <= t["calls"] * 1.5,
          f"mutex: {l['contentions']} contentions vs {t['waits']} slow lock calls "
          f"of {t['calls']}")
    check(l["acquisitions"] == 0, "mutex: no acquisitions without --uprobes")
    check(l["p50_ns"] > 1e6 and l["max_ns"] >= l["p99_ns"] * 0.9,
          f"mutex: p50 {l['p50_ns'] / 1e6:.2f} ms (> 1 ms: waits behind a 2 ms hold), "
          f"p99 {l['p99_ns'] / 1e6:.2f} ms, max {l['max_ns'] / 1e6:.2f} ms")
    check(sum(b["count"] for b in l["histogram"]) == l["contentions"],
          "mutex: histogram counts sum to the contentions")
    check("mutex_worker" in frame_names([l]), "mutex: waiter stacks name mutex_worker")
    holders = l["holders"]
    check(len(holders) >= 1 and sum(h["count"] for h in holders) >= 0.8 * l["contentions"],
          f"mutex: holders ended {sum(h['count'] for h in holders)} of "
          f"{l['contentions']} waits")
    hnames = frame_names([l], "holders")
    check("mutex_worker" in hnames and any("lll_lock_wake" in n for n in hnames),
          f"mutex: holder stacks are the unlock in mutex_worker")
    check(l["modality"]["verdict"] in ("unimodal", "insufficient", "bimodal", "multimodal"),
          f"mutex: modality verdict {l['modality']['verdict']}")
    folded = run([WAITPROF, "report", "-F", "folded", "--view", "locks", data]).stdout
    fold_us = sum(int(x.rpartition(" ")[2]) for x in folded.splitlines()
                  if ";contended_mu (mutex);" in x)
    check(abs(fold_us - l["total_wait_ns"] / 1000) <= 2 + l["total_wait_ns"] / 1e6 * 0.01,
          f"mutex: folded locks view {fold_us} us matches JSON "
          f"{l['total_wait_ns'] / 1000:.0f} us")
    ow = run([WAITPROF, "report", "-F", "folded", "--view", "offwake", data]).stdout
    chains = [x for x in ow.splitlines() if ";--;" in x and "lll_lock_wake_[w]" in x]
    check(len(chains) >= 1, f"mutex: off-wake chains waiter -- waker ({len(chains)} lines)")
    text = run([WAITPROF, "report", data]).stdout
    locks = text[text.find("waitprof lock report"):]
    check(text.startswith("Findings:") and locks.startswith("waitprof lock report") and
          "#1 contended_mu  mutex" in locks,
          "mutex: the text report leads with the findings, then contended_mu first of the locks")

# ---- rwlock ----
data, truth, rep = record("rwlock", "rwlock", "-t", "4", "-n", "40", "-u", "2000")
t = truth["table_rwlock"]
ls = [l for l in rep["locks"] if l["pid"] == t["pid"] and l["symbol"] == "table_rwlock"]
check(len(ls) == 1, f"rwlock: one entry named table_rwlock ({len(ls)})")
if ls:
    l = ls[0]
    check(l["kind"] == "rwlock", f"rwlock: kind {l['kind']}")
    check(l["address"] == t["addr"], "rwlock: reported at the rwlock's own address")
    err = abs(l["total_wait_ns"] - t["wait_ns"]) / t["wait_ns"]
    check(err <= 0.20, f"rwlock: total wait {l['total_wait_ns'] / 1e6:.1f} ms vs "
          f"self-measured {t['wait_ns'] / 1e6:.1f} ms ({err * 100:.1f}% apart, limit 20%)")
    check(any("rwlock" in n for n in frame_names([l], "holders")),
          "rwlock: holders are rwlock unlocks")

# ---- condvar ----
data, truth, rep = record("condvar", "condvar", "-n", "150", "-u", "2000")
t = truth["work_cv"]
pid = t["pid"]
cv = [l for l in rep["locks"] if l["pid"] == pid and l["symbol"] == "work_cv"]
check(len(cv) == 1 and cv[0]["kind"] == "condvar",
      f"condvar: work_cv is one condvar entry ({[l['kind'] for l in cv]})")
if cv:
    err = abs(cv[0]["total_wait_ns"] - t["wait_ns"]) / t["wait_ns"]
    check(err <= 0.20, f"condvar: waited {cv[0]['total_wait_ns'] / 1e6:.1f} ms vs "
          f"self-measured {t['wait_ns'] / 1e6:.1f} ms")
mutexes = [l for l in rep["locks"] if l["pid"] == pid and l["kind"] == "mutex"]
check(all(l["symbol"] == "work_mu" for l in mutexes),
      f"condvar: the only mutex is work_mu ({[l['symbol'] for l in mutexes]})")
mu_wait = sum(l["total_wait_ns"] for l in mutexes)
check(mu_wait < 0.2 * t["wait_ns"],
      f"condvar: mutex contention {mu_wait / 1e6:.2f} ms is not the "
      f"{t['wait_ns'] / 1e6:.0f} ms of condition waiting")
text = run([WAITPROF, "report", data]).stdout
check("condition variables (waiting for work, not lock contention)" in text and
      "work_cv [" in text, "condvar: the text report lists work_cv apart from the locks")

# ---- quiet ----
data, truth, rep = record("quiet", "quiet", "-n", "200000")
t = truth["quiet_mu"]
check(t["calls"] == 200000, "quiet: the workload locked 200000 times")
check(not locks_at(rep, t["pid"], t["addr"]),
      "quiet: an uncontended mutex leaves no contention record")

# ---- kernel: mmap_lock ----
data, truth, rep = record("mmap", "mmap", "-t", "8", "-n", "3000")
kl = [l for l in rep["locks"] if l["kind"] == "kernel"]
check(len(kl) >= 1, f"mmap: kernel locks recorded ({len(kl)})")
mm = [l for l in kl if any(n in frame_names([l]) for n in
                           ("__vm_munmap", "vm_mmap_pgoff", "lock_mm_and_find_vma",
                            "do_user_addr_fault"))]
check(len(mm) >= 1, "mmap: a kernel lock contended in the mmap/munmap/fault paths")
if mm:
    l = max(mm, key=lambda x: x["total_wait_ns"])
    check(l["kernel_type"].startswith("rwsem"), f"mmap: mmap_lock is an rwsem "
          f"({l['kernel_type']})")
    check(l["contentions"] >= 10 and l["total_wait_ns"] > 0,
          f"mmap: {l['contentions']} contentions, {l['total_wait_ns'] / 1e6:.1f} ms")
    check(any(f["kind"] == "kernel" for s in l["callsites"] for f in s["frames"]),
          "mmap: call sites are kernel frames")
    check(l["symbol"] is None and l["object"] == "[kernel]",
          "mmap: a lock inside a slab object has no symbol (not a misnamed neighbour)")
check(rep["counters"].get("lock_kernel_contentions", 0) >= 10,
      f"mmap: counter lock_kernel_contentions {rep['counters'].get('lock_kernel_contentions')}")
check(not waitprof_orphans(), "no BPF program left in the kernel after recording")
finish()
