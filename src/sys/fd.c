/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fd hygiene before exec: an fd the caller leaked must not reach the
 * container (CVE-2024-21626 was a leaked directory fd of the host). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

ssize_t sys_recv_fd(int sock, void *data, size_t len, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		return -1;
	}
	memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return n;
}
