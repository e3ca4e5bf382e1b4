#!/usr/bin/env python3
"""A holder whose unlock is a tail call is still blamed for what it does
under the lock, not for what its caller does after.

lockers_o2 logger -T: journal_append_tail() takes journal_mu, writes, runs
fdatasync under the lock every 8th append, and ends with
pthread_mutex_unlock, which gcc -O2 compiles as `jmp`. The unlock then
returns straight into logger_worker, so the holders' (wakers') stacks read
__lll_lock_wake <- pthread_mutex_unlock <- logger_worker, skipping the
function that held the lock; logger_worker then sleeps a random pause after
the unlock, off the lock, longer in total than the flushes (without the
fix, the cause line named that pause: "logger_worker, where the holders
unlock, blocks in __GI___clock_nanosleep <- ... <- us_sleep"). The finding's
cause line must name the fdatasync under journal_append_tail, never the
pause.
"""
import json
import os
import subprocess

from wptest import *

LOCKERS_O2 = os.environ.get("LOCKERS_O2", os.path.join(os.path.dirname(BLOCKER), "lockers_o2"))
require_bpf()
d = tmpdir()

dis = run(["objdump", "-d", "--no-show-raw-insn", LOCKERS_O2]).stdout
body = dis[dis.find("<journal_append_tail>:"):]
body = body[:body.find("\n\n")]
check(any("jmp" in l and "<pthread_mutex_unlock@plt>" in l for l in body.splitlines()),
      "journal_append_tail's unlock is a tail call (jmp pthread_mutex_unlock@plt)")

data = os.path.join(d, "tail.data")
# Journal on a disk (/var/tmp): fdatasync must reach a device to be slow.
# The logger of test_locks_modality (bimodal there), with the tail-call
# unlock: 4 x 6000 pauses of ~100 us after the unlock outweigh the 750
# fdatasyncs under the lock.
p = run([WAITPROF, "record", "-q", "-o", data, "--", LOCKERS_O2, "logger", "-T", "-t", "4",
         "-n", "6000", "-p", "100", "-f", "32", "-s", "10", "-d", "/var/tmp"], timeout=240)
rep = report_json(data)
found = [f for f in rep["findings"] if f["subject"].startswith("journal_mu")]
lock = [l for l in rep["locks"] if l["symbol"] == "journal_mu"]
print(f"     journal_mu: {lock[0]['modality']['verdict'] if lock else None}; "
      f"finding: {found[0] if found else None}")
check(found, "journal_mu is a finding (the flush under the lock makes its waits bimodal)")
cause = (found[0]["cause"] or "") if found else ""
check("journal_append_tail" in cause and ("fdatasync" in cause or "flush_journal" in cause),
      f"the cause is the fdatasync under journal_append_tail: {cause!r}")
check(not any(w in cause for w in ("us_sleep", "nanosleep", "random_pause")) and
      not cause.startswith("logger_worker"),
      "the pause logger_worker takes after the unlock is not the cause")

finish()
