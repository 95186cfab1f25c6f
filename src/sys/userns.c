/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Id mappings for a child user namespace.
 *
 * The kernel lets an unprivileged process map only its own uid and gid into
 * a namespace it created, and the gid map only after setgroups is denied
 * (user_namespaces(7)).  Any wider map needs CAP_SETUID/CAP_SETGID in the
 * parent namespace, which the setuid helpers newuidmap/newgidmap lend to
 * users who have /etc/subuid and /etc/subgid ranges. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skiff/sys.h>
#include <skiff/util.h>

bool sys_can_write_any_map(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t setuid_cap = CAP_CLEAR, setgid_cap = CAP_CLEAR;

	if (caps == NULL)
		return false;
	cap_get_flag(caps, CAP_SETUID, CAP_EFFECTIVE, &setuid_cap);
	cap_get_flag(caps, CAP_SETGID, CAP_EFFECTIVE, &setgid_cap);
	cap_free(caps);
	return setuid_cap == CAP_SET && setgid_cap == CAP_SET;
}

bool sys_in_initial_userns(void)
{
	_cleanup_free_ char *map = NULL;
	unsigned long a, b, c;

	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL, NULL) < 0)
		return true;
	return sscanf(map, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 &&
	       c == 4294967295UL;
}

static char *map_text(const struct sys_id_map *m, size_t n)
{
	char *text = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		char *next = xasprintf("%s%u %u %u\n", text, m[i].inside,
				       m[i].outside, m[i].count);

		free(text);
		text = next;
	}
	return text;
}

/* Starts HELPER PID INSIDE OUTSIDE COUNT...; *child is its pid.
 * posix_spawn, not fork: glibc spawns with CLONE_VM|CLONE_VFORK, so the
 * caller's page tables are not copied (a fork of a large runtime costs
 * more than the exec on slow-fault VMs), and a helper that cannot be
 * executed is reported here as an errno, not as an exit status. */
static int spawn_map_helper(const char *helper, pid_t pid,
			    const struct sys_id_map *m, size_t n, pid_t *child,
			    struct skiff_error **err)
{
	char **argv = xzalloc((3 * n + 3) * sizeof(char *));
	int rc;

	argv[0] = xstrdup(helper);
	argv[1] = xasprintf("%d", pid);
	for (size_t i = 0; i < n; i++) {
		argv[2 + 3 * i] = xasprintf("%u", m[i].inside);
		argv[3 + 3 * i] = xasprintf("%u", m[i].outside);
		argv[4 + 3 * i] = xasprintf("%u", m[i].count);
	}
	rc = posix_spawnp(child, helper, NULL, NULL, argv, environ);
	strv_free(argv);
	if (rc == ENOENT)
		return skiff_error_set(err, 0, "userns.helper_missing",
				       "%s is needed for a multi-id user namespace mapping: "
				       "install the Debian package uidmap", helper);
	if (rc != 0)
		return skiff_error_set(err, rc, "userns.map", "cannot run %s", helper);
	return 0;
}

static int wait_map_helper(const char *helper, pid_t child, pid_t pid,
			   struct skiff_error **err)
{
	int status;

	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return skiff_error_set(err, errno, "userns.map", "waiting for %s", helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return skiff_error_set(err, 0, "userns.map",
				       "%s failed for the mapping of process %d: check that "
				       "/etc/sub%cid grants these ranges to the user", helper, pid,
				       helper[3] == 'u' ? 'u' : 'g');
	return 0;
}

static int write_proc_file(pid_t pid, const char *file, const char *text,
			   struct skiff_error **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/%s", pid, file);

	if (write_file_at(AT_FDCWD, path, text, NULL) < 0)
		return skiff_error_set(err, errno, "userns.map",
				       "cannot write the %s of the container's user namespace",
				       file);
	return 0;
}

static bool maps_only_self(const struct sys_id_map *m, size_t n, uint32_t self)
{
	return n == 1 && m[0].count == 1 && m[0].outside == self;
}

int sys_write_id_maps(pid_t pid, const struct sys_id_map *uid_map, size_t n_uid,
		      const struct sys_id_map *gid_map, size_t n_gid,
		      struct skiff_error **err)
{
	_cleanup_free_ char *uids = map_text(uid_map, n_uid);
	_cleanup_free_ char *gids = map_text(gid_map, n_gid);
	bool privileged = sys_can_write_any_map();
	pid_t gid_helper = -1, uid_helper = -1;
	int rc = 0;

	/* The two maps are independent files: where both need a setuid
	 * helper, both helpers run at the same time (each is an exec of a
	 * setuid binary, several ms where syscalls are slow). */
	if (n_gid > 0) {
		if (privileged)
			rc = write_proc_file(pid, "gid_map", gids, err);
		else if (maps_only_self(gid_map, n_gid, getegid()))
			rc = write_proc_file(pid, "setgroups", "deny", err) < 0 ? -1 :
			     write_proc_file(pid, "gid_map", gids, err);
		else
			rc = spawn_map_helper("newgidmap", pid, gid_map, n_gid, &gid_helper, err);
	}
	if (rc == 0 && n_uid > 0) {
		if (privileged || maps_only_self(uid_map, n_uid, geteuid()))
			rc = write_proc_file(pid, "uid_map", uids, err);
		else
			rc = spawn_map_helper("newuidmap", pid, uid_map, n_uid, &uid_helper, err);
	}
	/* Both are reaped whatever happened; the first failure is reported. */
	if (gid_helper > 0 && wait_map_helper("newgidmap", gid_helper, pid,
					      rc < 0 ? NULL : err) < 0)
		rc = -1;
	if (uid_helper > 0 && wait_map_helper("newuidmap", uid_helper, pid,
					      rc < 0 ? NULL : err) < 0)
		rc = -1;
	return rc;
}

/* The 32-bit id forms where the architecture also has 16-bit ones. */
#ifdef SYS_setgroups32
#define SKIFF_SYS_SETGROUPS SYS_setgroups32
#define SKIFF_SYS_SETRESGID SYS_setresgid32
#define SKIFF_SYS_SETRESUID SYS_setresuid32
#else
#define SKIFF_SYS_SETGROUPS SYS_setgroups
#define SKIFF_SYS_SETRESGID SYS_setresgid
#define SKIFF_SYS_SETRESUID SYS_setresuid
#endif

int sys_task_setgroups(size_t n, const uint32_t *gids)
{
	return (int)syscall(SKIFF_SYS_SETGROUPS, n, gids);
}

int sys_task_setresgid(uint32_t gid)
{
	return (int)syscall(SKIFF_SYS_SETRESGID, gid, gid, gid);
}

int sys_task_setresuid(uint32_t uid)
{
	return (int)syscall(SKIFF_SYS_SETRESUID, uid, uid, uid);
}
