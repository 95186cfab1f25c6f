/* Unit tests of util/ and the runtime's pure helpers. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include <cmocka.h>

#include <skiff/runtime.h>
#include <skiff/sys.h>
#include <skiff/util.h>

static void test_parse_int64(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(parse_int64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int64("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_int64("101", 0, 100, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_int64("12x", 0, 100, &v), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(parse_int64("", 0, 100, &v), -1);
	assert_int_equal(parse_int64(" 1", 0, 100, &v), -1);
	assert_int_equal(parse_int64("99999999999999999999", 0, INT64_MAX, &v), -1);
}

static void test_signal_parse(void **state)
{
	(void)state;
	assert_int_equal(signal_parse("KILL"), SIGKILL);
	assert_int_equal(signal_parse("SIGKILL"), SIGKILL);
	assert_int_equal(signal_parse("sigterm"), SIGTERM);
	assert_int_equal(signal_parse("term"), SIGTERM);
	assert_int_equal(signal_parse("9"), 9);
	assert_int_equal(signal_parse("15"), 15);
	assert_int_equal(signal_parse("RTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(signal_parse("RTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(signal_parse("0"), -1);
	assert_int_equal(signal_parse("65"), -1);
	assert_int_equal(signal_parse("NOPE"), -1);
	assert_int_equal(signal_parse(""), -1);
	assert_string_equal(signal_name(SIGTERM), "TERM");
}

static void test_error_chain(void **state)
{
	struct skiff_error *err = NULL;
	char *text;

	(void)state;
	assert_int_equal(skiff_error_set(&err, ENOENT, "x.first", "first %d", 1), -1);
	/* The first failure explains; a later one must not replace it. */
	assert_int_equal(skiff_error_set(&err, EPERM, "x.second", "second"), -1);
	assert_string_equal(err->id, "x.first");
	skiff_error_prefix(&err, "ctx %s: ", "a");
	text = skiff_error_text(err);
	assert_string_equal(text, "ctx a: first 1: No such file or directory");
	free(text);
	assert_int_equal(skiff_error_exit_code(err), 125);
	skiff_error_free(err);
	err = NULL;
	skiff_error_set(&err, 0, "exec.not_found", "x");
	assert_int_equal(skiff_error_exit_code(err), 127);
	skiff_error_free(err);
	err = NULL;
	skiff_error_set(&err, 0, "exec.not_executable", "x");
	assert_int_equal(skiff_error_exit_code(err), 126);
	skiff_error_free(err);
}

static void test_container_id(void **state)
{
	struct skiff_error *err = NULL;
	char longid[1100];

	(void)state;
	assert_int_equal(container_id_validate("abc-1.2_3+4", &err), 0);
	assert_int_equal(container_id_validate("node.user.1.0.0", &err), 0);
	assert_int_equal(container_id_validate("../x", &err), -1);
	assert_string_equal(err->id, "container.bad_id");
	skiff_error_freep(&err);
	assert_int_equal(container_id_validate("a/b", &err), -1);
	skiff_error_freep(&err);
	assert_int_equal(container_id_validate("", &err), -1);
	skiff_error_freep(&err);
	assert_int_equal(container_id_validate(".hidden", &err), -1);
	skiff_error_freep(&err);
	assert_int_equal(container_id_validate("-opt", &err), -1);
	skiff_error_freep(&err);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(container_id_validate(longid, &err), -1);
	skiff_error_freep(&err);
}

static char tmpdir[] = "/tmp/skiff-unit-XXXXXX";

static void test_files(void **state)
{
	struct skiff_error *err = NULL;
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text = NULL;
	size_t len;
	struct stat st;

	(void)state;
	assert_true(dfd >= 0);
	assert_int_equal(write_file_atomic_at(dfd, "a.json", "{}", 2, 0600, &err), 0);
	assert_int_equal(fstatat(dfd, "a.json", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_file_at(dfd, "a.json", 100, &text, &len, &err), 0);
	assert_string_equal(text, "{}");
	assert_int_equal(len, 2);
	free(text);
	/* Over the bound is an error, not a truncated read. */
	assert_int_equal(read_file_at(dfd, "a.json", 1, &text, &len, &err), -1);
	assert_string_equal(err->id, "file.too_big");
	skiff_error_freep(&err);
	assert_int_equal(read_file_at(dfd, "missing", 100, &text, &len, &err), -1);
	assert_int_equal(err->errnum, ENOENT);
	skiff_error_freep(&err);
	/* write_file_new_at: the mode whatever the umask; an existing file is
	 * an error that leaves it as it was. */
	{
		mode_t old = umask(077);

		assert_int_equal(write_file_new_at(dfd, "n", "new\n", 4, 0644, &err), 0);
		umask(old);
		assert_int_equal(fstatat(dfd, "n", &st, 0), 0);
		assert_int_equal(st.st_mode & 0777, 0644);
		assert_int_equal(write_file_new_at(dfd, "n", "x", 1, 0644, &err), -1);
		assert_int_equal(err->errnum, EEXIST);
		skiff_error_freep(&err);
		assert_int_equal(read_file_at(dfd, "n", 100, &text, &len, &err), 0);
		assert_string_equal(text, "new\n");
		free(text);
	}
	/* remove_tree_at never follows a symlink out of the tree. */
	assert_int_equal(mkdirat(dfd, "t", 0755), 0);
	assert_int_equal(mkdirat(dfd, "t/sub", 0755), 0);
	assert_int_equal(mkdirat(dfd, "keep", 0755), 0);
	assert_int_equal(symlinkat("../keep", dfd, "t/sub/link"), 0);
	assert_int_equal(remove_tree_at(dfd, "t", &err), 0);
	assert_int_equal(fstatat(dfd, "t", &st, 0), -1);
	assert_int_equal(fstatat(dfd, "keep", &st, 0), 0);
	close(dfd);
}

static void test_open_in_root(void **state)
{
	struct skiff_error *err = NULL;
	int root, fd;
	struct stat st;
	char *host = NULL;

	(void)state;
	/* rootfs/: "escape" -> /  (absolute), "up" -> ../../..  (relative),
	 * "dangling" -> /made/here (missing) */
	host = xasprintf("%s/host", tmpdir);
	assert_int_equal(mkdir(host, 0755), 0);
	root = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(mkdirat(root, "rootfs", 0755), 0);
	close(root);
	{
		char *r = xasprintf("%s/rootfs", tmpdir);

		root = open(r, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(r);
	}
	assert_int_equal(symlinkat(host, root, "escape"), 0);
	assert_int_equal(symlinkat("../../../../..", root, "up"), 0);
	assert_int_equal(symlinkat("/made/here", root, "dangling"), 0);

	/* Creating through an absolute symlink lands inside the root. */
	fd = sys_open_in_root(root, "/escape/newdir", SYS_CREATE_DIR, 0755, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(root, "newdir", &st, 0), -1);
	assert_int_equal(stat(host, &st), 0);
	{
		char *h = xasprintf("%s/newdir", host);

		assert_int_equal(stat(h, &st), -1);   /* nothing on the "host" */
		free(h);
	}
	/* ".." cannot climb above the root. */
	fd = sys_open_in_root(root, "/up/file", SYS_CREATE_FILE, 0644, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	close(fd);
	assert_int_equal(fstatat(root, "file", &st, 0), 0);
	/* A dangling symlink is followed inside the root. */
	fd = sys_open_in_root(root, "/dangling/x", SYS_CREATE_DIR, 0755, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(root, "made/here/x", &st, 0), 0);
	/* Only the last component missing, its parent reached through a
	 * symlink: created in the symlink's target inside the root. */
	assert_int_equal(symlinkat("/made", root, "linkdir"), 0);
	fd = sys_open_in_root(root, "/linkdir/newfile", SYS_CREATE_FILE, 0600, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(root, "made/newfile", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The last component a dangling symlink: followed inside the root,
	 * not replaced and not followed out of it. */
	assert_int_equal(symlinkat("/made/target", root, "lastlink"), 0);
	fd = sys_open_in_root(root, "/lastlink", SYS_CREATE_FILE, 0644, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fstatat(root, "lastlink", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fstatat(root, "made/target", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	/* Without create, a missing path is an error naming it. */
	fd = sys_open_in_root(root, "/no/such", SYS_NO_CREATE, 0, &err);
	assert_int_equal(fd, -1);
	assert_string_equal(err->id, "rootfs.resolve");
	assert_non_null(strstr(err->msg, "/no/such"));
	skiff_error_freep(&err);
	close(root);
	free(host);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	struct skiff_error *err = NULL;
	int r;

	(void)state;
	r = remove_tree_at(AT_FDCWD, tmpdir, &err);
	skiff_error_free(err);
	return r;
}

/* sys_recv_fd: the bytes and the one fd sent with them, close-on-exec;
 * EPROTO for a message without an fd and once the peer is gone. */
static void test_recv_fd(void **state)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { 0 };
	struct cmsghdr *cm = &u.align;
	char out[4] = "abc", in[8];
	struct iovec iov = { out, 3 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int sv[2], sent, got = -1;
	struct stat a, b;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	sent = open("/dev/null", O_RDONLY);
	assert_true(sent >= 0);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sent, sizeof(int));
	assert_int_equal(sendmsg(sv[0], &msg, 0), 3);
	assert_int_equal(sys_recv_fd(sv[1], in, sizeof(in), &got), 3);
	assert_memory_equal(in, "abc", 3);
	assert_true(got >= 0 && got != sent);
	assert_int_equal(fstat(got, &a), 0);
	assert_int_equal(fstat(sent, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	assert_int_equal(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(got);
	close(sent);
	/* No fd with the bytes. */
	got = -1;
	assert_int_equal(send(sv[0], "x", 1, 0), 1);
	assert_int_equal(sys_recv_fd(sv[1], in, sizeof(in), &got), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(got, -1);
	/* The peer gone. */
	close(sv[0]);
	assert_int_equal(sys_recv_fd(sv[1], in, sizeof(in), &got), -1);
	assert_int_equal(errno, EPROTO);
	close(sv[1]);
}

/* The CPUs beside this one: every allowed CPU but one; none when the task
 * may run on one CPU only. */
static void test_cpus_elsewhere(void **state)
{
	cpu_set_t all, set, one;
	int n;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	n = CPU_COUNT(&all);
	if (n > 1) {
		assert_true(sys_cpus_elsewhere(&set));
		assert_int_equal(CPU_COUNT(&set), n - 1);
		CPU_AND(&one, &set, &all);
		assert_true(CPU_EQUAL(&one, &set));
	}
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_false(sys_cpus_elsewhere(&set));
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
}

/* The namespace made ahead comes with its lo up once its maker is gone
 * (the runtime then skips that step).  Root only: outside a user namespace, a new network
 * namespace needs CAP_SYS_ADMIN; not under valgrind, which refuses the
 * maker's clone(CLONE_VM) that is not a thread's. */
static void test_netns_maker(void **state)
{
	static struct sys_netns_maker mk;
	int sv[2], ns = -1, status;
	char byte;
	pid_t pid, child;

	(void)state;
	if (RUNNING_ON_VALGRIND || geteuid() != 0)
		skip();
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = sys_netns_maker_start(-1, sv[1], &mk);
	close(sv[1]);
	if (pid < 0 && errno == ENOSYS)
		skip();
	assert_true(pid > 0);
	assert_int_equal(sys_recv_fd(sv[0], &byte, 1, &ns), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Its end of the socket went with it: what says lo is done. */
	assert_int_equal(recv(sv[0], &byte, 1, MSG_DONTWAIT), 0);
	child = fork();
	if (child == 0) {
		struct ifreq ifr = { .ifr_name = "lo" };
		int s;

		if (setns(ns, CLONE_NEWNET) < 0)
			_exit(2);
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
			_exit(3);
		_exit(ifr.ifr_flags & IFF_UP ? 0 : 1);
	}
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(ns);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int64),
		cmocka_unit_test(test_signal_parse),
		cmocka_unit_test(test_error_chain),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_open_in_root),
		cmocka_unit_test(test_recv_fd),
		cmocka_unit_test(test_cpus_elsewhere),
		cmocka_unit_test(test_netns_maker),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
