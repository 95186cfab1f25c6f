/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

/* A write to /proc that can only land on the procfs it names: the file is
 * resolved from the root of a procfs mount without crossing into another
 * mount or following magic links, so a bind mount or symlink planted over
 * /proc/sys/... or /proc/self/... cannot redirect it onto a host file
 * (the CVE-2025-52881 class). */
int sys_write_procfs(const char *path, const char *data)
{
	struct open_how how = {
		.flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int procfd = -1, fd = -1;
	struct statfs sf;
	struct stat st;
	size_t len = strlen(data);

	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -1;
	/* The root of a procfs mount, not a directory on another fs. */
	if (fstatfs(procfd, &sf) < 0 || fstat(procfd, &st) < 0)
		return -1;
	if (sf.f_type != PROC_SUPER_MAGIC || st.st_ino != 1) {
		errno = EXDEV;
		return -1;
	}
	fd = (int)syscall(SYS_openat2, procfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		fd = openat(procfd, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)) {
			errno = EXDEV;
			return -1;
		}
	}
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) != (ssize_t)len)
		return -1;
	return 0;
}
