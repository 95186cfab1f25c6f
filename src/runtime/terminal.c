/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Terminals: process.terminal.
 *
 * The container's process (the init, or an exec'd one) starts a session,
 * opens a pty in the container (its own devpts, through /dev/ptmx), makes
 * the slave its controlling terminal and stdio, and hands the master over a
 * unix socket with SCM_RIGHTS.  That is runc's --console-socket protocol,
 * which containerd (go-runc) and conmon receive: one message whose payload
 * is the master's name ("/dev/ptmx", at most 4095 bytes) and whose control
 * data is exactly one fd.  A payload is needed at all because a stream
 * socket does not deliver control data without data.
 *
 * Without a console socket, in the foreground (`run`, `exec -t`), skiff
 * receives the master itself over a socketpair and proxies between it and
 * its own terminal (terminal_proxy()). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime-internal.h"

#define MASTER_NAME "/dev/ptmx"
#define NAME_MAX_LEN 4096        /* what runc's and conmon's receivers accept */

int terminal_console_connect(const char *path, struct skiff_error **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (path == NULL)
		return skiff_error_set(err, EINVAL, "terminal.no_console_socket",
				       "process.terminal is true but no --console-socket was given: "
				       "a detached process needs a socket to send its terminal to "
				       "(or set process.terminal to false)");
	if (strlen(path) >= sizeof(sa.sun_path))
		return skiff_error_set(err, ENAMETOOLONG, "terminal.console_socket",
				       "--console-socket %s: the path is longer than %zu bytes",
				       path, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return skiff_error_set(err, errno, "terminal.console_socket",
				       "cannot connect to --console-socket %s", path);
	return steal_fd(&fd);
}

int terminal_for_create(const struct spec_process *p, const char *console_socket,
			bool proxy, int *console_fd, int *proxy_fd, struct skiff_error **err)
{
	int sv[2];

	*console_fd = *proxy_fd = -1;
	if (!p->terminal) {
		if (console_socket != NULL)
			return skiff_error_set(err, EINVAL, "terminal.console_socket",
					       "--console-socket %s is only for a process with a "
					       "terminal (process.terminal true)", console_socket);
		return 0;
	}
	if (console_socket != NULL || !proxy) {
		*console_fd = terminal_console_connect(console_socket, err);
		return *console_fd < 0 ? -1 : 0;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return skiff_error_set(err, errno, "container.sync", "cannot create a socketpair");
	*proxy_fd = sv[0];
	*console_fd = sv[1];
	return 0;
}

static int send_master(int sock, int master, struct skiff_error **err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct iovec iov = { .iov_base = (void *)MASTER_NAME, .iov_len = strlen(MASTER_NAME) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return skiff_error_set(err, errno, "terminal.console_socket",
				       "cannot send the terminal to the console socket");
	return 0;
}

int terminal_recv_master(int sock, int *master, struct skiff_error **err)
{
	char name[NAME_MAX_LEN];

	if (sys_recv_fd(sock, name, sizeof(name), master) < 0)
		return skiff_error_set(err, errno, "terminal.console_socket",
				       "the container's process did not send its terminal");
	return 0;
}

/* The slave of master, without a path lookup where the kernel allows
 * (TIOCGPTPEER, Linux 4.13): a path could be replaced under us. */
static int open_slave(int master)
{
	char path[64];
	int fd, n;

	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0 || (errno != EINVAL && errno != ENOTTY))
		return fd;
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/pts/%d", n);
	return open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

int terminal_setup(int console_fd, const struct spec_process *p, struct skiff_error **err)
{
	_cleanup_close_ int master = -1, slave = -1;
	int unlock = 0;

	/* A controlling terminal belongs to a session leader. */
	if (setsid() < 0)
		return skiff_error_set(err, errno, "terminal.open",
				       "cannot start a new session for the terminal");
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return skiff_error_set(err, errno, "terminal.open",
				       "cannot open /dev/ptmx in the container (process.terminal "
				       "needs a devpts mount at /dev/pts in mounts[])");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || (slave = open_slave(master)) < 0)
		return skiff_error_set(err, errno, "terminal.open",
				       "cannot open the slave of the container's pty");
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_size.height,
				      .ws_col = (unsigned short)p->console_size.width };

		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			return skiff_error_set(err, errno, "terminal.open",
					       "cannot set process.consoleSize %ux%u",
					       p->console_size.width, p->console_size.height);
	}
	/* The process user may then reopen its own tty (devpts made it the
	 * container root's); where that uid is not mapped, it keeps using the
	 * fds it holds, which is all a tty needs. */
	if (p->user.uid != 0 && fchown(slave, p->user.uid, (gid_t)-1) < 0)
		log_debug("terminal: cannot give the pty to uid %u: %s", p->user.uid,
			  strerror(errno));
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return skiff_error_set(err, errno, "terminal.open",
				       "cannot make the pty the controlling terminal");
	if (send_master(console_fd, master, err) < 0)
		return -1;
	/* dup2 clears close-on-exec: the slave stays as stdio only. */
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return skiff_error_set(err, errno, "terminal.open",
					       "cannot make the pty the standard streams");
	return 0;
}

/* ---- the proxy: skiff's own terminal <-> the container's pty ------------ */

static volatile sig_atomic_t winch_pending;

static void on_winch(int sig)
{
	(void)sig;
	winch_pending = 1;
}

/* The caller's terminal: the first of stdin, stdout, stderr that is one. */
static int caller_tty(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd))
			return fd;
	return -1;
}

bool terminal_caller_size(struct spec_console_size *out)
{
	struct winsize ws;
	int tty = caller_tty();

	if (tty < 0 || ioctl(tty, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return false;
	*out = (struct spec_console_size){ .height = ws.ws_row, .width = ws.ws_col };
	return true;
}

static void copy_window_size(int master)
{
	struct spec_console_size sz;
	struct winsize ws = { 0 };

	if (!terminal_caller_size(&sz))
		return;
	ws.ws_row = (unsigned short)sz.height;
	ws.ws_col = (unsigned short)sz.width;
	(void)ioctl(master, TIOCSWINSZ, &ws);
}

void terminal_initial_size(int master)
{
	struct winsize ws;

	/* process.consoleSize, which the process already set, wins. */
	if (ioctl(master, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		copy_window_size(master);
}

/* What is left in the pty once the process has exited: read until the
 * kernel says the slave is closed (EIO), or, when a child of the process
 * still holds it open, until nothing came for a while. */
static void drain_master(int master)
{
	struct pollfd p = { .fd = master, .events = POLLIN };
	char buf[4096];

	while (poll(&p, 1, 100) > 0) {
		ssize_t n = read(master, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			break;
	}
}

struct proxy_io {
	char in[4096];           /* read from stdin, not yet written to the pty */
	size_t in_len, in_off;
	bool stdin_open, master_open;
};

/* One round of copying after poll: stdin -> pty (non-blocking, so that a
 * process that does not read cannot stall the output), pty -> stdout. */
static void proxy_copy(int master, struct pollfd *p, struct proxy_io *io)
{
	char buf[8192];
	ssize_t n;

	if (io->stdin_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
		n = read(STDIN_FILENO, io->in, sizeof(io->in));
		if (n > 0) {
			io->in_len = (size_t)n;
			io->in_off = 0;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			/* A pty has no half-close: input simply ends (as runc). */
			io->stdin_open = false;
		}
	}
	if (io->in_len > io->in_off && (p[1].revents & POLLOUT)) {
		n = write(master, io->in + io->in_off, io->in_len - io->in_off);
		if (n > 0)
			io->in_off += (size_t)n;
		else if (n < 0 && errno != EINTR && errno != EAGAIN)
			io->in_len = io->in_off = 0;
		if (io->in_off == io->in_len)
			io->in_len = io->in_off = 0;
	}
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(master, buf, sizeof(buf));
		if (n > 0)
			(void)!write_all(STDOUT_FILENO, buf, (size_t)n);
		else if (n == 0 || (errno != EINTR && errno != EAGAIN))
			io->master_open = false;   /* EIO: every slave fd is closed */
	}
}

int terminal_proxy(int master, pid_t pid, int *exit_status, struct skiff_error **err)
{
	struct sigaction sa = { .sa_handler = on_winch }, old_sa;
	struct termios saved, raw;
	sigset_t block, old_mask;
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct proxy_io io = { .stdin_open = true, .master_open = true };
	bool restore_tty = false;
	int status = 0, rc = 0;

	if (pidfd < 0)
		return skiff_error_set(err, errno, "container.wait",
				       "cannot watch the container's process %d", pid);
	if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0)
		return skiff_error_set(err, errno, "terminal.proxy", "cannot set up the pty");
	terminal_initial_size(master);
	/* Raw: every key (^C, ^Z …) goes to the container's terminal, whose
	 * line discipline makes the signals there. */
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
			restore_tty = true;
	}
	/* SIGWINCH only interrupts ppoll(), so no resize is missed between
	 * the check and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	sigaction(SIGWINCH, &sa, &old_sa);
	winch_pending = 0;

	for (;;) {
		struct pollfd pf[3] = {
			{ .fd = io.stdin_open && io.in_len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = io.master_open ? master : -1,
			  .events = POLLIN | (io.in_len > 0 ? POLLOUT : 0) },
			{ .fd = pidfd, .events = POLLIN },
		};
		sigset_t during = old_mask;

		sigdelset(&during, SIGWINCH);
		if (ppoll(pf, 3, NULL, &during) < 0 && errno != EINTR) {
			rc = skiff_error_set(err, errno, "terminal.proxy",
					     "cannot wait on the container's terminal");
			break;
		}
		if (winch_pending) {
			winch_pending = 0;
			copy_window_size(master);
		}
		if (pf[2].revents & POLLIN) {
			pid_t r;

			do
				r = waitpid(pid, &status, 0);
			while (r < 0 && errno == EINTR);
			if (r < 0) {
				rc = skiff_error_set(err, errno, "container.wait",
						     "cannot wait for the container's process %d", pid);
				break;
			}
			if (io.master_open)
				drain_master(master);
			*exit_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
							   : WEXITSTATUS(status);
			break;
		}
		proxy_copy(master, pf, &io);
	}
	if (restore_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigaction(SIGWINCH, &old_sa, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	return rc;
}
