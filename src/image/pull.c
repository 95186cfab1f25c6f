/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pulling: from a registry (docker://REF, or a bare REF; image/registry.c
 * and image/fetch.c do the talking), and from local sources: an OCI image
 * layout (oci:DIR[:REF]), an archive of one (oci-archive:FILE[:REF]), and
 * `docker save` archives (docker-archive:FILE[:REF]).  The resolution
 * below is the same for all of them.
 *
 *   resolve the descriptor (index.json -> nested indexes -> the manifest
 *   for the platform) -> verify manifest and config -> unpack the layers
 *   that are missing, several at once, each in its own worker -> keep the
 *   manifest, config and indexes -> tag.
 *
 * The tag is written last: until then no name points at anything new, so
 * a pull that fails or is killed changes nothing anyone can see. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image/image-internal.h"

#define MAX_WORKERS 4
#define MAX_INDEX_DEPTH 4
#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

struct source {
	struct image_source src;
	int dirfd;                       /* the layout, or the unpacked archive */
	char *tmpdir;                    /* store-relative, removed at the end */
	/* docker-archive: layer paths by digest */
	char **blob_digests, **blob_paths;
	size_t n_blobs;
	char *name;                      /* the name to store the image under */
	struct registry *reg;            /* docker:// */
};

static void source_clear(struct image_store *s, struct source *src)
{
	if (src->dirfd >= 0)
		close(src->dirfd);
	if (src->tmpdir) {
		store_rm_rf_at(s->dirfd, src->tmpdir, NULL);
		free(src->tmpdir);
	}
	for (size_t i = 0; i < src->n_blobs; i++) {
		free(src->blob_digests[i]);
		free(src->blob_paths[i]);
	}
	free(src->blob_digests);
	free(src->blob_paths);
	free(src->name);
	registry_free(src->reg);
	image_source_clear(&src->src);
}

/* Opens PATH inside the source without leaving it (archives may carry
 * symlinks, docker save does for shared layers). */
static int source_open(struct source *src, const char *path, struct skiff_error **err)
{
	_cleanup_close_ int pfd = sys_open_in_root(src->dirfd, path, SYS_NO_CREATE, 0, NULL);
	char buf[32];
	int fd;

	if (pfd < 0)
		return skiff_error_set(err, errno, "image.blob.missing", "%s has no file %s",
				       src->src.path, path);
	fd = open(sys_fd_path(pfd, buf), O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return skiff_error_set(err, errno, "image.blob.missing", "cannot open %s in %s",
				       path, src->src.path);
	return fd;
}

static int open_blob(struct source *src, const char *digest, struct skiff_error **err)
{
	_cleanup_free_ char *path = NULL;

	for (size_t i = 0; i < src->n_blobs; i++)
		if (strcmp(src->blob_digests[i], digest) == 0)
			return source_open(src, src->blob_paths[i], err);
	path = xasprintf("blobs/sha256/%s", digest_hex(digest));
	return source_open(src, path, err);
}

/* Reads a JSON blob: bounded before reading, then size and digest checked.
 * One the store has already (verified again as it is read) is not asked
 * of the source. */
static int read_blob(struct image_store *s, struct source *src, const struct descriptor *d,
		     size_t max, const char *what, char **data, size_t *len,
		     struct skiff_error **err)
{
	_cleanup_free_ char *buf = NULL, *actual = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	char pbuf[32];
	size_t n;

	if (d->size <= max && store_has_blob(s, d->digest)) {
		struct skiff_error *e = NULL;

		if (store_read_blob(s, d->digest, max, &buf, &n, &e) == 0 && n == d->size) {
			*data = steal_pointer(&buf);
			*len = n;
			return 0;
		}
		log_debug("%s %s: the store's copy is unusable (%s); reading it again", what,
			  d->digest, e ? e->msg : "another size");
		skiff_error_free(e);
		free(steal_pointer(&buf));
	}
	if (src->reg)
		return registry_read_blob(src->reg, d, max, what, data, len, err);
	if (d->size > max)
		return skiff_error_set(err, 0, "image.manifest.too_big",
				       "%s %s is %llu bytes, more than the %zu skiff accepts",
				       what, d->digest, (unsigned long long)d->size, max);
	fd = open_blob(src, d->digest, err);
	if (fd < 0)
		return skiff_error_prefix(err, "%s %s: ", what, d->digest);
	if (fstat(fd, &st) < 0 || (size_t)st.st_size > max)
		return skiff_error_set(err, 0, "image.manifest.too_big",
				       "%s %s is %lld bytes, more than the %zu skiff accepts",
				       what, d->digest, (long long)st.st_size, max);
	if (read_file_at(AT_FDCWD, sys_fd_path(fd, pbuf), max, &buf, &n, err) < 0)
		return -1;
	if (n != d->size)
		return skiff_error_set(err, 0, "image.blob.size_mismatch",
				       "%s %s has %zu bytes, its descriptor says %llu: it is "
				       "truncated or corrupt", what, d->digest, n,
				       (unsigned long long)d->size);
	actual = digest_buffer(buf, n);
	if (strcmp(actual, d->digest) != 0)
		return skiff_error_set(err, 0, "image.blob.digest_mismatch",
				       "%s %s has the digest %s: it is corrupt or was tampered with",
				       what, d->digest, actual);
	*data = steal_pointer(&buf);
	*len = n;
	return 0;
}

/* ---- archives ------------------------------------------------------------------ */

/* Unpacks an archive of a layout into tmp/: regular files, directories and
 * symlinks only, each resolved inside the directory. */
static int extract_archive(struct image_store *s, struct source *src, struct skiff_error **err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc = 0;

	src->tmpdir = store_tmp_name("archive");
	if (mkdirat(s->dirfd, src->tmpdir, 0700) < 0 ||
	    (src->dirfd = openat(s->dirfd, src->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		archive_read_free(a);
		return skiff_error_set(err, errno, "image.store.write", "cannot create %s/%s",
				       s->path, src->tmpdir);
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, src->src.path, 1 << 16) != ARCHIVE_OK) {
		rc = skiff_error_set(err, archive_errno(a), "image.archive.open",
				     "cannot open the archive %s: %s", src->src.path,
				     archive_error_string(a));
		goto out;
	}
	for (;;) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int pfd = -1, fd = -1;
		const char *name, *slash;
		mode_t type;
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = skiff_error_set(err, 0, "image.archive.malformed",
					     "the archive %s is not a valid tar: %s", src->src.path,
					     archive_error_string(a));
			goto out;
		}
		name = archive_entry_pathname(e);
		type = archive_entry_filetype(e);
		if (name == NULL || name[0] == '/' || strstr(name, "..") != NULL) {
			rc = skiff_error_set(err, 0, "image.archive.malformed",
					     "the archive %s has the unsafe member \"%s\"", src->src.path,
					     name ? name : "");
			goto out;
		}
		path = xstrdup(name);
		while (*path && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		if (*path == '\0' || strcmp(path, ".") == 0)
			continue;
		slash = strrchr(path, '/');
		if (type == AE_IFDIR) {
			pfd = sys_open_in_root(src->dirfd, path, SYS_CREATE_DIR, 0700, err);
			if (pfd < 0)
				goto fail;
			continue;
		}
		if (slash) {
			path[slash - path] = '\0';
			pfd = sys_open_in_root(src->dirfd, path, SYS_CREATE_DIR, 0700, err);
			path[slash - path] = '/';
		} else {
			pfd = fcntl(src->dirfd, F_DUPFD_CLOEXEC, 3);
		}
		if (pfd < 0)
			goto fail;
		name = slash ? slash + 1 : path;
		if (type == AE_IFLNK) {
			if (symlinkat(archive_entry_symlink(e), pfd, name) < 0) {
				rc = skiff_error_set(err, errno, "image.store.write",
						     "cannot unpack %s from %s", path, src->src.path);
				goto out;
			}
			continue;
		}
		if (type != AE_IFREG)
			continue;
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || archive_read_data_into_fd(a, fd) != ARCHIVE_OK) {
			rc = skiff_error_set(err, errno, "image.archive.malformed",
					     "cannot unpack %s from %s: %s", path, src->src.path,
					     archive_error_string(a) ? archive_error_string(a) : "");
			goto out;
		}
	}
	goto out;
fail:
	rc = skiff_error_prefix(err, "the archive %s: ", src->src.path);
out:
	archive_read_free(a);
	return rc;
}

/* ---- naming --------------------------------------------------------------------- */

/* "localhost/<what the directory is called>:<tag>", the name Podman gives
 * local images, made valid. */
static char *local_name(const char *path, const char *tag)
{
	_cleanup_free_ char *copy = xstrdup(path), *base = NULL;
	char *b = basename(copy);
	char *dot = strstr(b, ".tar");
	struct image_ref ref;
	char *out, *s;

	if (dot)
		*dot = '\0';
	base = xstrdup(b);
	for (char *c = base; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
			   *c == '_' || *c == '-'))
			*c = '-';
	}
	s = xasprintf("localhost/%s:%s", base, tag ? tag : "latest");
	if (image_ref_parse(s, &ref, NULL) < 0) {
		free(s);
		s = xasprintf("localhost/image:%s", tag ? tag : "latest");
		if (image_ref_parse(s, &ref, NULL) < 0) {
			free(s);
			s = xstrdup("localhost/image:latest");
			if (image_ref_parse(s, &ref, NULL) < 0)
				abort();
		}
	}
	free(s);
	out = image_ref_string(&ref);
	image_ref_clear(&ref);
	return out;
}

/* A REF that is a full reference ("quay.io/x:1") names the image; a bare
 * tag ("v1") is a tag of the directory's name. */
static char *name_for(const char *path, const char *ref)
{
	struct image_ref r;

	if (ref != NULL && strchr(ref, '/') != NULL && image_ref_parse(ref, &r, NULL) == 0) {
		char *s = image_ref_string(&r);

		image_ref_clear(&r);
		return s;
	}
	return local_name(path, ref);
}

/* ---- OCI layouts ---------------------------------------------------------------- */

static int layout_top(struct source *src, const struct image_platform *p,
		      struct descriptor *out, struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *names = xstrdup("");
	_cleanup_json_ json_t *j = NULL;
	const char *want = src->src.local_ref;
	json_t *ms, *m, *pick = NULL;
	size_t i, n_latest = 0;
	size_t len;
	int fd;

	fd = source_open(src, "oci-layout", err);
	if (fd < 0)
		return skiff_error_set(err, 0, "image.layout.invalid",
				       "%s is not an OCI image layout: it has no oci-layout file",
				       src->src.path);
	close(fd);
	fd = source_open(src, "index.json", err);
	if (fd < 0)
		return -1;
	{
		char b[32];
		int r = read_file_at(AT_FDCWD, sys_fd_path(fd, b), IMAGE_MANIFEST_MAX, &text, &len, err);

		close(fd);
		if (r < 0)
			return skiff_error_set(err, 0, "image.manifest.too_big",
					       "%s/index.json is unreadable or larger than %u bytes",
					       src->src.path, IMAGE_MANIFEST_MAX);
	}
	j = json_loadb(text, len, 0, NULL);
	ms = j ? json_object_get(j, "manifests") : NULL;
	if (!json_is_array(ms))
		return skiff_error_set(err, 0, "image.layout.invalid",
				       "%s/index.json is not an image index (no \"manifests\" array)",
				       src->src.path);
	json_array_foreach(ms, i, m) {
		json_t *ann = json_object_get(m, "annotations");
		json_t *rn = json_object_get(ann, REF_NAME_ANNOTATION);
		const char *name = json_is_string(rn) ? json_string_value(rn) : NULL;

		if (name) {
			char *next = xasprintf("%s%s%s", names, *names ? ", " : "", name);

			free(names);
			names = next;
		}
		if (want && name && strcmp(name, want) == 0)
			pick = m;
		if (!want && name && strcmp(name, "latest") == 0 && n_latest++ == 0)
			pick = m;
	}
	if (want && pick == NULL)
		return skiff_error_set(err, 0, "image.not_found",
				       "%s has no image named \"%s\" (names: %s)", src->src.path,
				       want, *names ? names : "none");
	if (pick == NULL && json_array_size(ms) == 1)
		pick = json_array_get(ms, 0);
	if (pick == NULL) {
		/* A flat multi-platform layout: index.json is the index. */
		_cleanup_free_ char *what = xasprintf("%s/index.json", src->src.path);

		return index_select(text, len, what, p, out, err);
	}
	{
		json_t *rn = json_object_get(json_object_get(pick, "annotations"), REF_NAME_ANNOTATION);

		src->name = name_for(src->src.path, json_is_string(rn) ? json_string_value(rn) : want);
	}
	{
		const char *dg = json_string_value(json_object_get(pick, "digest"));
		json_t *size = json_object_get(pick, "size");
		const char *mt = json_string_value(json_object_get(pick, "mediaType"));

		if (dg == NULL || !json_is_integer(size) || json_integer_value(size) < 0 ||
		    image_digest_parse(dg, "digest", err) < 0)
			return skiff_error_set(err, 0, "image.layout.invalid",
					       "%s/index.json: a manifest descriptor lacks a valid "
					       "digest or size", src->src.path);
		out->digest = xstrdup(dg);
		out->size = (uint64_t)json_integer_value(size);
		out->media_type = xstrdup(mt ? mt : "");
	}
	return 0;
}

/* ---- docker save archives --------------------------------------------------------- */

static void add_blob(struct source *src, const char *digest, const char *path)
{
	src->blob_digests = xrealloc(src->blob_digests, (src->n_blobs + 1) * sizeof(char *));
	src->blob_paths = xrealloc(src->blob_paths, (src->n_blobs + 1) * sizeof(char *));
	src->blob_digests[src->n_blobs] = xstrdup(digest);
	src->blob_paths[src->n_blobs++] = xstrdup(path);
}

/* Makes a schema 2 manifest for the entry of manifest.json, so that a
 * docker-archive image is stored like any other. */
static int docker_archive_manifest(struct source *src, char **manifest, size_t *mlen,
				   struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *cdigest = NULL;
	_cleanup_json_ json_t *j = NULL, *out = NULL;
	json_t *entry = NULL, *e, *layers, *l, *olayers;
	const char *want = src->src.local_ref, *cpath;
	uint64_t csize;
	size_t i, len;
	int fd;

	fd = source_open(src, "manifest.json", err);
	if (fd < 0)
		return skiff_error_set(err, 0, "image.archive.malformed",
				       "%s is not a docker save archive: it has no manifest.json",
				       src->src.path);
	{
		char b[32];
		int r = read_file_at(AT_FDCWD, sys_fd_path(fd, b), IMAGE_MANIFEST_MAX, &text, &len, err);

		close(fd);
		if (r < 0)
			return -1;
	}
	j = json_loadb(text, len, 0, NULL);
	if (!json_is_array(j) || json_array_size(j) == 0)
		return skiff_error_set(err, 0, "image.archive.malformed",
				       "%s: manifest.json is not a non-empty array", src->src.path);
	json_array_foreach(j, i, e) {
		json_t *tags = json_object_get(e, "RepoTags"), *t;
		size_t k;

		if (want && want[0] == '@') {
			int64_t n;

			if (parse_int64(want + 1, 0, INT32_MAX, &n) == 0 && (size_t)n == i)
				entry = e;
			continue;
		}
		json_array_foreach(tags, k, t) {
			struct image_ref a, b;
			bool same = false;

			if (!want || !json_is_string(t))
				continue;
			if (image_ref_parse(json_string_value(t), &a, NULL) == 0) {
				if (image_ref_parse(want, &b, NULL) == 0) {
					_cleanup_free_ char *x = image_ref_string(&a), *y = image_ref_string(&b);

					same = strcmp(x, y) == 0;
					image_ref_clear(&b);
				}
				image_ref_clear(&a);
			}
			if (same)
				entry = e;
		}
	}
	if (!want && json_array_size(j) == 1)
		entry = json_array_get(j, 0);
	if (entry == NULL && want)
		return skiff_error_set(err, 0, "image.not_found", "%s has no image \"%s\"",
				       src->src.path, want);
	if (entry == NULL)
		return skiff_error_set(err, 0, "image.not_found",
				       "%s holds several images: name one (docker-archive:FILE:NAME "
				       "or docker-archive:FILE:@N)", src->src.path);
	{
		json_t *tags = json_object_get(entry, "RepoTags");
		const char *t0 = json_string_value(json_array_get(tags, 0));
		struct image_ref r;

		if (want && want[0] != '@' && image_ref_parse(want, &r, NULL) == 0) {
			src->name = image_ref_string(&r);
			image_ref_clear(&r);
		} else if (t0 && image_ref_parse(t0, &r, NULL) == 0) {
			src->name = image_ref_string(&r);
			image_ref_clear(&r);
		} else {
			src->name = local_name(src->src.path, NULL);
		}
	}
	cpath = json_string_value(json_object_get(entry, "Config"));
	layers = json_object_get(entry, "Layers");
	if (cpath == NULL || !json_is_array(layers))
		return skiff_error_set(err, 0, "image.archive.malformed",
				       "%s: manifest.json: an entry lacks Config or Layers", src->src.path);
	fd = source_open(src, cpath, err);
	if (fd < 0)
		return -1;
	if (digest_fd(fd, &cdigest, &csize, err) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	add_blob(src, cdigest, cpath);
	olayers = json_array();
	json_array_foreach(layers, i, l) {
		_cleanup_free_ char *ld = NULL;
		unsigned char magic[4] = { 0 };
		const char *mt = "application/vnd.docker.image.rootfs.diff.tar";
		uint64_t lsize;

		if (!json_is_string(l)) {
			json_decref(olayers);
			return skiff_error_set(err, 0, "image.archive.malformed",
					       "%s: manifest.json: Layers[%zu] is not a path",
					       src->src.path, i);
		}
		fd = source_open(src, json_string_value(l), err);
		if (fd < 0) {
			json_decref(olayers);
			return -1;
		}
		if (pread(fd, magic, 4, 0) == 4) {
			if (magic[0] == 0x1f && magic[1] == 0x8b)
				mt = "application/vnd.docker.image.rootfs.diff.tar.gzip";
			else if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
				mt = "application/vnd.docker.image.rootfs.diff.tar.zstd";
		}
		if (digest_fd(fd, &ld, &lsize, err) < 0) {
			close(fd);
			json_decref(olayers);
			return -1;
		}
		close(fd);
		add_blob(src, ld, json_string_value(l));
		json_array_append_new(olayers, json_pack("{s:s, s:I, s:s}", "mediaType", mt,
							 "size", (json_int_t)lsize, "digest", ld));
	}
	out = json_pack("{s:i, s:s, s:{s:s, s:I, s:s}, s:o}", "schemaVersion", 2,
			"mediaType", "application/vnd.docker.distribution.manifest.v2+json",
			"config", "mediaType", "application/vnd.docker.container.image.v1+json",
			"size", (json_int_t)csize, "digest", cdigest, "layers", olayers);
	*manifest = json_dumps(out, JSON_COMPACT);
	*mlen = strlen(*manifest);
	return 0;
}

/* ---- the pull ---------------------------------------------------------------------- */

struct worker {
	pid_t pid;
	int resultfd;
	size_t layer;
	uint64_t start;
	struct layer_job job;
	struct layer_result res;
};

static void notices(struct image_store *s, const struct layer_result *r, const char *what)
{
	if (r->owners_collapsed && !s->notice_given) {
		s->notice_given = true;
		log_warning("no /etc/subuid range (or no newuidmap) for this user: file owners "
			    "in the image are collapsed to you; ask for a range to keep them");
	}
	if (r->devices_skipped)
		log_warning("%s: %u device nodes skipped (a rootless container cannot use them; "
			    "its /dev is made at run time)", what, r->devices_skipped);
	if (r->xattrs_skipped)
		log_debug("%s: %u extended attributes not kept", what, r->xattrs_skipped);
}

static int worker_finish(struct image_store *s, struct worker *w, const struct manifest *m,
			 struct progress *p, struct skiff_error **err)
{
	int rc = store_owner_finish(w->pid, w->resultfd, &w->res, sizeof(w->res), err);

	close(w->job.fd);
	free((char *)w->job.what);
	if (rc < 0)
		return -1;
	notices(s, &w->res, m->layers[w->layer].digest);
	progress_layer_end(p, w->layer, w->res.skipped ? "exists" : "unpacked", w->res.read,
			   (double)(now_ns() - w->start) / 1e9);
	return 0;
}

static int unpack_layers(struct image_store *s, struct source *src, const struct manifest *m,
			 const struct image_config *c, struct progress *p,
			 struct skiff_error **err)
{
	struct worker w[MAX_WORKERS];
	size_t running = 0, next = 0;
	int rc = 0;

	while (next < m->n_layers || running > 0) {
		if (rc == 0 && next < m->n_layers && running < MAX_WORKERS) {
			struct worker *x = &w[running];
			size_t i = next++;

			progress_layer_begin(p, i, &m->layers[i], c->diff_ids[i]);
			if (store_has_layer(s, c->diff_ids[i])) {
				progress_layer_end(p, i, "exists", 0, 0);
				continue;
			}
			memset(x, 0, sizeof(*x));
			x->layer = i;
			x->start = now_ns();
			x->job.fd = open_blob(src, m->layers[i].digest, err);
			if (x->job.fd < 0) {
				rc = skiff_error_prefix(err, "layer %s: ", m->layers[i].digest);
				continue;
			}
			x->job.digest = m->layers[i].digest;
			x->job.size = m->layers[i].size;
			x->job.diff_id = c->diff_ids[i];
			x->job.what = xasprintf("layer %s", m->layers[i].digest);
			x->pid = store_owner_start(s, layer_unpack, &x->job, sizeof(x->res),
						   &x->resultfd, err);
			if (x->pid < 0) {
				close(x->job.fd);
				free((char *)x->job.what);
				rc = -1;
				continue;
			}
			running++;
			continue;
		}
		if (running == 0)
			break;
		/* Oldest first: progress lines come in layer order. */
		if (worker_finish(s, &w[0], m, p, rc == 0 ? err : NULL) < 0)
			rc = -1;
		memmove(&w[0], &w[1], (running - 1) * sizeof(w[0]));
		running--;
	}
	return rc;
}

static int open_source(struct image_store *s, struct source *src, struct skiff_error **err)
{
	switch (src->src.transport) {
	case IMAGE_TRANSPORT_OCI:
		src->dirfd = open(src->src.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (src->dirfd < 0)
			return skiff_error_set(err, errno, "image.layout.invalid",
					       "cannot open the OCI layout directory %s", src->src.path);
		return 0;
	case IMAGE_TRANSPORT_OCI_ARCHIVE:
	case IMAGE_TRANSPORT_DOCKER_ARCHIVE:
		return extract_archive(s, src, err);
	case IMAGE_TRANSPORT_DOCKER:
		break;
	}
	src->name = image_ref_string(&src->src.ref);
	return 0;
}

int image_pull(struct image_store *s, const char *source_text,
	       const struct image_pull_options *o, char **name, struct skiff_error **err)
{
	struct source src = { .dirfd = -1 };
	struct registry_options ro = { .tls_verify = -1 };
	struct image_platform plat = { 0 };
	struct descriptor d = { 0 };
	struct manifest m = { 0 };
	struct image_config c = { 0 };
	struct progress *p = progress_new(o ? o->progress : IMAGE_PROGRESS_LINES,
					  o ? o->progress_out : NULL);
	_cleanup_free_ char *mdata = NULL, *cdata = NULL;
	char **indexes = NULL, **index_data = NULL;
	size_t *index_len = NULL, n_indexes = 0, mlen = 0, clen = 0;
	int rc = -1;

	if (image_source_parse(source_text, &src.src, err) < 0 ||
	    image_platform_parse(o ? o->platform : NULL, &plat, err) < 0 ||
	    lazylib_load(src.src.transport == IMAGE_TRANSPORT_DOCKER, err) < 0)
		goto out;
	if (o) {
		ro.authfile = o->authfile;
		ro.creds = o->creds;
		ro.cert_dir = o->cert_dir;
		ro.tls_verify = o->tls_verify == IMAGE_TLS_VERIFY ? 1
				: o->tls_verify == IMAGE_TLS_NO_VERIFY ? 0 : -1;
	}
	/* The workers' namespace is mapped while the source is read. */
	store_owner_prepare(s);
	if (open_source(s, &src, err) < 0)
		goto out;

	if (src.src.transport == IMAGE_TRANSPORT_DOCKER) {
		if (registry_open_image(&src.src.ref, &ro, &src.reg, &mdata, &mlen, &d.digest, err) < 0)
			goto out;
		d.size = mlen;
	}
	if (src.src.transport == IMAGE_TRANSPORT_DOCKER_ARCHIVE) {
		if (docker_archive_manifest(&src, &mdata, &mlen, err) < 0)
			goto out;
		d.digest = digest_buffer(mdata, mlen);
		d.size = mlen;
	} else {
		if (src.reg == NULL && layout_top(&src, &plat, &d, err) < 0)
			goto out;
		if (src.name == NULL)
			src.name = local_name(src.src.path, src.src.local_ref);
		/* index -> index -> … -> the manifest for the platform */
		for (int depth = 0;; depth++) {
			_cleanup_free_ char *what = xasprintf("the manifest %s", d.digest);
			enum manifest_kind kind;
			struct descriptor next = { 0 };

			/* A registry's first manifest came by tag, not by descriptor. */
			if ((mdata == NULL &&
			     read_blob(s, &src, &d, IMAGE_MANIFEST_MAX, "manifest", &mdata, &mlen, err) < 0) ||
			    manifest_kind(mdata, mlen, what, &kind, err) < 0)
				goto out;
			if (kind == MANIFEST_IMAGE)
				break;
			if (depth == MAX_INDEX_DEPTH) {
				skiff_error_set(err, 0, "image.manifest.invalid",
						"%s: image indexes are nested more than %d deep",
						src.src.path, MAX_INDEX_DEPTH);
				goto out;
			}
			if (index_select(mdata, mlen, what, &plat, &next, err) < 0)
				goto out;
			indexes = xrealloc(indexes, (n_indexes + 1) * sizeof(char *));
			index_data = xrealloc(index_data, (n_indexes + 1) * sizeof(char *));
			index_len = xrealloc(index_len, (n_indexes + 1) * sizeof(size_t));
			indexes[n_indexes] = xstrdup(d.digest);
			index_data[n_indexes] = steal_pointer(&mdata);
			index_len[n_indexes++] = mlen;
			descriptor_clear(&d);
			d = next;
		}
	}
	{
		_cleanup_free_ char *what = xasprintf("the manifest %s", d.digest);
		_cleanup_free_ char *cwhat = NULL;

		if (manifest_parse(mdata, mlen, what, &m, err) < 0)
			goto out;
		if (read_blob(s, &src, &m.config, IMAGE_CONFIG_MAX, "config", &cdata, &clen, err) < 0)
			goto out;
		cwhat = xasprintf("the config %s", m.config.digest);
		if (config_parse(cdata, clen, cwhat, &c, err) < 0)
			goto out;
	}
	if (c.os && c.arch && !platform_matches(&plat, c.os, c.arch, c.variant)) {
		_cleanup_free_ char *want = image_platform_string(&plat);

		skiff_error_set(err, 0, "image.platform.mismatch",
				"%s is an image for %s/%s%s%s, not for %s: choose another image "
				"or --platform", source_text, c.os, c.arch, c.variant ? "/" : "",
				c.variant ? c.variant : "", want);
		goto out;
	}
	if (c.n_diff_ids != m.n_layers) {
		skiff_error_set(err, 0, "image.manifest.invalid",
				"the manifest %s has %zu layers but its config %s lists %zu diff_ids",
				d.digest, m.n_layers, m.config.digest, c.n_diff_ids);
		goto out;
	}
	progress_set_layers(p, m.n_layers);
	if (src.reg ? fetch_layers(s, src.reg, &m, &c, p, err) < 0
		    : unpack_layers(s, &src, &m, &c, p, err) < 0)
		goto out;
	for (size_t i = 0; i < n_indexes; i++)
		if (store_put_blob(s, indexes[i], index_data[i], index_len[i], err) < 0)
			goto out;
	if (store_put_blob(s, m.config.digest, cdata, clen, err) < 0 ||
	    store_put_blob(s, d.digest, mdata, mlen, err) < 0)
		goto out;
	/* Last: only now does a name point at the new content. */
	if (store_tag_set(s, src.name, d.digest, n_indexes ? indexes[0] : NULL, err) < 0)
		goto out;
	progress_done(p, src.name, m.config.digest, d.digest);
	if (name)
		*name = xstrdup(src.name);
	rc = 0;
out:
	for (size_t i = 0; i < n_indexes; i++) {
		free(indexes[i]);
		free(index_data[i]);
	}
	free(indexes);
	free(index_data);
	free(index_len);
	descriptor_clear(&d);
	manifest_clear(&m);
	config_clear(&c);
	image_platform_clear(&plat);
	source_clear(s, &src);
	progress_free(p);
	return rc;
}
