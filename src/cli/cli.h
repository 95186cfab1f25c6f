/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SKIFF_CLI_H
#define SKIFF_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <skiff/error.h>
#include <skiff/image.h>
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

/* The image commands (cli/image.c): pull, images, inspect, rmi, prune. */
bool image_cli_handles(const char *cmd);
void image_cli_usage(FILE *f);
int image_cli_main(int argc, char **argv);

/* ---- registry options (image.c) and login/logout (login.c) ---- */

int cli_tls_verify(const char *arg, enum image_tls_verify *out, struct skiff_error **err);
int cli_creds(const char *arg, char **out, struct skiff_error **err);
/* Reads a password from the terminal without echo (or a line of stdin). */
int cli_read_password(const char *user, char **out, struct skiff_error **err);
int cli_cmd_login(int argc, char **argv, struct skiff_error **err);
int cli_cmd_logout(int argc, char **argv, struct skiff_error **err);
/* skiff run (cli/run.c). */
int run_cli_main(int argc, char **argv);
/* skiff rm (cli/run.c): containers kept with --keep. */
int rm_cli_main(int argc, char **argv);
/* skiff userns-stop (cli/run.c): ends the kept user namespaces. */
int userns_stop_cli_main(int argc, char **argv);

/* ---- containers.c: lifecycle from another shell (ps, inspect, wait,
 * kill, stop, logs) and the printing side of run -d ---- */
struct job_options;
int run_detached_cli(const struct job_options *o, bool json);
int ps_cli_main(int argc, char **argv);
int inspect_cli_main(int argc, char **argv);
bool containers_cli_handles(const char *cmd);
int containers_cli_main(int argc, char **argv);
void containers_cli_usage(FILE *f);

/* ---- helpers of the runtime face's commands (oci.c) ---- */

/* Runs getopt_long over a command's argv (argv[0] is the command name);
 * options may follow the positional arguments, as Slurm passes them. */
#define FOR_EACH_OPT(c, argc, argv, shortopts, longopts) \
	for (optind = 0, opterr = 0; ((c) = getopt_long((argc), (argv), (shortopts), (longopts), NULL)) != -1;)
/* "cli.usage" unless min..max positional arguments follow the options. */
int want_args(int argc, char **argv, int min, int max, const char *cmd,
	      struct skiff_error **err);
int bad_option(const char *cmd, char **argv, struct skiff_error **err);

/* ---- oci_cgroup.c: update, pause, resume, ps, events ---- */

struct runtime_ctx;
int oci_cmd_update(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err);
int oci_cmd_pause(const struct runtime_ctx *ctx, int argc, char **argv,
		  struct skiff_error **err);
int oci_cmd_resume(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err);
int oci_cmd_ps(const struct runtime_ctx *ctx, int argc, char **argv,
	       struct skiff_error **err);
int oci_cmd_events(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err);
/* ---- oci_exec.c ---- */
int oci_cmd_exec(const struct runtime_ctx *ctx, int argc, char **argv,
		 struct skiff_error **err);

/* ---- oci_features.c ---- */
int oci_cmd_features(const struct runtime_ctx *ctx, int argc, char **argv,
		     struct skiff_error **err);
/* "512m", "1G", "4096", "-1" (no limit): binary units, as runc's flags. */
int oci_parse_size(const char *s, int64_t *out);

#endif
