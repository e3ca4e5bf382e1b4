"""Shared helpers for waitprof's end-to-end tests.

Every test runs the real waitprof binary with real BPF against workloads that
measure themselves (tests/workloads/). Binaries come from the environment
ctest sets (WAITPROF, BLOCKER, ...), else from build/; tests exit 77 (ctest:
skipped) only when BPF is truly unavailable, and say so loudly. A test ends
with finish().
"""
import json
import os
import subprocess
import sys
import tempfile

WAITPROF = os.environ.get("WAITPROF", "build/waitprof")
BLOCKER = os.environ.get("BLOCKER", "build/tests/workloads/blocker")
WORKLOADS = os.path.dirname(BLOCKER)
HOSTILE = os.environ.get("HOSTILE", os.path.join(WORKLOADS, "hostile"))
LOCKERS = os.environ.get("LOCKERS", os.path.join(WORKLOADS, "lockers"))
PINGPONG = os.environ.get("PINGPONG", os.path.join(WORKLOADS, "pingpong"))
# The same logger twice: as built, and rebuilt with its code elsewhere.
LOGGER = os.environ.get("LOGGER", os.path.join(WORKLOADS, "logger"))
LOGGER_PAD = os.environ.get("LOGGER_PAD", os.path.join(WORKLOADS, "pad", "logger"))
SKIP = 77
failures = []


def bpf_available():
    if os.geteuid() != 0:
        return "not root"
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "no /sys/kernel/btf/vmlinux"
    return None


def require_bpf():
    why = bpf_available()
    if why:
        print("*" * 70)
        print(f"SKIPPED: BPF end-to-end test cannot run here: {why}")
        print("*" * 70)
        sys.exit(SKIP)


def run(args, check=True, timeout=120, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {p.returncode}:\n"
                           f"{p.stderr}")
    return p


def tmpdir():
    return tempfile.mkdtemp(prefix="waitprof-test-")


def workload_truth(stdout, key="thread"):
    """The workload's own JSON lines, by thread name (or by another key:
    lockers prints one line per lock)."""
    truth = {}
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            t = json.loads(line)
            truth[t[key]] = t
    return truth


def report_json(data_file, *extra):
    p = run([WAITPROF, "report", "-F", "json", data_file, *extra])
    return json.loads(p.stdout)


def threads_by_comm(report, pid=None):
    """Sum of off-CPU ns and counts per thread name."""
    out = {}
    for t in report["threads"]:
        if pid is not None and t["pid"] != pid:
            continue
        e = out.setdefault(t["comm"], {"offcpu_ns": 0, "count": 0, "blocked_ns": 0,
                                       "runqueue_ns": 0, "tids": set()})
        e["offcpu_ns"] += t["offcpu_ns"]
        e["blocked_ns"] += t["blocked_ns"]
        e["runqueue_ns"] += t["runqueue_ns"]
        e["count"] += t["count"]
        e["preempted_count"] = e.get("preempted_count", 0) + t["preempted_count"]
        e["preempted_ns"] = e.get("preempted_ns", 0) + t["preempted_ns"]
        e["tids"].add(t["tid"])
    return out


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def bpf_progs():
    """Names of BPF programs loaded in the kernel now."""
    p = run(["bpftool", "-j", "prog", "show"], check=False)
    try:
        return [x.get("name", "") for x in json.loads(p.stdout or "[]")]
    except json.JSONDecodeError:
        return []


OUR_PROG_PREFIXES = ("sched_", "sys_enter", "sys_exit", "contention_", "lock_", "uprobe",
                     "uretprobe", "futex", "pthread")


def held_prog_ids():
    """Ids of BPF programs some process holds through an fd (prog or link)."""
    ids = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    for line in f:
                        if line.startswith("prog_id:"):
                            ids.add(int(line.split()[1]))
            except (OSError, ValueError):
                pass
    return ids


def waitprof_orphans(settle_s=3.0):
    """waitprof-like programs that no process holds: left behind in the
    kernel (pinned or attached without an owner). Other recorders running
    at the same time hold theirs, so they do not count. The kernel frees a
    program shortly after its last fd closes, so only programs that stay
    unowned for settle_s count."""
    import time
    deadline = time.time() + settle_s
    orphans = set(_orphans_now())
    while orphans and time.time() < deadline:
        time.sleep(0.2)
        orphans &= set(_orphans_now())
    return sorted(orphans)


def _orphans_now():
    p = run(["bpftool", "-j", "prog", "show"], check=False)
    try:
        progs = json.loads(p.stdout or "[]")
    except json.JSONDecodeError:
        return ["<bpftool output unreadable>"]
    ours = [x for x in progs if x.get("name", "").startswith(OUR_PROG_PREFIXES)]
    if not ours:
        return []
    held = held_prog_ids()
    return [f"{x['name']}#{x['id']}" for x in ours if x["id"] not in held]


def waitprof_progs():
    """waitprof-like programs loaded now."""
    p = run(["bpftool", "-j", "prog", "show"], check=False)
    try:
        return [x.get("name", "") for x in json.loads(p.stdout or "[]")
                if x.get("name", "").startswith(OUR_PROG_PREFIXES)]
    except json.JSONDecodeError:
        return []


skipped = []


def chromium():
    """The headless browser's path, or None."""
    import shutil
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def skip(what):
    """A part of the test that cannot run here: said loudly, and the test
    then exits 77 (ctest: skipped) unless a check failed, never a pass."""
    print("*" * 70 + f"\nSKIPPED: {what}\n" + "*" * 70)
    skipped.append(what)


def finish():
    total = len(failures)
    if total:
        print(f"\n{total} check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    if skipped:
        print(f"\nall checks that ran passed; {len(skipped)} part(s) skipped:")
        for s in skipped:
            print("  - " + s)
        sys.exit(SKIP)
    print("\nall checks passed")
    sys.exit(0)
