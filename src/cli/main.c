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
		"       skiff rm [--store DIR] [-f] NAME|ID...   remove a container (-f: stop it first)\n"
		"       skiff userns-stop [--root DIR]   end the user namespace rootless runs share\n"
		"       skiff --version\n"
		"       skiff [--debug] [--log FILE] [--log-format text|json] IMAGE-COMMAND ...\n");
	image_cli_usage(f);
	containers_cli_usage(f);
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
	/* skiff [--debug] [--log FILE] [--log-format text|json] COMMAND …:
	 * the runtime face's logging options, for the image commands. */
	{
		enum skiff_log_format fmt = SKIFF_LOG_TEXT;
		const char *log = NULL;

		while (argc >= 2) {
			const char *a = argv[1], *v = NULL;
			bool is_fmt = strncmp(a, "--log-format", 12) == 0;
			size_t n = is_fmt ? 12 : 5;
			int used = 1;

			if (strcmp(a, "--debug") == 0) {
				skiff_log_init("skiff", SKIFF_LOG_DEBUG);
			} else if (is_fmt || strncmp(a, "--log", 5) == 0) {
				if (a[n] == '=')
					v = a + n + 1;
				else if (a[n] == '\0' && argc >= 3)
					v = argv[2], used = 2;
				else
					break;
				if (is_fmt)
					fmt = strcmp(v, "json") == 0 ? SKIFF_LOG_JSON : SKIFF_LOG_TEXT;
				else
					log = v;
			} else {
				break;
			}
			argc -= used;
			argv += used;
		}
		if (log) {
			_cleanup_error_ struct skiff_error *err = NULL;

			if (skiff_log_set_file(log, fmt, &err) < 0) {
				skiff_log_error(err);
				return 125;
			}
		}
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rm") == 0)
		return rm_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "userns-stop") == 0)
		return userns_stop_cli_main(argc - 1, argv + 1);
	/* lifecycle from another shell (cli/containers.c) */
	if (argc >= 2 && strcmp(argv[1], "ps") == 0)
		return ps_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
		return inspect_cli_main(argc - 1, argv + 1);
	if (argc >= 2 && containers_cli_handles(argv[1]))
		return containers_cli_main(argc - 1, argv + 1);
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
