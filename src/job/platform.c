/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --platform with an image already in the store: the stored image is used
 * only if its config is for that platform.  Otherwise --pull missing pulls
 * the platform's image under the same name (resolve_image), and --pull
 * never is an error naming both platforms. */
#include <string.h>

#include "job/job-internal.h"

bool job_stored_platform_ok(struct image_layers *l, const struct job_options *o,
			    struct skiff_error **err)
{
	if (o->platform == NULL || image_layers_check_platform(l, o->platform, err) == 0)
		return true;
	image_layers_clear(l);
	if (o->pull == JOB_PULL_NEVER && strcmp((*err)->id, "image.platform.mismatch") == 0) {
		_cleanup_free_ char *why = xstrdup((*err)->msg);

		skiff_error_freep(err);
		skiff_error_set(err, 0, "image.platform.mismatch",
				"--pull never: %s: get that platform's image with --pull missing, "
				"or skiff pull --platform %s %s", why, o->platform, o->image);
	}
	return false;
}
