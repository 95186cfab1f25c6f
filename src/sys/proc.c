/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <skiff/sys.h>
#include <skiff/util.h>

int sys_proc_start_time(pid_t pid, uint64_t *out)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", pid);
	_cleanup_free_ char *stat = NULL;
	unsigned long long start;
	char *p;

	if (read_file_at(AT_FDCWD, path, 8192, &stat, NULL, NULL) < 0) {
		errno = ESRCH;
		return -1;
	}
	/* The command name may hold spaces and ')': fields restart after the
	 * last ')'.  starttime is field 22; field 3 is the first after it. */
	p = strrchr(stat, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
				"%*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) != 1) {
		errno = EINVAL;
		return -1;
	}
	*out = start;
	return 0;
}

int sys_pidfd_open_checked(pid_t pid, uint64_t start_time)
{
	uint64_t now;
	int fd;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* Checked after opening: if the pid was reused before the open, the
	 * start time differs; if after, the pidfd still names the old one. */
	if (sys_proc_start_time(pid, &now) < 0 || now != start_time) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

int sys_pidfd_wait_exit(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, timeout_ms);

		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}
