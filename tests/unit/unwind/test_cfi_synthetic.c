// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The walker's rules on hand-made stacks over libc's real table: the PLT
 * expression on both sides of its push, a signal frame, every stop reason,
 * and no read outside [rsp, stack_end) whatever the stack holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfi_table.h"
#include "test_cfi.h"

#define FAKE_SP		0x7ffd00001000ULL
#define FAKE_BIAS	0x7f0000000000ULL
#define FAKE_WORDS	128

struct fake_stack {
	uint64_t words[FAKE_WORDS];
	uint64_t lo, hi;	/* reads must stay inside */
	uint32_t violations;
};

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_stack *fs = ctx;

	if (addr < fs->lo || addr + len > fs->hi)
		fs->violations++;
	if (addr < FAKE_SP || addr + len > FAKE_SP + sizeof(fs->words))
		return -EFAULT;
	memcpy(buf, (char *)fs->words + (addr - FAKE_SP), len);
	return 0;
}

struct fixture {
	struct cfi_table *libc;
	struct cfi_pool pool;
	struct cfi_proc proc;
};

static int fixture_init(struct fixture *fx)
{
	struct cfi_map map = { 0 };
	struct cfi_proc_maps pm = { 0 };
	char libc[400];

	memset(fx, 0, sizeof(*fx));
	if (test_libc_path(libc, sizeof(libc)) || cfi_table_build(libc, &fx->libc))
		return -ENOENT;
	map.start = FAKE_BIAS;
	map.end = FAKE_BIAS + (16 << 20);
	map.bias = FAKE_BIAS;
	map.table = fx->libc;
	pm.maps = &map;
	pm.nr = 1;
	return cfi_proc_pack(&pm, &fx->pool, &fx->proc);
}

/* Runtime address of the first row with rule, at least min_len bytes long. */
static uint64_t find_row(const struct cfi_table *t, uint8_t rule, int32_t offset, uint32_t min_len)
{
	uint32_t i;

	for (i = 0; i + 1 < t->nr_rows; i++) {
		const struct cfi_row *r = &t->rows[i];

		if (CFI_ROW_CFA_RULE(r) == rule && (offset < 0 || CFI_ROW_CFA_OFFSET(r) == offset) &&
		    t->rows[i + 1].pc - r->pc >= min_len)
			return FAKE_BIAS + t->base + r->pc;
	}
	return 0;
}

static uint32_t walk(struct fixture *fx, struct fake_stack *fs, uint64_t rip, uint64_t rsp,
		     uint64_t rbp, uint64_t stack_end, uint64_t *ips, uint32_t max,
		     struct cfi_unwind_result *res)
{
	struct cfi_regs regs = { rip, rsp, rbp };

	fs->lo = rsp;
	fs->hi = stack_end;
	fs->violations = 0;
	return cfi_unwind_user(&regs, stack_end, &fx->proc, fx->pool.rows, fx->pool.nr,
			       fake_read, fs, ips, max, res);
}

int test_unwind_synthetic(void)
{
	uint64_t plt, ra, sig, rbp_row, gap, ips[16];
	struct cfi_unwind_result res;
	struct fake_stack fs;
	struct fixture fx;
	const uint64_t end = FAKE_SP + sizeof(fs.words);
	uint32_t n, i;

	if (fixture_init(&fx)) {
		CHECK(0, "no libc table");
		return -1;
	}
	plt = find_row(fx.libc, CFI_CFA_PLT11, -1, 32);
	ra = find_row(fx.libc, CFI_CFA_RSP, 8, 4) + 2;	/* ra - 1 is inside the row */
	sig = find_row(fx.libc, CFI_CFA_SIGNAL, -1, 1);
	rbp_row = find_row(fx.libc, CFI_CFA_RBP, -1, 1);
	gap = find_row(fx.libc, CFI_CFA_NONE, -1, 4);
	CHECK(plt && ra > 2 && sig && rbp_row && gap,
	      "rows missing: plt %lx ra %lx sig %lx rbp %lx gap %lx", plt, ra, sig, rbp_row, gap);

	/* PLT entry before its push (offset 6 of 16): cfa = rsp + 8. */
	memset(&fs, 0, sizeof(fs));
	fs.words[0] = ra;
	n = walk(&fx, &fs, plt + 16 + 6, FAKE_SP, 0, end, ips, 16, &res);
	CHECK(n == 2 && ips[1] == ra && res.stop == CFI_STOP_ZERO_RA,
	      "plt+6: %u frames, ips[1] %lx, stop %s", n, ips[1], cfi_stop_name(res.stop));

	/* After the push (offset 11): cfa = rsp + 16. */
	memset(&fs, 0, sizeof(fs));
	fs.words[0] = 0x55;
	fs.words[1] = ra;
	n = walk(&fx, &fs, plt + 16 + 11, FAKE_SP, 0, end, ips, 16, &res);
	CHECK(n == 2 && ips[1] == ra && res.stop == CFI_STOP_ZERO_RA,
	      "plt+11: %u frames, ips[1] %lx, stop %s", n, ips[1], cfi_stop_name(res.stop));

	/* The same with the stack ending before the return address. */
	n = walk(&fx, &fs, plt + 16 + 11, FAKE_SP, 0, FAKE_SP + 8, ips, 16, &res);
	CHECK(n == 1 && res.stop == CFI_STOP_BOUNDS && fs.violations == 0,
	      "bounds: %u frames, stop %s, %u bad reads", n, cfi_stop_name(res.stop), fs.violations);

	/* CFA from an rbp below the stack pointer: must not go down. */
	n = walk(&fx, &fs, rbp_row, FAKE_SP, FAKE_SP - 256, end, ips, 16, &res);
	CHECK(n == 1 && res.stop == CFI_STOP_CFA_ORDER && res.reads == 0,
	      "cfa order: %u frames, stop %s, %u reads", n, cfi_stop_name(res.stop), res.reads);

	/* Signal frame: registers from the ucontext at rsp; next pc is exact. */
	memset(&fs, 0, sizeof(fs));
	fs.words[CFI_SIGFRAME_RBP / 8] = 0x1234;
	fs.words[CFI_SIGFRAME_RSP / 8] = FAKE_SP + 0x200;
	fs.words[CFI_SIGFRAME_RIP / 8] = ra - 2;	/* exact: first byte of the row */
	n = walk(&fx, &fs, sig + 1, FAKE_SP, 0, end, ips, 16, &res);
	CHECK(n == 2 && ips[1] == ra - 2 && res.stop == CFI_STOP_ZERO_RA && fs.violations == 0,
	      "signal: %u frames, ips[1] %lx, stop %s", n, ips[1], cfi_stop_name(res.stop));
	/* ... and an interrupted rsp below the frame (sigaltstack) stops. */
	fs.words[CFI_SIGFRAME_RSP / 8] = FAKE_SP - 0x200;
	n = walk(&fx, &fs, sig + 1, FAKE_SP, 0, end, ips, 16, &res);
	CHECK(n == 1 && res.stop == CFI_STOP_CFA_ORDER, "sigaltstack: %u frames, stop %s", n,
	      cfi_stop_name(res.stop));

	/* Outside any mapping, in a gap between FDEs. */
	n = walk(&fx, &fs, 0x1000, FAKE_SP, 0, end, ips, 16, &res);
	CHECK(n == 1 && res.stop == CFI_STOP_NO_MAPPING, "no mapping: stop %s", cfi_stop_name(res.stop));
	n = walk(&fx, &fs, gap + 1, FAKE_SP, 0, end, ips, 16, &res);
	CHECK(n == 1 && res.stop == CFI_STOP_NO_CFI, "gap: stop %s", cfi_stop_name(res.stop));

	/* A stack of return addresses into a leaf-like row: the depth bound. */
	for (i = 0; i < FAKE_WORDS; i++)
		fs.words[i] = ra;
	n = walk(&fx, &fs, ra - 2, FAKE_SP, 0, end, ips, 8, &res);
	CHECK(n == 8 && res.stop == CFI_STOP_DEPTH && fs.violations == 0,
	      "depth: %u frames, stop %s", n, cfi_stop_name(res.stop));

	/* Garbage everywhere: whatever happens, no read leaves the stack. */
	srand(7);
	for (i = 0; i < 20000; i++) {
		uint32_t w;

		for (w = 0; w < FAKE_WORDS; w++)
			fs.words[w] = rand() % 3 ? ra + (uint64_t)(rand() % 4096) * 16 :
				      (uint64_t)rand() << 16;
		walk(&fx, &fs, FAKE_BIAS + fx.libc->base + (uint64_t)(rand() % (1 << 20)),
		     FAKE_SP + (rand() % 64) * 8, FAKE_SP + (rand() % 128) * 8, end, ips, 16, &res);
		if (fs.violations)
			break;
	}
	CHECK(fs.violations == 0, "random stacks: read outside the stack");
	printf("synthetic: plt %lx, signal %lx, rbp row %lx checked\n", plt, sig, rbp_row);
	cfi_pool_free(&fx.pool);
	cfi_table_free(fx.libc);
	return 0;
}
