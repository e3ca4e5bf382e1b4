// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The signal frame as both walkers read it (bpf/cfi.h CFI_SIGFRAME_*): the
 * offsets against the kernel's struct sigcontext and glibc's ucontext_t,
 * then in a real handler: the return address is glibc's __restore_rt
 * (mov $15,%rax; syscall), rsp there points at the ucontext, the
 * registers read at the walker's offsets are the interrupted ones, and the
 * libc table's row for the trampoline is CFI_CFA_SIGNAL.
 */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ucontext.h>

#include "cfi_table.h"
#include "test_cfi.h"

/* uc_flags, uc_link, uc_stack (ss_sp, ss_flags + padding, ss_size). */
#define UC_MCONTEXT	40

/* The kernel's own headers are checked in test_cfi_sigframe_uapi.c (they
 * cannot share a file with glibc's <signal.h>). */
_Static_assert(offsetof(ucontext_t, uc_mcontext) == UC_MCONTEXT, "ucontext layout");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_RBP]) == CFI_SIGFRAME_RBP, "rbp");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_RSP]) == CFI_SIGFRAME_RSP, "rsp");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) == CFI_SIGFRAME_RIP, "rip");

static const uint8_t restore_rt[] = { 0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05 };

static struct {
	void *ra;			/* the handler's return address */
	uint64_t slot;			/* the word below the ucontext */
	uint64_t rip, rsp, rbp;		/* read at the walker's offsets */
	uint64_t want_rip, want_rsp, want_rbp;
} seen;

__attribute__((noinline)) static void on_signal(int sig, siginfo_t *info, void *uctx)
{
	const uint8_t *uc = uctx;
	const ucontext_t *u = uctx;

	(void)sig;
	(void)info;
	seen.ra = __builtin_extract_return_addr(__builtin_return_address(0));
	memcpy(&seen.slot, uc - 8, 8);	/* pretcode, popped by the handler's ret */
	memcpy(&seen.rbp, uc + CFI_SIGFRAME_RBP, 8);
	memcpy(&seen.rsp, uc + CFI_SIGFRAME_RSP, 8);
	memcpy(&seen.rip, uc + CFI_SIGFRAME_RIP, 8);
	seen.want_rip = (uint64_t)u->uc_mcontext.gregs[REG_RIP];
	seen.want_rsp = (uint64_t)u->uc_mcontext.gregs[REG_RSP];
	seen.want_rbp = (uint64_t)u->uc_mcontext.gregs[REG_RBP];
}

/* The libc row in force at the trampoline's return-address lookup (ra - 1). */
static int trampoline_rule(uint64_t ra)
{
	struct cfi_proc_maps pm = { 0 };
	struct cfi_cache *cache = cfi_cache_new();
	const struct cfi_map *m;
	const struct cfi_row *row;
	int rule = -1;

	if (!cache || cfi_proc_maps_load(getpid(), cache, &pm))
		goto out;
	m = cfi_proc_find(&pm, ra);
	if (m && m->table) {
		row = cfi_table_lookup(m->table, ra - 1 - m->bias);
		rule = row ? CFI_ROW_CFA_RULE(row) : -1;
	}
out:
	cfi_proc_maps_free(&pm);
	cfi_cache_free(cache);
	return rule;
}

int test_sigframe(void)
{
	struct sigaction sa;
	int rule;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	CHECK(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	raise(SIGUSR1);
	CHECK(seen.ra && !memcmp(seen.ra, restore_rt, sizeof(restore_rt)),
	      "the handler returns to %p, not to mov $15,%%rax; syscall", seen.ra);
	CHECK(seen.slot == (uint64_t)seen.ra, "rsp at the trampoline is not the ucontext: "
	      "word below it %#lx, return address %p", (unsigned long)seen.slot, seen.ra);
	CHECK(seen.rip == seen.want_rip && seen.rsp == seen.want_rsp && seen.rbp == seen.want_rbp,
	      "registers at the walker's offsets differ from uc_mcontext's");
	CHECK(seen.rsp > (uint64_t)&sa - 4096 && seen.rip, "interrupted rsp %#lx, rip %#lx",
	      (unsigned long)seen.rsp, (unsigned long)seen.rip);
	rule = trampoline_rule((uint64_t)seen.ra);
	CHECK(rule == CFI_CFA_SIGNAL, "libc row before __restore_rt: rule %d, not signal", rule);
	printf("sigframe: handler returns to %p (__restore_rt), ucontext at rsp, interrupted rip "
	       "%#lx rsp %#lx, row rule %d\n", seen.ra, (unsigned long)seen.rip,
	       (unsigned long)seen.rsp, rule);
	return 0;
}
