/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pull sources (image_source_parse): docker://REF, oci:DIR[:REF],
 * oci-archive:FILE[:REF], docker-archive:FILE[:REF], a bare REF. */
#include <skiff/image.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_string(data, size);
	struct skiff_error *err = NULL;
	struct image_source src;

	if (image_source_parse(s, &src, &err) == 0) {
		FUZZ_CHECK(image_transport_name(src.transport) != NULL, "\"%s\"", s);
		if (src.transport == IMAGE_TRANSPORT_DOCKER) {
			FUZZ_CHECK(src.ref.path != NULL && *src.ref.path, "\"%s\"", s);
		} else {
			FUZZ_CHECK(src.path != NULL && *src.path, "\"%s\": no path", s);
		}
		image_source_clear(&src);
	} else {
		FUZZ_CHECK(err != NULL && err->id != NULL, "no error for \"%s\"", s);
		skiff_error_freep(&err);
	}
	return 0;
}
