/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CVE-2019-5736: a process in a container that can open /proc/PID/exe of
 * the runtime (while the runtime is in or next to the container) can write
 * the runtime's binary on the host, and so run code as root on the host the
 * next time it starts.  As runc and crun do, skiff run as root re-executes
 * itself from a copy in a memfd sealed against every change: /proc/PID/exe
 * then names that copy, which nobody can write, and the host's binary is
 * never reachable.  The seals also tell the new image that it already runs
 * from a copy, so it does not loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skiff/sys.h>
#include <skiff/util.h>

#define CLONED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

extern char **environ;

bool sys_running_from_sealed_copy(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return false;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & CLONED_SEALS) == CLONED_SEALS;
}

/* The argv we were started with, from /proc/self/cmdline: getopt_long has
 * permuted the argv array since, but not the strings it points to. */
static char **original_argv(char **buf)
{
	size_t len = 0, n = 0;
	char **argv;

	if (read_file_at(AT_FDCWD, "/proc/self/cmdline", 1u << 20, buf, &len, NULL) < 0 ||
	    len == 0)
		return NULL;
	for (size_t i = 0; i < len; i++)
		n += (*buf)[i] == '\0';
	argv = xzalloc((n + 2) * sizeof(char *));
	n = 0;
	for (size_t i = 0; i < len; i += strlen(*buf + i) + 1)
		argv[n++] = *buf + i;
	return argv;
}

static int sealed_copy(struct skiff_error **err)
{
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int memfd = -1;
	struct stat st;
	off_t off = 0;

	if (self < 0 || fstat(self, &st) < 0)
		return skiff_error_set(err, errno, "runtime.cloned_binary",
				       "cannot open skiff's own binary (/proc/self/exe)");
	/* MFD_EXEC: with vm.memfd_noexec set, a memfd is not executable
	 * unless asked; kernels before 6.3 do not know the flag. */
	memfd = memfd_create("skiff", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (memfd < 0 && errno == EINVAL)
		memfd = memfd_create("skiff", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		return skiff_error_set(err, errno, "runtime.cloned_binary",
				       "cannot create a memfd for a sealed copy of skiff "
				       "(needs Linux 3.17 or later)");
	while (off < st.st_size) {
		ssize_t n = sendfile(memfd, self, &off, (size_t)(st.st_size - off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return skiff_error_set(err, n < 0 ? errno : EIO, "runtime.cloned_binary",
					       "cannot copy skiff's binary into a memfd");
	}
	if (fcntl(memfd, F_ADD_SEALS, CLONED_SEALS) < 0)
		return skiff_error_set(err, errno, "runtime.cloned_binary",
				       "cannot seal the memfd copy of skiff");
	return steal_fd(&memfd);
}

int sys_reexec_from_sealed_copy(struct skiff_error **err)
{
	_cleanup_free_ char *cmdline = NULL;
	_cleanup_free_ char **argv = NULL;
	_cleanup_close_ int memfd = -1;
	const char *knob = getenv("SKIFF_NO_CLONED_BINARY");

	if (knob != NULL && strcmp(knob, "1") == 0)
		return 0;
	if (sys_running_from_sealed_copy())
		return 0;
	argv = original_argv(&cmdline);
	if (argv == NULL)
		return skiff_error_set(err, errno, "runtime.cloned_binary",
				       "cannot read skiff's arguments (/proc/self/cmdline)");
	memfd = sealed_copy(err);
	if (memfd < 0)
		return -1;
	fexecve(memfd, argv, environ);
	return skiff_error_set(err, errno, "runtime.cloned_binary",
			       "cannot execute the sealed copy of skiff");
}
