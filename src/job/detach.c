/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff run -d: a monitor per container, not a daemon.  skiff forks; the
 * child starts a session of its own and forks again, so that the monitor
 * (the grandchild) is nobody's child and no terminal's.  The monitor runs
 * every phase of the run (it is the init's subreaper: it reaps the job),
 * and reports through a pipe once the job started, or the error that kept
 * it from starting; then skiff prints the ID and exits.  The job writes
 * straight into stdout.log and stderr.log in its directory: its output is
 * kept even if the monitor is killed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/job-internal.h"

#define OUT_LOG "stdout.log"
#define ERR_LOG "stderr.log"

int job_detach_open_logs(const struct job_run *jr, int *out, int *err_fd,
			 struct skiff_error **err)
{
	*out = openat(jr->cdirfd, OUT_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
		      0644);
	*err_fd = openat(jr->cdirfd, ERR_LOG,
			 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*out < 0 || *err_fd < 0)
		return skiff_error_set(err, errno, "job.stdio",
				       "cannot create the log files in %s", jr->cdir_rel);
	return 0;
}

static void read_log(int dirfd, const char *name, size_t limit, char **buf, size_t *len,
		     bool *truncated)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	free(*buf);
	*buf = xzalloc(limit + 1);
	*len = 0;
	while (fd >= 0 && *len < limit && (n = read(fd, *buf + *len, limit - *len)) > 0)
		*len += (size_t)n;
	(*buf)[*len] = '\0';
	if (fd >= 0 && *len == limit) {
		char c;

		if (read(fd, &c, 1) == 1)
			*truncated = true;
	}
}

void job_detach_collect_logs(struct job_run *jr)
{
	struct job_result *r = jr->r;

	read_log(jr->cdirfd, OUT_LOG, jr->o->capture_limit, &r->out, &r->out_len, &r->truncated);
	read_log(jr->cdirfd, ERR_LOG, jr->o->capture_limit, &r->err, &r->err_len, &r->truncated);
}

/* ---- the pipe from the monitor to skiff run -d: one JSON line ---------------- */

static void report(int fd, const char *id, const struct skiff_error *e)
{
	_cleanup_free_ char *text = NULL;
	json_t *j;

	if (e == NULL)
		j = json_pack("{s:b, s:s}", "ok", 1, "id", id);
	else
		j = json_pack("{s:b, s:i, s:s, s:s}", "ok", 0, "errno", e->errnum, "error_id", e->id,
			      "message", e->msg ? e->msg : "");
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text != NULL) {
		(void)write_all(fd, text, strlen(text));
		(void)write_all(fd, "\n", 1);
	}
}

struct monitor {
	int fd;                      /* the pipe's write end, -1 once reported */
};

static void started(struct job_run *jr, void *arg)
{
	struct monitor *m = arg;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	report(m->fd, jr->r->container_id, NULL);
	close(m->fd);
	m->fd = -1;
	/* skiff run -d has returned: nobody reads the monitor's stderr now. */
	if (null >= 0) {
		dup2(null, STDERR_FILENO);
		close(null);
	}
}

static void ignore_signal(int sig)
{
	(void)sig;
}

/* Ignored signals and the mask pass through fork and exec to the job: a
 * shell starts `skiff run -d … &` with SIGINT and SIGQUIT ignored.  The job
 * starts with the defaults; a handler (reset by exec) keeps a closed
 * report pipe from killing the monitor. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, quiet = { .sa_handler = ignore_signal };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc refuses its own two real-time signals (32, 33): the
		 * kernel's call resets them too. */
		if (sigaction(sig, sig == SIGPIPE ? &quiet : &dfl, NULL) < 0) {
			struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; }
				k = { .handler = SIG_DFL };

			syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static __attribute__((noreturn)) void monitor_main(const struct job_options *given, int fd)
{
	struct job_options o = *given;
	struct job_result r = { 0 };
	struct monitor m = { fd };
	_cleanup_error_ struct skiff_error *err = NULL;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int rc;

	/* Hold nothing of the caller's: $(skiff run -d …) ends at once. */
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		close(null);
	}
	sys_close_inherited_from(3);
	reset_signals();
	o.capture = false;
	o.stream = false;
	rc = job_run_phases(&o, &r, started, &m, &err);
	if (m.fd >= 0)
		report(m.fd, NULL, rc < 0 ? err : NULL);
	job_result_clear(&r);
	_exit(rc < 0 ? 1 : 0);
}

int job_run_detached(const struct job_options *o, char **id, struct skiff_error **err)
{
	_cleanup_close_ int rd = -1, wr = -1;
	_cleanup_free_ char *line = NULL;
	_cleanup_json_ json_t *j = NULL;
	size_t len = 0;
	pid_t child;
	int status;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "job.stdio", "cannot make a pipe to the monitor");
	rd = p[0];
	wr = p[1];
	fflush(NULL);
	child = fork();
	if (child < 0)
		return skiff_error_set(err, errno, "job.detach", "cannot fork the monitor");
	if (child == 0) {
		pid_t monitor;

		close(rd);
		setsid();
		monitor = fork();
		if (monitor == 0)
			monitor_main(o, wr);
		_exit(monitor < 0 ? 1 : 0);
	}
	skiff_closep(&wr);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return skiff_error_set(err, 0, "job.detach", "cannot fork the monitor");
	/* One line: the monitor writes it once the job started, or failed. */
	for (;;) {
		char c;
		ssize_t n = read(rd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		line = xrealloc(line, len + 2);
		line[len++] = c;
		line[len] = '\0';
	}
	j = line ? json_loads(line, 0, NULL) : NULL;
	if (j == NULL)
		return skiff_error_set(err, 0, "job.detach",
				       "the monitor ended before the job started (see the system's "
				       "log for a crash)");
	if (json_is_true(json_object_get(j, "ok"))) {
		*id = xstrdup(json_string_value(json_object_get(j, "id")));
		return 0;
	}
	return skiff_error_set(err, (int)json_integer_value(json_object_get(j, "errno")),
			       json_string_value(json_object_get(j, "error_id")) ?: "job.detach",
			       "%s", json_string_value(json_object_get(j, "message")) ?: "");
}
