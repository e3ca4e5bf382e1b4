// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * forker: a parent that forks short-lived children, some of which exec, for
 * the per-object state of the process tracker (tests/e2e/test_objects.py).
 *
 *   forker N MS       fork N children one after another; each blocks MS ms
 *                     in fork_child_wait() (a fork without exec) or, every
 *                     third child, execs this program again to block 5 x MS
 *                     ms in exec_child_wait(): the longer sleep
 *                     leaves the recorder time to read the new image's maps
 *                     on a loaded machine. The parent waits for each.
 *
 * Prints one JSON line per kind: {"thread": KIND, "children": n,
 * "blocked_ns": total the children measured around their own sleeps}.
 * Children name themselves (comm) "fk-fork" and "fk-exec".
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared_totals {
	uint64_t fork_ns, exec_ns;
	uint32_t forks, execs;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t sleep_ms(int ms)
{
	struct timespec req = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	uint64_t t0 = now_ns();

	nanosleep(&req, NULL);
	return now_ns() - t0;
}

/* noipa: identical bodies must not be folded into one function. */
__attribute__((noipa)) static uint64_t fork_child_wait(int ms)
{
	uint64_t ns = sleep_ms(ms);

	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return ns;
}

__attribute__((noipa)) static uint64_t exec_child_wait(int ms)
{
	uint64_t ns = sleep_ms(ms);

	__asm__ volatile("" ::: "memory");
	return ns;
}

/* The exec'd child: forker --exec-child MS FD; it writes the ns it slept
 * to FD, a pipe its parent reads. */
static int exec_child(int ms, int fd)
{
	uint64_t ns;

	prctl(PR_SET_NAME, "fk-exec", 0, 0, 0);
	ns = exec_child_wait(ms);
	return write(fd, &ns, sizeof(ns)) == sizeof(ns) ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct shared_totals *tot;
	int n, ms, i, status;
	char ms_arg[16], fd_arg[16];
	int report[2];
	uint64_t ns;
	pid_t pid;

	if (argc == 4 && !strcmp(argv[1], "--exec-child"))
		return exec_child(atoi(argv[2]), atoi(argv[3]));
	if (argc != 3) {
		fprintf(stderr, "usage: forker N MS\n");
		return 2;
	}
	n = atoi(argv[1]);
	ms = atoi(argv[2]);
	snprintf(ms_arg, sizeof(ms_arg), "%d", 5 * ms);
	if (pipe(report))
		return 1;
	snprintf(fd_arg, sizeof(fd_arg), "%d", report[1]);
	tot = mmap(NULL, sizeof(*tot), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tot == MAP_FAILED)
		return 1;
	memset(tot, 0, sizeof(*tot));
	for (i = 0; i < n; i++) {
		int do_exec = i % 3 == 2;

		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			if (do_exec) {
				execl("/proc/self/exe", argv[0], "--exec-child", ms_arg, fd_arg,
				      (char *)NULL);
				_exit(127);
			}
			prctl(PR_SET_NAME, "fk-fork", 0, 0, 0);
			__atomic_fetch_add(&tot->fork_ns, fork_child_wait(ms), __ATOMIC_RELAXED);
			__atomic_fetch_add(&tot->forks, 1, __ATOMIC_RELAXED);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			return 1;
		if (do_exec) {
			if (WEXITSTATUS(status) || read(report[0], &ns, sizeof(ns)) != sizeof(ns))
				return 1;
			tot->exec_ns += ns;
			tot->execs++;
		}
	}
	printf("{\"thread\": \"fk-fork\", \"children\": %u, \"blocked_ns\": %llu}\n", tot->forks,
	       (unsigned long long)tot->fork_ns);
	printf("{\"thread\": \"fk-exec\", \"children\": %u, \"blocked_ns\": %llu}\n", tot->execs,
	       (unsigned long long)tot->exec_ns);
	return 0;
}
