/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The init's last steps: the executable, rlimits, the process user, the
 * working directory and the environment. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime-internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static int check_executable(const char *path, struct skiff_error **err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return skiff_error_set(err, errno, errno == ENOENT ? "exec.not_found"
								: "exec.not_executable",
				       "cannot execute %s in the container", path);
	if (S_ISDIR(st.st_mode) || (st.st_mode & 0111) == 0)
		return skiff_error_set(err, EACCES, "exec.not_executable",
				       "%s in the container is not an executable file", path);
	return 0;
}

int process_find_executable(const struct spec_process *p, char **out,
			    struct skiff_error **err)
{
	const char *name = p->args[0];
	_cleanup_free_ char *path = NULL;
	const char *search;

	if (strchr(name, '/') != NULL) {
		if (check_executable(name, err) < 0)
			return -1;
		*out = xstrdup(name);
		return 0;
	}
	/* The container's PATH, not the runtime's: execvpe would use ours. */
	search = env_get(p->env, "PATH");
	path = xstrdup(search ? search : DEFAULT_PATH);
	for (char *save = NULL, *dir = strtok_r(path, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", name);
		struct stat st;

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
			*out = steal_pointer(&cand);
			return 0;
		}
	}
	return skiff_error_set(err, ENOENT, "exec.not_found",
			       "executable file \"%s\" not found in $PATH of the container "
			       "(process.args[0])", name);
}

int process_apply_rlimits(const struct spec_process *p, struct skiff_error **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = { .rlim_cur = p->rlimits[i].soft,
				     .rlim_max = p->rlimits[i].hard };

		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return skiff_error_set(err, errno, "container.rlimit",
					       "cannot set process.rlimits %s to %llu/%llu%s",
					       p->rlimits[i].type,
					       (unsigned long long)rl.rlim_cur,
					       (unsigned long long)rl.rlim_max,
					       errno == EPERM ? " (raising a hard limit needs "
					       "CAP_SYS_RESOURCE on the host)" : "");
	}
	return 0;
}

int process_apply_user(const struct spec_process *p, struct skiff_error **err)
{
	const struct spec_user *u = &p->user;

	/* The calls for this task alone: a chain's init runs on the runtime's
	 * memory (namespaces.c), where glibc's wrappers would see the
	 * runtime's threads. */
	if (sys_task_setgroups(u->n_additional_gids, u->additional_gids) < 0) {
		/* A single-id user namespace denies setgroups: only an error
		 * when the spec asked for groups. */
		if (u->n_additional_gids > 0 || errno != EPERM)
			return skiff_error_set(err, errno, "container.user",
					       "cannot set process.user.additionalGids%s",
					       errno == EPERM ? ": setgroups is denied in a "
					       "single-id user namespace; map a range of gids "
					       "(newgidmap, /etc/subgid)" : "");
	}
	if (sys_task_setresgid(u->gid) < 0)
		return skiff_error_set(err, errno, "container.user",
				       "cannot set process.user.gid %u%s", u->gid,
				       errno == EINVAL ? ": gid not mapped in the user namespace" : "");
	if (sys_task_setresuid(u->uid) < 0)
		return skiff_error_set(err, errno, "container.user",
				       "cannot set process.user.uid %u%s", u->uid,
				       errno == EINVAL ? ": uid not mapped in the user namespace" : "");
	umask(u->has_umask ? u->umask : 0022);
	return 0;
}

/* LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES as systemd's socket activation
 * defines them, for the fds passed on: the pid is the process's own (1 in
 * a new pid namespace), as runc does. */
static bool is_listen_var(const char *kv)
{
	static const char *const names[] = { "LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

char **process_env(const struct spec_process *p, int listen_fds)
{
	const char *names = getenv("LISTEN_FDNAMES");
	char **env = xzalloc((p->n_env + 4) * sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < p->n_env; i++)
		if (listen_fds == 0 || !is_listen_var(p->env[i]))
			env[n++] = xstrdup(p->env[i]);
	if (listen_fds > 0) {
		env[n++] = xasprintf("LISTEN_FDS=%d", listen_fds);
		env[n++] = xasprintf("LISTEN_PID=%d", (int)getpid());
		if (names != NULL)
			env[n++] = xasprintf("LISTEN_FDNAMES=%s", names);
	}
	return env;
}

int process_enter_cwd(const struct spec_process *p, struct skiff_error **err)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int dir = -1;
	char buf[PATH_MAX];

	if (root < 0)
		return skiff_error_set(err, errno, "container.cwd", "cannot open the container's root");
	/* Resolved inside the root, never through a magic link such as
	 * /proc/self/fd/N, then entered by fd: what is checked is what is
	 * entered. */
	dir = sys_open_in_root(root, p->cwd, SYS_NO_CREATE, 0, err);
	if (dir < 0)
		return skiff_error_prefix(err, "process.cwd: ");
	if (fchdir(dir) < 0)
		return skiff_error_set(err, errno, "container.cwd",
				       "cannot change to process.cwd %s", p->cwd);
	/* CVE-2024-21626: a cwd outside the root (reached through an fd of
	 * the host) is "(unreachable)/..." to the kernel, an error to glibc. */
	if (getcwd(buf, sizeof(buf)) == NULL || buf[0] != '/')
		return skiff_error_set(err, EPERM, "container.cwd_outside",
				       "process.cwd %s is outside the container: refusing to "
				       "run there", p->cwd);
	return 0;
}
