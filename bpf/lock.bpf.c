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
#include "stacks.bpf.h"
#include "maps.bpf.h"

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

/* Knobs, set through the skeleton's rodata before load. */
const volatile bool filter_tgid = false;	/* only processes in traced_tgids */
const volatile __u32 self_tgid = 0;		/* never trace the recorder */
const volatile __u64 min_wait_ns = 0;		/* shorter waits are not recorded */
const volatile __u32 cache_verify_every = 64;	/* 0: trust the stack cache blindly */
const volatile bool uprobes_on = false;		/* --uprobes: lock calls may be in progress */

/* Shared with the offcpu object (bpf_map__reuse_fd) so -p means one thing. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} traced_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);		/* resized by user space */
	__type(key, struct lock_key);
	__type(value, struct lock_val);
} lock_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lock_holder_key);
	__type(value, struct lock_holder_val);
} lock_holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LCNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} lock_counters SEC(".maps");

/* A thread inside a futex wait. */
struct futex_wait_state {
	__u64 start_ns;
	__u64 uaddr;
	__u8 op_class;
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
	__u8 fn;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct held_key);
	__type(value, struct held_state);
} held_locks SEC(".maps");

/*
 * Futex user stacks, cached per thread: a thread that waits or wakes again
 * with the same user ip (the syscall instruction), sp and bp is, almost
 * always, at the same place, and a walk costs 1.4-8 us (docs/UNWIND.md).
 * Every cache_verify_every-th hit is walked anyway and disagreements are
 * counted, so the report can show the cache is safe.
 */
#define USTACK_CACHE_WAYS 4

struct ustack_cache_entry {
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u64 stack_id;
};

struct ustack_cache {
	struct ustack_cache_entry e[USTACK_CACHE_WAYS];
	__u32 next;
	__u32 hits_since_verify;
	__u32 epoch;		/* unwind_epoch the entries were walked in */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* tid */
	__type(value, struct ustack_cache);
} ustack_caches SEC(".maps");

static __always_inline void lcounter_add(__u32 id, __u64 n)
{
	__u64 *cnt = bpf_map_lookup_elem(&lock_counters, &id);

	if (cnt)
		*cnt += n;
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	return !filter_tgid || bpf_map_lookup_elem(&traced_tgids, &tgid);
}

static __always_inline void lock_hist_add(struct lock_key *key, __u64 delta)
{
	static const struct lock_val zero;
	struct lock_val *val;

	key->bucket = hist_bucket(delta);
	val = map_lookup_or_init(&lock_hist, key, &zero);
	if (!val) {
		lcounter_add(LCNT_DROP_HIST_FULL, 1);
		return;
	}
	__sync_fetch_and_add(&val->count, 1);
	__sync_fetch_and_add(&val->total_ns, delta);
	if (delta > val->max_ns)
		val->max_ns = delta;	/* a rare lost race only lowers max */
}

static __always_inline struct lock_holder_val *holder_get(__u32 tgid, __u64 uaddr,
							  __u64 waker_id, __u64 waiter_id)
{
	static const struct lock_holder_val zero;
	struct lock_holder_key key = {
		.tgid = tgid, .addr = uaddr, .waker_stack_id = waker_id, .waiter_stack_id = waiter_id,
	};
	struct lock_holder_val *val;

	val = map_lookup_or_init(&lock_holders, &key, &zero);
	if (!val)
		lcounter_add(LCNT_DROP_HOLDERS_FULL, 1);
	return val;
}

static __always_inline __u64 walk_current(const struct user_regs *r)
{
	__u32 flags = 0;
	long err = 0;
	__u64 id;

	id = capture_user_stack(r, &err, &flags);
	if (!id)
		lcounter_add(err ? LCNT_DROP_STACK_FULL : LCNT_USTACK_EMPTY, 1);
	return id;
}

/* The user stack of the current thread from its saved user registers. */
static __always_inline __u64 current_user_stack(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	static const struct ustack_cache empty;
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), i;
	struct ustack_cache_entry *e = NULL;
	struct ustack_cache *cache;
	struct user_regs r = {};
	__u64 id;

	r.ip = BPF_CORE_READ(regs, ip);
	r.sp = BPF_CORE_READ(regs, sp);
	r.bp = BPF_CORE_READ(regs, bp);
	r.syscall_nr = BPF_CORE_READ(regs, orig_ax);
	cache = bpf_map_lookup_elem(&ustack_caches, &tid);
	if (!cache) {
		bpf_map_update_elem(&ustack_caches, &tid, &empty, BPF_NOEXIST);
		cache = bpf_map_lookup_elem(&ustack_caches, &tid);
	}
	/* New unwind tables: stacks walked without them are walked again. */
	if (cache && cache->epoch != unwind_epoch_now()) {
		for (i = 0; i < USTACK_CACHE_WAYS; i++)
			cache->e[i].stack_id = 0;
		cache->epoch = unwind_epoch_now();
	}
	for (i = 0; cache && i < USTACK_CACHE_WAYS; i++) {
		if (cache->e[i].stack_id && cache->e[i].ip == r.ip && cache->e[i].sp == r.sp &&
		    cache->e[i].bp == r.bp) {
			e = &cache->e[i];
			break;
		}
	}
	if (e) {
		lcounter_add(LCNT_STACK_CACHE_HITS, 1);
		if (!cache_verify_every || ++cache->hits_since_verify < cache_verify_every)
			return e->stack_id;
		cache->hits_since_verify = 0;
	}
	/* One walk site only: the unwinder is large, the verifier counts
	 * every inlined copy. */
	id = walk_current(&r);
	if (!cache || !id)
		return id;
	if (e) {
		lcounter_add(LCNT_STACK_CACHE_VERIFIED, 1);
		if (id != e->stack_id)
			lcounter_add(LCNT_STACK_CACHE_MISMATCH, 1);
	} else {
		e = &cache->e[cache->next & (USTACK_CACHE_WAYS - 1)];
		cache->next++;
		e->ip = r.ip;
		e->sp = r.sp;
		e->bp = r.bp;
	}
	e->stack_id = id;	/* a fresh walk is the truth */
	return id;
}

/* ---- futex ---- */

static __always_inline void futex_wait_begin(__u64 uaddr, __u8 op_class)
{
	struct futex_wait_state st = {
		.start_ns = bpf_ktime_get_ns(),
		.uaddr = uaddr,
		.op_class = op_class,
	};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (bpf_map_update_elem(&futex_waits, &tid, &st, BPF_ANY))
		lcounter_add(LCNT_DROP_STATE_FULL, 1);
}

static __always_inline void futex_wake(__u32 tgid, __u64 uaddr)
{
	struct waker_key key = { .tgid = tgid, .uaddr = uaddr };
	struct futex_waker w = {};
	struct lock_holder_val *hv;

	lcounter_add(LCNT_FUTEX_WAKES, 1);
	w.stack_id = current_user_stack();
	w.ts = bpf_ktime_get_ns();
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

/* A futex syscall's entry: its number and first two arguments. */
static __always_inline int futex_enter(long id, __u64 uaddr, __u64 op)
{
	__u8 op_class;
	__u32 tgid;

	tgid = bpf_get_current_pid_tgid() >> 32;
	if (!tgid_traced(tgid))
		return 0;
	if (id == NR_FUTEX) {
		op_class = futex_op_class((__u32)op);
	} else if (id == NR_FUTEX_WAIT) {
		op_class = FUTEX_CLASS_WAIT;
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
		futex_wait_begin(uaddr, op_class);
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
	return futex_enter(ctx->nr, ctx->args[0], ctx->args[1]);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(lock_sys_enter, struct pt_regs *regs, long id)
{
	if (!is_futex_call(id))
		return 0;
	return futex_enter(id, PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs));
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
		lcounter_add(LCNT_WAKE_UNMATCHED, 1);
		return;
	}
	hv = holder_get(tgid, uaddr, w->stack_id, waiter_id ? waiter_id : 1);
	if (!hv)
		return;
	__sync_fetch_and_add(&hv->woken, 1);
	__sync_fetch_and_add(&hv->woken_wait_ns, delta);
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
	__u64 tramp = 0, id;
	long err = 0;
	__u32 at;

	if (!us || !us->stack_id || !stack_id ||
	    bpf_probe_read_user(&tramp, sizeof(tramp), (void *)us->ret_slot) ||
	    tramp == us->ret_addr)
		return stack_id;
	inner = bpf_map_lookup_elem(&stacks, &stack_id);
	outer = bpf_map_lookup_elem(&stacks, &us->stack_id);
	st = stack_scratch_get();
	if (!inner || !outer || !st)
		return stack_id;
	__builtin_memcpy(st, inner, sizeof(*st));
	at = stack_find_frame(st, tramp);
	if (at >= MAX_STACK_DEPTH) {
		lcounter_add(LCNT_TRAMP_UNMAPPED, 1);
		return stack_id;
	}
	stack_join(st, at, outer);
	id = stack_store(st, &err);
	if (!id) {
		lcounter_add(LCNT_DROP_STACK_FULL, 1);
		return stack_id;
	}
	lcounter_add(LCNT_TRAMP_MAPPED, 1);
	return id;
}

/* A futex wait's return: only threads futex_enter() noted have state. */
static __always_inline int futex_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), now, delta;
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
	lcounter_add(LCNT_FUTEX_WAITS, 1);
	if (delta < min_wait_ns)
		return 0;
	key.tgid = tgid;
	key.source = LOCK_SRC_FUTEX;
	key.op = wait.op_class | (ret == -EAGAIN ? FUTEX_NO_SLEEP : 0);
	key.addr = wait.uaddr;
	key.stack_id = current_user_stack();
	if (uprobes_on)
		key.stack_id = unhide_lock_caller(tid, key.stack_id);
	lock_hist_add(&key, delta);
	if (ret == 0 || (wait.op_class == FUTEX_CLASS_WAITV && ret >= 0))
		blame_holder(tgid, wait.uaddr, wait.start_ns, delta, key.stack_id);
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
		lcounter_add(LCNT_DROP_STATE_FULL, 1);
	return 0;
}

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
	lcounter_add(LCNT_KERNEL_CONTENTIONS, 1);
	if (delta < min_wait_ns)
		return 0;
	key.tgid = pid_tgid >> 32;
	key.source = LOCK_SRC_KERNEL;
	key.addr = (__u64)lock;
	key.stack_id = capture_kernel_stack(ctx, &err);
	if (!key.stack_id)
		lcounter_add(err == -7 /* E2BIG */ ? LCNT_DROP_STACK_FULL : LCNT_KSTACK_FAILED, 1);
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

/*
 * At function entry the return address is at the stack pointer and the
 * frame pointer is still the caller's, so the walk starts at the caller and
 * loses no frame (unlike a walk from inside libc).
 */
SEC("uprobe")
int BPF_KPROBE(lock_uprobe_enter, void *lock)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid, flags = 0;
	struct uprobe_state st = {};
	struct user_regs r = {};
	__u64 ret_addr = 0;
	long err = 0;

	if (!tgid_traced(pid_tgid >> 32))
		return 0;
	r.sp = PT_REGS_SP(ctx);
	r.bp = PT_REGS_FP(ctx);
	if (r.sp && !(r.sp & 7) && r.sp < USER_ADDR_MAX &&
	    !bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)r.sp)) {
		st.ret_slot = r.sp;
		st.ret_addr = ret_addr;
		r.ip = ret_addr;
		r.sp += 8;
		st.stack_id = capture_user_stack(&r, &err, &flags);
	}
	if (!st.stack_id)
		lcounter_add(err ? LCNT_DROP_STACK_FULL : LCNT_USTACK_EMPTY, 1);
	st.lock = (__u64)lock;
	st.fn = (__u8)bpf_get_attach_cookie(ctx);
	st.start_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&uprobe_calls, &tid, &st, BPF_ANY))
		lcounter_add(LCNT_DROP_STATE_FULL, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lock_uprobe_return, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), delta, now;
	__u32 tid = (__u32)pid_tgid;
	struct lock_key key = {};
	struct uprobe_state *st;

	st = bpf_map_lookup_elem(&uprobe_calls, &tid);
	if (!st)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now - st->start_ns;
	key.tgid = pid_tgid >> 32;
	key.source = LOCK_SRC_UPROBE;
	key.op = st->fn | (ret ? LOCK_UPROBE_FAILED : 0);
	key.addr = st->lock;
	key.stack_id = st->stack_id;
	if (!ret) {
		struct held_key hk = { .lock = st->lock, .tid = tid };
		struct held_state hs = { .since_ns = now, .stack_id = st->stack_id, .fn = st->fn };

		bpf_map_update_elem(&held_locks, &hk, &hs, BPF_ANY);
	}
	bpf_map_delete_elem(&uprobe_calls, &tid);
	lcounter_add(LCNT_UPROBE_CALLS, 1);
	lock_hist_add(&key, delta);
	return 0;
}

/* pthread_*_unlock entry: the hold that began when the lock call returned
 * ends here (a read lock held by several threads is one hold per thread). */
SEC("uprobe")
int BPF_KPROBE(lock_uprobe_unlock, void *lock)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct held_key hk = { .lock = (__u64)lock, .tid = (__u32)pid_tgid };
	struct lock_key key = {};
	struct held_state *hs;
	__u64 delta;

	hs = bpf_map_lookup_elem(&held_locks, &hk);
	if (!hs)
		return 0;	/* taken before probing began, or not by a probed call */
	delta = bpf_ktime_get_ns() - hs->since_ns;
	key.tgid = pid_tgid >> 32;
	key.source = LOCK_SRC_HOLD;
	key.op = hs->fn;
	key.addr = hk.lock;
	key.stack_id = hs->stack_id;
	bpf_map_delete_elem(&held_locks, &hk);
	lock_hist_add(&key, delta);
	return 0;
}
