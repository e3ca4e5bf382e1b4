#!/usr/bin/env python3
"""Bad input and signals: one clear line and a non-zero exit, recordings
written on Ctrl-C/SIGTERM/SIGHUP, nothing left in the kernel, even after
SIGKILL."""
import os
import signal
import subprocess
import time

from wptest import *

require_bpf()
d = tmpdir()
out = os.path.join(d, "x.data")


def fails_cleanly(args, what, expect_text, code=None, **kw):
    p = run(args, check=False, **kw)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    ok = p.returncode != 0 and p.returncode > 0 and (code is None or p.returncode == code)
    check(ok, f"{what}: exit status {p.returncode}")
    check(lines and expect_text in lines[0] and len(lines) <= 2,
          f"{what}: says so in one line: {lines[:2]}")
    check(not waitprof_orphans(), f"{what}: nothing left attached {waitprof_orphans()}")


fails_cleanly([WAITPROF, "record", "-p", "999999", "-o", out], "missing PID", "no process with PID 999999")
fails_cleanly([WAITPROF, "record", "-o", out, "--", "/nonexistent/cmd"], "command that cannot run",
              "cannot run '/nonexistent/cmd'")
fails_cleanly([WAITPROF, "record", "-o", "/nonexistent-dir/x.data", "-d", "1"], "unwritable output",
              "cannot write /nonexistent-dir/x.data")
fails_cleanly([WAITPROF, "record", "-m", "abc"], "bad -m", "invalid minimum block time", code=2)
fails_cleanly([WAITPROF, "record", "-u", "-k"], "-u with -k", "exclude each other", code=2)
fails_cleanly([WAITPROF, "frobnicate"], "unknown command", "unknown command", code=2)
fails_cleanly(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
               WAITPROF, "record", "-d", "1", "-o", os.path.join("/tmp", "never.data")],
              "not root", "needs root")
check(not os.path.exists(out), "no output file left by failed recordings")

# A valid recording, then damaged copies of it.
good = os.path.join(d, "good.data")
run([WAITPROF, "record", "-q", "-o", good, "--", BLOCKER, "-n", "5", "-o", "sleeper"])
blob = open(good, "rb").read()
cases = {
    "truncated recording": blob[: len(blob) // 2],
    "flipped byte": blob[:200] + bytes([blob[200] ^ 0x40]) + blob[201:],
    "not a recording": b"hello world, this is not a recording at all\n",
    "empty file": b"",
}
for what, data in cases.items():
    path = os.path.join(d, what.replace(" ", "_"))
    open(path, "wb").write(data)
    p = run([WAITPROF, "report", path], check=False)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 1 and len(lines) == 1 and p.stdout == "",
          f"report of a {what}: exit {p.returncode}, {lines}")
p = run([WAITPROF, "report", os.path.join(d, "missing.data")], check=False)
check(p.returncode == 1 and "cannot open" in p.stderr, "report of a missing file: one line, exit 1")

# Signals stop the recording and it is still written, complete.
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    path = os.path.join(d, f"sig{int(sig)}.data")
    p = subprocess.Popen([WAITPROF, "record", "-q", "-o", path], stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    p.send_signal(sig)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    ok = rc == 0 and os.path.exists(path)
    rep = report_json(path) if ok else None
    check(ok and rep["recording"]["complete"] and rep["offcpu"],
          f"{sig.name}: exit {rc}, recording written and complete")
    check(not waitprof_orphans(), f"{sig.name}: nothing left attached")

# SIGKILL: the kernel drops the programs with the process (nothing pinned).
p = subprocess.Popen([WAITPROF, "record", "-q", "-o", os.path.join(d, "kill.data")])
time.sleep(1.5)
check("sched_switch_btf" in waitprof_progs(), "SIGKILL: programs were attached while recording")
p.kill()
p.wait()
for _ in range(50):
    if not waitprof_orphans():
        break
    time.sleep(0.1)
check(not waitprof_orphans(), f"SIGKILL: nothing left attached (bpftool prog show) {waitprof_orphans()}")
pinned = subprocess.run(["sh", "-c", "ls /sys/fs/bpf 2>/dev/null | grep -i waitprof"],
                        capture_output=True, text=True).stdout
check(pinned == "", "SIGKILL: nothing pinned in /sys/fs/bpf")
finish()
