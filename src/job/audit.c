/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The audit log of `skiff run`: one JSON line per run, whatever its end
 * (it ran, it failed before it ran, the policy denied it), appended to
 * --audit-log, $SKIFF_AUDIT_LOG, or $XDG_STATE_HOME/skiff/audit.log
 * (~/.local/state/skiff/audit.log; root: /var/log/skiff/audit.log).
 *
 * Each line is one write(2) on an O_APPEND fd, so lines of concurrent runs
 * never interleave.  Past the size limit ($SKIFF_AUDIT_MAX_SIZE, default
 * 10 MiB) the file becomes FILE.1 (FILE.1 becomes FILE.2 …, FILE.3 is the
 * oldest kept); the size check and the renames happen under an exclusive
 * flock of FILE.lock, so two runs never rotate twice or write into a file
 * being renamed away. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job/job-internal.h"

#define AUDIT_MAX_SIZE_DEFAULT (10 * 1024 * 1024)
#define AUDIT_KEEP 3

char *job_audit_default_path(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (geteuid() == 0 && sys_in_initial_userns())
		return xstrdup("/var/log/skiff/audit.log");
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/skiff/audit.log", xdg);
	if (home != NULL && home[0] == '/')
		return xasprintf("%s/.local/state/skiff/audit.log", home);
	return xasprintf("/tmp/skiff-%u/audit.log", (unsigned)getuid());
}

static int64_t max_size(void)
{
	const char *s = getenv("SKIFF_AUDIT_MAX_SIZE");
	int64_t v;

	if (s != NULL && parse_int64(s, 1, INT64_MAX, &v) == 0)
		return v;
	return AUDIT_MAX_SIZE_DEFAULT;
}

/* The directories above path, made when missing (the log's own 0700: it
 * says what its owner ran; root's /var/log/skiff 0750). */
static int make_parents(const char *path, struct skiff_error **err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir_parents(dir, geteuid() == 0 ? 0750 : 0700) < 0)
		return skiff_error_set(err, errno, "audit.write",
				       "the audit log %s: cannot make the directory %s or one "
				       "above it", path, dir);
	return 0;
}

static int open_log(const char *path, struct skiff_error **err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);

	if (fd < 0)
		return skiff_error_set(err, errno, "audit.write",
				       "the audit log %s: cannot open it for appending: fix its "
				       "permissions, or name another with --audit-log", path);
	return fd;
}

int job_audit_check(const char *path, struct skiff_error **err)
{
	int fd;

	if (make_parents(path, err) < 0 || (fd = open_log(path, err)) < 0)
		return -1;
	close(fd);
	return 0;
}

static void rotate(const char *path)
{
	for (int i = AUDIT_KEEP - 1; i >= 0; i--) {
		_cleanup_free_ char *from = i ? xasprintf("%s.%d", path, i) : xstrdup(path);
		_cleanup_free_ char *to = xasprintf("%s.%d", path, i + 1);

		if (rename(from, to) < 0 && errno != ENOENT)
			log_warning("the audit log %s: cannot rename %s to %s: %s", path, from, to,
				    strerror(errno));
	}
}

int job_audit_append(const char *path, const char *line, struct skiff_error **err)
{
	_cleanup_free_ char *lock = xasprintf("%s.lock", path);
	_cleanup_close_ int lockfd = -1, fd = -1;
	size_t len = strlen(line);
	struct stat st;
	ssize_t n;

	/* The directories are made when missing: the first open says so. */
	lockfd = open(lock, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	if (lockfd < 0 && errno == ENOENT) {
		if (make_parents(path, err) < 0)
			return -1;
		lockfd = open(lock, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
	}
	if (lockfd < 0)
		return skiff_error_set(err, errno, "audit.write",
				       "the audit log %s: cannot open its lock file %s: fix its "
				       "permissions, or name another with --audit-log", path, lock);
	while (flock(lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return skiff_error_set(err, errno, "audit.write",
					       "the audit log %s: cannot lock %s", path, lock);
	if ((fd = open_log(path, err)) < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size + (off_t)len > max_size()) {
		close(fd);
		rotate(path);
		if ((fd = open_log(path, err)) < 0)
			return -1;
	}
	n = write(fd, line, len);
	if (n != (ssize_t)len)
		return skiff_error_set(err, n < 0 ? errno : ENOSPC, "audit.write",
				       "the audit log %s: cannot append a line", path);
	return 0;
}
