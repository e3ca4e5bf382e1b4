#!/usr/bin/env python3
"""waitprof funclat against funclat_work's own ground truth.

- truth: call counts exact (timed calls, recursion, syscall:getppid); p50 and
  p99 within 5% of the workload's own timing; longjmp'd and exited-inside
  calls dropped and counted, never matched with a wrong return; recursion
  stacks show the real callers, not the uretprobe trampoline.
- logger: journal_append, which fdatasyncs under its lock every Nth call, is
  bimodal with the slow mode's share right within 3 points, and the slow
  calls' stacks name record_event (probed too, so its return address is a
  trampoline that must be mapped back); without the flush it is not bimodal.
  With --no-stacks every call is still timed and the flush still found,
  and the slow calls have no stacks.
- kernel functions are refused in one line naming the syscall instead.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wptest  # noqa: E402
from wptest import check, run, WAITPROF  # noqa: E402

WORK = os.environ.get("FUNCLAT_WORK", os.path.join(os.path.dirname(WAITPROF), "tests",
                                                    "workloads", "funclat_work"))


# --no-session: test the uprobe + uretprobe path on kernels with sessions too.
EXTRA = ["--no-session"] if "--no-session" in sys.argv else []


def funclat(out, targets, command, *opts, check_rc=True):
    p = run([WAITPROF, "funclat", "--format", "json", "-o", out, *EXTRA, *opts, *targets, "--",
             *command], check=check_rc, timeout=240)
    return p, (json.load(open(out)) if p.returncode == 0 else None)


def by_target(report):
    return {f["target"].split(":", 1)[1] if not f["target"].startswith("syscall:")
            else f["target"]: f for f in report["functions"]}


def within(got, want, tol):
    return want > 0 and abs(got - want) / want <= tol


def bad_frames(stacks):
    return [f for s in stacks for f in s["frames"] if f.startswith("0x") or "uprobes" in f]


def test_truth(tmp):
    n = 500
    t = lambda f: f"{WORK}:{f}"  # noqa: E731
    p, rep = funclat(os.path.join(tmp, "truth.json"),
                     [t("timed_call"), t("recurse_depth"), t("jump_away"), t("exit_inside"),
                      "syscall:getppid"], [WORK, "truth", str(n)], "--stacks")
    truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][0])
    f = by_target(rep)
    c = rep["counters"]
    print(f"workload: {truth}")
    check(f["timed_call"]["count"] == truth["timed_calls"],
          f"timed_call count {f['timed_call']['count']} == {truth['timed_calls']}")
    check(f["recurse_depth"]["count"] == truth["recurse_calls"],
          f"recurse_depth count {f['recurse_depth']['count']} == {truth['recurse_calls']}")
    check(f["syscall:getppid"]["count"] == truth["getppid"],
          f"syscall:getppid count {f['syscall:getppid']['count']} == {truth['getppid']}")
    for q in ("p50_ns", "p99_ns"):
        got, want = f["timed_call"][q], truth[q]
        check(within(got, want, 0.05),
              f"timed_call {q} {got / 1e6:.3f} ms within 5% of the workload's {want / 1e6:.3f} ms")
    check(f["jump_away"]["entries"] == truth["jumps"] and f["jump_away"]["count"] == 0,
          f"jump_away: {f['jump_away']['entries']} entries, {f['jump_away']['count']} timed "
          f"(longjmp: none returns)")
    check(c["never_returned"] == truth["jumps"],
          f"never_returned {c['never_returned']} == {truth['jumps']} longjmps")
    check(f["exit_inside"]["entries"] == truth["exiters"] and f["exit_inside"]["count"] == 0,
          f"exit_inside: {f['exit_inside']['entries']} entries, none timed")
    check(c["thread_exit_inside_call"] == truth["exiters"],
          f"thread_exit_inside_call {c['thread_exit_inside_call']} == {truth['exiters']}")
    check(c["unmatched_return"] == 0, f"unmatched_return {c['unmatched_return']} == 0")
    # Recursion: one stack per depth, 20 calls each, depth k shows k+1 frames
    # of recurse_depth and then run_truth: trampolines mapped back.
    stacks = f["recurse_depth"]["stacks"]
    depths = sorted(sum(1 for fr in s["frames"] if fr == "recurse_depth") for s in stacks)
    check(depths == [1, 2, 3, 4, 5, 6], f"recursion stacks by depth {depths} == [1..6]")
    check(all(s["count"] == 20 for s in stacks), "20 calls at each recursion depth")
    check(all("run_truth" in s["frames"] for s in stacks), "every recursion stack reaches run_truth")
    check(not bad_frames(stacks), f"no trampoline or unknown frames: {bad_frames(stacks)[:3]}")
    check(c["uretprobe_trampolines_mapped"] > 0 and c["uretprobe_trampolines_unmapped"] == 0,
          f"trampolines mapped {c['uretprobe_trampolines_mapped']}, unmapped "
          f"{c['uretprobe_trampolines_unmapped']}")
    cost = rep["probe_cost"]
    check(cost["probed_calls"] == sum(f[k]["entries"] for k in
                                      ("timed_call", "recurse_depth", "jump_away", "exit_inside")),
          f"probe_cost.probed_calls {cost['probed_calls']} counts every uprobe hit")
    check(cost["per_call_ns"] is not None and 100 < cost["per_call_ns"] < 1e6,
          f"per-call probe cost measured: {cost['per_call_ns']} ns")


def test_logger(tmp):
    n, every = 3000, 25
    # The journal on tmpfs, the checkpoint that is flushed on a disk: only
    # the flush touches the disk (see funclat_work.c).
    journal = f"/dev/shm/waitprof-funclat-{os.getpid()}.journal"
    checkpoint = os.path.join(tmp, "checkpoint")
    try:
        p, rep = funclat(os.path.join(tmp, "logger.json"),
                         [f"{WORK}:journal_append", f"{WORK}:record_event"],
                         [WORK, "logger", str(n), str(every), journal, checkpoint])
        truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][0])
        check_logger_flush(by_target(rep)["journal_append"], n, truth["flushes"],
                           truth["slow_plain"])
        test_no_stacks(tmp, journal, checkpoint, n)
        p, rep = funclat(os.path.join(tmp, "noflush.json"), [f"{WORK}:journal_append"],
                         [WORK, "logger", str(n), "0", journal, checkpoint])
        truth = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][0])
    finally:
        if os.path.exists(journal):
            os.unlink(journal)
    ja = by_target(rep)["journal_append"]
    check(ja["count"] == n, f"no-flush journal_append count {ja['count']} == {n}")
    # The criterion of issue 15: never bimodal with a slow mode of 1% of the
    # calls or more, beyond what the workload's own clock saw: some
    # machines stall ~1% of these appends for ~20 us inside the function
    # (slow_plain: over 8 us by the workload's clock, 1-1.4% on the CI
    # machine), a true mode of the machine, not the flush.
    m = ja["modality"]
    modes = [(round(x["center_ns"]), round(x["count_share"], 4)) for x in m["modes"]]
    multi = m["verdict"] in ("bimodal", "multimodal")
    main_mode = max(m["modes"], key=lambda x: x["count_share"]) if m["modes"] else None
    own = truth["slow_plain"] / n
    big = [x for x in m["modes"]
           if multi and x is not main_mode and x["count_share"] >= 0.01 + own]
    check(not big, f"without the flush no second mode of 1% or more beyond the "
          f"{own * 100:.1f}% of calls the workload saw stall (got {m['verdict']}, modes {modes})")
    check(multi or ja["slow_stacks"] == [], "no slow stacks when not bimodal")


def test_no_stacks(tmp, journal, checkpoint, n):
    """--no-stacks on the same flushing logger: every call still timed and
    the flush still found, but no stack is taken, so the slow calls have no
    callers; --stacks, which needs them, is refused."""
    p, rep = funclat(os.path.join(tmp, "nostacks.json"), [f"{WORK}:journal_append"],
                     [WORK, "logger", str(n), "25", journal, checkpoint], "--no-stacks",
                     "--no-cost")
    ja = by_target(rep)["journal_append"]
    check(ja["count"] == n and ja["modality"]["verdict"] in ("bimodal", "multimodal") and
          ja["slow_above_ns"] > 0 and ja["slow_stacks"] == [],
          f"--no-stacks: {ja['count']} of {n} calls timed, {ja['modality']['verdict']}, "
          f"{len(ja['slow_stacks'])} slow-call stacks (with stacks: the callers above)")
    p = run([WAITPROF, "funclat", "--no-stacks", "--stacks", f"{WORK}:timed_call", "--",
             WORK, "truth", "1"], check=False)
    check(p.returncode == 2 and "--no-stacks" in p.stderr,
          f"--no-stacks --stacks refused: exit {p.returncode}, {p.stderr.strip()[-60:]}")


def check_logger_flush(ja, n, flushes, slow_plain=0):
    m = ja["modality"]
    modes = m["modes"]
    print(f"journal_append: {m['verdict']}, modes "
          f"{[(round(x['center_ns']), round(x['count_share'], 4)) for x in modes]}")
    check(ja["count"] == n, f"journal_append count {ja['count']} == {n}")
    # The flush is one mode; the disk's own fdatasync latency is sometimes
    # two (fast and slow flushes) on this VM: then the verdict is multimodal
    # with both extra modes above the appends' mode, which is still right.
    fast = modes[0] if modes else None
    ok_shape = m["verdict"] == "bimodal" or (
        m["verdict"] == "multimodal" and fast is not None and
        all(x["center_ns"] > 10 * fast["center_ns"] for x in modes[1:]))
    check(ok_shape, f"journal_append with a flush every {every_of(n, flushes)}th call is "
          f"bimodal, or its slow calls split further (got {m['verdict']})")
    if fast:
        share = sum(x["count_share"] for x in modes if x["center_ns"] > 10 * fast["center_ns"])
        want = flushes / n
        check(abs(share - want) <= 0.03,
              f"slow calls' share {share:.3f} within 3 points of {want:.3f}")
    slow = ja["slow_stacks"]
    check(bool(slow) and slow[0]["frames"][:3] == ["journal_append", "record_event", "log_worker"],
          f"slow calls' stack names the caller: {slow[0]['frames'][:4] if slow else None}")
    # Appends the workload saw stall (slow_plain) can land above the split
    # too, and a preempted one: a point of the calls besides.
    got = sum(s["count"] for s in slow) if slow else 0
    check(bool(slow) and flushes - n // 100 <= got <= flushes + slow_plain + n // 100,
          f"slow stacks hold the {flushes} flushing calls ({got}; the workload saw "
          f"{slow_plain} other appends stall)")
    check(not bad_frames(slow), "no trampoline frames although record_event is probed too")


def every_of(n, flushes):
    return n // flushes if flushes else 0


def test_refusals_and_options(tmp):
    p = run([WAITPROF, "funclat", "vfs_read", "-d", "1"], check=False)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    check(p.returncode != 0 and len(lines) == 1 and "syscall:read" in lines[0],
          f"kernel function refused in one line naming syscall:read: {lines}")
    p = run([WAITPROF, "funclat", f"{WORK}:no_such_function", "-d", "1"], check=False)
    check(p.returncode != 0 and "no_such_function" in p.stderr, "unknown function refused")
    p = run([WAITPROF, "funclat", "c:strlen", "-d", "1"], check=False)
    check(p.returncode != 0 and "IFUNC" in p.stderr, "an IFUNC resolver is refused with a hint")
    p = run([WAITPROF, "funclat", "c:*", "-d", "1"], check=False)
    check(p.returncode != 0 and "narrow the glob" in p.stderr, "a glob over 64 functions refused")
    # -m: calls shorter than MIN_US are left out and counted.
    p, rep = funclat(os.path.join(tmp, "min.json"), [f"{WORK}:timed_call", "syscall:getppid"],
                     [WORK, "truth", "10"], "-m", "500", "--no-cost")
    f = by_target(rep)
    # On a loaded machine the 100 us call can take over 500 us: then it is
    # timed, not filtered. Every call is one or the other.
    n, filtered = f["timed_call"]["count"], rep["counters"]["filtered_by_min"]
    check(n in (10, 11) and f["syscall:getppid"]["count"] == 0 and n + filtered == 11 + 333,
          f"-m 500: {n} of 11 timed_call (one is 100 us), "
          f"{f['syscall:getppid']['count']} getppid, {filtered} filtered (11 + 333 calls)")
    # A stripped library's internal functions from its build-id debug file.
    if not (os.path.isdir("/usr/lib/debug/.build-id") and run(
            ["dpkg", "-s", "libc6-dbg"], check=False).returncode == 0):
        wptest.skip("libc6-dbg not installed: glibc internals through build-id debug files")
    else:
        p, rep = funclat(os.path.join(tmp, "dbg.json"), ["c:__strlen_*"],
                         [WORK, "truth", "1"], "--no-cost")
        names = [x["target"] for x in rep["functions"]]
        check(len(names) >= 2 and "c:__strlen_sse2" in names,
              f"glibc internals found through libc6-dbg: {names[:4]}")
    # A glob over the workload's functions; sampling of a syscall.
    p, rep = funclat(os.path.join(tmp, "glob.json"), [f"{WORK}:journal_*", "syscall:getppid"],
                     [WORK, "truth", "20"], "--sample", "4", "--no-cost")
    names = [f["target"] for f in rep["functions"]]
    check(names == [f"{WORK}:journal_append", "syscall:getppid"], f"glob expanded: {names}")
    g = by_target(rep)["syscall:getppid"]
    check(g["entries"] == 333 and 40 <= g["count"] <= 130,
          f"--sample 4: {g['count']} of {g['entries']} getppid calls timed (expect ~83)")
    check(rep["probe_cost"]["sample_every"] == 4, "report says sampling 1 in 4")
    # Sampling a function: with uprobe sessions the calls not sampled take
    # no return probe; either way no return may go unmatched.
    p, rep = funclat(os.path.join(tmp, "fsample.json"), [f"{WORK}:record_event"],
                     [WORK, "logger", "2000", "0", os.path.join(tmp, "j3.log"),
                      os.path.join(tmp, "c3")], "--sample", "4", "--no-cost")
    r = rep["functions"][0]
    c = rep["counters"]
    check(r["entries"] == 2000 and 380 <= r["count"] <= 620,
          f"--sample 4 on a function: {r['count']} of {r['entries']} timed (expect ~500)")
    check(c["unmatched_return"] == 0 and c["never_returned"] == 0,
          f"sampled: unmatched {c['unmatched_return']}, never returned {c['never_returned']}")
    out = os.path.join(tmp, "rate.json")
    p = run([WAITPROF, "funclat", "--format", "json", "-o", out, *EXTRA, "--max-rate", "200",
             f"{WORK}:record_event", "--", WORK, "logger", "10000", "0",
             os.path.join(tmp, "j2.log"), os.path.join(tmp, "c2")], timeout=120)
    rep = json.load(open(out))
    check(rep["probe_cost"]["max_rate_switched"] and rep["probe_cost"]["sample_every"] > 1
          and "--max-rate" in p.stderr,
          f"--max-rate switched to 1 in {rep['probe_cost']['sample_every']} and said so")
    p = run([WAITPROF, "funclat", "--format", "csv", "syscall:getppid", "--", WORK, "truth", "5"])
    rows = [ln for ln in p.stdout.splitlines() if ln.startswith('"syscall:getppid"')]
    check(len(rows) == 1 and rows[0].split(",")[1] == "333", f"CSV row: {rows}")


def test_processes(tmp):
    """A command that execs into the workload, and two processes with -p."""
    import subprocess
    import time
    p, rep = funclat(os.path.join(tmp, "exec.json"),
                     [f"{WORK}:timed_call", "c:getppid", "libc:getppid", "syscall:getppid"],
                     ["sh", "-c", f"exec {WORK} truth 20"], "--no-cost")
    f = {x["target"]: x for x in rep["functions"]}
    # sh asks for its parent once ($PPID) before it execs: 333 + 1.
    check(f[f"{WORK}:timed_call"]["count"] == 21,
          f"after exec: timed_call {f[f'{WORK}:timed_call']['count']} == 21")
    for t in ("c:getppid", "libc:getppid", "syscall:getppid"):
        check(f[t]["count"] in (333, 334), f"after exec: {t} {f[t]['count']} in (333, 334)")
    procs = [subprocess.Popen([WORK, "logger", "200000", "0", os.path.join(tmp, f"p{i}.j"),
                               os.path.join(tmp, f"p{i}.c")], stdout=subprocess.DEVNULL)
             for i in range(2)]
    try:
        time.sleep(0.3)
        out = os.path.join(tmp, "pids.json")
        p = run([WAITPROF, "funclat", "--format", "json", "-o", out, *EXTRA, "-d", "1", "--stacks",
                 "-p", ",".join(str(x.pid) for x in procs), f"{WORK}:journal_append"])
        rep = json.load(open(out))
    finally:
        for x in procs:
            x.kill()
            x.wait()
    pids = {s["pid"] for s in rep["functions"][0]["stacks"]}
    check(pids == {x.pid for x in procs}, f"-p with two processes: stacks from {sorted(pids)}")
    check(rep["functions"][0]["count"] > 100, f"{rep['functions'][0]['count']} calls timed in 1 s")


def main():
    wptest.require_bpf()
    if not os.access(WORK, os.X_OK):
        print(f"workload {WORK} not built")
        sys.exit(1)
    tmp = wptest.tmpdir()
    args = [a for a in sys.argv[1:] if a != "--no-session"]
    which = args[0] if args else "all"
    if which in ("all", "truth"):
        test_truth(tmp)
    if which in ("all", "logger"):
        test_logger(tmp)
    if which in ("all", "options"):
        test_refusals_and_options(tmp)
    if which in ("all", "processes"):
        test_processes(tmp)
    wptest.finish()


if __name__ == "__main__":
    main()
