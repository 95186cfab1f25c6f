/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

static int remove_dir_contents(int dfd, const char *name, struct skiff_error **err)
{
	_cleanup_closedir_ DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (d == NULL) {
		close(dfd);
		return skiff_error_set(err, errno, "file.remove", "cannot list %s", name);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_tree_at(dirfd(d), de->d_name, err) < 0)
			return -1;
	}
	return 0;
}

int remove_tree_at(int dirfd, const char *name, struct skiff_error **err)
{
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return skiff_error_set(err, errno, "file.remove", "cannot remove %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return skiff_error_set(err, errno, "file.remove", "cannot open %s", name);
	if (remove_dir_contents(fd, name, err) < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return skiff_error_set(err, errno, "file.remove", "cannot remove %s", name);
	return 0;
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
