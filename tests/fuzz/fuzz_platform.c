/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --platform values (image_platform_parse): os/arch[/variant].  What parses
 * prints as a string that parses to the same platform. */
#include <skiff/image.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_string(data, size);
	struct skiff_error *err = NULL;
	struct image_platform p, again;

	if (image_platform_parse(s, &p, &err) == 0) {
		_cleanup_free_ char *text = image_platform_string(&p);
		_cleanup_free_ char *text2 = NULL;

		FUZZ_CHECK(p.os && *p.os && p.arch && *p.arch, "\"%s\"", s);
		FUZZ_CHECK(image_platform_parse(text, &again, &err) == 0, "\"%s\" from \"%s\"",
			   text, s);
		text2 = image_platform_string(&again);
		FUZZ_CHECK(strcmp(text, text2) == 0, "\"%s\" -> \"%s\" -> \"%s\"", s, text, text2);
		image_platform_clear(&again);
		image_platform_clear(&p);
	} else {
		FUZZ_CHECK(err != NULL && err->id != NULL, "no error for \"%s\"", s);
		skiff_error_freep(&err);
	}
	return 0;
}
