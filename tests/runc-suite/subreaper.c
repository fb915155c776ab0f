/*
 * subreaper CMD [ARG...]: run CMD as a child subreaper and reap every
 * orphan promptly; exit with CMD's status.
 *
 * Why: PID 1 on this machine (the VM's process_api) reaps orphans only
 * every ~1.5 s. runc's "[host pidns + init gone]" tests (delete.bats,
 * kill.bats) wait at most ~2 s for the container's processes to vanish,
 * and `kill -0` still succeeds on an unreaped zombie, so they fail or
 * flake for every runtime. With this wrapper the orphans of the test
 * processes are reparented here and reaped at once, like under systemd
 * or a containerd shim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t child, p;
	int status, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARG...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("subreaper: prctl(PR_SET_CHILD_SUBREAPER)");
		return 2;
	}
	child = fork();
	if (child < 0) {
		perror("subreaper: fork");
		return 2;
	}
	if (child == 0) {
		execvp(argv[1], argv + 1);
		perror("subreaper: exec");
		_exit(127);
	}
	for (;;) {
		p = wait(&status);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD */
		}
		if (p == child) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
	}
	/* Orphans still alive are reparented to PID 1 when we exit. */
	return rc;
}
