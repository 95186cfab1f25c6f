/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OCI and Docker manifests, indexes and image configs (image-spec 1.1,
 * Docker image manifest v2 schema 2).  Everything here is outside input:
 * each field is checked for its type, and an error names the document and
 * the JSON path. */
#include <errno.h>
#include <string.h>

#include "image/image-internal.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar",
};

static int parse_json(const char *data, size_t len, const char *what, json_t **out,
		      struct skiff_error **err)
{
	json_error_t je;
	json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL)
		return skiff_error_set(err, 0, "image.manifest.parse",
				       "%s is not valid JSON: %s at line %d, column %d",
				       what, je.text, je.line, je.column);
	if (!json_is_object(j)) {
		json_decref(j);
		return skiff_error_set(err, 0, "image.manifest.parse",
				       "%s is not a JSON object", what);
	}
	*out = j;
	return 0;
}

static const char *str_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

void descriptor_clear(struct descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	memset(d, 0, sizeof(*d));
}

static int descriptor_parse(json_t *o, const char *what, const char *jpath,
			    struct descriptor *d, struct skiff_error **err)
{
	const char *mt = str_field(o, "mediaType"), *dg = str_field(o, "digest");
	json_t *size = json_object_get(o, "size");

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o) || dg == NULL || !json_is_integer(size) ||
	    json_integer_value(size) < 0)
		return skiff_error_set(err, 0, "image.manifest.invalid",
				       "%s: %s: expected a descriptor with digest and size", what, jpath);
	if (image_digest_parse(dg, "digest", err) < 0)
		return skiff_error_prefix(err, "%s: %s: ", what, jpath);
	d->media_type = xstrdup(mt ? mt : "");
	d->digest = xstrdup(dg);
	d->size = (uint64_t)json_integer_value(size);
	return 0;
}

int manifest_kind(const char *data, size_t len, const char *what,
		  enum manifest_kind *kind, struct skiff_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	const char *mt;
	json_t *sv;

	if (parse_json(data, len, what, &j, err) < 0)
		return -1;
	sv = json_object_get(j, "schemaVersion");
	mt = str_field(j, "mediaType");
	if ((json_is_integer(sv) && json_integer_value(sv) == 1) ||
	    (mt && strncmp(mt, "application/vnd.docker.distribution.manifest.v1", 48) == 0))
		return skiff_error_set(err, 0, "image.manifest.schema1",
				       "%s is a Docker schema 1 manifest, which skiff does not "
				       "support (deprecated since 2017): push the image again with a "
				       "current Docker or skopeo", what);
	if (mt && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0))
		*kind = MANIFEST_INDEX;
	else if (mt && (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0))
		*kind = MANIFEST_IMAGE;
	else if (mt != NULL)
		return skiff_error_set(err, 0, "image.manifest.unknown_media_type",
				       "%s has the media type \"%s\", which is no image manifest or "
				       "index", what, mt);
	else if (json_is_array(json_object_get(j, "manifests")))
		*kind = MANIFEST_INDEX;
	else if (json_is_object(json_object_get(j, "config")))
		*kind = MANIFEST_IMAGE;
	else
		return skiff_error_set(err, 0, "image.manifest.invalid",
				       "%s is neither an image manifest nor an index", what);
	return 0;
}

void manifest_clear(struct manifest *m)
{
	descriptor_clear(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_clear(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof(*m));
}

int manifest_parse(const char *data, size_t len, const char *what,
		   struct manifest *m, struct skiff_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	const char *at = NULL;
	json_t *layers, *l;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (parse_json(data, len, what, &j, err) < 0)
		return -1;
	at = str_field(j, "artifactType");
	if (descriptor_parse(json_object_get(j, "config"), what, "config", &m->config, err) < 0)
		return -1;
	if (at != NULL || (strcmp(m->config.media_type, MT_OCI_CONFIG) != 0 &&
			   strcmp(m->config.media_type, MT_DOCKER_CONFIG) != 0)) {
		skiff_error_set(err, 0, "image.manifest.not_an_image",
				"%s is not a container image but an artifact of type \"%s\": "
				"skiff only pulls images", what,
				at ? at : m->config.media_type);
		manifest_clear(m);
		return -1;
	}
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		manifest_clear(m);
		return skiff_error_set(err, 0, "image.manifest.invalid",
				       "%s: layers: expected an array", what);
	}
	m->layers = xzalloc((json_array_size(layers) + 1) * sizeof(*m->layers));
	json_array_foreach(layers, i, l) {
		char jpath[32];
		bool known = false;

		snprintf(jpath, sizeof(jpath), "layers[%zu]", i);
		if (descriptor_parse(l, what, jpath, &m->layers[i], err) < 0) {
			manifest_clear(m);
			return -1;
		}
		m->n_layers = i + 1;
		for (size_t k = 0; k < ARRAY_SIZE(layer_types); k++)
			known |= strcmp(m->layers[i].media_type, layer_types[k]) == 0;
		if (!known) {
			skiff_error_set(err, 0, "image.manifest.unknown_media_type",
					"%s: %s has the media type \"%s\", which is no layer "
					"format skiff knows (tar, tar+gzip, tar+zstd)", what, jpath,
					m->layers[i].media_type);
			manifest_clear(m);
			return -1;
		}
	}
	return 0;
}

int index_select(const char *data, size_t len, const char *what,
		 const struct image_platform *p, struct descriptor *out,
		 struct skiff_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	_cleanup_free_ char *seen = xstrdup("");
	_cleanup_free_ char *want = image_platform_string(p);
	json_t *ms, *m;
	size_t i, n_without = 0, without = 0;

	if (parse_json(data, len, what, &j, err) < 0)
		return -1;
	ms = json_object_get(j, "manifests");
	if (!json_is_array(ms))
		return skiff_error_set(err, 0, "image.manifest.invalid",
				       "%s: manifests: expected an array", what);
	json_array_foreach(ms, i, m) {
		json_t *pl = json_object_get(m, "platform");
		const char *os = str_field(pl, "os"), *arch = str_field(pl, "architecture");
		const char *variant = str_field(pl, "variant");
		char jpath[32];

		if (!json_is_object(pl)) {
			n_without++;
			without = i;
			continue;
		}
		if (os && arch) {
			char *next = xasprintf("%s%s%s/%s%s%s", seen, *seen ? ", " : "", os, arch,
					       variant ? "/" : "", variant ? variant : "");
			free(seen);
			seen = next;
		}
		if (!platform_matches(p, os, arch, variant))
			continue;
		snprintf(jpath, sizeof(jpath), "manifests[%zu]", i);
		return descriptor_parse(m, what, jpath, out, err);
	}
	/* An index of one image without platforms (as many OCI layouts are). */
	if (n_without == 1 && json_array_size(ms) == 1)
		return descriptor_parse(json_array_get(ms, without), what, "manifests[0]", out, err);
	return skiff_error_set(err, 0, "image.platform.not_found",
			       "%s has no image for the platform %s (it has: %s): choose one "
			       "with --platform", what, want, *seen ? seen : "none");
}

void config_clear(struct image_config *c)
{
	free(c->os);
	free(c->arch);
	free(c->variant);
	free(c->created);
	strv_free(c->diff_ids);
	memset(c, 0, sizeof(*c));
}

int config_parse(const char *data, size_t len, const char *what,
		 struct image_config *c, struct skiff_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	json_t *rootfs, *ids, *id;
	const char *type, *v;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (parse_json(data, len, what, &j, err) < 0)
		return -1;
	rootfs = json_object_get(j, "rootfs");
	type = str_field(rootfs, "type");
	ids = json_object_get(rootfs, "diff_ids");
	if (type == NULL || strcmp(type, "layers") != 0 || !json_is_array(ids))
		return skiff_error_set(err, 0, "image.config.invalid",
				       "%s: rootfs: expected {\"type\": \"layers\", \"diff_ids\": [...]}",
				       what);
	c->diff_ids = xzalloc((json_array_size(ids) + 1) * sizeof(char *));
	json_array_foreach(ids, i, id) {
		char jpath[48];

		snprintf(jpath, sizeof(jpath), "%s: rootfs.diff_ids[%zu]", what, i);
		if (!json_is_string(id) || image_digest_parse(json_string_value(id), jpath, err) < 0) {
			skiff_error_set(err, 0, "image.config.invalid", "%s: expected a digest",
					jpath);
			config_clear(c);
			return -1;
		}
		c->diff_ids[i] = xstrdup(json_string_value(id));
		c->n_diff_ids = i + 1;
	}
	if ((v = str_field(j, "os")))
		c->os = xstrdup(v);
	if ((v = str_field(j, "architecture")))
		c->arch = xstrdup(v);
	if ((v = str_field(j, "variant")))
		c->variant = xstrdup(v);
	if ((v = str_field(j, "created")))
		c->created = xstrdup(v);
	return 0;
}
