/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Manifests, indexes and configs as a registry or a layout serves them
 * (manifest_kind, manifest_parse, index_select, config_parse): every
 * document goes through all four, as a hostile source could label any
 * blob as any of them. */
#include "image/image-internal.h"

#include "fuzz.h"

static const struct image_platform amd64 = { "linux", "amd64", NULL };
static const struct image_platform armv7 = { "linux", "arm", "v7" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct skiff_error *err = NULL;
	enum manifest_kind kind;
	struct manifest m = { 0 };
	struct image_config c = { 0 };
	struct descriptor d = { 0 };

	if (manifest_kind(text, size, "fuzz", &kind, &err) < 0)
		skiff_error_freep(&err);
	if (manifest_parse(text, size, "fuzz", &m, &err) == 0) {
		FUZZ_CHECK(m.config.digest != NULL, "a manifest without a config digest");
		for (size_t i = 0; i < m.n_layers; i++)
			FUZZ_CHECK(m.layers[i].digest != NULL && m.layers[i].media_type != NULL,
				   "layer %zu", i);
		manifest_clear(&m);
	}
	skiff_error_freep(&err);
	for (int i = 0; i < 2; i++) {
		if (index_select(text, size, "fuzz", i ? &armv7 : &amd64, &d, &err) == 0) {
			FUZZ_CHECK(d.digest != NULL, "a selected manifest without a digest");
			descriptor_clear(&d);
		}
		skiff_error_freep(&err);
	}
	if (config_parse(text, size, "fuzz", &c, &err) == 0) {
		for (size_t i = 0; i < c.n_diff_ids; i++)
			FUZZ_CHECK(c.diff_ids[i] != NULL, "diff_id %zu", i);
		config_clear(&c);
	}
	skiff_error_freep(&err);
	return 0;
}
