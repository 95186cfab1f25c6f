/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The runtime spec: a bundle's config.json (spec_parse) and the resources
 * document of `update --resources` (spec_resources_parse).  Errors must
 * carry an id and a message naming config.json. */
#include <skiff/runtime.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct skiff_error *err = NULL;
	struct spec *s = NULL;
	struct spec_resources *r = NULL;

	if (spec_parse((const char *)data, size, "config.json", &s, &err) == 0) {
		FUZZ_CHECK(s != NULL, "no spec");
		spec_free(s);
	} else {
		FUZZ_CHECK(err != NULL && err->id != NULL && strncmp(err->msg, "config.json", 11) == 0,
			   "error: %s", err ? err->msg : "(none)");
		skiff_error_freep(&err);
	}
	if (spec_resources_parse((const char *)data, size, "resources.json", &r, &err) == 0)
		spec_resources_free(r);
	skiff_error_freep(&err);
	return 0;
}
