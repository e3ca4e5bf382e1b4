// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The loop record and funclat trace in (session.h). */
#include <signal.h>
#include <string.h>

#include "launcher.h"
#include "session.h"
#include "util.h"

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

void session_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int session_stop_signal(void)
{
	return stop_signal;
}

static bool should_stop(struct session *s)
{
	int status;

	if (stop_signal)
		return true;
	if (s->duration_s > 0 && now_ns() - s->start_ns >= (uint64_t)(s->duration_s * 1e9))
		return true;
	return s->child && launcher_exited(s->child, &status);
}

int session_run(struct session *s)
{
	int err;

	session_catch_signals();
	s->start_ns = now_ns();
	if (s->child) {
		/* Until now the command waited: tracing covers its first
		 * instruction. */
		err = launcher_go(s->child);
		if (err)
			return err;
	}
	info_msg("%s%s", s->what, s->child ? "" : "... Ctrl-C to stop");
	while (!should_stop(s)) {
		err = s->poll(s->ctx);
		if (err < 0 && !stop_signal) {
			err_msg("cannot poll the BPF ring buffer: %s: stopped early",
				strerror(-err));
			break;
		}
		if (!s->tick(s->ctx))
			break;
	}
	if (stop_signal)
		info_msg("stopping on signal %d", (int)stop_signal);
	return 0;
}
