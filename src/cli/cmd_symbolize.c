// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * waitprof symbolize: addresses to function and file:line, with the output
 * of eu-addr2line (same options, same lines) so the two can be diffed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "symbolize.h"

struct symbolize_args {
	const char *elf_path;
	int pid;
	bool kernel;
	bool addresses;
	bool functions;
	bool inlines;
	int width;		/* hex digits of an address: 16, or 8 for ELF32 */
};

struct symbolize_ctx {
	struct symbolize_args args;
	struct symbolizer *sym;
	struct proc_maps *maps;
	int bad_input;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: waitprof symbolize [-p PID | -e ELF | -k] [-a] [-f] [-i] [-C] [ADDR...]\n\n"
		"Prints the source location of each ADDR (hex, with or without 0x; read from\n"
		"stdin, one per line, when none is given), in eu-addr2line's format.\n\n"
		"  -e, --executable=ELF  addresses are virtual addresses of ELF (default a.out)\n"
		"  -p, --pid=PID         addresses are in the memory of process PID\n"
		"  -k, --kernel          addresses are kernel addresses (/proc/kallsyms)\n"
		"  -a, --addresses       print each address before its entry\n"
		"  -f, --functions       print function names\n"
		"  -i, --inlines         print the inlined calls too, innermost first\n"
		"  -C, --demangle        demangle C++ and Rust names\n"
		"      --debuginfo-path=DIR  separate debug files (default /usr/lib/debug)\n");
}

static void print_location(const char *file, unsigned int line, unsigned int column)
{
	if (!file)
		fputs("??:0\n", stdout);
	else if (column)
		printf("%s:%u:%u\n", file, line, column);
	else
		printf("%s:%u\n", file, line);
}

/* eu-addr2line's function line for an inlined innermost frame reads
 * "NAME inlined at CALLSITE in SYMBOL", SYMBOL from the symbol table. */
static void print_inlined_head(const struct sym_frame *inner, const struct sym_frame *caller)
{
	printf("%s inlined", inner->name ?: "??");
	if (caller->file) {
		if (!caller->line)
			printf(" from %s", caller->file);
		else if (!caller->column)
			printf(" at %s:%u", caller->file, caller->line);
		else
			printf(" at %s:%u:%u", caller->file, caller->line, caller->column);
	}
	printf(" in %s\n", inner->symbol ?: "??");
}

static void print_result(const struct symbolize_args *args, const struct sym_result *res,
			 const char *data_name)
{
	const struct sym_frame *first = res->nr ? &res->frames[0] : NULL;
	const char *name = first && first->name ? first->name : data_name;
	size_t i;

	if (args->functions) {
		if (first && first->inlined && res->nr > 1)
			print_inlined_head(first, &res->frames[1]);
		else
			printf("%s\n", name ?: "??");
	}
	if (first)
		print_location(first->file, first->line, first->column);
	else
		print_location(NULL, 0, 0);
	if (!args->inlines)
		return;
	for (i = 1; i < res->nr; i++) {
		if (args->functions)
			printf("%s\n", res->frames[i].name ?: "??");
		print_location(res->frames[i].file, res->frames[i].line, res->frames[i].column);
	}
}

static bool parse_address(const char *text, uint64_t *addr)
{
	char *end;

	while (*text == ' ' || *text == '\t')
		text++;
	if (!*text)
		return false;
	errno = 0;
	*addr = strtoull(text, &end, 16);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	return !errno && end != text && *end == '\0';
}

static int handle_address(struct symbolize_ctx *ctx, const char *text)
{
	struct sym_result res = { 0 };
	const char *data_name = NULL;
	uint64_t addr;
	int err;

	if (!parse_address(text, &addr)) {
		fflush(stdout);
		fprintf(stderr, "waitprof symbolize: invalid address '%s' (want hex)\n", text);
		ctx->bad_input = 1;
		return 0;
	}
	if (ctx->args.addresses)
		printf("0x%.*" PRIx64 "\n", ctx->args.width, addr);
	if (ctx->args.kernel)
		err = sym_kernel(ctx->sym, addr, &res);
	else if (ctx->maps)
		err = sym_user(ctx->sym, ctx->maps, addr, &res);
	else
		err = sym_elf(ctx->sym, ctx->args.elf_path, addr, &res);
	if (err == -ENOMEM) {
		fprintf(stderr, "waitprof symbolize: out of memory\n");
		return err;
	}
	/* Like eu-addr2line, name the variable when no function holds addr. */
	if (ctx->args.functions && ctx->args.elf_path && !(res.nr && res.frames[0].name))
		sym_elf_data(ctx->sym, ctx->args.elf_path, addr, &data_name, NULL);
	else if (ctx->args.functions && ctx->maps && !(res.nr && res.frames[0].name))
		sym_data(ctx->sym, ctx->maps, addr, &data_name, NULL);
	print_result(&ctx->args, &res, data_name);
	return 0;
}

/* Lines from stdin; stdout is flushed only before a read would block, so a
 * co-process gets its answers and a batch is not written line by line. */
static int handle_stdin(struct symbolize_ctx *ctx)
{
	size_t cap = 1 << 16, used = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		char *line, *nl;

		fflush(stdout);
		if (used == cap) {
			char *grown = realloc(buf, cap * 2);

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(STDIN_FILENO, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += n;
		line = buf;
		while (!err && (nl = memchr(line, '\n', buf + used - line))) {
			*nl = '\0';
			err = handle_address(ctx, line);
			line = nl + 1;
		}
		used -= line - buf;
		memmove(buf, line, used);
		if (err)
			break;
	}
	if (!err && used) {	/* a last line without a newline */
		buf[used < cap ? used : cap - 1] = '\0';
		err = handle_address(ctx, buf);
	}
	free(buf);
	fflush(stdout);
	return err;
}

static int parse_pid(const char *text, int *pid)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || end == text || *end || value <= 0 || value > (1 << 22))
		return -EINVAL;
	*pid = value;
	return 0;
}

static int parse_args(int argc, char **argv, struct symbolize_args *args,
		      struct symbolizer_opts *opts)
{
	static const struct option longopts[] = {
		{ "executable", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "kernel", no_argument, NULL, 'k' },
		{ "addresses", no_argument, NULL, 'a' },
		{ "functions", no_argument, NULL, 'f' },
		{ "inlines", no_argument, NULL, 'i' },
		{ "demangle", optional_argument, NULL, 'C' },
		{ "debuginfo-path", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "e:p:kafiCh", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			args->elf_path = optarg;
			break;
		case 'p':
			if (parse_pid(optarg, &args->pid)) {
				fprintf(stderr, "waitprof symbolize: invalid PID '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'k':
			args->kernel = true;
			break;
		case 'a':
			args->addresses = true;
			break;
		case 'f':
			args->functions = true;
			break;
		case 'i':
			args->inlines = true;
			break;
		case 'C':
			opts->demangle = true;
			break;
		case 'D':
			opts->debug_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if ((args->elf_path != NULL) + (args->pid != 0) + args->kernel > 1) {
		fprintf(stderr, "waitprof symbolize: -e, -p and -k exclude each other\n");
		return -EINVAL;
	}
	if (!args->elf_path && !args->pid && !args->kernel)
		args->elf_path = "a.out";	/* as eu-addr2line */
	return 0;
}

static int open_target(struct symbolize_ctx *ctx)
{
	const char *why = NULL;
	int bits;

	ctx->args.width = 16;
	if (ctx->args.pid) {
		ctx->maps = proc_maps_read(ctx->args.pid);
		if (!ctx->maps) {
			fprintf(stderr, "waitprof symbolize: cannot read the maps of process %d: %s\n",
				ctx->args.pid, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (ctx->args.kernel)
		return 0;
	bits = sym_elf_class(ctx->sym, ctx->args.elf_path, &why);
	if (!bits) {
		fprintf(stderr, "waitprof symbolize: %s: %s\n", ctx->args.elf_path, why);
		return -1;
	}
	if (bits == 32)
		ctx->args.width = 8;
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	struct symbolizer_opts opts = { .lines = true, .inlines = true };
	struct symbolize_ctx ctx = { 0 };
	int err = 0, i;

	if (parse_args(argc, argv, &ctx.args, &opts))
		return 2;
	ctx.sym = symbolizer_new(&opts);
	if (!ctx.sym) {
		fprintf(stderr, "waitprof symbolize: out of memory\n");
		return 1;
	}
	if (open_target(&ctx)) {
		err = 1;
		goto cleanup;
	}
	if (optind >= argc)
		err = handle_stdin(&ctx);
	for (i = optind; !err && i < argc; i++)
		err = handle_address(&ctx, argv[i]);
	fflush(stdout);
cleanup:
	proc_maps_free(ctx.maps);
	symbolizer_free(ctx.sym);
	return err || ctx.bad_input ? 1 : 0;
}
