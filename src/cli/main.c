/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff: `skiff oci …` is the runtime face; invoked as `skiff-oci` the
 * binary takes runc's argument shape directly. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: skiff oci [GLOBAL OPTIONS] COMMAND ...   the OCI runtime (runc's CLI)\n"
		"       skiff run [OPTIONS] IMAGE [COMMAND [ARG...]]   run a job in a container\n"
		"       skiff rm [--store DIR] NAME|ID...   remove a container kept with run --keep\n"
		"       skiff --version\n");
	image_cli_usage(f);
	fprintf(f, "\nSee skiff(1) and skiff-oci(1).\n");
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');

	name = name ? name + 1 : argv[0];
	skiff_log_init("skiff", SKIFF_LOG_WARNING);
	if (strcmp(name, "skiff-oci") == 0)
		return oci_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "oci") == 0)
		return oci_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return rm_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && image_cli_handles(argv[1]))
		return image_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
		printf("skiff version %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "skiff: unknown command \"%s\" [cli.usage]\n", argv[1]);
	usage(stderr);
	return 125;
}
