/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.json's hooks, with runtime-spec's timing (config.md "POSIX-platform
 * Hooks", runtime.md "Lifecycle"):
 *
 *   prestart, createRuntime   create, in the runtime's namespaces, once the
 *                             init has built its mounts, before pivot_root
 *   createContainer           create, in the init (the container's
 *                             namespaces), before pivot_root: the path is
 *                             the host's, as the root is not yet switched
 *   startContainer            start, in the init after pivot_root, before
 *                             the process is executed: the path is the
 *                             container's
 *   poststart                 start, runtime namespaces, after the execve
 *   poststop                  delete, after the container is gone
 *
 * Each hook gets the container's state JSON on stdin, its own args and env
 * (nothing else), its stdout and stderr on skiff's stderr, and is killed
 * when it outlives its timeout.  Lists run in array order; the first hook
 * that fails stops a create-time or start-time list ("hook.failed"), while
 * a failing poststart or poststop hook is a warning. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime-internal.h"

#define HOOKS_FILE "hooks.json"
#define HOOK_STDERR_KEEP 4096

char *hooks_state_json(const char *id, const char *status, pid_t pid,
		       const char *bundle, const struct spec_kv *ann, size_t n_ann)
{
	json_t *a = json_object(), *o;
	char *text;

	for (size_t i = 0; i < n_ann; i++)
		json_object_set_new(a, ann[i].key, json_string(ann[i].value));
	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:o}", "ociVersion", SKIFF_OCI_VERSION,
		      "id", id, "status", status, "pid", (json_int_t)pid,
		      "bundle", bundle, "annotations", a);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* A memfd holding the state: the hook reads it as a regular file, and no
 * pipe can fill up or raise SIGPIPE in skiff when a hook ignores stdin. */
static int state_fd(const char *state, struct skiff_error **err)
{
	int fd = memfd_create("skiff-hook-state", MFD_CLOEXEC);

	if (fd < 0 || write_all(fd, state, strlen(state)) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return skiff_error_set(err, e, "hook.exec",
				       "cannot pass the container state to a hook");
	}
	return fd;
}

static _Noreturn void hook_child(const struct spec_hook *h, int in, int errw)
{
	static char *const empty[] = { NULL };
	char *argv0[] = { h->path, NULL };
	int e;

	/* Above the standard fds first: with one of them closed in skiff,
	 * the memfd or the pipe may be fd 0, 1 or 2 itself. */
	in = fcntl(in, F_DUPFD_CLOEXEC, 3);
	errw = fcntl(errw, F_DUPFD_CLOEXEC, 3);
	/* stdout to skiff's stderr: skiff's stdout may be the container's,
	 * or the answer of a command (`state`). */
	if (in < 0 || errw < 0 || dup2(in, STDIN_FILENO) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0 || dup2(errw, STDERR_FILENO) < 0)
		_exit(127);
	sys_close_inherited_from(3);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	execve(h->path, h->args != NULL && h->args[0] != NULL ? h->args : argv0,
	       h->env != NULL ? h->env : empty);
	e = errno;
	dprintf(STDERR_FILENO, "cannot execute %s: %s\n", h->path, strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first non-empty line of what the hook wrote to stderr. */
static char *first_line(const char *buf)
{
	while (*buf == '\n')
		buf++;
	return strndup(buf, strcspn(buf, "\n")) ?: xstrdup("");
}

/* Runs one hook to its end.  Returns 0 when it exited 0, else -1 with a
 * "hook.failed", "hook.timeout" or "hook.exec" error naming it. */
static int run_one(const struct spec_hook *h, const char *kind, size_t index,
		   const char *state, struct skiff_error **err)
{
	_cleanup_close_ int in = -1, errr = -1, pidfd = -1;
	char kept[HOOK_STDERR_KEEP + 1];
	size_t n_kept = 0;
	int errp[2], status = 0;
	int64_t deadline = h->has_timeout ? now_ms() + (int64_t)h->timeout * 1000 : -1;
	bool timed_out = false, eof = false;
	pid_t pid;

	in = state_fd(state, err);
	if (in < 0)
		return skiff_error_prefix(err, "hooks.%s[%zu] %s: ", kind, index, h->path);
	if (pipe2(errp, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "hook.exec",
				       "hooks.%s[%zu] %s: cannot create a pipe", kind, index, h->path);
	errr = errp[0];
	pid = fork();
	if (pid < 0) {
		close(errp[1]);
		return skiff_error_set(err, errno, "hook.exec",
				       "hooks.%s[%zu] %s: cannot fork", kind, index, h->path);
	}
	if (pid == 0)
		hook_child(h, in, errp[1]);
	close(errp[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	/* Relay its stderr to ours, keeping the start of it for the error
	 * message, until the hook exits (a child it left behind may hold
	 * the pipe open) or its timeout passes. */
	for (bool exited = false; !exited;) {
		struct pollfd p[2] = { { .fd = eof ? -1 : errr, .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		char buf[4096];
		ssize_t r;

		if (deadline >= 0 && wait <= 0) {
			timed_out = true;
			break;
		}
		if (pidfd < 0 && eof)
			break;          /* no pidfd: waitpid below */
		r = poll(p, 2, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;       /* the deadline is checked above */
		exited = p[1].revents & POLLIN;
		/* Once it exited, what is left in the pipe, without blocking. */
		while (!eof && (p[0].revents || exited)) {
			if (exited) {
				struct pollfd q = { .fd = errr, .events = POLLIN };

				if (poll(&q, 1, 0) <= 0)
					break;
			}
			r = read(errr, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				eof = true;
				break;
			}
			(void)!write_all(STDERR_FILENO, buf, (size_t)r);
			if (n_kept < HOOK_STDERR_KEEP) {
				size_t take = (size_t)r < HOOK_STDERR_KEEP - n_kept
					? (size_t)r : HOOK_STDERR_KEEP - n_kept;

				memcpy(kept + n_kept, buf, take);
				n_kept += take;
			}
			if (!exited)
				break;
		}
	}
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	kept[n_kept] = '\0';
	if (timed_out)
		return skiff_error_set(err, ETIMEDOUT, "hook.timeout",
				       "hooks.%s[%zu] %s did not finish within its timeout of "
				       "%d s: killed it", kind, index, h->path, h->timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	{
		_cleanup_free_ char *line = first_line(kept);
		_cleanup_free_ char *how = WIFSIGNALED(status)
			? xasprintf("was killed by signal %d", WTERMSIG(status))
			: xasprintf("exited with status %d", WEXITSTATUS(status));

		return skiff_error_set(err, 0, "hook.failed", "hooks.%s[%zu] %s %s%s%s",
				       kind, index, h->path, how, *line ? ": " : "", line);
	}
}

int hooks_run(const struct spec_hook *list, size_t n, const char *kind,
	      const char *state, bool fatal, struct skiff_error **err)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_error_ struct skiff_error *e = NULL;

		if (run_one(&list[i], kind, i, state, &e) == 0)
			continue;
		if (fatal) {
			*err = steal_pointer(&e);
			return -1;
		}
		/* runtime.md: a failing poststart or poststop hook is a
		 * warning, and the lifecycle goes on as if it had succeeded. */
		{
			_cleanup_free_ char *text = skiff_error_text(e);

			log_warning("%s [%s]", text, e->id);
		}
	}
	return 0;
}

bool hooks_any_before_start(const struct spec *s)
{
	const struct spec_hooks *h = s->hooks;

	return h != NULL && (h->n_prestart > 0 || h->n_create_runtime > 0 ||
			     h->n_create_container > 0 || h->n_start_container > 0);
}

/* ---- create: the runtime's half, then the init's ------------------------- */

int hooks_create_runtime(const struct init_config *c, pid_t init,
			 struct skiff_error **err)
{
	const struct spec_hooks *h = c->spec->hooks;
	_cleanup_free_ char *state = NULL;

	if (h == NULL || (h->n_prestart == 0 && h->n_create_runtime == 0))
		return 0;
	state = hooks_state_json(c->id, "creating", init, c->bundle, c->spec->annotations,
				 c->spec->n_annotations);
	/* config.md: prestart (deprecated) runs before createRuntime. */
	if (hooks_run(h->prestart, h->n_prestart, "prestart", state, true, err) < 0 ||
	    hooks_run(h->create_runtime, h->n_create_runtime, "createRuntime", state,
		      true, err) < 0)
		return -1;
	return 0;
}

static pid_t init_host_pid;   /* the init's pid as the host sees it */

int hooks_before_pivot(const struct init_config *c, struct skiff_error **err)
{
	const struct spec_hooks *h = c->spec->hooks;
	_cleanup_free_ char *state = NULL;

	if (!hooks_any_before_start(c->spec))
		return 0;
	/* The runtime runs prestart and createRuntime now, and tells us our
	 * pid as the host sees it (ours is 1 in a new pid namespace). */
	if (container_sync_runtime_hooks(c, &init_host_pid, err) < 0)
		return -1;
	if (h->n_create_container == 0)
		return 0;
	state = hooks_state_json(c->id, "creating", init_host_pid, c->bundle,
				 c->spec->annotations, c->spec->n_annotations);
	return hooks_run(h->create_container, h->n_create_container, "createContainer",
			 state, true, err);
}

int hooks_start_container(const struct init_config *c, struct skiff_error **err)
{
	const struct spec_hooks *h = c->spec->hooks;
	_cleanup_free_ char *state = NULL;

	if (h == NULL || h->n_start_container == 0)
		return 0;
	state = hooks_state_json(c->id, "created", init_host_pid, c->bundle,
				 c->spec->annotations, c->spec->n_annotations);
	return hooks_run(h->start_container, h->n_start_container, "startContainer",
			 state, true, err);
}

/* ---- poststart and poststop: kept in the state dir -------------------------- */

/* runtime.md: changes to config.json after create do not affect the
 * container, so the hooks that run after create are recorded with it. */
static json_t *hook_list_json(const struct spec_hook *list, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s}", "path", list[i].path);

		if (list[i].args != NULL) {
			json_t *v = json_array();

			for (char **p = list[i].args; *p; p++)
				json_array_append_new(v, json_string(*p));
			json_object_set_new(o, "args", v);
		}
		if (list[i].env != NULL) {
			json_t *v = json_array();

			for (char **p = list[i].env; *p; p++)
				json_array_append_new(v, json_string(*p));
			json_object_set_new(o, "env", v);
		}
		if (list[i].has_timeout)
			json_object_set_new(o, "timeout", json_integer(list[i].timeout));
		json_array_append_new(a, o);
	}
	return a;
}

int hooks_save(int statefd, const struct spec *s, struct skiff_error **err)
{
	const struct spec_hooks *h = s->hooks;
	json_t *o;
	char *text;
	int r;

	if (h == NULL || (h->n_poststart == 0 && h->n_poststop == 0))
		return 0;
	o = json_pack("{s:o, s:o}", "poststart", hook_list_json(h->poststart, h->n_poststart),
		      "poststop", hook_list_json(h->poststop, h->n_poststop));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	r = write_file_atomic_at(statefd, HOOKS_FILE, text, strlen(text), 0600, err);
	free(text);
	return r;
}

int hooks_load(int statefd, struct spec **out, struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *doc = NULL;
	size_t len;

	*out = NULL;
	if (read_file_at(statefd, HOOKS_FILE, 4 << 20, &text, &len, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		return skiff_error_set(err, errno, "state.corrupt",
				       "cannot read the container's recorded hooks (%s)",
				       HOOKS_FILE);
	}
	/* Parsed by the config.json parser, so that the hooks are exactly
	 * what create accepted. */
	doc = xasprintf("{\"ociVersion\": \"%s\", \"root\": {\"path\": \"rootfs\"}, "
			"\"hooks\": %.*s}", SKIFF_OCI_VERSION, (int)len, text);
	return spec_parse(doc, strlen(doc), HOOKS_FILE, out, err);
}
