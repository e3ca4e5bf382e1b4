/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tracing session, for record and funclat alike: the command is let go,
 * the collectors polled and ticked until the duration ends, the command
 * exits or SIGINT, SIGTERM or SIGHUP arrives. Either way the caller then
 * drains and writes what was collected.
 */
#ifndef WAITPROF_SESSION_H
#define WAITPROF_SESSION_H

#include <stdbool.h>
#include <stdint.h>

struct launcher;

struct session {
	double duration_s;	/* 0: until a signal or the command's exit */
	struct launcher *child;	/* the command, started by session_run; or NULL */
	const char *what;	/* what is traced, said once it runs */
	/* Waits for data until the next due work; < 0 (a failure, not a
	 * signal) ends the session. */
	int (*poll)(void *ctx);
	/* The periodic work after each poll; false ends the session. */
	bool (*tick)(void *ctx);
	void *ctx;
	uint64_t start_ns;	/* set by session_run: when tracing began */
};

/* From now on those signals end the session instead of the process: call
 * it before loading, so that a signal during a slow start still leaves a
 * clean exit with nothing attached. */
void session_catch_signals(void);
/* The signal that ended the session, 0 if none. */
int session_stop_signal(void);
/*
 * Starts the command, says s->what, and polls and ticks until the session
 * ends. Returns 0, or the error of a command that could not be started.
 */
int session_run(struct session *s);

#endif
