#!/usr/bin/env python3
"""Faults during recording: a full disk, two recorders at once, sudo
ownership and permissions of what waitprof writes."""
import os
import re
import stat
import subprocess

from wptest import *

require_bpf()
d = tmpdir()

# Under sudo, outputs belong to the invoking user; recordings are private.
env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
data = os.path.join(d, "owned.data")
run([WAITPROF, "record", "-q", "-o", data, "--", BLOCKER, "-n", "3", "-o", "sleeper"], env=env)
st = os.stat(data)
check(st.st_uid == 65534 and st.st_gid == 65534, f"sudo: recording owned by the invoker ({st.st_uid})")
check(stat.S_IMODE(st.st_mode) == 0o600, f"recording mode {oct(stat.S_IMODE(st.st_mode))} is 0600")
folded = os.path.join(d, "owned.folded")
run([WAITPROF, "report", "-F", "folded", "-o", folded, data], env=env)
check(os.stat(folded).st_uid == 65534, "sudo: report output owned by the invoker")
link = os.path.join(d, "link.folded")
os.symlink("/etc/waitprof-should-not-exist", link)
p = run([WAITPROF, "report", "-F", "folded", "-o", link, data], check=False)
check(p.returncode != 0 and not os.path.exists("/etc/waitprof-should-not-exist"),
      "report -o does not follow a symlink planted at the output path")

# A full disk: clear error, non-zero exit, and the recording saved elsewhere.
full = os.path.join(d, "full")
os.mkdir(full)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", full], check=True)
try:
    p = run([WAITPROF, "record", "-o", os.path.join(full, "x.data"), "--", BLOCKER, "-n", "20"],
            check=False)
    m = re.search(r"saved to (\S+) instead", p.stderr)
    check(p.returncode != 0 and m is not None,
          f"disk full: exit {p.returncode}, says where the recording went: "
          f"{p.stderr.strip().splitlines()[-1:]}")
    if m:
        rep = report_json(m.group(1))
        check(rep["recording"]["complete"] and rep["offcpu"], "disk full: the saved recording is whole")
        os.unlink(m.group(1))
    check(not [f for f in os.listdir(full) if f.startswith("x.data")],
          "disk full: no partial file left under the output name")
finally:
    subprocess.run(["umount", full])

# Two recorders at once, on one workload: both see the same truth.
outs = [os.path.join(d, f"twin{i}.data") for i in range(2)]
w = subprocess.Popen([BLOCKER, "-S", "4000", "-n", "60", "-o", "sleeper,poller"],
                     stdout=subprocess.PIPE, text=True)
recs = [subprocess.Popen([WAITPROF, "record", "-p", str(w.pid), "-o", o], stderr=subprocess.PIPE,
                         text=True) for o in outs]
for r in recs:  # attached once each says it is recording
    check("recording off-CPU time" in r.stderr.readline(), "two recorders: both attached")
truth = workload_truth(w.communicate()[0])
for r in recs:
    r.send_signal(2)
    r.wait()
for o in outs:
    got = threads_by_comm(report_json(o), w.pid)
    for name in ("sleeper", "poller"):
        have, want = got.get(name, {}).get("offcpu_ns", 0), truth[name]["blocked_ns"]
        check(abs(have - want) <= 0.05 * want,
              f"two recorders: {os.path.basename(o)} {name} {have / 1e6:.0f} ms of {want / 1e6:.0f} ms")
check(not waitprof_orphans(), "two recorders: nothing left attached")

# Maps too small for the system: every loss is counted and reported.
small = os.path.join(d, "small.data")
# Short-lived processes: each maps its libraries at new random addresses,
# so each brings new stacks.
w = subprocess.Popen(["sh", "-c", "for i in $(seq 400); do /bin/true; sleep 0.005; done"])
run([WAITPROF, "record", "-q", "-d", "2", "--hist-size", "1024", "--stack-size", "128",
     "-o", small])
w.wait()
c = report_json(small)["counters"]
lost = c["dropped_hist_full"] + c["dropped_stack_map_full"]
check(lost > 0, f"tiny maps: {c['dropped_hist_full']} intervals and "
      f"{c['dropped_stack_map_full']} stacks counted as dropped")
text = run([WAITPROF, "report", small]).stdout
check("WARNING" in text and ("--hist-size" in text or "--stack-size" in text),
      "tiny maps: the text report warns and names the option to raise")
finish()
