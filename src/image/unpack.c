/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unpacking a layer into a directory in overlayfs format.
 *
 * The blob streams through two libarchive readers: the first only
 * decompresses (gzip, zstd, or nothing) and sees the compressed bytes, which
 * are digested; the second parses the tar from the first's output, which is
 * digested too (the diff_id).  No compressed copy is written.  The first
 * runs in a thread of its own, a few blocks ahead of the second, as
 * `gzip -d | tar -x` runs in two processes: decompressing and digesting
 * take about as long as creating the files.
 *
 * A layer is hostile until proven otherwise.  We do not use
 * archive_write_disk: every entry is created relative to the layer's
 * directory fd, one component at a time with O_NOFOLLOW, so no symlink of an
 * earlier entry can redirect a later one (the umoci CVE-2021-29136 family:
 * "a/../..", "/etc", "link/x" with link -> /, a hardlink to /etc/shadow, a
 * "." entry that is a symlink).  Metadata is applied through fds of what we
 * created, or with AT_SYMLINK_NOFOLLOW, never through a path a later entry
 * could have changed.  The work happens in tmp/ and is renamed into
 * layers/ only after both digests match. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/image-internal.h"

/* The decompressor thread's output: blocks of the tar stream.  len 0 is
 * its end, -1 a failure (errnum, msg, id). */
#define RING_SLOTS 8
#define SLOT_SIZE (128u << 10)

struct slot {
	ssize_t len;
	char buf[SLOT_SIZE];
};

struct ring {
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct slot *slots;
	unsigned head, tail;             /* the next to read, the next to fill */
	bool holding;                    /* the tar reader has slots[head] */
	bool stop;                       /* the tar side failed: stop decompressing */
	int stop_pipe[2];                /* wakes the thread waiting for the fetch */
	bool running;
	pthread_t thread;
	int errnum;
	const char *id;
	char *msg;
};

struct deferred_dir {
	char *path;                      /* "" for the layer root */
	mode_t mode;
	struct timespec times[2];
};

struct unpack {
	struct image_store *s;
	struct layer_job *job;
	struct layer_result *res;
	struct skiff_error **err;
	int rootfd;
	struct archive *raw, *tar;
	struct ring ring;
	struct digester *cdig, *udig;
	uint64_t csize, usize;
	const char *entry;               /* the entry being unpacked, for errors */
	/* The directories open_dir walked last, outermost first: each an fd
	 * opened from the one before (the layer root for the first) without
	 * following a symlink, and its name. */
	struct open_level {
		char *name;
		int fd;
	} *levels;
	size_t n_levels, max_levels;
	struct deferred_dir *dirs;
	size_t n_dirs;
	const char *opaque_xattr;
	uid_t self_uid;                  /* what a new file is owned by: no chown */
	gid_t self_gid;
	char cbuf[128 * 1024];
};

static int layer_error(struct unpack *u, int errnum, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The message names the layer and, when there is one, the entry. */
static int layer_error(struct unpack *u, int errnum, const char *id, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	/* libarchive reports -1 where it has no errno. */
	errnum = errnum > 0 ? errnum : 0;
	if (u->entry != NULL)
		return skiff_error_set(u->err, errnum, id, "%s: entry \"%s\": %s", u->job->what,
				       u->entry, msg);
	return skiff_error_set(u->err, errnum, id, "%s: %s", u->job->what, msg);
}

/* ---- the two readers ---------------------------------------------------------- */

/* The next bytes of the blob.  A growing blob is read where the last read
 * ended; at its current end, this waits for the fetch's next byte on
 * notify_fd, and when the fetch closed that, what the file has is all. */
static ssize_t blob_read(struct unpack *u, void *buf, size_t len)
{
	struct layer_job *j = u->job;

	for (;;) {
		ssize_t r, n;
		char t[512];

		if (!j->growing)
			r = read(j->fd, buf, len);
		else if (j->size != 0 && u->csize >= j->size)
			r = 0;                   /* all there: no wait for the close */
		else
			r = pread(j->fd, buf, len, (off_t)u->csize);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0 || !j->growing || j->notify_fd < 0 ||
		    (j->size != 0 && u->csize >= j->size))
			return r;
		if (u->ring.stop_pipe[0] >= 0) {
			struct pollfd p[2] = { { .fd = j->notify_fd, .events = POLLIN },
					       { .fd = u->ring.stop_pipe[0], .events = POLLIN } };

			if (poll(p, 2, -1) < 0)
				continue;
			if (p[1].revents) {
				errno = ECANCELED;
				return -1;
			}
		}
		n = read(j->notify_fd, t, sizeof(t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The transfer ended: one more read takes what came last. */
			close(j->notify_fd);
			j->notify_fd = -1;
		}
	}
}

static ssize_t raw_read(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;

	for (;;) {
		ssize_t r = blob_read(u, u->cbuf, sizeof(u->cbuf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			archive_set_error(a, errno, "cannot read the blob");
			return -1;
		}
		digester_update(u->cdig, u->cbuf, (size_t)r);
		u->csize += (uint64_t)r;
		*buf = u->cbuf;
		return r;
	}
}

/* The decompressor thread: fills the ring's slots with the tar stream,
 * digesting it, until its end or a failure; then reads what the
 * decompressor left of the blob, so that the blob's digest covers it all. */
static void *decompress_main(void *data)
{
	struct unpack *u = data;
	struct ring *rg = &u->ring;

	for (;;) {
		struct slot *sl;
		la_ssize_t r;

		pthread_mutex_lock(&rg->lock);
		while (rg->tail - rg->head == RING_SLOTS && !rg->stop)
			pthread_cond_wait(&rg->emptied, &rg->lock);
		sl = rg->stop ? NULL : &rg->slots[rg->tail % RING_SLOTS];
		pthread_mutex_unlock(&rg->lock);
		if (sl == NULL)
			return NULL;
		r = archive_read_data(u->raw, sl->buf, SLOT_SIZE);
		if (r > 0) {
			digester_update(u->udig, sl->buf, (size_t)r);
			u->usize += (uint64_t)r;
		} else if (r < 0) {
			rg->errnum = archive_errno(u->raw);
			rg->id = "image.layer.malformed";
			rg->msg = xasprintf("cannot decompress: %s", archive_error_string(u->raw));
			r = -1;
		} else {
			for (;;) {
				const void *b;
				ssize_t n = raw_read(u->raw, u, &b);

				if (n == 0)
					break;
				if (n < 0) {
					rg->errnum = errno;
					rg->id = "image.read";
					rg->msg = xstrdup("cannot read the blob");
					r = -1;
					break;
				}
			}
		}
		sl->len = r;
		pthread_mutex_lock(&rg->lock);
		rg->tail++;
		pthread_cond_signal(&rg->filled);
		pthread_mutex_unlock(&rg->lock);
		if (r <= 0)
			return NULL;
	}
}

/* The tar reader's input: the next slot the decompressor filled (the one
 * before goes back to it: libarchive is done with a block at the next
 * read).  The last slot, the end or a failure, is never given back. */
static ssize_t tar_read(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;
	struct ring *rg = &u->ring;
	struct slot *sl;

	pthread_mutex_lock(&rg->lock);
	if (rg->holding) {
		rg->holding = false;
		rg->head++;
		pthread_cond_signal(&rg->emptied);
	}
	while (rg->head == rg->tail)
		pthread_cond_wait(&rg->filled, &rg->lock);
	sl = &rg->slots[rg->head % RING_SLOTS];
	rg->holding = sl->len > 0;
	pthread_mutex_unlock(&rg->lock);
	if (sl->len < 0) {
		archive_set_error(a, rg->errnum, "%s", rg->msg);
		return -1;
	}
	*buf = sl->buf;
	return sl->len;
}

/* Stops the decompressor (when the tar side failed) and waits for it. */
static void ring_stop(struct unpack *u)
{
	struct ring *rg = &u->ring;

	if (!rg->running)
		return;
	pthread_mutex_lock(&rg->lock);
	rg->stop = true;
	pthread_cond_signal(&rg->emptied);
	pthread_mutex_unlock(&rg->lock);
	if (write(rg->stop_pipe[1], "", 1) < 0)
		abort();                 /* a fresh pipe with room: cannot happen */
	pthread_join(rg->thread, NULL);
	rg->running = false;
	close(rg->stop_pipe[0]);
	close(rg->stop_pipe[1]);
	rg->stop_pipe[0] = rg->stop_pipe[1] = -1;
}

static int ring_start(struct unpack *u)
{
	struct ring *rg = &u->ring;
	int r;

	rg->slots = xmalloc(RING_SLOTS * sizeof(*rg->slots));
	if (pipe2(rg->stop_pipe, O_CLOEXEC) < 0)
		return layer_error(u, errno, "image.unpack.process", "cannot make a pipe");
	pthread_mutex_init(&rg->lock, NULL);
	pthread_cond_init(&rg->filled, NULL);
	pthread_cond_init(&rg->emptied, NULL);
	r = pthread_create(&rg->thread, NULL, decompress_main, u);
	if (r != 0)
		return layer_error(u, r, "image.unpack.process",
				   "cannot start the decompressing thread");
	rg->running = true;
	return 0;
}

static int open_readers(struct unpack *u)
{
	struct archive_entry *e;

	u->raw = archive_read_new();
	u->tar = archive_read_new();
	/* Only the compressions layers use: filter_all would also run external
	 * programs (lzop, grzip) on whatever a hostile blob looks like. */
	archive_read_support_filter_gzip(u->raw);
	archive_read_support_filter_zstd(u->raw);
	archive_read_support_format_raw(u->raw);
	if (archive_read_open(u->raw, u, NULL, raw_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(u->raw, &e) != ARCHIVE_OK)
		return layer_error(u, archive_errno(u->raw), "image.layer.malformed",
				   "cannot read the blob: %s", archive_error_string(u->raw));
	/* From here u->raw, cdig, udig, csize and usize are the thread's
	 * until ring_stop or the end it reports. */
	if (ring_start(u) < 0)
		return -1;
	archive_read_support_format_tar(u->tar);
	if (archive_read_open(u->tar, u, NULL, tar_read, NULL) != ARCHIVE_OK)
		return layer_error(u, 0, "image.layer.malformed", "not a tar archive: %s",
				   archive_error_string(u->tar));
	return 0;
}

/* Reads what the tar reader left (padding after the end marker) to the
 * end the decompressor reports, having read the rest of the blob: both
 * digests cover everything. */
static int drain(struct unpack *u)
{
	const void *b;

	for (;;) {
		ssize_t r = tar_read(u->tar, u, &b);

		if (r < 0)
			return layer_error(u, u->ring.errnum, u->ring.id, "%s", u->ring.msg);
		if (r == 0)
			break;
	}
	/* The thread ended after the end it reported. */
	pthread_join(u->ring.thread, NULL);
	u->ring.running = false;
	return 0;
}

/* ---- paths ---------------------------------------------------------------------- */

/* Normalizes an entry name into components joined by '/': "./a//b/" is
 * "a/b", "." is "".  Absolute names and ".." are refused, not rewritten: a
 * layer that has them was made to escape. */
static int clean_path(struct unpack *u, const char *in, char **out)
{
	_cleanup_free_ char *copy = xstrdup(in), *res = xzalloc(strlen(in) + 1);
	char *save = NULL;

	if (in[0] == '/')
		return layer_error(u, 0, "image.layer.unsafe_path",
				   "an absolute path leaves the layer");
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			return layer_error(u, 0, "image.layer.unsafe_path",
					   "\"..\" would leave the layer");
		if (*res)
			strcat(res, "/");
		strcat(res, c);
	}
	*out = steal_pointer(&res);
	return 0;
}

/* Closes the levels from depth keep on. */
static void drop_levels(struct unpack *u, size_t keep)
{
	while (u->n_levels > keep) {
		struct open_level *l = &u->levels[--u->n_levels];

		free(l->name);
		close(l->fd);
	}
}

static int top_fd(struct unpack *u)
{
	return u->n_levels ? u->levels[u->n_levels - 1].fd : u->rootfd;
}

/* Opens the directory PATH of the layer, one component at a time without
 * following symlinks; missing components are created (tar may omit
 * parents) when create is set.  The walk starts from the deepest level
 * of the last walk that is on PATH, so the files of one directory and of
 * its subdirectories cost no walk.  Returns a borrowed fd, valid until the
 * next open_dir or drop_levels. */
static int open_dir(struct unpack *u, const char *path, bool create)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL, *c = strtok_r(copy, "/", &save);
	size_t depth = 0;

	while (c && depth < u->n_levels && strcmp(u->levels[depth].name, c) == 0) {
		depth++;
		c = strtok_r(NULL, "/", &save);
	}
	drop_levels(u, depth);
	for (; c; c = strtok_r(NULL, "/", &save)) {
		int cur = top_fd(u);
		int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;

		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
				return layer_error(u, errno, "image.layer.write",
						   "cannot create the directory \"%s\"", c);
			next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int e = errno;

			if (fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				return layer_error(u, 0, "image.layer.unsafe_path",
						   "the path goes through the symlink \"%s\" of an "
						   "earlier entry", c);
			if (e == ENOTDIR)
				return layer_error(u, e, "image.layer.malformed",
						   "\"%s\" on the path is not a directory", c);
			return layer_error(u, e, e == ENOENT ? "image.layer.malformed"
						: "image.layer.write", "cannot open \"%s\"", c);
		}
		if (u->n_levels == u->max_levels) {
			u->max_levels = u->max_levels ? 2 * u->max_levels : 16;
			u->levels = xrealloc(u->levels, u->max_levels * sizeof(*u->levels));
		}
		u->levels[u->n_levels++] = (struct open_level){ .name = xstrdup(c), .fd = next };
	}
	return top_fd(u);
}

/* Splits "a/b/c" into "a/b" and "c". */
static void split(char *path, const char **parent, const char **name)
{
	char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*parent = "";
		*name = path;
	} else {
		*slash = '\0';
		*parent = path;
		*name = slash + 1;
	}
}

/* ---- metadata ------------------------------------------------------------------ */

static int owner_ids(struct unpack *u, struct archive_entry *e, uid_t *uid, gid_t *gid,
		     bool *do_chown)
{
	la_int64_t ou = archive_entry_uid(e), og = archive_entry_gid(e);

	*do_chown = false;
	switch (u->s->owners) {
	case STORE_OWNERS_SINGLE:
		if (ou != 0 || og != 0)
			u->res->owners_collapsed++;
		return 0;
	case STORE_OWNERS_RANGE: {
		uint64_t n = 1 + (uint64_t)u->s->uid_map[1].count;
		uint64_t ng = 1 + (uint64_t)u->s->gid_map[1].count;

		if (ou < 0 || og < 0 || (uint64_t)ou >= n || (uint64_t)og >= ng)
			return layer_error(u, 0, "image.layer.owner_unmapped",
					   "owned by %lld:%lld, outside the %llu ids of the user "
					   "namespace: ask for a larger /etc/subuid and /etc/subgid range",
					   (long long)ou, (long long)og, (unsigned long long)n);
		break;
	}
	case STORE_OWNERS_ROOT:
		if (ou < 0 || og < 0 || ou > UINT32_MAX - 1 || og > UINT32_MAX - 1)
			return layer_error(u, 0, "image.layer.malformed", "invalid owner");
		break;
	}
	*uid = (uid_t)ou;
	*gid = (gid_t)og;
	/* What we create is ours already (no directory of the layer is
	 * setgid before finish_dirs, and the layer root is checked). */
	*do_chown = *uid != u->self_uid || *gid != u->self_gid;
	return 0;
}

static bool xattr_allowed(struct unpack *u, const char *name)
{
	/* overlayfs metadata comes only from whiteout entries, never from a
	 * layer's own xattrs (they could fake whiteouts or redirects). */
	if (strstr(name, "overlay.") != NULL &&
	    (strncmp(name, "trusted.", 8) == 0 || strncmp(name, "user.", 5) == 0))
		return false;
	if (u->s->owners == STORE_OWNERS_ROOT)
		return true;
	if (strncmp(name, "user.", 5) == 0)
		return true;
	/* File capabilities are namespaced (v3) when root of a user namespace
	 * writes them; a single-id user has no such root. */
	return strcmp(name, "security.capability") == 0 && u->s->owners == STORE_OWNERS_RANGE;
}

static void set_xattrs(struct unpack *u, struct archive_entry *e, int fd)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!xattr_allowed(u, name) || fsetxattr(fd, name, value, size, 0) < 0)
			u->res->xattrs_skipped++;
	}
}

static void entry_times(struct archive_entry *e, struct timespec t[2])
{
	t[1].tv_sec = archive_entry_mtime(e);
	t[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		t[0].tv_sec = archive_entry_atime(e);
		t[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		t[0] = t[1];
	}
}

/* chown before chmod: chown clears setuid and setgid bits.  chmod_now:
 * the mode is set here, unless the file was created with it (created_mode,
 * under umask 0) and a chown cannot have cleared a bit of it. */
static int fd_metadata(struct unpack *u, struct archive_entry *e, int fd, bool chmod_now,
		       mode_t created_mode)
{
	struct timespec t[2];
	uid_t uid;
	gid_t gid;
	bool do_chown;

	if (owner_ids(u, e, &uid, &gid, &do_chown) < 0)
		return -1;
	if (do_chown && fchown(fd, uid, gid) < 0)
		return layer_error(u, errno, "image.layer.write", "cannot set the owner %u:%u",
				   uid, gid);
	set_xattrs(u, e, fd);
	if (chmod_now) {
		mode_t mode = archive_entry_perm(e) & 07777;

		if (mode != created_mode && fchmod(fd, mode) < 0)
			return layer_error(u, errno, "image.layer.write", "cannot set the mode");
		entry_times(e, t);
		if (futimens(fd, t) < 0)
			return layer_error(u, errno, "image.layer.write", "cannot set the times");
	}
	return 0;
}

/* For what has no fd of its own (symlinks, nodes): *at calls that do not
 * follow a symlink in the last component. */
static int at_metadata(struct unpack *u, struct archive_entry *e, int dirfd, const char *name,
		       bool is_link)
{
	struct timespec t[2];
	uid_t uid;
	gid_t gid;
	bool do_chown;

	if (owner_ids(u, e, &uid, &gid, &do_chown) < 0)
		return -1;
	if (do_chown && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return layer_error(u, errno, "image.layer.write", "cannot set the owner");
	/* A node we just made with mknodat cannot have become a symlink: no
	 * other entry ran in between. */
	if (!is_link && fchmodat(dirfd, name, archive_entry_perm(e) & 07777, 0) < 0)
		return layer_error(u, errno, "image.layer.write", "cannot set the mode");
	entry_times(e, t);
	if (utimensat(dirfd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
		return layer_error(u, errno, "image.layer.write", "cannot set the times");
	return 0;
}

/* ---- entries -------------------------------------------------------------------- */

/* A later entry replaces an earlier one of the same name, except that a
 * directory over a directory keeps its contents. */
static int clear_name(struct unpack *u, int dirfd, const char *name, bool want_dir)
{
	struct stat st;
	struct skiff_error *e = NULL;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : layer_error(u, errno, "image.layer.write",
							 "cannot stat \"%s\"", name);
	if (want_dir && S_ISDIR(st.st_mode))
		return 1;
	/* The levels open_dir keeps are dirfd (when it is the deepest) and
	 * its parents, none inside what is removed; otherwise a directory
	 * removed may hold some of them. */
	if (S_ISDIR(st.st_mode) && dirfd != top_fd(u))
		drop_levels(u, 0);
	if (store_rm_rf_at(dirfd, name, &e) < 0) {
		layer_error(u, e->errnum, "image.layer.write", "cannot replace it: %s", e->msg);
		skiff_error_free(e);
		return -1;
	}
	return 0;
}

static int make_whiteout(struct unpack *u, int dirfd, const char *name)
{
	int fd;

	if (clear_name(u, dirfd, name, false) < 0)
		return -1;
	/* A 0/0 character device needs no privilege since Linux 5.8
	 * ("vfs: allow unprivileged whiteout creation"). */
	if (mknodat(dirfd, name, S_IFCHR | 0, makedev(0, 0)) == 0)
		return 0;
	if (errno != EPERM)
		return layer_error(u, errno, "image.layer.write", "cannot make the whiteout");
	/* Older kernels: the xattr form overlayfs reads since Linux 6.7, an
	 * empty file with overlay.whiteout in a directory marked with
	 * overlay.opaque "x" (Documentation/filesystems/overlayfs.rst). */
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return layer_error(u, errno, "image.layer.write", "cannot make the whiteout");
	if (fsetxattr(fd, u->s->owners == STORE_OWNERS_ROOT ? "trusted.overlay.whiteout"
		      : "user.overlay.whiteout", "", 0, 0) < 0 ||
	    fsetxattr(dirfd, u->opaque_xattr, "x", 1, XATTR_CREATE) < 0) {
		int e = errno;

		close(fd);
		if (e != EEXIST)
			return layer_error(u, e, "image.layer.write", "cannot make the whiteout");
		return 0;
	}
	close(fd);
	return 0;
}

static int write_data(struct unpack *u, int fd, la_int64_t size)
{
	const void *buf;
	size_t len;
	la_int64_t off, end = 0;

	for (;;) {
		int r = archive_read_data_block(u->tar, &buf, &len, &off);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return layer_error(u, archive_errno(u->tar), "image.layer.malformed",
					   "cannot read the data: %s", archive_error_string(u->tar));
		for (size_t done = 0; done < len;) {
			ssize_t w = pwrite(fd, (const char *)buf + done, len - done,
					   (off_t)off + (off_t)done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return layer_error(u, errno, "image.layer.write", "cannot write the data");
			done += (size_t)w;
		}
		if (off + (la_int64_t)len > end)
			end = off + (la_int64_t)len;
	}
	/* A sparse file may end in a hole. */
	if (end != size && ftruncate(fd, (off_t)size) < 0)
		return layer_error(u, errno, "image.layer.write", "cannot write the data");
	return 0;
}

/* dirfd is the caller's own fd (open_dir's cache moves to the target's
 * parent here). */
static int do_hardlink(struct unpack *u, int dirfd, const char *name, const char *target)
{
	_cleanup_free_ char *t = NULL;
	const char *tparent, *tname;
	struct stat st;
	int tdirfd;

	if (clean_path(u, target, &t) < 0)
		return -1;
	if (*t == '\0')
		return layer_error(u, 0, "image.layer.unsafe_path",
				   "a hardlink to the layer root");
	{
		_cleanup_free_ char *self = NULL;

		/* A link to itself: nothing to do (and clearing would lose it). */
		if (clean_path(u, u->entry, &self) == 0 && strcmp(self, t) == 0)
			return 0;
	}
	split(t, &tparent, &tname);
	/* The target must be an earlier entry of this layer, reached without
	 * symlinks; linkat without AT_SYMLINK_FOLLOW links a symlink itself. */
	tdirfd = open_dir(u, tparent, false);
	if (tdirfd < 0)
		return -1;
	if (fstatat(tdirfd, tname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return layer_error(u, errno, "image.layer.malformed",
				   "the hardlink target \"%s\" is not in the layer", target);
	if (S_ISDIR(st.st_mode))
		return layer_error(u, 0, "image.layer.malformed",
				   "the hardlink target \"%s\" is a directory", target);
	{
		/* clear_name may drop the cache: keep the target dir open. */
		_cleanup_close_ int tfd = fcntl(tdirfd, F_DUPFD_CLOEXEC, 3);

		if (clear_name(u, dirfd, name, false) < 0)
			return -1;
		if (linkat(tfd, tname, dirfd, name, 0) < 0)
			return layer_error(u, errno, "image.layer.write",
					   "cannot link to \"%s\"", target);
	}
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive_entry *e)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int dirfd;
	const char *parent, *name, *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	int r;

	if (clean_path(u, u->entry, &path) < 0)
		return -1;
	if (*path == '\0') {
		/* "." itself: only a directory may describe the layer root. */
		if (type != AE_IFDIR || hardlink != NULL)
			return layer_error(u, 0, "image.layer.unsafe_path",
					   "the entry would replace the layer root");
		struct deferred_dir *d;

		if (fd_metadata(u, e, u->rootfd, false, 0) < 0)
			return -1;
		u->dirs = xrealloc(u->dirs, (u->n_dirs + 1) * sizeof(*u->dirs));
		d = &u->dirs[u->n_dirs++];
		d->path = xstrdup("");
		d->mode = archive_entry_perm(e) & 07777;
		entry_times(e, d->times);
		return 0;
	}
	split(path, &parent, &name);
	/* Borrowed from open_dir's cache, which stays on it (clear_name keeps
	 * it) but for a hardlink, whose target's directory moves the cache. */
	dirfd = open_dir(u, parent, true);
	if (dirfd < 0)
		return -1;

	if (strncmp(name, ".wh.", 4) == 0) {
		if (strcmp(name, ".wh..wh..opq") == 0) {
			if (fsetxattr(dirfd, u->opaque_xattr, "y", 1, 0) < 0)
				return layer_error(u, errno, "image.layer.write",
						   "cannot set %s on the directory", u->opaque_xattr);
			return 0;
		}
		if (strncmp(name, ".wh..wh.", 8) == 0)   /* aufs bookkeeping */
			return 0;
		if (name[4] == '\0' || strcmp(name + 4, ".") == 0 || strcmp(name + 4, "..") == 0)
			return layer_error(u, 0, "image.layer.malformed", "a whiteout without a name");
		return make_whiteout(u, dirfd, name + 4);
	}

	if (hardlink != NULL) {
		_cleanup_close_ int own = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);

		if (own < 0)
			return layer_error(u, errno, "image.layer.write", "cannot dup");
		return do_hardlink(u, own, name, hardlink);
	}

	switch (type) {
	case AE_IFDIR: {
		struct deferred_dir *d;
		uid_t uid;
		gid_t gid;
		bool do_chown;

		/* Writable until the end, whatever its final mode.  A directory
		 * there already stays, with what it holds; anything else goes. */
		if (mkdirat(dirfd, name, 0700) < 0) {
			if (errno != EEXIST)
				return layer_error(u, errno, "image.layer.write",
						   "cannot create the directory");
			r = clear_name(u, dirfd, name, true);
			if (r < 0)
				return -1;
			if (r == 0 && mkdirat(dirfd, name, 0700) < 0)
				return layer_error(u, errno, "image.layer.write",
						   "cannot create the directory");
		}
		/* An fd only for an owner or xattrs to set: its mode and times
		 * wait for finish_dirs. */
		if (owner_ids(u, e, &uid, &gid, &do_chown) < 0)
			return -1;
		if (do_chown || archive_entry_xattr_reset(e) > 0) {
			fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return layer_error(u, errno, "image.layer.write",
						   "cannot open the directory");
			if (fd_metadata(u, e, fd, false, 0) < 0)
				return -1;
		}
		u->dirs = xrealloc(u->dirs, (u->n_dirs + 1) * sizeof(*u->dirs));
		d = &u->dirs[u->n_dirs++];
		d->path = *parent ? xasprintf("%s/%s", parent, name) : xstrdup(name);
		d->mode = archive_entry_perm(e) & 07777;
		entry_times(e, d->times);
		return 0;
	}
	case AE_IFREG: {
		/* Created with its final mode when no special bit is in it
		 * (umask is 0 here); an fd opened by the create can write
		 * whatever the mode.  An earlier entry of that name goes first. */
		mode_t mode = archive_entry_perm(e) & 07777;
		mode_t cmode = mode & 07000 ? 0600 : mode;

		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, cmode);
		if (fd < 0 && errno == EEXIST) {
			if (clear_name(u, dirfd, name, false) < 0)
				return -1;
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    cmode);
		}
		if (fd < 0)
			return layer_error(u, errno, "image.layer.write", "cannot create the file");
		if (write_data(u, fd, archive_entry_size(e)) < 0)
			return -1;
		return fd_metadata(u, e, fd, true, cmode);
	}
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(e);

		if (target == NULL || *target == '\0')
			return layer_error(u, 0, "image.layer.malformed", "a symlink without a target");
		/* The target is only data: it is never followed here.  An
		 * earlier entry of that name goes first. */
		if (symlinkat(target, dirfd, name) < 0) {
			if (errno != EEXIST)
				return layer_error(u, errno, "image.layer.write",
						   "cannot create the symlink");
			if (clear_name(u, dirfd, name, false) < 0)
				return -1;
			if (symlinkat(target, dirfd, name) < 0)
				return layer_error(u, errno, "image.layer.write",
						   "cannot create the symlink");
		}
		return at_metadata(u, e, dirfd, name, true);
	}
	case AE_IFCHR:
	case AE_IFBLK:
		if (u->s->owners != STORE_OWNERS_ROOT) {
			u->res->devices_skipped++;
			return 0;
		}
		if (clear_name(u, dirfd, name, false) < 0)
			return -1;
		if (mknodat(dirfd, name, type | 0600, archive_entry_rdev(e)) < 0)
			return layer_error(u, errno, "image.layer.write", "cannot create the device");
		return at_metadata(u, e, dirfd, name, false);
	case AE_IFIFO:
		if (clear_name(u, dirfd, name, false) < 0)
			return -1;
		if (mkfifoat(dirfd, name, 0600) < 0)
			return layer_error(u, errno, "image.layer.write", "cannot create the fifo");
		return at_metadata(u, e, dirfd, name, false);
	case AE_IFSOCK:
		return 0;
	default:
		return layer_error(u, 0, "image.layer.malformed", "unknown entry type 0%o", type);
	}
}

/* Directory modes and times last: creating children changes a directory's
 * mtime, and a read-only directory could not get its children.  Deepest
 * first; each path is resolved again without following symlinks. */
static int finish_dirs(struct unpack *u)
{
	for (size_t i = u->n_dirs; i-- > 0;) {
		struct deferred_dir *d = &u->dirs[i];
		_cleanup_close_ int fd = -1;
		const char *parent, *name;
		_cleanup_free_ char *p = xstrdup(d->path);
		int pfd;

		u->entry = d->path;
		if (*d->path == '\0') {
			fd = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
		} else {
			split(p, &parent, &name);
			pfd = open_dir(u, parent, false);
			if (pfd < 0) {
				/* Replaced by a later entry: nothing to finish. */
				skiff_error_freep(u->err);
				continue;
			}
			fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
		}
		if (fchmod(fd, d->mode) < 0 || futimens(fd, d->times) < 0)
			return layer_error(u, errno, "image.layer.write",
					   "cannot set the mode or times of the directory");
	}
	u->entry = NULL;
	return 0;
}

static int unpack_stream(struct unpack *u)
{
	struct archive_entry *e;

	if (open_readers(u) < 0)
		return -1;
	for (;;) {
		int r = archive_read_next_header(u->tar, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			u->entry = NULL;
			return layer_error(u, archive_errno(u->tar), "image.layer.malformed",
					   "not a valid tar stream: %s (the blob may be truncated or "
					   "corrupt)", archive_error_string(u->tar));
		}
		u->entry = archive_entry_pathname(e);
		if (u->entry == NULL)
			return layer_error(u, 0, "image.layer.malformed", "an entry without a name");
		if (unpack_entry(u, e) < 0)
			return -1;
	}
	u->entry = NULL;
	if (drain(u) < 0)
		return -1;
	return finish_dirs(u);
}

/* A blob that does not decompress or parse may just not be the blob the
 * manifest names (a byte corrupted on the way): read the rest, and when it
 * has the expected size but another digest, say that, the real cause.  A
 * short blob keeps its "malformed": that is what it is. */
static void blame_the_blob(struct unpack *u)
{
	_cleanup_free_ char *cd = NULL;

	for (;;) {
		ssize_t r = blob_read(u, u->cbuf, sizeof(u->cbuf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		digester_update(u->cdig, u->cbuf, (size_t)r);
		u->csize += (uint64_t)r;
	}
	if (u->job->size != 0 && u->csize != u->job->size)
		return;
	cd = digester_finish(steal_pointer(&u->cdig));
	if (strcmp(cd, u->job->digest) == 0)
		return;
	skiff_error_freep(u->err);
	u->entry = NULL;
	layer_error(u, 0, "image.layer.digest_mismatch",
		    "the blob's digest is %s: it is corrupt or was tampered with", cd);
}

static void unpack_free(struct unpack *u)
{
	ring_stop(u);
	for (int i = 0; i < 2; i++)
		if (u->ring.stop_pipe[i] >= 0)
			close(u->ring.stop_pipe[i]);
	free(u->ring.slots);
	free(u->ring.msg);
	drop_levels(u, 0);
	free(u->levels);
	if (u->raw)
		archive_read_free(u->raw);
	if (u->tar)
		archive_read_free(u->tar);
	digester_free(u->cdig);
	digester_free(u->udig);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	if (u->rootfd >= 0)
		close(u->rootfd);
	free(u);
}

static int verify(struct unpack *u)
{
	_cleanup_free_ char *cd = digester_finish(steal_pointer(&u->cdig));
	_cleanup_free_ char *ud = digester_finish(steal_pointer(&u->udig));

	u->res->read = u->csize;
	if (u->job->size != 0 && u->csize != u->job->size)
		return layer_error(u, 0, "image.layer.size_mismatch",
				   "the blob has %llu bytes, the manifest says %llu: it is truncated "
				   "or corrupt", (unsigned long long)u->csize,
				   (unsigned long long)u->job->size);
	if (u->job->digest != NULL && strcmp(cd, u->job->digest) != 0)
		return layer_error(u, 0, "image.layer.digest_mismatch",
				   "the blob's digest is %s: it is corrupt or was tampered with", cd);
	if (strcmp(ud, u->job->diff_id) != 0)
		return layer_error(u, 0, "image.layer.diff_id_mismatch",
				   "the uncompressed layer's digest is %s, the config says %s",
				   ud, u->job->diff_id);
	return 0;
}

static int write_layer_info(struct unpack *u, int dirfd)
{
	static const char *const owners[] = { "root", "range", "single" };
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s?, s:I, s:s, s:s}",
		"diff_id", u->job->diff_id, "digest", u->job->digest,
		"size", (json_int_t)u->csize, "owners", owners[u->s->owners],
		"opaque_xattr", u->opaque_xattr);
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);

	return write_file_atomic_at(dirfd, "layer.json", text, strlen(text), 0644, u->err);
}

int layer_unpack(struct image_store *s, void *jobp, void *resultp,
		 struct skiff_error **err)
{
	struct layer_job *job = jobp;
	struct layer_result *res = resultp;
	const char *hex = digest_hex(job->diff_id);
	_cleanup_free_ char *lockname = xasprintf("layer-%s", hex);
	_cleanup_free_ char *tmp = xasprintf(STORE_TMP "/layer-%s", hex);
	_cleanup_free_ char *tmpdiff = xasprintf("%s/diff", tmp);
	_cleanup_free_ char *final = xasprintf(STORE_LAYERS "/%s", hex);
	_cleanup_close_ int lockfd = -1, tmpfd = -1;
	struct unpack *u;
	struct stat st;
	int rc;

	/* One unpack per layer across processes; the loser finds it done. */
	lockfd = store_lock_entry(s, lockname, err);
	if (lockfd < 0)
		return -1;
	if (store_has_layer(s, job->diff_id)) {
		res->skipped = true;
		return 0;
	}
	/* Leftovers of a killed unpack of this layer, and a layer dir without
	 * layer.json cannot exist: rename is the last step. */
	if (store_rm_rf_at(s->dirfd, tmp, err) < 0)
		return -1;
	if (mkdirat(s->dirfd, tmp, 0700) < 0 || mkdirat(s->dirfd, tmpdiff, 0755) < 0)
		return skiff_error_set(err, errno, "image.store.write", "cannot create %s/%s",
				       s->path, tmpdiff);
	tmpfd = openat(s->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	u = xzalloc(sizeof(*u));
	u->s = s;
	u->job = job;
	u->res = res;
	u->err = err;
	u->cdig = digester_new();
	u->udig = digester_new();
	u->opaque_xattr = s->owners == STORE_OWNERS_ROOT ? "trusted.overlay.opaque"
							 : "user.overlay.opaque";
	u->ring.stop_pipe[0] = u->ring.stop_pipe[1] = -1;
	u->self_uid = geteuid();
	u->self_gid = getegid();
	u->rootfd = openat(s->dirfd, tmpdiff, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	/* What is created below is owned by us (self_uid, self_gid: no chown
	 * for an entry that is too), unless a setgid store directory passed
	 * its bit down: clear it.  Files are created with their modes: no
	 * umask. */
	if (tmpfd < 0 || u->rootfd < 0 || fstat(u->rootfd, &st) < 0 ||
	    ((st.st_mode & S_ISGID) && fchmod(u->rootfd, 0755) < 0)) {
		rc = skiff_error_set(err, errno, "image.store.write", "cannot open %s/%s", s->path, tmp);
	} else {
		mode_t old_umask = umask(0);

		rc = unpack_stream(u);
		umask(old_umask);
	}
	/* A failure of the tar side leaves the decompressor running. */
	if (rc < 0)
		ring_stop(u);
	if (rc < 0 && job->digest && err && *err && strcmp((*err)->id, "image.layer.malformed") == 0)
		blame_the_blob(u);
	if (rc == 0)
		rc = verify(u);
	if (rc == 0)
		rc = write_layer_info(u, tmpfd);
	unpack_free(u);
	if (rc == 0 && renameat(s->dirfd, tmp, s->dirfd, final) < 0)
		rc = skiff_error_set(err, errno, "image.store.write", "cannot rename %s to %s in %s",
				     tmp, final, s->path);
	if (rc < 0) {
		/* Nothing of a bad layer is kept. */
		store_rm_rf_at(s->dirfd, tmp, NULL);
		return -1;
	}
	return 0;
}
