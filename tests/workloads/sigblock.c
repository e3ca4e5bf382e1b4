// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A workload that blocks inside signal handlers, as PostgreSQL's postmaster
 * does when it forks its children from SIGCHLD/SIGUSR1 handlers: the chain
 * of every stack below crosses the kernel's signal frame (glibc's
 * __restore_rt), so only an unwinder that follows it reaches main.
 *
 *   main -> park_main -> park_once -> poll()     (interrupted by signals)
 *   SIGUSR1: on_usr1 -> handler_sleep -> nanosleep(SLEEP_MS)
 *   SIGUSR2: on_usr2 -> fork_from_handler -> fork(); the child runs
 *            child_main -> child_sleep -> nanosleep(SLEEP_MS), ROUNDS times
 *
 * A helper thread ("kicker") sends the signals to the main thread. At exit
 * it prints one JSON line per role: {"thread":"main","pid":N,...} and
 * {"thread":"child","pid":N,...} (the child's pid).
 *
 * usage: sigblock [-n ROUNDS] [-s SLEEP_MS] [-S DELAY_MS]
 *   -S waits DELAY_MS (default 20) before the first signal
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int rounds = 50, sleep_ms = 10, delay_ms = 20;
static volatile sig_atomic_t handled, done;
static volatile pid_t child_pid;
static pid_t main_tid;

__attribute__((noinline)) static void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

__attribute__((noinline)) static void handler_sleep(void)
{
	ms_sleep(sleep_ms);
	handled++;
}

__attribute__((noinline)) static void on_usr1(int sig)
{
	(void)sig;
	handler_sleep();
	__asm__ volatile("" ::: "memory");	/* no tail call: keep the frame */
}

__attribute__((noinline)) static void child_sleep(void)
{
	ms_sleep(sleep_ms);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void child_main(void)
{
	int i;

	for (i = 0; i < rounds; i++)
		child_sleep();
	_exit(0);
}

__attribute__((noinline)) static void fork_from_handler(void)
{
	pid_t pid = fork();

	if (pid == 0)
		child_main();
	if (pid > 0)
		child_pid = pid;
}

__attribute__((noinline)) static void on_usr2(int sig)
{
	(void)sig;
	fork_from_handler();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void park_once(void)
{
	poll(NULL, 0, 1000);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void park_main(void)
{
	while (!done)
		park_once();
}

/* Signals the main thread while it is parked in poll. */
static void *kicker(void *arg)
{
	int i;

	(void)arg;
	pthread_setname_np(pthread_self(), "kicker");
	ms_sleep(delay_ms);
	syscall(SYS_tgkill, getpid(), main_tid, SIGUSR2);
	for (i = 0; i < rounds; i++) {
		ms_sleep(2);
		syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
		while (handled <= i)
			ms_sleep(1);
	}
	done = 1;
	syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
	return NULL;
}

static int parse_int(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0 || v > 100000) {
		fprintf(stderr, "sigblock: bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	pthread_t t;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "n:s:S:")) != -1) {
		switch (opt) {
		case 'n': rounds = parse_int(optarg); break;
		case 's': sleep_ms = parse_int(optarg); break;
		case 'S': delay_ms = parse_int(optarg); break;
		default:
			fprintf(stderr, "usage: sigblock [-n ROUNDS] [-s SLEEP_MS] [-S DELAY_MS]\n");
			return 2;
		}
	}
	main_tid = (pid_t)syscall(SYS_gettid);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	if (pthread_create(&t, NULL, kicker, NULL)) {
		fprintf(stderr, "sigblock: cannot create thread\n");
		return 1;
	}
	park_main();
	pthread_join(t, NULL);
	if (child_pid > 0)
		waitpid(child_pid, &status, 0);
	printf("{\"thread\":\"main\",\"pid\":%d,\"handled\":%d}\n", getpid(), (int)handled);
	printf("{\"thread\":\"child\",\"pid\":%d,\"status\":%d}\n", (int)child_pid, status);
	return 0;
}
