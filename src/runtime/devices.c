/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /dev in the container: the default devices, linux.devices, and the
 * links every libc expects.
 *
 * Device nodes can only be made by real root outside a user namespace;
 * otherwise (rootless, or a spec with a user namespace) the host's node is
 * bind-mounted onto an empty file, as runc and crun do. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime-internal.h"

static const struct spec_device default_devices[] = {
	{ .path = "/dev/null", .type = 'c', .major = 1, .minor = 3 },
	{ .path = "/dev/zero", .type = 'c', .major = 1, .minor = 5 },
	{ .path = "/dev/full", .type = 'c', .major = 1, .minor = 7 },
	{ .path = "/dev/random", .type = 'c', .major = 1, .minor = 8 },
	{ .path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9 },
	{ .path = "/dev/tty", .type = 'c', .major = 5, .minor = 0 },
};

static const struct { const char *name, *target; } dev_links[] = {
	{ "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
};

static bool can_mknod(const struct init_config *c)
{
	return !c->ctx->rootless && spec_namespace(c->spec, SPEC_NS_USER) == NULL;
}

static mode_t device_type(char t)
{
	switch (t) {
	case 'b': return S_IFBLK;
	case 'p': return S_IFIFO;
	default: return S_IFCHR;
	}
}

/* The directory the devices go in, opened once for the devices that share
 * it (all of the default ones are in /dev): a device costs the set-up a
 * few system calls instead of a dozen. */
struct dev_parent {
	char *path;
	int fd;
};

static void dev_parent_clear(struct dev_parent *p)
{
	free(p->path);
	if (p->fd >= 0)
		close(p->fd);
	*p = (struct dev_parent){ NULL, -1 };
}

/* p->fd for the parent of path (its last component in *name), opened when
 * it is not the one open already: made where missing (mknod), or, for a
 * bound device, resolved with no symlink anywhere on the way, as the
 * device's own path is, and -1 with no error when that fails (bind_node
 * then takes the way that makes it or says what crosses a symlink). */
static int dev_parent_of(struct dev_parent *p, int rootfd, const char *path, const char **name,
			 bool nofollow, struct skiff_error **err)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *parent = NULL;

	if (slash == NULL)
		return errno = EINVAL, -1;
	*name = slash + 1;
	parent = slash == path ? xstrdup("/") : xasprintf("%.*s", (int)(slash - path), path);
	if (p->path != NULL && strcmp(p->path, parent) == 0 && p->fd >= 0)
		return p->fd;
	dev_parent_clear(p);
	p->fd = nofollow ? sys_open_in_root_nofollow(rootfd, parent, NULL)
			 : sys_open_in_root(rootfd, parent, SYS_CREATE_DIR, 0755, err);
	p->path = steal_pointer(&parent);
	return p->fd;
}

static int make_node(int rootfd, const struct spec_device *d, struct dev_parent *dp,
		     struct skiff_error **err)
{
	const char *name;
	int dirfd;
	mode_t perm = d->has_file_mode ? (d->file_mode & 07777) : 0666;
	dev_t dev = makedev((unsigned)d->major, (unsigned)d->minor);
	struct stat st;

	dirfd = dev_parent_of(dp, rootfd, d->path, &name, false, err);
	if (dirfd < 0)
		return *err ? skiff_error_prefix(err, "device %s: ", d->path)
			    : skiff_error_set(err, errno, "rootfs.device", "device %s", d->path);
	if (mknodat(dirfd, name, device_type(d->type) | perm, dev) < 0) {
		if (errno != EEXIST)
			return skiff_error_set(err, errno, "rootfs.device",
					       "cannot create the device %s", d->path);
		/* Something is already there: accept only the same device. */
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (st.st_mode & S_IFMT) != device_type(d->type) || st.st_rdev != dev)
			return skiff_error_set(err, EEXIST, "rootfs.device",
					       "%s exists in the rootfs and is not the expected "
					       "device", d->path);
	}
	if (fchmodat(dirfd, name, perm, 0) < 0 ||
	    fchownat(dirfd, name, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return skiff_error_set(err, errno, "rootfs.device",
				       "cannot set the owner and mode of %s", d->path);
	return 0;
}

static int bind_node(int rootfd, const struct spec_device *d, struct dev_parent *dp,
		     struct skiff_error **err)
{
	_cleanup_error_ struct skiff_error *missing = NULL;
	_cleanup_close_ int fd = -1;
	struct stat host, st;
	const char *name;
	char target[32];
	int dirfd;

	/* The source is the host's node by the same path: check that it is the
	 * device the spec names, not whatever a path happens to be. */
	if (stat(d->path, &host) < 0)
		return skiff_error_set(err, errno, "rootfs.device",
				       "cannot bind the host's %s into the container", d->path);
	if (!S_ISCHR(host.st_mode) && !S_ISBLK(host.st_mode))
		return skiff_error_set(err, ENODEV, "rootfs.device",
				       "the host's %s is not a device", d->path);
	/* The node's own path, never where a symlink there leads: a /dev/null
	 * link would put the device over another file (CVE-2025-31133).  Its
	 * parent has no symlink on the way; the node is opened without
	 * following one (a link there is refused below), or made. */
	dirfd = dev_parent_of(dp, rootfd, d->path, &name, true, err);
	if (dirfd >= 0 && *name != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    0644);
	}
	if (fd < 0)
		fd = sys_open_in_root_nofollow(rootfd, d->path, &missing);
	if (fd < 0 && missing->errnum == ENOENT) {
		fd = sys_open_in_root(rootfd, d->path, SYS_CREATE_FILE, 0644, err);
		if (fd < 0)
			return skiff_error_prefix(err, "device %s: ", d->path);
		close(fd);
		fd = sys_open_in_root_nofollow(rootfd, d->path, err);
	} else if (fd < 0) {
		*err = steal_pointer(&missing);
	}
	if (fd < 0)
		return skiff_error_prefix(err, "device %s: ", d->path);
	if (fstat(fd, &st) < 0)
		return skiff_error_set(err, errno, "rootfs.device", "cannot stat %s", d->path);
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return skiff_error_set(err, EEXIST, "rootfs.device",
				       "%s in the rootfs is neither a file nor a device", d->path);
	if (mount(d->path, sys_fd_path(fd, target), NULL, MS_BIND, NULL) < 0)
		return skiff_error_set(err, errno, "rootfs.device",
				       "cannot bind the host's %s into the container", d->path);
	return 0;
}

static bool listed(const struct spec_linux *l, const char *path)
{
	for (size_t i = 0; l != NULL && i < l->n_devices; i++)
		if (strcmp(l->devices[i].path, path) == 0)
			return true;
	return false;
}

static bool dev_is_bind_mounted(const struct spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, "/dev") == 0)
			return (s->mounts[i].flags & MS_BIND) ||
			       (s->mounts[i].type && strcmp(s->mounts[i].type, "bind") == 0);
	return false;
}

static bool has_mount(const struct spec *s, const char *dest)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dest) == 0)
			return true;
	return false;
}

int devices_setup(const struct init_config *c, int rootfd, struct skiff_error **err)
{
	const struct spec_linux *l = c->spec->linux_;
	int (*create)(int, const struct spec_device *, struct dev_parent *,
		      struct skiff_error **) = can_mknod(c) ? make_node : bind_node;
	struct dev_parent dp = { NULL, -1 };
	_cleanup_close_ int dev = -1;
	int rc = 0;

	if (dev_is_bind_mounted(c->spec))
		return 0;       /* the host's /dev as it is */
	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(default_devices); i++)
		if (!listed(l, default_devices[i].path))
			rc = create(rootfd, &default_devices[i], &dp, err);
	for (size_t i = 0; rc == 0 && l != NULL && i < l->n_devices; i++)
		rc = create(rootfd, &l->devices[i], &dp, err);
	dev_parent_clear(&dp);
	if (rc < 0)
		return -1;

	dev = sys_open_in_root(rootfd, "/dev", SYS_CREATE_DIR, 0755, err);
	if (dev < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0 &&
		    errno != EEXIST)
			return skiff_error_set(err, errno, "rootfs.device",
					       "cannot create /dev/%s", dev_links[i].name);
	/* /dev/ptmx must be the devpts instance of the container: whatever
	 * the rootfs has there, a link elsewhere included, is replaced. */
	if (has_mount(c->spec, "/dev/pts")) {
		if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
			return skiff_error_set(err, errno, "rootfs.device",
					       "cannot replace /dev/ptmx of the rootfs");
		if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
			return skiff_error_set(err, errno, "rootfs.device",
					       "cannot create /dev/ptmx");
	}
	return 0;
}
