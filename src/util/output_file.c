// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output_file.h"
#include "util.h"

static bool invoker_ids(uid_t *uid, gid_t *gid)
{
	uint64_t u, g;

	if (geteuid() != 0)
		return false;
	if (!parse_u64(getenv("SUDO_UID"), &u) || !parse_u64(getenv("SUDO_GID"), &g))
		return false;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return true;
}

void output_give_to_invoker(const char *path)
{
	uid_t uid;
	gid_t gid;

	/* lchown: never follow a link planted where the output goes. */
	if (invoker_ids(&uid, &gid) && lchown(path, uid, gid))
		err_msg("warning: cannot give %s to uid %u: %s", path, (unsigned)uid,
			strerror(errno));
}

FILE *output_open(const char *path, bool private_data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      private_data ? 0600 : 0644);
	FILE *f;

	if (fd < 0)
		return NULL;
	output_give_to_invoker(path);
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}
