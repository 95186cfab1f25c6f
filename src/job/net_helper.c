/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The user-mode network helpers of a job: pasta (Debian passt) and
 * slirp4netns give a network namespace of the job's own a link to the
 * outside without privileges: they attach to the namespace of the created
 * container's init (before it starts), make a tap interface there, and
 * carry its traffic through ordinary sockets of the host.  skiff starts
 * the helper under a small "keeper" process, a fork of itself in a session
 * of its own, that holds the read end of a pipe whose write end skiff
 * holds: when skiff ends the job, or dies (even by SIGKILL), the pipe
 * closes and the keeper kills the helper by the pid it started and reaps
 * it.  PR_SET_PDEATHSIG on the helper would not do: the kernel clears it
 * when a root pasta changes its credentials.
 *
 * The helper gets the namespaces as fds opened by skiff (/proc/self/fd/N):
 * a helper that drops capabilities can no longer open the /proc/PID/ns
 * files of a process that keeps them (ptrace access rules). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/job-internal.h"

#define READY_TIMEOUT_MS 20000

/* The fds a helper is given, at these numbers (place_fds). */
enum { FD_NETNS = 3, FD_USERNS, FD_READY, FD_DIR, FD_LOG, FD_STOP, FD_FIRST_FREE };

/* ---- the helper and its keeper --------------------------------------------------- */

static void close_from(int from)
{
	if (syscall(SYS_close_range, from, ~0U, 0) == 0)
		return;
	for (int fd = from; fd < 4096; fd++)
		close(fd);
}

/* Moves fds[i] to FD_NETNS + i (-1: /dev/null there), whatever numbers
 * they had, and closes every other fd from FD_FIRST_FREE. */
static void place_fds(const int *fds, int count)
{
	int high[8];

	for (int i = 0; i < count; i++)
		high[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD, 64) : open("/dev/null", O_RDONLY);
	for (int i = 0; i < count; i++) {
		dup2(high[i], FD_NETNS + i);
		close(high[i]);
	}
	close_from(FD_NETNS + count);
}

/* The keeper: in a session of its own (a Ctrl-C meant for the job does
 * not reach the helper), it runs the helper and waits for the first of:
 * the stop pipe closing (skiff ended the job, or died), or the helper
 * exiting.  Then the helper is stopped (SIGTERM, SIGKILL after 2 s),
 * reaped, and the keeper exits with 0, or 1 if the helper ended first. */
static _Noreturn void keeper_main(char **argv)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	pid_t helper;
	int status = 0, pidfd;

	setsid();
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	helper = fork();
	if (helper < 0)
		_exit(1);
	if (helper == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(FD_LOG, STDOUT_FILENO);
		dup2(FD_LOG, STDERR_FILENO);
		close(null);
		close(FD_LOG);
		close(FD_STOP);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (int fd = FD_NETNS; fd < FD_STOP; fd++)
		close(fd);
	pidfd = (int)syscall(SYS_pidfd_open, helper, 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = FD_STOP, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };

		if (poll(p, pidfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents != 0)
			break;
		if (pidfd >= 0 && p[1].revents != 0) {
			waitpid(helper, &status, 0);
			_exit(1);
		}
	}
	kill(helper, SIGTERM);
	if (pidfd < 0 || sys_pidfd_wait_exit(pidfd, 2000) != 0)
		kill(helper, SIGKILL);
	while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

static char **pasta_argv(const struct job_net *n, bool userns)
{
	_cleanup_free_ char *tcp = xstrdup(""), *udp = xstrdup("");
	char **v = xzalloc(32 * sizeof(char *));
	size_t k = 0;

	for (size_t i = 0; i < n->n_ports; i++) {
		const struct job_port *p = &n->ports[i];
		char **list = p->udp ? &udp : &tcp;

		xstrappendf(list, "%s%s%s%u:%u", **list ? "," : "", p->host_ip, p->host_ip[0] ? "/" : "",
		       p->host_port, p->ctr_port);
	}
	v[k++] = xstrdup(n->helper);
	v[k++] = xstrdup("--foreground");
	v[k++] = xstrdup("--quiet");
	v[k++] = xstrdup("--config-net");
	/* Root pasta changes to nobody, who cannot join a namespace of root's. */
	if (geteuid() == 0) {
		v[k++] = xstrdup("--runas");
		v[k++] = xstrdup("0");
	}
	/* Only the ports asked for (pasta's default, auto, publishes every
	 * port the job listens on), and no host loopback ports seen as the
	 * job's own (-T/-U auto). */
	v[k++] = xstrdup("-t");
	v[k++] = xstrdup(*tcp ? tcp : "none");
	v[k++] = xstrdup("-u");
	v[k++] = xstrdup(*udp ? udp : "none");
	v[k++] = xstrdup("-T");
	v[k++] = xstrdup("none");
	v[k++] = xstrdup("-U");
	v[k++] = xstrdup("none");
	v[k++] = xstrdup("--dns-forward");
	v[k++] = xstrdup(JOB_NET_PASTA_DNS);
	v[k++] = xasprintf("--netns=/proc/self/fd/%d", FD_NETNS);
	if (userns)
		v[k++] = xasprintf("--userns=/proc/self/fd/%d", FD_USERNS);
	v[k++] = xasprintf("--pid=/proc/self/fd/%d/pasta.pid", FD_DIR);
	return v;
}

static char **slirp_argv(const struct job_net *n, bool userns)
{
	char **v = xzalloc(24 * sizeof(char *));
	size_t k = 0;

	v[k++] = xstrdup(n->helper);
	v[k++] = xstrdup("--configure");
	v[k++] = xstrdup("--mtu=65520");
	v[k++] = xasprintf("--ready-fd=%d", FD_READY);
	v[k++] = xasprintf("--api-socket=/proc/self/fd/%d/slirp4netns.sock", FD_DIR);
	v[k++] = xstrdup("--netns-type=path");
	if (userns)
		v[k++] = xasprintf("--userns-path=/proc/self/fd/%d", FD_USERNS);
	v[k++] = xasprintf("/proc/self/fd/%d", FD_NETNS);
	v[k++] = xstrdup("tap0");
	return v;
}

/* The last line of the helper's log, for an error message. */
static char *log_tail(int dirfd)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	char *end, *start;

	if (read_file_at(dirfd, "network.log", 1u << 20, &text, &len, NULL) < 0 || len == 0)
		return xstrdup("(it printed nothing)");
	end = text + len;
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(text, '\n');
	return xasprintf("\"%s\"", start ? start + 1 : text);
}

static int helper_failed(struct job_net *n, int dirfd, const char *what, struct skiff_error **err)
{
	_cleanup_free_ char *tail = log_tail(dirfd);

	return skiff_error_set(err, 0, "job.network.helper_failed",
			       "--network %s: %s %s: %s (its log is network.log in the "
			       "container's directory; --keep keeps it)", job_network_name(n->mode),
			       n->helper, what, tail);
}

static bool keeper_alive(struct job_net *n)
{
	int status;

	if (waitpid(n->keeper, &status, WNOHANG) == n->keeper) {
		n->keeper = 0;
		return false;
	}
	return true;
}

/* pasta writes its pid file once it has configured the namespace. */
static int wait_pasta(struct job_net *n, int dirfd, struct skiff_error **err)
{
	uint64_t until = now_ns() + READY_TIMEOUT_MS * 1000000ull;
	struct stat st;

	while (fstatat(dirfd, "pasta.pid", &st, 0) < 0 || st.st_size == 0) {
		if (!keeper_alive(n))
			return helper_failed(n, dirfd, "exited while setting up", err);
		if (now_ns() > until)
			return helper_failed(n, dirfd, "was not ready after 20 s", err);
		usleep(2000);
	}
	return 0;
}

static int wait_slirp(struct job_net *n, int ready_fd, int dirfd, struct skiff_error **err)
{
	struct pollfd p = { .fd = ready_fd, .events = POLLIN };
	char c = 0;
	int k;

	do
		k = poll(&p, 1, READY_TIMEOUT_MS);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		return helper_failed(n, dirfd, "was not ready after 20 s", err);
	if (read(ready_fd, &c, 1) != 1 || c != '1')
		return helper_failed(n, dirfd, "exited while setting up", err);
	return 0;
}

/* One request to slirp4netns's API socket (slirp4netns(1), API SOCKET):
 * a JSON object, then shutdown(SHUT_WR); the answer has "return" or "error". */
static int slirp_add_port(int dirfd, const struct job_port *p,
			  struct skiff_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	_cleanup_free_ char *req = xasprintf(
		"{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"%s\", "
		"\"host_addr\": \"%s\", \"host_port\": %u, \"guest_port\": %u}}",
		p->udp ? "udp" : "tcp", p->host_ip[0] ? p->host_ip : "0.0.0.0", p->host_port,
		p->ctr_port);
	char reply[4096];
	size_t got = 0;
	ssize_t k;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/slirp4netns.sock", dirfd);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write_all(s, req, strlen(req)) < 0 || shutdown(s, SHUT_WR) < 0)
		return skiff_error_set(err, errno, "job.network.helper_failed",
				       "-p %u:%u: cannot reach slirp4netns's API socket",
				       p->host_port, p->ctr_port);
	while (got < sizeof(reply) - 1 && (k = read(s, reply + got, sizeof(reply) - 1 - got)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		got += (size_t)k;
	}
	reply[got] = '\0';
	if (strstr(reply, "\"return\"") == NULL)
		return skiff_error_set(err, 0, "job.network.port_busy",
				       "-p %s%s%u:%u/%s: slirp4netns could not publish the port: "
				       "%s", p->host_ip, p->host_ip[0] ? ":" : "", p->host_port,
				       p->ctr_port, p->udp ? "udp" : "tcp",
				       got ? reply : "no answer");
	return 0;
}

int job_net_start(struct job_net *n, pid_t init, int dirfd, struct skiff_error **err)
{
	_cleanup_close_ int netns = -1, userns = -1, logfd = -1, ready_rd = -1, ready_wr = -1;
	_cleanup_close_ int stop_rd = -1;
	_cleanup_strv_ char **argv = NULL;
	_cleanup_free_ char *net_path = xasprintf("/proc/%d/ns/net", init);
	_cleanup_free_ char *user_path = xasprintf("/proc/%d/ns/user", init);
	struct stat own, theirs;
	bool with_userns;
	int stop[2];

	if (!job_network_user_mode(n->mode))
		return 0;
	netns = open(net_path, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return skiff_error_set(err, errno, "job.network.helper_failed",
				       "cannot open the container's network namespace %s", net_path);
	/* A rootless container has a user namespace of its own: the helper
	 * joins it to have CAP_NET_ADMIN over the network namespace. */
	with_userns = stat("/proc/self/ns/user", &own) == 0 && stat(user_path, &theirs) == 0 &&
		      own.st_ino != theirs.st_ino;
	if (with_userns && (userns = open(user_path, O_RDONLY | O_CLOEXEC)) < 0)
		return skiff_error_set(err, errno, "job.network.helper_failed",
				       "cannot open the container's user namespace %s", user_path);
	logfd = openat(dirfd, "network.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return skiff_error_set(err, errno, "job.network.helper_failed",
				       "cannot create network.log in the container's directory");
	if (n->mode == JOB_NETWORK_SLIRP4NETNS) {
		int r[2];

		if (pipe2(r, O_CLOEXEC) < 0)
			return skiff_error_set(err, errno, "job.network.helper_failed", "pipe");
		ready_rd = r[0];
		ready_wr = r[1];
	}
	if (pipe2(stop, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "job.network.helper_failed", "pipe");
	stop_rd = stop[0];
	n->stop_fd = stop[1];
	argv = n->mode == JOB_NETWORK_PASTA ? pasta_argv(n, with_userns) : slirp_argv(n, with_userns);

	n->keeper = fork();
	if (n->keeper < 0) {
		n->keeper = 0;
		return skiff_error_set(err, errno, "job.network.helper_failed", "cannot fork");
	}
	if (n->keeper == 0) {
		int fds[] = { netns, userns, ready_wr, dirfd, logfd, stop_rd };

		place_fds(fds, (int)ARRAY_SIZE(fds));
		keeper_main(argv);
	}
	close(steal_fd(&stop_rd));
	close(steal_fd(&ready_wr));
	if (n->mode == JOB_NETWORK_PASTA) {
		if (wait_pasta(n, dirfd, err) < 0)
			return -1;
	} else {
		if (wait_slirp(n, ready_rd, dirfd, err) < 0)
			return -1;
		for (size_t i = 0; i < n->n_ports; i++)
			if (slirp_add_port(dirfd, &n->ports[i], err) < 0)
				return -1;
	}
	return 0;
}

void job_net_stop(struct job_net *n)
{
	job_net_ahead_end(n);
	if (n->stop_fd >= 0)
		close(steal_fd(&n->stop_fd));
	if (n->keeper > 0)
		while (waitpid(n->keeper, NULL, 0) < 0 && errno == EINTR)
			;
	n->keeper = 0;
	if (n->userns_fd >= 0)
		close(steal_fd(&n->userns_fd));
	free(n->userns_path);
	n->userns_path = NULL;
	free(n->helper);
	free(n->ports);
	n->helper = NULL;
	n->ports = NULL;
	n->n_ports = 0;
}
