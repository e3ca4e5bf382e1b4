// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "diff_folded.h"
#include "recording.h"
#include "report.h"

FILE *diff_folded_open(const char *path, char *err, size_t err_len)
{
	struct report_opts opts = { .wait = WAIT_ALL };
	struct recording *rec;
	FILE *out;
	int ret;

	err[0] = '\0';
	if (rec_file_is_recording(path) != 1)
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
