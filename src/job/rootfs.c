/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's root: an overlay of the stored layers with a writable
 * layer of its own (the container's init mounts it, inside its user
 * namespace), or, where overlayfs cannot be used, the flattening fallback:
 * the layers applied into a private copy in the container's directory.
 *
 * --rootfs-mode auto (the default) tries the overlay and, when the kernel
 * or the store's filesystem refuses it (rootfs.overlay.unsupported, from
 * the init's own mount attempt: nothing is guessed), says so once on
 * stderr and creates the container again over a flattened copy.  The try
 * costs nothing where overlay works, and where it does not, one refused
 * create (a few ms) next to the copy itself.  "overlay" and "flatten" force
 * one way; forced overlay fails where overlay cannot be used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/job-internal.h"

int job_rootfs_mode_parse(const char *s, enum job_rootfs_mode *out, struct skiff_error **err)
{
	static const char *const names[] = {
		[JOB_ROOTFS_AUTO] = "auto",
		[JOB_ROOTFS_OVERLAY] = "overlay",
		[JOB_ROOTFS_FLATTEN] = "flatten",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum job_rootfs_mode)i;
			return 0;
		}
	return skiff_error_set(err, EINVAL, "cli.usage",
			       "run: --rootfs-mode %s: expected overlay, flatten or auto", s);
}

static struct spec_root_overlay *overlay_of(const struct job_rootfs *rf)
{
	const struct image_layers *l = rf->layers;
	struct spec_root_overlay *ov = xzalloc(sizeof(*ov));
	const char *wl = rf->dir;
	_cleanup_free_ char *capped = NULL;

	ov->lower = xzalloc((l->n_dirs + 1) * sizeof(char *));
	for (size_t i = 0; i < l->n_dirs; i++)
		ov->lower[i] = xstrdup(l->dirs[l->n_dirs - 1 - i]);
	ov->n_lower = l->n_dirs;
	ov->userxattr = rf->userxattr;
	/* An ephemeral container's writable layer is removed with it, so
	 * nothing in it is worth a sync: without "volatile" the overlay's
	 * unmount, as the init exits, syncs the store's whole filesystem
	 * (overlayfs.rst, "Volatile mount"; Podman does the same for --rm).
	 * Kept containers keep the usual guarantees. */
	ov->volatile_upper = !rf->o->keep;
	if (rf->o->storage_limit != NULL) {
		capped = xasprintf("%s/wl", rf->dir);
		ov->tmpfs_dir = xstrdup(capped);
		ov->tmpfs_size = xstrdup(rf->o->storage_limit);
		wl = capped;
	}
	ov->upper = xasprintf("%s/upper", wl);
	ov->work = xasprintf("%s/work", wl);
	if (rf->etc->in_layer) {
		ov->n_top = 1 + JOB_N_ETC_FILES;
		ov->top = xzalloc(ov->n_top * sizeof(*ov->top));
		ov->top[0] = (struct spec_overlay_file){ xstrdup("etc"), rf->etc->dir_mode, NULL };
		for (size_t i = 0; i < JOB_N_ETC_FILES; i++)
			ov->top[1 + i] = (struct spec_overlay_file){
				xasprintf("etc/%s", job_etc_files[i]), 0644,
				xstrdup(rf->etc->text[i]) };
	}
	return ov;
}

/* The layers applied into DIR/rootfs (made by image_flatten), with the
 * store's owner mapping; the spec's root stays root.path = that copy. */
static int flatten_root(const struct job_rootfs *rf, struct spec *spec, struct skiff_error **err)
{
	_cleanup_free_ char *dest = xasprintf("%s/rootfs", rf->dir);

	if (rf->o->storage_limit != NULL)
		return skiff_error_set(err, EINVAL, "job.rootfs.flatten_limit",
				       "--storage-limit caps the overlay's writable layer, and "
				       "the root of this container is a flattened copy "
				       "(--rootfs-mode flatten, or overlayfs unusable here): drop "
				       "--storage-limit, or run where overlayfs works");
	spec_root_overlay_free(spec->root_overlay);
	spec->root_overlay = NULL;
	if (image_flatten(rf->s, rf->layers->id, dest, err) < 0)
		return skiff_error_prefix(err, "flattening the image for the container's root: ");
	return 0;
}

/* The /etc files the refused overlay's top layer was to hold (files.c),
 * written into the flattened copy that replaces it: over the image's own,
 * as the overlay would have shown them.  The image's top-most /etc was
 * checked to be a directory, so the copy's is one (or there is none). */
static int write_etc_files(const struct job_rootfs *rf, struct skiff_error **err)
{
	_cleanup_close_ int dir = open(rf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int etc = -1;

	if (dir >= 0 && mkdirat(dir, "rootfs/etc", 0755) < 0 && errno != EEXIST)
		return skiff_error_set(err, errno, "job.files", "cannot make %s/rootfs/etc",
				       rf->dir);
	if (dir >= 0)
		etc = openat(dir, "rootfs/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (etc < 0)
		return skiff_error_set(err, errno, "job.files", "cannot open %s/rootfs/etc",
				       rf->dir);
	for (size_t i = 0; i < JOB_N_ETC_FILES; i++)
		if (write_file_atomic_at(etc, job_etc_files[i], rf->etc->text[i],
					 strlen(rf->etc->text[i]), 0644, err) < 0)
			return skiff_error_prefix(err, "the container's /etc/%s in its flattened "
						  "root: ", job_etc_files[i]);
	return 0;
}

/* What the refused overlay attempt left in the container's directory. */
static int remove_writable_layer(const struct job_rootfs *rf, struct skiff_error **err)
{
	static const char *const parts[] = { "upper", "work" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		_cleanup_free_ char *rel = xasprintf("%s/%s", rf->dir_rel, parts[i]);

		if (image_store_remove(rf->s, rel, err) < 0)
			return -1;
	}
	return 0;
}

int job_rootfs_create(const struct runtime_ctx *ctx, const char *id, struct create_opts *co,
		      const struct job_rootfs *rf, int notice_fd, pid_t *pid, bool *started,
		      struct skiff_error **err)
{
	struct spec *spec = co->spec;
	_cleanup_error_ struct skiff_error *refused = NULL;

	if (rf->o->rootfs_mode == JOB_ROOTFS_FLATTEN) {
		if (flatten_root(rf, spec, err) < 0)
			return -1;
		return container_create(ctx, id, co, pid, started, err);
	}
	spec->root_overlay = overlay_of(rf);
	if (container_create(ctx, id, co, pid, started, &refused) == 0)
		return 0;
	if (strcmp(refused->id, "rootfs.overlay.unsupported") != 0 ||
	    rf->o->rootfs_mode == JOB_ROOTFS_OVERLAY) {
		if (strcmp(refused->id, "rootfs.overlay.unsupported") == 0)
			skiff_error_prefix(&refused, "--rootfs-mode overlay: ");
		*err = steal_pointer(&refused);
		return -1;
	}
	{
		_cleanup_free_ char *why = skiff_error_text(refused);

		dprintf(notice_fd, "skiff: overlayfs cannot be used here (%s); the container's "
			"root is a flattened copy of the image instead (--rootfs-mode)\n", why);
	}
	if (remove_writable_layer(rf, err) < 0 || flatten_root(rf, spec, err) < 0 ||
	    (rf->etc->in_layer && write_etc_files(rf, err) < 0))
		return -1;
	return container_create(ctx, id, co, pid, started, err);
}
