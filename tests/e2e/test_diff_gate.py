#!/usr/bin/env python3
"""waitprof diff as a CI gate, on a logger whose only change is where it
flushes.

- baseline: the logger swaps its buffer under log_mu and writes after
  unlocking; current: it writes (2 ms) while holding log_mu. `diff --gate
  --by lock` must exit 1 and name log_mu; the function view must flag the
  function that waits for it.
- ten pairs of runs of the unchanged baseline never fail --gate, in any view.
- a rebuilt binary (other code layout, other addresses) still matches by name.
- exit 2 on usage and input errors; flamegraph --diff takes recordings.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wptest import WAITPROF, check, failures, require_bpf, run, tmpdir  # noqa: E402

LOGGER_C = r'''
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THREADS 4
#define FLUSH_EVERY 16

pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[FLUSH_EVERY][64];
static int log_used, under_lock, messages = 300;
static volatile unsigned long sink;

#ifdef PAD
/* Moves every function below to other addresses: a "rebuilt" binary. */
__attribute__((noinline, used)) void pad_function(void)
{
	for (volatile int i = 0; i < 100; i++)
		sink += i * 3 + sink / 7 + (sink << 2) - (sink >> 3);
	for (volatile int i = 0; i < 100; i++)
		sink ^= i * 5 + sink / 11 + (sink << 3) - (sink >> 5);
}
#endif

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void slow_write(char (*batch)[64], int n)
{
	for (int i = 0; i < n; i++)
		sink += batch[i][0];
	sleep_us(2000);
}

__attribute__((noinline)) static void log_message(int id, int i)
{
	char (*batch)[64] = NULL;
	int n = 0;

	pthread_mutex_lock(&log_mu);
	snprintf(log_buf[log_used++], 64, "worker %d message %d", id, i);
	for (volatile int spin = 0; spin < 2000; spin++)
		;
	if (log_used == FLUSH_EVERY) {
		if (under_lock) {
			slow_write(log_buf, log_used);
		} else {
			batch = malloc(sizeof(log_buf));
			memcpy(batch, log_buf, sizeof(log_buf));
			n = log_used;
		}
		log_used = 0;
	}
	pthread_mutex_unlock(&log_mu);
	if (batch) {
		slow_write(batch, n);
		free(batch);
	}
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;

	for (int i = 0; i < messages; i++) {
		log_message(id, i);
		sleep_us(200);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];

	sleep_us(300000);	/* the recorder loads unwind tables meanwhile */
	under_lock = argc > 1 && !strcmp(argv[1], "under");
	if (argc > 2)
		messages = atoi(argv[2]);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
'''

VIEWS = ["lock", "stack", "function", "thread"]


def build(d, name, *flags):
    src = os.path.join(d, "logger.c")
    with open(src, "w") as f:
        f.write(LOGGER_C)
    exe = os.path.join(d, name)
    run(["cc", "-O1", "-g", "-fno-omit-frame-pointer", "-pthread", *flags, "-o", exe, src])
    return exe


def record(d, name, exe, mode):
    data = os.path.join(d, name + ".data")
    p = run([WAITPROF, "record", "-o", data, "--", exe, mode])
    return data, "without lock contention" not in p.stderr


def diff(base, cur, *args):
    p = run([WAITPROF, "diff", base, cur, "-F", "json", *args], check=False)
    out = json.loads(p.stdout) if p.stdout.strip().startswith("{") else None
    return p.returncode, out, p.stderr


def test_regression(d, exe):
    base, locks_ok = record(d, "off", exe, "off")
    cur, locks_ok2 = record(d, "under", exe, "under")
    if locks_ok and locks_ok2:
        rc, out, _ = diff(base, cur, "--by", "lock", "--gate")
        flagged = [e for e in out["entries"] if e["flags"]]
        check(rc == 1, f"flush under the lock fails the lock gate (exit {rc})")
        check(any("log_mu" in e["key"] for e in flagged),
              "the flagged lock is named log_mu: " + ", ".join(e["key"] for e in flagged))
        p = run([WAITPROF, "diff", base, cur, "--by", "lock", "--gate", "-F", "markdown"],
                check=False)
        check("log_mu" in p.stdout and ":x:" in p.stdout and p.stdout.count("\n|") >= 2,
              "markdown table names log_mu with a regression mark")
    else:
        print("NOTE: lock data unavailable in this build: gating on the function view only")
    rc, out, _ = diff(base, cur, "--by", "function", "--gate")
    flagged = [e["key"] for e in out["entries"] if e["flags"]]
    check(rc == 1 and "log_message" in flagged,
          f"function view fails too and flags log_message (exit {rc}, flagged {flagged})")
    rc, out, _ = diff(base, cur, "--by", "function")
    check(rc == 0 and out["summary"]["flagged"] >= 1,
          "without --gate/--fail-* regressions are shown but exit 0")
    return base


def gate_failures(a, b):
    worst = []
    for view in VIEWS:
        rc, out, err = diff(a, b, "--by", view, "--gate")
        flagged = [(e["key"][-80:], e["flags"]) for e in out["entries"] if e["flags"]] \
            if out else err
        if rc != 0:
            worst.append(f"{view}: exit {rc} {flagged}")
    return worst


def test_unchanged_pairs(d, exe, pairs=10):
    # The default p99 threshold sits above this VM's usual run-to-run spread
    # (docs/DIFF.md), but a host hiccup during one run can still double a
    # p99. A false positive of the gate repeats; a hiccup does not: a pair
    # that fails is recorded again once, and must pass then.
    first, worst = [], []
    for i in range(pairs):
        a, _ = record(d, f"a{i}", exe, "off")
        b, _ = record(d, f"b{i}", exe, "off")
        failed = gate_failures(a, b)
        if failed:
            first.append(f"pair {i}: {'; '.join(failed)}")
            os.unlink(b)
            b, _ = record(d, f"b{i}", exe, "off")
            worst += [f"pair {i} again: {f}" for f in gate_failures(a, b)]
        os.unlink(a)
        os.unlink(b)
    if first:
        print(f"NOTE: {len(first)} of {pairs} unchanged pairs failed the gate on the first "
              f"recording (machine noise, recorded again): {first}")
    check(not worst, f"{pairs} pairs of unchanged runs never fail --gate in any view twice "
          f"({len(first)} first-try failures, {len(worst)} repeated"
          f"{': ' + '; '.join(worst) if worst else ''})")


def test_rebuilt(d, base):
    # Same name (the thread name is part of a stack's key), other layout.
    os.makedirs(os.path.join(d, "pad"), exist_ok=True)
    exe2 = build(os.path.join(d, "pad"), "logger", "-DPAD", "-falign-functions=64")
    out = run(["nm", exe2]).stdout + run(["nm", os.path.join(d, "logger")]).stdout
    addrs = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "log_message":
            addrs.setdefault("log_message", set()).add(parts[0])
    check(len(addrs.get("log_message", ())) == 2, "the rebuild moved log_message")
    cur, _ = record(d, "pad", exe2, "off")
    rc, out, _ = diff(base, cur, "--by", "stack", "--gate")
    worker_keys = [e for e in out["entries"] if ";worker;" in e["key"] and "sleep_us" in e["key"]]
    matched = [e for e in worker_keys if e["status"] == "matched"]
    check(matched and matched[0]["base"]["count"] >= 1000,
          f"a rebuilt binary's worker sleep stack matches by name "
          f"({len(matched)} of {len(worker_keys)} matched)")
    flagged = [(e["key"][-60:], e["flags"]) for e in out["entries"] if e["flags"]] if out else []
    if rc != 0:
        # As in test_unchanged_pairs: a host hiccup does not repeat.
        print(f"NOTE: the rebuilt logger failed the gate once (machine noise?): {flagged[:3]}")
        cur, _ = record(d, "pad", exe2, "off")
        rc, out, _ = diff(base, cur, "--by", "stack", "--gate")
        flagged = [(e["key"][-60:], e["flags"]) for e in out["entries"] if e["flags"]] if out else []
    check(rc == 0, f"the rebuilt, unchanged logger passes the gate (exit {rc}: {flagged[:3]})")
    rc, out, _ = diff(base, cur, "--by", "function", "--gate")
    keys = {e["key"]: e["status"] for e in out["entries"]}
    check(keys.get("log_message") == "matched" or keys.get("sleep_us") == "matched"
          or keys.get("slow_write") == "matched",
          f"functions match across the rebuild: {keys}")


def test_errors(d, base):
    p = run([WAITPROF, "diff", base], check=False)
    check(p.returncode == 2, f"one input: exit 2 ({p.returncode})")
    p = run([WAITPROF, "diff", base, os.path.join(d, "missing.data")], check=False)
    check(p.returncode == 2 and "missing.data" in p.stderr, "missing input: exit 2, named")
    p = run([WAITPROF, "diff", base, base, "--by", "colour"], check=False)
    check(p.returncode == 2, "bad --by: exit 2")
    csv = os.path.join(d, "x.csv")
    with open(csv, "w") as f:
        f.write("latency_ns\n1\n")
    p = run([WAITPROF, "diff", base, csv], check=False)
    check(p.returncode == 2, "a recording against a CSV: exit 2")
    p = run([WAITPROF, "diff", base, base, "--fail-p99", "x"], check=False)
    check(p.returncode == 2, "bad --fail-p99: exit 2")
    rc, out, _ = diff(base, base, "--gate")
    check(rc == 0 and out["summary"]["only_base"] == 0 and out["summary"]["only_current"] == 0,
          "a recording against itself: exit 0, everything matched")


def test_flamegraph(d, base):
    cur = os.path.join(d, "under.data")
    svg = os.path.join(d, "diff.svg")
    p = run([WAITPROF, "flamegraph", "--diff", base, cur, "-o", svg], check=False)
    ok = p.returncode == 0 and os.path.getsize(svg) > 1000
    check(ok, f"flamegraph --diff reads two recordings (exit {p.returncode}) {p.stderr[:200]}")
    if ok:
        text = open(svg).read()
        check("log_message" in text, "the differential flame graph names log_message")


def main():
    require_bpf()
    d = tmpdir()
    exe = build(d, "logger")
    base = test_regression(d, exe)
    test_errors(d, base)
    test_flamegraph(d, base)
    test_rebuilt(d, base)
    test_unchanged_pairs(d, exe, int(os.environ.get("DIFF_PAIRS", "10")))
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
