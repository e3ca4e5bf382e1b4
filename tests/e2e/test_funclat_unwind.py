#!/usr/bin/env python3
"""funclat's user stacks through code without frame pointers (CFI tables).

Workloads built -O2 -fomit-frame-pointer (funclat_work_nofp, blocker_nofp):

- command: journal_append and record_event probed together (so the walk
  meets a uretprobe trampoline) and c:fdatasync (libc, two probed callers
  up): with CFI at least 90% of each target's calls carry the whole chain
  up to main and __libc_start_call_main; with --unwind fp none does, and the
  stacks are shorter. The unwind_* counters say how they were walked.
- -p: blocker_nofp's sleeper thread, c:nanosleep and ms_sleep: the chain
  reaches sleeper_main and start_thread with CFI, not with frame pointers.
- a child: syscall:fdatasync in a process the command forks and that execs:
  its tables are loaded after its exec, its stacks reach main.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wptest  # noqa: E402
from wptest import check, run, WAITPROF  # noqa: E402

WORKLOADS = os.path.join(os.path.dirname(WAITPROF), "tests", "workloads")
WORK = os.environ.get("FUNCLAT_WORK_NOFP", os.path.join(WORKLOADS, "funclat_work_nofp"))
BLOCKER = os.environ.get("BLOCKER_NOFP", os.path.join(WORKLOADS, "blocker_nofp"))

# Innermost first: each name must follow the previous one (exact names).
LOGGER_CHAINS = {
    "journal_append": ["journal_append", "record_event", "log_worker", "main",
                       "__libc_start_call_main"],
    "record_event": ["record_event", "log_worker", "main", "__libc_start_call_main"],
    "fdatasync": ["fdatasync", "journal_append", "record_event", "log_worker", "main",
                  "__libc_start_call_main"],
}
SLEEPER_CHAINS = {
    "nanosleep": ["nanosleep", "ms_sleep", "sleep_once", "sleeper_main", "start_thread"],
    "ms_sleep": ["ms_sleep", "sleep_once", "sleeper_main", "start_thread"],
}


def has_chain(frames, chain):
    i = 0
    for f in frames:
        if i < len(chain) and f == chain[i]:
            i += 1
    return i == len(chain)


def short(target):
    return target.rsplit(":", 1)[-1]


def chain_stats(f, chain):
    """Calls whose stack holds the chain, and the frames of the deepest stack."""
    full = sum(s["count"] for s in f["stacks"] if has_chain(s["frames"], chain))
    depth = max((len(s["frames"]) for s in f["stacks"]), default=0)
    return full, depth


def funclat(out, targets, *opts, command=None):
    args = [WAITPROF, "funclat", "--format", "json", "-o", out, "--no-cost", "--stacks", *opts,
            *targets]
    p = run(args + (["--", *command] if command else []), timeout=240)
    return p, json.load(open(out))


def logger(tmp, unwind, n=3000, every=25):
    journal = f"/dev/shm/waitprof-funclat-unwind-{os.getpid()}.journal"
    try:
        p, rep = funclat(os.path.join(tmp, f"logger-{unwind}.json"),
                         [f"{WORK}:journal_append", f"{WORK}:record_event", "c:fdatasync"],
                         "--unwind", unwind,
                         command=[WORK, "logger", str(n), str(every), journal,
                                  os.path.join(tmp, "checkpoint")])
    finally:
        if os.path.exists(journal):
            os.unlink(journal)
    truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][0])
    return rep, truth


def test_command(tmp):
    depths = {}
    for unwind in ("cfi", "fp"):
        rep, truth = logger(tmp, unwind)
        c = rep["counters"]
        f = {short(x["target"]): x for x in rep["functions"]}
        check(f["journal_append"]["count"] == truth["calls"] and
              f["fdatasync"]["count"] == truth["flushes"],
              f"{unwind}: {f['journal_append']['count']} appends, {f['fdatasync']['count']} "
              f"fdatasync == {truth['calls']}, {truth['flushes']}")
        for name, chain in LOGGER_CHAINS.items():
            full, depth = chain_stats(f[name], chain)
            share = full / max(f[name]["count"], 1)
            depths[(unwind, name)] = depth
            print(f"{unwind}: {name}: {full} of {f[name]['count']} calls reach "
                  f"{chain[-1]}; deepest stack {depth} frames")
            if unwind == "cfi":
                check(share >= 0.9, f"cfi: {name}: {share:.1%} of calls' stacks read "
                      f"{' <- '.join(chain)} (>= 90%)")
            else:
                check(share <= 0.05, f"fp: {name}: {share:.1%} of calls' stacks reach "
                      f"{chain[-1]} (frame pointers only: <= 5%)")
        if unwind == "cfi":
            slow = f["journal_append"]["slow_stacks"]
            check(bool(slow) and slow[0]["frames"][:3] == LOGGER_CHAINS["journal_append"][:3]
                  and "main" in slow[0]["frames"],
                  f"cfi: the flushes' slow stack reaches main: {slow[0]['frames'] if slow else None}")
            walks = c.get("unwind_cfi_walks", 0)
            check(walks >= 0.9 * sum(x["count"] for x in f.values()),
                  f"cfi: {walks} CFI walks, {c.get('unwind_fp_fallbacks')} frame-pointer fallbacks")
            check(c.get("unwind_process_loads", 0) >= 1 and c.get("unwind_rows_loaded", 0) > 0,
                  f"cfi: tables loaded after the exec: {c.get('unwind_process_loads')} loads, "
                  f"{c.get('unwind_rows_loaded')} rows")
            check(c["uretprobe_trampolines_mapped"] >= 0.9 * f["journal_append"]["count"],
                  f"cfi: {c['uretprobe_trampolines_mapped']} trampolines joined to the outer "
                  f"call's stack, {c['uretprobe_trampolines_unmapped']} not")
        else:
            check(c.get("unwind_cfi_walks", 0) == 0 and c.get("unwind_fp_walks", 0) > 0 and
                  "unwind_process_loads" not in c,
                  f"fp: {c.get('unwind_fp_walks')} frame-pointer walks, no CFI walk, no table")
    for name in LOGGER_CHAINS:
        check(depths[("cfi", name)] > depths[("fp", name)],
              f"{name}: deepest stack {depths[('cfi', name)]} frames with CFI, "
              f"{depths[('fp', name)]} with frame pointers")


def test_pid(tmp):
    for unwind in ("cfi", "fp"):
        w = subprocess.Popen([BLOCKER, "-n", "400", "-s", "5", "-o", "sleeper"],
                             stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            _, rep = funclat(os.path.join(tmp, f"pid-{unwind}.json"),
                             ["c:nanosleep", f"{BLOCKER}:ms_sleep"], "-p", str(w.pid),
                             "-d", "1.5", "--unwind", unwind)
        finally:
            w.kill()
            w.wait()
        f = {short(x["target"]): x for x in rep["functions"]}
        for name, chain in SLEEPER_CHAINS.items():
            full, depth = chain_stats(f[name], chain)
            n = f[name]["count"]
            print(f"-p {unwind}: {name}: {full} of {n} calls reach start_thread; deepest "
                  f"stack {depth} frames")
            if unwind == "cfi":
                check(n >= 100 and full >= 0.9 * n,
                      f"-p cfi: {name}: {full} of {n} calls read {' <- '.join(chain)}")
            else:
                check(n >= 100 and full <= 0.05 * n,
                      f"-p fp: {name}: {full} of {n} calls reach start_thread (<= 5%)")


def test_child(tmp):
    journal = f"/dev/shm/waitprof-funclat-unwind-child-{os.getpid()}.journal"
    # "; true": sh forks the workload instead of exec'ing it.
    script = f"{WORK} logger 2000 25 {journal} {os.path.join(tmp, 'c2')}; rm -f {journal}; true"
    _, rep = funclat(os.path.join(tmp, "child.json"), ["syscall:fdatasync"],
                     command=["sh", "-c", script])
    f = rep["functions"][0]
    chain = LOGGER_CHAINS["fdatasync"][1:]
    full, _ = chain_stats(f, chain)
    pids = {s["pid"] for s in f["stacks"]}
    check(f["count"] == 80 and full >= 0.9 * f["count"],
          f"forked child: {full} of {f['count']} fdatasync calls (80) read "
          f"{' <- '.join(chain)} from pids {sorted(pids)}")


def main():
    wptest.require_bpf()
    for path in (WORK, BLOCKER):
        if not os.access(path, os.X_OK):
            print(f"workload {path} not built")
            sys.exit(1)
    tmp = wptest.tmpdir()
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which in ("all", "command"):
        test_command(tmp)
    if which in ("all", "pid"):
        test_pid(tmp)
    if which in ("all", "child"):
        test_child(tmp)
    wptest.finish()


if __name__ == "__main__":
    main()
