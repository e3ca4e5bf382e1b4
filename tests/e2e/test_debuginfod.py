#!/usr/bin/env python3
"""Debug symbols the way the ecosystem gets them: debuginfod.

blocker_stripped is blocker_nofp without its symbol table (as Debian ships
binaries); its debug file lives apart. Without DEBUGINFOD_URLS, waitprof
must say once that the binary has no symbol table, with its build-id, and
print its static functions as offsets. With DEBUGINFOD_URLS pointing at a
local debuginfod (Debian's package, on 127.0.0.1, its own database and a
scratch client cache) that serves the debug file, the same recording names
sleep_once <- sleeper_main, and no warning is printed for it.
"""
import os
import shutil
import socket
import subprocess
import time
import urllib.request

from wptest import *

require_bpf()
STRIPPED = os.environ.get("BLOCKER_STRIPPED", "build/tests/workloads/blocker_stripped")
DEBUG_FILE = os.path.join(os.path.dirname(STRIPPED), "debug", "blocker_stripped.debug")
d = tmpdir()


def build_id(path):
    out = run(["readelf", "-n", path]).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    raise RuntimeError(f"{path} has no build-id")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(name, env):
    data = os.path.join(d, name + ".data")
    p = run([WAITPROF, "record", "-o", data, "--", STRIPPED, "-n", "30", "-s", "5",
             "-o", "sleeper"], env=env)
    folded = run([WAITPROF, "report", "-F", "folded", data]).stdout
    sleeper = [l for l in folded.splitlines() if l.startswith("sleeper;")]
    return p.stderr, sleeper


server = shutil.which("debuginfod")
check(server is not None, "debuginfod is installed (scripts/deps/symbolize.txt)")
bid = build_id(STRIPPED)
check(build_id(DEBUG_FILE) == bid, f"the debug file carries the binary's build-id {bid}")
check("sleep_once" not in run(["nm", "-D", STRIPPED], check=False).stdout and
      not run(["nm", STRIPPED], check=False).stdout.strip(),
      "blocker_stripped has no symbol table")

env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
err, sleeper = record("plain", env)
warned = [l for l in err.splitlines() if "no symbol table" in l and bid in l]
check(len(warned) == 1, f"without DEBUGINFOD_URLS: said once, with the build-id ({warned})")
check("DEBUGINFOD_URLS" in "".join(warned), "the warning says how to get the symbols")
check(sleeper and not any("sleep_once" in l for l in sleeper) and
      any("blocker_stripped+0x" in l for l in sleeper),
      "without symbols, the static functions print as offsets")

served = os.path.join(d, "served")
os.makedirs(served)
shutil.copy(DEBUG_FILE, served)
port = free_port()
srv = subprocess.Popen([server, "-F", "-p", str(port), "-d", os.path.join(d, "db.sqlite"),
                        "-t", "0", "-g", "0", "-c", "1", served],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    url = f"http://127.0.0.1:{port}"
    ready = False
    for _ in range(120):  # indexing a file takes well under a second when idle
        try:
            with urllib.request.urlopen(f"{url}/buildid/{bid}/debuginfo", timeout=2) as r:
                ready = r.status == 200
        except Exception:
            pass
        if ready or srv.poll() is not None:
            break
        time.sleep(0.5)
    check(ready, f"debuginfod on 127.0.0.1:{port} serves the debug file")
    env2 = dict(env, DEBUGINFOD_URLS=url, DEBUGINFOD_CACHE_PATH=os.path.join(d, "cache"),
                DEBUGINFOD_TIMEOUT="20")
    err, sleeper = record("debuginfod", env2)
    chain = [l for l in sleeper if "sleeper_main" in l and "sleep_once" in l]
    check(chain, f"with DEBUGINFOD_URLS: sleep_once <- sleeper_main named ({sleeper[:1]})")
    check(not any("no symbol table" in l and bid in l for l in err.splitlines()),
          "no warning once the symbols came")
    check(os.path.isdir(os.path.join(d, "cache")), "the client's cache was used")
finally:
    srv.terminate()
    try:
        srv.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.kill()

finish()
