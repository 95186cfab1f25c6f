/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's filesystem view, built inside its new mount namespace.
 *
 * Every destination is resolved inside the rootfs (sys_open_in_root) and
 * the mount is made onto "/proc/self/fd/N" of the resolved fd, so a symlink
 * in the rootfs cannot redirect a mount onto the host (CVE-2021-30465). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "runtime-internal.h"

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

unsigned long rootfs_locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* A bind remount that sets flags.  In a user namespace the kernel refuses
 * to clear flags locked by the outer mount (nosuid, nodev, noexec, atime):
 * retry keeping them, as the outer namespace imposed them anyway. */
static int remount_bind(const char *path, unsigned long flags)
{
	unsigned long base = MS_REMOUNT | MS_BIND | (flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS));

	if (mount(NULL, path, NULL, base, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	return mount(NULL, path, NULL, base | rootfs_locked_flags(path), NULL);
}

/* Opens a mount's destination, re-resolved so that the fd names the mount
 * just made there rather than the directory under it. */
static int reopen_in_root(int rootfd, const char *dest, struct skiff_error **err)
{
	return sys_open_in_root(rootfd, dest, SYS_NO_CREATE, 0, err);
}

static int mount_error(struct skiff_error **err, const struct spec_mount *m, int e)
{
	return skiff_error_set(err, e, "rootfs.mount",
			       "cannot mount %s (type %s) on %s (mounts[]%s%s)",
			       m->source ? m->source : "none", m->type ? m->type : "bind",
			       m->destination,
			       e == EPERM ? ": not permitted" : "",
			       e == EPERM && geteuid() != 0 ? " for an unprivileged user" : "");
}

static bool is_bind(const struct spec_mount *m)
{
	return (m->flags & MS_BIND) || (m->type != NULL && strcmp(m->type, "bind") == 0);
}

/* Data without the "gid=N" option: in a single-id user namespace gid 5 is
 * not mapped and devpts refuses it (runc's rootless spec drops it too). */
static char *data_without_gid(const char *data)
{
	_cleanup_free_ char *copy = xstrdup(data);
	char *out = xzalloc(strlen(data) + 1), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strncmp(t, "gid=", 4) == 0)
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, t);
	}
	return out;
}

/* Binds a host tree with its submounts onto the fd dst.  The tree is
 * cloned detached, made read-only as a whole (a remount would reach only
 * its top), then attached: nothing is visible half-configured. */
static int bind_host_path(const char *host, int dst, bool ro)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, AT_FDCWD, host,
						OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						AT_RECURSIVE);

	if (tree < 0)
		return -1;
	if (ro && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
			  &attr, sizeof(attr)) < 0)
		return -1;
	return (int)syscall(SYS_move_mount, tree, "", dst, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* type "cgroup": the container's own cgroup2 view where the host is pure
 * v2; otherwise (v1, or this kind of hybrid) the host's tree, read-only
 * when asked and always when rootless: a rootless container never gets
 * write access to the host's cgroups. */
static int mount_cgroup(const struct init_config *c, const struct spec_mount *m,
			int dst, const char *target)
{
	unsigned long flags = m->flags & ~PROPAGATION_FLAGS;

	if (cgroup_host_is_v2()) {
		if (mount("cgroup2", target, "cgroup2", flags, NULL) == 0)
			return 0;
		if (errno != EPERM && errno != EBUSY && errno != EACCES)
			return -1;
	}
	return bind_host_path("/sys/fs/cgroup", dst,
			      (flags & MS_RDONLY) || c->ctx->rootless);
}

static int mount_fs(const struct init_config *c, const struct spec_mount *m,
		    int dst, const char *target)
{
	unsigned long flags = m->flags & ~PROPAGATION_FLAGS;
	const char *type = m->type;
	const char *src = m->source ? m->source : type;

	if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0)
		return mount_cgroup(c, m, dst, target);
	if (mount(src, target, type, flags, m->data) == 0)
		return 0;
	if (strcmp(type, "devpts") == 0 && errno == EINVAL && m->data != NULL &&
	    strstr(m->data, "gid=") != NULL) {
		_cleanup_free_ char *data = data_without_gid(m->data);

		log_debug("devpts refused %s; retrying with %s", m->data, data);
		return mount(src, target, type, flags, data);
	}
	/* Rootless limits: sysfs needs the network namespace's owner, cgroup
	 * and mqueue their own namespaces.  Give a read-only view of the
	 * host's instead, as runc and crun do. */
	if ((errno == EPERM || errno == EBUSY || errno == EACCES) && c->ctx->rootless) {
		if (strcmp(type, "sysfs") == 0)
			return bind_host_path("/sys", dst, true);
		if (strcmp(type, "mqueue") == 0)
			return bind_host_path("/dev/mqueue", dst, false);
	}
	return -1;
}

/* procfs, sysfs and devpts: what the kernel and the runtime trust as such
 * afterwards (masked and read-only paths, sysctl writes, /dev/ptmx). */
static unsigned long special_fs_magic(const struct spec_mount *m)
{
	if (m->type == NULL)
		return 0;
	if (strcmp(m->type, "proc") == 0)
		return PROC_SUPER_MAGIC;
	if (strcmp(m->type, "sysfs") == 0)
		return SYSFS_MAGIC;
	if (strcmp(m->type, "devpts") == 0)
		return DEVPTS_SUPER_MAGIC;
	return 0;
}

/* Their destinations must be real directories of the rootfs: not reached
 * through a symlink (a /proc -> /tmp/x link is an attack on the runtime,
 * CVE-2019-19921's class, not a configuration).  Checked before anything
 * is created on the way, and again on what was created. */
static int refuse_symlinked_destination(int rootfd, const struct spec_mount *m,
					struct skiff_error **err)
{
	_cleanup_error_ struct skiff_error *e = NULL;
	_cleanup_close_ int fd = sys_open_in_root_nofollow(rootfd, m->destination, &e);

	if (fd >= 0 || e->errnum == ENOENT)
		return 0;
	*err = steal_pointer(&e);
	return skiff_error_prefix(err, "mount destination of %s: ", m->type);
}

static int check_special_destination(int rootfd, const struct spec_mount *m,
				     const struct stat *st, struct skiff_error **err)
{
	_cleanup_close_ int real = sys_open_in_root_nofollow(rootfd, m->destination, err);
	struct stat rst;

	if (real < 0)
		return skiff_error_prefix(err, "mount destination of %s: ", m->type);
	if (fstat(real, &rst) < 0 || rst.st_dev != st->st_dev || rst.st_ino != st->st_ino ||
	    !S_ISDIR(st->st_mode))
		return skiff_error_set(err, ENOTDIR, "rootfs.mount",
				       "mount destination %s for %s is not a directory of the "
				       "rootfs", m->destination, m->type);
	return 0;
}

/* And after the mount the destination holds that filesystem. */
static int check_special_mounted(int rootfd, const struct spec_mount *m,
				 struct skiff_error **err)
{
	_cleanup_close_ int fd = sys_open_in_root_nofollow(rootfd, m->destination, err);
	struct statfs sf;

	if (fd < 0)
		return skiff_error_prefix(err, "after mounting %s: ", m->type);
	if (fstatfs(fd, &sf) < 0 || (unsigned long)sf.f_type != special_fs_magic(m))
		return skiff_error_set(err, EXDEV, "rootfs.mount",
				       "%s is not a %s mount after mounting it (mounts[])",
				       m->destination, m->type);
	return 0;
}

static int mount_one(const struct init_config *c, int rootfd,
		     const struct spec_mount *m, struct skiff_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *source = NULL;
	enum sys_create create = SYS_CREATE_DIR;
	struct stat st;
	char target[32];
	bool bind = is_bind(m);

	if (bind) {
		if (m->source == NULL)
			return skiff_error_set(err, EINVAL, "rootfs.mount",
					       "bind mount on %s has no source", m->destination);
		source = m->source[0] == '/' ? xstrdup(m->source)
					     : xasprintf("%s/%s", c->bundle, m->source);
		if (stat(source, &st) < 0)
			return skiff_error_set(err, errno, "rootfs.mount",
					       "bind mount source %s (for %s)", source,
					       m->destination);
		if (!S_ISDIR(st.st_mode))
			create = SYS_CREATE_FILE;
	}
	if (special_fs_magic(m) != 0 && refuse_symlinked_destination(rootfd, m, err) < 0)
		return -1;
	fd = sys_open_in_root(rootfd, m->destination, create, create == SYS_CREATE_DIR ? 0755 : 0644, err);
	if (fd < 0)
		return skiff_error_prefix(err, "mount destination %s: ", m->destination);
	if (fstat(fd, &st) < 0)
		return skiff_error_set(err, errno, "rootfs.mount", "cannot stat %s", m->destination);
	if (special_fs_magic(m) != 0 && check_special_destination(rootfd, m, &st, err) < 0)
		return -1;
	sys_fd_path(fd, target);
	if (bind) {
		if (mount(source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return mount_error(err, m, errno);
	} else if (mount_fs(c, m, fd, target) < 0) {
		return mount_error(err, m, errno);
	}
	if (special_fs_magic(m) != 0 && check_special_mounted(rootfd, m, err) < 0)
		return -1;

	if ((bind && (m->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS)) != 0) ||
	    m->propagation != 0 || m->rec_set != 0 || m->rec_clear != 0) {
		_cleanup_close_ int top = reopen_in_root(rootfd, m->destination, err);

		if (top < 0)
			return -1;
		sys_fd_path(top, target);
		if (bind && (m->flags & ~(MS_BIND | MS_REC | PROPAGATION_FLAGS)) != 0 &&
		    remount_bind(target, m->flags) < 0)
			return skiff_error_set(err, errno, "rootfs.mount",
					       "cannot apply the options of the bind mount on %s",
					       m->destination);
		if (m->propagation != 0 && mount(NULL, target, NULL, m->propagation, NULL) < 0)
			return skiff_error_set(err, errno, "rootfs.mount",
					       "cannot set the propagation of %s", m->destination);
		if (m->rec_set != 0 || m->rec_clear != 0) {
			struct mount_attr attr = { .attr_set = m->rec_set,
						   .attr_clr = m->rec_clear };

			if (syscall(SYS_mount_setattr, top, "", AT_EMPTY_PATH | AT_RECURSIVE,
				    &attr, sizeof(attr)) < 0)
				return skiff_error_set(err, errno, "rootfs.mount",
						       "cannot apply recursive options to %s",
						       m->destination);
		}
	}
	return 0;
}

static int pivot_to(const struct init_config *c, int rootfd, struct skiff_error **err)
{
	if (fchdir(rootfd) < 0)
		return skiff_error_set(err, errno, "rootfs.pivot", "cannot enter %s", c->rootfs);
	if (c->opts->no_pivot) {
		/* For ramfs roots, where pivot_root is impossible (--no-pivot). */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return skiff_error_set(err, errno, "rootfs.pivot",
					       "cannot move the root to %s", c->rootfs);
	} else {
		/* pivot_root(".", ".") stacks the old root on the new one;
		 * detaching it leaves only the container's tree.  The old
		 * root is made a slave first so that the unmount does not
		 * propagate to the host. */
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			return skiff_error_set(err, errno, "rootfs.pivot",
					       "pivot_root into %s failed (try --no-pivot on "
					       "a ramfs root)", c->rootfs);
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
		    umount2(".", MNT_DETACH) < 0)
			return skiff_error_set(err, errno, "rootfs.pivot",
					       "cannot detach the old root");
	}
	if (chdir("/") < 0)
		return skiff_error_set(err, errno, "rootfs.pivot", "cannot chdir to /");
	return 0;
}

static int overlay_set(int fs, const char *key, const char *value)
{
	if (value == NULL)
		return (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, key, NULL, 0);
	return (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0);
}

/* The layers are given one by one ("lowerdir+", Linux 6.8): a joined
 * lowerdir string would be bounded by a page, about 35 store paths.  top:
 * the path of the top layer (root_overlay.top), or NULL. */
static int overlay_configure(int fs, const struct spec_root_overlay *o, const char *top,
			     bool one_by_one)
{
	if (one_by_one) {
		if (top != NULL && overlay_set(fs, "lowerdir+", top) < 0)
			return -1;
		for (size_t i = 0; i < o->n_lower; i++)
			if (overlay_set(fs, "lowerdir+", o->lower[i]) < 0)
				return -1;
	} else {
		size_t len = 1 + (top != NULL ? strlen(top) + 1 : 0);

		for (size_t i = 0; i < o->n_lower; i++)
			len += strlen(o->lower[i]) + 1;
		_cleanup_free_ char *joined = xzalloc(len);

		if (top != NULL)
			strcat(joined, top);
		for (size_t i = 0; i < o->n_lower; i++) {
			if (joined[0] != '\0')
				strcat(joined, ":");
			strcat(joined, o->lower[i]);
		}
		if (overlay_set(fs, "lowerdir", joined) < 0)
			return -1;
	}
	if (overlay_set(fs, "upperdir", o->upper) < 0 || overlay_set(fs, "workdir", o->work) < 0)
		return -1;
	/* Rootless: the layers' whiteouts and opaque marks are user.overlay.*
	 * xattrs, and trusted.* ones cannot be read or set in a user
	 * namespace (overlayfs.rst, "userxattr"). */
	if (o->userxattr && overlay_set(fs, "userxattr", NULL) < 0)
		return -1;
	if (o->volatile_upper && overlay_set(fs, "volatile", NULL) < 0 && errno != EINVAL)
		return -1;
	return (int)syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
}

/* root_overlay.top on a tmpfs made for it, attached, in this private
 * mount namespace only, over the container's state directory `at` (a
 * layer must be a mount of the namespace: the 6.18 kernel of the build
 * host takes a detached one, Debian 12's 6.1 does not): a directory of the
 * container's own that nothing else set up here reads, and under the old
 * root, which pivot_root detaches with it.  The store's disk makes and
 * frees no inode for these files, as it would in upper. */
static int make_top_layer(const struct spec_root_overlay *o, const char *at,
			  struct skiff_error **err)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	_cleanup_close_ int mnt = -1;

	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) < 0)
		return skiff_error_set(err, errno, "rootfs.overlay",
				       "cannot make the tmpfs of the overlay's top layer");
	for (size_t i = 0; i < o->n_top; i++) {
		const struct spec_overlay_file *f = &o->top[i];
		_cleanup_close_ int fd = -1;
		size_t len;

		/* The modes exactly: not the umask's. */
		if (f->content == NULL) {
			if (mkdirat(mnt, f->path, f->mode) < 0 ||
			    fchmodat(mnt, f->path, f->mode, 0) < 0)
				return skiff_error_set(err, errno, "rootfs.overlay",
						       "cannot make /%s in the container", f->path);
			continue;
		}
		len = strlen(f->content);
		errno = 0;
		fd = openat(mnt, f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    f->mode);
		if (fd < 0 || write(fd, f->content, len) != (ssize_t)len || fchmod(fd, f->mode) < 0)
			return skiff_error_set(err, errno ? errno : EIO, "rootfs.overlay",
					       "cannot write /%s in the container", f->path);
	}
	if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return skiff_error_set(err, errno, "rootfs.overlay",
				       "cannot attach the tmpfs of the overlay's top layer on %s",
				       at);
	return 0;
}

/* root_overlay: overlayfs over the image's layers, made here, inside the
 * container's user and mount namespaces, and attached over this private
 * namespace's "/": no directory is needed as its mount point (one to make
 * and remove on the store's filesystem for every run).  A path looked up
 * from the root does not cross a mount stacked on that root, so the host's
 * paths the other mounts name stay reachable until pivot_root; *rootfd:
 * the overlay's root. */
static int mount_root_overlay(const struct init_config *c, const struct spec_root_overlay *o,
			      int *rootfd, struct skiff_error **err)
{
	_cleanup_close_ int fs = -1, mnt = -1;
	_cleanup_free_ char *top_path = NULL;

	if (o->n_lower == 0)
		return skiff_error_set(err, EINVAL, "rootfs.overlay",
				       "the overlay root has no layer");
	if (o->tmpfs_size != NULL) {
		_cleanup_free_ char *data = xasprintf("size=%s,mode=0755", o->tmpfs_size);

		if (mount("tmpfs", o->tmpfs_dir, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
			return skiff_error_set(err, errno, "rootfs.overlay",
					       "cannot mount the size-capped tmpfs (%s) for the "
					       "writable layer on %s", data, o->tmpfs_dir);
	}
	/* upper's mode is the root's: 0755 whatever the umask. */
	if (mkdir(o->upper, 0755) == 0) {
		if (chmod(o->upper, 0755) < 0)
			return skiff_error_set(err, errno, "rootfs.overlay",
					       "cannot create the writable layer %s", o->upper);
	} else if (errno != EEXIST) {
		return skiff_error_set(err, errno, "rootfs.overlay",
				       "cannot create the writable layer %s", o->upper);
	}
	if (mkdir(o->work, 0700) < 0 && errno != EEXIST)
		return skiff_error_set(err, errno, "rootfs.overlay",
				       "cannot create the writable layer %s", o->upper);
	fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return skiff_error_set(err, errno, "rootfs.overlay.unsupported",
				       "cannot use overlayfs (is the overlay module loaded?)");
	if (o->n_top > 0) {
		top_path = xasprintf("%s/%s", c->ctx->state_root, c->id);
		if (make_top_layer(o, top_path, err) < 0)
			return -1;
	}
	if (overlay_configure(fs, o, top_path, true) < 0) {
		close(fs);
		fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
		if (fs < 0 || overlay_configure(fs, o, top_path, false) < 0)
			return skiff_error_set(err, errno, "rootfs.overlay.unsupported",
					       "cannot mount the overlay of %zu layers over %s%s",
					       o->n_lower, o->upper,
					       errno == EPERM && o->userxattr
					       ? ": this kernel does not allow overlayfs in a "
						 "user namespace (Linux 5.11 or later does)" : "");
	}
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0 || syscall(SYS_move_mount, mnt, "", AT_FDCWD, "/",
			       MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return skiff_error_set(err, errno, "rootfs.overlay",
				       "cannot attach the overlay root of %s", o->upper);
	*rootfd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*rootfd < 0)
		return skiff_error_set(err, errno, "rootfs.open", "cannot open the overlay root");
	return 0;
}

int rootfs_setup(const struct init_config *c, struct skiff_error **err)
{
	const struct spec *s = c->spec;
	_cleanup_close_ int rootfd = -1;
	_cleanup_close_ int cwd = -1;

	/* Nothing done in here may reach the host's mount tree. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return skiff_error_set(err, errno, "rootfs.propagation",
				       "cannot make the mount tree private");
	/* pivot_root needs the new root to be a mount point. */
	if (s->root_overlay != NULL) {
		if (mount_root_overlay(c, s->root_overlay, &rootfd, err) < 0)
			return -1;
	} else {
		if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			return skiff_error_set(err, errno, "rootfs.mount",
					       "cannot bind-mount the rootfs %s (root.path)",
					       c->rootfs);
		rootfd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return skiff_error_set(err, errno, "rootfs.open", "cannot open %s",
					       c->rootfs);
	}

	for (size_t i = 0; i < s->n_mounts; i++)
		if (mount_one(c, rootfd, &s->mounts[i], err) < 0)
			return -1;
	if (devices_setup(c, rootfd, err) < 0)
		return -1;
	/* The cwd is created before the root may turn read-only. */
	cwd = sys_open_in_root(rootfd, s->process->cwd, SYS_CREATE_DIR, 0755, err);
	if (cwd < 0)
		return skiff_error_prefix(err, "process.cwd: ");
	/* prestart, createRuntime and createContainer: mounts made, root
	 * not yet switched (config.md). */
	if (hooks_before_pivot(c, err) < 0)
		return -1;
	if (pivot_to(c, rootfd, err) < 0)
		return -1;
	return rootfs_finish(c, err);
}

/* After pivot_root, /proc is the container's own: a path such as
 * /proc/self/fd/N would be resolved by the container's rules.  These mounts
 * go from fd to fd with the new mount API instead. */
static int move_mount_onto(int tree, int dst)
{
	return (int)syscall(SYS_move_mount, tree, "", dst, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int mount_tmpfs_ro_onto(int dst)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	_cleanup_close_ int mnt = -1;

	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
			   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			   MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return -1;
	return move_mount_onto(mnt, dst);
}

static int bind_fd_onto(int src, int dst, bool ro)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					       MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
	_cleanup_close_ int tree = (int)syscall(SYS_open_tree, src, "",
						OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						AT_EMPTY_PATH | (ro ? AT_RECURSIVE : 0));

	if (tree < 0)
		return -1;
	if (ro && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE,
			  &attr, sizeof(attr)) < 0)
		return -1;
	return move_mount_onto(tree, dst);
}

/* Whether the last mount at dest (the one visible) is of that type. */
static bool spec_mounts_type_at(const struct spec *s, const char *dest, const char *type)
{
	bool found = false;

	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dest) == 0)
			found = s->mounts[i].type != NULL && strcmp(s->mounts[i].type, type) == 0;
	return found;
}

static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* A masked or read-only path under the container's /proc or /sys must be
 * on that procfs or sysfs: otherwise something in the rootfs or a mount
 * took its place, and covering that would leave the real one open. */
static int check_fs_of(const struct spec *s, int fd, const char *path, const char *what,
		       const char *id, struct skiff_error **err)
{
	unsigned long want = 0;
	struct statfs sf;

	if (path_under(path, "/proc") && spec_mounts_type_at(s, "/proc", "proc"))
		want = PROC_SUPER_MAGIC;
	else if (path_under(path, "/sys") && spec_mounts_type_at(s, "/sys", "sysfs"))
		want = SYSFS_MAGIC;
	if (want == 0)
		return 0;
	if (fstatfs(fd, &sf) < 0)
		return skiff_error_set(err, errno, id, "cannot stat %s (%s)", path, what);
	if ((unsigned long)sf.f_type != want)
		return skiff_error_set(err, EXDEV, id,
				       "%s (%s) is not on the container's %s: something in "
				       "the rootfs or mounts[] is in its place", path, what,
				       want == PROC_SUPER_MAGIC ? "procfs" : "sysfs");
	return 0;
}

static int mask_path(const struct spec *s, int rootfd, const char *path,
		     struct skiff_error **err)
{
	_cleanup_error_ struct skiff_error *ignored = NULL;
	_cleanup_close_ int fd = sys_open_in_root(rootfd, path, SYS_NO_CREATE, 0, &ignored);
	_cleanup_close_ int null = -1;
	struct stat st, nst;

	if (fd < 0)
		return 0;       /* nothing there to hide */
	if (fstat(fd, &st) < 0)
		return skiff_error_set(err, errno, "rootfs.mask", "cannot stat %s", path);
	if (check_fs_of(s, fd, path, "linux.maskedPaths", "rootfs.mask", err) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (mount_tmpfs_ro_onto(fd) < 0)
			return skiff_error_set(err, errno, "rootfs.mask",
					       "cannot mask %s (linux.maskedPaths)", path);
		return 0;
	}
	/* /dev/null of the container must really be the null device, or a
	 * symlink there would bind a host file over the path
	 * (CVE-2025-31133). */
	null = sys_open_in_root_nofollow(rootfd, "/dev/null", err);
	if (null < 0)
		return skiff_error_prefix(err, "masking %s: ", path);
	if (fstat(null, &nst) < 0 || !S_ISCHR(nst.st_mode) || nst.st_rdev != makedev(1, 3))
		return skiff_error_set(err, EPERM, "rootfs.mask",
				       "cannot mask %s: /dev/null in the container is not the "
				       "null device", path);
	if (bind_fd_onto(null, fd, false) < 0)
		return skiff_error_set(err, errno, "rootfs.mask",
				       "cannot mask %s (linux.maskedPaths)", path);
	return 0;
}

static int readonly_path(const struct spec *s, int rootfd, const char *path,
			 struct skiff_error **err)
{
	_cleanup_error_ struct skiff_error *ignored = NULL;
	_cleanup_close_ int fd = sys_open_in_root(rootfd, path, SYS_NO_CREATE, 0, &ignored);
	_cleanup_close_ int top = -1;
	struct statvfs sv;

	if (fd < 0)
		return 0;
	if (check_fs_of(s, fd, path, "linux.readonlyPaths", "rootfs.readonly", err) < 0)
		return -1;
	if (bind_fd_onto(fd, fd, true) < 0)
		return skiff_error_set(err, errno, "rootfs.readonly",
				       "cannot make %s read-only (linux.readonlyPaths)", path);
	/* What the path now resolves to is the read-only mount. */
	top = reopen_in_root(rootfd, path, err);
	if (top < 0)
		return -1;
	if (fstatvfs(top, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return skiff_error_set(err, EROFS, "rootfs.readonly",
				       "%s is still writable after its read-only bind mount "
				       "(linux.readonlyPaths)", path);
	return 0;
}

static int write_sysctl(const struct spec_kv *kv, struct skiff_error **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/sys/%s", kv->key);

	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	/* Only onto the container's procfs, never a file planted there. */
	if (sys_write_procfs(path + strlen("/proc/"), kv->value) < 0)
		return skiff_error_set(err, errno, "rootfs.sysctl",
				       "cannot set linux.sysctl %s to \"%s\"", kv->key, kv->value);
	return 0;
}

int rootfs_finish(const struct init_config *c, struct skiff_error **err)
{
	const struct spec_linux *l = c->spec->linux_;
	_cleanup_close_ int rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return skiff_error_set(err, errno, "rootfs.open", "cannot open the new root");
	/* sysctl first: /proc/sys is usually one of the read-only paths. */
	for (size_t i = 0; l != NULL && i < l->n_sysctl; i++)
		if (write_sysctl(&l->sysctl[i], err) < 0)
			return -1;
	for (size_t i = 0; l != NULL && i < l->n_masked_paths; i++)
		if (mask_path(c->spec, rootfd, l->masked_paths[i], err) < 0)
			return -1;
	for (size_t i = 0; l != NULL && i < l->n_readonly_paths; i++)
		if (readonly_path(c->spec, rootfd, l->readonly_paths[i], err) < 0)
			return -1;
	if (c->spec->root.readonly && remount_bind("/", MS_RDONLY) < 0)
		return skiff_error_set(err, errno, "rootfs.readonly",
				       "cannot make the root read-only (root.readonly)");
	if (l != NULL && l->rootfs_propagation_flags != 0 &&
	    mount(NULL, "/", NULL, l->rootfs_propagation_flags, NULL) < 0)
		return skiff_error_set(err, errno, "rootfs.propagation",
				       "cannot set linux.rootfsPropagation \"%s\"",
				       l->rootfs_propagation);
	return 0;
}
