/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skiff/sys.h>
#include <skiff/util.h>

/* Fields 9 (flags) and 22 (starttime) of /proc/PID/stat. */
static int proc_stat(pid_t pid, unsigned long *flags, uint64_t *start)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", pid);
	_cleanup_free_ char *stat = NULL;
	unsigned long long st;
	unsigned long fl;
	char *p;

	if (read_file_at(AT_FDCWD, path, 8192, &stat, NULL, NULL) < 0) {
		errno = ESRCH;
		return -1;
	}
	/* The command name may hold spaces and ')': fields restart after the
	 * last ')'.  Field 3 is the first after it. */
	p = strrchr(stat, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu %*u %*u %*u %*u "
				"%*u %*u %*d %*d %*d %*d %*d %*d %llu", &fl, &st) != 2) {
		errno = EINVAL;
		return -1;
	}
	*flags = fl;
	*start = st;
	return 0;
}

int sys_proc_start_time(pid_t pid, uint64_t *out)
{
	unsigned long flags;

	return proc_stat(pid, &flags, out);
}

/* The kernel's PF_EXITING (include/linux/sched.h), set as a task starts
 * to exit, before it closes its files. */
#define PF_EXITING_FLAG 0x4UL

bool sys_child_killed(pid_t pid)
{
	siginfo_t si = { 0 };
	unsigned long flags = 0;
	uint64_t start;
	int options = WEXITED | WNOWAIT;

	if (pid <= 0)
		return false;
	/* One that is exiting is waited for: whoever saw its files close
	 * (a socket at EOF, a fifo without writer) may ask before it is a
	 * zombie, and WNOHANG would find nothing yet. */
	if (proc_stat(pid, &flags, &start) < 0 || !(flags & PF_EXITING_FLAG))
		options |= WNOHANG;
	while (waitid(P_PID, (id_t)pid, &si, options) < 0) {
		if (errno != EINTR)
			return false;
	}
	return si.si_pid == pid && (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED);
}

int sys_pidfd_open_checked(pid_t pid, uint64_t start_time)
{
	uint64_t now;
	int fd;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* Checked after opening: if the pid was reused before the open, the
	 * start time differs; if after, the pidfd still names the old one. */
	if (sys_proc_start_time(pid, &now) < 0 || now != start_time) {
		close(fd);
		errno = ESRCH;
		return -1;
	}
	return fd;
}

int sys_pidfd_wait_exit(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, timeout_ms);

		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* A write to /proc that can only land on the procfs it names: the file is
 * resolved from the root of a procfs mount without crossing into another
 * mount or following magic links, so a bind mount or symlink planted over
 * /proc/sys/... or /proc/self/... cannot redirect it onto a host file
 * (the CVE-2025-52881 class). */
int sys_write_procfs(const char *path, const char *data)
{
	struct open_how how = {
		.flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int procfd = -1, fd = -1;
	struct statfs sf;
	struct stat st;
	size_t len = strlen(data);

	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -1;
	/* The root of a procfs mount, not a directory on another fs. */
	if (fstatfs(procfd, &sf) < 0 || fstat(procfd, &st) < 0)
		return -1;
	if (sf.f_type != PROC_SUPER_MAGIC || st.st_ino != 1) {
		errno = EXDEV;
		return -1;
	}
	fd = (int)syscall(SYS_openat2, procfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		fd = openat(procfd, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)) {
			errno = EXDEV;
			return -1;
		}
	}
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) != (ssize_t)len)
		return -1;
	return 0;
}

/* ---- a network namespace made beside the caller -------------------------- */

/* System calls that leave errno alone.  The child below runs on the
 * caller's memory at the same time as the caller, and glibc's wrappers
 * would set errno (a thread-local of the caller's thread, which the child
 * shares) on a failure; these return -errno instead. */
#if defined(__x86_64__)
#define SYS_RAW_SYSCALLS 1
static long raw_syscall4(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define SYS_RAW_SYSCALLS 1
static long raw_syscall4(long nr, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}
#endif

bool sys_cpus_elsewhere(cpu_set_t *set)
{
	unsigned int cpu;

	/* getcpu(2) itself: glibc's sched_getcpu() reads the rseq area of the
	 * thread whose memory this is, which the kernel keeps up to date for
	 * that thread only, not for a child running on its memory. */
	if (sched_getaffinity(0, sizeof(*set), set) < 0 ||
	    syscall(SYS_getcpu, &cpu, NULL, NULL) < 0 || !CPU_ISSET(cpu, set) ||
	    CPU_COUNT(set) < 2)
		return false;
	CPU_CLR(cpu, set);
	return true;
}

long sys_quiet_syscall4(long nr, long a, long b, long c, long d)
{
#ifdef SYS_RAW_SYSCALLS
	return raw_syscall4(nr, a, b, c, d);
#else
	(void)nr, (void)a, (void)b, (void)c, (void)d;
	return -ENOSYS;
#endif
}

#ifdef SYS_RAW_SYSCALLS
struct netns_maker {
	int userns_fd, sock;
	bool elsewhere;
	cpu_set_t cpus; /* elsewhere: the caller's CPUs but the one it is on */
};

/* lo up in the new namespace, off the caller's path: SIOCSIFFLAGS takes
 * the kernel's RTNL lock, and whoever releases it first after a namespace
 * was torn down (the last run's, just before) waits for that namespace's
 * devices to go, milliseconds at times.  Left down on failure: the joiner
 * finds it down and brings it up itself, or says why it cannot. */
static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	long s = raw_syscall4(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0);

	if (s < 0)
		return;
	if (raw_syscall4(SYS_ioctl, s, SIOCGIFFLAGS, (long)&ifr, 0) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		raw_syscall4(SYS_ioctl, s, SIOCSIFFLAGS, (long)&ifr, 0);
	}
	raw_syscall4(SYS_close, s, 0, 0, 0);
}

/* The child: raw system calls and its own stack only; no call into libc
 * (a first call through the PLT would run the dynamic linker, which keeps
 * state in the caller's thread). */
static int netns_maker(void *arg)
{
	const struct netns_maker *m = arg;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	long fd;

	/* Beside the caller, not instead of it: a new task often starts on
	 * its parent's CPU and preempts it there.  It stays off that CPU for
	 * its half millisecond: the caller moves it too, when it waits there
	 * instead, at a moment this child cannot know. */
	if (m->elsewhere)
		raw_syscall4(SYS_sched_setaffinity, 0, sizeof(m->cpus), (long)&m->cpus, 0);
	if (m->userns_fd >= 0 && raw_syscall4(SYS_setns, m->userns_fd, CLONE_NEWUSER, 0, 0) < 0)
		return 1;
	if (raw_syscall4(SYS_unshare, CLONE_NEWNET, 0, 0, 0) < 0)
		return 1;
	fd = raw_syscall4(SYS_openat, AT_FDCWD, (long)"/proc/self/ns/net", O_RDONLY | O_CLOEXEC,
			  0);
	if (fd < 0)
		return 1;
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	*(int *)(void *)CMSG_DATA(&u.h) = (int)fd;
	if (raw_syscall4(SYS_sendmsg, m->sock, (long)&msg, MSG_NOSIGNAL, 0) != 1)
		return 1;
	/* Sent first: the caller goes on with the namespace while lo comes
	 * up; the caller's end of sock sees the end of the stream once this
	 * child has exited (its copy of sock closes with it). */
	loopback_up();
	return 0;
}
#endif

pid_t sys_netns_maker_start(int userns_fd, int sock, struct sys_netns_maker *mk)
{
#ifdef SYS_RAW_SYSCALLS
	struct netns_maker *m;
	pid_t pid;

	/* The arguments live at the bottom of the child's stack, which
	 * grows down towards them from the top. */
	m = (struct netns_maker *)mk->stack;
	m->userns_fd = userns_fd;
	m->sock = sock;
	m->elsewhere = sys_cpus_elsewhere(&m->cpus);
	pid = clone(netns_maker, mk->stack + sizeof(mk->stack), CLONE_VM | SIGCHLD, m);
	/* Moved now, if it waits on this CPU (it moves itself, where it ran
	 * first): a CPU that sleeps would take it only later. */
	if (pid > 0 && m->elsewhere)
		sched_setaffinity(pid, sizeof(m->cpus), &m->cpus);
	return pid;
#else
	(void)userns_fd;
	(void)sock;
	(void)mk;
	errno = ENOSYS;
	return -1;
#endif
}

const char *sys_user_name(uid_t uid)
{
	static char *name;
	static uid_t cached;
	static bool looked_up;
	struct passwd *pw;

	if (looked_up && cached == uid)
		return name;
	pw = getpwuid(uid);
	free(name);
	name = pw != NULL ? xstrdup(pw->pw_name) : NULL;
	cached = uid;
	looked_up = true;
	return name;
}
