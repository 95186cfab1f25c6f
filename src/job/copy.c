/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --copy-in HOST:CTR before the job starts, --copy-out CTR:HOSTDIR after it
 * ends (whatever its exit status).
 *
 * The container's root exists only inside its mount namespace (the
 * overlay is mounted there), so a child process joins the container's
 * user and mount namespaces and copies from there: its root is then the
 * container's root, where no symlink can lead to the host, and its
 * rights are those of the container's root (files in keep the container's
 * owners; files out are the caller's).  The host side is reached only
 * through directory fds opened before the join; the container side is
 * resolved with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, and no final
 * symlink is followed on either side: a link is copied as a link. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/job-internal.h"

static int open_in(int dirfd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static int copy_error(struct skiff_error **err, int e, const char *what, const char *name)
{
	return skiff_error_set(err, e, "job.copy", "%s %s", what, name);
}

/* Copies the entry NAME of srcdir to NEWNAME in dstdir, recursively,
 * never following a symlink: regular files, directories and symlinks;
 * devices, fifos and sockets are left out. */
static int copy_entry(int srcdir, const char *name, int dstdir, const char *newname,
		      struct skiff_error **err)
{
	struct stat st;

	if (fstatat(srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return copy_error(err, errno, "cannot stat", name);
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(srcdir, name, target, sizeof(target) - 1);

		if (n < 0)
			return copy_error(err, errno, "cannot read the symlink", name);
		target[n] = '\0';
		unlinkat(dstdir, newname, 0);
		if (symlinkat(target, dstdir, newname) < 0)
			return copy_error(err, errno, "cannot create the symlink", newname);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int in = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int out = -1;
		char buf[65536];
		ssize_t n;

		if (in < 0)
			return copy_error(err, errno, "cannot open", name);
		out = openat(dstdir, newname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			     st.st_mode & 0777);
		if (out < 0)
			return copy_error(err, errno, "cannot create", newname);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write_all(out, buf, (size_t)n) < 0)
				return copy_error(err, errno, "cannot write", newname);
		if (n < 0)
			return copy_error(err, errno, "cannot read", name);
		/* An existing file keeps its mode otherwise; no setuid copy. */
		fchmod(out, st.st_mode & 0777);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int in = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int out = -1;
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *de;

		if (in < 0)
			return copy_error(err, errno, "cannot open", name);
		if (mkdirat(dstdir, newname, (st.st_mode & 0777) | 0700) < 0 && errno != EEXIST)
			return copy_error(err, errno, "cannot create the directory", newname);
		out = openat(dstdir, newname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (out < 0)
			return copy_error(err, errno, "cannot open the directory", newname);
		d = fdopendir(steal_fd(&in));
		if (d == NULL)
			return copy_error(err, errno, "cannot list", name);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (copy_entry(dirfd(d), de->d_name, out, de->d_name, err) < 0)
				return skiff_error_prefix(err, "%s/", name);
		}
		fchmod(out, st.st_mode & 0777);
		return 0;
	}
	return 0;
}

/* "A:B" split at the first ':' (paths with ':' are not supported). */
static int split_spec(const char *spec, const char *opt, char **a, char **b,
		      struct skiff_error **err)
{
	const char *colon = strchr(spec, ':');

	if (colon == NULL || colon == spec || colon[1] == '\0')
		return skiff_error_set(err, EINVAL, "job.copy.invalid",
				       "%s %s: expected %s", opt, spec,
				       strcmp(opt, "--copy-in") == 0 ? "HOST_PATH:CONTAINER_PATH"
								     : "CONTAINER_PATH:HOST_DIR");
	*a = xasprintf("%.*s", (int)(colon - spec), spec);
	*b = xstrdup(colon + 1);
	return 0;
}

static int join(int user_ns, int mnt_ns, struct skiff_error **err)
{
	if (user_ns >= 0 && setns(user_ns, CLONE_NEWUSER) < 0)
		return skiff_error_set(err, errno, "job.copy", "cannot join the container's user namespace");
	if (setns(mnt_ns, CLONE_NEWNS) < 0)
		return skiff_error_set(err, errno, "job.copy", "cannot join the container's mount namespace");
	return 0;
}

struct copy_work {
	bool in;
	char *const *specs;
	int *host_fds;               /* in: the sources; out: the destination dirs */
};

static int copy_in_one(const char *spec, int src, struct skiff_error **err)
{
	_cleanup_free_ char *host = NULL, *ctr = NULL, *srcname = NULL, *dstname = NULL;
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), dst = -1;
	_cleanup_error_ struct skiff_error *e = NULL;
	char *slash;

	if (split_spec(spec, "--copy-in", &host, &ctr, err) < 0)
		return -1;
	srcname = xstrdup(basename(host));
	/* Into CTR when it is a directory (or ends with '/'), else as CTR. */
	dst = open_in(root, ctr, O_PATH | O_DIRECTORY);
	if (dst >= 0) {
		dstname = xstrdup(srcname);
	} else if (ctr[strlen(ctr) - 1] == '/') {
		dst = sys_open_in_root(root, ctr, SYS_CREATE_DIR, 0755, &e);
		dstname = xstrdup(srcname);
	} else {
		slash = strrchr(ctr, '/');
		dstname = xstrdup(slash + 1);
		slash[0] = '\0';
		dst = sys_open_in_root(root, *ctr ? ctr : "/", SYS_CREATE_DIR, 0755, &e);
	}
	if (dst < 0)
		return skiff_error_set(err, e ? e->errnum : errno, "job.copy", "--copy-in %s: %s",
				       spec, e ? e->msg : "cannot open the destination");
	if (copy_entry(src, srcname, dst, dstname, err) < 0)
		return skiff_error_prefix(err, "--copy-in %s: ", spec);
	return 0;
}

static int copy_out_one(const char *spec, int dstdir, char **written, struct skiff_error **err)
{
	_cleanup_free_ char *ctr = NULL, *host = NULL, *dir = NULL, *name = NULL;
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), src = -1;
	char *slash;

	if (split_spec(spec, "--copy-out", &ctr, &host, err) < 0)
		return -1;
	if (ctr[0] != '/')
		return skiff_error_set(err, EINVAL, "job.copy.invalid",
				       "--copy-out %s: the container path must be absolute", spec);
	while (strlen(ctr) > 1 && ctr[strlen(ctr) - 1] == '/')
		ctr[strlen(ctr) - 1] = '\0';
	dir = xstrdup(ctr);
	slash = strrchr(dir, '/');
	name = xstrdup(slash + 1);
	*slash = '\0';
	if (*name == '\0')
		return skiff_error_set(err, EINVAL, "job.copy.invalid",
				       "--copy-out %s: name a file or directory, not /", spec);
	src = open_in(root, *dir ? dir : "/", O_RDONLY | O_DIRECTORY);
	if (src < 0)
		return skiff_error_set(err, errno, "job.copy",
				       "--copy-out %s: cannot open %s in the container", spec,
				       *dir ? dir : "/");
	if (copy_entry(src, name, dstdir, name, err) < 0)
		return skiff_error_prefix(err, "--copy-out %s: ", spec);
	*written = xasprintf("%s/%s", host, name);
	return 0;
}

/* The child: joins, copies, reports on fd: "OK path\n"… or "ERR id\tmsg". */
static _Noreturn void copy_child(int user_ns, int mnt_ns, const struct copy_work *w, int fd)
{
	_cleanup_error_ struct skiff_error *e = NULL;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (join(user_ns, mnt_ns, &e) == 0 && chdir("/") == 0) {
		for (size_t i = 0; w->specs[i] != NULL; i++) {
			if (w->in) {
				if (copy_in_one(w->specs[i], w->host_fds[i], &e) < 0)
					break;
			} else {
				_cleanup_free_ char *written = NULL;

				if (copy_out_one(w->specs[i], w->host_fds[i], &written, &e) < 0)
					break;
				dprintf(fd, "OK %s\n", written);
			}
		}
	}
	if (e != NULL) {
		dprintf(fd, "ERR %s\t%s\n", e->id, e->msg);
		_exit(1);
	}
	_exit(0);
}

static int run_copy(int user_ns, int mnt_ns, const struct copy_work *w, char ***copied,
		    struct skiff_error **err)
{
	_cleanup_free_ char *report = NULL;
	int p[2], status;
	size_t len = 0;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "job.copy", "cannot make a pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return skiff_error_set(err, errno, "job.copy", "cannot fork");
	}
	if (pid == 0) {
		close(p[0]);
		copy_child(user_ns, mnt_ns, w, p[1]);
	}
	close(p[1]);
	report = xstrdup("");
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		report = xrealloc(report, len + (size_t)n + 1);
		memcpy(report + len, buf, (size_t)n);
		len += (size_t)n;
		report[len] = '\0';
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (char *save = NULL, *line = strtok_r(report, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "OK ", 3) == 0 && copied != NULL) {
			size_t k = strv_length(*copied);

			*copied = xrealloc(*copied, (k + 2) * sizeof(char *));
			(*copied)[k] = xstrdup(line + 3);
			(*copied)[k + 1] = NULL;
		} else if (strncmp(line, "ERR ", 4) == 0) {
			char *tab = strchr(line + 4, '\t');

			if (tab)
				*tab++ = '\0';
			return skiff_error_set(err, 0, line + 4, "%s", tab ? tab : "copy failed");
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return skiff_error_set(err, 0, "job.copy", "the copy process failed (status 0x%x)",
				       status);
	return 0;
}

int job_copy_in(int user_ns, int mnt_ns, char *const *specs, struct skiff_error **err)
{
	size_t n = strv_length(specs);
	_cleanup_free_ int *fds = xzalloc((n + 1) * sizeof(int));
	struct copy_work w = { .in = true, .specs = specs, .host_fds = fds };
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *host = NULL, *ctr = NULL, *dir = NULL;
		struct stat st;

		if (split_spec(specs[i], "--copy-in", &host, &ctr, err) < 0) {
			rc = -1;
			break;
		}
		if (ctr[0] != '/') {
			rc = skiff_error_set(err, EINVAL, "job.copy.invalid",
					     "--copy-in %s: the container path must be absolute",
					     specs[i]);
			break;
		}
		if (lstat(host, &st) < 0) {
			rc = skiff_error_set(err, errno, "job.copy.source",
					     "--copy-in %s: cannot use the host path %s", specs[i], host);
			break;
		}
		/* The host path's directory, opened here, on the host. */
		dir = xstrdup(host);
		fds[i] = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0)
			rc = skiff_error_set(err, errno, "job.copy.source",
					     "--copy-in %s: cannot open the directory of %s", specs[i],
					     host);
	}
	if (rc == 0)
		rc = run_copy(user_ns, mnt_ns, &w, NULL, err);
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

int job_copy_out(int user_ns, int mnt_ns, char *const *specs, char ***copied,
		 struct skiff_error **err)
{
	size_t n = strv_length(specs);
	_cleanup_free_ int *fds = xzalloc((n + 1) * sizeof(int));
	struct copy_work w = { .in = false, .specs = specs, .host_fds = fds };
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *ctr = NULL, *host = NULL;

		if (split_spec(specs[i], "--copy-out", &ctr, &host, err) < 0) {
			rc = -1;
			break;
		}
		/* HOST_DIR is made when missing (one level), never followed
		 * through a symlink at its end. */
		if (mkdir(host, 0755) < 0 && errno != EEXIST) {
			rc = skiff_error_set(err, errno, "job.copy",
					     "--copy-out %s: cannot create %s", specs[i], host);
			break;
		}
		fds[i] = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] < 0)
			rc = skiff_error_set(err, errno, "job.copy",
					     "--copy-out %s: cannot open the host directory %s",
					     specs[i], host);
	}
	if (rc == 0)
		rc = run_copy(user_ns, mnt_ns, &w, copied, err);
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}
