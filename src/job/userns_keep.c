/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kept user namespace of rootless runs (Podman's "pause process").
 *
 * A rootless run whose mapping spans /etc/subuid and /etc/subgid ranges
 * needs newuidmap and newgidmap, two execs of setuid binaries that cost
 * more than the rest of the container's set-up together.  So the first
 * such run leaves a small holder process in a user namespace with that
 * mapping, and later runs with the same mapping join it with setns(2)
 * instead of mapping a new one.  The holder does nothing but exist: no
 * socket, no service, none of its maker's fds, command line or
 * environment; it lives in its own session so no terminal signal reaches
 * it, and `skiff userns-stop` (or SIGTERM/SIGKILL) ends it.
 * Containers that are running keep the namespace alive by themselves.
 *
 * STATE_ROOT/.userns/KEY.pid names it: "PID INODE", KEY a digest of the
 * mapping, INODE the namespace's nsfs inode.  A run trusts a holder only
 * when /proc/PID/ns/user, opened first, still has that inode and the maps
 * read through PID are exactly the run's (and PID still names that
 * namespace after the read): a dead holder whose pid was reused fails the
 * check, and its file is replaced.  Creation is serialised by a lock on
 * KEY.lock, so concurrent first runs make one holder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sched.h>

#include "job/job-internal.h"

#define KEEP_DIR ".userns"
#define HOLDER_NAME "skiff-userns"

static char *map_lines(const struct sys_id_map *m, size_t n)
{
	char *text = xstrdup("");

	for (size_t i = 0; i < n; i++)
		xstrappendf(&text, "%u %u %u\n", m[i].inside, m[i].outside, m[i].count);
	return text;
}

/* The kernel prints maps with padding ("%10u %10u %10u"): compare the
 * numbers, in order. */
static bool same_map(const char *kernel, const struct sys_id_map *m, size_t n)
{
	const char *p = kernel;
	size_t i = 0;

	for (;;) {
		unsigned a, b, c;
		int used;

		if (sscanf(p, " %u %u %u%n", &a, &b, &c, &used) != 3)
			break;
		if (i >= n || a != m[i].inside || b != m[i].outside || c != m[i].count)
			return false;
		i++;
		p += used;
	}
	return i == n;
}

static int open_keep_dir(const char *state_root, bool create, struct skiff_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/" KEEP_DIR, state_root);
	struct stat st;
	int fd;

	/* Made only when missing: it is there on every run but the first. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdir_parents(state_root, 0700) < 0 || (mkdir(path, 0700) < 0 && errno != EEXIST))
			return skiff_error_set(err, errno, "userns.keep",
					       "cannot create %s (the state root, --root)", path);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0 && !(errno == ENOENT && !create))
		return skiff_error_set(err, errno, "userns.keep", "cannot open %s", path);
	/* Its records name processes to join and to kill: only a private
	 * directory of ours is believed (the state root may be in /tmp). */
	if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077))) {
		close(fd);
		return skiff_error_set(err, EPERM, "userns.keep",
				       "%s is not a private directory owned by uid %u (mode "
				       "0700): remove it, or set XDG_RUNTIME_DIR or --root",
				       path, (unsigned)geteuid());
	}
	return fd;
}

static int read_record(int dirfd, const char *name, pid_t *pid, ino_t *ino)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long i;
	int p;

	if (read_file_at(dirfd, name, 64, &text, NULL, NULL) < 0 ||
	    sscanf(text, "%d %llu", &p, &i) != 2 || p <= 0)
		return -1;
	*pid = p;
	*ino = (ino_t)i;
	return 0;
}

/* Whether PID has exited: a zombie still shows its user namespace (it
 * is in its credentials) until its parent reaps it, which for an orphaned
 * holder may take a while. */
static bool exited(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", pid), *stat = NULL;
	const char *p;

	if (read_file_at(AT_FDCWD, path, 4096, &stat, NULL, NULL) < 0 ||
	    (p = strrchr(stat, ')')) == NULL)
		return true;
	return p[1] != ' ' || p[2] == 'Z' || p[2] == 'X' || p[2] == 'x';
}

/* An fd of the user namespace of PID if it is the recorded one, with
 * exactly these maps and owned by us, and PID has not exited; -1
 * otherwise. */
static int open_holder_ns(pid_t pid, ino_t ino, const struct sys_id_map *uids, const struct sys_id_map *gids, size_t n)
{
	_cleanup_free_ char *ns = xasprintf("/proc/%d/ns/user", pid);
	_cleanup_free_ char *um = xasprintf("/proc/%d/uid_map", pid);
	_cleanup_free_ char *gm = xasprintf("/proc/%d/gid_map", pid);
	_cleanup_free_ char *ukernel = NULL, *gkernel = NULL;
	_cleanup_close_ int fd = open(ns, O_RDONLY | O_CLOEXEC);
	struct stat st, again;
	uid_t owner;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != ino)
		return -1;
	if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0 || owner != geteuid())
		return -1;
	if (read_file_at(AT_FDCWD, um, 4096, &ukernel, NULL, NULL) < 0 ||
	    read_file_at(AT_FDCWD, gm, 4096, &gkernel, NULL, NULL) < 0 ||
	    !same_map(ukernel, uids, n) || !same_map(gkernel, gids, n))
		return -1;
	/* The maps were read through PID: it must still be in that namespace,
	 * and alive (a dead holder's namespace would be gone with the run). */
	if (stat(ns, &again) < 0 || again.st_ino != ino || exited(pid))
		return -1;
	return steal_fd(&fd);
}

/* The holder outlives the run that made it: it must not keep showing
 * that run's command line and environment (`-e PASSWORD=...`, a CI job's
 * tokens) in /proc/PID/cmdline and environ for days.  Both are the
 * memory ranges the kernel recorded at exec, named in /proc/self/stat;
 * zeroing them is what setproctitle does. */
static void scrub_exec_strings(void)
{
	_cleanup_free_ char *stat = NULL;
	unsigned long arg_start, arg_end, env_start, env_end;
	const char *p;
	int field = 2;               /* comm, whose end is the last ')' */

	if (read_file_at(AT_FDCWD, "/proc/self/stat", 4096, &stat, NULL, NULL) < 0 ||
	    (p = strrchr(stat, ')')) == NULL)
		return;
	for (p++; *p != '\0' && field < 48; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%lu %lu %lu %lu", &arg_start, &arg_end, &env_start, &env_end) != 4 ||
	    arg_end <= arg_start || env_end < env_start)
		return;
	memset((void *)env_start, 0, env_end - env_start);
	memset((void *)arg_start, 0, arg_end - arg_start);
	if (arg_end - arg_start > sizeof(HOLDER_NAME))
		memcpy((void *)arg_start, HOLDER_NAME, sizeof(HOLDER_NAME));
}

static _Noreturn void holder_main(int sock)
{
	sigset_t all;
	pid_t self;
	char go;

	/* Nothing of the caller's: a held copy of its stdout would keep a
	 * reader of `$(skiff run ...)` waiting forever, a held lock fd its
	 * lock. */
	if (dup2(sock, 3) != 3)
		_exit(1);
	/* All of them, close-on-exec or not: no exec follows. */
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0) {
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	}
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		if (null > 2)
			close(null);
	}
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	prctl(PR_SET_NAME, HOLDER_NAME);
	scrub_exec_strings();
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (unshare(CLONE_NEWUSER) < 0) {
		int e = -errno;

		(void)!write(3, &e, sizeof(e));
		_exit(1);
	}
	self = getpid();
	if (write(3, &self, sizeof(self)) != sizeof(self))
		_exit(1);
	/* The maps are written by the caller; EOF means it gave up. */
	if (read(3, &go, 1) != 1 || go != 'g')
		_exit(0);
	close(3);
	for (;;)
		pause();
}

/* Makes a holder with these maps; *pid gets its pid. */
static int make_holder(const struct sys_id_map *uids, const struct sys_id_map *gids, size_t n,
		       pid_t *pid, struct skiff_error **err)
{
	_cleanup_close_ int mine = -1;
	int sv[2], status, got = 0;
	pid_t mid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return skiff_error_set(err, errno, "userns.keep", "cannot create a socketpair");
	mine = sv[0];
	/* Forked twice: the holder is nobody's child, and dies with nobody. */
	mid = fork();
	if (mid < 0) {
		close(sv[1]);
		return skiff_error_set(err, errno, "userns.keep", "cannot fork");
	}
	if (mid == 0) {
		pid_t h;

		close(sv[0]);
		h = fork();
		if (h == 0)
			holder_main(sv[1]);
		_exit(h < 0 ? 1 : 0);
	}
	close(sv[1]);
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return skiff_error_set(err, 0, "userns.keep", "cannot fork the namespace holder");
	while (read(mine, &got, sizeof(got)) < 0 && errno == EINTR)
		;
	if (got < 0)
		return skiff_error_set(err, -got, "container.userns",
				       "cannot create a user namespace (are unprivileged "
				       "user namespaces disabled? see "
				       "/proc/sys/user/max_user_namespaces)");
	if (got == 0)
		return skiff_error_set(err, 0, "userns.keep",
				       "the user namespace holder ended before it was ready");
	/* On failure closing `mine` makes the holder exit. */
	if (sys_write_id_maps(got, uids, n, gids, n, err) < 0)
		return -1;
	if (write(mine, "g", 1) != 1)
		return skiff_error_set(err, errno, "userns.keep",
				       "the user namespace holder ended before it was ready");
	*pid = got;
	return 0;
}

int job_userns_keep(const char *state_root, const struct sys_id_map *uids,
		    const struct sys_id_map *gids, size_t n, int *ns_fd,
		    struct skiff_error **err)
{
	_cleanup_free_ char *uid_text = map_lines(uids, n), *gid_text = map_lines(gids, n);
	_cleanup_free_ char *rec = NULL, *lock = NULL, *record = NULL;
	_cleanup_close_ int dirfd = -1, lockfd = -1;
	struct sha256 c;
	char key[65];
	pid_t pid;
	ino_t ino;
	struct stat st;
	int fd;

	sha256_init(&c);
	sha256_update(&c, "u\n", 2);
	sha256_update(&c, uid_text, strlen(uid_text));
	sha256_update(&c, "g\n", 2);
	sha256_update(&c, gid_text, strlen(gid_text));
	sha256_hex(&c, key);
	key[16] = '\0';
	rec = xasprintf("%s.pid", key);
	lock = xasprintf("%s.lock", key);

	dirfd = open_keep_dir(state_root, true, err);
	if (dirfd < 0)
		return -1;
	/* The usual case: a holder is there; no lock needed to join it. */
	if (read_record(dirfd, rec, &pid, &ino) == 0 &&
	    (fd = open_holder_ns(pid, ino, uids, gids, n)) >= 0) {
		*ns_fd = fd;
		return 0;
	}
	lockfd = openat(dirfd, lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0)
		return skiff_error_set(err, errno, "userns.keep", "cannot lock %s/" KEEP_DIR "/%s",
				       state_root, lock);
	/* Another run may have made it while we waited. */
	if (read_record(dirfd, rec, &pid, &ino) == 0 &&
	    (fd = open_holder_ns(pid, ino, uids, gids, n)) >= 0) {
		*ns_fd = fd;
		return 0;
	}
	if (make_holder(uids, gids, n, &pid, err) < 0)
		return -1;
	{
		_cleanup_free_ char *ns = xasprintf("/proc/%d/ns/user", pid);

		fd = open(ns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			skiff_error_set(err, errno, "userns.keep",
					"cannot open the namespace of its holder %d", pid);
			if (fd >= 0)
				close(fd);
			kill(pid, SIGKILL);
			return -1;
		}
	}
	record = xasprintf("%d %llu\n", pid, (unsigned long long)st.st_ino);
	if (write_file_atomic_at(dirfd, rec, record, strlen(record), 0600, err) < 0) {
		close(fd);
		kill(pid, SIGKILL);
		return skiff_error_prefix(err, "%s/" KEEP_DIR ": ", state_root);
	}
	*ns_fd = fd;
	return 0;
}

/* Ends the holder recorded in NAME if it is still one (its comm, and the
 * recorded namespace), through a pidfd so that a reused pid is never hit. */
static int stop_holder(int dirfd, const char *name, unsigned *stopped)
{
	_cleanup_free_ char *comm_path = NULL, *comm = NULL, *ns = NULL;
	_cleanup_close_ int pidfd = -1;
	struct stat st;
	pid_t pid;
	ino_t ino;

	if (read_record(dirfd, name, &pid, &ino) < 0)
		goto gone;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		goto gone;
	comm_path = xasprintf("/proc/%d/comm", pid);
	ns = xasprintf("/proc/%d/ns/user", pid);
	if (read_file_at(AT_FDCWD, comm_path, 64, &comm, NULL, NULL) < 0 ||
	    strcmp(comm, HOLDER_NAME "\n") != 0 || stat(ns, &st) < 0 || st.st_ino != ino ||
	    exited(pid))
		goto gone;
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		return -1;
	/* Gone when we return: the pidfd turns readable once it has exited. */
	(void)poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, 2000);
	(*stopped)++;
gone:
	unlinkat(dirfd, name, 0);
	return 0;
}

int job_userns_stop(const char *state_root, unsigned *stopped, struct skiff_error **err)
{
	_cleanup_free_ char *root = NULL;
	_cleanup_close_ int dirfd = -1;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	*stopped = 0;
	if (runtime_state_root(state_root, &root, err) < 0)
		return -1;
	dirfd = open_keep_dir(root, false, err);
	if (dirfd < 0)
		return *err ? -1 : 0;
	d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 3));
	if (d == NULL)
		return skiff_error_set(err, errno, "userns.keep", "cannot read %s/" KEEP_DIR, root);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".pid") == 0 &&
		    stop_holder(dirfd, de->d_name, stopped) < 0 && rc == 0)
			rc = skiff_error_set(err, errno, "userns.keep",
					     "cannot end the user namespace holder of %s/" KEEP_DIR
					     "/%s", root, de->d_name);
	}
	closedir(d);
	return rc;
}
