// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Malformed ELF files: truncated and byte-flipped copies of a real one must
 * give ?? or a clear error, never a crash. Prints what it saw.
 *
 * usage: test_malformed ELF ROUNDS SEED [CRASHER...]
 * CRASHERs are inputs that once broke something (tests/symbolize/corpus/),
 * probed as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

int test_failures;

static unsigned char *read_file(const char *path, size_t *size)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		return NULL;
	buf = malloc(st.st_size);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*size = st.st_size;
	return buf;
}

static int write_file(const char *path, const unsigned char *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, data, size) == (ssize_t)size;
	close(fd);
	return ok ? 0 : -1;
}

struct tally {
	int opened, refused, named, unnamed;
};

/* Symbolizes a spread of addresses through the copy; counts outcomes. */
static void probe(const char *path, struct tally *t)
{
	struct symbolizer_opts opts = { .lines = true, .inlines = true, .demangle = true,
					.debug_dir = "/nonexistent" };
	struct symbolizer *sym = symbolizer_new(&opts);
	const char *why = NULL, *data;
	struct sym_result res;
	uint64_t addr;

	if (!sym_elf_class(sym, path, &why)) {
		CHECK(why && *why, "no reason given for refusing %s", path);
		t->refused++;
		symbolizer_free(sym);
		return;
	}
	t->opened++;
	for (addr = 0x1000; addr < 0x1400; addr += 7) {
		int err = sym_elf(sym, path, addr, &res);

		/* The file opened: its contract (symbolize.h) allows 0, with
		 * or without frames, and -ENOMEM only. */
		CHECK(err == 0 || err == -ENOMEM, "sym_elf returned %d on an opened file", err);
		if (!err && res.nr && res.frames[0].name)
			t->named++;
		else
			t->unnamed++;
		sym_elf_data(sym, path, addr + 0x3000, &data, NULL);
	}
	symbolizer_free(sym);
}

int main(int argc, char **argv)
{
	unsigned char *orig, *copy;
	struct tally truncated = { 0 }, flipped = { 0 };
	char path[] = "/tmp/symbolize-malformed-XXXXXX";
	size_t size, len, i;
	int rounds, r, fd;

	if (argc < 4) {
		fprintf(stderr, "usage: %s ELF ROUNDS SEED [CRASHER...]\n", argv[0]);
		return 2;
	}
	orig = read_file(argv[1], &size);
	if (!orig || size < 64) {
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 1;
	}
	rounds = atoi(argv[2]);
	srandom(atoi(argv[3]));
	fd = mkstemp(path);
	close(fd);
	copy = malloc(size);

	for (r = 0; r < rounds; r++) {
		/* Truncated: anywhere, with the headers' end and zero made likely. */
		len = r == 0 ? 0 : r == 1 ? 63 : (size_t)random() % size;
		write_file(path, orig, len);
		probe(path, &truncated);

		/* Flipped: 1 to 64 random bytes, half of the time in the
		 * first 4 KiB where headers live. */
		memcpy(copy, orig, size);
		int flips = 1 + random() % 64;

		for (i = 0; i < (size_t)flips; i++) {
			size_t at = random() % (random() % 2 ? size : (size < 4096 ? size : 4096));

			copy[at] = random();
		}
		write_file(path, copy, size);
		probe(path, &flipped);
	}
	unlink(path);
	for (i = 4; i < (size_t)argc; i++) {
		struct tally crasher = { 0 };

		probe(argv[i], &crasher);
		printf("%s: %s\n", argv[i], crasher.opened ? "opened" : "refused");
	}
	printf("truncated: %d opened, %d refused, %d lookups named, %d gave ??\n",
	       truncated.opened, truncated.refused, truncated.named, truncated.unnamed);
	printf("flipped:   %d opened, %d refused, %d lookups named, %d gave ??\n",
	       flipped.opened, flipped.refused, flipped.named, flipped.unnamed);
	/* The empty and header-only files must be refused, with a reason. */
	CHECK(truncated.refused >= 2, "empty or header-only file accepted");
	/* And the flips must not all look like valid files or all fail. */
	CHECK(flipped.opened > 0, "no flipped file opened at all");
	free(copy);
	free(orig);
	return test_failures ? 1 : 0;
}
