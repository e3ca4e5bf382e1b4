// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock contention. Three sources, one sparse histogram (lock.h):
 *
 * futex: a user-space lock sleeps in the kernel only when contended, so the
 * futex wait syscalls are the cheap, always-on view of user-space
 * contention. The futex syscalls' own tracepoints (syscalls:sys_enter_futex
 * ...) note the start of a wait and, on exit, add it with the waiter's user
 * stack; they cost nothing on other syscalls. Where they are missing (no
 * tracefs, no CONFIG_FTRACE_SYSCALLS) raw_tp/sys_enter and sys_exit do the
 * same, run on every syscall. A futex wake notes the waker's stack per
 * (process, futex); a wait that ends woken is charged to the last waker
 * ("blame the holder").
 *
 * kernel: lock:contention_begin/end, keyed by lock address, kernel stack and
 * the begin flags (spin, rwsem read/write, mutex, ...).
 *
 * uprobe: opt-in entry/return probes on pthread lock functions time every
 * acquisition, uncontended ones included. The function is the attach
 * cookie, so one program pair serves every probed function.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "lock.h"
#define NR_COUNTERS	LCNT_NR
#include "common.bpf.h"
#define STACK_CACHE_WAYS	4
#include "stack_cache.bpf.h"
#include "lock_owners.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#if defined(__TARGET_ARCH_x86)
#define NR_FUTEX	202
#elif defined(__TARGET_ARCH_arm64)
#define NR_FUTEX	98
#endif
#define EAGAIN		11
#define NR_FUTEX_WAITV	449
#define NR_FUTEX_WAKE	454
#define NR_FUTEX_WAIT	455

#define FUTEX_WAIT		0
#define FUTEX_WAKE		1
#define FUTEX_REQUEUE		3
#define FUTEX_CMP_REQUEUE	4
#define FUTEX_WAKE_OP		5
#define FUTEX_LOCK_PI		6
#define FUTEX_UNLOCK_PI		7
#define FUTEX_WAIT_BITSET	9
#define FUTEX_WAKE_BITSET	10
#define FUTEX_WAIT_REQUEUE_PI	11
#define FUTEX_CMP_REQUEUE_PI	12
#define FUTEX_LOCK_PI2		13
#define FUTEX_CMD_MASK		0x7f
#define FUTEX_PRIVATE_FLAG	128
#define FUTEX_TID_MASK		0x3fffffff

/* Knobs, set through the skeleton's rodata before load (and common.bpf.h's). */
const volatile bool run_delay_known = false;	/* sched_info.run_delay is kept */
const volatile __u32 cache_verify_every = 64;	/* 0: trust the stack cache blindly */
const volatile bool stack_cache = true;		/* --no-stack-cache: walk every time */
const volatile bool uprobes_on = false;		/* --uprobes: lock calls may be in progress */

/* Two buffers each (drain.h): the programs add into the ones lock_swap
 * selects, user space drains the others during the recording. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct lock_key);
	__type(value, struct lock_val);
} lock_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct lock_key);
	__type(value, struct lock_val);
} lock_hist_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lock_holder_key);
	__type(value, struct lock_holder_val);
} lock_holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lock_holder_key);
	__type(value, struct lock_holder_val);
} lock_holders_b SEC(".maps");

/* inserted[] counts lock_hist and lock_holders keys together. */
struct map_swap lock_swap;

/* A thread inside a futex wait. */
struct futex_wait_state {
	__u64 start_ns;
	__u64 uaddr;
	__u64 run_delay;	/* the waiter's sched_info.run_delay at entry */
	__u64 stalled;		/* its futex's futex_waker.stalled then */
	__u8 op_class;
	bool tid_word;		/* may be a thread's tid word (pthread_join) */
	bool lock_word;		/* expects 2: a glibc lock word, locked with waiters */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct futex_wait_state);
} futex_waits SEC(".maps");

/* The last wake of a futex. */
struct futex_waker {
	__u64 ts;
	__u64 stack_id;
	/*
	 * The time the lock waited for a CPU, summed: its holders' runnable
	 * time while holding it (added at the wakes their unlocks made), and
	 * its woken waiters' runnable time before they took it (a glibc lock
	 * woken for one waiter wakes no other until that one runs and takes
	 * it). A waiter takes what grew during its wait, whichever wake ended
	 * it: CPU contention, not the lock's code.
	 */
	__u64 stalled;
};

struct waker_key {
	__u32 tgid;
	__u32 pad;
	__u64 uaddr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct waker_key);
	__type(value, struct futex_waker);
} futex_wakers SEC(".maps");

/* A kernel lock being waited for, by (thread, lock): begin/end can nest
 * (a spinning wait for an rwsem's wait_lock inside the rwsem slowpath). */
struct klock_key {
	__u64 lock;
	__u32 tid;
	__u32 pad;
};

struct klock_state {
	__u64 start_ns;
	__u32 flags;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct klock_key);
	__type(value, struct klock_state);
} klock_waits SEC(".maps");

/* A thread inside a probed pthread call. */
struct uprobe_state {
	__u64 start_ns;
	__u64 lock;
	__u64 stack_id;		/* the caller's stack, from the return address on */
	__u64 ret_slot;		/* where the return address is (sp at entry) */
	__u64 ret_addr;
	__u8 fn;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct uprobe_state);
} uprobe_calls SEC(".maps");

/* A lock a thread holds (acquired through a probed call), by (lock, tid). */
struct held_key {
	__u64 lock;
	__u32 tid;
	__u32 pad;
};

struct held_state {
	__u64 since_ns;
	__u64 stack_id;
	__u64 run_delay;	/* the holder's sched_info.run_delay at acquisition */
	__u64 nvcsw;		/* its voluntary context switches then */
	__u8 fn;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct held_key);
	__type(value, struct held_state);
} held_locks SEC(".maps");

/*
 * The lock a thread took last, where that is seen (a futex wait that ended
 * woken: a contended acquisition; a probed lock call that succeeded), with
 * the thread's sched_info.run_delay then. The thread's next wake of that
 * futex (its unlock) tells the woken waiter how long the holder was
 * runnable, not running, while it held the lock: on a busy machine holders
 * are preempted holding the lock (the unlock probe's trap returns through
 * the scheduler, a favourite spot) and their waiters wait a time slice for
 * a CPU, not for anything the lock's code does.
 */
struct lock_taken {
	__u64 lock;
	__u64 run_delay;
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct lock_taken);
} locks_taken SEC(".maps");

/*
 * Futex user stacks, cached per thread (bpf/stack_cache.bpf.h, the user
 * part of its key): a thread that waits or wakes again with the same user
 * ip (the syscall instruction), sp and bp is, almost always, at the same
 * place, and a walk costs 1.4-8 us (docs/UNWIND.md). Four ways a thread:
 * few futex call sites each.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct stack_cache);
} ustack_caches SEC(".maps");

static __always_inline void lock_hist_add_split(struct lock_key *key, __u64 delta,
						__u64 runnable)
{
	static const struct lock_val zero;
	struct lock_val *val;

	key->bucket = hist_bucket(delta);
	val = swap_lookup_or_insert(&lock_swap, &lock_hist, &lock_hist_b, key, &zero);
	if (!val) {
		counter_add(LCNT_DROP_HIST_FULL, 1);
		return;
	}
	__sync_fetch_and_add(&val->count, 1);
	__sync_fetch_and_add(&val->total_ns, delta);
	if (runnable)
		__sync_fetch_and_add(&val->runnable_ns, runnable);
	if (delta > val->max_ns)
		val->max_ns = delta;	/* a rare lost race only lowers max */
}

static __always_inline void lock_hist_add(struct lock_key *key, __u64 delta)
{
	lock_hist_add_split(key, delta, 0);
}

/*
 * The current thread's total time runnable but not running, which the
 * scheduler closes each time the thread gets a CPU; 0 without sched_info.
 */
static __always_inline __u64 current_run_delay(void)
{
	struct task_struct *t;

	if (!run_delay_known || !bpf_core_field_exists(t->sched_info.run_delay))
		return 0;
	t = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(t, sched_info.run_delay);
}

/* The current thread's voluntary context switches: it slept in between. */
static __always_inline __u64 current_nvcsw(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(t, nvcsw);
}

static __always_inline struct lock_holder_val *holder_get(__u32 tgid, __u64 uaddr,
							  __u64 waker_id, __u64 waiter_id)
{
	static const struct lock_holder_val zero;
	struct lock_holder_key key = {
		.tgid = tgid, .addr = uaddr, .waker_stack_id = waker_id, .waiter_stack_id = waiter_id,
	};
	struct lock_holder_val *val;

	val = swap_lookup_or_insert(&lock_swap, &lock_holders, &lock_holders_b, &key, &zero);
	if (!val)
		counter_add(LCNT_DROP_HOLDERS_FULL, 1);
	return val;
}

static __always_inline __u64 walk_current(const struct user_regs *r)
{
	__u32 flags = 0;
	long err = 0;
	__u64 id;

	id = capture_user_stack(r, &err, &flags);
	if (!id && err == STACK_ERR_INTERRUPTED)
		counter_add(LCNT_STACK_INTERRUPTED, 1);
	else if (!id)
		counter_add(err ? LCNT_DROP_STACK_FULL : LCNT_USTACK_EMPTY, 1);
	return id;
}

/*
 * The user stack of the current thread from its saved user registers,
 * through its stack cache. Every cache_verify_every-th hit is walked anyway
 * and disagreements are counted, so the report can show the cache is safe.
 */
static __always_inline __u64 current_user_stack(void)
{
	static const struct stack_cache empty;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	enum stack_cache_lookup how = STACK_CACHE_MISS;
	struct stack_cache_entry *e = NULL;
	struct stack_cache_key key = {};
	struct stack_cache *cache = NULL;
	__u32 tid = (__u32)pid_tgid;
	__u64 id;

	if (stack_cache)
		cache = map_lookup_or_init(&ustack_caches, &tid, &empty);
	if (cache) {
		stack_cache_user_key(task, pid_tgid >> 32, &key);
		e = stack_cache_find(cache, &key, &how, LCNT_STACK_CACHE_MISS_OTHER_CALLER);
	} else {
		read_user_regs(task, &key.regs);
	}
	if (how == STACK_CACHE_HIT) {
		counter_add(LCNT_STACK_CACHE_HITS, 1);
		if (!stack_cache_verify_now(cache, cache_verify_every))
			return e->user_stack_id;
	}
	/* One walk site only: the unwinder is large, the verifier counts
	 * every inlined copy. */
	id = walk_current(&key.regs);
	if (!cache || !id)
		return id;
	if (how == STACK_CACHE_HIT) {
		counter_add(LCNT_STACK_CACHE_VERIFIED, 1);
		if (id != e->user_stack_id)
			counter_add(LCNT_STACK_CACHE_MISMATCH, 1);
	}
	/* A fresh walk is the truth: it replaces a verified or stale entry. */
	stack_cache_fill(cache, e, &key, id, 0);
	return id;
}

/* ---- futex ---- */

/*
 * The owner of the glibc mutex whose lock word is at uaddr, or 0: the
 * __owner and __nusers fields that follow the lock word and __count
 * (struct __pthread_mutex_s). A normal mutex held has exactly one user;
 * other lock words (an _IO_lock_t's owner pointer, a bare int) fail that
 * test or the tid range.
 */
static __always_inline __u32 mutex_owner(__u64 uaddr)
{
	struct { __s32 owner; __u32 nusers; } f;

	if ((uaddr & 3) || uaddr >= USER_ADDR_MAX - 16 ||
	    bpf_probe_read_user(&f, sizeof(f), (void *)(uaddr + 8)))
		return 0;
	if (f.owner <= 0 || f.owner > PID_MAX_LIMIT || f.nusers != 1)
		return 0;
	return (__u32)f.owner;
}

/* A waiter notes the owner of the lock it is about to sleep on
 * (bpf/lock_owners.bpf.h), once per hold. The owner is read again after
 * the note: if it changed meanwhile, its unlock may have passed unseen. */
static __always_inline void note_owner(__u32 tgid, __u32 self, __u64 uaddr)
{
	struct lock_owner fresh = { .lock = uaddr, .tgid = tgid }, *o;
	__u32 owner = mutex_owner(uaddr);

	if (!owner || owner == self)
		return;
	o = bpf_map_lookup_elem(&lock_owners, &owner);
	if (o && o->lock == uaddr && o->tgid == tgid)
		return;
	bpf_map_update_elem(&lock_owners, &owner, &fresh, BPF_ANY);
	if (mutex_owner(uaddr) != owner)
		bpf_map_delete_elem(&lock_owners, &owner);
}

/* The owner's wake of the lock ends its hold: what it slept holding it
 * becomes a record (delta 0 and no stack: a hold seen that never slept).
 * Returns its runnable time holding it. */
static __always_inline __u64 end_owner_hold(__u32 tgid, __u32 tid, __u64 uaddr)
{
	__u64 runnable;
	struct lock_owner *o = bpf_map_lookup_elem(&lock_owners, &tid);
	struct lock_key key = {
		.tgid = tgid, .source = LOCK_SRC_HOLD_SLEEP, .addr = uaddr,
	};

	if (!o || o->lock != uaddr || o->tgid != tgid)
		return 0;
	key.stack_id = o->sleeps ? o->user_stack_id : 0;
	key.op = o->sleeps > 255 ? 255 : (__u8)o->sleeps;
	runnable = o->runnable_ns;
	/* The runnable time rides along: a holder preempted holding the lock
	 * explains waits no sleep of its does (lock_verdict.c). */
	lock_hist_add_split(&key, o->slept_ns, runnable);
	bpf_map_delete_elem(&lock_owners, &tid);
	return runnable;
}

static __always_inline void futex_wait_begin(__u64 uaddr, __u8 op_class, bool tid_word,
					     bool lock_word)
{
	struct futex_wait_state st = {
		.start_ns = bpf_ktime_get_ns(),
		.uaddr = uaddr,
		.op_class = op_class,
		.tid_word = tid_word,
		.lock_word = lock_word,
		.run_delay = current_run_delay(),
	};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct waker_key key = { .tgid = pid_tgid >> 32, .uaddr = uaddr };
	struct futex_waker *w = bpf_map_lookup_elem(&futex_wakers, &key);
	__u32 tid = (__u32)pid_tgid;

	if (w)
		st.stalled = w->stalled;
	if (bpf_map_update_elem(&futex_waits, &tid, &st, BPF_ANY))
		counter_add(LCNT_DROP_STATE_FULL, 1);
	if (lock_word)
		note_owner(key.tgid, tid, uaddr);
}

static __always_inline void futex_wake(__u32 tgid, __u64 uaddr)
{
	struct waker_key key = { .tgid = tgid, .uaddr = uaddr };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct futex_waker w = {}, *last;
	struct lock_holder_val *hv;
	__u64 owner_runnable, taken_runnable = 0;
	struct lock_taken *t;

	counter_add(LCNT_FUTEX_WAKES, 1);
	owner_runnable = end_owner_hold(tgid, tid, uaddr);
	w.stack_id = current_user_stack();
	w.ts = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&futex_wakers, &key);
	if (last)
		w.stalled = last->stalled;
	t = bpf_map_lookup_elem(&locks_taken, &tid);
	if (t && t->lock == uaddr) {
		/* Only the holder unlocks: a wake by another thread since this
		 * one took the lock means its hold ended unseen (an unlock
		 * that woke nobody) and the entry is stale. */
		if (!last || last->ts <= t->ts)
			taken_runnable = current_run_delay() - t->run_delay;
		bpf_map_delete_elem(&locks_taken, &tid);	/* one wake per unlock */
	}
	/* Two views of one hold's runnable time: since its contended
	 * acquisition, and since a waiter noted it: the longer covers more. */
	w.stalled += owner_runnable > taken_runnable ? owner_runnable : taken_runnable;
	bpf_map_update_elem(&futex_wakers, &key, &w, BPF_ANY);
	hv = holder_get(tgid, uaddr, w.stack_id, 0);
	if (hv)
		__sync_fetch_and_add(&hv->wakes, 1);
}

#define FUTEX_CLASS_WAKE 0xff	/* not a wait: a wake */

/* Sorts a futex(2) operation: a wait class, FUTEX_CLASS_WAKE, or 0. */
static __always_inline __u8 futex_op_class(__u32 op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		return FUTEX_CLASS_WAIT;
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
		return FUTEX_CLASS_PI;
	case FUTEX_WAIT_REQUEUE_PI:
		return FUTEX_CLASS_REQUEUE_PI;
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
	case FUTEX_WAKE_OP:
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_CMP_REQUEUE_PI:
	case FUTEX_UNLOCK_PI:
		return FUTEX_CLASS_WAKE;
	}
	return 0;
}

static __always_inline bool is_futex_call(long id)
{
	return id == NR_FUTEX || id == NR_FUTEX_WAIT || id == NR_FUTEX_WAKE ||
	       id == NR_FUTEX_WAITV;
}

/*
 * glibc's pthread_join waits with a shared (not FUTEX_PRIVATE_FLAG) FUTEX_WAIT
 * on the joined thread's tid word, expecting that thread's id; mutexes and
 * condition variables of one process wait privately on small values.
 */
static __always_inline bool may_be_tid_word(__u32 op, __u32 val, __u32 self)
{
	return futex_op_class(op) == FUTEX_CLASS_WAIT && !(op & FUTEX_PRIVATE_FLAG) &&
	       val > 2 && val <= FUTEX_TID_MASK && val != self;
}

/* A futex syscall's entry: its number and first three arguments. */
static __always_inline int futex_enter(long id, __u64 uaddr, __u64 op, __u64 val)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	bool tid_word = false;
	bool lock_word = false;
	__u8 op_class;

	if (!tgid_traced(tgid))
		return 0;
	if (id == NR_FUTEX) {
		op_class = futex_op_class((__u32)op);
		tid_word = may_be_tid_word((__u32)op, (__u32)val, (__u32)pid_tgid);
		lock_word = (__u32)val == 2;
	} else if (id == NR_FUTEX_WAIT) {
		op_class = FUTEX_CLASS_WAIT;
		lock_word = op == 2;	/* futex_wait(uaddr, val, ...) */
	} else if (id == NR_FUTEX_WAKE) {
		op_class = FUTEX_CLASS_WAKE;
	} else {
		/* struct futex_waitv { u64 val; u64 uaddr; ... }: name the
		 * wait by its first futex. */
		__u64 vec = uaddr;

		uaddr = 0;
		bpf_probe_read_user(&uaddr, sizeof(uaddr), (void *)(vec + 8));
		op_class = FUTEX_CLASS_WAITV;
	}
	/* One call site each: a stack walk inlined twice doubles what the
	 * verifier must prove. */
	if (op_class == FUTEX_CLASS_WAKE)
		futex_wake(tgid, uaddr);
	else if (op_class)
		futex_wait_begin(uaddr, op_class, tid_word, lock_word);
	return 0;
}

/* One program for sys_enter_futex, _futex_wait, _futex_wake and
 * _futex_waitv: the number says which. Their records are syscall_trace_enter
 * (an int nr), not raw_syscalls:sys_enter's layout (a long id). */
SEC("tracepoint/syscalls/sys_enter_futex")
int futex_enter_tp(struct syscall_trace_enter *ctx)
{
	if (!is_futex_call(ctx->nr))
		return 0;
	return futex_enter(ctx->nr, ctx->args[0], ctx->args[1], ctx->args[2]);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(lock_sys_enter, struct pt_regs *regs, long id)
{
	if (!is_futex_call(id))
		return 0;
	return futex_enter(id, PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
			   PT_REGS_PARM3_CORE_SYSCALL(regs));
}

static __always_inline void note_lock_taken(__u32 tid, __u64 lock)
{
	struct lock_taken t = {
		.lock = lock,
		.run_delay = current_run_delay(),
		.ts = bpf_ktime_get_ns(),
	};

	if (run_delay_known)
		bpf_map_update_elem(&locks_taken, &tid, &t, BPF_ANY);
}

/* Charges a woken wait to the last wake of its futex, if that came after
 * the wait began. */
static __always_inline void blame_holder(__u32 tgid, __u64 uaddr, __u64 start, __u64 delta,
					 __u64 waiter_id)
{
	struct waker_key key = { .tgid = tgid, .uaddr = uaddr };
	struct lock_holder_val *hv;
	struct futex_waker *w;

	w = bpf_map_lookup_elem(&futex_wakers, &key);
	if (!w || w->ts < start) {
		counter_add(LCNT_WAKE_UNMATCHED, 1);
		return;
	}
	hv = holder_get(tgid, uaddr, w->stack_id, waiter_id ? waiter_id : 1);
	if (!hv)
		return;
	__sync_fetch_and_add(&hv->woken, 1);
	__sync_fetch_and_add(&hv->woken_wait_ns, delta);
}

/* The time the futex's lock waited for a CPU since the wait began. */
static __always_inline __u64 stalled_since(__u32 tgid, __u64 uaddr, __u64 then)
{
	struct waker_key key = { .tgid = tgid, .uaddr = uaddr };
	struct futex_waker *w = bpf_map_lookup_elem(&futex_wakers, &key);

	return w && w->stalled > then ? w->stalled - then : 0;
}

/* A woken lock waiter's runnable time stalled the lock: the others wait. */
static __always_inline void add_stalled(__u32 tgid, __u64 uaddr, __u64 runnable)
{
	struct waker_key key = { .tgid = tgid, .uaddr = uaddr };
	struct futex_waker *w = bpf_map_lookup_elem(&futex_wakers, &key);

	if (w && runnable)
		__sync_fetch_and_add(&w->stalled, runnable);
}

/* Did no traced thread wake this wait (so no holder can be blamed)? */
static __always_inline bool woken_by_nobody(__u32 tgid, __u64 uaddr, __u64 start)
{
	struct waker_key key = { .tgid = tgid, .uaddr = uaddr };
	struct futex_waker *w = bpf_map_lookup_elem(&futex_wakers, &key);

	return !w || w->ts < start;
}

/*
 * With --uprobes, a futex wait inside a probed pthread_mutex_lock has the
 * lock call's return address replaced by the uretprobe trampoline, where
 * the walk stops. The waiter's frames up to the trampoline are joined to
 * the caller's stack the entry probe took, from the real return address on.
 */
static __always_inline __u64 unhide_lock_caller(__u32 tid, __u64 stack_id)
{
	struct uprobe_state *us = bpf_map_lookup_elem(&uprobe_calls, &tid);
	const struct stack_trace *inner, *outer;
	struct stack_trace *st;
	__u64 tramp = 0, id, seq;
	long err = 0;
	__u32 at;

	if (!us || !us->stack_id || !stack_id ||
	    bpf_probe_read_user(&tramp, sizeof(tramp), (void *)us->ret_slot) ||
	    tramp == us->ret_addr)
		return stack_id;
	inner = bpf_map_lookup_elem(&stacks, &stack_id);
	outer = bpf_map_lookup_elem(&stacks, &us->stack_id);
	seq = stack_capture_begin();
	st = stack_scratch_get();
	if ((!inner || !outer) && st)
		counter_add(LCNT_SPLICE_STACK_GONE, 1);	/* drained meanwhile */
	if (!inner || !outer || !st)
		return stack_id;
	__builtin_memcpy(st, inner, sizeof(*st));
	at = stack_find_frame(st, tramp);
	if (at >= MAX_STACK_DEPTH) {
		counter_add(LCNT_TRAMP_UNMAPPED, 1);
		return stack_id;
	}
	stack_join(st, at, outer);
	id = stack_store(st, MAX_STACK_DEPTH, seq, &err);
	if (!id) {
		counter_add(LCNT_DROP_STACK_FULL, 1);
		return stack_id;
	}
	counter_add(LCNT_TRAMP_MAPPED, 1);
	return id;
}

/* A futex wait's return: only threads futex_enter() noted have state. */
static __always_inline int futex_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), now, delta, runnable, stalled = 0;
	__u32 tid = (__u32)pid_tgid, tgid = pid_tgid >> 32;
	struct futex_wait_state *st, wait;
	struct lock_key key = {};

	st = bpf_map_lookup_elem(&futex_waits, &tid);
	if (!st)
		return 0;
	wait = *st;
	bpf_map_delete_elem(&futex_waits, &tid);
	now = bpf_ktime_get_ns();
	delta = now - wait.start_ns;
	counter_add(LCNT_FUTEX_WAITS, 1);
	if (!duration_kept(delta)) {
		counter_add(LCNT_FILTERED_DURATION, 1);
		return 0;
	}
	key.tgid = tgid;
	key.source = LOCK_SRC_FUTEX;
	key.op = wait.op_class | (ret == -EAGAIN ? FUTEX_NO_SLEEP : 0);
	if (wait.tid_word && ret == 0 && woken_by_nobody(tgid, wait.uaddr, wait.start_ns))
		key.op |= FUTEX_THREAD_EXIT;
	key.addr = wait.uaddr;
	key.stack_id = current_user_stack();
	if (uprobes_on)
		key.stack_id = unhide_lock_caller(tid, key.stack_id);
	if (ret == 0 || (wait.op_class == FUTEX_CLASS_WAITV && ret >= 0)) {
		blame_holder(tgid, wait.uaddr, wait.start_ns, delta, key.stack_id);
		stalled = stalled_since(tgid, wait.uaddr, wait.stalled);
	}
	/* The wait's runnable part (woken, queued for a CPU) is closed by
	 * now: this thread runs. The time the lock itself waited for a CPU
	 * meanwhile (holders preempted, other woken waiters queued) is CPU
	 * contention too, at most the rest. */
	runnable = current_run_delay() - wait.run_delay;
	if (runnable > delta)
		runnable = delta;
	if (ret == 0 && wait.lock_word)
		add_stalled(tgid, wait.uaddr, runnable);
	if (stalled > delta - runnable)
		stalled = delta - runnable;
	runnable += stalled;
	lock_hist_add_split(&key, delta - runnable, runnable);
	if (ret == 0 && wait.op_class == FUTEX_CLASS_WAIT)
		note_lock_taken(tid, wait.uaddr);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int futex_exit_tp(struct syscall_trace_exit *ctx)
{
	if (!is_futex_call(ctx->nr))
		return 0;
	return futex_exit(ctx->ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(lock_sys_exit, struct pt_regs *regs, long ret)
{
	long id = BPF_CORE_READ(regs, orig_ax);

	if (!is_futex_call(id))
		return 0;
	return futex_exit(ret);
}

/* ---- kernel locks ---- */

static __always_inline int kernel_begin(void *lock, __u32 flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct klock_key key = { .lock = (__u64)lock, .tid = (__u32)pid_tgid };
	struct klock_state st = { .start_ns = bpf_ktime_get_ns(), .flags = flags };

	if (!tgid_traced(pid_tgid >> 32))
		return 0;
	if (bpf_map_update_elem(&klock_waits, &key, &st, BPF_ANY))
		counter_add(LCNT_DROP_STATE_FULL, 1);
	return 0;
}

/* Left out of kernel stack ids: see capture_kernel_stack. */
extern const void __traceiter_contention_end __ksym __weak;

static __always_inline int kernel_end(void *ctx, void *lock)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), delta;
	struct klock_key kk = { .lock = (__u64)lock, .tid = (__u32)pid_tgid };
	struct lock_key key = {};
	struct klock_state *st;
	long err = 0;

	st = bpf_map_lookup_elem(&klock_waits, &kk);
	if (!st)
		return 0;
	delta = bpf_ktime_get_ns() - st->start_ns;
	key.op = (__u8)st->flags;
	bpf_map_delete_elem(&klock_waits, &kk);
	counter_add(LCNT_KERNEL_CONTENTIONS, 1);
	if (!duration_kept(delta)) {
		counter_add(LCNT_FILTERED_DURATION, 1);
		return 0;
	}
	key.tgid = pid_tgid >> 32;
	key.source = LOCK_SRC_KERNEL;
	key.addr = (__u64)lock;
	key.stack_id = capture_kernel_stack(ctx, (__u64)&__traceiter_contention_end, &err);
	if (!key.stack_id && err == STACK_ERR_INTERRUPTED)
		counter_add(LCNT_STACK_INTERRUPTED, 1);
	else if (!key.stack_id)
		counter_add(err == -7 /* E2BIG */ ? LCNT_DROP_STACK_FULL : LCNT_KSTACK_FAILED, 1);
	lock_hist_add(&key, delta);
	return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(contention_begin_btf, void *lock, unsigned int flags)
{
	return kernel_begin(lock, flags);
}

SEC("tp_btf/contention_end")
int BPF_PROG(contention_end_btf, void *lock, int ret)
{
	return kernel_end(ctx, lock);
}

SEC("raw_tp/contention_begin")
int BPF_PROG(contention_begin_raw, void *lock, unsigned int flags)
{
	return kernel_begin(lock, flags);
}

SEC("raw_tp/contention_end")
int BPF_PROG(contention_end_raw, void *lock, int ret)
{
	return kernel_end(ctx, lock);
}

/* ---- pthread uprobes ---- */

#include "lock_uprobes.bpf.h"
