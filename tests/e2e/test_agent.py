"""waitprof agent end to end (docs/AGENT.md): a contended mutex whose
workload counts its own waits, scraped from /metrics directly; the pprof
endpoints read by go tool pprof; bad requests answered 4xx while the agent
keeps serving; the windows written to --output-dir read by report; label
values escaped; SIGTERM leaves nothing in the kernel."""
import os
import shutil
import signal
import subprocess
import time

from wptest import *
from agent_scrape import Agent, held, release, series

require_bpf()
d = tmpdir()
out_dir = os.path.join(d, "windows")
os.makedirs(out_dir)
WINDOW = 2
KEEP = 4
# ---- the workload: 4 threads, 60 rounds of a 2 ms hold of contended_mu,
# and a thread name that needs escaping (a copy of sleep named wp"q\z) ----
odd = os.path.join(d, 'wp"q\\z')
shutil.copy("/bin/sleep", odd)
sleeper = held(odd, "1.5")
lockers = held(LOCKERS, "mutex", "-t", "4", "-n", "60", "-u", "2000")
# Series limits well above what runs, so that every name gets its own.
agent = Agent("-p", f"{sleeper.pid},{lockers.pid}", "--window", str(WINDOW), "--keep", str(KEEP),
              "--output-dir", out_dir, "--max-locks", "100000", "--max-threads", "100000")
print(f"agent on port {agent.port}")
release(sleeper)
release(lockers)
out = lockers.stdout.read()
lockers.wait(timeout=120)
truth = workload_truth(out, key="lock")["contended_mu"]
sleeper.wait()
# Both ended before this window closes: two more windows hold all of it.
check(agent.wait_windows(2), "two windows recorded after the workload")
m = agent.metrics()

mu = [s for s in series(m, "waitprof_lock_wait_seconds_count", lock="contended_mu")]
if not mu:
    print("lock series of lockers:", series(m, "waitprof_lock_wait_seconds_count", comm="lockers"))
count = sum(v for _, v in mu)
check(len(mu) >= 1 and all(l["kind"] == "mutex" for l, _ in mu),
      f"contended_mu: {len(mu)} series, kind mutex ({[l for l, _ in mu]})")
check(truth["waits"] * 0.8 <= count <= truth["calls"] * 1.5,
      f"contended_mu: {count:.0f} waits scraped vs {truth['waits']} slow lock calls of "
      f"{truth['calls']} (the workload's own count)")
wait_sum = sum(v for _, v in series(m, "waitprof_lock_wait_seconds_sum", lock="contended_mu"))
check(0.5 * truth["wait_ns"] / 1e9 <= wait_sum <= 1.08 * truth["wait_ns"] / 1e9,
      f"contended_mu: {wait_sum * 1e3:.1f} ms blocked vs {truth['wait_ns'] / 1e6:.1f} ms "
      f"self-measured wait (blocked part: at most the whole, 8% slack)")
for labels, c in mu:
    key = {k: labels[k] for k in ("lock", "kind", "comm")}
    buckets = sorted(((float(l["le"]), v) for l, v in
                      series(m, "waitprof_lock_wait_seconds_bucket", **key)))
    cum = [v for _, v in buckets]
    check(len(buckets) == 26 and buckets[0][0] == 1e-6 and buckets[-2][0] == 100 and
          buckets[-1][0] == float("inf") and cum == sorted(cum) and cum[-1] == c,
          f"contended_mu ({labels['comm']}): 26 cumulative buckets 1 us..100 s, +Inf = count "
          f"({c:.0f})")
    below_1ms = dict(buckets).get(0.001, 0)
    check(below_1ms <= 0.5 * c, f"contended_mu: most waits over 1 ms behind 2 ms holds "
          f"({below_1ms:.0f} of {c:.0f} at or under 1 ms)")
bim = series(m, "waitprof_lock_bimodal", lock="contended_mu")
check(len(bim) == len(mu) and all(v in (0, 1) for _, v in bim),
      f"contended_mu: a bimodal gauge (0/1) per series ({[v for _, v in bim]})")

blocked = series(m, "waitprof_offcpu_seconds_total", comm='wp"q\\z', wait="blocked")
check(len(blocked) == 1 and 1.3 <= blocked[0][1] <= 2.0,
      f'offcpu of thread wp"q\\z (escaped label): {blocked} s blocked of a 1.5 s sleep')
check(len(series(m, "waitprof_recorder_cpu_seconds_total")) == 1 and
      len(series(m, "waitprof_dropped_total")) >= 1,
      "health: recorder CPU seconds and dropped counters present")

# ---- pprof endpoints, through the reference reader ----
for path, want in (("/debug/pprof/mutex?seconds=8", "mutex_worker"),
                   ("/debug/pprof/offcpu?seconds=8", "mutex_worker")):
    status, body = agent.get(path)
    prof = os.path.join(d, "prof.pb.gz")
    with open(prof, "wb") as f:
        f.write(body)
    g = run(["go", "tool", "pprof", "-raw", prof], check=False)
    check(status == 200 and body[:2] == b"\x1f\x8b" and g.returncode == 0 and
          "Samples:" in g.stdout and (want is None or want in g.stdout),
          f"{path}: {status}, {len(body)} bytes gzip, go tool pprof -raw reads it "
          f"(rc {g.returncode}{', names ' + want if want else ''}) {g.stderr[-200:]}")

# ---- bad input: 4xx, and the agent serves on ----
bad = {"/nope": 404, "/debug/pprof/mutex?seconds=abc": 400, "/debug/pprof/mutex?seconds=0": 400,
       f"/debug/pprof/offcpu?seconds={WINDOW * KEEP + 1}": 400, "/metrics/../x": 404,
       "/debug/pprof/mutex?seconds=-1": 400}
for path, want in bad.items():
    status, _ = agent.get(path)
    check(status == want, f"GET {path}: {status} (want {want})")
status, _ = agent.get("/metrics", method="POST")
check(status == 405, f"POST /metrics: {status} (want 405)")
huge = agent.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
check(huge in (0, 413, 431), f"200 KB header: {huge} (4xx or closed)")
garbage = agent.raw(b"\x00\xff not http at all\r\n\r\n")
check(garbage in (0, 400), f"garbage request line: {garbage} (400 or closed)")
import socket
half = socket.create_connection(("127.0.0.1", agent.port))
half.sendall(b"GET /metr")          # half a request, left open
status, body = agent.get("/metrics")
check(status == 200 and b"waitprof_windows_total" in body,
      "/metrics still served beside a half-open connection and after bad input")
half.close()

# ---- --output-dir: windows as recordings, the last KEEP only ----
check(agent.wait_windows(KEEP), f"{KEEP} more windows recorded")
files = sorted(os.listdir(out_dir))
check(1 <= len(files) <= KEEP, f"--output-dir keeps {len(files)} files (at most {KEEP})")
if files:
    rep = report_json(os.path.join(out_dir, files[-1]))
    check("threads" in rep and "locks" in rep, f"waitprof report reads window {files[-1]}")

# ---- SIGTERM: a clean exit, nothing left in the kernel ----
rc = agent.stop(signal.SIGTERM)
check(rc == 0, f"SIGTERM: exit status {rc}")
check(not waitprof_orphans(), "no BPF program left in the kernel after SIGTERM")
finish()
