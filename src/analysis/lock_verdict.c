// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One verdict per lock from all the evidence (docs/MODALITY.md, "Locks").
 *
 * A lock's slow mode is usually a holder that blocks while it holds the
 * lock (fdatasync under a logger's mutex). The waiters cannot see that,
 * but the off-CPU profile of the same process can: the holders' critical
 * section is the application function their unlock is called from, and
 * the off-CPU stacks through that function that are not lock waits
 * themselves are what the holders blocked on. With --uprobes the hold
 * times show the slow holds directly, even when four waiters queueing
 * smear the waits into one mode.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lock_verdict.h"
#include "recording.h"
#include "util.h"

#define CAUSE_FRAMES	4	/* frames named from the blocking call outward */
#define LEAN_P		0.05	/* a split at least this likely is worth a hint */
#define SETTLE_P	MODALITY_ALPHA	/* what a verdict needs */
#define PROBE_COSTS	4.0	/* hold modes closer than this many probe costs: the probes' */
#define SLEPT_SHARE	0.5	/* a slow holder sleeps in at least this share of its slow holds */
#define WAIT_MATERIAL	0.05	/* a lock's slow wait modes hold at least this share of its wait */
#define QUEUE_SEP	8.0	/* wait modes closer than this to the fastest may be the queue */
#define QUEUE_MIN_HOLDS	100	/* ... when the owners were seen in this many holds */
#define OWNER_MIN_HOLDS	10	/* contended holds in which the owner slept, at least */
#define OWNER_MIN_SHARE	0.01	/* ... and this share of the contended holds seen */
#define OWNER_MATERIAL	0.01	/* ... sleeping at least this share of the lock's blocked wait */

const char *lock_judgement_name(enum lock_judgement j)
{
	switch (j) {
	case LOCK_BIMODAL:
		return "bimodal";
	case LOCK_SLOW_HOLDER:
		return "slow-holder";
	case LOCK_LIKELY_BIMODAL:
		return "likely-bimodal";
	case LOCK_ONE_WAY:
		return "one-way";
	default:
		return "insufficient";
	}
}

bool lock_judgement_flags(enum lock_judgement j)
{
	return j == LOCK_BIMODAL || j == LOCK_SLOW_HOLDER || j == LOCK_LIKELY_BIMODAL;
}

double recording_duration_s(const struct recording *rec)
{
	const char *v = rec_get_meta(rec, "duration_ns");

	return v ? strtod(v, NULL) / 1e9 : 0;
}

static bool is_multimodal(const struct modality *m)
{
	return m->verdict == MODALITY_BIMODAL || m->verdict == MODALITY_MULTIMODAL;
}

/* Index of the innermost application frame of a named stack, or -1. */
static int innermost_app_frame(const struct named_stack *ns)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++)
		if (!frame_in_libc(&ns->frames[i]))
			return (int)i;
	return -1;
}

/*
 * The function whose critical section the unlock ends: the innermost
 * application frame of the top holder (waker) stack. An unlock compiled as
 * a tail call (`jmp pthread_mutex_unlock` at -O2) returns straight into the
 * caller of the function that held the lock, so that frame is the caller,
 * and what the caller does after the unlock would be blamed. The waiters'
 * stacks show it: there the holder's frame lies outward of the function
 * that takes the lock. The function that takes the lock is then the
 * critical section (it has nothing after its tail-call unlock).
 */
static bool critical_section(const struct recording *rec, const struct lock_entry *e,
			     struct named_stack *ns, char *fn, size_t len)
{
	int holder, taker;
	unsigned int i;

	if (e->kernel || !e->nr_holders)
		return false;
	stack_names(rec, e->holders[0].stack_id, e->pid, ns);
	holder = innermost_app_frame(ns);
	if (holder < 0)
		return false;
	snprintf(fn, len, "%s", ns->frames[holder].name);
	if (!e->nr_callsites)
		return true;
	stack_names(rec, e->callsites[0].stack_id, e->pid, ns);
	taker = innermost_app_frame(ns);
	if (taker < 0 || !strcmp(ns->frames[taker].name, fn))
		return true;
	for (i = (unsigned int)taker + 1; i < ns->nr; i++) {
		if (!strcmp(ns->frames[i].name, fn)) {
			snprintf(fn, len, "%s", ns->frames[taker].name);
			break;
		}
	}
	return true;
}

/* The thread library's lock operations, waits and wakes both: a holder
 * preempted in its own unlock's wake is not what it blocked on. */
static bool is_lock_frame(const char *n)
{
	return strstr(n, "lll_lock") || strstr(n, "pthread_mutex_") ||
	       strstr(n, "pthread_rwlock_") || strstr(n, "pthread_cond_");
}

bool stack_is_lock_wait(const struct named_stack *ns)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++)
		if (is_lock_frame(ns->frames[i].name))
			return true;
	return false;
}

/* Index of the frame named fn, or -1; -1 too when the stack is itself a
 * lock wait (a thread queued on the lock, not holding it). */
static int holder_frame(const struct named_stack *ns, const char *fn)
{
	unsigned int i;

	for (i = 0; i < ns->nr; i++) {
		const char *n = ns->frames[i].name;

		if (is_lock_frame(n))
			return -1;
		if (!strcmp(n, fn))
			return (int)i;
	}
	return -1;
}

static void describe_cause(char *buf, size_t len, const char *fn, const struct named_stack *ns,
			   int upto, __u64 total_ns, __u64 count)
{
	char dur[32];
	int i, off;

	off = snprintf(buf, len, "%s, where the holders unlock, blocks in ", fn);
	for (i = 0; i <= upto && i < CAUSE_FRAMES && off < (int)len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " <- " : "",
				ns->frames[i].name);
	if (upto >= CAUSE_FRAMES && off < (int)len)
		off += snprintf(buf + off, len - off, " <- ... <- %s", ns->frames[upto].name);
	format_duration_ns(dur, sizeof(dur), (double)total_ns);
	if (off < (int)len)
		snprintf(buf + off, len - off, " (%s blocked in %llu waits)", dur,
			 (unsigned long long)count);
}

/* The owners' longest sleeps under the lock, where a waiter saw them
 * (bpf/lock_owners.bpf.h): the thread library's frames and three of the
 * application's, innermost first. */
static void describe_sleep_cause(const struct recording *rec, const struct lock_entry *e,
				 struct named_stack *ns, char *buf, size_t len)
{
	const struct lock_callsite *site = &e->sleep_sites[0];
	unsigned int i, app = 0;
	char dur[32];
	int off;

	stack_names(rec, site->stack_id, e->pid, ns);
	off = snprintf(buf, len, "the holders sleep holding it in ");
	for (i = 0; i < ns->nr && app < 3 && off < (int)len; i++) {
		if (!frame_in_libc(&ns->frames[i]))
			app++;
		off += snprintf(buf + off, len - off, "%s%s", i ? " <- " : "",
				ns->frames[i].name);
	}
	format_duration_ns(dur, sizeof(dur), (double)site->total_ns);
	if (off < (int)len)
		snprintf(buf + off, len - off, " (%s in %llu holds)", dur,
			 (unsigned long long)site->count);
}

/* The holders' largest blocked stack inside their critical section, with
 * the time of every stack (other kernel paths) blocking in the same call.
 * Blocked time only: a preempted holder waited for a CPU, not for I/O. */
static void find_cause(const struct recording *rec, const struct lock_entry *e,
		       const struct offcpu_agg *agg, struct named_stack *ns, char *buf, size_t len)
{
	const struct offcpu_entry *best = NULL;
	__u64 total_ns = 0, count = 0;
	char fn[128], call[128];
	size_t i;

	if (!critical_section(rec, e, ns, fn, sizeof(fn)))
		return;
	for (i = 0; i < agg->nr; i++) {
		const struct offcpu_entry *o = &agg->entries[i];

		if (o->tgid != e->pid || !o->blocked_ns ||
		    (best && o->blocked_ns <= best->blocked_ns))
			continue;
		stack_names(rec, o->user_stack_id, o->tgid, ns);
		if (holder_frame(ns, fn) >= 0)
			best = o;
	}
	if (!best)
		return;
	stack_names(rec, best->user_stack_id, best->tgid, ns);
	snprintf(call, sizeof(call), "%s", ns->frames[0].name);
	for (i = 0; i < agg->nr; i++) {
		const struct offcpu_entry *o = &agg->entries[i];

		if (o->tgid != e->pid)
			continue;
		stack_names(rec, o->user_stack_id, o->tgid, ns);
		if (ns->nr && !strcmp(ns->frames[0].name, call) && holder_frame(ns, fn) >= 0) {
			total_ns += o->blocked_ns;
			count += o->count;
		}
	}
	stack_names(rec, best->user_stack_id, best->tgid, ns);
	describe_cause(buf, len, fn, ns, holder_frame(ns, fn), total_ns, count);
}


/*
 * What one probe adds to a timed interval: the acquisitions' fastest mode.
 * An uncontended pthread_mutex_lock costs nanoseconds; timed through its
 * entry and return traps it costs what the traps cost (~17 µs on this VM).
 */
static double probe_cost_ns(const struct lock_entry *e)
{
	struct modality m;

	if (!e->acquisitions)
		return 0;
	modality_analyze(e->acq_count, e->acq_sum_ns, &m);
	return m.nr_modes ? m.modes[0].center_ns : 0;
}

/* The holds' slowest mode lies within a few probe costs of the fastest:
 * the unlock probe's trap, run with the lock held, made it. */
static bool holds_probe_induced(const struct modality *holds, double probe_ns)
{
	const struct modality_mode *fast = &holds->modes[0];
	const struct modality_mode *slow = &holds->modes[modality_slowest_mode(holds)];

	return probe_ns > 0 && slow->center_ns - fast->center_ns <= PROBE_COSTS * probe_ns;
}

/*
 * The share of the holds in the slow mode (from its lower edge up) in which
 * the holder slept. A holder that blocks under the lock (I/O, a sleep) is
 * what makes waiters queue; holds lengthened on the CPU (an interrupt, a
 * probe trap that ran slow, a preemption the run-queue split missed) are
 * not a slow holder.
 */
static double slow_holds_slept(const struct lock_entry *e, const struct modality_mode *slow)
{
	__u64 n = 0, slept = 0;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++) {
		if ((double)hist_bucket_lower(i) < slow->lo_ns)
			continue;
		n += e->hold_count[i];
		slept += e->hold_slept_count[i];
	}
	return n ? (double)slept / (double)n : 0;
}

/* Wait in waits at least as long as from_ns. */
static double wait_from(const struct lock_latency *lat, double from_ns)
{
	double ns = 0;
	unsigned int i;

	for (i = 0; i < HIST_NR_BUCKETS; i++)
		if ((double)hist_bucket_lower(i) >= from_ns)
			ns += (double)lat->sums[i];
	return ns;
}

static void judge_slow_holder(const struct lock_latency *lat, struct lock_verdict *v)
{
	const struct modality_mode *fast = &v->holds.modes[0];
	const struct modality_mode *slow = &v->holds.modes[modality_slowest_mode(&v->holds)];
	char slow_d[32], fast_d[32];
	double behind = wait_from(lat, slow->lo_ns);

	v->judgement = LOCK_SLOW_HOLDER;
	v->slow_ns = behind;
	format_duration_ns(slow_d, sizeof(slow_d), slow->center_ns);
	format_duration_ns(fast_d, sizeof(fast_d), fast->center_ns);
	snprintf(v->text, sizeof(v->text),
		 "slow holder — %.0f%% of holds last ~%s (typical ~%s), the holder sleeping "
		 "in %.0f%% of them; %s of %s or longer are %.0f%% of the lock's wait",
		 100 * slow->count_share, slow_d, fast_d, 100 * v->slow_holds_slept,
		 lat->what, slow_d, lat->total_ns ? 100 * behind / (double)lat->total_ns : 0);
}

/* Blocked wait in the lock's histogram (the runnable part is apart). */
static double blocked_wait(const struct lock_latency *lat)
{
	return wait_from(lat, 0);
}

/*
 * Owners seen sleeping under the lock often enough, and long enough, to
 * matter: a holder that blocks (bpf/lock_owners.bpf.h). Against the
 * holds seen, not only the wait: sixteen waiters queued behind one holder
 * wait sixteen times what it holds, so a 100 us sleep every 16th hold is
 * 2% of their wait (and 6% of the holds), while a lock whose holders never
 * block shows 0-1 sleeping holds in a thousand.
 */
static bool owners_sleep(const struct lock_entry *e, const struct lock_latency *lat)
{
	return lat->waits && e->owner_holds_slept >= OWNER_MIN_HOLDS &&
	       (double)e->owner_holds_slept >= OWNER_MIN_SHARE * (double)e->owner_holds &&
	       (double)e->owner_slept_ns >= OWNER_MATERIAL * blocked_wait(lat);
}

static void judge_sleeping_owner(const struct lock_entry *e, const struct lock_latency *lat,
				 struct lock_verdict *v)
{
	double typical = hist_quantile(e->owner_slept_count, e->owner_slept_sum_ns, 0.5, 0);
	double blocked = blocked_wait(lat);
	char typ[32], all[32];

	v->judgement = LOCK_SLOW_HOLDER;
	v->slow_ns = (double)e->owner_slept_ns;
	format_duration_ns(typ, sizeof(typ), typical);
	format_duration_ns(all, sizeof(all), (double)e->owner_slept_ns);
	snprintf(v->text, sizeof(v->text),
		 "slow holder — the holders slept holding the lock in %.0f%% of the %llu "
		 "contended holds seen (~%s each, %s in all: %.0f%% of the blocked wait)",
		 100.0 * (double)e->owner_holds_slept / (double)e->owner_holds,
		 (unsigned long long)e->owner_holds, typ, all,
		 blocked > 0 ? 100 * (double)e->owner_slept_ns / blocked : 0);
}

/*
 * The waits lean two ways but are short of a verdict. The binomial test's
 * p-value falls about geometrically with the number of samples, so p^(n'/n)
 * reaches the verdict's 1e-3 at n' = n ln(1e-3) / ln(p).
 */
static void judge_likely(const struct lock_latency *lat, double duration_s,
			 struct lock_verdict *v)
{
	double p = v->waits.p_value, n = (double)v->waits.analysed_count;
	double need = n * log(SETTLE_P) / log(p), more = need / n - 1;

	v->judgement = LOCK_LIKELY_BIMODAL;
	snprintf(v->text, sizeof(v->text),
		 "likely bimodal — %llu %s lean two ways (p = %.2g), short of a verdict",
		 (unsigned long long)lat->count, lat->what, p);
	if (duration_s > 0)
		snprintf(v->hint, sizeof(v->hint), "record ~%.0f s more (about %.0f %s) to settle it",
			 ceil(duration_s * more), ceil(need), lat->what);
	else
		snprintf(v->hint, sizeof(v->hint), "record about %.0f%% longer (about %.0f %s) "
			 "to settle it", ceil(100 * more), ceil(need), lat->what);
}

/*
 * Waits that split, but whose slow modes hold under WAIT_MATERIAL of the
 * wait: a handful of waits behind a rare stall (a holder preempted for a
 * time slice on a loaded machine). Said, not a verdict.
 */
static void say_immaterial(const struct lock_latency *lat, struct lock_verdict *v)
{
	const struct modality *m = &v->waits;
	const struct modality_mode *slow = &m->modes[modality_slowest_mode(m)];
	char typ[32], slow_d[32];
	double share = 0;
	unsigned int k;

	for (k = 1; k < m->nr_modes; k++)
		share += m->modes[k].count_share;
	format_duration_ns(typ, sizeof(typ), m->modes[0].center_ns);
	format_duration_ns(slow_d, sizeof(slow_d), slow->center_ns);
	snprintf(v->text, sizeof(v->text),
		 "one way — typical wait ~%s over %llu %s; %.1f%% of them up to ~%s hold only "
		 "%.1f%% of the wait (under %.0f%%: not material)", typ,
		 (unsigned long long)lat->count, lat->what, 100 * share, slow_d,
		 100 * modality_slow_ns(m, 1.0), 100 * WAIT_MATERIAL);
}

/*
 * Waits that split near each other (every material slow mode within
 * QUEUE_SEP of the fastest) on a lock whose owners the waiters saw in
 * many holds and did not see sleep holding it (owners_sleep: a few
 * page faults in tens of thousands of holds are not a slow holder): one
 * holder ahead or several,
 * the queue's depth, not a slow holder (eight loggers with the flush after
 * the unlock: waits at ~20 us and ~89 us, 0 of 1200 holds slept). Without
 * owner notes (no waiter noted any), nothing contradicts the split.
 */
static bool queue_split(const struct lock_entry *e, const struct lock_latency *lat,
			const struct modality *m)
{
	double fast = m->modes[0].center_ns, total = blocked_wait(lat);
	unsigned int k;

	if (e->owner_holds < QUEUE_MIN_HOLDS || owners_sleep(e, lat))
		return false;
	for (k = 1; k < m->nr_modes; k++)
		if (m->modes[k].time_share * total >= WAIT_MATERIAL * total &&
		    m->modes[k].center_ns >= QUEUE_SEP * fast)
			return false;
	return true;
}

/*
 * Waits whose slow modes the owners' preemptions explain: owners seen in
 * many holds, never sleeping holding the lock, but runnable holding it
 * (preempted, or woken and queued for a CPU) for at least 1/QUEUE_SEP of
 * the slow modes' wait (each waiter queued behind a preempted holder
 * waits out its preemption: a few waiters, a few times its length). Four
 * loggers on two CPUs with the flush after the unlock: 0.7% of waits at
 * ~750 us, 16% of the wait, none of it behind a sleeping holder. A
 * machine short of CPUs, not a slow holder.
 */
static bool preempted_split(const struct lock_entry *e, const struct lock_latency *lat,
			    double slow_ns)
{
	return e->owner_holds >= QUEUE_MIN_HOLDS && !owners_sleep(e, lat) &&
	       QUEUE_SEP * (double)e->owner_runnable_ns >= slow_ns;
}

static void say_preempted(const struct lock_entry *e, const struct lock_latency *lat,
			  struct lock_verdict *v)
{
	const struct modality *m = &v->waits;
	char fast[32], slow[32], ran[32];

	format_duration_ns(fast, sizeof(fast), m->modes[0].center_ns);
	format_duration_ns(slow, sizeof(slow), m->modes[modality_slowest_mode(m)].center_ns);
	format_duration_ns(ran, sizeof(ran), (double)e->owner_runnable_ns);
	snprintf(v->text, sizeof(v->text),
		 "one way, holders preempted — the %llu %s split at ~%s and ~%s, but their "
		 "owners slept holding the lock in %llu of %llu holds seen and waited %s for a "
		 "CPU holding it: holders that lost the CPU, not a slow holder",
		 (unsigned long long)lat->count, lat->what, fast, slow,
		 (unsigned long long)e->owner_holds_slept, (unsigned long long)e->owner_holds, ran);
}

static void say_queued(const struct lock_entry *e, const struct lock_latency *lat,
		       struct lock_verdict *v)
{
	const struct modality *m = &v->waits;
	char fast[32], slow[32];

	format_duration_ns(fast, sizeof(fast), m->modes[0].center_ns);
	format_duration_ns(slow, sizeof(slow), m->modes[modality_slowest_mode(m)].center_ns);
	snprintf(v->text, sizeof(v->text),
		 "one way, queued — the %llu %s split at ~%s and ~%s, but their owners slept "
		 "holding the lock in %llu of %llu holds seen: one holder ahead or several, "
		 "not a slow holder", (unsigned long long)lat->count, lat->what, fast, slow,
		 (unsigned long long)e->owner_holds_slept, (unsigned long long)e->owner_holds);
}

/* The verdict, before the cause is looked for. */
static void judge(const struct lock_entry *e, const struct lock_latency *lat,
		  double duration_s, struct lock_verdict *v)
{
	bool slept = false, slow_immaterial = false, queued = false, preempted = false;
	size_t off;
	char d[32];

	modality_describe(v->text, sizeof(v->text), &v->waits, lat->what);
	if (is_multimodal(&v->waits)) {
		double blocked = blocked_wait(lat);
		double slow = modality_slow_ns(&v->waits, blocked);
		bool material = slow >= WAIT_MATERIAL * blocked;

		queued = material && queue_split(e, lat, &v->waits);
		preempted = material && !queued && preempted_split(e, lat, slow);
		if (material && !queued && !preempted) {
			v->judgement = LOCK_BIMODAL;
			v->slow_ns = modality_slow_ns(&v->waits, (double)lat->total_ns);
			return;
		}
		slow_immaterial = !material;
	}
	if (is_multimodal(&v->holds)) {
		v->holds_probe_induced = holds_probe_induced(&v->holds, v->probe_ns);
		v->slow_holds_slept = slow_holds_slept(e,
				&v->holds.modes[modality_slowest_mode(&v->holds)]);
		slept = v->slow_holds_slept >= SLEPT_SHARE;
		if (!v->holds_probe_induced && slept) {
			judge_slow_holder(lat, v);
			return;
		}
	}
	if (owners_sleep(e, lat)) {
		judge_sleeping_owner(e, lat, v);
		return;
	}
	if (v->waits.verdict == MODALITY_INSUFFICIENT &&
	    v->waits.analysed_count >= MODALITY_MIN_SAMPLES && v->waits.p_value <= LEAN_P &&
	    v->waits.p_value > 0) {
		judge_likely(lat, duration_s, v);
		return;
	}
	v->judgement = v->waits.verdict == MODALITY_UNIMODAL || slow_immaterial || queued ||
		       preempted ? LOCK_ONE_WAY : LOCK_INSUFFICIENT;
	if (slow_immaterial)
		say_immaterial(lat, v);
	else if (queued)
		say_queued(e, lat, v);
	else if (preempted)
		say_preempted(e, lat, v);
	off = strlen(v->text);
	if (v->holds_probe_induced) {
		format_duration_ns(d, sizeof(d), v->probe_ns);
		snprintf(v->text + off, sizeof(v->text) - off,
			 "; the holds' second mode is the probes' own (each adds ~%s)", d);
	} else if (is_multimodal(&v->holds) && !slept) {
		snprintf(v->text + off, sizeof(v->text) - off,
			 "; the holds' slow mode ran without sleeping (%.0f%% slept): "
			 "not a holder that blocks", 100 * v->slow_holds_slept);
	}
}

void lock_verdict_judge(const struct recording *rec, const struct lock_entry *e,
			const struct offcpu_agg *agg, double duration_s, struct named_stack *ns,
			struct lock_verdict *v)
{
	struct lock_latency lat;

	memset(v, 0, sizeof(*v));
	lock_entry_latency(e, &lat);
	v->what = lat.what;
	modality_analyze(lat.counts, lat.sums, &v->waits);
	if (e->holds)
		modality_analyze(e->hold_count, e->hold_sum_ns, &v->holds);
	v->probe_ns = probe_cost_ns(e);
	judge(e, &lat, duration_s, v);
	/* The cause only where it is said: naming every off-CPU stack for
	 * each of a server's hundreds of locks would cost seconds. */
	if (!lock_judgement_flags(v->judgement) || e->kind == LOCK_KIND_JOIN)
		return;
	if (owners_sleep(e, &lat) && e->nr_sleep_sites && e->sleep_sites[0].stack_id)
		describe_sleep_cause(rec, e, ns, v->cause, sizeof(v->cause));
	else if (agg)
		find_cause(rec, e, agg, ns, v->cause, sizeof(v->cause));
}
