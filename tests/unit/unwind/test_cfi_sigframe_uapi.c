// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CFI_SIGFRAME_* (bpf/cfi.h) against the kernel's UAPI: the rt_sigframe
 * the kernel builds holds a struct ucontext whose uc_mcontext is a struct
 * sigcontext; at __restore_rt, rsp points at that ucontext. A compile-time
 * test: a wrong offset does not build.
 */
#include <stddef.h>
#include <asm/sigcontext.h>
#include <asm/signal.h>
#include <asm/ucontext.h>

#include "cfi.h"

_Static_assert(offsetof(struct ucontext, uc_mcontext) + offsetof(struct sigcontext, rbp) ==
	       CFI_SIGFRAME_RBP, "saved rbp");
_Static_assert(offsetof(struct ucontext, uc_mcontext) + offsetof(struct sigcontext, rsp) ==
	       CFI_SIGFRAME_RSP, "saved rsp");
_Static_assert(offsetof(struct ucontext, uc_mcontext) + offsetof(struct sigcontext, rip) ==
	       CFI_SIGFRAME_RIP, "saved rip");

/* Something to link: the asserts are the test. */
int test_sigframe_uapi_checked = 1;
