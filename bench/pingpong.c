// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Context-switch ping-pong: two processes bounce one byte over two pipes, so
 * every round trip is two blocking reads and two context switches. Prints
 * the mean ns per round trip. The worst case for an off-CPU tracer: nearly
 * all the time is spent switching.
 *
 * usage: pingpong [ROUNDS]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 200000, i;
	int ping[2], pong[2];
	double t0, t1;
	char c = 'x';
	pid_t pid;

	if (rounds <= 0 || pipe(ping) || pipe(pong)) {
		fprintf(stderr, "usage: pingpong [ROUNDS]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* Only our ends stay open, so either side sees EOF when the
		 * other dies instead of waiting forever. */
		close(ping[1]);
		close(pong[0]);
		for (i = 0; i < rounds; i++)
			if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(ping[0]);
	close(pong[1]);
	t0 = now_ns();
	for (i = 0; i < rounds; i++)
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
	t1 = now_ns();
	waitpid(pid, NULL, 0);
	printf("%.1f\n", (t1 - t0) / rounds);
	return 0;
}
