/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Resolving paths inside a container's rootfs without leaving it.
 *
 * A rootfs is untrusted: a mount destination, a device path or the cwd may
 * cross a symlink that points at the host (CVE-2021-30465 and relatives).
 * Every lookup goes through openat2(RESOLVE_IN_ROOT), which treats the
 * rootfs fd as "/" for absolute symlinks and "..", or a careful walk where
 * openat2 is missing; callers then act on the returned fd, never on the
 * path string again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <skiff/sys.h>
#include <skiff/util.h>

#define MAX_SYMLINKS 40

/* Without openat2 (Linux < 5.6, or valgrind): walk one component at a
 * time with O_NOFOLLOW, read each symlink from the fd that names it, restart
 * absolute targets at the root and never let ".." climb above it. */
static int walk_in_root(int rootfd, const char *path, int flags, bool no_symlinks)
{
	_cleanup_free_ int *stack = NULL;
	_cleanup_free_ char *rest = xstrdup(path);
	size_t depth = 0, cap = 16;
	int links = 0, result = -1, saved;

	stack = xmalloc(cap * sizeof(int));
	stack[0] = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (stack[0] < 0)
		return -1;
	for (char *p = rest;;) {
		char target[PATH_MAX], *comp;
		struct stat st;
		size_t len;
		int fd;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		comp = p;
		len = strcspn(p, "/");
		p += len;
		if (*p != '\0')
			*p++ = '\0';
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		fd = openat(stack[depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			goto out;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
			char *next;

			close(fd);
			if (no_symlinks) {
				errno = ELOOP;
				goto out;
			}
			if (n < 0)
				goto out;
			if (++links > MAX_SYMLINKS) {
				errno = ELOOP;
				goto out;
			}
			target[n] = '\0';
			if (target[0] == '/')
				while (depth > 0)
					close(stack[depth--]);
			next = xasprintf("%s/%s", target, p);
			free(rest);
			rest = next;
			p = rest;
			continue;
		}
		if (depth + 1 == cap) {
			cap *= 2;
			stack = xrealloc(stack, cap * sizeof(int));
		}
		stack[++depth] = fd;
		if (*p != '\0' && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto out;
		}
	}
	if ((flags & O_PATH) != 0)
		result = fcntl(stack[depth], F_DUPFD_CLOEXEC, 3);
	else
		result = openat(stack[depth], ".", flags | O_CLOEXEC);
out:
	saved = errno;
	for (size_t i = 0; i <= depth; i++)
		close(stack[i]);
	errno = saved;
	return result;
}

static int openat2_in_root_how(int rootfd, const char *path, int flags, bool no_symlinks)
{
	static bool no_openat2;
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
			   (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
	};
	int fd;

	if (!no_openat2) {
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		if (fd >= 0 || errno != ENOSYS)
			return fd;
		no_openat2 = true;
	}
	return walk_in_root(rootfd, path, flags, no_symlinks);
}

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	return openat2_in_root_how(rootfd, path, flags, false);
}

int sys_open_in_root_nofollow(int rootfd, const char *path, struct skiff_error **err)
{
	int fd = openat2_in_root_how(rootfd, path, O_PATH, true);

	if (fd < 0)
		return skiff_error_set(err, errno, "rootfs.resolve",
				       errno == ELOOP ? "%s crosses a symlink inside the rootfs, where "
							 "none is allowed: make it a real path"
						      : "cannot resolve %s inside the rootfs", path);
	return fd;
}

const char *sys_fd_path(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

/* Creates the component NAME in the directory PARENTFD.  Returns 0 when it
 * was created or already exists as something that is not a symlink, 1 when
 * it is a symlink (the caller re-resolves through it), -1 on error. */
static int create_component(int parentfd, const char *name, bool last,
			    enum sys_create create, mode_t mode)
{
	struct stat st;
	int fd;

	if (!last || create == SYS_CREATE_DIR) {
		if (mkdirat(parentfd, name, last ? mode : 0755) == 0)
			return 0;
	} else {
		fd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, mode);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
	}
	if (errno != EEXIST)
		return -1;
	if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	return S_ISLNK(st.st_mode) ? 1 : 0;
}

/* The common case of a creation (a device node, /etc/hosts, /dev/shm):
 * only the last component is missing.  Its parent, resolved inside the
 * root, gets it, and the result is resolved from the root again.  -1
 * for anything else (a missing parent, a symlink as the last component,
 * a failure): the caller takes the walk, which says what went wrong. */
static int create_last_in_root(int rootfd, const char *path, enum sys_create create,
			       mode_t mode)
{
	const char *slash = strrchr(path, '/'), *name;
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int parentfd = -1;

	if (slash == NULL)
		return -1;
	name = slash + 1;
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -1;
	parent = slash == path ? xstrdup("/") : strndup(path, (size_t)(slash - path));
	if (parent == NULL)
		return -1;
	parentfd = openat2_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY);
	if (parentfd < 0 || create_component(parentfd, name, true, create, mode) != 0)
		return -1;
	return openat2_in_root(rootfd, path, O_PATH);
}

int sys_open_in_root(int rootfd, const char *path, enum sys_create create,
		     mode_t mode, struct skiff_error **err)
{
	_cleanup_free_ char *want = NULL;
	int fd, links = 0;

	fd = openat2_in_root(rootfd, path, O_PATH);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT || create == SYS_NO_CREATE)
		return skiff_error_set(err, errno, "rootfs.resolve",
				       "cannot resolve %s inside the rootfs", path);
	fd = create_last_in_root(rootfd, path, create, mode);
	if (fd >= 0)
		return fd;

	/* Walk from the root creating what is missing.  Each prefix is resolved
	 * from the root again, so a symlink anywhere stays confined. */
	want = xstrdup(path);
restart:
	{
		_cleanup_free_ char *prefix = xzalloc(strlen(want) + 2);
		const char *p = want;

		for (;;) {
			_cleanup_close_ int parentfd = -1;
			char target[PATH_MAX], *name;
			size_t plen;
			ssize_t n;
			bool last;
			int r;

			while (*p == '/')
				p++;
			if (*p == '\0')
				break;
			plen = strcspn(p, "/");
			parentfd = openat2_in_root(rootfd, *prefix ? prefix : "/",
						   O_RDONLY | O_DIRECTORY);
			if (parentfd < 0)
				return skiff_error_set(err, errno, "rootfs.resolve",
						       "cannot resolve %s inside the rootfs (at %s)",
						       path, *prefix ? prefix : "/");
			name = prefix + strlen(prefix) + 1;
			strcat(prefix, "/");
			strncat(prefix, p, plen);
			p += plen;
			last = p[strspn(p, "/")] == '\0';

			fd = openat2_in_root(rootfd, prefix, O_PATH);
			if (fd >= 0) {
				close(fd);
				continue;
			}
			if (errno != ENOENT)
				return skiff_error_set(err, errno, "rootfs.resolve",
						       "cannot resolve %s inside the rootfs", prefix);
			r = create_component(parentfd, name, last, create, mode);
			if (r < 0)
				return skiff_error_set(err, errno, "rootfs.create",
						       "cannot create %s inside the rootfs", prefix);
			if (r == 0)
				continue;
			/* A dangling symlink: follow it, inside the root. */
			if (++links > MAX_SYMLINKS)
				return skiff_error_set(err, ELOOP, "rootfs.resolve",
						       "cannot resolve %s inside the rootfs", path);
			n = readlinkat(parentfd, name, target, sizeof(target) - 1);
			if (n < 0)
				return skiff_error_set(err, errno, "rootfs.resolve",
						       "cannot read the symlink %s", prefix);
			target[n] = '\0';
			name[-1] = '\0';
			{
				/* No "/" after a last component: a file made
				 * through the link must not resolve as "file/". */
				const char *sep = *p != '\0' ? "/" : "";
				char *next = target[0] == '/'
					? xasprintf("%s%s%s", target, sep, p)
					: xasprintf("%s/%s%s%s", prefix, target, sep, p);

				free(want);
				want = next;
			}
			goto restart;
		}
	}
	fd = openat2_in_root(rootfd, want, O_PATH);
	if (fd < 0)
		return skiff_error_set(err, errno, "rootfs.resolve",
				       "cannot resolve %s inside the rootfs", path);
	return fd;
}
