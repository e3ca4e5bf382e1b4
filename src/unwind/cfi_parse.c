// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Parses DWARF call frame information (.eh_frame or .debug_frame) into
 * x86-64 unwind rows (bpf/cfi.h), one run of rows per FDE. Only what an
 * x86-64 walker needs is tracked: the CFA, the caller's rbp and the return
 * address; every other register's rules are parsed and dropped. Anything
 * the walker cannot follow becomes an "unsupported" row, counted, rather
 * than a guess.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfi_parse.h"

#define DW_REG_RBP	6
#define DW_REG_RSP	7
#define DW_REG_RIP	16
#define REMEMBER_DEPTH	16

struct reader {
	const uint8_t *p, *end;
	bool err;
};

static uint64_t rd_bytes(struct reader *r, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return 0;
	}
	for (i = 0; i < n; i++)		/* little endian: x86-64 only */
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

/* The bits of a LEB128 number; *shift and *last (its last byte) tell a
 * signed reader where the sign bit is. 0 on a short read. */
static uint64_t rd_leb(struct reader *r, unsigned int *shift, uint8_t *last)
{
	uint64_t v = 0;
	uint8_t b;

	*shift = 0;
	*last = 0;
	do {
		if (r->err || r->p >= r->end) {
			r->err = true;
			return 0;
		}
		b = *r->p++;
		if (*shift < 64)
			v |= (uint64_t)(b & 0x7f) << *shift;
		*shift += 7;
	} while (b & 0x80);
	*last = b;
	return v;
}

static uint64_t rd_uleb(struct reader *r)
{
	unsigned int shift;
	uint8_t last;

	return rd_leb(r, &shift, &last);
}

static int64_t rd_sleb(struct reader *r)
{
	unsigned int shift;
	uint8_t last;
	uint64_t v = rd_leb(r, &shift, &last);

	if (shift < 64 && (last & 0x40))
		v |= ~0ULL << shift;
	return (int64_t)v;
}

static int64_t sign_extend(uint64_t v, unsigned int bytes)
{
	unsigned int shift = 64 - 8 * bytes;

	return (int64_t)(v << shift) >> shift;
}

/* A DW_EH_PE-encoded pointer; pc-relative ones are relative to the field's
 * own address. Indirect and data-relative forms are not used for FDE
 * addresses on x86-64 and make the entry unusable. */
static uint64_t rd_encoded(struct reader *r, uint8_t enc, const struct cfi_section *sec,
			   bool value_only)
{
	uint64_t field = sec->vaddr + (uint64_t)(r->p - sec->data);
	uint64_t v;

	if (enc == 0xff)		/* DW_EH_PE_omit */
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = rd_bytes(r, 8); break;
	case 0x01: v = rd_uleb(r); break;
	case 0x02: v = rd_bytes(r, 2); break;
	case 0x03: v = rd_bytes(r, 4); break;
	case 0x04: v = rd_bytes(r, 8); break;
	case 0x09: v = (uint64_t)rd_sleb(r); break;
	case 0x0a: v = (uint64_t)sign_extend(rd_bytes(r, 2), 2); break;
	case 0x0b: v = (uint64_t)sign_extend(rd_bytes(r, 4), 4); break;
	case 0x0c: v = rd_bytes(r, 8); break;
	default:
		r->err = true;
		return 0;
	}
	if (value_only)
		return v;
	switch (enc & 0x70) {
	case 0x00:
		break;
	case 0x10:			/* DW_EH_PE_pcrel */
		v += field;
		break;
	default:
		r->err = true;
	}
	if (enc & 0x80)			/* DW_EH_PE_indirect */
		r->err = true;
	return v;
}

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	bool has_z;
	bool signal;
	const uint8_t *insns, *insns_end;
};

enum rule_kind { RULE_SAME = 0, RULE_UNDEFINED, RULE_OFFSET, RULE_OTHER };

struct reg_rule {
	uint8_t kind;
	int64_t offset;			/* RULE_OFFSET: saved at cfa + offset */
};

struct cfa_state {
	bool expr;
	uint64_t reg;
	int64_t offset;
	const uint8_t *expr_p, *expr_end;
	struct reg_rule rbp, ra;
};

/*
 * A CIE's or FDE's initial length (64-bit DWARF after the 0xffffffff
 * escape), checked against what is left; r is narrowed to the entry.
 */
static int rd_entry_length(struct reader *r, uint64_t *len, bool *dwarf64)
{
	*dwarf64 = false;
	*len = rd_bytes(r, 4);
	if (*len == 0xffffffff) {
		*len = rd_bytes(r, 8);
		*dwarf64 = true;
	}
	if (r->err || *len > (uint64_t)(r->end - r->p))
		return -EINVAL;
	r->end = r->p + *len;
	return 0;
}

/* The id field that marks a CIE: 0 in .eh_frame, all ones in .debug_frame
 * (an FDE has a CIE pointer there instead). */
static bool is_cie_id(const struct cfi_section *sec, uint64_t id, bool dwarf64)
{
	return sec->eh ? id == 0 : id == (dwarf64 ? ~0ULL : 0xffffffffULL);
}

static int parse_cie(const struct cfi_section *sec, uint64_t off, struct cie *cie)
{
	struct reader r = { sec->data + off, sec->data + sec->size, false };
	uint64_t len, id, aug_len;
	const char *aug;
	const uint8_t *aug_end = NULL;
	uint8_t version;
	bool dwarf64 = false, unknown = false;

	memset(cie, 0, sizeof(*cie));
	if (rd_entry_length(&r, &len, &dwarf64))
		return -EINVAL;
	id = rd_bytes(&r, dwarf64 ? 8 : 4);
	if (!is_cie_id(sec, id, dwarf64))
		return -EINVAL;
	version = (uint8_t)rd_bytes(&r, 1);
	if (version != 1 && version != 3 && version != 4)
		return -EINVAL;
	aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	if (r.p >= r.end)
		return -EINVAL;
	r.p++;
	if (version == 4) {
		if (rd_bytes(&r, 1) != 8 || rd_bytes(&r, 1) != 0)	/* address, segment size */
			return -EINVAL;
	}
	cie->code_align = rd_uleb(&r);
	cie->data_align = rd_sleb(&r);
	cie->ra_reg = version == 1 ? rd_bytes(&r, 1) : rd_uleb(&r);
	cie->fde_enc = 0;		/* DW_EH_PE_absptr */
	if (*aug == 'z') {
		cie->has_z = true;
		aug_len = rd_uleb(&r);
		if (r.err || aug_len > (uint64_t)(r.end - r.p))
			return -EINVAL;
		aug_end = r.p + aug_len;
		aug++;
	} else if (*aug) {
		return -ENOTSUP;	/* "eh" and other pre-'z' forms */
	}
	for (; *aug && !r.err && !unknown; aug++) {
		switch (*aug) {
		case 'R':
			cie->fde_enc = (uint8_t)rd_bytes(&r, 1);
			break;
		case 'L':
			rd_bytes(&r, 1);
			break;
		case 'P': {
			uint8_t enc = (uint8_t)rd_bytes(&r, 1);

			rd_encoded(&r, enc & 0x7f, sec, true);
			break;
		}
		case 'S':
			cie->signal = true;
			break;
		default:		/* unknown: 'z' lets us skip the rest */
			unknown = true;
		}
	}
	if (aug_end)
		r.p = aug_end;
	if (r.err || r.p > r.end)
		return -EINVAL;
	cie->insns = r.p;
	cie->insns_end = r.end;
	return 0;
}

/* Room for element nr of *arr (size bytes each), doubling from first. */
static int make_room(void **arr, size_t *cap, size_t nr, size_t size, size_t first)
{
	size_t n;
	void *p;

	if (nr < *cap)
		return 0;
	n = *cap ? *cap * 2 : first;
	p = realloc(*arr, n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static int push_raw(struct cfi_builder *b, uint64_t pc, const struct cfi_row *row)
{
	if (make_room((void **)&b->raw, &b->cap_raw, b->nr_raw, sizeof(*b->raw), 4096))
		return -ENOMEM;
	b->raw[b->nr_raw].pc = pc;
	b->raw[b->nr_raw].row = *row;
	b->nr_raw++;
	return 0;
}

/* cfa = rsp + N + ((rip & 15) >= T) << 3, as GCC and binutils write it for
 * the PLT. Returns the rule, or CFI_CFA_UNSUPPORTED. */
static uint8_t match_plt(const uint8_t *p, const uint8_t *end, int64_t *offset)
{
	static const uint8_t tail[] = { 0x80, 0x00, 0x3f, 0x1a, 0x00, 0x2a, 0x33, 0x24, 0x22 };
	struct reader r = { p, end, false };
	size_t i;
	uint8_t threshold;

	if (rd_bytes(&r, 1) != 0x77)	/* DW_OP_breg7 (rsp) */
		return CFI_CFA_UNSUPPORTED;
	*offset = rd_sleb(&r);
	if (r.err || (size_t)(r.end - r.p) != sizeof(tail))
		return CFI_CFA_UNSUPPORTED;
	for (i = 0; i < sizeof(tail); i++) {
		if (i == 4)
			continue;
		if (r.p[i] != tail[i])
			return CFI_CFA_UNSUPPORTED;
	}
	threshold = r.p[4];		/* DW_OP_lit11 or DW_OP_lit10 */
	if (threshold == 0x3b)
		return CFI_CFA_PLT11;
	if (threshold == 0x3a)
		return CFI_CFA_PLT10;
	return CFI_CFA_UNSUPPORTED;
}

static uint8_t classify_cfa(const struct cfa_state *st, const struct cie *cie, int64_t *off)
{
	uint8_t rule;

	*off = st->offset;
	if (cie->signal)
		return CFI_CFA_SIGNAL;
	if (st->ra.kind == RULE_UNDEFINED)
		return CFI_CFA_END;
	if (cie->ra_reg != DW_REG_RIP || st->ra.kind != RULE_OFFSET || st->ra.offset != -8)
		return CFI_CFA_UNSUPPORTED;
	if (st->expr)
		rule = match_plt(st->expr_p, st->expr_end, off);
	else if (st->reg == DW_REG_RSP)
		rule = CFI_CFA_RSP;
	else if (st->reg == DW_REG_RBP)
		rule = CFI_CFA_RBP;
	else
		return CFI_CFA_UNSUPPORTED;
	/* Row offsets are 16-bit multiples of 8 (bpf/cfi.h). */
	if ((*off & 7) || *off / 8 < INT16_MIN || *off / 8 > INT16_MAX)
		return CFI_CFA_UNSUPPORTED;
	return rule;
}

static void classify(const struct cfa_state *st, const struct cie *cie, struct cfi_row *row)
{
	uint8_t cfa_rule, rbp_rule = CFI_RBP_SAME;
	int64_t off;

	memset(row, 0, sizeof(*row));
	cfa_rule = classify_cfa(st, cie, &off);
	if (cfa_rule != CFI_CFA_RSP && cfa_rule != CFI_CFA_RBP && cfa_rule != CFI_CFA_PLT11 &&
	    cfa_rule != CFI_CFA_PLT10) {
		row->rules = CFI_ROW_RULES(cfa_rule, CFI_RBP_SAME);
		return;
	}
	row->cfa_offset8 = (int16_t)(off / 8);
	if (st->rbp.kind == RULE_OFFSET && !(st->rbp.offset & 7) &&
	    st->rbp.offset / 8 >= INT8_MIN && st->rbp.offset / 8 <= INT8_MAX) {
		rbp_rule = CFI_RBP_AT_CFA;
		row->rbp_offset8 = (int8_t)(st->rbp.offset / 8);
	} else if (st->rbp.kind != RULE_SAME) {
		rbp_rule = CFI_RBP_UNDEFINED;
	}
	row->rules = CFI_ROW_RULES(cfa_rule, rbp_rule);
}

static void set_reg(struct cfa_state *st, const struct cie *cie, uint64_t reg,
		    uint8_t kind, int64_t offset)
{
	struct reg_rule rule = { kind, offset };

	if (reg == DW_REG_RBP)
		st->rbp = rule;
	else if (reg == cie->ra_reg)
		st->ra = rule;
}

static void restore_reg(struct cfa_state *st, const struct cfa_state *init,
			const struct cie *cie, uint64_t reg)
{
	if (reg == DW_REG_RBP)
		st->rbp = init->rbp;
	else if (reg == cie->ra_reg)
		st->ra = init->ra;
}

struct cfa_program {
	const struct cie *cie;
	const struct cfi_section *sec;
	const struct cfa_state *init;	/* NULL while running the CIE's own program */
	uint64_t loc, end;		/* end == 0: CIE program, no rows */
	struct cfi_builder *b;
};

static int emit(struct cfa_program *pg, const struct cfa_state *st, uint64_t next)
{
	struct cfi_row row;

	if (!pg->end || next <= pg->loc || pg->loc >= pg->end)
		return 0;
	classify(st, pg->cie, &row);
	return push_raw(pg->b, pg->loc, &row);
}

/* Runs one CFA program; rows are emitted at each location advance. */
static int run_program(struct cfa_program *pg, const uint8_t *p, const uint8_t *end,
		       struct cfa_state *st)
{
	struct cfa_state saved[REMEMBER_DEPTH];
	unsigned int depth = 0;
	struct reader r = { p, end, false };
	const struct cie *cie = pg->cie;
	uint64_t reg, next, len;
	int err;

	while (r.p < r.end && !r.err) {
		uint8_t op = (uint8_t)rd_bytes(&r, 1);
		uint8_t low = op & 0x3f;

		next = pg->loc;
		switch (op >> 6) {
		case 1:			/* DW_CFA_advance_loc */
			next = pg->loc + low * cie->code_align;
			goto advance;
		case 2:			/* DW_CFA_offset */
			set_reg(st, cie, low, RULE_OFFSET, (int64_t)rd_uleb(&r) * cie->data_align);
			continue;
		case 3:			/* DW_CFA_restore */
			if (pg->init)
				restore_reg(st, pg->init, cie, low);
			continue;
		}
		switch (op) {
		case 0x00:		/* nop */
			continue;
		case 0x01:		/* set_loc */
			next = rd_encoded(&r, cie->fde_enc, pg->sec, false);
			goto advance;
		case 0x02: next = pg->loc + rd_bytes(&r, 1) * cie->code_align; goto advance;
		case 0x03: next = pg->loc + rd_bytes(&r, 2) * cie->code_align; goto advance;
		case 0x04: next = pg->loc + rd_bytes(&r, 4) * cie->code_align; goto advance;
		case 0x05:		/* offset_extended */
			reg = rd_uleb(&r);
			set_reg(st, cie, reg, RULE_OFFSET, (int64_t)rd_uleb(&r) * cie->data_align);
			continue;
		case 0x06:		/* restore_extended */
			reg = rd_uleb(&r);
			if (pg->init)
				restore_reg(st, pg->init, cie, reg);
			continue;
		case 0x07:		/* undefined */
			set_reg(st, cie, rd_uleb(&r), RULE_UNDEFINED, 0);
			continue;
		case 0x08:		/* same_value */
			set_reg(st, cie, rd_uleb(&r), RULE_SAME, 0);
			continue;
		case 0x09:		/* register */
			reg = rd_uleb(&r);
			rd_uleb(&r);
			set_reg(st, cie, reg, RULE_OTHER, 0);
			continue;
		case 0x0a:		/* remember_state: the CFA is part of the state */
			if (depth == REMEMBER_DEPTH)
				return -E2BIG;
			saved[depth++] = *st;
			continue;
		case 0x0b:		/* restore_state */
			if (!depth)
				return -EINVAL;
			*st = saved[--depth];
			continue;
		case 0x0c:		/* def_cfa */
			st->expr = false;
			st->reg = rd_uleb(&r);
			st->offset = (int64_t)rd_uleb(&r);
			continue;
		case 0x0d:		/* def_cfa_register */
			st->expr = false;
			st->reg = rd_uleb(&r);
			continue;
		case 0x0e:		/* def_cfa_offset */
			st->offset = (int64_t)rd_uleb(&r);
			continue;
		case 0x0f:		/* def_cfa_expression */
			len = rd_uleb(&r);
			if (r.err || len > (uint64_t)(r.end - r.p))
				return -EINVAL;
			st->expr = true;
			st->expr_p = r.p;
			st->expr_end = r.p + len;
			r.p += len;
			continue;
		case 0x10:		/* expression */
		case 0x16:		/* val_expression */
			reg = rd_uleb(&r);
			len = rd_uleb(&r);
			if (r.err || len > (uint64_t)(r.end - r.p))
				return -EINVAL;
			r.p += len;
			set_reg(st, cie, reg, RULE_OTHER, 0);
			continue;
		case 0x11:		/* offset_extended_sf */
			reg = rd_uleb(&r);
			set_reg(st, cie, reg, RULE_OFFSET, rd_sleb(&r) * cie->data_align);
			continue;
		case 0x12:		/* def_cfa_sf */
			st->expr = false;
			st->reg = rd_uleb(&r);
			st->offset = rd_sleb(&r) * cie->data_align;
			continue;
		case 0x13:		/* def_cfa_offset_sf */
			st->offset = rd_sleb(&r) * cie->data_align;
			continue;
		case 0x14:		/* val_offset */
		case 0x15:		/* val_offset_sf */
			reg = rd_uleb(&r);
			if (op == 0x14)
				rd_uleb(&r);
			else
				rd_sleb(&r);
			set_reg(st, cie, reg, RULE_OTHER, 0);
			continue;
		case 0x2e:		/* GNU_args_size */
			rd_uleb(&r);
			continue;
		case 0x2f:		/* GNU_negative_offset_extended */
			reg = rd_uleb(&r);
			set_reg(st, cie, reg, RULE_OFFSET, -(int64_t)rd_uleb(&r) * cie->data_align);
			continue;
		default:
			return -ENOTSUP;
		}
advance:
		if (r.err)
			break;
		if (!pg->end)		/* a location op in a CIE: ignore */
			continue;
		if (next < pg->loc)
			return -EINVAL;
		err = emit(pg, st, next);
		if (err)
			return err;
		pg->loc = next;
	}
	return r.err ? -EINVAL : 0;
}

static int push_span(struct cfi_builder *b, uint64_t start, uint64_t end, size_t first)
{
	struct cfi_fde_span *span;

	if (make_room((void **)&b->spans, &b->cap_spans, b->nr_spans, sizeof(*b->spans), 1024))
		return -ENOMEM;
	span = &b->spans[b->nr_spans];
	span->start = start;
	span->end = end;
	span->first = (uint32_t)first;
	span->nr = (uint32_t)(b->nr_raw - first);
	span->order = (uint32_t)b->nr_spans;
	b->nr_spans++;
	return 0;
}

/* One FDE at r (after its CIE pointer), given its CIE. */
static int parse_fde(struct cfi_builder *b, const struct cfi_section *sec, struct reader *r,
		     const struct cie *cie)
{
	struct cfa_state init = { 0 }, st;
	struct cfa_program pg = { cie, sec, NULL, 0, 0, b };
	uint64_t start, range, aug_len;
	size_t first = b->nr_raw;
	int err;

	start = rd_encoded(r, cie->fde_enc, sec, false);
	range = rd_encoded(r, cie->fde_enc & 0x0f, sec, true);
	if (cie->has_z) {
		aug_len = rd_uleb(r);
		if (r->err || aug_len > (uint64_t)(r->end - r->p))
			return -EINVAL;
		r->p += aug_len;
	}
	if (r->err)
		return -EINVAL;
	if (!range || !start)		/* discarded by the linker */
		return 0;
	if (start + range < start)
		return -EINVAL;
	init.reg = DW_REG_RSP;
	err = run_program(&pg, cie->insns, cie->insns_end, &init);
	if (err)
		return err;
	st = init;
	pg.init = &init;
	pg.loc = start;
	pg.end = start + range;
	err = run_program(&pg, r->p, r->end, &st);
	if (!err)
		err = emit(&pg, &st, pg.end);
	if (err) {
		b->nr_raw = first;	/* drop the partial FDE */
		return err;
	}
	return push_span(b, start, pg.end, first);
}

/* Every FDE of one .eh_frame or .debug_frame section. */
int cfi_parse_section(struct cfi_builder *b, const struct cfi_section *sec)
{
	uint64_t off = 0, len, id, cie_off;
	struct cie cie;
	int err;

	while (off + 4 <= sec->size) {
		struct reader r = { sec->data + off, sec->data + sec->size, false };
		const uint8_t *id_field;
		bool dwarf64;

		if (rd_entry_length(&r, &len, &dwarf64))
			return -EINVAL;
		if (len == 0)		/* .eh_frame terminator (or padding) */
			break;
		id_field = r.p;
		id = rd_bytes(&r, dwarf64 ? 8 : 4);
		off = (uint64_t)(r.end - sec->data);
		if (is_cie_id(sec, id, dwarf64))
			continue;	/* a CIE: parsed when an FDE names it */
		cie_off = sec->eh ? (uint64_t)(id_field - sec->data) - id : id;
		if (cie_off >= sec->size || parse_cie(sec, cie_off, &cie)) {
			b->stats->fdes_bad++;
			continue;
		}
		err = parse_fde(b, sec, &r, &cie);
		if (err == -ENOMEM)
			return err;
		if (err)
			b->stats->fdes_bad++;
	}
	return 0;
}
