/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A per-thread cache of the stack ids a thread had when it last left the
 * CPU from the same place, so that sched_switch walks stacks only when the
 * place is new. Under pgbench a kernel stack walk took ~8 us and a CFI user
 * walk ~6 us (bpf_ktime_get_ns around each, this VM, loaded), against a few
 * hundred ns for the rest of the program: every walk saved counts.
 *
 * The key says where both stacks are without walking them:
 *   - the user registers saved at kernel entry (ip, sp, bp) and orig_ax
 *     (the syscall, or which exception or interrupt);
 *   - the address space (mm): exec gives the thread a new one, so entries
 *     of the old image never match the new one;
 *   - the process's unwind table generation: a stack walked with older (or
 *     no) tables is walked again, without touching other processes' entries;
 *   - the kernel path: a hash of the kernel text addresses (return
 *     addresses, mostly) in the innermost KPATH_WORDS words of the kernel
 *     stack above the tracepoint's arguments, and the return address into
 *     the entry code at the top of the stack (syscall, timer interrupt, IPI,
 *     page fault...). The same user registers can block on several kernel
 *     paths (fdatasync waits on page writeback, on a buffer, or on a cache
 *     flush: 9% of re-walks under pgbench disagreed without this), and a
 *     preempted thread can lose the CPU at any of several points. Not the
 *     stack's depth: the kernel moves the stack by a random offset on every
 *     syscall (CONFIG_RANDOMIZE_KSTACK_OFFSET), which the values ignore;
 *     with the depth, 83% of lookups missed;
 *   - how the thread left the CPU (state);
 *   - then, for a way whose registers match, the return addresses its walk
 *     read (first and last frames: STACK_SLOTS), read back from the stack
 *     (stack_cache_probe): equal registers do not mean one caller. Keyed
 *     by the registers alone, 11-21% of re-walks disagreed under MariaDB +
 *     sysbench (LuaJIT's calls into libmariadb, differing in the outermost
 *     frame), 0 since.
 * Every cache_verify_every-th hit is walked anyway and disagreements are
 * counted, which is how the report shows the key strong enough: frames
 * between the first 12 and the last 4 of a deeper stack are checked only
 * there.
 *
 * The lock object caches futex user stacks with the same code, keyed by the
 * user part alone (stack_cache_user_key): a futex call is a syscall, always
 * from the same kernel path.
 */
#ifndef WAITPROF_STACK_CACHE_BPF_H
#define WAITPROF_STACK_CACHE_BPF_H

#include "stacks.bpf.h"

#ifndef STACK_CACHE_WAYS
#define STACK_CACHE_WAYS	16	/* a power of two; an includer may choose */
#endif

struct stack_cache_key {
	struct user_regs regs;	/* zero for kernel threads */
	__u64 mm;
	__u64 kentry;		/* return address at the top of the kernel stack */
	__u64 khash;		/* kernel text addresses near the tracepoint */
	__u32 state;
	__u32 generation;	/* unwind tables of the process when walked */
};

/*
 * Where the walk of a cached user stack read the return addresses of its
 * first and last frames (stacks.bpf.h, STACK_SLOTS), in words above the
 * stack pointer rounded down to 8, and a hash of what it read there (the
 * values themselves would double the entry: 16 ways hit 69% under MariaDB
 * + sysbench, 8 ways 47%). Those in the first STACK_CACHE_WINDOW bytes are
 * read back in one read, the others one by one.
 */
#define STACK_CACHE_WINDOW	(MAX_STACK_DEPTH * 8)	/* the scratch's frames */
#define STACK_SLOT_WORDS_MAX	0xffffU			/* 512 KiB above sp */

struct stack_cache_slots {
	__u64 hash;		/* of the values, in slot order */
	__u16 word[STACK_SLOTS];
	__u16 nr;
	__u16 len;		/* bytes of the window that hold slots */
	__u32 pad;
};

static __always_inline __u64 slot_hash_add(__u64 h, __u64 v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

struct stack_cache_entry {
	struct stack_cache_key key;
	__u64 user_stack_id;
	__u64 kern_stack_id;
	struct stack_cache_slots slots;
};

struct stack_cache {
	struct stack_cache_entry e[STACK_CACHE_WAYS];
	__u32 next;		/* round-robin victim */
	__u32 hits_since_verify;
};

enum stack_cache_lookup {
	STACK_CACHE_HIT,
	STACK_CACHE_MISS,	/* no entry for this place */
	STACK_CACHE_STALE,	/* one, walked with older unwind tables */
};

#define KPATH_WORDS	64	/* 512 bytes: __schedule and the 4-8 frames that called it */
#define KERNEL_TEXT_MIN	0xffffffff80000000ULL	/* the kernel image and modules */

/*
 * The kernel path of the current task, without unwinding: ctx (the
 * tracepoint's arguments) lives on its kernel stack, and the words above it
 * hold the innermost frames. Return addresses are the kernel text values
 * among them; data pointers into the kernel image that a path keeps there
 * are as much its own. The window is read into the stack scratch buffer,
 * free until the walk. The entry's return address is just below the saved
 * user registers. Pointer subtraction needs CAP_PERFMON, which loading these
 * programs needs anyway.
 */
static __always_inline void kernel_path(void *ctx, struct task_struct *task,
					struct stack_cache_key *k, bool window)
{
	__u64 top = (__u64)bpf_task_pt_regs(task), h = 0xcbf29ce484222325ULL;
	__u64 room = top - (__u64)ctx, v, in, text, mask;
	__u64 i, n = KPATH_WORDS;
	struct stack_trace *st;

	if (bpf_probe_read_kernel(&k->kentry, sizeof(k->kentry), (void *)(top - 8)))
		k->kentry = 0;
	if (!window || room < 8)
		return;
	stack_capture_begin();		/* the scratch is overwritten */
	st = stack_scratch_get();
	if (!st)
		return;
	if (room < KPATH_WORDS * 8)
		n = room / 8;
	if (bpf_probe_read_kernel(st->ips, (n & (KPATH_WORDS * 2 - 1)) * 8 & (KPATH_WORDS * 8 * 2 - 1),
				  ctx))
		return;
	/* Branch-free, so the verifier sees one path, not 2^64: a word
	 * counts when it is below n and in kernel text. */
	for (i = 0; i < KPATH_WORDS; i++) {
		v = st->ips[i];
		in = ((__u64)i - n) >> 63;			/* i < n */
		text = (((v >> 31) ^ (KERNEL_TEXT_MIN >> 31)) - 1) >> 63; /* v >= KERNEL_TEXT_MIN */
		mask = 0 - (in & text);
		h ^= v & mask;
		h *= (0x100000001b3ULL & mask) | (1 & ~mask);
	}
	k->khash = h;
}

/* The user part of k: where the user stack is, and with which tables it is
 * walked (task is current, trusted). */
static __always_inline void stack_cache_user_key(struct task_struct *task, __u32 tgid,
						 struct stack_cache_key *k)
{
	read_user_regs(task, &k->regs);
	k->mm = (__u64)task->mm;
	k->generation = unwind_generation(tgid);
}

/*
 * Fills k for the current task (task is current, trusted). window: whether
 * the kernel path is hashed (see kernel_path). A syscall sleeping
 * interruptibly takes one path per call site in practice (0 disagreements
 * in 1,538 re-walks under pgbench), while the hash of that window varies
 * with stale words in uninitialised slots (it cut such hits from 84% to
 * 73%): it is for sleeps in D, preemptions and kernel threads.
 */
static __always_inline void stack_cache_key_of(void *ctx, struct task_struct *task, __u32 tgid,
					       __u8 state, bool user, bool window,
					       struct stack_cache_key *k)
{
	if (user)
		stack_cache_user_key(task, tgid, k);
	k->state = state;
	kernel_path(ctx, task, k, window);
}

/* Equal apart from the generation. */
static __always_inline bool stack_cache_same_place(const struct stack_cache_key *a,
						   const struct stack_cache_key *b)
{
	return a->regs.sp == b->regs.sp && a->regs.ip == b->regs.ip &&
	       a->khash == b->khash && a->regs.bp == b->regs.bp &&
	       a->regs.syscall_nr == b->regs.syscall_nr && a->kentry == b->kentry &&
	       a->mm == b->mm && a->state == b->state;
}

#define STACK_CACHE_FOUND_STALE	0x100
#define STACK_CACHE_UNCHECKED	0x200	/* the place matched; its words are to check */

/* Whether the return addresses noted in sl are still where they were: in
 * win, the stack's first len bytes above sp (rounded down to 8), or read
 * one by one beyond it. */
static __always_inline bool stack_cache_slots_hold(const struct stack_cache_slots *sl, __u64 sp,
						   const struct stack_trace *win, __u32 len)
{
	__u64 base = sp & ~7ULL, v, h = 0xcbf29ce484222325ULL;
	__u32 j;

	if (sl->len > len)
		return false;
	for (j = 0; j < STACK_SLOTS; j++) {
		__u64 w = sl->word[j];

		if (j >= sl->nr)
			break;
		if (w < MAX_STACK_DEPTH && w * 8 < len) {
			v = win->ips[w];
		} else if (bpf_probe_read_user(&v, sizeof(v), (void *)(base + w * 8))) {
			return false;
		}
		h = slot_hash_add(h, v);
	}
	return h == sl->hash;
}

/*
 * The way holding k's place: its index, with STACK_CACHE_FOUND_STALE when
 * it was walked with older unwind tables, or -1. With a window (win, len),
 * only a way whose return addresses it holds counts; without, the first way
 * of the place is returned, with STACK_CACHE_UNCHECKED when it noted any.
 * A global function, so the verifier checks it once and its callers see
 * one opaque result instead of a state per way (the stack walk after it is
 * verified once per state).
 */
__noinline int stack_cache_lookup(const struct stack_cache *c, const struct stack_cache_key *k,
				  const struct stack_trace *win, __u32 len)
{
	__u32 i;
	int r;

	if (!c || !k)
		return -1;
	for (i = 0; i < STACK_CACHE_WAYS; i++) {
		const struct stack_cache_entry *e = &c->e[i];

		if (!e->kern_stack_id && !e->user_stack_id)
			continue;	/* empty */
		if (!stack_cache_same_place(&e->key, k))
			continue;
		if (win && !stack_cache_slots_hold(&e->slots, k->regs.sp, win, len))
			continue;
		r = e->key.generation == k->generation ? (int)i : (int)(i | STACK_CACHE_FOUND_STALE);
		if (!win && e->slots.nr)
			r |= STACK_CACHE_UNCHECKED;
		return r;
	}
	return -1;
}

/*
 * Reads the first len bytes of the user stack above sp (rounded down) into
 * the scratch, as one read: NULL when it fails. The read begins a capture
 * (stacks.bpf.h): it overwrites the scratch.
 */
static __always_inline const struct stack_trace *stack_cache_window(__u64 sp, __u32 len)
{
	struct stack_trace *st;
	__u64 n = len;

	stack_capture_begin();
	st = stack_scratch_get();
	if (!st || len > STACK_CACHE_WINDOW)
		return NULL;
	if (!len)
		return st;	/* every slot is beyond: read one by one */
	/* The mask for the verifier (the area is larger than 1023 bytes),
	 * past the compiler, who knows n is small enough. */
	__asm__ volatile("" : "+r"(n));
	if (bpf_probe_read_user(st->ips, n & 1023,
				(void *)(sp & ~7ULL)))
		return NULL;
	return st;
}

/*
 * The cache's way for k: its index (with STACK_CACHE_FOUND_STALE), or -1.
 * The registers find the place; the return addresses the walk read from
 * the stack must still be there, read back in one bounded read (and those
 * beyond it one by one): two callers can reach one blocking point with the
 * same registers (the same depth, one function's two call sites, an
 * interpreter's calls into C), and they differ only in the stack's words.
 * A way of the place whose words differ is a miss, counted as
 * other_counter: the walk fills another way, so two such callers get a way
 * each. Global, like stack_cache_lookup: its callers see one result.
 */
__noinline int stack_cache_probe(const struct stack_cache *c, const struct stack_cache_key *k,
				 __u32 other_counter)
{
	const struct stack_cache_slots *slots;
	const struct stack_trace *win;
	__u32 len;
	int found;

	if (!c || !k)
		return -1;
	found = stack_cache_lookup(c, k, NULL, 0);
	if (found < 0 || !(found & STACK_CACHE_UNCHECKED))
		return found;
	slots = &c->e[found & (STACK_CACHE_WAYS - 1)].slots;
	len = slots->len;
	win = stack_cache_window(k->regs.sp, len);
	if (!win)
		return -1;
	if (stack_cache_slots_hold(slots, k->regs.sp, win, len))
		return found & ~STACK_CACHE_UNCHECKED;
	found = stack_cache_lookup(c, k, win, len);
	if (found < 0)
		counter_add(other_counter, 1);
	return found;
}

static __always_inline struct stack_cache_entry *
stack_cache_find(struct stack_cache *c, const struct stack_cache_key *k,
		 enum stack_cache_lookup *how, __u32 other_counter)
{
	int found = stack_cache_probe(c, k, other_counter);

	*how = STACK_CACHE_MISS;
	if (found < 0)
		return NULL;
	*how = found & STACK_CACHE_FOUND_STALE ? STACK_CACHE_STALE : STACK_CACHE_HIT;
	return &c->e[found & (STACK_CACHE_WAYS - 1)];
}

/* Whether this hit is to be walked anyway, to check the cache. */
static __always_inline bool stack_cache_verify_now(struct stack_cache *c, __u32 every)
{
	if (!every || ++c->hits_since_verify < every)
		return false;
	c->hits_since_verify = 0;
	return true;
}

/* The return addresses the user walk just made read (the scratch holds
 * its frames and slots). Global: verified once. */
__noinline int stack_cache_note_slots(struct stack_cache_slots *sl, __u64 sp)
{
	struct stack_scratch_area *a = stack_area_get();
	__u64 base = sp & ~7ULL, off, h = 0xcbf29ce484222325ULL;
	__u32 j, f, n = 0;

	if (!sl)
		return 0;
	sl->len = 0;
	sl->nr = 0;
	if (!a)
		return 0;
	for (j = 0; j < STACK_SLOTS; j++) {
		f = a->slot_frame[j];
		if (!f || f >= a->st.nr || f >= MAX_STACK_DEPTH)
			continue;
		off = a->slot[j] - base;
		if ((off >> 3) > STACK_SLOT_WORDS_MAX || (off & 7))
			continue;
		sl->word[n & (STACK_SLOTS - 1)] = off >> 3;
		h = slot_hash_add(h, a->st.ips[f]);
		n++;
		if (off + 8 <= STACK_CACHE_WINDOW && off + 8 > sl->len)
			sl->len = off + 8;
	}
	sl->hash = h;
	sl->nr = n;
	return n;
}

/* Keeps the stacks walked for k; user: the user walk is the scratch's last
 * capture (its return-address slots are noted). */
static __always_inline void stack_cache_fill(struct stack_cache *c, struct stack_cache_entry *e,
					     const struct stack_cache_key *k,
					     __u64 user_id, __u64 kern_id)
{
	if (!e) {
		e = &c->e[c->next & (STACK_CACHE_WAYS - 1)];
		c->next++;
	}
	e->key = *k;
	e->user_stack_id = user_id;
	e->kern_stack_id = kern_id;
	if (user_id)
		stack_cache_note_slots(&e->slots, k->regs.sp);
	else
		e->slots.nr = e->slots.len = 0;
}

#endif /* WAITPROF_STACK_CACHE_BPF_H */
