/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a pull tells the user while it runs: a line per finished layer
 * (the default when stderr is not a terminal), JSON lines for engines
 * (--progress=json), or nothing (--quiet).
 *
 * Layers are named by their index in the manifest; begin, bytes and end
 * may come for several layers at once and in any order. */
#include <stdlib.h>
#include <string.h>

#include "image/image-internal.h"

struct progress_layer {
	char *digest, *diff_id;
	uint64_t size, bytes;
};

struct progress {
	enum image_progress mode;
	FILE *f;
	struct progress_layer *layers;
	size_t n_layers;
};

struct progress *progress_new(enum image_progress mode, FILE *f)
{
	struct progress *p = xzalloc(sizeof(*p));

	p->mode = mode;
	p->f = f ? f : stderr;
	return p;
}

void progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_layers; i++) {
		free(p->layers[i].digest);
		free(p->layers[i].diff_id);
	}
	free(p->layers);
	free(p);
}

static struct progress_layer *layer_at(struct progress *p, size_t i)
{
	if (i >= p->n_layers) {
		p->layers = xrealloc(p->layers, (i + 1) * sizeof(*p->layers));
		memset(p->layers + p->n_layers, 0, (i + 1 - p->n_layers) * sizeof(*p->layers));
		p->n_layers = i + 1;
	}
	return &p->layers[i];
}

void progress_layer_begin(struct progress *p, size_t i, const struct descriptor *d,
			  const char *diff_id)
{
	struct progress_layer *l = layer_at(p, i);

	free(l->digest);
	free(l->diff_id);
	l->digest = xstrdup(d->digest);
	l->diff_id = xstrdup(diff_id);
	l->size = d->size;
	l->bytes = 0;
}

void progress_layer_bytes(struct progress *p, size_t i, uint64_t bytes)
{
	layer_at(p, i)->bytes = bytes;
}

void progress_layer_end(struct progress *p, size_t i, const char *status, uint64_t bytes,
			double secs)
{
	struct progress_layer *l = layer_at(p, i);

	l->bytes = bytes;
	if (p->mode == IMAGE_PROGRESS_QUIET)
		return;
	if (p->mode == IMAGE_PROGRESS_JSON) {
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:f}",
			"event", "layer", "digest", l->digest, "diff_id", l->diff_id,
			"status", status, "bytes", (json_int_t)bytes, "size", (json_int_t)l->size,
			"seconds", secs);
		_cleanup_free_ char *t = json_dumps(j, JSON_COMPACT);

		fprintf(p->f, "%s\n", t);
	} else if (strcmp(status, "exists") == 0) {
		fprintf(p->f, "layer %.19s: already in the store\n", l->digest);
	} else {
		fprintf(p->f, "layer %.19s: %s %.1f MB in %.2fs\n", l->digest, status,
			(double)bytes / 1e6, secs);
	}
	fflush(p->f);
}

void progress_done(struct progress *p, const char *name, const char *id, const char *manifest)
{
	if (p->mode == IMAGE_PROGRESS_JSON) {
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "event", "done",
						     "name", name, "id", id, "manifest", manifest);
		_cleanup_free_ char *t = json_dumps(j, JSON_COMPACT);

		fprintf(p->f, "%s\n", t);
	} else if (p->mode == IMAGE_PROGRESS_LINES) {
		fprintf(p->f, "stored %s\n", name);
	}
	fflush(p->f);
}
