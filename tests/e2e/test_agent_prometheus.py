"""waitprof agent scraped by a real Prometheus (Debian's), at 1 s, on
loopback with its own data directory: PromQL returns the contended lock's
wait count, checked against the workload's own count, and a p99 from the
histogram buckets. Skipped (77), loudly, without a prometheus binary."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

from wptest import *
from agent_scrape import Agent, held, release, series

require_bpf()
PROM = shutil.which("prometheus")
if not PROM:
    print("*" * 70)
    print("SKIPPED: no prometheus binary (apt-get install prometheus; scripts/deps/base.txt)")
    print("*" * 70)
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(port, q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=10) as r:
        res = json.load(r)["data"]["result"]
    return float(res[0]["value"][1]) if res else None


d = tmpdir()
lockers = held(LOCKERS, "mutex", "-t", "4", "-n", "60", "-u", "2000")
agent = Agent("-p", str(lockers.pid), "--window", "2", "--max-locks", "100000", "--max-threads", "100000")
prom_port = free_port()
cfg = os.path.join(d, "prometheus.yml")
with open(cfg, "w") as f:
    f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: waitprof
    static_configs:
      - targets: ['127.0.0.1:{agent.port}']
""")
prom = subprocess.Popen([PROM, f"--config.file={cfg}", f"--storage.tsdb.path={d}/tsdb",
                         f"--web.listen-address=127.0.0.1:{prom_port}"],
                        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "prom.log"), "w"))
atexit.register(lambda: prom.poll() is None and prom.kill())
try:
    up = None
    deadline = time.time() + 60
    while time.time() < deadline and up != 1:
        time.sleep(1)
        try:
            up = query(prom_port, 'up{job="waitprof"}')
        except OSError:
            pass
    check(up == 1, f"Prometheus scrapes the agent (up = {up})")
    release(lockers)
    out = lockers.stdout.read()
    lockers.wait(timeout=120)
    truth = workload_truth(out, key="lock")["contended_mu"]
    check(agent.wait_windows(2), "two windows recorded after the workload")
    time.sleep(3)           # a few scrapes of the final values
    count = query(prom_port, 'sum(waitprof_lock_wait_seconds_count{lock="contended_mu"})')
    check(count is not None and truth["waits"] * 0.8 <= count <= truth["calls"] * 1.5,
          f"PromQL: {count} waits of contended_mu vs {truth['waits']} slow lock calls of "
          f"{truth['calls']} (the workload's own count)")
    if count is None:
        print("agent's lock series of lockers:", [l for (n, l), v in agent.metrics().items()
              if n == "waitprof_lock_wait_seconds_count" and ("comm", "lockers") in l])
    p99 = query(prom_port, 'histogram_quantile(0.99, sum by (le) '
                '(waitprof_lock_wait_seconds_bucket{lock="contended_mu"}))')
    # Waits queue behind 2 ms holds of 3 other threads: the p99 lies
    # between one hold and a few; buckets are 1-2-5 steps.
    check(p99 is not None and 0.002 <= p99 <= 0.05,
          f"PromQL: histogram_quantile(0.99) of contended_mu = {p99} s (2 ms..50 ms)")
finally:
    prom.terminate()
    prom.wait(timeout=30)
rc = agent.stop(signal.SIGTERM)
check(rc == 0, f"agent: exit status {rc} after SIGTERM")
check(not waitprof_orphans(), "no BPF program left in the kernel")
finish()
