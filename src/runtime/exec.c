/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `exec`: a new process in a running container, with runc's semantics.
 *
 *   runtime ──fork──> stage 1 ──fork──> stage 2 (the process)
 *
 * The runtime finds the container's init by its pidfd and compares each of
 * its namespaces with its own: those that differ are the container's.  When
 * the container has a cgroup, the runtime moves stage 1 into it first (stage
 * 1 waits for word of that).  Stage 1 joins the namespaces (setns on the
 * pidfd, all at once, where the kernel allows it, Linux 5.8; else through
 * /proc/PID/ns/TYPE, the user namespace first) and forks, since a pid namespace
 * applies to children only.  Stage 2 takes the init's last steps (terminal,
 * cwd, rlimits, fds, seccomp, capabilities, user, no_new_privileges) and
 * execs.  Its end of the sync socket is close-on-exec: the runtime learns
 * of the execve by end-of-file, and of a failure by an error message.
 *
 * The configuration is the container's own: the copy of config.json that
 * `create` kept in the state dir (the bundle's may have changed since). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime-internal.h"
#include "runtime/cgroup-internal.h"

#define CONFIG_COPY "config.json"

/* ---- the container's configuration ---------------------------------------- */

int exec_config_save(int statefd, const char *bundle, struct skiff_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, path, 16u << 20, &text, &len, err) < 0)
		return -1;
	return write_file_atomic_at(statefd, CONFIG_COPY, text, len, 0600, err);
}

static int load_config(int statefd, const struct container_state *st, struct spec **out,
		       struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *origin = NULL;
	size_t len;

	if (faccessat(statefd, CONFIG_COPY, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		/* A container made from a spec in memory, or by an older skiff. */
		return spec_load(st->bundle, out, err);
	if (read_file_at(statefd, CONFIG_COPY, 16u << 20, &text, &len, err) < 0)
		return -1;
	origin = xasprintf("config.json of container \"%s\"", st->id);
	return spec_parse(text, len, origin, out, err);
}

/* ---- the process: --process FILE, or the container's with the options ---- */

static void strv_push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static void env_set(struct spec_process *p, const char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < p->n_env; i++) {
		if (strncmp(p->env[i], kv, klen) == 0 && p->env[i][klen] == '=') {
			free(p->env[i]);
			p->env[i] = xstrdup(kv);
			return;
		}
	}
	strv_push(&p->env, &p->n_env, kv);
}

static int apply_options(struct spec_process *p, const struct exec_opts *o,
			 struct skiff_error **err)
{
	size_t n_args = strv_length(o->args);

	if (n_args == 0)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "exec: a command or --process FILE is needed");
	strv_free(p->args);
	p->args = strv_copy(o->args);
	p->n_args = n_args;
	if (o->cwd != NULL) {
		if (o->cwd[0] != '/')
			return skiff_error_set(err, EINVAL, "cli.usage",
					       "exec: --cwd %s: expected an absolute path", o->cwd);
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	for (size_t i = 0; o->env != NULL && o->env[i] != NULL; i++)
		env_set(p, o->env[i]);
	if (o->has_uid)
		p->user.uid = o->uid;
	if (o->has_gid)
		p->user.gid = o->gid;
	if (o->n_additional_gids > 0) {
		p->user.additional_gids = xrealloc(p->user.additional_gids,
						   (p->user.n_additional_gids + o->n_additional_gids) *
						   sizeof(uint32_t));
		memcpy(p->user.additional_gids + p->user.n_additional_gids, o->additional_gids,
		       o->n_additional_gids * sizeof(uint32_t));
		p->user.n_additional_gids += o->n_additional_gids;
	}
	for (size_t i = 0; o->caps != NULL && o->caps[i] != NULL; i++) {
		struct spec_caps *c;

		if (capability_from_name(o->caps[i]) < 0)
			return skiff_error_set(err, EINVAL, "cli.usage",
					       "exec: --cap %s: not a capability this kernel knows "
					       "(names such as CAP_NET_ADMIN)", o->caps[i]);
		if (p->capabilities == NULL)
			p->capabilities = xzalloc(sizeof(*p->capabilities));
		c = p->capabilities;
		strv_push(&c->bounding, &c->n_bounding, o->caps[i]);
		strv_push(&c->effective, &c->n_effective, o->caps[i]);
		strv_push(&c->permitted, &c->n_permitted, o->caps[i]);
		/* The kernel raises an ambient capability only when it is
		 * inheritable too: as runc, only when the process has an
		 * inheritable set at all. */
		if (c->inheritable != NULL)
			strv_push(&c->ambient, &c->n_ambient, o->caps[i]);
	}
	p->terminal = o->tty;
	if (o->no_new_privs)
		p->no_new_privileges = true;
	return 0;
}

static int exec_process(struct spec *s, const struct exec_opts *o, struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *origin = NULL;
	struct spec_process *p = NULL;
	size_t len;

	if (o->process_file == NULL) {
		if (s->process == NULL)
			return skiff_error_set(err, EINVAL, "spec.invalid",
					       "config.json: process: missing; give exec --process FILE");
		return apply_options(s->process, o, err);
	}
	if (o->args != NULL && o->args[0] != NULL)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "exec: give either --process FILE or a command, not both");
	if (read_file_at(AT_FDCWD, o->process_file, 4u << 20, &text, &len, err) < 0)
		return skiff_error_prefix(err, "--process: ");
	origin = xasprintf("--process %s", o->process_file);
	if (spec_process_parse(text, len, origin, &p, err) < 0)
		return -1;
	spec_process_free(s->process);
	s->process = p;
	return 0;
}

/* ---- the child's side ------------------------------------------------------ */

enum { EXEC_CGROUP_PLACED = 1, EXEC_PID, EXEC_ERROR };

struct exec_msg {
	int type;
	int errnum;
	pid_t pid;
	char id[64];
	char msg[2048];
};

struct exec_child {
	const struct spec_process *process;
	struct cap_sets caps;
	struct seccomp_filter *seccomp;
	int pidfd;                     /* the container's init */
	int ns_flags;                  /* CLONE_NEW* of the namespaces to join */
	int ns_fd[SPEC_NS__COUNT];     /* /proc/PID/ns/TYPE: when setns on a pidfd fails */
	bool wait_cgroup;              /* stage 1 waits until the runtime placed it */
	int console_fd;                /* where to send the pty master, or -1 */
	int lock_fd;                   /* the state lock: not the children's */
	int preserve_fds;
};

static const struct {
	const char *name;              /* under /proc/PID/ns */
	int flag;
} ns_kinds[SPEC_NS__COUNT] = {
	/* The user namespace first: it gives the rights to join the others. */
	{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
	{ "net", CLONE_NEWNET }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

static int msg_send(int fd, int type, pid_t pid)
{
	struct exec_msg m = { .type = type, .pid = pid };

	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

static void msg_send_error(int fd, const struct skiff_error *e)
{
	struct exec_msg m = { .type = EXEC_ERROR };

	m.errnum = e != NULL ? e->errnum : 0;
	snprintf(m.id, sizeof(m.id), "%s", e != NULL ? e->id : "exec.process");
	snprintf(m.msg, sizeof(m.msg), "%s", e != NULL ? e->msg : "the exec'd process failed");
	(void)!send(fd, &m, sizeof(m), MSG_NOSIGNAL);
}

/* One message; *eof is set (when not NULL) on a closed socket. */
static int msg_recv(int fd, int want, struct exec_msg *m, bool *eof, struct skiff_error **err)
{
	ssize_t r;

	do
		r = recv(fd, m, sizeof(*m), 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return skiff_error_set(err, errno, "container.sync",
				       "lost contact with the exec'd process");
	if (r == 0) {
		if (eof != NULL) {
			*eof = true;
			return 0;
		}
		return skiff_error_set(err, 0, "exec.process",
				       "the exec'd process died while it was set up");
	}
	if (m->type == EXEC_ERROR) {
		m->id[sizeof(m->id) - 1] = '\0';
		m->msg[sizeof(m->msg) - 1] = '\0';
		return skiff_error_set(err, m->errnum, m->id, "%s", m->msg);
	}
	if (m->type != want)
		return skiff_error_set(err, EPROTO, "container.sync",
				       "unexpected message %d from the exec'd process", m->type);
	return 0;
}

static int join_namespaces(const struct exec_child *c, struct skiff_error **err)
{
	if (c->ns_flags == 0)
		return 0;
	/* One call, checked and applied by the kernel as a whole. */
	if (setns(c->pidfd, c->ns_flags) == 0)
		return 0;
	if (errno != EINVAL)
		return skiff_error_set(err, errno, "exec.namespace",
				       "cannot join the namespaces of the container's init");
	for (size_t i = 0; i < SPEC_NS__COUNT; i++) {
		if (!(c->ns_flags & ns_kinds[i].flag))
			continue;
		if (setns(c->ns_fd[i], ns_kinds[i].flag) < 0)
			return skiff_error_set(err, errno, "exec.namespace",
					       "cannot join the %s namespace of the container's init",
					       ns_kinds[i].name);
	}
	return 0;
}

/* The init's last steps (namespaces.c), for the exec'd process. */
static void exec_stage2(const struct exec_child *c, int sync_fd, int order_fd)
{
	const struct spec_process *p = c->process;
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *exe = NULL;
	_cleanup_strv_ char **env = NULL;
	char byte;

	if (c->console_fd >= 0) {
		if (terminal_setup(c->console_fd, p, &err) < 0)
			goto fail;
		close(c->console_fd);
	}
	if (process_enter_cwd(p, &err) < 0 || process_apply_rlimits(p, &err) < 0 ||
	    process_find_executable(p, &exe, &err) < 0)
		goto fail;
	/* Only stdio and --preserve-fds reach the process (CVE-2024-21626). */
	if (sys_cloexec_from(3 + c->preserve_fds) < 0) {
		skiff_error_set(&err, errno, "container.fds", "cannot close inherited fds");
		goto fail;
	}
	env = process_env(p, 0);
	/* seccomp first without no_new_privileges, last with it: see
	 * init_wait_and_exec() in namespaces.c for why. */
	if (c->seccomp != NULL && !p->no_new_privileges &&
	    seccomp_filter_install(c->seccomp, &err) < 0)
		goto fail;
	if (capabilities_before_user_switch(&c->caps, &err) < 0 ||
	    process_apply_user(p, &err) < 0 || capabilities_apply(&c->caps, &err) < 0)
		goto fail;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		skiff_error_set(&err, errno, "container.no_new_privs",
				"cannot set no_new_privileges");
		goto fail;
	}
	if (c->seccomp != NULL && p->no_new_privileges &&
	    seccomp_filter_install(c->seccomp, &err) < 0)
		goto fail;
	execve(exe, p->args, env);
	skiff_error_set(&err, errno, errno == ENOENT ? "exec.not_found" : "exec.not_executable",
			"cannot execute %s in the container", exe);
fail:
	/* After stage 1 reported our pid: the runtime expects it first. */
	while (read(order_fd, &byte, 1) < 0 && errno == EINTR)
		;
	msg_send_error(sync_fd, err);
	_exit(skiff_error_exit_code(err));
}

static _Noreturn void exec_stage1(const struct exec_child *c, int sync_fd)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	struct exec_msg m;
	int order[2];
	pid_t pid;

	if (c->wait_cgroup && msg_recv(sync_fd, EXEC_CGROUP_PLACED, &m, NULL, &err) < 0)
		goto fail;
	/* Still on the host's /proc; stage 2 inherits it. */
	if (c->process->has_oom_score_adj) {
		char v[16];

		snprintf(v, sizeof(v), "%d", c->process->oom_score_adj);
		if (sys_write_procfs("self/oom_score_adj", v) < 0) {
			skiff_error_set(&err, errno, "container.oom_score_adj",
					"cannot set process.oomScoreAdj to %s", v);
			goto fail;
		}
	}
	/* Until its execve, no process of the container may ptrace us or
	 * open our /proc files (runc's runc:[2:INIT] does the same). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (join_namespaces(c, &err) < 0)
		goto fail;
	/* As the namespace's root until process.user, as the init is. */
	if (c->ns_flags & CLONE_NEWUSER) {
		if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
			skiff_error_set(&err, errno, "container.userns", "cannot become gid 0");
		else if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
			skiff_error_set(&err, errno, "container.userns", "cannot become uid 0");
		if (err != NULL)
			goto fail;
	}
	if (pipe2(order, O_CLOEXEC) < 0) {
		skiff_error_set(&err, errno, "container.sync", "cannot create a pipe");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		skiff_error_set(&err, errno, "container.fork",
				"cannot fork in the container's pid namespace");
		goto fail;
	}
	if (pid == 0) {
		close(order[1]);
		exec_stage2(c, sync_fd, order[0]);
		_exit(127);
	}
	/* Exiting closes order[1]: stage 2 may report after us. */
	_exit(msg_send(sync_fd, EXEC_PID, pid) < 0 ? 1 : 0);
fail:
	msg_send_error(sync_fd, err);
	_exit(1);
}

/* ---- the runtime's side ----------------------------------------------------- */

/* The namespaces of the init that are not ours. */
static int container_namespaces(pid_t init, struct exec_child *c, struct skiff_error **err)
{
	for (size_t i = 0; i < SPEC_NS__COUNT; i++) {
		_cleanup_free_ char *theirs = xasprintf("/proc/%d/ns/%s", init, ns_kinds[i].name);
		_cleanup_free_ char *ours = xasprintf("/proc/self/ns/%s", ns_kinds[i].name);
		struct stat a, b;

		if (stat(ours, &b) < 0 && errno == ENOENT)
			continue;   /* a namespace type this kernel does not have */
		if (stat(theirs, &a) < 0 || stat(ours, &b) < 0)
			return skiff_error_set(err, errno, "exec.namespace",
					       "cannot inspect the %s namespace of the container's "
					       "init (%s)", ns_kinds[i].name, theirs);
		if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			continue;
		c->ns_flags |= ns_kinds[i].flag;
		c->ns_fd[i] = open(theirs, O_RDONLY | O_CLOEXEC);
		if (c->ns_fd[i] < 0)
			return skiff_error_set(err, errno, "exec.namespace",
					       "cannot open %s", theirs);
	}
	return 0;
}

/* Forks the stages, places stage 1 in cg, and returns once the process has
 * exec'd (or failed to: the error then says why).  *pid gets its pid, also
 * on failure when it was known (0 otherwise). */
static int exec_spawn(const struct exec_child *c, const struct cgroup *cg, pid_t *pid,
		      struct skiff_error **err)
{
	_cleanup_close_ int parent_fd = -1;
	struct exec_msg m;
	bool eof = false;
	int sv[2], status;
	pid_t child;

	*pid = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return skiff_error_set(err, errno, "container.sync", "cannot create a socketpair");
	parent_fd = sv[0];
	child = fork();
	if (child < 0) {
		close(sv[1]);
		return skiff_error_set(err, errno, "container.fork", "cannot fork");
	}
	if (child == 0) {
		close(sv[0]);
		if (c->lock_fd >= 0)
			close(c->lock_fd);
		sys_close_inherited_from(3 + c->preserve_fds);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		exec_stage1(c, sv[1]);
	}
	close(sv[1]);
	if (cg != NULL) {
		if (cgroup_enter(cg, child, err) < 0)
			goto fail_stage1;
		(void)msg_send(parent_fd, EXEC_CGROUP_PLACED, 0);
	}
	if (msg_recv(parent_fd, EXEC_PID, &m, NULL, err) < 0)
		goto fail_stage1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	*pid = m.pid;
	/* End of file: stage 2's end closed on execve. */
	return msg_recv(parent_fd, 0, &m, &eof, err) < 0 ? -1 : 0;

fail_stage1:
	kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

/* The foreground: waits for the process, passing signals on to it. */
static int wait_process(pid_t pid, int *exit_status, struct skiff_error **err)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
					 SIGUSR2, SIGWINCH, SIGCONT };
	struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
	int status;
	pid_t r;

	forward_pid = pid;
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	forward_pid = 0;
	if (r < 0)
		return skiff_error_set(err, errno, "container.wait",
				       "cannot wait for the exec'd process %d", pid);
	*exit_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	return 0;
}

static void exec_child_close(struct exec_child *c)
{
	for (size_t i = 0; i < SPEC_NS__COUNT; i++)
		if (c->ns_fd[i] >= 0)
			close(c->ns_fd[i]);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->console_fd >= 0)
		close(c->console_fd);
}

static int check_status(int statefd, const struct container_state *st,
			const struct exec_opts *o, struct skiff_error **err)
{
	enum container_status status = state_status(statefd, st);

	if (status == CONTAINER_STOPPED)
		return skiff_error_set(err, ESRCH, "container.not_running",
				       "container \"%s\" is stopped: cannot exec in it", st->id);
	if (status == CONTAINER_PAUSED && !o->ignore_paused)
		return skiff_error_set(err, EBUSY, "container.paused",
				       "container \"%s\" is paused: resume it first, or use "
				       "exec --ignore-paused (the process then waits until it "
				       "is resumed)", st->id);
	return 0;
}

static int check_lsm_options(const struct exec_opts *o, struct skiff_error **err)
{
	if (o->apparmor != NULL && o->apparmor[0] != '\0')
		return skiff_error_set(err, ENOTSUP, "exec.lsm_unsupported",
				       "exec: --apparmor %s: skiff does not support AppArmor "
				       "profiles; leave the option out", o->apparmor);
	if (o->process_label != NULL && o->process_label[0] != '\0')
		return skiff_error_set(err, ENOTSUP, "exec.lsm_unsupported",
				       "exec: --process-label %s: skiff does not support SELinux "
				       "labels; leave the option out", o->process_label);
	return 0;
}

int container_exec(const struct runtime_ctx *ctx, const char *id,
		   const struct exec_opts *o, int *exit_status, struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_spec_ struct spec *s = NULL;
	_cleanup_seccomp_filter_ struct seccomp_filter *seccomp = NULL;
	_cleanup_close_ int rootfd = -1, statefd = -1, proxy_fd = -1, master = -1;
	struct exec_child c = { .console_fd = -1, .pidfd = -1,
				.preserve_fds = o->preserve_fds };
	struct cgroup cg = { .dirfd = -1 };
	const struct spec_process *p;
	pid_t pid = 0;
	int rc = -1;

	for (size_t i = 0; i < SPEC_NS__COUNT; i++)
		c.ns_fd[i] = -1;
	*exit_status = 0;
	if (container_id_validate(id, err) < 0 || check_lsm_options(o, err) < 0)
		return -1;
	/* CVE-2019-5736: the process is forked into the container's pid
	 * namespace while skiff's code still runs in it; a container process
	 * that reaches it through /proc/PID/exe must find a sealed copy, never
	 * the host's binary.  Always, before anything is done. */
	if (sys_reexec_from_sealed_copy(err) < 0)
		return -1;
	rootfd = state_root_open(ctx, false, err);
	if (rootfd < 0)
		return -1;
	statefd = state_dir_open_locked(rootfd, id, err);
	if (statefd < 0 || state_read(statefd, id, &st, err) < 0 ||
	    check_status(statefd, st, o, err) < 0 || load_config(statefd, st, &s, err) < 0 ||
	    exec_process(s, o, err) < 0)
		return -1;
	p = s->process;
	if (p->terminal && o->console_socket == NULL && o->detach)
		return skiff_error_set(err, EINVAL, "terminal.no_console_socket",
				       "exec: a terminal was asked for (%s) but no --console-socket "
				       "given: a detached process needs a socket to send its "
				       "terminal to", o->process_file ? "process.terminal" : "--tty");
	if (!p->terminal && o->console_socket != NULL)
		return skiff_error_set(err, EINVAL, "terminal.console_socket",
				       "exec: --console-socket %s is only for a process with a "
				       "terminal (--tty, or process.terminal true)", o->console_socket);
	if (capabilities_resolve(p->capabilities, p->user.uid, capabilities_last_cap(),
				 &c.caps, err) < 0 ||
	    seccomp_filter_prepare(s, id, st->bundle, &seccomp, err) < 0)
		return -1;
	c.process = p;
	c.seccomp = seccomp;
	c.lock_fd = statefd;
	c.pidfd = sys_pidfd_open_checked(st->pid, st->start_time);
	if (c.pidfd < 0) {
		skiff_error_set(err, ESRCH, "container.not_running",
				"container \"%s\" is stopped: cannot exec in it", id);
		goto out;
	}
	if (container_namespaces(st->pid, &c, err) < 0)
		goto out;
	if (p->terminal) {
		if (o->console_socket != NULL) {
			c.console_fd = terminal_console_connect(o->console_socket, err);
		} else {
			/* skiff is the proxy: the master comes back to us. */
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
				skiff_error_set(err, errno, "container.sync",
						"cannot create a socketpair");
				goto out;
			}
			proxy_fd = sv[0];
			c.console_fd = sv[1];
		}
		if (c.console_fd < 0)
			goto out;
	}
	if (st->cgroup != NULL) {
		cg.path = st->cgroup;
		cg.dirfd = open(st->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg.dirfd < 0) {
			skiff_error_set(err, errno, "cgroup.enter",
					"the cgroup %s of container \"%s\" cannot be opened",
					st->cgroup, id);
			goto out;
		}
		c.wait_cgroup = true;
	}
	/* In the foreground the process is ours to wait for: its parent,
	 * stage 1, exits early. */
	if (!o->detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	rc = exec_spawn(&c, c.wait_cgroup ? &cg : NULL, &pid, err);
	if (c.console_fd >= 0) {
		close(c.console_fd);
		c.console_fd = -1;
	}
	if (rc < 0) {
		if (pid > 0 && !o->detach)
			waitpid(pid, NULL, 0);
		goto out;
	}
	if (o->pid_file != NULL && write_pid_file(o->pid_file, pid, err) < 0) {
		kill(pid, SIGKILL);
		if (!o->detach)
			waitpid(pid, NULL, 0);
		rc = -1;
		goto out;
	}
	/* Other commands may use the container while the process runs. */
	close(steal_fd(&statefd));
	if (o->detach)
		goto out;
	if (proxy_fd >= 0) {
		rc = terminal_recv_master(proxy_fd, &master, err);
		if (rc == 0) {
			rc = terminal_proxy(master, pid, exit_status, err);
		} else {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	} else {
		rc = wait_process(pid, exit_status, err);
	}
out:
	if (cg.dirfd >= 0)
		close(cg.dirfd);
	exec_child_close(&c);
	return rc;
}
