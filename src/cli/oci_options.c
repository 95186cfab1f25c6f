/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runc's global options: `skiff-oci --root R --log L --log-format json CMD`.
 * Both "--opt VALUE" and "--opt=VALUE" forms, as urfave/cli accepts. */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"

/* Matches "--name", "-name" (Go's flag style) or "--name=value". */
static bool opt_match(const char *arg, const char *name, const char **inline_value)
{
	size_t n = strlen(name);

	if (arg[0] != '-')
		return false;
	arg += arg[1] == '-' ? 2 : 1;
	if (strncmp(arg, name, n) != 0)
		return false;
	if (arg[n] == '\0') {
		*inline_value = NULL;
		return true;
	}
	if (arg[n] == '=') {
		*inline_value = arg + n + 1;
		return true;
	}
	return false;
}

static int take_value(int argc, char **argv, int *i, const char *inline_value,
		      const char *name, const char **out, struct skiff_error **err)
{
	if (inline_value != NULL) {
		*out = inline_value;
		return 0;
	}
	if (*i + 1 >= argc)
		return skiff_error_set(err, EINVAL, "cli.usage", "--%s needs a value", name);
	*out = argv[++*i];
	return 0;
}

static int parse_bool(const char *v, const char *name, bool *out,
		      struct skiff_error **err)
{
	if (v == NULL || strcmp(v, "true") == 0) {
		*out = true;
		return 0;
	}
	if (strcmp(v, "false") == 0) {
		*out = false;
		return 0;
	}
	return skiff_error_set(err, EINVAL, "cli.usage",
			       "--%s: expected true or false, not \"%s\"", name, v);
}

int oci_parse_global(int argc, char **argv, struct oci_global *g, int *next,
		     struct skiff_error **err)
{
	int i;

	*g = (struct oci_global){ .log_format = SKIFF_LOG_TEXT, .rootless = -1 };
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *a = argv[i], *v = NULL;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (opt_match(a, "root", &v)) {
			if (take_value(argc, argv, &i, v, "root", &g->root, err) < 0)
				return -1;
		} else if (opt_match(a, "log", &v)) {
			if (take_value(argc, argv, &i, v, "log", &g->log, err) < 0)
				return -1;
		} else if (opt_match(a, "log-format", &v)) {
			const char *fmt = NULL;

			if (take_value(argc, argv, &i, v, "log-format", &fmt, err) < 0)
				return -1;
			if (strcmp(fmt, "text") == 0)
				g->log_format = SKIFF_LOG_TEXT;
			else if (strcmp(fmt, "json") == 0)
				g->log_format = SKIFF_LOG_JSON;
			else
				return skiff_error_set(err, EINVAL, "cli.usage",
						       "--log-format: expected text or json, not \"%s\"",
						       fmt);
		} else if (opt_match(a, "debug", &v)) {
			if (parse_bool(v, "debug", &g->debug, err) < 0)
				return -1;
		} else if (opt_match(a, "systemd-cgroup", &v)) {
			if (parse_bool(v, "systemd-cgroup", &g->systemd_cgroup, err) < 0)
				return -1;
		} else if (opt_match(a, "rootless", &v)) {
			const char *mode = NULL;

			if (take_value(argc, argv, &i, v, "rootless", &mode, err) < 0)
				return -1;
			if (strcmp(mode, "auto") == 0)
				g->rootless = -1;
			else if (strcmp(mode, "true") == 0)
				g->rootless = 1;
			else if (strcmp(mode, "false") == 0)
				g->rootless = 0;
			else
				return skiff_error_set(err, EINVAL, "cli.usage",
						       "--rootless: expected auto, true or false, "
						       "not \"%s\"", mode);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			g->help = true;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
			g->version = true;
		} else if (opt_match(a, "criu", &v)) {
			/* runc's checkpoint helper path: accepted, unused. */
			const char *ignored;

			if (take_value(argc, argv, &i, v, "criu", &ignored, err) < 0)
				return -1;
		} else {
			return skiff_error_set(err, EINVAL, "cli.usage",
					       "unknown global option %s (see skiff-oci --help)", a);
		}
	}
	*next = i;
	return 0;
}
