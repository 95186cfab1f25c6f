/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container lifecycle, runc's shape: create, start, run, kill, delete,
 * state, list.  Each command reads and writes the state dir; no daemon. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime-internal.h"
#include "runtime/cgroup-internal.h"

/* ---- create ---------------------------------------------------------------- */

static int check_spec_for_create(const struct spec *s, struct skiff_error **err)
{
	if (s->process == NULL)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "config.json: process: required to create a container");
	if (spec_namespace(s, SPEC_NS_MOUNT) == NULL)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "config.json: linux.namespaces: a mount namespace is "
				       "required (add {\"type\": \"mount\"})");
	/* Limits this host cannot apply fail here, before anything exists. */
	if (cgroup_check_spec(s, err) < 0)
		return -1;
	/* config.md: an idmap mount MUST get its mapping; skiff cannot apply
	 * one yet, and must not mount without it. */
	for (size_t i = 0; i < s->n_mounts; i++)
		if (s->mounts[i].idmap || s->mounts[i].ridmap ||
		    s->mounts[i].n_uid_mappings_raw > 0 || s->mounts[i].n_gid_mappings_raw > 0)
			return skiff_error_set(err, ENOTSUP, "rootfs.idmap_unsupported",
					       "config.json: mounts[%zu] (%s): idmapped mounts "
					       "(idmap, ridmap, uidMappings, gidMappings) are not "
					       "supported yet", i, s->mounts[i].destination);
	return 0;
}

static uid_t host_uid_of_root(const struct spec *s, bool gid)
{
	const struct spec_linux *l = s->linux_;
	const struct spec_id_mapping *m = gid ? l->gid_mappings : l->uid_mappings;
	size_t n = gid ? l->n_gid_mappings : l->n_uid_mappings;

	for (size_t i = 0; i < n; i++)
		if (m[i].container_id == 0)
			return m[i].host_id;
	return gid ? getegid() : geteuid();
}

int write_pid_file(const char *path, pid_t pid, struct skiff_error **err)
{
	_cleanup_free_ char *cwd = NULL, *dir = NULL, *text = xasprintf("%d", pid);
	_cleanup_close_ int dirfd = -1;
	char *slash;

	if (path[0] != '/')
		cwd = get_current_dir_name();
	dir = cwd ? xasprintf("%s/%s", cwd, path) : xstrdup(path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	dirfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return skiff_error_set(err, errno, "container.pid_file",
				       "cannot open the directory of --pid-file %s", path);
	if (write_file_atomic_at(dirfd, slash + 1, text, strlen(text), 0644, err) < 0)
		return skiff_error_prefix(err, "--pid-file: ");
	return 0;
}

static struct spec_kv *copy_kv(const struct spec_kv *v, size_t n)
{
	struct spec_kv *c = xzalloc((n + 1) * sizeof(*c));

	for (size_t i = 0; i < n; i++) {
		c[i].key = xstrdup(v[i].key);
		c[i].value = xstrdup(v[i].value);
	}
	return c;
}

static bool init_reachable_by_host_root(const struct spec *s)
{
	const struct spec_namespace *pid = spec_namespace(s, SPEC_NS_PID);
	const struct spec_namespace *user = spec_namespace(s, SPEC_NS_USER);

	return (pid == NULL || pid->path != NULL) && (user == NULL || user->path != NULL);
}

/* Creates the container.  *init_pid receives the init's pid; *started says
 * whether the process already runs (a chain, for o->start_now), else the
 * init waits for `start`.  With process.terminal, the init sends its pty
 * master to --console-socket, or with proxy set (`run` in the foreground
 * without one) to skiff: *master receives it then (-1 otherwise). */
static int do_create(const struct runtime_ctx *ctx, const char *id,
		     const struct create_opts *o, bool *started, pid_t *init_pid,
		     bool proxy, int *master, struct skiff_error **err)
{
	_cleanup_close_ int console_fd = -1, proxy_fd = -1;
	_cleanup_spec_ struct spec *loaded = NULL;
	_cleanup_free_ char *bundle = NULL, *rootfs = NULL;
	_cleanup_close_ int rootfd = -1, statefd = -1, fifo_fd = -1, sync_fd = -1;
	const struct spec *s = o->spec;
	struct container_state st = { 0 };
	struct init_config c;
	struct cap_sets caps;
	_cleanup_seccomp_filter_ struct seccomp_filter *seccomp = NULL;
	_cleanup_cgroup_ struct cgroup *cg = NULL;
	pid_t pid = 0, stage1 = 0;
	bool go_sent, chain, recorded;

	*master = -1;
	if (container_id_validate(id, err) < 0)
		return -1;
	bundle = realpath(o->bundle ? o->bundle : ".", NULL);
	if (bundle == NULL)
		return skiff_error_set(err, errno, "bundle.not_found",
				       "cannot use the bundle %s (--bundle)",
				       o->bundle ? o->bundle : ".");
	if (s == NULL) {
		if (spec_load(bundle, &loaded, err) < 0)
			return -1;
		s = loaded;
	}
	if (check_spec_for_create(s, err) < 0 ||
	    capabilities_resolve(s->process->capabilities, s->process->user.uid,
				 capabilities_last_cap(), &caps, err) < 0 ||
	    terminal_for_create(s->process, o->console_socket, proxy, &console_fd, &proxy_fd, err) < 0)
		return -1;
	/* CVE-2019-5736: until its execve, the init runs skiff's binary.  A
	 * container process that is host root (no user namespace of its own)
	 * and can see the init (no pid namespace of its own: a pod's, or the
	 * host's) could reopen /proc/PID/exe and overwrite skiff on the host;
	 * then run from a sealed copy.  A new pid namespace holds nothing but
	 * the init until it execs, and a new user namespace's root does not
	 * own the binary: there the copy (a second load of skiff, ~15 ms here)
	 * buys nothing.  Nothing is created yet, so re-executing is safe. */
	if (geteuid() == 0 && sys_in_initial_userns() && init_reachable_by_host_root(s) &&
	    sys_reexec_from_sealed_copy(err) < 0)
		return -1;
	/* Compiled, or found in the cache, before the fork: the init only
	 * loads it.  A bad profile fails here, before anything is created. */
	if (seccomp_filter_prepare(s, id, bundle, &seccomp, err) < 0)
		return -1;
	rootfs = s->root.path[0] == '/' ? xstrdup(s->root.path)
					 : xasprintf("%s/%s", bundle, s->root.path);
	/* An overlay root is attached over "/" of the container's namespace
	 * (rootfs.c): root.path is not used. */
	if (s->root_overlay == NULL) {
		struct stat sb;

		if (stat(rootfs, &sb) < 0 || !S_ISDIR(sb.st_mode))
			return skiff_error_set(err, errno ? errno : ENOTDIR, "bundle.rootfs",
					       "config.json: root.path: %s is not a directory",
					       rootfs);
	}

	rootfd = state_root_open(ctx, true, err);
	if (rootfd < 0)
		return -1;
	statefd = state_dir_create(rootfd, id, err);
	if (statefd < 0)
		return -1;
	/* After the state dir: an id in use must not touch the cgroup of the
	 * container that has it. */
	if (cgroup_create(s, id, &cg, err) < 0)
		goto fail;
	c = (struct init_config){ .ctx = ctx, .id = id, .spec = s, .bundle = bundle,
				  .rootfs = rootfs, .fifo_fd = -1, .lock_fd = statefd,
				  .opts = o, .caps = caps, .seccomp = seccomp, .cgroup = cg,
				  .console_fd = console_fd, .runtime_pidfd = -1 };
	/* Created and started at once: no fifo to wait on. */
	chain = container_spawn_chain(&c);
	if (!chain) {
		if (mkfifoat(statefd, EXEC_FIFO, 0600) < 0) {
			skiff_error_set(err, errno, "state.create", "cannot create the exec fifo");
			goto fail;
		}
		/* A mapped root that is another host uid must be able to open
		 * it (the init reopens it through /proc/self/fd). */
		if (sys_can_write_any_map() && spec_namespace(s, SPEC_NS_USER) != NULL)
			(void)!fchownat(statefd, EXEC_FIFO, host_uid_of_root(s, false),
					host_uid_of_root(s, true), 0);
		fifo_fd = openat(statefd, EXEC_FIFO, O_PATH | O_CLOEXEC);
		if (fifo_fd < 0) {
			skiff_error_set(err, errno, "state.create", "cannot open the exec fifo");
			goto fail;
		}
		c.fifo_fd = fifo_fd;
	}

	/* The init builds the container meanwhile: it is recorded in
	 * parallel, and started only once it is ready.  A chain returns
	 * once the job runs (or failed), and is recorded after. */
	if (container_spawn(&c, &pid, &sync_fd, &stage1, err) < 0)
		goto fail;
	if (console_fd >= 0)
		close(steal_fd(&console_fd));
	/* Sent by the init before it reported ready. */
	if (proxy_fd >= 0) {
		if (terminal_recv_master(proxy_fd, master, err) < 0)
			goto fail;
		terminal_initial_size(*master);   /* the init waits for start */
	}

	st.id = (char *)id;
	st.bundle = bundle;
	st.pid = pid;
	st.created = rfc3339_now();
	st.owner = geteuid();
	st.own_pidns = spec_namespace(s, SPEC_NS_PID) != NULL &&
		       spec_namespace(s, SPEC_NS_PID)->path == NULL;
	st.annotations = copy_kv(s->annotations, s->n_annotations);
	st.n_annotations = s->n_annotations;
	st.cgroup = cg != NULL ? cg->path : NULL;
	st.cgroup_leaf = cg != NULL ? cg->leaf : NULL;
	if (sys_proc_start_time(pid, &st.start_time) < 0)
		skiff_error_set(err, errno, "container.init", "the container's init exited");
	if (*err == NULL)
		state_write(statefd, &st, err);
	if (*err == NULL && loaded != NULL)
		exec_config_save(statefd, bundle, err);
	if (*err == NULL)
		hooks_save(statefd, s, err);
	if (*err == NULL && o->pid_file != NULL)
		write_pid_file(o->pid_file, pid, err);
	free(st.created);
	for (size_t i = 0; i < st.n_annotations; i++) {
		free(st.annotations[i].key);
		free(st.annotations[i].value);
	}
	free(st.annotations);
	/* Go is sent as soon as the container is recorded, before the init
	 * is ready: it finds it waiting once it is, with no round trip.  If
	 * its set-up fails, ready says why instead (a go it could not take
	 * is no news then), and the container is removed below.  Reaps
	 * stage 1 in any case; the first failure is the one kept. */
	recorded = *err == NULL;
	if (!chain) {
		go_sent = *err == NULL && container_init_release(sync_fd, NULL) == 0;
		container_init_ready(sync_fd, stage1, err);
		stage1 = 0;
		if (*err == NULL && !go_sent)
			container_init_release(sync_fd, err);
	}
	/* Lost contact with an init that a signal ended: its parent, stage
	 * 1, is reaped, and keep_killed's caller is its subreaper. */
	if (*err != NULL && recorded && o->keep_killed && sys_child_killed(pid)) {
		skiff_error_free(*err);
		*err = NULL;
	}
	if (*err != NULL)
		goto fail;
	*init_pid = pid;
	*started = chain;
	return 0;

fail:
	if (*master >= 0)
		close(steal_fd(master));
	if (pid > 0) {
		kill(pid, SIGKILL);
		/* Reap it when it is ours (run); otherwise init reaps it. */
		waitpid(pid, NULL, __WALL | WNOHANG);
	}
	if (stage1 > 0) {
		kill(stage1, SIGKILL);
		waitpid(stage1, NULL, 0);
	}
	{
		_cleanup_error_ struct skiff_error *ignored = NULL;

		if (cg != NULL)
			cgroup_destroy(cg->path, cg->leaf, &ignored);
		state_remove(rootfd, id, &ignored);
	}
	/* runtime.md: a failing prestart, createRuntime or createContainer
	 * hook ends the container, and the lifecycle goes on with its
	 * destruction: the poststop hooks run too. */
	if (strncmp((*err)->id, "hook.", 5) == 0 && s->hooks != NULL && s->hooks->n_poststop > 0) {
		_cleanup_free_ char *state = hooks_state_json(id, "stopped", 0, bundle,
							      s->annotations, s->n_annotations);
		_cleanup_error_ struct skiff_error *ignored = NULL;

		hooks_run(s->hooks->poststop, s->hooks->n_poststop, "poststop", state,
			  false, &ignored);
	}
	return -1;
}

int container_create(const struct runtime_ctx *ctx, const char *id,
		     const struct create_opts *o, pid_t *init_pid, bool *started,
		     struct skiff_error **err)
{
	pid_t pid;
	int master = -1;
	bool chained;

	if (do_create(ctx, id, o, &chained, &pid, false, &master, err) < 0)
		return -1;
	if (init_pid != NULL)
		*init_pid = pid;
	if (started != NULL)
		*started = chained;
	return 0;
}

/* ---- start ----------------------------------------------------------------- */

static int open_state(const struct runtime_ctx *ctx, const char *id, int *statefd,
		      struct container_state **st, struct skiff_error **err)
{
	_cleanup_close_ int rootfd = state_root_open(ctx, false, err);

	if (rootfd < 0)
		return -1;
	*statefd = state_dir_open_locked(rootfd, id, err);
	if (*statefd < 0)
		return -1;
	if (state_read(*statefd, id, st, err) < 0) {
		close(*statefd);
		*statefd = -1;
		return -1;
	}
	return 0;
}

void container_start_report(int fifo, const struct skiff_error *e)
{
	_cleanup_free_ char *rec = xasprintf("E%d\n%s\n%s", e != NULL ? e->errnum : 0,
					     e != NULL ? e->id : "container.init",
					     e != NULL ? e->msg : "the container's init failed");

	(void)!write_all(fifo, rec, strlen(rec) + 1);
}

/* What the init wrote on the exec fifo: "0" when it went on to execve,
 * and an "E" record (errno, id, message) when something failed on the
 * way (a startContainer hook, the execve itself). */
static int start_outcome(const char *buf, size_t n, const char *id,
			 struct skiff_error **err)
{
	const char *e = memchr(buf, 'E', n);

	if (e == NULL && n > 0 && buf[0] == '0')
		return 0;
	if (e != NULL) {
		_cleanup_free_ char *rec = strndup(e + 1, n - (size_t)(e + 1 - buf));
		char *nl1 = strchr(rec, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;

		if (nl2 != NULL) {
			*nl1 = *nl2 = '\0';
			return skiff_error_set(err, atoi(rec), nl1 + 1, "%s", nl2 + 1);
		}
	}
	return skiff_error_set(err, 0, "container.init",
			       "the init of container \"%s\" exited before it was started", id);
}

static int teardown(const struct runtime_ctx *ctx, int rootfd, int statefd,
		    const struct container_state *st, enum container_status status,
		    struct skiff_error **err);

int container_start(const struct runtime_ctx *ctx, const char *id,
		    struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1, fifo = -1, pidfd = -1;
	_cleanup_spec_ struct spec *hooks = NULL;
	enum container_status status;
	struct pollfd p[2];
	char buf[4096];
	size_t n = 0;

	if (open_state(ctx, id, &statefd, &st, err) < 0)
		return -1;
	status = state_status(statefd, st);
	if (status != CONTAINER_CREATED)
		return skiff_error_set(err, EINVAL, "container.not_created",
				       "container \"%s\" is %s: only a created container can "
				       "be started", id, container_status_name(status));
	fifo = openat(statefd, EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	pidfd = sys_pidfd_open_checked(st->pid, st->start_time);
	if (fifo < 0 || pidfd < 0)
		return skiff_error_set(err, errno, "container.start",
				       "cannot start container \"%s\"", id);
	if (hooks_load(statefd, &hooks, err) < 0)
		return -1;
	/* The init is blocked opening the fifo for writing; our open lets it
	 * through.  It runs the startContainer hooks, writes "0" and execs,
	 * which closes its end: read to that end.  Watch the init too: if
	 * it dies before it opened the fifo, nothing will ever come. */
	p[0] = (struct pollfd){ .fd = fifo, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	for (bool died = false;;) {
		ssize_t r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return skiff_error_set(err, errno, "container.start", "poll");
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)) && !(p[1].revents & POLLIN))
			continue;
		r = read(fifo, buf + n, sizeof(buf) - 1 - n);
		if (r > 0) {
			n += (size_t)r;
			if (n < sizeof(buf) - 1)
				continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR) && !died) {
			/* The init died with the fifo unopened, or is on
			 * its way: one more look after it is gone. */
			died = p[1].revents & POLLIN;
			continue;
		}
		break;
	}
	buf[n] = '\0';
	unlinkat(statefd, EXEC_FIFO, 0);
	if (start_outcome(buf, n, id, err) < 0) {
		/* runtime.md: a failing startContainer hook stops the
		 * container, which is then destroyed: nothing is left.  Any
		 * other failure (the execve) leaves it stopped, for delete,
		 * as runc does. */
		_cleanup_error_ struct skiff_error *ignored = NULL;

		if (strncmp((*err)->id, "hook.", 5) == 0)
			teardown(ctx, -1, statefd, st, state_status(statefd, st), &ignored);
		return -1;
	}
	if (hooks != NULL && hooks->hooks != NULL && hooks->hooks->n_poststart > 0) {
		_cleanup_free_ char *state = hooks_state_json(id, "running", st->pid, st->bundle,
							      st->annotations, st->n_annotations);

		hooks_run(hooks->hooks->poststart, hooks->hooks->n_poststart, "poststart",
			  state, false, err);
	}
	return 0;
}

/* ---- run ------------------------------------------------------------------- */

static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

int container_run(const struct runtime_ctx *ctx, const char *id,
		  const struct create_opts *o, bool detach, int *exit_status,
		  struct skiff_error **err)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
					 SIGUSR2, SIGWINCH, SIGCONT };
	struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
	_cleanup_close_ int master = -1;
	pid_t pid, r;
	int status;
	bool started;

	/* The init is a grandchild: become its reaper to wait for it. */
	if (!detach)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* A terminal without --console-socket: skiff is its proxy. */
	if (do_create(ctx, id, o, &started, &pid, !detach && o->console_socket == NULL,
		      &master, err) < 0)
		return -1;
	if (!detach) {
		forward_pid = pid;
		for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
			sigaction(forwarded[i], &sa, NULL);
	}
	if (!started && container_start(ctx, id, err) < 0) {
		_cleanup_error_ struct skiff_error *ignored = NULL;

		container_delete(ctx, id, true, &ignored);
		return -1;
	}
	if (detach) {
		*exit_status = 0;
		return 0;
	}
	if (master >= 0) {
		r = terminal_proxy(master, pid, exit_status, err) < 0 ? -1 : pid;
		forward_pid = 0;
		if (r < 0) {
			_cleanup_error_ struct skiff_error *ignored = NULL;

			container_delete(ctx, id, true, &ignored);
			return -1;
		}
		container_report_oom(ctx, id);
		return container_delete(ctx, id, true, err);
	}
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	forward_pid = 0;
	if (r < 0)
		return skiff_error_set(err, errno, "container.wait",
				       "cannot wait for container \"%s\"", id);
	*exit_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	container_report_oom(ctx, id);   /* before delete removes the cgroup */
	return container_delete(ctx, id, true, err);
}

/* ---- kill ------------------------------------------------------------------ */

static bool same_pidns(pid_t a, const char *ns)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/ns/pid", a);
	char link[64];
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	if (n < 0)
		return false;
	link[n] = '\0';
	return strcmp(link, ns) == 0;
}

static pid_t parent_of(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", pid);
	_cleanup_free_ char *stat = NULL;
	char *p;
	int ppid;

	if (read_file_at(AT_FDCWD, path, 8192, &stat, NULL, NULL) < 0 ||
	    (p = strrchr(stat, ')')) == NULL || sscanf(p + 2, "%*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

int container_pids(const struct container_state *s, pid_t **out, size_t *n,
		   struct skiff_error **err)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	_cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/pid", s->pid);
	_cleanup_free_ pid_t *all = NULL;
	size_t n_all = 0, cap = 0;
	pid_t *v = NULL;
	size_t count = 0;
	char ns[64];
	ssize_t len;
	struct dirent *de;

	if (s->cgroup != NULL && access(s->cgroup, F_OK) == 0)
		return cgroup_read_pids(s->cgroup, out, n, err);
	if (d == NULL)
		return skiff_error_set(err, errno, "container.pids", "cannot list /proc");
	len = readlink(nspath, ns, sizeof(ns) - 1);
	if (len < 0) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	ns[len] = '\0';
	while ((de = readdir(d)) != NULL) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0)
			continue;
		if (n_all == cap) {
			cap = cap ? cap * 2 : 256;
			all = xrealloc(all, cap * sizeof(pid_t));
		}
		all[n_all++] = pid;
	}
	v = xzalloc((n_all + 1) * sizeof(pid_t));
	if (s->own_pidns) {
		for (size_t i = 0; i < n_all; i++)
			if (same_pidns(all[i], ns))
				v[count++] = all[i];
	} else {
		/* No pid namespace of its own: the init and its descendants,
		 * found by walking parents up to the init. */
		for (size_t i = 0; i < n_all; i++) {
			pid_t p = all[i];

			for (int depth = 0; p > 1 && depth < 64; depth++) {
				if (p == s->pid) {
					v[count++] = all[i];
					break;
				}
				p = parent_of(p);
			}
		}
	}
	*out = v;
	*n = count;
	return 0;
}

static int signal_container(const struct container_state *st, int sig, bool all,
			    struct skiff_error **err)
{
	_cleanup_close_ int pidfd = sys_pidfd_open_checked(st->pid, st->start_time);

	/* The cgroup holds every process of the container, the init too. */
	if (all && st->cgroup != NULL && access(st->cgroup, F_OK) == 0)
		return cgroup_signal_all(st->cgroup, sig, err);
	if (all) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;

		if (container_pids(st, &pids, &n, err) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			if (pids[i] != st->pid)
				kill(pids[i], sig);
	}
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
		if (errno == ESRCH)
			return 0;       /* it exited meanwhile */
		return skiff_error_set(err, errno, "container.kill",
				       "cannot send signal %d to container \"%s\"", sig, st->id);
	}
	return 0;
}

int container_kill(const struct runtime_ctx *ctx, const char *id, int sig,
		   bool all, struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1;
	enum container_status status;

	if (open_state(ctx, id, &statefd, &st, err) < 0)
		return -1;
	status = state_status(statefd, st);
	if (status == CONTAINER_STOPPED)
		return skiff_error_set(err, ESRCH, "container.not_running",
				       "container \"%s\" is not running", id);
	return signal_container(st, sig, all, err);
}

/* ---- delete ---------------------------------------------------------------- */

static int kill_and_wait(const struct container_state *st, struct skiff_error **err)
{
	_cleanup_close_ int pidfd = sys_pidfd_open_checked(st->pid, st->start_time);

	if (pidfd < 0)
		return 0;
	if (signal_container(st, SIGKILL, true, err) < 0)
		return -1;
	if (sys_pidfd_wait_exit(pidfd, 10000) < 0)
		return skiff_error_set(err, errno, "container.kill",
				       "container \"%s\" did not exit after SIGKILL", st->id);
	return 0;
}

int container_delete(const struct runtime_ctx *ctx, const char *id, bool force,
		     struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int rootfd = -1, statefd = -1;
	enum container_status status;

	if (container_id_validate(id, err) < 0)
		return -1;
	rootfd = state_root_open(ctx, false, err);
	if (rootfd >= 0)
		statefd = state_dir_open_locked(rootfd, id, err);
	if (statefd < 0) {
		/* containerd deletes twice, the second time with --force. */
		if (force && *err != NULL && strcmp((*err)->id, "container.not_found") == 0) {
			skiff_error_free(*err);
			*err = NULL;
			return 0;
		}
		return -1;
	}
	if (state_read(statefd, id, &st, err) < 0) {
		if (!force)
			return -1;
		/* A state half written by a crashed create: --force removes it. */
		skiff_error_free(*err);
		*err = NULL;
		return state_remove(rootfd, id, err);
	}
	status = state_status(statefd, st);
	if ((status == CONTAINER_RUNNING || status == CONTAINER_PAUSED) && !force)
		return skiff_error_set(err, EBUSY, "container.running",
				       "container \"%s\" is %s: stop it first, or use "
				       "delete --force", id, container_status_name(status));
	return teardown(ctx, rootfd, statefd, st, status, err);
}

/* Kills what is left (status: the container's, just read), removes the
 * cgroup and the state (in rootfd, the state root; -1: opened here), then
 * runs the poststop hooks (runtime.md: after the container is deleted,
 * before delete returns; a failing one is a warning). */
static int teardown(const struct runtime_ctx *ctx, int rootfd, int statefd,
		    const struct container_state *st, enum container_status status,
		    struct skiff_error **err)
{
	_cleanup_spec_ struct spec *hooks = NULL;
	_cleanup_close_ int own_root = -1;

	if (status != CONTAINER_STOPPED && kill_and_wait(st, err) < 0)
		return -1;
	/* Also kills what outlived the init (no pid namespace). */
	if (st->cgroup != NULL && cgroup_destroy(st->cgroup, st->cgroup_leaf, err) < 0)
		return -1;
	{
		_cleanup_error_ struct skiff_error *e = NULL;

		/* Unreadable hooks must not keep a container from going. */
		if (hooks_load(statefd, &hooks, &e) < 0) {
			_cleanup_free_ char *text = skiff_error_text(e);

			log_warning("%s: the poststop hooks are not run", text);
		}
	}
	if (rootfd < 0)
		rootfd = own_root = state_root_open(ctx, false, err);
	if (rootfd < 0)
		return -1;
	/* Most state directories hold the state alone: two unlinks. */
	unlinkat(statefd, STATE_FILE, 0);
	if (unlinkat(rootfd, st->id, AT_REMOVEDIR) < 0 && state_remove(rootfd, st->id, err) < 0)
		return -1;
	if (hooks != NULL && hooks->hooks != NULL && hooks->hooks->n_poststop > 0) {
		_cleanup_free_ char *state = hooks_state_json(st->id, "stopped", 0, st->bundle,
							      st->annotations, st->n_annotations);

		hooks_run(hooks->hooks->poststop, hooks->hooks->n_poststop, "poststop",
			  state, false, err);
	}
	return 0;
}

/* ---- state and list --------------------------------------------------------- */

int container_state_json(const struct runtime_ctx *ctx, const char *id,
			 char **out, struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1;
	enum container_status status;
	json_t *o, *ann;

	if (open_state(ctx, id, &statefd, &st, err) < 0)
		return -1;
	status = state_status(statefd, st);
	ann = json_object();
	for (size_t i = 0; i < st->n_annotations; i++)
		json_object_set_new(ann, st->annotations[i].key,
				    json_string(st->annotations[i].value));
	/* The kernel's OOM kills, for whoever reports the job's end. */
	if (st->cgroup != NULL) {
		uint64_t ooms = cgroup_oom_kills(st->cgroup);

		if (ooms > 0)
			json_object_set_new(ann, "run.skiff.oom_kills",
					    json_sprintf("%" PRIu64, ooms));
	}
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o, s:s, s:I}", "ociVersion",
		      SKIFF_OCI_VERSION, "id", id, "status", container_status_name(status),
		      "pid", (json_int_t)(status == CONTAINER_STOPPED ? 0 : st->pid),
		      "bundle", st->bundle, "annotations", ann, "created", st->created,
		      "owner", (json_int_t)st->owner);
	*out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return 0;
}

int container_list(const struct runtime_ctx *ctx, struct container_info **out,
		   size_t *n, struct skiff_error **err)
{
	_cleanup_close_ int rootfd = state_root_open(ctx, false, err);
	_cleanup_closedir_ DIR *d = NULL;
	struct container_info *v = NULL;
	size_t count = 0;
	struct dirent *de;

	if (rootfd < 0 && (*err)->errnum == ENOENT) {
		skiff_error_freep(err);   /* no state root yet: no containers */
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (rootfd < 0)
		return -1;
	{
		/* dup() would drop close-on-exec; F_DUPFD_CLOEXEC keeps it. */
		int copy = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);

		d = copy >= 0 ? fdopendir(copy) : NULL;
		if (d == NULL) {
			int e = errno;

			if (copy >= 0)
				close(copy);
			return skiff_error_set(err, e, "state.root", "cannot list %s",
					       ctx->state_root);
		}
	}
	while ((de = readdir(d)) != NULL) {
		_cleanup_state_ struct container_state *st = NULL;
		_cleanup_error_ struct skiff_error *ignored = NULL;
		_cleanup_close_ int statefd = -1;

		if (de->d_name[0] == '.' || container_id_validate(de->d_name, &ignored) < 0)
			continue;
		statefd = openat(rootfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (statefd < 0 || state_read(statefd, de->d_name, &st, &ignored) < 0)
			continue;
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count] = (struct container_info){
			.id = xstrdup(st->id), .bundle = xstrdup(st->bundle),
			.created = xstrdup(st->created), .owner = st->owner,
			.status = state_status(statefd, st),
		};
		v[count].pid = v[count].status == CONTAINER_STOPPED ? 0 : st->pid;
		count++;
	}
	*out = v;
	*n = count;
	return 0;
}

void container_info_free(struct container_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].bundle);
		free(v[i].created);
	}
	free(v);
}
