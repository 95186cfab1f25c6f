/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Working with a container's cgroup once it exists: freezing, signalling
 * every process, listing them, reading the numbers, removing it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"
#include <skiff/util.h>

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool cgroup_is_frozen(const char *path)
{
	_cleanup_free_ char *v = cgroup_read_file(path, "cgroup.freeze");

	return v != NULL && v[0] == '1';
}

int cgroup_freeze(const char *path, bool frozen, struct skiff_error **err)
{
	_cleanup_free_ char *file = xasprintf("%s/cgroup.freeze", path);

	if (write_file_at(AT_FDCWD, file, frozen ? "1" : "0", NULL) < 0)
		return skiff_error_set(err, errno, "cgroup.freeze", "cannot write %s to %s",
				       frozen ? "1" : "0", file);
	/* The write only asks: the tasks stop (or go on) one by one, and
	 * cgroup.events says when all have. */
	for (long waited = 0, step = 1; waited < 10000; waited += step, step = step < 50 ? step * 2 : 50) {
		_cleanup_free_ char *events = cgroup_read_file(path, "cgroup.events");
		uint64_t v = 0;

		if (events != NULL && cgroup_keyed_value(events, "frozen", &v) == 0 &&
		    (v != 0) == frozen)
			return 0;
		sleep_ms(step);
	}
	return skiff_error_set(err, 0, "cgroup.freeze",
			       "the processes of %s did not all %s within 10 s", path,
			       frozen ? "stop" : "resume");
}

static DIR *opendir_dup(int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d = copy >= 0 ? fdopendir(copy) : NULL;

	if (d == NULL && copy >= 0)
		close(copy);
	return d;
}

static int collect_pids(int dirfd, pid_t **v, size_t *n, size_t *cap)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (read_file_at(dirfd, "cgroup.procs", 16u << 20, &procs, NULL, NULL) < 0)
		return -1;
	for (char *p = procs; *p != '\0';) {
		long pid = strtol(p, &p, 10);

		if (pid > 0) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 64;
				*v = xrealloc(*v, (*cap + 1) * sizeof(pid_t));
			}
			(*v)[(*n)++] = (pid_t)pid;
		}
		while (*p == '\n')
			p++;
		if (*p != '\0' && (*p < '0' || *p > '9'))
			break;
	}
	d = opendir_dup(dirfd);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		_cleanup_close_ int sub = -1;

		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0)
			(void)collect_pids(sub, v, n, cap);
	}
	return 0;
}

int cgroup_read_pids(const char *path, pid_t **out, size_t *n, struct skiff_error **err)
{
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ pid_t *v = xzalloc(sizeof(pid_t));
	size_t count = 0, cap = 0;

	if (dirfd < 0 || collect_pids(dirfd, &v, &count, &cap) < 0)
		return skiff_error_set(err, errno, "cgroup.read",
				       "cannot read the processes of %s", path);
	*out = steal_pointer(&v);
	*n = count;
	return 0;
}

int cgroup_signal_all(const char *path, int sig, struct skiff_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	bool was_frozen;

	/* cgroup.kill (5.14) kills the whole subtree at once, with no race
	 * against forks. */
	if (sig == SIGKILL) {
		_cleanup_free_ char *file = xasprintf("%s/cgroup.kill", path);

		if (write_file_at(AT_FDCWD, file, "1", NULL) == 0)
			return 0;
	}
	/* Otherwise frozen while signalled, so that no child forked meanwhile
	 * escapes; a fatal signal still kills frozen tasks. */
	was_frozen = cgroup_is_frozen(path);
	if (!was_frozen)
		(void)cgroup_freeze(path, true, NULL);
	if (cgroup_read_pids(path, &pids, &n, err) < 0) {
		if (!was_frozen)
			(void)cgroup_freeze(path, false, NULL);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			log_debug("cannot send signal %d to pid %d: %s", sig, pids[i],
				  strerror(errno));
	if (!was_frozen)
		(void)cgroup_freeze(path, false, NULL);
	return 0;
}

/* rmdir of a cgroup and its sub-cgroups, deepest first. */
static int remove_cgroup_tree(int parentfd, const char *name)
{
	_cleanup_close_ int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	d = opendir_dup(fd);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_cgroup_tree(fd, de->d_name) < 0)
			return -1;
	}
	if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int cgroup_destroy(const char *path, const char *leaf, struct skiff_error **err)
{
	_cleanup_free_ char *parent = xstrdup(path);
	_cleanup_close_ int parentfd = -1;
	char *slash = strrchr(parent, '/');
	int e = 0;

	if (slash == NULL || slash == parent)
		return skiff_error_set(err, EINVAL, "cgroup.remove", "bad cgroup path %s", path);
	*slash = '\0';
	parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd >= 0 && faccessat(parentfd, slash + 1, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		/* Exiting tasks leave the cgroup a moment after the signal:
		 * rmdir says EBUSY until then.  5 s, killing again now and then. */
		for (int attempt = 0;; attempt++) {
			if (attempt % 100 == 0 && cgroup_populated(path))
				(void)cgroup_signal_all(path, SIGKILL, NULL);
			if (remove_cgroup_tree(parentfd, slash + 1) == 0)
				break;
			e = errno;
			if (e != EBUSY || attempt == 500)
				return skiff_error_set(err, e, "cgroup.remove",
						       "cannot remove the container's cgroup %s%s",
						       path, e == EBUSY ? ": processes are still in it"
									: "");
			sleep_ms(10);
		}
	}
	/* The leaf skiff moved into: gone once no skiff is in it any more;
	 * EBUSY while one still is. */
	if (leaf != NULL)
		(void)rmdir(leaf);
	return 0;
}

uint64_t cgroup_oom_kills(const char *path)
{
	_cleanup_free_ char *events = cgroup_read_file(path, "memory.events");
	uint64_t v = 0;

	if (events == NULL || cgroup_keyed_value(events, "oom_kill", &v) < 0)
		return 0;
	return v;
}

static bool read_u64(const char *path, const char *file, uint64_t *out)
{
	_cleanup_free_ char *text = cgroup_read_file(path, file);
	unsigned long long v;

	if (text == NULL)
		return false;
	if (strncmp(text, "max", 3) == 0) {
		*out = UINT64_MAX;
		return true;
	}
	if (sscanf(text, "%llu", &v) != 1)
		return false;
	*out = v;
	return true;
}

int cgroup_read_stats(const char *path, struct container_stats *out, struct skiff_error **err)
{
	_cleanup_free_ char *events = NULL, *cpu = NULL;

	if (access(path, F_OK) < 0)
		return skiff_error_set(err, errno, "cgroup.read", "cannot read %s", path);
	out->has_memory = read_u64(path, "memory.current", &out->memory_current);
	if (out->has_memory) {
		if (!read_u64(path, "memory.max", &out->memory_max))
			out->memory_max = UINT64_MAX;
		(void)read_u64(path, "memory.swap.current", &out->swap_current);
		out->has_memory_peak = read_u64(path, "memory.peak", &out->memory_peak);
		events = cgroup_read_file(path, "memory.events");
		(void)cgroup_keyed_value(events, "oom", &out->oom);
		(void)cgroup_keyed_value(events, "oom_kill", &out->oom_kill);
	}
	cpu = cgroup_read_file(path, "cpu.stat");
	out->has_cpu = cpu != NULL && cgroup_keyed_value(cpu, "usage_usec", &out->cpu_usage_usec) == 0;
	if (out->has_cpu) {
		(void)cgroup_keyed_value(cpu, "user_usec", &out->cpu_user_usec);
		(void)cgroup_keyed_value(cpu, "system_usec", &out->cpu_system_usec);
		(void)cgroup_keyed_value(cpu, "nr_periods", &out->cpu_nr_periods);
		(void)cgroup_keyed_value(cpu, "nr_throttled", &out->cpu_nr_throttled);
		(void)cgroup_keyed_value(cpu, "throttled_usec", &out->cpu_throttled_usec);
	}
	out->has_pids = read_u64(path, "pids.current", &out->pids_current);
	if (out->has_pids && !read_u64(path, "pids.max", &out->pids_max))
		out->pids_max = UINT64_MAX;
	return 0;
}
