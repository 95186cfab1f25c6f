/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image commands of the job face: pull, images, inspect, rmi, prune,
 * verify, flatten.  Each parses its options, opens the store, calls one
 * function of image/, prints the answer. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <skiff/image.h>

#include "cli/cli.h"

struct image_cmd {
	const char *name;
	int (*run)(int argc, char **argv, struct skiff_error **err);
	const char *usage;
};

enum { OPT_STORE = 1000, OPT_PLATFORM, OPT_PROGRESS, OPT_FORMAT, OPT_QUIET, OPT_HELP,
       OPT_AUTHFILE, OPT_CREDS, OPT_CERT_DIR, OPT_TLS_VERIFY };

static const struct image_cmd *current;

static int usage_error(struct skiff_error **err, const char *what)
{
	return skiff_error_set(err, 0, "cli.usage", "%s: %s (usage: skiff %s)",
			       current->name, what, current->usage);
}

static int img_want_args(int argc, int n, struct skiff_error **err)
{
	if (argc - optind < n)
		return usage_error(err, n == 1 ? "an image is needed" : "missing arguments");
	if (argc - optind > n)
		return usage_error(err, "too many arguments");
	return 0;
}

static int img_bad_option(char **argv, struct skiff_error **err)
{
	_cleanup_free_ char *what = xasprintf("unknown option or missing value in \"%s\"",
					      argv[optind - 1]);

	return usage_error(err, what);
}

int cli_tls_verify(const char *arg, enum image_tls_verify *out, struct skiff_error **err)
{
	if (arg == NULL || strcmp(arg, "true") == 0)
		*out = IMAGE_TLS_VERIFY;
	else if (strcmp(arg, "false") == 0)
		*out = IMAGE_TLS_NO_VERIFY;
	else
		return skiff_error_set(err, 0, "cli.usage", "--tls-verify takes true or false, not "
				       "\"%s\"", arg);
	return 0;
}

/* USER:PASS as given; USER alone asks for the password on the terminal. */
int cli_creds(const char *arg, char **out, struct skiff_error **err)
{
	_cleanup_free_ char *pass = NULL;

	if (arg[0] == '\0' || arg[0] == ':')
		return skiff_error_set(err, 0, "cli.usage", "--creds takes USER[:PASSWORD]");
	if (strchr(arg, ':')) {
		*out = xstrdup(arg);
		return 0;
	}
	if (cli_read_password(arg, &pass, err) < 0)
		return -1;
	*out = xasprintf("%s:%s", arg, pass);
	explicit_bzero(pass, strlen(pass));
	return 0;
}

static int cmd_pull(int argc, char **argv, struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "cert-dir", required_argument, NULL, OPT_CERT_DIR },
		{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_free_ char *name = NULL, *creds = NULL;
	struct image_pull_options o = { 0 };
	const char *store = NULL;
	bool quiet = false;
	int c;

	/* Bars where a person watches, lines in logs and pipes. */
	o.progress = isatty(STDERR_FILENO) ? IMAGE_PROGRESS_BARS : IMAGE_PROGRESS_LINES;
	FOR_EACH_OPT(c, argc, argv, "qh", opts) {
		switch (c) {
		case OPT_STORE: store = optarg; break;
		case OPT_PLATFORM: o.platform = optarg; break;
		case 'q': quiet = true; break;
		case OPT_PROGRESS:
			if (strcmp(optarg, "json") == 0)
				o.progress = IMAGE_PROGRESS_JSON;
			else if (strcmp(optarg, "lines") == 0)
				o.progress = IMAGE_PROGRESS_LINES;
			else if (strcmp(optarg, "bars") == 0)
				o.progress = IMAGE_PROGRESS_BARS;
			else if (strcmp(optarg, "auto") != 0)
				return usage_error(err, "--progress takes bars, lines, json or auto");
			break;
		case OPT_AUTHFILE: o.authfile = optarg; break;
		case OPT_CREDS:
			free(creds);
			creds = NULL;
			if (cli_creds(optarg, &creds, err) < 0)
				return -1;
			o.creds = creds;
			break;
		case OPT_CERT_DIR: o.cert_dir = optarg; break;
		case OPT_TLS_VERIFY:
			if (cli_tls_verify(optarg, &o.tls_verify, err) < 0)
				return -1;
			break;
		default: return img_bad_option(argv, err);
		}
	}
	if (quiet)
		o.progress = IMAGE_PROGRESS_QUIET;
	/* JSON lines are for programs: on stdout, alone. */
	if (o.progress == IMAGE_PROGRESS_JSON)
		o.progress_out = stdout;
	if (img_want_args(argc, 1, err) < 0 || image_store_open(store, &s, err) < 0 ||
	    image_pull(s, argv[optind], &o, &name, err) < 0)
		return -1;
	/* The name on stdout, for scripts; progress went to stderr. */
	if (o.progress != IMAGE_PROGRESS_JSON)
		printf("%s\n", name);
	return 0;
}

static void human_size(uint64_t n, char buf[16])
{
	if (n >= 1000000000)
		snprintf(buf, 16, "%.1f GB", (double)n / 1e9);
	else if (n >= 1000000)
		snprintf(buf, 16, "%.1f MB", (double)n / 1e6);
	else
		snprintf(buf, 16, "%.1f kB", (double)n / 1e3);
}

static int cmd_images(int argc, char **argv, struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_store_ struct image_store *s = NULL;
	struct image_info *v = NULL;
	const char *store = NULL;
	bool json = false, quiet = false;
	size_t n = 0;
	int c;

	FOR_EACH_OPT(c, argc, argv, "qh", opts) {
		switch (c) {
		case OPT_STORE: store = optarg; break;
		case 'q': quiet = true; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return usage_error(err, "--format takes table or json");
			break;
		default: return img_bad_option(argv, err);
		}
	}
	if (img_want_args(argc, 0, err) < 0 || image_store_open(store, &s, err) < 0 ||
	    image_list(s, &v, &n, err) < 0)
		return -1;
	if (json) {
		json_t *a = json_array();
		char *text;

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I, s:I}",
				"name", v[i].name, "id", v[i].config, "digest", v[i].manifest,
				"platform", v[i].platform, "created", v[i].created,
				"size", (json_int_t)v[i].size, "layers", (json_int_t)v[i].n_layers));
		text = json_dumps(a, JSON_INDENT(2));
		printf("%s\n", text);
		free(text);
		json_decref(a);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].name);
	} else {
		printf("%-50s %-14s %-14s %10s %s\n", "NAME", "ID", "PLATFORM", "SIZE", "CREATED");
		for (size_t i = 0; i < n; i++) {
			char size[16];

			human_size(v[i].size, size);
			printf("%-50s %-14.12s %-14s %10s %s\n", v[i].name, v[i].config + 7,
			       v[i].platform, size, v[i].created ? v[i].created : "-");
		}
	}
	image_info_free(v, n);
	return 0;
}

static int cmd_one_image(int argc, char **argv, struct image_store **s, const char **image,
			 struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ NULL, 0, NULL, 0 },
	};
	const char *store = NULL;
	int c, n = strcmp(current->name, "prune") == 0 || strcmp(current->name, "verify") == 0 ? 0 : 1;

	FOR_EACH_OPT(c, argc, argv, "qh", opts) {
		switch (c) {
		case OPT_STORE: store = optarg; break;
		default: return img_bad_option(argv, err);
		}
	}
	if (img_want_args(argc, n, err) < 0)
		return -1;
	*image = n ? argv[optind] : NULL;
	return image_store_open(store, s, err);
}

static int cmd_inspect(int argc, char **argv, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_free_ char *json = NULL;
	const char *image;

	if (cmd_one_image(argc, argv, &s, &image, err) < 0 ||
	    image_inspect(s, image, &json, err) < 0)
		return -1;
	printf("%s\n", json);
	return 0;
}

static int cmd_rmi(int argc, char **argv, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_strv_ char **removed = NULL;
	const char *image;

	if (cmd_one_image(argc, argv, &s, &image, err) < 0 ||
	    image_remove(s, image, &removed, err) < 0)
		return -1;
	for (size_t i = 0; removed[i]; i++)
		printf("untagged %s\n", removed[i]);
	return 0;
}

static int cmd_prune(int argc, char **argv, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	struct image_prune_result r;
	const char *image;

	if (cmd_one_image(argc, argv, &s, &image, err) < 0 || image_prune(s, &r, err) < 0)
		return -1;
	/* Containers of the job face do not exist yet: only tags keep content. */
	printf("removed %zu blobs, %zu layers, %zu leftovers of interrupted pulls\n",
	       r.blobs, r.layers, r.tmp);
	return 0;
}

static int cmd_verify(int argc, char **argv, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	const char *image;

	if (cmd_one_image(argc, argv, &s, &image, err) < 0 || image_store_verify(s, err) < 0)
		return -1;
	printf("the store %s is consistent\n", image_store_path(s));
	return 0;
}

/* For hosts where overlayfs cannot stack the layers: one plain tree. */
static int cmd_flatten(int argc, char **argv, struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_store_ struct image_store *s = NULL;
	const char *store = NULL;
	int c;

	FOR_EACH_OPT(c, argc, argv, "h", opts) {
		switch (c) {
		case OPT_STORE: store = optarg; break;
		default: return img_bad_option(argv, err);
		}
	}
	if (img_want_args(argc, 2, err) < 0 || image_store_open(store, &s, err) < 0)
		return -1;
	return image_flatten(s, argv[optind], argv[optind + 1], err);
}

static const struct image_cmd commands[] = {
	{ "pull", cmd_pull, "pull [--store DIR] [--platform OS/ARCH[/VARIANT]] [-q|--quiet] "
	  "[--progress=bars|lines|json] [--authfile FILE] [--creds USER[:PASS]] [--cert-dir DIR] "
	  "[--tls-verify=true|false] [docker://]IMAGE" },
	{ "login", cli_cmd_login, "login [--authfile FILE] [-u|--username USER] "
	  "[-p|--password PASS | --password-stdin] [--cert-dir DIR] [--tls-verify=BOOL] REGISTRY" },
	{ "logout", cli_cmd_logout, "logout [--authfile FILE] [-a|--all] [REGISTRY]" },
	{ "images", cmd_images, "images [--store DIR] [--format table|json] [--quiet]" },
	{ "inspect", cmd_inspect, "inspect [--store DIR] IMAGE" },
	{ "rmi", cmd_rmi, "rmi [--store DIR] IMAGE" },
	{ "prune", cmd_prune, "prune [--store DIR]" },
	{ "verify", cmd_verify, "verify [--store DIR]" },
	{ "flatten", cmd_flatten, "flatten [--store DIR] IMAGE DIR" },
};

bool image_cli_handles(const char *cmd)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return true;
	return false;
}

void image_cli_usage(FILE *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "       skiff %s\n", commands[i].usage);
}

int image_cli_main(int argc, char **argv)
{
	_cleanup_error_ struct skiff_error *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, argv[0]) != 0)
			continue;
		current = &commands[i];
		for (int k = 1; k < argc; k++)
			if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
				printf("usage: skiff %s\n\nSee skiff(1).\n", current->usage);
				return 0;
			}
		if (commands[i].run(argc, argv, &err) < 0) {
			fflush(stdout);
			skiff_log_error(err);
			return skiff_error_exit_code(err);
		}
		return 0;
	}
	return 125;
}
