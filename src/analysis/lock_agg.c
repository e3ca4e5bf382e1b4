// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock aggregation: records are grouped per lock (process + address, or the
 * kernel lock address), classified, then the futex words of one named
 * rwlock are merged into the rwlock (glibc waits on three words of it).
 *
 * Classification, strongest evidence first: the futex operation (PI ops
 * belong to PI mutexes, WAIT_REQUEUE_PI to condition variables); the
 * uprobe-timed functions; the holders' innermost frames (a wake from
 * pthread_cond_signal, pthread_rwlock_unlock or __lll_lock_wake says what
 * the futex is, and unlike the waiter's frames it is not shared by several
 * kinds: cond, rwlock and semaphore waits all sleep in one glibc function);
 * then the waiter's innermost frames; else "futex".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lock_agg.h"
#include "modality.h"
#include "stack_names.h"
#include "util.h"

#define CLASSIFY_FRAMES 12	/* innermost libc frames looked at */
#define RWLOCK_SIZE	56	/* sizeof(pthread_rwlock_t) on 64-bit glibc */
#define COND_SIZE	48	/* sizeof(pthread_cond_t) */

const char *lock_kind_name(enum lock_kind kind)
{
	static const char *const names[] = {
		[LOCK_KIND_MUTEX] = "mutex", [LOCK_KIND_RWLOCK] = "rwlock",
		[LOCK_KIND_CONDVAR] = "condvar", [LOCK_KIND_FUTEX] = "futex",
		[LOCK_KIND_KERNEL] = "kernel", [LOCK_KIND_JOIN] = "join",
		[LOCK_KIND_GO_RUNTIME] = "go-runtime",
	};

	return kind <= LOCK_KIND_GO_RUNTIME ? names[kind] : "futex";
}

const char *lock_kernel_type(__u32 flags)
{
	if (flags & LCB_F_PERCPU)
		return flags & LCB_F_WRITE ? "percpu-rwsem (write)" : "percpu-rwsem (read)";
	if (flags & LCB_F_RT)
		return "rt-mutex";
	if (flags & LCB_F_MUTEX)
		return "mutex";
	/* An entry merges the waits of every caller: a lock both read and
	 * written is named by its type only. */
	if (flags & LCB_F_SPIN)
		return (flags & LCB_F_READ) && (flags & LCB_F_WRITE) ? "rwlock" :
		       flags & LCB_F_READ ? "rwlock (read)" :
		       flags & LCB_F_WRITE ? "rwlock (write)" : "spinlock";
	if ((flags & LCB_F_READ) && (flags & LCB_F_WRITE))
		return "rwsem";
	if (flags & LCB_F_READ)
		return "rwsem (read)";
	if (flags & LCB_F_WRITE)
		return "rwsem (write)";
	return "lock";
}

void lock_display_name(const struct lock_entry *e, char *buf, size_t len)
{
	if (e->symbol && e->symbol_offset)
		snprintf(buf, len, "%s+0x%llx", e->symbol, (unsigned long long)e->symbol_offset);
	else if (e->symbol)
		snprintf(buf, len, "%s", e->symbol);
	else
		snprintf(buf, len, "0x%llx (%s)", (unsigned long long)e->addr, e->object);
}

/*
 * Any lock that contends at all has two populations of acquisitions: the
 * uncontended fast path (with --uprobes, the probe's own trap) and the
 * waits. That split says only that the lock contends, which the count of
 * waits already says; whether the waits split in turn (most behind
 * ordinary holds, a minority behind a slow holder) is the question.
 */
void lock_entry_latency(const struct lock_entry *e, struct lock_latency *lat)
{
	bool waits = !e->acquisitions || e->contentions >= MODALITY_MIN_SAMPLES;

	lat->waits = waits;
	lat->what = waits ? "waits" : "acquisitions";
	lat->count = waits ? e->contentions : e->acquisitions;
	lat->total_ns = waits ? e->total_wait_ns : e->acq_total_ns;
	lat->max_ns = waits ? e->max_ns : e->acq_max_ns;
	lat->counts = waits ? e->hist_count : e->acq_count;
	lat->sums = waits ? e->hist_sum_ns : e->acq_sum_ns;
}

static int add_callsite(struct lock_callsite **arr, size_t *nr, __u64 stack_id, __u64 count,
			__u64 total_ns)
{
	struct lock_callsite *c;
	size_t i;

	for (i = 0; i < *nr; i++) {
		if ((*arr)[i].stack_id == stack_id) {
			(*arr)[i].count += count;
			(*arr)[i].total_ns += total_ns;
			return 0;
		}
	}
	c = ARRAY_PUSH(*arr, *nr);
	if (!c)
		return -ENOMEM;
	c->stack_id = stack_id;
	c->count = count;
	c->total_ns = total_ns;
	return 0;
}

static int add_holder(struct lock_entry *e, __u64 stack_id, __u64 wakes, __u64 woken,
		      __u64 wait_ns)
{
	struct lock_holder *h;
	size_t i;

	for (i = 0; i < e->nr_holders; i++) {
		if (e->holders[i].stack_id == stack_id) {
			e->holders[i].wakes += wakes;
			e->holders[i].woken += woken;
			e->holders[i].woken_wait_ns += wait_ns;
			return 0;
		}
	}
	h = ARRAY_PUSH(e->holders, e->nr_holders);
	if (!h)
		return -ENOMEM;
	h->stack_id = stack_id;
	h->wakes = wakes;
	h->woken = woken;
	h->woken_wait_ns = wait_ns;
	return 0;
}

/* Per-source evidence of the kind, gathered while adding records. */
struct kind_votes {
	bool pi, requeue_pi, uprobe_mutex, uprobe_rwlock;
	__u64 thread_exit, woken_waits;	/* futex waits ended by a thread's exit / all */
};

static int add_record(struct lock_entry *e, const struct rec_lock *l, struct kind_votes *v)
{
	const struct lock_key *k = &l->key;
	__u64 n = l->val.count, ns = l->val.total_ns;

	if (k->source == LOCK_SRC_HOLD) {
		e->holds += n;
		e->hold_total_ns += ns + l->val.runnable_ns;
		e->hold_runqueue_ns += l->val.runnable_ns;
		if (l->val.max_ns > e->hold_max_ns)
			e->hold_max_ns = l->val.max_ns;
		e->hold_count[k->bucket] += n;
		e->hold_sum_ns[k->bucket] += ns;
		if (k->op & LOCK_HOLD_SLEPT) {
			e->holds_slept += n;
			e->hold_slept_count[k->bucket] += n;
		}
		return 0;
	}
	if (k->source == LOCK_SRC_HOLD_SLEEP) {
		e->owner_holds += n;
		e->owner_runnable_ns += l->val.runnable_ns;
		if (!k->stack_id && !ns)
			return 0;
		e->owner_holds_slept += n;
		e->owner_sleeps += n * k->op;
		e->owner_slept_ns += ns;
		e->owner_slept_count[k->bucket] += n;
		e->owner_slept_sum_ns[k->bucket] += ns;
		return add_callsite(&e->sleep_sites, &e->nr_sleep_sites, k->stack_id, n, ns);
	}
	if (k->source == LOCK_SRC_UPROBE) {
		__u8 fn = k->op & ~LOCK_UPROBE_FAILED;

		e->acquisitions += n;
		if (k->op & LOCK_UPROBE_FAILED)
			e->failed_acquisitions += n;
		e->acq_total_ns += ns;
		if (l->val.max_ns > e->acq_max_ns)
			e->acq_max_ns = l->val.max_ns;
		e->acq_count[k->bucket] += n;
		e->acq_sum_ns[k->bucket] += ns;
		if (fn == LOCK_FN_RWLOCK_RDLOCK || fn == LOCK_FN_RWLOCK_WRLOCK)
			v->uprobe_rwlock = true;
		else
			v->uprobe_mutex = true;
		return add_callsite(&e->acq_callsites, &e->nr_acq_callsites, k->stack_id, n, ns);
	}
	if (k->source == LOCK_SRC_FUTEX && (k->op & FUTEX_NO_SLEEP)) {
		/* Contended, but released before the thread slept: a retry,
		 * not a wait. */
		e->futex_retries += n;
		e->futex_retry_ns += ns;
		return 0;
	}
	if (k->source == LOCK_SRC_FUTEX) {
		v->woken_waits += n;
		if (k->op & FUTEX_THREAD_EXIT)
			v->thread_exit += n;
	}
	if (k->source == LOCK_SRC_KERNEL)
		e->kernel_flags |= k->op;
	else if (k->op == FUTEX_CLASS_PI)
		v->pi = true;
	else if (k->op == FUTEX_CLASS_REQUEUE_PI)
		v->requeue_pi = true;
	e->contentions += n;
	/* The histogram holds the blocked part; the total, every part. */
	e->total_wait_ns += ns + l->val.runnable_ns;
	e->runqueue_ns += l->val.runnable_ns;
	if (l->val.max_ns > e->max_ns)
		e->max_ns = l->val.max_ns;
	e->hist_count[k->bucket] += n;
	e->hist_sum_ns[k->bucket] += ns;
	return add_callsite(&e->callsites, &e->nr_callsites, k->stack_id, n,
			    ns + l->val.runnable_ns);
}

static bool contains(const char *name, const char *part)
{
	return name && strstr(name, part);
}

/* The kind a stack's innermost frames say, or -1. Only the thread library's
 * own frames count: the application's names ("mutex_worker") say nothing. */
static int kind_of_stack(const struct recording *rec, __u64 stack_id, __u32 pid,
			 struct named_stack *ns)
{
	unsigned int i;

	stack_names(rec, stack_id, pid, ns);
	for (i = 0; i < ns->nr && i < CLASSIFY_FRAMES && frame_in_libc(&ns->frames[i]); i++) {
		const char *n = ns->frames[i].name;

		if (contains(n, "cond_") || contains(n, "condvar"))
			return LOCK_KIND_CONDVAR;
		if (contains(n, "rwlock"))
			return LOCK_KIND_RWLOCK;
		if (contains(n, "lll_lock") || contains(n, "mutex"))
			return LOCK_KIND_MUTEX;
		/* pthread_join, __pthread_clockjoin_ex, pthread_timedjoin_np:
		 * a FUTEX_WAIT on the joined thread's tid word, which the
		 * kernel clears and wakes at its exit. */
		if (contains(n, "join"))
			return LOCK_KIND_JOIN;
		if (contains(n, "sem_") || contains(n, "barrier") || contains(n, "once"))
			return LOCK_KIND_FUTEX;
	}
	return -1;
}

static enum lock_kind classify(const struct recording *rec, const struct lock_entry *e,
			       const struct kind_votes *v, struct named_stack *ns)
{
	size_t i;
	int k;

	if (e->kernel)
		return LOCK_KIND_KERNEL;
	/* Go has no libc: its frames are the binary's own. */
	if (e->nr_callsites) {
		stack_names(rec, e->callsites[0].stack_id, e->pid, ns);
		if (stack_is_go_runtime_idle(ns))
			return LOCK_KIND_GO_RUNTIME;
	}
	if (v->requeue_pi)
		return LOCK_KIND_CONDVAR;
	/* Every wait ended by a thread's exit: a join, whatever its stack. */
	if (v->woken_waits && v->thread_exit == v->woken_waits)
		return LOCK_KIND_JOIN;
	if (v->pi || (v->uprobe_mutex && !v->uprobe_rwlock))
		return LOCK_KIND_MUTEX;
	if (v->uprobe_rwlock)
		return LOCK_KIND_RWLOCK;
	/* Holders are sorted by wakes: the most frequent waker decides. */
	for (i = 0; i < e->nr_holders; i++) {
		k = kind_of_stack(rec, e->holders[i].stack_id, e->pid, ns);
		if (k >= 0)
			return k;
	}
	for (i = 0; i < e->nr_callsites; i++) {
		k = kind_of_stack(rec, e->callsites[i].stack_id, e->pid, ns);
		if (k >= 0)
			return k;
	}
	return LOCK_KIND_FUTEX;
}

static void describe_object(const struct recording *rec, struct lock_entry *e)
{
	const struct rec_process *p;
	const struct proc_map *m;
	const char *slash;

	if (e->kernel) {
		snprintf(e->object, sizeof(e->object), "[kernel]");
		return;
	}
	p = rec_find_process(rec, e->pid);
	m = p && p->maps ? proc_maps_find(p->maps, e->addr) : NULL;
	if (!m) {
		snprintf(e->object, sizeof(e->object), "[unknown]");
		return;
	}
	if (!m->path || !m->path[0]) {
		snprintf(e->object, sizeof(e->object), "[anon]");
		return;
	}
	slash = strrchr(m->path, '/');
	snprintf(e->object, sizeof(e->object), "%s", slash ? slash + 1 : m->path);
}

struct rec_ref {
	bool kernel;
	__u32 pid;
	__u64 addr;
	size_t idx;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct rec_ref *x = a, *y = b;

	if (x->kernel != y->kernel)
		return x->kernel ? 1 : -1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_entry_id(const void *a, const void *b)
{
	const struct lock_entry *x = a, *y = b;
	struct rec_ref rx = { x->kernel, x->pid, x->addr }, ry = { y->kernel, y->pid, y->addr };

	return cmp_ref(&rx, &ry);
}

static int cmp_callsite(const void *a, const void *b)
{
	const struct lock_callsite *x = a, *y = b;

	return x->total_ns != y->total_ns ? (x->total_ns < y->total_ns ? 1 : -1) :
	       x->count != y->count ? (x->count < y->count ? 1 : -1) : 0;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct lock_holder *x = a, *y = b;

	if (x->woken_wait_ns != y->woken_wait_ns)
		return x->woken_wait_ns < y->woken_wait_ns ? 1 : -1;
	return x->wakes != y->wakes ? (x->wakes < y->wakes ? 1 : -1) : 0;
}

static int cmp_entry_value(const void *a, const void *b)
{
	const struct lock_entry *x = a, *y = b;

	if (x->total_wait_ns != y->total_wait_ns)
		return x->total_wait_ns < y->total_wait_ns ? 1 : -1;
	if (x->acq_total_ns != y->acq_total_ns)
		return x->acq_total_ns < y->acq_total_ns ? 1 : -1;
	return cmp_entry_id(a, b);
}

static void sort_lists(struct lock_entry *e)
{
	if (e->nr_callsites)
		qsort(e->callsites, e->nr_callsites, sizeof(*e->callsites), cmp_callsite);
	if (e->nr_sleep_sites)
		qsort(e->sleep_sites, e->nr_sleep_sites, sizeof(*e->sleep_sites), cmp_callsite);
	if (e->nr_acq_callsites)
		qsort(e->acq_callsites, e->nr_acq_callsites, sizeof(*e->acq_callsites),
		      cmp_callsite);
	if (e->nr_holders)
		qsort(e->holders, e->nr_holders, sizeof(*e->holders), cmp_holder);
}

/* Groups the lock records into entries, one per (kernel, pid, addr). */
static int group_records(const struct recording *rec, struct lock_agg *agg,
			 struct kind_votes **votes)
{
	struct rec_ref *refs = calloc(rec->nr_locks ? rec->nr_locks : 1, sizeof(*refs));
	struct lock_entry *e = NULL;
	struct kind_votes *v = NULL;
	size_t i, nr_votes = 0;
	int err = 0;

	if (!refs)
		return -ENOMEM;
	for (i = 0; i < rec->nr_locks; i++) {
		const struct lock_key *k = &rec->locks[i].key;

		refs[i].kernel = k->source == LOCK_SRC_KERNEL;
		refs[i].pid = refs[i].kernel ? 0 : k->tgid;
		refs[i].addr = k->addr;
		refs[i].idx = i;
	}
	qsort(refs, rec->nr_locks, sizeof(*refs), cmp_ref);
	for (i = 0; i < rec->nr_locks && !err; i++) {
		const struct rec_lock *l = &rec->locks[refs[i].idx];

		if (!i || cmp_ref(&refs[i], &refs[i - 1])) {
			e = ARRAY_PUSH(agg->entries, agg->nr);
			v = ARRAY_PUSH(*votes, nr_votes);
			if (!e || !v) {
				err = -ENOMEM;
				break;
			}
			e->kernel = refs[i].kernel;
			e->pid = refs[i].kernel ? l->key.tgid : refs[i].pid;
			e->addr = refs[i].addr;
		} else if (e->kernel && e->pid != l->key.tgid) {
			e->pid = 0;	/* a kernel lock several processes contend */
		}
		err = add_record(e, l, v);
	}
	free(refs);
	return err;
}

static struct lock_entry *find_entry(struct lock_agg *agg, __u32 pid, __u64 addr)
{
	struct lock_entry key = { .pid = pid, .addr = addr };

	if (!agg->nr)
		return NULL;
	return bsearch(&key, agg->entries, agg->nr, sizeof(key), cmp_entry_id);
}

/* Holders live only on futex locks (user entries, sorted first). */
static int attach_holders(const struct recording *rec, struct lock_agg *agg)
{
	size_t i;
	int err = 0;

	for (i = 0; i < rec->nr_lock_holders && !err; i++) {
		const struct rec_lock_holder *h = &rec->lock_holders[i];
		struct lock_entry *e = find_entry(agg, h->key.tgid, h->key.addr);

		if (e)
			err = add_holder(e, h->key.waker_stack_id, h->val.wakes, h->val.woken,
					 h->val.woken_wait_ns);
	}
	return err;
}

static void merge_hist(__u64 *dst, const __u64 *src)
{
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		dst[i] += src[i];
}

static int merge_entry(struct lock_entry *dst, struct lock_entry *src)
{
	size_t i;
	int err = 0;

	dst->contentions += src->contentions;
	dst->total_wait_ns += src->total_wait_ns;
	dst->runqueue_ns += src->runqueue_ns;
	dst->max_ns = src->max_ns > dst->max_ns ? src->max_ns : dst->max_ns;
	dst->futex_retries += src->futex_retries;
	dst->futex_retry_ns += src->futex_retry_ns;
	dst->acquisitions += src->acquisitions;
	dst->failed_acquisitions += src->failed_acquisitions;
	dst->acq_total_ns += src->acq_total_ns;
	dst->acq_max_ns = src->acq_max_ns > dst->acq_max_ns ? src->acq_max_ns : dst->acq_max_ns;
	merge_hist(dst->hist_count, src->hist_count);
	merge_hist(dst->hist_sum_ns, src->hist_sum_ns);
	merge_hist(dst->acq_count, src->acq_count);
	merge_hist(dst->acq_sum_ns, src->acq_sum_ns);
	dst->holds += src->holds;
	dst->hold_total_ns += src->hold_total_ns;
	dst->hold_runqueue_ns += src->hold_runqueue_ns;
	dst->hold_max_ns = src->hold_max_ns > dst->hold_max_ns ? src->hold_max_ns : dst->hold_max_ns;
	merge_hist(dst->hold_count, src->hold_count);
	merge_hist(dst->hold_sum_ns, src->hold_sum_ns);
	dst->holds_slept += src->holds_slept;
	merge_hist(dst->hold_slept_count, src->hold_slept_count);
	dst->owner_holds += src->owner_holds;
	dst->owner_holds_slept += src->owner_holds_slept;
	dst->owner_sleeps += src->owner_sleeps;
	dst->owner_slept_ns += src->owner_slept_ns;
	dst->owner_runnable_ns += src->owner_runnable_ns;
	merge_hist(dst->owner_slept_count, src->owner_slept_count);
	merge_hist(dst->owner_slept_sum_ns, src->owner_slept_sum_ns);
	for (i = 0; i < src->nr_sleep_sites && !err; i++)
		err = add_callsite(&dst->sleep_sites, &dst->nr_sleep_sites,
				   src->sleep_sites[i].stack_id, src->sleep_sites[i].count,
				   src->sleep_sites[i].total_ns);
	for (i = 0; i < src->nr_callsites && !err; i++)
		err = add_callsite(&dst->callsites, &dst->nr_callsites, src->callsites[i].stack_id,
				   src->callsites[i].count, src->callsites[i].total_ns);
	for (i = 0; i < src->nr_acq_callsites && !err; i++)
		err = add_callsite(&dst->acq_callsites, &dst->nr_acq_callsites,
				   src->acq_callsites[i].stack_id, src->acq_callsites[i].count,
				   src->acq_callsites[i].total_ns);
	for (i = 0; i < src->nr_holders && !err; i++)
		err = add_holder(dst, src->holders[i].stack_id, src->holders[i].wakes,
				 src->holders[i].woken, src->holders[i].woken_wait_ns);
	return err;
}

static void entry_free(struct lock_entry *e)
{
	free(e->callsites);
	free(e->acq_callsites);
	free(e->sleep_sites);
	free(e->holders);
}

static bool is_word_of_named(const struct lock_entry *e)
{
	if (!e->symbol)
		return false;
	return (e->kind == LOCK_KIND_RWLOCK && e->symbol_offset < RWLOCK_SIZE) ||
	       (e->kind == LOCK_KIND_CONDVAR && e->symbol_offset < COND_SIZE);
}

/* glibc waits on several words of a pthread_rwlock_t (and on either of a
 * condition variable's two group signals): fold a named rwlock's or
 * condition variable's words into the object itself. */
static int merge_rwlock_words(struct lock_agg *agg)
{
	size_t i, out = 0;
	int err = 0;

	for (i = 0; i < agg->nr; i++) {
		struct lock_entry *e = &agg->entries[i];

		if (is_word_of_named(e)) {
			e->addr -= e->symbol_offset;
			e->symbol_offset = 0;
		}
	}
	qsort(agg->entries, agg->nr, sizeof(*agg->entries), cmp_entry_id);
	for (i = 0; i < agg->nr && !err; i++) {
		if (out && !cmp_entry_id(&agg->entries[out - 1], &agg->entries[i]) &&
		    agg->entries[i].kind == agg->entries[out - 1].kind) {
			err = merge_entry(&agg->entries[out - 1], &agg->entries[i]);
			entry_free(&agg->entries[i]);
			continue;
		}
		agg->entries[out++] = agg->entries[i];
	}
	agg->nr = out;
	return err;
}

int lock_aggregate(const struct recording *rec, struct lock_agg *agg)
{
	struct named_stack *ns = malloc(sizeof(*ns));
	struct kind_votes *votes = NULL;
	const char *duty;
	size_t i;
	int err;

	memset(agg, 0, sizeof(*agg));
	if (!ns)
		return -ENOMEM;
	err = group_records(rec, agg, &votes);
	if (!err)
		err = attach_holders(rec, agg);
	for (i = 0; i < agg->nr && !err; i++) {
		struct lock_entry *e = &agg->entries[i];
		const struct rec_lock_name *n;
		const struct rec_process *p = e->pid ? rec_find_process(rec, e->pid) : NULL;

		sort_lists(e);
		n = rec_find_lock_name(rec, e->kernel ? 0 : e->pid, e->addr);
		if (n) {
			e->symbol = n->name;
			e->symbol_offset = n->offset;
		}
		describe_object(rec, e);
		snprintf(e->comm, sizeof(e->comm), "%s", p ? p->comm : e->kernel ? "" : "?");
		e->kind = classify(rec, e, &votes[i], ns);
	}
	if (!err)
		err = merge_rwlock_words(agg);
	for (i = 0; i < agg->nr && !err; i++)
		sort_lists(&agg->entries[i]);
	if (!err && agg->nr)
		qsort(agg->entries, agg->nr, sizeof(*agg->entries), cmp_entry_value);
	duty = rec_get_meta(rec, "uprobe_duty");
	agg->sampled = rec_get_meta(rec, "uprobe_sample_ms") != NULL;
	agg->uprobe_duty = duty ? strtod(duty, NULL) : 1.0;
	free(votes);
	free(ns);
	if (err)
		lock_agg_free(agg);
	return err;
}

void lock_agg_free(struct lock_agg *agg)
{
	size_t i;

	for (i = 0; i < agg->nr; i++)
		entry_free(&agg->entries[i]);
	free(agg->entries);
	memset(agg, 0, sizeof(*agg));
}
