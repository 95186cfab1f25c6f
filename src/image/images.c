/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the store holds: listing, inspecting, removing names, pruning what
 * no name uses, verifying. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image-internal.h"

/* An image as stored: its name, manifest and config. */
struct stored {
	char *name, *manifest_digest, *index_digest;
	char *config_data;
	size_t config_len;
	struct manifest m;
	struct image_config c;
};

static void stored_clear(struct stored *x)
{
	free(x->name);
	free(x->manifest_digest);
	free(x->index_digest);
	free(x->config_data);
	manifest_clear(&x->m);
	config_clear(&x->c);
	memset(x, 0, sizeof(*x));
}

/* Loads a stored image by its name or, when manifest is given, by its
 * manifest digest (a container keeps the image it was made of, tagged or
 * not). */
static int stored_load_manifest(struct image_store *s, const char *name, const char *manifest,
				struct stored *x, struct skiff_error **err)
{
	_cleanup_free_ char *mdata = NULL;
	size_t mlen;

	memset(x, 0, sizeof(*x));
	x->name = xstrdup(name);
	if (manifest != NULL)
		x->manifest_digest = xstrdup(manifest);
	if ((manifest == NULL &&
	     store_tag_get(s, name, &x->manifest_digest, &x->index_digest, err) < 0) ||
	    store_read_blob(s, x->manifest_digest, IMAGE_MANIFEST_MAX, &mdata, &mlen, err) < 0 ||
	    manifest_parse(mdata, mlen, x->manifest_digest, &x->m, err) < 0 ||
	    store_read_blob(s, x->m.config.digest, IMAGE_CONFIG_MAX, &x->config_data,
			    &x->config_len, err) < 0 ||
	    config_parse(x->config_data, x->config_len, x->m.config.digest, &x->c, err) < 0) {
		stored_clear(x);
		return skiff_error_prefix(err, "image %s: ", name);
	}
	return 0;
}

static int stored_load(struct image_store *s, const char *name, struct stored *x,
		       struct skiff_error **err)
{
	return stored_load_manifest(s, name, NULL, x, err);
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
			return false;
	return true;
}

/* The names IMAGE stands for: one name, or every name of an image id. */
static int resolve(struct image_store *s, const char *image, char ***names,
		   struct skiff_error **err)
{
	const char *hex = strncmp(image, "sha256:", 7) == 0 ? image + 7 : image;
	struct image_ref ref;
	_cleanup_strv_ char **all = NULL;
	char **out;
	size_t n = 0;

	if (strlen(hex) >= 12 && strlen(hex) <= 64 && is_hex(hex)) {
		all = store_tag_list(s);
		out = xzalloc((strv_length(all) + 1) * sizeof(char *));
		for (size_t i = 0; all[i]; i++) {
			struct stored x;

			if (stored_load(s, all[i], &x, NULL) < 0)
				continue;
			if (strncmp(digest_hex(x.m.config.digest), hex, strlen(hex)) == 0 ||
			    strcmp(x.manifest_digest + 7, hex) == 0)
				out[n++] = xstrdup(all[i]);
			stored_clear(&x);
		}
		if (n > 0) {
			*names = out;
			return 0;
		}
		free(out);
	}
	if (image_ref_parse(image, &ref, err) < 0)
		return -1;
	{
		_cleanup_free_ char *full = image_ref_string(&ref);
		_cleanup_free_ char *local = NULL;
		bool short_name = ref.short_name;

		image_ref_clear(&ref);
		if (store_tag_get(s, full, NULL, NULL, NULL) == 0) {
			*names = xzalloc(2 * sizeof(char *));
			(*names)[0] = steal_pointer(&full);
			return 0;
		}
		/* A short name may be one of ours: "busybox" is also
		 * localhost/busybox (Podman's rule for local images). */
		if (short_name) {
			_cleanup_free_ char *l = xasprintf("localhost/%s", image);

			if (image_ref_parse(l, &ref, NULL) == 0) {
				local = image_ref_string(&ref);
				image_ref_clear(&ref);
				if (store_tag_get(s, local, NULL, NULL, NULL) == 0) {
					*names = xzalloc(2 * sizeof(char *));
					(*names)[0] = steal_pointer(&local);
					return 0;
				}
			}
		}
		return skiff_error_set(err, 0, "image.not_found",
				       "no image \"%s\" in the store %s (looked for %s%s%s): see "
				       "skiff images", image, s->path, full, local ? " and " : "",
				       local ? local : "");
	}
}

int store_image_layers(struct image_store *s, const char *image, char **name,
		       char ***diff_ids, struct skiff_error **err)
{
	_cleanup_strv_ char **names = NULL;
	struct stored x;
	char **v;

	if (resolve(s, image, &names, err) < 0 || stored_load(s, names[0], &x, err) < 0)
		return -1;
	v = xzalloc((x.c.n_diff_ids + 1) * sizeof(char *));
	for (size_t i = 0; i < x.c.n_diff_ids; i++) {
		v[i] = xstrdup(x.c.diff_ids[i]);
		if (!store_has_layer(s, v[i])) {
			skiff_error_set(err, 0, "image.store.missing",
					"image %s: its layer %s is missing from the store %s: pull "
					"it again", names[0], v[i], s->path);
			strv_free(v);
			stored_clear(&x);
			return -1;
		}
	}
	if (name)
		*name = xstrdup(names[0]);
	*diff_ids = v;
	stored_clear(&x);
	return 0;
}

void image_info_free(struct image_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].manifest);
		free(v[i].config);
		free(v[i].platform);
		free(v[i].created);
	}
	free(v);
}

static void fill_info(struct stored *x, struct image_info *info)
{
	info->name = xstrdup(x->name);
	info->manifest = xstrdup(x->manifest_digest);
	info->config = xstrdup(x->m.config.digest);
	info->platform = xasprintf("%s/%s%s%s", x->c.os ? x->c.os : "?",
				   x->c.arch ? x->c.arch : "?", x->c.variant ? "/" : "",
				   x->c.variant ? x->c.variant : "");
	info->created = x->c.created ? xstrdup(x->c.created) : NULL;
	info->n_layers = x->m.n_layers;
	for (size_t i = 0; i < x->m.n_layers; i++)
		info->size += x->m.layers[i].size;
}

int image_list(struct image_store *s, struct image_info **out, size_t *n,
	       struct skiff_error **err)
{
	_cleanup_strv_ char **names = store_tag_list(s);
	struct image_info *v = xzalloc((strv_length(names) + 1) * sizeof(*v));
	size_t k = 0;

	(void)err;
	for (size_t i = 0; names[i]; i++) {
		struct stored x;
		struct skiff_error *e = NULL;

		if (stored_load(s, names[i], &x, &e) < 0) {
			/* One broken image must not hide the others. */
			skiff_log_error(e);
			skiff_error_free(e);
			continue;
		}
		fill_info(&x, &v[k++]);
		stored_clear(&x);
	}
	*out = v;
	*n = k;
	return 0;
}

int image_inspect(struct image_store *s, const char *image, char **json,
		  struct skiff_error **err)
{
	_cleanup_strv_ char **names = NULL;
	_cleanup_json_ json_t *j = NULL, *cfg = NULL;
	struct stored x;
	json_t *layers;
	uint64_t size = 0;

	if (resolve(s, image, &names, err) < 0 || stored_load(s, names[0], &x, err) < 0)
		return -1;
	cfg = json_loadb(x.config_data, x.config_len, 0, NULL);
	layers = json_array();
	for (size_t i = 0; i < x.m.n_layers; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/" STORE_LAYERS "/%s/diff", s->path,
						     digest_hex(x.c.diff_ids[i]));

		size += x.m.layers[i].size;
		json_array_append_new(layers, json_pack("{s:s, s:s, s:s, s:I, s:s}",
			"digest", x.m.layers[i].digest, "diff_id", x.c.diff_ids[i],
			"mediaType", x.m.layers[i].media_type, "size", (json_int_t)x.m.layers[i].size,
			"path", dir));
	}
	j = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:I, s:o, s:O?}",
		      "Name", x.name, "Id", x.m.config.digest, "Digest", x.manifest_digest,
		      "Index", x.index_digest, "Platform", "", "Created", x.c.created,
		      "Size", (json_int_t)size, "Layers", layers,
		      "Config", cfg ? json_object_get(cfg, "config") : NULL);
	{
		_cleanup_free_ char *plat = xasprintf("%s/%s%s%s", x.c.os ? x.c.os : "?",
						      x.c.arch ? x.c.arch : "?", x.c.variant ? "/" : "",
						      x.c.variant ? x.c.variant : "");

		json_object_set_new(j, "Platform", json_string(plat));
	}
	stored_clear(&x);
	*json = json_dumps(j, JSON_INDENT(2));
	return 0;
}

int image_remove(struct image_store *s, const char *image, char ***removed,
		 struct skiff_error **err)
{
	_cleanup_strv_ char **names = NULL;

	if (resolve(s, image, &names, err) < 0)
		return -1;
	for (size_t i = 0; names[i]; i++)
		if (store_tag_remove(s, names[i], err) < 0)
			return -1;
	if (removed)
		*removed = steal_pointer(&names);
	return 0;
}

/* ---- prune and verify ---------------------------------------------------------------- */

static bool in(char **v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static void push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* The digests (blobs) and diff_ids (layers) that the tags use. */
/* The manifest digest a container of the job face recorded (see image.h:
 * STORE_CONTAINER_RECORD), or NULL. */
static char *container_manifest(struct image_store *s, const char *id)
{
	_cleanup_free_ char *path = xasprintf(STORE_CONTAINERS "/%s/" STORE_CONTAINER_RECORD, id);
	_cleanup_free_ char *data = NULL;
	_cleanup_json_ json_t *record = NULL;
	const char *digest;
	size_t len;

	if (read_file_at(s->dirfd, path, 16u << 20, &data, &len, NULL) < 0)
		return NULL;
	record = json_loadb(data, len, 0, NULL);
	digest = json_string_value(json_object_get(record, "image_digest"));
	if (digest == NULL || image_digest_parse(digest, "a container's image", NULL) < 0)
		return NULL;
	return xstrdup(digest);
}

static int used(struct image_store *s, char ***blobs, char ***layers, struct skiff_error **err)
{
	_cleanup_strv_ char **names = store_tag_list(s);
	_cleanup_strv_ char **containers = store_dir_names(s, STORE_CONTAINERS);
	size_t nb = 0, nl = 0, n_names = strv_length(names);

	*blobs = xzalloc(sizeof(char *));
	*layers = xzalloc(sizeof(char *));
	/* Every tagged image, then the image of every container (kept ones
	 * too: its root stacks these layers, even once its name is gone). */
	for (size_t i = 0; containers[i]; i++) {
		char *m = container_manifest(s, containers[i]);

		if (m == NULL)
			continue;
		names = xrealloc(names, (n_names + 2) * sizeof(char *));
		names[n_names++] = m;
		names[n_names] = NULL;
	}
	for (size_t i = 0; names[i]; i++) {
		struct stored x;
		bool by_digest = strncmp(names[i], "sha256:", 7) == 0;

		if (stored_load_manifest(s, names[i], by_digest ? names[i] : NULL, &x, err) < 0)
			return -1;
		push(blobs, &nb, digest_hex(x.manifest_digest));
		push(blobs, &nb, digest_hex(x.m.config.digest));
		if (x.index_digest)
			push(blobs, &nb, digest_hex(x.index_digest));
		for (size_t k = 0; k < x.c.n_diff_ids; k++)
			push(layers, &nl, digest_hex(x.c.diff_ids[k]));
		stored_clear(&x);
	}
	return 0;
}

int image_prune(struct image_store *s, struct image_prune_result *r, struct skiff_error **err)
{
	_cleanup_strv_ char **keep_blobs = NULL, **keep_layers = NULL;
	_cleanup_strv_ char **blobs = NULL, **layers = NULL, **tmp = NULL, **locks = NULL;

	memset(r, 0, sizeof(*r));
	/* Exclusive: no pull may be between committing a layer and tagging. */
	if (store_lock_exclusive(s, err) < 0)
		return -1;
	if (used(s, &keep_blobs, &keep_layers, err) < 0)
		return skiff_error_prefix(err, "prune: nothing removed: ");
	blobs = store_dir_names(s, STORE_BLOBS);
	for (size_t i = 0; blobs[i]; i++) {
		_cleanup_free_ char *p = xasprintf(STORE_BLOBS "/%s", blobs[i]);

		if (in(keep_blobs, blobs[i]))
			continue;
		if (unlinkat(s->dirfd, p, 0) < 0 && errno != ENOENT)
			return skiff_error_set(err, errno, "image.store.remove", "cannot remove %s/%s",
					       s->path, p);
		r->blobs++;
	}
	layers = store_dir_names(s, STORE_LAYERS);
	for (size_t i = 0; layers[i]; i++) {
		_cleanup_free_ char *p = xasprintf(STORE_LAYERS "/%s", layers[i]);
		_cleanup_free_ char *t = NULL;

		if (in(keep_layers, layers[i]))
			continue;
		/* Out of sight first (a rename is atomic), then removed. */
		t = store_tmp_name("prune");
		if (renameat(s->dirfd, p, s->dirfd, t) < 0)
			return skiff_error_set(err, errno, "image.store.remove", "cannot remove %s/%s",
					       s->path, p);
		r->layers++;
	}
	tmp = store_dir_names(s, STORE_TMP);
	for (size_t i = 0; tmp[i]; i++) {
		_cleanup_free_ char *p = xasprintf(STORE_TMP "/%s", tmp[i]);

		if (store_remove_tree(s, p, err) < 0)
			return -1;
		if (strncmp(tmp[i], "prune-", 6) != 0)
			r->tmp++;
	}
	locks = store_dir_names(s, STORE_LOCKS);
	for (size_t i = 0; locks[i]; i++) {
		_cleanup_free_ char *p = xasprintf(STORE_LOCKS "/%s", locks[i]);

		unlinkat(s->dirfd, p, 0);
	}
	return 0;
}

int image_store_verify(struct image_store *s, struct skiff_error **err)
{
	_cleanup_strv_ char **blobs = store_dir_names(s, STORE_BLOBS);
	_cleanup_strv_ char **layers = store_dir_names(s, STORE_LAYERS);
	_cleanup_strv_ char **names = store_tag_list(s);

	for (size_t i = 0; blobs[i]; i++) {
		_cleanup_free_ char *d = xasprintf("sha256:%s", blobs[i]), *data = NULL;

		if (image_digest_parse(d, "blob", NULL) < 0)
			return skiff_error_set(err, 0, "image.store.corrupt",
					       "the store %s has a stray file blobs/sha256/%s",
					       s->path, blobs[i]);
		if (store_read_blob(s, d, SIZE_MAX / 2, &data, NULL, err) < 0)
			return -1;
	}
	for (size_t i = 0; layers[i]; i++) {
		_cleanup_free_ char *info = xasprintf(STORE_LAYERS "/%s/layer.json", layers[i]);
		_cleanup_free_ char *diff = xasprintf(STORE_LAYERS "/%s/diff", layers[i]);
		struct stat st;

		if (fstatat(s->dirfd, info, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    fstatat(s->dirfd, diff, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			return skiff_error_set(err, 0, "image.store.corrupt",
					       "the layer %s in the store %s is incomplete: run "
					       "skiff rmi and pull again", layers[i], s->path);
	}
	for (size_t i = 0; names[i]; i++) {
		struct stored x;

		if (stored_load(s, names[i], &x, err) < 0)
			return -1;
		for (size_t k = 0; k < x.c.n_diff_ids; k++)
			if (!store_has_layer(s, x.c.diff_ids[k])) {
				skiff_error_set(err, 0, "image.store.corrupt",
						"image %s: its layer %s is missing from the store %s: "
						"pull it again", names[i], x.c.diff_ids[k], s->path);
				stored_clear(&x);
				return -1;
			}
		stored_clear(&x);
	}
	return 0;
}

/* ---- what a container needs of an image ------------------------------------ */

void image_layers_clear(struct image_layers *l)
{
	free(l->name);
	free(l->manifest);
	free(l->id);
	free(l->config);
	strv_free(l->dirs);
	memset(l, 0, sizeof(*l));
}

int image_layers_get(struct image_store *s, const char *image, struct image_layers *out,
		     struct skiff_error **err)
{
	_cleanup_strv_ char **names = NULL;
	struct stored x;

	memset(out, 0, sizeof(*out));
	if (resolve(s, image, &names, err) < 0 || stored_load(s, names[0], &x, err) < 0)
		return -1;
	out->dirs = xzalloc((x.c.n_diff_ids + 1) * sizeof(char *));
	for (size_t i = 0; i < x.c.n_diff_ids; i++) {
		out->dirs[i] = xasprintf("%s/" STORE_LAYERS "/%s/diff", s->path,
					 digest_hex(x.c.diff_ids[i]));
		if (!store_has_layer(s, x.c.diff_ids[i])) {
			skiff_error_set(err, ENOENT, "image.layer.missing",
					"image %s: layer %s is not in the store: pull the image "
					"again", x.name, x.c.diff_ids[i]);
			stored_clear(&x);
			image_layers_clear(out);
			return -1;
		}
	}
	out->n_dirs = x.c.n_diff_ids;
	out->name = steal_pointer(&x.name);
	out->manifest = steal_pointer(&x.manifest_digest);
	out->id = xstrdup(x.m.config.digest);
	out->config = steal_pointer(&x.config_data);
	out->config_len = x.config_len;
	stored_clear(&x);
	return 0;
}
