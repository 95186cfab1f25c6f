/* SPDX-License-Identifier: GPL-2.0-or-later */
/* From start to exit: the job's output streamed live and/or captured (up
 * to --capture-limit, then only counted), copied to --log-file, the
 * --timeout enforced (the stop signal, then SIGKILL after --stop-timeout),
 * skiff's own SIGINT/SIGTERM passed on to the job, and its exit status
 * collected.  skiff is the child subreaper: the init, whose parent exits
 * during set-up, is re-parented to it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/job-internal.h"

static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

struct stream {
	int fd;                      /* read end, -1 when closed */
	int echo;                    /* skiff's own fd to copy to, or -1 */
	char **buf;
	size_t *len;
};

static void stream_read(struct stream *s, const struct job_options *o, int log_fd,
			bool *truncated)
{
	char chunk[65536];
	ssize_t n = read(s->fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		s->fd = -1;          /* the caller closes it */
		return;
	}
	if (s->echo >= 0)
		(void)write_all(s->echo, chunk, (size_t)n);
	if (log_fd >= 0)
		(void)write_all(log_fd, chunk, (size_t)n);
	if (o->capture) {
		size_t room = o->capture_limit > *s->len ? o->capture_limit - *s->len : 0;
		size_t take = (size_t)n < room ? (size_t)n : room;

		if (take < (size_t)n)
			*truncated = true;
		if (take > 0) {
			*s->buf = xrealloc(*s->buf, *s->len + take + 1);
			memcpy(*s->buf + *s->len, chunk, take);
			*s->len += take;
			(*s->buf)[*s->len] = '\0';
		}
	}
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void forward_signals(pid_t pid)
{
	struct sigaction sa = { .sa_handler = pid > 0 ? forward_signal : SIG_DFL };

	forward_pid = pid;
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
}

int job_monitor_start(const struct runtime_ctx *ctx, const char *id, pid_t pid,
		      bool started, struct job_result *r, uint64_t *start,
		      struct skiff_error **err)
{
	forward_signals(pid);
	if (!started && container_start(ctx, id, err) < 0) {
		forward_signals(0);
		return -1;
	}
	r->started = true;
	if (!started || *start == 0)
		*start = now_ns();
	return 0;
}

int job_monitor_watch(const struct runtime_ctx *ctx, const char *id, pid_t pid,
		      const struct job_options *o, int stop_signal, int out_fd, int err_fd,
		      int log_fd, uint64_t start, struct job_result *r, struct skiff_error **err)
{
	struct stream streams[2] = {
		{ out_fd, o->stream ? STDOUT_FILENO : -1, &r->out, &r->out_len },
		{ err_fd, o->stream ? STDERR_FILENO : -1, &r->err, &r->err_len },
	};
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	uint64_t term_at = 0, kill_at = 0;
	bool exited = false;
	int status = 0;

	if (pidfd < 0) {
		forward_signals(0);
		return skiff_error_set(err, errno, "job.monitor", "cannot watch the job's process");
	}
	if (o->capture) {
		r->out = xstrdup("");
		r->err = xstrdup("");
	}
	if (o->timeout > 0)
		term_at = start + (uint64_t)(o->timeout * 1e9);

	while (!exited || streams[0].fd >= 0 || streams[1].fd >= 0) {
		struct pollfd p[3];
		nfds_t n = 0;
		int timeout_ms = -1, k;
		uint64_t now = now_ns();

		if (!exited) {
			if (term_at != 0 && now >= term_at) {
				_cleanup_error_ struct skiff_error *ignored = NULL;

				/* The stop signal, then SIGKILL after the grace. */
				r->timed_out = true;
				container_kill(ctx, id, stop_signal, false, &ignored);
				term_at = 0;
				kill_at = now + (uint64_t)o->stop_timeout * 1000000000ull;
			}
			if (kill_at != 0 && now >= kill_at) {
				_cleanup_error_ struct skiff_error *ignored = NULL;

				container_kill(ctx, id, SIGKILL, true, &ignored);
				kill_at = 0;
			}
			if (term_at != 0 || kill_at != 0) {
				uint64_t next = term_at != 0 ? term_at : kill_at;

				timeout_ms = (int)((next - now) / 1000000 + 1);
			}
			p[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		}
		for (int i = 0; i < 2; i++)
			if (streams[i].fd >= 0)
				p[n++] = (struct pollfd){ .fd = streams[i].fd, .events = POLLIN };
		k = poll(p, n, timeout_ms);
		if (k < 0 && errno != EINTR) {
			forward_signals(0);
			return skiff_error_set(err, errno, "job.monitor", "poll");
		}
		if (k <= 0)
			continue;
		for (nfds_t j = 0; j < n; j++) {
			if (p[j].revents == 0)
				continue;
			if (p[j].fd == pidfd && !exited) {
				pid_t w;

				do
					w = waitpid(pid, &status, 0);
				while (w < 0 && errno == EINTR);
				if (w < 0) {
					forward_signals(0);
					return skiff_error_set(err, errno, "job.monitor",
							       "cannot collect the job's exit status");
				}
				r->duration = (double)(now_ns() - start) / 1e9;
				exited = true;
				forward_pid = 0;
				continue;
			}
			for (int i = 0; i < 2; i++)
				if (streams[i].fd == p[j].fd)
					stream_read(&streams[i], o, log_fd, &r->truncated);
		}
	}
	forward_signals(0);
	if (WIFSIGNALED(status)) {
		r->signal = WTERMSIG(status);
		r->exit_code = 128 + r->signal;
	} else {
		r->exit_code = WEXITSTATUS(status);
	}
	return 0;
}
