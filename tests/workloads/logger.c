// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A logger whose only change between two runs is where it flushes, for
 * `waitprof diff --gate` (tests/e2e/test_diff_gate.py). Four workers log
 * messages under log_mu; every FLUSH_EVERY messages the buffer is written
 * out (2 ms):
 *
 *   logger off [N]     swaps the buffer under log_mu, writes after unlocking
 *   logger under [N]   writes while holding log_mu: a lock regression
 *
 * N messages per worker (default 300). Built twice: logger, and logger_pad
 * (-DPAD, other function alignment, output name logger too: the thread name
 * is part of a stack's key), a "rebuilt" binary with other addresses.
 */
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
		/* 500 us: this VM's timer overshoot (75-150 us, moving from run
		 * to run) must stay well inside diff's 25% total gate (DIFF.md). */
		sleep_us(500);
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
