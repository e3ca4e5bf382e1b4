// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "diff_folded.h"
#include "recording.h"
#include "report.h"

static bool is_recording(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return n == sizeof(magic) && !memcmp(magic, REC_MAGIC, sizeof(magic));
}

FILE *diff_folded_open(const char *path, char *err, size_t err_len)
{
	struct report_opts opts = { .wait = WAIT_ALL };
	struct recording *rec;
	FILE *out;
	int ret;

	err[0] = '\0';
	if (!is_recording(path))
		return NULL;
	rec = rec_read(path, err, err_len);
	if (!rec)
		return NULL;
	out = tmpfile();
	if (!out) {
		snprintf(err, err_len, "cannot make a temporary file: %s", strerror(errno));
		rec_free(rec);
		return NULL;
	}
	ret = report_offcpu_folded(out, rec, &opts);
	rec_free(rec);
	if (ret || fflush(out) || fseek(out, 0, SEEK_SET)) {
		snprintf(err, err_len, "%s: cannot fold its stacks: %s", path,
			 strerror(ret ? -ret : errno));
		fclose(out);
		return NULL;
	}
	return out;
}
