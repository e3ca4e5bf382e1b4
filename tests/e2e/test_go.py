#!/usr/bin/env python3
"""Go programs: the runtime's idle threads are not lock contention.

gocontend runs 8 goroutines on one contended sync.Mutex. The goroutines
park in the Go scheduler, invisible to an OS-thread view; the OS threads
left idle sleep in runtime.futexsleep <- notesleep <- stopm, which used to
be reported as contended "bimodal" futexes with a cause line. Now every
such futex is of kind go-runtime, none is a finding, no off-CPU finding is
a runtime idle stack, and the report says once what an off-CPU view of a
Go program shows.
"""
import os
import shutil

from wptest import *

require_bpf()
d = tmpdir()
go = shutil.which("go")
check(go is not None, "go is installed (scripts/deps/flamegraph.txt: golang-go)")
src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads", "gocontend.go")
binary = os.path.join(d, "gocontend")
env = dict(os.environ, GOCACHE=os.path.join(d, "gocache"), GOPATH=os.path.join(d, "gopath"),
           GOFLAGS="-mod=mod", GO111MODULE="off")
run([go, "build", "-o", binary, src], env=env, timeout=300)

data = os.path.join(d, "go.data")
p = run([WAITPROF, "record", "-q", "-o", data, "--", binary])
check(p.stdout.split()[0] == "3200", f"gocontend ran its 3200 critical sections ({p.stdout.strip()})")
rep = report_json(data)
pid = next(t["pid"] for t in rep["threads"] if t["comm"] == "gocontend")
# Futexes only: a kernel lock the process contended (mmap_lock while the
# runtime grows its heap, on a loaded machine) is not the runtime's.
locks = [l for l in rep["locks"] if l["pid"] == pid and l["kind"] != "kernel"]
kinds = sorted({l["kind"] for l in locks})
print(f"     {len(locks)} futexes of the Go process, kinds {kinds}")
check(locks and kinds == ["go-runtime"],
      f"every futex the Go runtime sleeps on is go-runtime ({kinds})")
lock_findings = [f for f in rep["findings"] if f["subject"].startswith(("0x", "runtime."))]
check(not lock_findings, f"no go-runtime futex is a finding ({lock_findings[:1]})")
stack_findings = [f for f in rep["findings"]
                  if "off-CPU stack" in f["subject"] and "runtime.futex" in f["subject"]]
check(not stack_findings, f"no runtime idle stack is a finding ({stack_findings[:1]})")
notes = [f for f in rep["findings"] if f["subject"].startswith("gocontend") and
         "Go program" in f["text"]]
check(len(notes) == 1, "the report says once what an off-CPU view of Go shows")
text = run([WAITPROF, "report", data]).stdout
findings = text[text.find("Findings:"):]
check("go-runtime" in text and "a Go program" in findings.split("\n\n")[0],
      "the text report's findings carry the Go note; the runtime's futexes are labelled")

finish()
