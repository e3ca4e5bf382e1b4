// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher.h"
#include "util.h"

struct launcher {
	pid_t pid;
	int go_fd;		/* write end: one byte lets the child exec */
	int err_fd;		/* read end: the child's exec errno, or EOF */
	bool reaped;
	char *name;
};

static void child_run(int go_fd, int err_fd, char **argv)
{
	char go;
	int e;

	if (read(go_fd, &go, 1) != 1)
		_exit(127);	/* the recorder gave up before starting us */
	close(go_fd);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int launcher_prepare(struct launcher **out, char **argv)
{
	int go[2], errp[2];
	struct launcher *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		err_msg("cannot create a pipe: %s", strerror(errno));
		free(l);
		return -errno;
	}
	l->name = strdup(argv[0]);
	l->pid = fork();
	if (l->pid < 0) {
		err_msg("cannot fork: %s", strerror(errno));
		free(l->name);
		free(l);
		return -errno;
	}
	if (l->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_run(go[0], errp[1], argv);
	}
	close(go[0]);
	close(errp[1]);
	l->go_fd = go[1];
	l->err_fd = errp[0];
	*out = l;
	return 0;
}

int launcher_pid(const struct launcher *l)
{
	return l->pid;
}

int launcher_go(struct launcher *l)
{
	char go = 1;
	int e = 0;
	ssize_t n;

	if (write(l->go_fd, &go, 1) != 1)
		return -errno;
	close(l->go_fd);
	l->go_fd = -1;
	do
		n = read(l->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	if (n == sizeof(e)) {
		err_msg("cannot run '%s': %s", l->name, strerror(e));
		return -e;
	}
	return 0;
}

bool launcher_exited(struct launcher *l, int *status)
{
	if (l->reaped)
		return true;
	if (waitpid(l->pid, status, WNOHANG) == l->pid) {
		l->reaped = true;
		return true;
	}
	return false;
}

void launcher_free(struct launcher *l, bool failed)
{
	int status, i;

	if (!l)
		return;
	if (l->go_fd >= 0)
		close(l->go_fd);	/* an unstarted child exits on EOF */
	if (l->err_fd >= 0)
		close(l->err_fd);
	if (!l->reaped && l->pid > 0) {
		kill(l->pid, SIGTERM);
		for (i = 0; i < 100 && waitpid(l->pid, &status, WNOHANG) != l->pid; i++)
			usleep(10000);
		if (i == 100) {
			kill(l->pid, SIGKILL);
			waitpid(l->pid, &status, 0);
		}
	}
	free(l->name);
	free(l);
}
