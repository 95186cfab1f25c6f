/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Flattening a stored image: its layer trees applied in order into one new
 * directory, for hosts where the layers cannot be stacked with overlayfs
 * (no rootless overlay, a filesystem overlayfs refuses as upper).
 *
 * Each layer directory is in overlayfs form (unpack.c): a whiteout is a 0/0
 * character device, or, where those could not be made, an empty file with
 * the overlay.whiteout xattr in a directory whose overlay.opaque is "x"; a
 * directory whose overlay.opaque is "y" hides what lower layers had there.
 * Applying a layer does what overlayfs shows: a whiteout removes the name,
 * an opaque directory replaces the lower one, a directory over a directory
 * merges, anything else replaces what was there.
 *
 * The destination is as hostile as the layers: a lower layer's symlink
 * "etc -> /" must not carry an upper layer's etc/passwd out of it.  Every
 * name is created relative to an fd of its parent, which was opened one
 * component at a time with O_NOFOLLOW; what exists is looked at with
 * AT_SYMLINK_NOFOLLOW and replaced, never followed; metadata goes through
 * fds of what we created or *at calls that do not follow.
 *
 * The work runs as the store's owner (store_run_as_owner): in the range
 * mode inside the user namespace that unpacked the layers, so the copies
 * get the same real owners. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/image-internal.h"

struct final_dir {
	char *path;                      /* "" for the destination itself */
	size_t seq;                      /* later layers win */
	mode_t mode;
	struct timespec times[2];
};

/* A file of the current layer with more than one link, and where its
 * first name went in the destination. */
struct seen_inode {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct flatten {
	struct image_store *s;
	const char *image, *dest;
	char **diff_ids;
	int destfd;
	const char *layer;               /* the diff_id being applied */
	const char *opaque_xattr, *whiteout_xattr;
	struct final_dir *dirs;
	size_t n_dirs;
	struct seen_inode *inodes;
	size_t n_inodes;
	struct skiff_error **err;
	struct flatten_result {
		unsigned xattrs_skipped;
	} res;
};

static int flatten_error(struct flatten *f, int errnum, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Names the image, the layer and the path in the destination. */
static int flatten_error(struct flatten *f, int errnum, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	return skiff_error_set(f->err, errnum, "image.flatten.write",
			       "flattening %s into %s: layer %s: \"/%s\": %s", f->image, f->dest,
			       f->layer, path, msg);
}

static char *join(const char *parent, const char *name)
{
	return *parent ? xasprintf("%s/%s", parent, name) : xstrdup(name);
}

/* Opens the directory PATH of the destination one component at a time,
 * following no symlink.  -1 with errno when it is not there (any more). */
static int open_dest_dir(struct flatten *f, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	_cleanup_close_ int cur = fcntl(f->destfd, F_DUPFD_CLOEXEC, 3);
	char *save = NULL;

	for (char *c = strtok_r(copy, "/", &save); c && cur >= 0; c = strtok_r(NULL, "/", &save)) {
		int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		close(cur);
		cur = next;
	}
	return steal_fd(&cur);
}

/* ---- metadata ------------------------------------------------------------------ */

static bool xattr_copied(const char *name)
{
	/* The overlay ones are this store's bookkeeping, not the image's. */
	return !(strstr(name, "overlay.") != NULL &&
		 (strncmp(name, "trusted.", 8) == 0 || strncmp(name, "user.", 5) == 0));
}

/* xattr names of fd ("" separated), or NULL when it has none. */
static char *list_xattrs(int fd, ssize_t *len)
{
	char *names = NULL;

	for (;;) {
		ssize_t n = flistxattr(fd, NULL, 0);

		if (n <= 0) {
			*len = 0;
			return NULL;
		}
		names = xrealloc(names, (size_t)n);
		*len = flistxattr(fd, names, (size_t)n);
		if (*len >= 0)
			return names;
		if (errno != ERANGE) {
			free(names);
			*len = 0;
			return NULL;
		}
	}
}

/* Makes dst's copyable xattrs those of src (a directory merged over a lower
 * one shows the upper's). */
static void copy_xattrs(struct flatten *f, int src, int dst, bool clear)
{
	ssize_t len;
	_cleanup_free_ char *old = clear ? list_xattrs(dst, &len) : NULL;
	_cleanup_free_ char *names = NULL;

	for (char *n = old; n && n < old + len; n += strlen(n) + 1)
		if (xattr_copied(n))
			fremovexattr(dst, n);
	names = list_xattrs(src, &len);
	for (char *n = names; n && n < names + len; n += strlen(n) + 1) {
		_cleanup_free_ char *value = NULL;
		ssize_t vlen;

		if (!xattr_copied(n))
			continue;
		vlen = fgetxattr(src, n, NULL, 0);
		if (vlen >= 0) {
			value = xzalloc((size_t)vlen + 1);
			vlen = fgetxattr(src, n, value, (size_t)vlen);
		}
		if (vlen < 0 || fsetxattr(dst, n, value, (size_t)vlen, 0) < 0)
			f->res.xattrs_skipped++;
	}
}

/* chown before chmod: chown clears setuid and setgid.  In the single-id
 * mode everything is the user's already. */
static int fd_owner(struct flatten *f, int fd, const struct stat *st, const char *path)
{
	if (f->s->owners != STORE_OWNERS_SINGLE && fchown(fd, st->st_uid, st->st_gid) < 0)
		return flatten_error(f, errno, path, "cannot set the owner %u:%u",
				     st->st_uid, st->st_gid);
	return 0;
}

static int at_metadata(struct flatten *f, int dirfd, const char *name, const struct stat *st,
		       const char *path)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };

	if (f->s->owners != STORE_OWNERS_SINGLE &&
	    fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return flatten_error(f, errno, path, "cannot set the owner %u:%u",
				     st->st_uid, st->st_gid);
	/* What mknodat just made cannot have become a symlink: only this
	 * process writes the destination. */
	if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0)
		return flatten_error(f, errno, path, "cannot set the mode");
	if (utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		return flatten_error(f, errno, path, "cannot set the times");
	return 0;
}

static void defer_dir(struct flatten *f, const char *path, const struct stat *st)
{
	struct final_dir *d;

	f->dirs = xrealloc(f->dirs, (f->n_dirs + 1) * sizeof(*f->dirs));
	d = &f->dirs[f->n_dirs];
	d->path = xstrdup(path);
	d->seq = f->n_dirs++;
	d->mode = st->st_mode & 07777;
	d->times[0] = st->st_atim;
	d->times[1] = st->st_mtim;
}

static int cmp_final_dir(const void *a, const void *b)
{
	const struct final_dir *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->seq < y->seq ? -1 : 1;
}

/* Directory modes and times last: children change a directory's mtime,
 * and a read-only directory of a lower layer may get children from an
 * upper one.  Each path's last layer wins; a parent's path sorts before
 * its children's, so going down the sorted list does children first. */
static int finish_dirs(struct flatten *f)
{
	const char *done = NULL;

	qsort(f->dirs, f->n_dirs, sizeof(*f->dirs), cmp_final_dir);
	for (size_t i = f->n_dirs; i-- > 0;) {
		struct final_dir *d = &f->dirs[i];
		_cleanup_close_ int fd = -1;

		if (done != NULL && strcmp(done, d->path) == 0)
			continue;
		done = d->path;
		fd = open_dest_dir(f, d->path);
		if (fd < 0)
			continue;        /* removed or replaced by a later layer */
		if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0)
			return flatten_error(f, errno, d->path,
					     "cannot set the mode or times of the directory");
	}
	return 0;
}

/* ---- entries -------------------------------------------------------------------- */

static int remove_name(struct flatten *f, int dirfd, const char *name, const char *path)
{
	struct skiff_error *e = NULL;

	if (store_rm_rf_at(dirfd, name, &e) < 0) {
		flatten_error(f, e->errnum, path, "cannot remove what a lower layer had: %s", e->msg);
		skiff_error_free(e);
		return -1;
	}
	return 0;
}

static bool is_whiteout(struct flatten *f, int srcdir, const char *name, const struct stat *st,
			bool xattr_whiteouts)
{
	_cleanup_close_ int fd = -1;

	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return true;
	if (!xattr_whiteouts || !S_ISREG(st->st_mode) || st->st_size != 0)
		return false;
	fd = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	return fd >= 0 && fgetxattr(fd, f->whiteout_xattr, NULL, 0) >= 0;
}

/* "y": opaque; "x": holds xattr whiteouts; "": neither. */
static char opaque_value(struct flatten *f, int fd)
{
	char v[2] = { 0 };

	if (fgetxattr(fd, f->opaque_xattr, v, 1) != 1)
		return '\0';
	return v[0];
}

/* Data by reflink where the filesystem shares extents, else by
 * copy_file_range (in-kernel, server-side on NFS), else read and write. */
static int copy_data(int in, int out, off_t size)
{
	off_t left = size;
	char buf[64 * 1024];

	if (size == 0 || ioctl(out, FICLONE, in) == 0)
		return 0;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		left -= n;
	}
	if (left == 0)
		return 0;
	if (lseek(in, size - left, SEEK_SET) < 0 || lseek(out, size - left, SEEK_SET) < 0)
		return -1;
	while (left > 0) {
		ssize_t r = read(in, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (errno = EIO, -1);
		if (write_all(out, buf, (size_t)r) < 0)
			return -1;
		left -= r;
	}
	return 0;
}

static int copy_file(struct flatten *f, int srcdir, int dstdir, const char *name,
		     const struct stat *st, const char *path)
{
	_cleanup_close_ int in = openat(srcdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	struct timespec t[2] = { st->st_atim, st->st_mtim };

	if (in < 0)
		return flatten_error(f, errno, path, "cannot open it in the layer");
	out = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return flatten_error(f, errno, path, "cannot create the file");
	if (copy_data(in, out, st->st_size) < 0)
		return flatten_error(f, errno, path, "cannot copy the data");
	if (fd_owner(f, out, st, path) < 0)
		return -1;
	copy_xattrs(f, in, out, false);
	if (fchmod(out, st->st_mode & 07777) < 0 || futimens(out, t) < 0)
		return flatten_error(f, errno, path, "cannot set the mode or times");
	return 0;
}

/* A second name of an inode of this layer: a link to where its first
 * name went (reached again without following symlinks). */
static int link_again(struct flatten *f, const struct seen_inode *first, int dstdir,
		      const char *name, const char *path)
{
	_cleanup_free_ char *copy = xstrdup(first->path);
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	_cleanup_close_ int pfd = -1;

	if (slash)
		*slash = '\0';
	pfd = open_dest_dir(f, slash ? copy : "");
	if (pfd < 0 || linkat(pfd, base, dstdir, name, 0) < 0)
		return flatten_error(f, errno, path, "cannot link it to \"/%s\"", first->path);
	return 0;
}

static int apply_dir(struct flatten *f, int srcdir, int dstdir, const char *rel);

static int apply_subdir(struct flatten *f, int srcdir, int dstdir, const char *name,
			const struct stat *st, const char *path)
{
	_cleanup_close_ int src = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int dst = -1;
	struct stat dt;
	bool merge = false;
	char opaque;

	if (src < 0)
		return flatten_error(f, errno, path, "cannot open the directory in the layer");
	opaque = opaque_value(f, src);
	if (fstatat(dstdir, name, &dt, AT_SYMLINK_NOFOLLOW) == 0) {
		/* A symlink of a lower layer is replaced, never gone through. */
		merge = S_ISDIR(dt.st_mode) && opaque != 'y';
		if (!merge && remove_name(f, dstdir, name, path) < 0)
			return -1;
	} else if (errno != ENOENT) {
		return flatten_error(f, errno, path, "cannot stat it");
	}
	/* Writable by us until finish_dirs, whatever its final mode. */
	if (!merge && mkdirat(dstdir, name, 0700) < 0)
		return flatten_error(f, errno, path, "cannot create the directory");
	dst = openat(dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return flatten_error(f, errno, path, "cannot open the directory");
	if (merge && fchmod(dst, 0700) < 0)
		return flatten_error(f, errno, path, "cannot make the directory writable");
	if (fd_owner(f, dst, st, path) < 0)
		return -1;
	copy_xattrs(f, src, dst, merge);
	defer_dir(f, path, st);
	return apply_dir(f, src, dst, path);
}

static int apply_entry(struct flatten *f, int srcdir, int dstdir, const char *name,
		       const char *path, bool xattr_whiteouts)
{
	struct stat st;
	struct seen_inode *first = NULL;

	if (fstatat(srcdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return flatten_error(f, errno, path, "cannot stat it in the layer");
	if (is_whiteout(f, srcdir, name, &st, xattr_whiteouts))
		return remove_name(f, dstdir, name, path);
	if (S_ISDIR(st.st_mode))
		return apply_subdir(f, srcdir, dstdir, name, &st, path);
	if (S_ISSOCK(st.st_mode))
		return 0;
	if (remove_name(f, dstdir, name, path) < 0)
		return -1;
	if (st.st_nlink > 1) {
		for (size_t i = 0; i < f->n_inodes && first == NULL; i++)
			if (f->inodes[i].dev == st.st_dev && f->inodes[i].ino == st.st_ino)
				first = &f->inodes[i];
		if (first != NULL)
			return link_again(f, first, dstdir, name, path);
		f->inodes = xrealloc(f->inodes, (f->n_inodes + 1) * sizeof(*f->inodes));
		f->inodes[f->n_inodes++] = (struct seen_inode){ st.st_dev, st.st_ino, xstrdup(path) };
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return copy_file(f, srcdir, dstdir, name, &st, path);
	case S_IFLNK: {
		_cleanup_free_ char *target = xzalloc((size_t)st.st_size + 2);
		ssize_t n = readlinkat(srcdir, name, target, (size_t)st.st_size + 1);

		if (n < 0 || n > st.st_size)
			return flatten_error(f, n < 0 ? errno : 0, path, "cannot read the symlink");
		/* Only data: never followed here. */
		if (symlinkat(target, dstdir, name) < 0)
			return flatten_error(f, errno, path, "cannot create the symlink");
		return at_metadata(f, dstdir, name, &st, path);
	}
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
		if (mknodat(dstdir, name, (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0)
			return flatten_error(f, errno, path, "cannot create the node");
		return at_metadata(f, dstdir, name, &st, path);
	}
	return flatten_error(f, 0, path, "unknown file type 0%o", st.st_mode & S_IFMT);
}

static int apply_dir(struct flatten *f, int srcdir, int dstdir, const char *rel)
{
	int fd = fcntl(srcdir, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char opaque = opaque_value(f, srcdir);
	/* An opaque directory may hold xattr whiteouts too (unpack.c keeps
	 * its "y"); removing under it is a no-op then, never a stray file. */
	bool xattr_whiteouts = opaque == 'x' || opaque == 'y';
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return flatten_error(f, errno, rel, "cannot list the directory in the layer");
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		_cleanup_free_ char *path = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		path = join(rel, de->d_name);
		if (apply_entry(f, srcdir, dstdir, de->d_name, path, xattr_whiteouts) < 0)
			return -1;
	}
	if (errno != 0)
		return flatten_error(f, errno, rel, "cannot list the directory in the layer");
	return 0;
}

static int apply_layer(struct flatten *f, const char *diff_id)
{
	_cleanup_free_ char *dir = xasprintf(STORE_LAYERS "/%s/diff", digest_hex(diff_id));
	_cleanup_close_ int src = openat(f->s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					 O_CLOEXEC);
	struct stat st;
	int rc;

	f->layer = diff_id;
	if (src < 0 || fstat(src, &st) < 0)
		return skiff_error_set(f->err, errno, "image.store.missing",
				       "the layer %s is missing from the store %s: pull the image "
				       "again", diff_id, f->s->path);
	/* The layer root describes the image's "/". */
	if (fd_owner(f, f->destfd, &st, "") < 0)
		return -1;
	copy_xattrs(f, src, f->destfd, true);
	defer_dir(f, "", &st);
	rc = apply_dir(f, src, f->destfd, "");
	for (size_t i = 0; i < f->n_inodes; i++)
		free(f->inodes[i].path);
	free(f->inodes);
	f->inodes = NULL;
	f->n_inodes = 0;
	return rc;
}

/* ---- the destination ---------------------------------------------------------- */

static bool dir_is_empty(int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	_cleanup_closedir_ DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (dup >= 0)
			close(dup);
		return false;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return false;
	return true;
}

/* Removes what we made in the destination: all of it when we created it,
 * its contents when it was an empty directory we were given. */
static void undo(struct flatten *f, bool created)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (created) {
		store_rm_rf_at(AT_FDCWD, f->dest, NULL);
		return;
	}
	fd = fcntl(f->destfd, F_DUPFD_CLOEXEC, 3);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			store_rm_rf_at(f->destfd, de->d_name, NULL);
}

/* In the single-id mode the layers are the user's, but a file of mode 0000
 * (RHEL's /etc/shadow) cannot be read even by its owner.  Root of a user
 * namespace that maps only the user overrides permissions on the user's
 * files (CAP_DAC_OVERRIDE there); without user namespaces we go on as we
 * are, and such a file is an error. */
static void own_files_as_root(void)
{
	_cleanup_free_ char *umap = xasprintf("0 %u 1", getuid());
	_cleanup_free_ char *gmap = xasprintf("0 %u 1", getgid());

	if (unshare(CLONE_NEWUSER) < 0)
		return;
	if (write_file_at(AT_FDCWD, "/proc/self/setgroups", "deny", NULL) < 0 ||
	    write_file_at(AT_FDCWD, "/proc/self/uid_map", umap, NULL) < 0 ||
	    write_file_at(AT_FDCWD, "/proc/self/gid_map", gmap, NULL) < 0)
		log_debug("flatten: no id map in the user namespace; going on without");
}

static int flatten_as_owner(struct image_store *s, void *arg, void *out,
			    struct skiff_error **err)
{
	struct flatten *f = arg;
	bool created = false;
	int rc = 0;

	(void)s;
	f->err = err;
	if (s->owners == STORE_OWNERS_SINGLE)
		own_files_as_root();
	if (mkdir(f->dest, 0700) == 0)
		created = true;
	else if (errno != EEXIST)
		return skiff_error_set(err, errno, "image.flatten.dest",
				       "cannot create the directory %s to flatten %s into: check "
				       "that its parent exists and is writable", f->dest, f->image);
	f->destfd = open(f->dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->destfd < 0) {
		int e = errno;

		if (created)
			rmdir(f->dest);
		return skiff_error_set(err, e, e == ENOTDIR ? "image.flatten.dest_not_empty"
				       : "image.flatten.dest", "cannot open %s to flatten %s into%s",
				       f->dest, f->image, e == ENOTDIR ? ": it is not a directory" : "");
	}
	if (!created && !dir_is_empty(f->destfd)) {
		close(f->destfd);
		return skiff_error_set(err, ENOTEMPTY, "image.flatten.dest_not_empty",
				       "%s exists and is not empty: flatten %s into a new or an "
				       "empty directory", f->dest, f->image);
	}
	for (size_t i = 0; f->diff_ids[i] && rc == 0; i++)
		rc = apply_layer(f, f->diff_ids[i]);
	if (rc == 0)
		rc = finish_dirs(f);
	if (rc < 0)
		undo(f, created);
	close(f->destfd);
	for (size_t i = 0; i < f->n_dirs; i++)
		free(f->dirs[i].path);
	free(f->dirs);
	memcpy(out, &f->res, sizeof(f->res));
	return rc;
}

int image_flatten(struct image_store *s, const char *image, const char *dest,
		  struct skiff_error **err)
{
	_cleanup_strv_ char **diff_ids = NULL;
	_cleanup_free_ char *name = NULL;
	struct flatten f = {
		.s = s, .dest = dest, .destfd = -1,
		.opaque_xattr = s->owners == STORE_OWNERS_ROOT ? "trusted.overlay.opaque"
							       : "user.overlay.opaque",
		.whiteout_xattr = s->owners == STORE_OWNERS_ROOT ? "trusted.overlay.whiteout"
								 : "user.overlay.whiteout",
	};
	struct flatten_result res = { 0 };
	int rc;

	if (dest == NULL || *dest == '\0')
		return skiff_error_set(err, 0, "image.flatten.dest",
				       "no directory to flatten %s into was given", image);
	if (store_image_layers(s, image, &name, &diff_ids, err) < 0)
		return -1;
	f.image = name;
	f.diff_ids = diff_ids;
	rc = store_run_as_owner(s, flatten_as_owner, &f, &res, sizeof(res), err);
	if (rc == 0 && res.xattrs_skipped)
		log_debug("%s: %u extended attributes not kept in %s", name, res.xattrs_skipped,
			  dest);
	return rc;
}
