/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Spawning a container's init.
 *
 *   runtime ──fork──> stage 1 ──fork──> stage 2 (the init; pid 1 of a new
 *                                       pid namespace)
 *
 * When the container has a cgroup, the runtime moves stage 1 into it first
 * and stage 1 waits for word of that, so that the cgroup namespace created
 * below, and every process after, is the container cgroup's.
 * Stage 1 enters the namespaces: it creates the user namespace first (the
 * runtime, still outside, writes its id maps), joins those given by path,
 * and unshares the rest; a new network namespace the caller made ahead
 * (create_opts.netns_fd, or netns_sock while it is being made; it costs the
 * kernel the most of them) is joined instead, when it is the user
 * namespace's.  A new pid namespace only
 * applies to children, so stage 1 forks stage 2, reports its pid and
 * exits.  Stage 2 builds the rootfs, reports ready, and waits for the
 * runtime's go ahead; then it waits on the exec fifo until `start`.
 * Failures travel back over a seqpacket socket as an error id and
 * message, so `create` prints why.
 *
 * When the runtime has nothing to do for stage 1 (no cgroup to move it to,
 * no id maps to write: the user namespace is joined, or there is none),
 * stage 1 borrows the runtime's memory (CLONE_VM | CLONE_VFORK, as
 * posix_spawn does) while the runtime waits: no address space is copied
 * and torn down for it, which costs more than everything stage 1 does.
 * The kernel lets such a child join or create namespaces: only threads
 * (CLONE_THREAD) and a shared fs_struct (CLONE_FS) are refused.
 *
 * Chain (create and start at once, for skiff run): when, besides, nothing
 * needs the runtime between the fork and the job's execve, the init runs
 * on the runtime's memory too, cloned the same way by stage 1, and goes
 * straight on to the execve: no fifo, no ready and go.  Its address space
 * is the one the execve makes, and nothing is copied: the runtime and
 * stage 1 wait, stopped, until it exec'd or exited, so one task at a time
 * runs on that memory.  Errors travel on the socket as before; the
 * runtime learns the pid from stage 1 after the fact, and records it.
 * With the built-in seccomp profile, the init of a chain hands the
 * rootfs to a helper on that memory too and has the kernel compile the
 * filter meanwhile (init_prepare_beside_seccomp: the one exception to
 * "one task at a time", with its own rules). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime-internal.h"
#include "runtime/cgroup-internal.h"

enum sync_type { SYNC_USERNS_READY = 1, SYNC_MAPS_DONE, SYNC_INIT_PID,
		 SYNC_READY, SYNC_GO, SYNC_ERROR, SYNC_CGROUP_PLACED,
		 SYNC_RUN_HOOKS, SYNC_HOOKS_DONE };

struct sync_msg {
	int type;
	int errnum;
	pid_t pid;
	char id[64];
	char msg[2048];
};

static const int ns_clone_flag[SPEC_NS__COUNT] = {
	[SPEC_NS_PID] = CLONE_NEWPID, [SPEC_NS_NETWORK] = CLONE_NEWNET,
	[SPEC_NS_MOUNT] = CLONE_NEWNS, [SPEC_NS_IPC] = CLONE_NEWIPC,
	[SPEC_NS_UTS] = CLONE_NEWUTS, [SPEC_NS_USER] = CLONE_NEWUSER,
	[SPEC_NS_CGROUP] = CLONE_NEWCGROUP, [SPEC_NS_TIME] = CLONE_NEWTIME,
};

static int sync_send(int fd, int type, pid_t pid)
{
	struct sync_msg m = { .type = type, .pid = pid };

	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

static void sync_send_error(int fd, struct skiff_error *e)
{
	struct sync_msg m = { .type = SYNC_ERROR };

	if (e != NULL) {
		m.errnum = e->errnum;
		snprintf(m.id, sizeof(m.id), "%s", e->id);
		snprintf(m.msg, sizeof(m.msg), "%s", e->msg);
	} else {
		snprintf(m.id, sizeof(m.id), "container.init");
		snprintf(m.msg, sizeof(m.msg), "the container's init failed");
	}
	(void)!send(fd, &m, sizeof(m), MSG_NOSIGNAL);
}

/* Receives one message; a closed socket means the peer died. */
static int sync_recv(int fd, int want, struct sync_msg *m, const char *who,
		     struct skiff_error **err)
{
	ssize_t r;
	bool reset = false;

	/* A peer that exits with our message unread (the runtime sends go
	 * before the init is ready; an init that failed never reads it)
	 * resets the socket, and the kernel reports that before the messages
	 * still queued for us, its error among them: once, then they come. */
	for (;;) {
		r = recv(fd, m, sizeof(*m), 0);
		if (r < 0 && errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		if (r >= 0 || errno != EINTR)
			break;
	}
	if (r < 0)
		return skiff_error_set(err, errno, "container.sync",
				       "lost contact with %s", who);
	if (r == 0)
		return skiff_error_set(err, 0, "container.init",
				       "%s exited while the container was being set up", who);
	if (m->type == SYNC_ERROR) {
		m->id[sizeof(m->id) - 1] = '\0';
		m->msg[sizeof(m->msg) - 1] = '\0';
		return skiff_error_set(err, m->errnum, m->id, "%s", m->msg);
	}
	if (m->type != want)
		return skiff_error_set(err, EPROTO, "container.sync",
				       "unexpected message %d from %s", m->type, who);
	return 0;
}

static struct sys_id_map *to_sys_maps(const struct spec_id_mapping *m, size_t n)
{
	struct sys_id_map *v = xzalloc((n + 1) * sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = (struct sys_id_map){ m[i].container_id, m[i].host_id, m[i].size };
	return v;
}

/* ---- stage 2: the init -------------------------------------------------- */

static int bring_up_loopback(const struct init_config *c, struct skiff_error **err)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	_cleanup_close_ int s = -1;

	/* Made ahead, its maker brings lo up: once it is done (or after 2 s,
	 * then as if it had failed), lo up means all of it, addresses too
	 * (the flag is set before the kernel adds them). */
	if (c->opts != NULL && c->opts->netns_lo_fd > 0) {
		struct pollfd p = { .fd = c->opts->netns_lo_fd, .events = POLLIN };

		while (poll(&p, 1, 2000) < 0 && errno == EINTR)
			;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return skiff_error_set(err, errno, "container.network",
				       "cannot query lo in the new network namespace");
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return skiff_error_set(err, errno, "container.network",
				       "cannot bring lo up in the new network namespace");
	return 0;
}

/* What the init builds for every task of the container: the mounts and
 * the root (pivot_root moves the root of each task that had the old one),
 * the hostname, lo, the cwd (the fs_struct), and the executable's path.
 * With CLONE_VM | CLONE_FS | CLONE_FILES, a helper can build it for the
 * init (init_prepare_beside_seccomp). */
static int init_prepare_shared(const struct init_config *c, char **exe,
			       struct skiff_error **err)
{
	const struct spec *s = c->spec;

	if (rootfs_setup(c, err) < 0)
		return -1;
	if (s->hostname != NULL && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return skiff_error_set(err, errno, "container.hostname",
				       "cannot set the hostname to \"%s\"", s->hostname);
	if (s->domainname != NULL && setdomainname(s->domainname, strlen(s->domainname)) < 0)
		return skiff_error_set(err, errno, "container.hostname",
				       "cannot set the domainname to \"%s\"", s->domainname);
	if (spec_namespace(s, SPEC_NS_NETWORK) != NULL &&
	    spec_namespace(s, SPEC_NS_NETWORK)->path == NULL && bring_up_loopback(c, err) < 0)
		return -1;
	if (process_enter_cwd(s->process, err) < 0)
		return -1;
	return process_find_executable(s->process, exe, err);
}

/* What is the init's own: its controlling terminal (in the container's
 * /dev/pts, before `create` returns), its rlimits, its oom score. */
static int init_prepare_own(const struct init_config *c, struct skiff_error **err)
{
	const struct spec *s = c->spec;

	if (c->console_fd >= 0) {
		if (terminal_setup(c->console_fd, s->process, err) < 0)
			return -1;
		close(c->console_fd);
	}
	if (process_apply_rlimits(s->process, err) < 0)
		return -1;
	if (s->process->has_oom_score_adj) {
		char v[16];

		snprintf(v, sizeof(v), "%d", s->process->oom_score_adj);
		if (sys_write_procfs("self/oom_score_adj", v) < 0)
			return skiff_error_set(err, errno, "container.oom_score_adj",
					       "cannot set process.oomScoreAdj to %s", v);
	}
	return 0;
}

static int init_prepare(const struct init_config *c, char **exe, struct skiff_error **err)
{
	if (init_prepare_shared(c, exe, err) < 0)
		return -1;
	return init_prepare_own(c, err);
}

/* While it waits for `start`, the init is skiff's code and, as pid 1 of
 * its namespace, immune to every signal it has no handler for but SIGKILL:
 * `kill ID` (TERM) of a created container would do nothing.  These end it
 * as the signal would; execve puts the caller's dispositions back. */
static const int waiting_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
				       SIGUSR2, SIGALRM };

static void waiting_signal_exit(int sig)
{
	_exit(128 + sig);
}

/* skiff's built-in default profile allows every step the init takes after
 * start opens the fifo (the fifo itself, close_range, the capability drop,
 * the uid switch, execve: runtime tests run them under it), so it can be
 * loaded before the init waits for start: the kernel's compilation of it
 * then overlaps the runtime's own work instead of delaying the job.  Any
 * other profile is loaded as late as the spec allows, and so is this one
 * when startContainer hooks, which run before the profile applies, exist. */
static bool seccomp_early(const struct init_config *c)
{
	const struct spec *s = c->spec;

	return c->seccomp != NULL && s->linux_ != NULL &&
	       s->linux_->seccomp == &skiff_seccomp_default &&
	       (s->hooks == NULL || s->hooks->n_start_container == 0);
}

static void init_wait_and_exec(const struct init_config *c, const char *exe)
{
	const struct spec_process *p = c->spec->process;
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_strv_ char **env = NULL;
	int fifo = -1;
	char path[32];
	struct sigaction old[ARRAY_SIZE(waiting_signals)];
	struct sigaction die = { .sa_handler = waiting_signal_exit };
	bool early = seccomp_early(c);

	for (size_t i = 0; i < ARRAY_SIZE(waiting_signals); i++)
		sigaction(waiting_signals[i], &die, &old[i]);
	if (early && !c->seccomp_loaded && seccomp_filter_install(c->seccomp, &err) < 0)
		goto fail;

	if (c->fifo_fd >= 0) {
		/* Blocks until `start` opens the fifo for reading.  Reopened
		 * through its fd: the state dir may be closed to this uid. */
		fifo = open(sys_fd_path(c->fifo_fd, path), O_WRONLY | O_CLOEXEC);
		if (fifo < 0) {
			skiff_error_set(&err, errno, "container.start",
					"cannot signal start through the exec fifo");
			goto fail;
		}
		close(c->fifo_fd);
		/* config.md: startContainer hooks run during start, in the
		 * container, before the process; `start` reports a failure. */
		if (hooks_start_container(c, &err) < 0)
			goto fail;
		/* "0", then the fifo stays open (close-on-exec) until the
		 * execve: `start` reads to its end, so it returns once the
		 * process runs, or with the error written after the "0". */
		if (write(fifo, "0", 1) != 1) {
			skiff_error_set(&err, errno, "container.start",
					"cannot signal start through the exec fifo");
			goto fail;
		}
	}
	/* Only stdio and the fds passed on (LISTEN_FDS, --preserve-fds) reach
	 * the process (CVE-2024-21626).  Marked close-on-exec rather than
	 * closed, so that what runs before execve can still use its fds. */
	if (sys_cloexec_from(3 + c->opts->listen_fds + c->opts->preserve_fds) < 0) {
		skiff_error_set(&err, errno, "container.fds", "cannot close inherited fds");
		goto fail;
	}
	env = process_env(p, c->opts->listen_fds);
	/* seccomp, without no_new_privileges: loading a filter then needs
	 * CAP_SYS_ADMIN, which the capability drop and the uid switch below
	 * take away, so it is loaded now, before them (as runc does); the
	 * profile then also filters those last steps (capset, prctl,
	 * setgroups, setresuid, execve). */
	if (c->seccomp != NULL && !early && !p->no_new_privileges &&
	    seccomp_filter_install(c->seccomp, &err) < 0)
		goto fail;
	if (capabilities_before_user_switch(&c->caps, &err) < 0 ||
	    process_apply_user(p, &err) < 0 ||
	    capabilities_apply(&c->caps, &err) < 0)
		goto fail;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		skiff_error_set(&err, errno, "container.no_new_privs",
				"cannot set no_new_privileges");
		goto fail;
	}
	/* seccomp, with no_new_privileges: after the capabilities and the
	 * uid switch, right before execve, so that the setup is not filtered
	 * (the loading itself is allowed by no_new_privileges).  Without it,
	 * the filter was loaded above, before the uid switch. */
	if (c->seccomp != NULL && !early && p->no_new_privileges &&
	    seccomp_filter_install(c->seccomp, &err) < 0)
		goto fail;
	/* A signal ignored by skiff's caller stays ignored in the process. */
	for (size_t i = 0; i < ARRAY_SIZE(waiting_signals); i++)
		sigaction(waiting_signals[i], &old[i], NULL);
	/* A chain's runtime waits, stopped, for this execve; if it was
	 * killed meanwhile, nobody would watch the job: do not start it. */
	if (c->chain && c->runtime_pidfd >= 0 &&
	    poll(&(struct pollfd){ .fd = c->runtime_pidfd, .events = POLLIN }, 1, 0) != 0) {
		skiff_error_set(&err, ESRCH, "container.init",
				"the runtime exited before the job started");
		goto fail;
	}
	execve(exe, p->args, env);
	skiff_error_set(&err, errno, errno == ENOENT ? "exec.not_found" : "exec.not_executable",
			"cannot execute %s", exe);
fail:
	if (fifo >= 0)
		container_start_report(fifo, err);
	if (c->chain)
		sync_send_error(c->sync_fd, err);
	else
		skiff_log_error(err);
	_exit(skiff_error_exit_code(err));
}

/* The helper of init_prepare_beside_seccomp(): on the init's memory,
 * files and fs_struct, it builds what init_prepare_shared() builds. */
struct prepare_helper {
	const struct init_config *c;
	char *exe;
	struct skiff_error *err;
	cpu_set_t cpus;              /* where it runs: not on the init's CPU */
	bool elsewhere;
};

#define PREPARE_HELPER_STACK (1024 * 1024)

static int prepare_helper_main(void *arg)
{
	struct prepare_helper *h = arg;

	if (h->elsewhere)
		sched_setaffinity(0, sizeof(h->cpus), &h->cpus);
	return init_prepare_shared(h->c, &h->exe, &h->err) < 0 ? 1 : 0;
}

/* In a chain whose profile may be loaded early (seccomp_early()), the
 * kernel's compilation of the filter (~0.3 ms, most of it the JIT) would
 * be the last step before the execve.  The init (this task) loads it while
 * a helper sharing its memory, files and fs_struct (root, cwd) builds the
 * rootfs and the rest that every task of the container shares; then the
 * init does what is its own, and the execve follows.  While the helper
 * runs, the init makes nothing but system calls (no malloc: glibc thinks
 * it is alone), and it waits for the helper before it reports anything.
 * The helper is cloned before the filter exists, so it runs unfiltered,
 * as the init would have.  Returns 1 when the filter is loaded, 0 when no
 * helper could be made (the caller prepares alone), -1 on failure. */
static int init_prepare_beside_seccomp(const struct init_config *c, char **exe,
				       struct skiff_error **err)
{
	struct prepare_helper h = { .c = c };
	struct sock_fprog prog;
	char *stack;
	pid_t pid;
	int status = 0;
	long loaded, waited;

	/* Where the system calls below would set errno, which the helper
	 * shares, the init prepares alone. */
	if (sys_quiet_syscall4(SYS_getpid, 0, 0, 0, 0) < 0 ||
	    !seccomp_filter_prog(c->seccomp, &prog))
		return 0;
	stack = mmap(NULL, PREPARE_HELPER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return 0;
	h.elsewhere = sys_cpus_elsewhere(&h.cpus);
	pid = clone(prepare_helper_main, stack + PREPARE_HELPER_STACK,
		    CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD, &h);
	if (pid < 0) {
		/* pids.max, say: one task does it all, as it would have. */
		munmap(stack, PREPARE_HELPER_STACK);
		return 0;
	}
	/* From here until the helper is reaped: system calls that leave
	 * errno alone, and no allocation.  Moved now, if it waits on this
	 * CPU: the kernel queues a new task behind its parent, and nothing
	 * would overlap. */
	if (h.elsewhere)
		sys_quiet_syscall4(SYS_sched_setaffinity, pid, sizeof(h.cpus), (long)&h.cpus, 0);
	loaded = sys_quiet_syscall4(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				    (long)seccomp_filter_flags(c->seccomp), (long)&prog, 0);
	do
		waited = sys_quiet_syscall4(SYS_wait4, pid, (long)&status, 0, 0);
	while (waited == -EINTR);
	munmap(stack, PREPARE_HELPER_STACK);
	*exe = h.exe;
	if (h.err != NULL) {
		*err = h.err;
		return -1;
	}
	if (waited < 0 || status != 0)
		return skiff_error_set(err, waited < 0 ? (int)-waited : ECHILD, "container.init",
				       "the init's helper ended before the container was set "
				       "up (status %d)", status);
	if (loaded < 0) {
		errno = (int)-loaded;
		return seccomp_filter_load_error(err);
	}
	if (init_prepare_own(c, err) < 0)
		return -1;
	return 1;
}

/* order_fd: read end of a pipe that stage 1 closes once it has reported
 * our pid; both write to the same socket, and the runtime expects the pid
 * first. */
static _Noreturn void stage2(const struct init_config *c, int sync_fd, int order_fd)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *exe = NULL;
	struct sync_msg m;
	char byte;
	int r;

	struct init_config local = *c;

	seccomp_filter_note_init_pid(c->seccomp);   /* before pivot_root hides our pid */
	/* Our messages come after stage 1's report of our pid, the hooks'
	 * request (sent while preparing) too.  (A chain's stage 1 reports
	 * after the init exec'd: no order there.) */
	while (order_fd >= 0 && read(order_fd, &byte, 1) < 0 && errno == EINTR)
		;
	if (order_fd >= 0)
		close(order_fd);
	local.sync_fd = sync_fd;
	c = &local;
	r = 0;
	if (c->chain && seccomp_early(c) && c->console_fd < 0) {
		r = init_prepare_beside_seccomp(c, &exe, &err);
		local.seccomp_loaded = r > 0;
	}
	if (r == 0)
		r = init_prepare(c, &exe, &err);
	if (r < 0) {
		sync_send_error(sync_fd, err);
		_exit(1);
	}
	/* The socket closes at the execve (close-on-exec): that is the
	 * runtime's word that the job runs. */
	if (c->chain)
		init_wait_and_exec(c, exe);
	if (sync_send(sync_fd, SYNC_READY, 0) < 0)
		_exit(1);
	/* The runtime records the container, then says go; if it died
	 * instead, nobody knows this container: leave. */
	if (sync_recv(sync_fd, SYNC_GO, &m, "the runtime", &err) < 0)
		_exit(1);
	close(sync_fd);
	init_wait_and_exec(c, exe);
	_exit(127);
}

struct stage2_args {
	const struct init_config *c;
	int sync_fd;
};

static int stage2_entry(void *arg)
{
	const struct stage2_args *a = arg;

	stage2(a->c, a->sync_fd, -1);
}

/* ---- stage 1: entering the namespaces ----------------------------------- */

static int join_namespace(const struct spec_namespace *ns, struct skiff_error **err)
{
	_cleanup_close_ int fd = open(ns->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return skiff_error_set(err, errno, "container.namespace",
				       "cannot open the %s namespace %s (linux.namespaces)",
				       spec_ns_type_name(ns->type), ns->path);
	if (setns(fd, ns_clone_flag[ns->type]) < 0)
		return skiff_error_set(err, errno, "container.namespace",
				       "cannot join the %s namespace %s",
				       spec_ns_type_name(ns->type), ns->path);
	return 0;
}

static int enter_user_namespace(const struct spec *s, int sync_fd,
				struct skiff_error **err)
{
	const struct spec_namespace *user = spec_namespace(s, SPEC_NS_USER);
	struct sync_msg m;

	if (user == NULL)
		return 0;
	if (user->path != NULL) {
		if (join_namespace(user, err) < 0)
			return -1;
	} else {
		if (unshare(CLONE_NEWUSER) < 0)
			return skiff_error_set(err, errno, "container.userns",
					       "cannot create a user namespace (are unprivileged "
					       "user namespaces disabled? see "
					       "/proc/sys/user/max_user_namespaces)");
		if (sync_send(sync_fd, SYNC_USERNS_READY, 0) < 0 ||
		    sync_recv(sync_fd, SYNC_MAPS_DONE, &m, "the runtime", err) < 0)
			return -1;
	}
	/* Become the namespace's root, so that what the init creates (device
	 * placeholders, cwd) is owned by the container's root.  For this task
	 * alone: a stage 1 on the runtime's memory sees the runtime's threads
	 * as its own. */
	if (sys_task_setresgid(0) < 0 && errno != EINVAL)
		return skiff_error_set(err, errno, "container.userns", "cannot become gid 0");
	if (sys_task_setresuid(0) < 0 && errno != EINVAL)
		return skiff_error_set(err, errno, "container.userns", "cannot become uid 0");
	return 0;
}

static int write_time_offsets(const struct spec_linux *l, struct skiff_error **err)
{
	for (size_t i = 0; l != NULL && i < l->n_time_offsets; i++) {
		_cleanup_free_ char *line = xasprintf("%s %s", l->time_offsets[i].key,
						      l->time_offsets[i].value);

		if (write_file_at(AT_FDCWD, "/proc/self/timens_offsets", line, NULL) < 0)
			return skiff_error_set(err, errno, "container.timens",
					       "cannot set linux.timeOffsets.%s",
					       l->time_offsets[i].key);
	}
	return 0;
}

/* The network namespace made ahead: create_opts.netns_fd, or the one
 * received now on netns_sock (it waits for it to be made), when it is owned
 * by the user namespace stage 1 is in now (entered already): else the
 * container's root would not be root of its network.  Its fd, or -1. */
static int netns_made_ahead(const struct init_config *c)
{
	int fd = c->opts->netns_fd, owner;
	struct stat a, b;
	bool ours;
	char byte;

	if (fd <= 0 && (c->opts->netns_sock <= 0 ||
			sys_recv_fd(c->opts->netns_sock, &byte, 1, &fd) != 1))
		return -1;
	owner = ioctl(fd, NS_GET_USERNS);
	ours = owner >= 0 && fstat(owner, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	if (owner >= 0)
		close(owner);
	if (!ours && fd != c->opts->netns_fd)
		close(fd);
	return ours ? fd : -1;
}

static _Noreturn void stage1(const struct init_config *c, int sync_fd)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	const struct spec *s = c->spec;
	int unshare_flags = 0, order[2], r, netns;
	bool net_ahead = false;
	pid_t init;

	/* Into the container's cgroup first, before any namespace: the
	 * set-up and the init are charged to it and bound by its limits, and
	 * a new cgroup namespace is rooted at it, so that the container's
	 * cgroup2 mount (made by the init) shows its own cgroup. */
	if (c->cgroup != NULL) {
		struct sync_msg m;

		if (sync_recv(sync_fd, SYNC_CGROUP_PLACED, &m, "the runtime", &err) < 0)
			goto fail;
	}
	if (enter_user_namespace(s, sync_fd, &err) < 0)
		goto fail;
	for (size_t i = 0; s->linux_ != NULL && i < s->linux_->n_namespaces; i++) {
		const struct spec_namespace *ns = &s->linux_->namespaces[i];

		if (ns->type == SPEC_NS_USER)
			continue;
		if (ns->path != NULL) {
			if (join_namespace(ns, &err) < 0)
				goto fail;
		} else if (ns->type == SPEC_NS_NETWORK && c->opts != NULL &&
			   (c->opts->netns_fd > 0 || c->opts->netns_sock > 0)) {
			net_ahead = true;       /* below */
		} else {
			unshare_flags |= ns_clone_flag[ns->type];
		}
	}
	if (unshare_flags != 0 && unshare(unshare_flags) < 0) {
		skiff_error_set(&err, errno, "container.namespace",
				"cannot create the container's namespaces (linux.namespaces)");
		goto fail;
	}
	/* Last, the network namespace made ahead: the longest to be made.
	 * Made here after all where it could not be, or is not ours. */
	if (net_ahead) {
		netns = netns_made_ahead(c);
		if (netns >= 0 ? setns(netns, CLONE_NEWNET) < 0 : unshare(CLONE_NEWNET) < 0) {
			skiff_error_set(&err, errno, "container.namespace", netns >= 0
					? "cannot join the network namespace made for the container"
					: "cannot create the container's namespaces (linux.namespaces)");
			goto fail;
		}
		if (netns >= 0 && netns != c->opts->netns_fd)
			close(netns);
	}
	if ((unshare_flags & CLONE_NEWTIME) && write_time_offsets(s->linux_, &err) < 0)
		goto fail;
	if (c->chain) {
		struct stage2_args a2 = { c, sync_fd };

		/* Returns once the init exec'd the job, or exited. */
		init = clone(stage2_entry, c->chain_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a2);
		if (init < 0) {
			skiff_error_set(&err, errno, "container.fork",
					"cannot start the container's init");
			goto fail;
		}
		_exit(sync_send(sync_fd, SYNC_INIT_PID, init) < 0 ? 1 : 0);
	}
	if (pipe2(order, O_CLOEXEC) < 0) {
		skiff_error_set(&err, errno, "container.sync", "cannot create a pipe");
		goto fail;
	}
	init = fork();
	if (init < 0) {
		skiff_error_set(&err, errno, "container.fork", "cannot fork the container's init");
		goto fail;
	}
	if (init == 0) {
		close(order[1]);
		stage2(c, sync_fd, order[0]);
	}
	/* Closing order[1] lets the init report after us.  Closed here
	 * rather than by the exit, which unmaps our memory first: the init
	 * need not wait for that. */
	r = sync_send(sync_fd, SYNC_INIT_PID, init);
	close(order[1]);
	_exit(r < 0 ? 1 : 0);
fail:
	sync_send_error(sync_fd, err);
	_exit(1);
}

/* ---- the runtime's side -------------------------------------------------- */

struct stage1_args {
	const struct init_config *c;
	int sync_fd, parent_fd;
};

/* Stage 1 as a fork or on borrowed memory: either way its fd table is its
 * own (no CLONE_FILES), so what it closes stays open in the runtime. */
static int stage1_entry(void *arg)
{
	const struct stage1_args *a = arg;

	close(a->parent_fd);
	if (a->c->lock_fd >= 0)
		close(a->c->lock_fd);
	/* The caller's fds other than those passed on are not the
	 * container's business.  An init that waits for `start` must not
	 * hold them meanwhile (a caller may wait for their end): they are
	 * closed.  A chain's init execs the job as soon as it is set up:
	 * close-on-exec does (one close_range; the init marks them again
	 * before its execve), and neither the job nor a hook gets one. */
	if (a->c->chain)
		sys_cloexec_from(3 + a->c->opts->listen_fds + a->c->opts->preserve_fds);
	else
		sys_close_inherited_from(3 + a->c->opts->listen_fds + a->c->opts->preserve_fds);
	/* Dies with the runtime while it sets up; stage 2 watches the
	 * socket instead (its parent, stage 1, exits early). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	stage1(a->c, a->sync_fd);
}

/* A main thread's worth: the init, forked by stage 1, goes on on (its copy
 * of) this stack.  Pages are only made as they are touched; the lowest one
 * is a guard. */
#define STAGE1_STACK (8u << 20)
#define STAGE1_GUARD 4096u

/* Stage 1 on the runtime's memory; the runtime resumes once it exited.
 * Its stack is a mapping of its own, unmapped after (a forked init has its
 * own copy).  A chain's init gets a second one, above the first. */
static pid_t spawn_stage1_light(struct stage1_args *a, bool chain)
{
	size_t n = chain ? 2 : 1;
	char *stack = mmap(NULL, n * STAGE1_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	struct init_config c;
	pid_t child = -1;

	if (stack == MAP_FAILED)
		return -1;
	if (chain) {
		c = *a->c;
		c.chain = true;
		c.chain_stack = stack + 2 * STAGE1_STACK;
		c.runtime_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
		a->c = &c;
	}
	if (mprotect(stack, STAGE1_GUARD, PROT_NONE) == 0 &&
	    (!chain || mprotect(stack + STAGE1_STACK, STAGE1_GUARD, PROT_NONE) == 0))
		child = clone(stage1_entry, stack + STAGE1_STACK,
			      CLONE_VM | CLONE_VFORK | SIGCHLD, a);
	munmap(stack, n * STAGE1_STACK);
	if (chain && c.runtime_pidfd >= 0)
		close(c.runtime_pidfd);
	return child;
}

bool container_spawn_chain(const struct init_config *c)
{
	const struct spec_namespace *user = spec_namespace(c->spec, SPEC_NS_USER);
	int reaper = 0;

	/* The init is given to the caller when stage 1 exits, and must stay
	 * there (a zombie at worst) until it is recorded. */
	if (prctl(PR_GET_CHILD_SUBREAPER, &reaper, 0, 0, 0) < 0 || !reaper)
		return false;
	return c->opts->start_now && c->cgroup == NULL && (user == NULL || user->path != NULL) &&
	       c->console_fd < 0 && c->spec->hooks == NULL;
}

/* A chain's messages, up to the end of the socket (the init exec'd, and
 * stage 1 exited): the init's pid, and an error when the init, or stage 1,
 * failed before the execve.  Both exited then; stage 1 is reaped here, the
 * init (given to us, the reaper of a skiff run) is left to the caller. */
static int chain_outcome(int fd, pid_t stage1_pid, pid_t *pid, struct skiff_error **err)
{
	struct sync_msg m;
	ssize_t r;
	int status;

	*pid = 0;
	for (;;) {
		do
			r = recv(fd, &m, sizeof(m), 0);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			break;
		if (m.type == SYNC_INIT_PID) {
			*pid = m.pid;
		} else if (m.type == SYNC_ERROR) {
			m.id[sizeof(m.id) - 1] = '\0';
			m.msg[sizeof(m.msg) - 1] = '\0';
			skiff_error_set(err, m.errnum, m.id, "%s", m.msg);
		} else {
			skiff_error_set(err, EPROTO, "container.sync",
					"unexpected message %d from the container's setup", m.type);
		}
	}
	while (waitpid(stage1_pid, &status, 0) < 0 && errno == EINTR)
		;
	if (*err == NULL && (r < 0 || *pid <= 0))
		skiff_error_set(err, r < 0 ? errno : 0, "container.init",
				"the container's setup exited before its init started");
	return *err == NULL ? 0 : -1;
}

int container_spawn(const struct init_config *c, pid_t *pid, int *sync_fd, pid_t *stage1_pid,
		    struct skiff_error **err)
{
	const struct spec_linux *l = c->spec->linux_;
	const struct spec_namespace *user = spec_namespace(c->spec, SPEC_NS_USER);
	_cleanup_close_ int parent_fd = -1;
	struct sync_msg m;
	int sv[2], status;
	pid_t child;
	struct stage1_args a;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return skiff_error_set(err, errno, "container.sync", "cannot create a socketpair");
	parent_fd = sv[0];
	a = (struct stage1_args){ c, sv[1], sv[0] };
	if (container_spawn_chain(c)) {
		child = spawn_stage1_light(&a, true);
		if (child < 0) {
			close(sv[1]);
			return skiff_error_set(err, errno, "container.fork", "cannot fork");
		}
		close(sv[1]);
		*stage1_pid = 0;
		return chain_outcome(parent_fd, child, pid, err);
	}
	if (c->cgroup == NULL && (user == NULL || user->path != NULL)) {
		child = spawn_stage1_light(&a, false);
	} else {
		child = fork();
		if (child == 0)
			stage1_entry(&a);
	}
	if (child < 0) {
		close(sv[1]);
		return skiff_error_set(err, errno, "container.fork", "cannot fork");
	}
	close(sv[1]);

	if (c->cgroup != NULL) {
		if (cgroup_enter(c->cgroup, child, err) < 0)
			goto fail_stage1;
		/* A stage 1 that died meanwhile shows in the next receive. */
		(void)sync_send(parent_fd, SYNC_CGROUP_PLACED, 0);
	}
	if (user != NULL && user->path == NULL) {
		_cleanup_free_ struct sys_id_map *uids = to_sys_maps(l->uid_mappings, l->n_uid_mappings);
		_cleanup_free_ struct sys_id_map *gids = to_sys_maps(l->gid_mappings, l->n_gid_mappings);

		if (sync_recv(parent_fd, SYNC_USERNS_READY, &m, "the container's setup", err) < 0 ||
		    sys_write_id_maps(child, uids, l->n_uid_mappings, gids,
				      l->n_gid_mappings, err) < 0 ||
		    sync_send(parent_fd, SYNC_MAPS_DONE, 0) < 0)
			goto fail_stage1;
	}
	if (sync_recv(parent_fd, SYNC_INIT_PID, &m, "the container's setup", err) < 0)
		goto fail_stage1;
	/* Stage 1 exits now; it is reaped once the init is ready, so that
	 * its exit, and what the caller records meanwhile, run alongside
	 * the init's set-up. */
	*pid = m.pid;
	if (hooks_any_before_start(c->spec)) {
		/* The init asks for the runtime's hooks before pivot_root. */
		if (sync_recv(parent_fd, SYNC_RUN_HOOKS, &m, "the container's init", err) < 0 ||
		    hooks_create_runtime(c, *pid, err) < 0 ||
		    sync_send(parent_fd, SYNC_HOOKS_DONE, *pid) < 0) {
			skiff_error_set(err, EPIPE, "container.init",
					"the container's init exited while its hooks ran");
			goto fail_init;
		}
	}
	*stage1_pid = child;
	*sync_fd = steal_fd(&parent_fd);
	return 0;

fail_init:
	kill(*pid, SIGKILL);

fail_stage1:
	kill(child, SIGKILL);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

int container_init_ready(int sync_fd, pid_t stage1_pid, struct skiff_error **err)
{
	struct sync_msg m;
	int status, r;

	r = sync_recv(sync_fd, SYNC_READY, &m, "the container's init", err);
	while (waitpid(stage1_pid, &status, 0) < 0 && errno == EINTR)
		;
	return r;
}

int container_init_release(int sync_fd, struct skiff_error **err)
{
	if (sync_send(sync_fd, SYNC_GO, 0) < 0)
		return skiff_error_set(err, errno, "container.init",
				       "the container's init exited before it was started");
	return 0;
}

int container_sync_runtime_hooks(const struct init_config *c, pid_t *host_pid,
				 struct skiff_error **err)
{
	struct sync_msg m;

	if (sync_send(c->sync_fd, SYNC_RUN_HOOKS, 0) < 0)
		return skiff_error_set(err, errno, "container.sync",
				       "lost contact with the runtime");
	if (sync_recv(c->sync_fd, SYNC_HOOKS_DONE, &m, "the runtime", err) < 0)
		return -1;
	*host_pid = m.pid;
	return 0;
}
