/* Unit tests of the store's removal of a tree (store_rm_rf_at): every
 * kind of entry, directories left read-only or unreadable, more entries
 * than one getdents reads, and nothing followed out of the tree.  As root
 * the permission cases run in a child that became nobody, since root is
 * let through read-only directories anyway. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image-internal.h"

static char tmpdir[] = "/tmp/skiff-test-store-XXXXXX";

static int exists(int dfd, const char *path)
{
	struct stat st;

	return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void touch(int dfd, const char *path)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

/* The tree under dfd/t; dfd/outside holds what a symlink points to. */
static void make_tree(int dfd)
{
	char name[300];

	assert_int_equal(mkdirat(dfd, "outside", 0755), 0);
	touch(dfd, "outside/keep");
	assert_int_equal(mkdirat(dfd, "t", 0755), 0);
	assert_int_equal(mkdirat(dfd, "t/a", 0755), 0);
	assert_int_equal(mkdirat(dfd, "t/a/b", 0755), 0);
	assert_int_equal(mkdirat(dfd, "t/a/b/c", 0755), 0);
	touch(dfd, "t/a/b/c/file");
	touch(dfd, "t/a/file");
	assert_int_equal(symlinkat("../../outside", dfd, "t/a/link"), 0);
	assert_int_equal(symlinkat("/nonexistent", dfd, "t/dangling"), 0);
	assert_int_equal(mkfifoat(dfd, "t/fifo", 0600), 0);
	assert_int_equal(linkat(dfd, "t/a/file", dfd, "t/hardlink", 0), 0);
	/* More entries than one getdents reads (8 KiB). */
	assert_int_equal(mkdirat(dfd, "t/many", 0755), 0);
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "t/many/%03d-%0200d", i, 0);
		touch(dfd, name);
	}
	/* Read-only, and unreadable, directories with entries. */
	assert_int_equal(mkdirat(dfd, "t/ro", 0755), 0);
	assert_int_equal(mkdirat(dfd, "t/ro/sub", 0755), 0);
	touch(dfd, "t/ro/sub/file");
	touch(dfd, "t/ro/file");
	assert_int_equal(fchmodat(dfd, "t/ro/sub", 0555, 0), 0);
	assert_int_equal(fchmodat(dfd, "t/ro", 0555, 0), 0);
	assert_int_equal(mkdirat(dfd, "t/none", 0755), 0);
	touch(dfd, "t/none/file");
	assert_int_equal(fchmodat(dfd, "t/none", 0, 0), 0);
}

static void check_removal(int dfd)
{
	struct skiff_error *err = NULL;

	assert_int_equal(store_rm_rf_at(dfd, "t", &err), 0);
	assert_null(err);
	assert_false(exists(dfd, "t"));
	assert_true(exists(dfd, "outside/keep"));
	/* Gone already: not an error. */
	assert_int_equal(store_rm_rf_at(dfd, "t", &err), 0);
	/* A file and a symlink remove as themselves. */
	assert_int_equal(symlinkat("outside", dfd, "l"), 0);
	assert_int_equal(store_rm_rf_at(dfd, "l", &err), 0);
	assert_false(exists(dfd, "l"));
	assert_true(exists(dfd, "outside/keep"));
	assert_int_equal(store_rm_rf_at(dfd, "outside", &err), 0);
	assert_false(exists(dfd, "outside"));
}

static void test_rm_tree(void **state)
{
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(dfd >= 0);
	make_tree(dfd);
	check_removal(dfd);
	close(dfd);
}

/* fn(dfd of tmpdir): as nobody when root (where read-only would not
 * hold), else as the caller; 0 when it returned 0. */
static int as_nobody(int (*fn)(int dfd))
{
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), status, rc;
	pid_t pid;

	assert_true(dfd >= 0);
	if (geteuid() != 0) {
		rc = fn(dfd);
		close(dfd);
		return rc;
	}
	assert_int_equal(fchown(dfd, 65534, 65534), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		_exit(fn(dfd));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(fchown(dfd, 0, 0), 0);
	close(dfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int make_and_remove(int dfd)
{
	make_tree(dfd);
	check_removal(dfd);
	return 0;
}

/* As nobody, where read-only means read-only. */
static void test_rm_tree_unprivileged(void **state)
{
	(void)state;
	assert_int_equal(as_nobody(make_and_remove), 0);
}

/* An entry that cannot be removed: an error with its errno, and what
 * could not be removed stays.  As root, a directory of root's in a tree
 * of nobody's (which nobody can neither empty nor make writable). */
static void test_rm_tree_refused(void **state)
{
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), status;
	struct skiff_error *err = NULL;
	char name[600];
	pid_t pid;

	(void)state;
	assert_true(dfd >= 0);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(store_rm_rf_at(dfd, name, &err), -1);
	assert_string_equal(err->id, "image.store.remove");
	assert_int_equal(err->errnum, ENAMETOOLONG);
	skiff_error_free(err);
	err = NULL;
	if (geteuid() != 0)
		return;
	assert_int_equal(mkdirat(dfd, "t", 0755), 0);
	assert_int_equal(mkdirat(dfd, "t/root", 0755), 0);
	touch(dfd, "t/root/file");
	touch(dfd, "t/mine");
	assert_int_equal(fchownat(dfd, "t", 65534, 65534, 0), 0);
	assert_int_equal(fchownat(dfd, "t/mine", 65534, 65534, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		_exit(store_rm_rf_at(dfd, "t", &err) == -1 && err->errnum == EACCES &&
		      strcmp(err->id, "image.store.remove") == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(exists(dfd, "t/root/file"));
	assert_int_equal(store_rm_rf_at(dfd, "t", &err), 0);
	assert_false(exists(dfd, "t"));
	close(dfd);
}

/* remove_tree_at (no REMOVE_TREE_WRITABLE) changes no mode: a directory
 * left read-only stays so, with what is in it, and the error is
 * file.remove's.  Run as nobody where root would be let through. */
static int rm_plain_refused(int dfd)
{
	struct skiff_error *err = NULL;
	struct stat st;
	int ok;

	if (mkdirat(dfd, "p", 0755) < 0 || mkdirat(dfd, "p/ro", 0755) < 0)
		return 1;
	touch(dfd, "p/ro/f");
	touch(dfd, "p/gone");
	if (fchmodat(dfd, "p/ro", 0555, 0) < 0)
		return 1;
	ok = remove_tree_at(dfd, "p", &err) == -1 && err->errnum == EACCES &&
	     strcmp(err->id, "file.remove") == 0 && strcmp(err->msg, "cannot remove p/ro/f") == 0;
	skiff_error_free(err);
	err = NULL;
	if (!ok || fstatat(dfd, "p/ro", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    (st.st_mode & 0777) != 0555 || !exists(dfd, "p/ro/f"))
		return 1;
	/* The store's remover may make it writable, and does. */
	if (store_rm_rf_at(dfd, "p", &err) < 0 || exists(dfd, "p"))
		return 1;
	return 0;
}

static void test_rm_tree_plain(void **state)
{
	(void)state;
	assert_int_equal(as_nobody(rm_plain_refused), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rm_tree),
		cmocka_unit_test(test_rm_tree_unprivileged),
		cmocka_unit_test(test_rm_tree_plain),
		cmocka_unit_test(test_rm_tree_refused),
	};
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	chmod(tmpdir, 0755);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
