/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `features`: the runtime-spec features document, as runc prints it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <skiff/runtime.h>

#include "cli/cli.h"

int oci_cmd_features(const struct runtime_ctx *ctx, int argc, char **argv,
		     struct skiff_error **err)
{
	_cleanup_free_ char *json = NULL;
	int c;

	(void)ctx;
	FOR_EACH_OPT(c, argc, argv, "", NULL)
		return bad_option("features", argv, err);
	if (want_args(argc, argv, 0, 0, "features", err) < 0)
		return -1;
	json = runtime_features_json();
	printf("%s\n", json);
	return 0;
}
