/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image references and digests (image_ref_parse, image_digest_parse): what
 * users and registries write.  A reference that parses must print as one
 * that parses again to the same thing. */
#include <skiff/image.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_string(data, size);
	struct skiff_error *err = NULL;
	struct image_ref ref, again;

	if (image_ref_parse(s, &ref, &err) == 0) {
		_cleanup_free_ char *text = image_ref_string(&ref);
		_cleanup_free_ char *name = image_ref_name(&ref);
		_cleanup_free_ char *text2 = NULL;

		FUZZ_CHECK(strncmp(text, name, strlen(name)) == 0, "%s / %s", text, name);
		FUZZ_CHECK(image_ref_parse(text, &again, &err) == 0, "\"%s\" from \"%s\": %s",
			   text, s, err ? err->msg : "");
		text2 = image_ref_string(&again);
		FUZZ_CHECK(strcmp(text, text2) == 0, "\"%s\" -> \"%s\" -> \"%s\"", s, text, text2);
		FUZZ_CHECK(ref.tag != NULL || ref.digest != NULL, "\"%s\": no tag, no digest", s);
		image_ref_clear(&again);
		image_ref_clear(&ref);
	} else {
		FUZZ_CHECK(err != NULL && err->id != NULL && err->msg != NULL, "no error for \"%s\"", s);
		skiff_error_freep(&err);
	}
	if (image_digest_parse(s, "fuzz", &err) == 0)
		FUZZ_CHECK(strlen(s) == 71 && strncmp(s, "sha256:", 7) == 0, "digest \"%s\"", s);
	skiff_error_freep(&err);
	return 0;
}
