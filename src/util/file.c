/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <skiff/util.h>

ssize_t write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t r = write(fd, p + done, len - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int read_file_at(int dirfd, const char *path, size_t max, char **out,
		 size_t *len, struct skiff_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, cap = 0;

	if (fd < 0)
		return skiff_error_set(err, errno, "file.read", "cannot open %s", path);
	for (;;) {
		ssize_t r;

		if (cap - size < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap + 1);
		}
		r = read(fd, buf + size, cap - size);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return skiff_error_set(err, errno, "file.read", "cannot read %s", path);
		}
		if (r == 0)
			break;
		size += (size_t)r;
		if (size > max)
			return skiff_error_set(err, EFBIG, "file.too_big",
					       "%s is larger than %zu bytes", path, max);
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[size] = '\0';
	*out = steal_pointer(&buf);
	if (len != NULL)
		*len = size;
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data,
			 size_t len, mode_t mode, struct skiff_error **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, getpid());

	if (write_file_new_at(dirfd, tmp, data, len, mode, err) < 0)
		return -1;
	if (renameat(dirfd, tmp, dirfd, path) < 0) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		return skiff_error_set(err, e, "file.write", "cannot rename %s to %s",
				       tmp, path);
	}
	return 0;
}

int write_file_new_at(int dirfd, const char *path, const void *data, size_t len,
		      mode_t mode, struct skiff_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
					O_NOFOLLOW | O_NOCTTY, mode);

	if (fd < 0)
		return skiff_error_set(err, errno, "file.write", "cannot create %s", path);
	if (write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0) {
		int e = errno;

		unlinkat(dirfd, path, 0);
		return skiff_error_set(err, e, "file.write", "cannot write %s", path);
	}
	return 0;
}

int write_file_at(int dirfd, const char *path, const char *data,
		  struct skiff_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return skiff_error_set(err, errno, "file.write", "cannot open %s", path);
	if (write_all(fd, data, strlen(data)) < 0)
		return skiff_error_set(err, errno, "file.write", "cannot write \"%s\" to %s",
				       data, path);
	return 0;
}

/* ---- removing a tree ------------------------------------------------------ */

/* A run removes its container's directory and its state on its way out, so
 * this is on every run's path: the entry types getdents gives save the
 * unlink tried on each directory, and no DIR stream (fstat, fcntl and a
 * 32 KiB buffer each) is set up.  Nothing is followed: a symlink is removed
 * as itself. */

struct rm_dirent {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define RM_BUF 8192

struct rm {
	unsigned flags;
	const char *id;
};

/* unlinkat in dirfd; with REMOVE_TREE_WRITABLE dirfd is made writable
 * (once: *chmodded) when the unlink is refused. */
static int rm_unlink(const struct rm *rm, int dirfd, const char *name, int flags,
		     bool *chmodded)
{
	if (unlinkat(dirfd, name, flags) == 0 || errno == ENOENT)
		return 0;
	if (errno != EACCES || *chmodded || !(rm->flags & REMOVE_TREE_WRITABLE))
		return -1;
	*chmodded = true;
	if (fchmod(dirfd, 0700) < 0) {
		errno = EACCES;
		return -1;
	}
	return unlinkat(dirfd, name, flags) == 0 || errno == ENOENT ? 0 : -1;
}

static int rm_entry(const struct rm *rm, int dirfd, const char *name, unsigned char type,
		    bool *chmodded, struct skiff_error **err);

/* An error below dir: its message, "cannot VERB PATH" (every one made
 * here), names dir/PATH. */
static int rm_below(struct skiff_error **err, const char *dir)
{
	char *msg, *path;

	if (err == NULL || *err == NULL)
		return -1;
	msg = (*err)->msg;
	path = strncmp(msg, "cannot ", 7) == 0 ? strchr(msg + 7, ' ') : NULL;
	if (path == NULL)
		return skiff_error_prefix(err, "%s/", dir);
	path++;
	(*err)->msg = xasprintf("%.*s%s/%s", (int)(path - msg), msg, dir, path);
	free(msg);
	return -1;
}

static int rm_contents(const struct rm *rm, int fd, const char *name,
		       struct skiff_error **err)
{
	_cleanup_free_ char *buf = xmalloc(RM_BUF);
	bool chmodded = false;

	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, RM_BUF);

		if (n < 0)
			return skiff_error_set(err, errno, rm->id, "cannot list %s", name);
		if (n == 0)
			return 0;
		for (long off = 0; off < n;) {
			struct rm_dirent *de = (struct rm_dirent *)(buf + off);

			off += de->d_reclen;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (rm_entry(rm, fd, de->d_name, de->d_type, &chmodded, err) < 0)
				return rm_below(err, name);
		}
	}
}

/* name in dirfd, of type (DT_UNKNOWN: not known), and all under it. */
static int rm_entry(const struct rm *rm, int dirfd, const char *name, unsigned char type,
		    bool *chmodded, struct skiff_error **err)
{
	int fd, unlink_errno = 0, rc;

	if (type != DT_DIR) {
		if (rm_unlink(rm, dirfd, name, 0, chmodded) == 0)
			return 0;
		if (errno != EISDIR && errno != EPERM)
			return skiff_error_set(err, errno, rm->id, "cannot remove %s", name);
		unlink_errno = errno;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && (rm->flags & REMOVE_TREE_WRITABLE) &&
	    fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		/* Not a directory after all: replaced meanwhile (a directory
		 * entry), or one whose unlink was refused (EPERM). */
		if (errno == ENOTDIR || errno == ELOOP) {
			if (unlink_errno != 0)
				return skiff_error_set(err, unlink_errno, rm->id,
						       "cannot remove %s", name);
			if (rm_unlink(rm, dirfd, name, 0, chmodded) == 0)
				return 0;
			return skiff_error_set(err, errno, rm->id, "cannot remove %s", name);
		}
		return skiff_error_set(err, errno, rm->id, "cannot open %s", name);
	}
	rc = rm_contents(rm, fd, name, err);
	close(fd);
	if (rc < 0)
		return -1;
	if (rm_unlink(rm, dirfd, name, AT_REMOVEDIR, chmodded) < 0)
		return skiff_error_set(err, errno, rm->id, "cannot remove %s", name);
	return 0;
}

int remove_tree_as(int dirfd, const char *name, unsigned flags, const char *id,
		   struct skiff_error **err)
{
	const struct rm rm = { .flags = flags, .id = id };
	/* dirfd itself is never made writable. */
	bool chmodded = true;

	return rm_entry(&rm, dirfd, name, DT_UNKNOWN, &chmodded, err);
}

int remove_tree_at(int dirfd, const char *name, struct skiff_error **err)
{
	return remove_tree_as(dirfd, name, 0, "file.remove", err);
}

int mkdir_parents(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = xstrdup(path);

	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}
