// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The drain thread of a recording (drainer.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "drainer.h"
#include "lock_collector.h"
#include "offcpu_collector.h"

/* How often the thread looks at the insert counts: a look is one syscall
 * and two loads. At 1/DRAIN_FILL_DIV of a buffer used, the rest (3/4 of
 * 65,536 keys) must absorb what arrives in this time. */
#define DRAINER_PERIOD_MS	50

struct drainer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	int err;		/* first error; read after join, or under lock */
	struct offcpu_collector *offcpu;
	struct lock_collector *locks;
	struct recording *rec;
};

static void deadline_in_ms(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static void *drainer_main(void *arg)
{
	struct drainer *d = arg;
	struct timespec until;
	int err = 0;

	pthread_mutex_lock(&d->lock);
	while (!d->stop && !err) {
		pthread_mutex_unlock(&d->lock);
		err = offcpu_collect(d->offcpu, d->rec);
		if (!err)
			err = lock_collect(d->locks, d->rec);
		pthread_mutex_lock(&d->lock);
		d->err = err;
		deadline_in_ms(&until, DRAINER_PERIOD_MS);
		while (!d->stop && !err &&
		       pthread_cond_timedwait(&d->wake, &d->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int drainer_start(struct drainer **out, struct offcpu_collector *offcpu,
		  struct lock_collector *locks, struct recording *rec)
{
	struct drainer *d = calloc(1, sizeof(*d));
	pthread_condattr_t attr;
	sigset_t all, old;
	int err;

	if (!d)
		return -ENOMEM;
	d->offcpu = offcpu;
	d->locks = locks;
	d->rec = rec;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &attr);
	pthread_condattr_destroy(&attr);
	/* Signals stop the recording through the session loop, not here. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&d->thread, NULL, drainer_main, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

bool drainer_failed(struct drainer *d)
{
	bool failed;

	pthread_mutex_lock(&d->lock);
	failed = d->err != 0;
	pthread_mutex_unlock(&d->lock);
	return failed;
}

int drainer_stop(struct drainer *d)
{
	int err;

	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	err = d->err;
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return err;
}
