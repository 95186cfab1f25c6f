/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SKIFF_CLI_H
#define SKIFF_CLI_H

#include <stdbool.h>

#include <skiff/error.h>
#include <skiff/util.h>

/* runc's global options, which come before the command. */
struct oci_global {
	const char *root;
	const char *log;
	enum skiff_log_format log_format;
	bool debug;
	bool systemd_cgroup;
	int rootless;            /* -1 auto, 0 false, 1 true */
	bool help, version;
};

/* Parses the global options of argv[0..argc); *next gets the index of the
 * command (argc when there is none). */
int oci_parse_global(int argc, char **argv, struct oci_global *g, int *next,
		     struct skiff_error **err);

int oci_main(int argc, char **argv);

#endif
