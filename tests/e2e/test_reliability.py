#!/usr/bin/env python3
"""Faults during recording: a full disk, two recorders at once, sudo
ownership and permissions of what waitprof writes, and a histogram map too
small for the workload, whose every lost interval must be counted (checked
exactly against the event ring and the workload's own count)."""
import csv
import io
import json
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

# Maps too small for the workload: every interval lost is counted, checked
# against two counts waitprof does not take from the histogram map. churner
# (short-lived processes of 64 threads, each sleeping 32 times at 32 call
# depths for 1-4 ms) makes ~2,000 keys per process, twice the 1024-entry map,
# faster than its drains empty it. --events writes every interval to the
# event ring whether or not the histogram had room, so:
#   events = intervals kept in the histograms + dropped_hist_full, exactly;
# and the workers' events match their own count of sleeps (a 1 ms sleep
# whose timer fires before the switch never leaves the CPU: only fewer).
CHURNER = os.environ.get("CHURNER", os.path.join(os.path.dirname(BLOCKER), "churner"))
small = os.path.join(d, "small.data")
p = run([WAITPROF, "record", "-q", "--events", "--hist-size", "1024", "-o", small, "--",
         CHURNER, "-c", "4", "-t", "64", "-n", "32"], timeout=240)
calls = sum(json.loads(l)["calls"] for l in p.stdout.splitlines() if l.startswith("{"))
rep = report_json(small)
c = rep["counters"]
kept = sum(t["count"] for t in rep["threads"])
events = list(csv.DictReader(io.StringIO(run([WAITPROF, "report", "-F", "events-csv",
                                              small]).stdout, newline="")))
ev_lost = c["events_lost"] + c["events_dropped_no_memory"] + c["events_dropped_limit"]
check(c["dropped_hist_full"] >= 100 and ev_lost == 0,
      f"tiny histogram map: {c['dropped_hist_full']} intervals dropped, {kept} kept "
      f"(no event lost: {ev_lost})")
check(len(events) == kept + c["dropped_hist_full"],
      f"every loss counted: {len(events)} events = {kept} kept + {c['dropped_hist_full']} "
      f"dropped_hist_full ({len(events) - kept - c['dropped_hist_full']:+d})")
workers = sum(1 for e in events if e["comm"] == "churnw" and e["state"] == "S")
states = sorted({e["state"] for e in events})
check(0.98 * calls <= workers <= calls,
      f"the workers' {workers} sleeping events vs the {calls} sleeps they timed (states {states})")
text = run([WAITPROF, "report", small]).stdout
check("WARNING" in text and "--hist-size" in text,
      "tiny maps: the text report warns and names the option to raise")
finish()
