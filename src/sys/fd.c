/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fd hygiene before exec: an fd the caller leaked must not reach the
 * container (CVE-2024-21626 was a leaked directory fd of the host). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <skiff/sys.h>
#include <skiff/util.h>

int sys_cloexec_from(int from)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (syscall(SYS_close_range, from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd < from || fd == dirfd(d))
			continue;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			return -1;
	}
	return 0;
}

int sys_close_inherited_from(int from)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		int fd = atoi(de->d_name), flags;

		if (de->d_name[0] == '.' || fd < from || fd == dirfd(d))
			continue;
		flags = fcntl(fd, F_GETFD);
		/* Every fd skiff opens is close-on-exec: one that is not was
		 * inherited from the caller. */
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			close(fd);
	}
	return 0;
}
