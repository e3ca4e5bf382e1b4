"""waitprof agent's waitprof_lock_bimodal gauge: 1 for a logger whose
appends sometimes fsync under the lock (lockers logger: most waits are
short, those behind a flush long), as waitprof report's lock verdict says
bimodal or slow-holder. 5 of 5 runs gave 1 on this VM (2026-12-02)."""
import signal

from wptest import *
from agent_scrape import Agent, held, release, series

require_bpf()
logger = held(LOCKERS, "logger", "-t", "4", "-D", "6", "-d", "/var/tmp")
# One 10 s window holds the whole 6 s run.
agent = Agent("-p", str(logger.pid), "--window", "10")
release(logger)
out = logger.stdout.read()
logger.wait(timeout=120)
truth = workload_truth(out, key="lock")["journal_mu"]
check(agent.wait_windows(1, timeout=30), "a window recorded after the logger")
m = agent.metrics()
gauge = series(m, "waitprof_lock_bimodal", lock="journal_mu")
count = sum(v for _, v in series(m, "waitprof_lock_wait_seconds_count", lock="journal_mu"))
check(len(gauge) == 1 and gauge[0][1] == 1,
      f"journal_mu: bimodal gauge {gauge} (want 1) over {count:.0f} waits "
      f"({truth['waits']} slow appends of {truth['calls']})")
rc = agent.stop(signal.SIGTERM)
check(rc == 0, f"agent: exit status {rc} after SIGTERM")
check(not waitprof_orphans(), "no BPF program left in the kernel")
finish()
