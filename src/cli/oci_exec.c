/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `exec`: runc's options, in runc's shape:
 *   exec [--process FILE | OPTIONS] ID [COMMAND ARGS...]
 * Options stop at the id: what follows is the command, options and all. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <skiff/runtime.h>

#include "cli/cli.h"

enum { OPT_CONSOLE_SOCKET = 1000, OPT_CWD, OPT_NO_NEW_PRIVS, OPT_PID_FILE,
       OPT_PRESERVE_FDS, OPT_PROCESS_LABEL, OPT_APPARMOR, OPT_IGNORE_PAUSED,
       OPT_NO_SUBREAPER };

struct exec_lists {
	char **env, **caps;
	size_t n_env, n_caps;
	uint32_t *gids;
	size_t n_gids;
};

static void push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static int parse_id(const char *s, const char *what, uint32_t *out, struct skiff_error **err)
{
	int64_t v;

	if (parse_int64(s, 0, UINT32_MAX - 1, &v) < 0)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "exec: %s: expected a number, not \"%s\"", what, s);
	*out = (uint32_t)v;
	return 0;
}

/* -u UID[:GID], numeric as runc takes them. */
static int parse_user(const char *arg, struct exec_opts *o, struct skiff_error **err)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *colon = strchr(copy, ':');

	if (colon != NULL) {
		*colon = '\0';
		if (parse_id(colon + 1, "--user UID:GID", &o->gid, err) < 0)
			return -1;
		o->has_gid = true;
	}
	if (parse_id(copy, "--user UID[:GID]", &o->uid, err) < 0)
		return -1;
	o->has_uid = true;
	return 0;
}

static int parse_exec_opts(int argc, char **argv, struct exec_opts *o,
			   struct exec_lists *l, struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ "process-label", required_argument, NULL, OPT_PROCESS_LABEL },
		{ "apparmor", required_argument, NULL, OPT_APPARMOR },
		{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
		{ "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
		{ 0 } };
	int c;

	/* "+": stop at the first argument that is not an option (the id). */
	FOR_EACH_OPT(c, argc, argv, "+p:te:u:g:c:d", opts) {
		int64_t n;

		switch (c) {
		case 'p': o->process_file = optarg; break;
		case 't': o->tty = true; break;
		case OPT_CONSOLE_SOCKET: o->console_socket = optarg; break;
		case OPT_CWD: o->cwd = optarg; break;
		case 'e':
			if (strchr(optarg, '=') == NULL || optarg[0] == '=')
				return skiff_error_set(err, EINVAL, "cli.usage",
						       "exec: --env %s: expected NAME=VALUE", optarg);
			push(&l->env, &l->n_env, optarg);
			break;
		case 'u':
			if (parse_user(optarg, o, err) < 0)
				return -1;
			break;
		case 'g':
			l->gids = xrealloc(l->gids, (l->n_gids + 1) * sizeof(uint32_t));
			if (parse_id(optarg, "--additional-gids", &l->gids[l->n_gids], err) < 0)
				return -1;
			l->n_gids++;
			break;
		case 'c': push(&l->caps, &l->n_caps, optarg); break;
		case OPT_NO_NEW_PRIVS: o->no_new_privs = true; break;
		case 'd': o->detach = true; break;
		case OPT_PID_FILE: o->pid_file = optarg; break;
		case OPT_PRESERVE_FDS:
			if (parse_int64(optarg, 0, 1 << 20, &n) < 0)
				return skiff_error_set(err, EINVAL, "cli.usage",
						       "exec: --preserve-fds: expected a count, not \"%s\"",
						       optarg);
			o->preserve_fds = (int)n;
			break;
		case OPT_PROCESS_LABEL: o->process_label = optarg; break;
		case OPT_APPARMOR: o->apparmor = optarg; break;
		case OPT_IGNORE_PAUSED: o->ignore_paused = true; break;
		case OPT_NO_SUBREAPER: break;   /* runc's; skiff decides itself */
		default: return bad_option("exec", argv, err);
		}
	}
	if (optind >= argc)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "exec: a container id is needed (see skiff-oci exec --help)");
	o->env = l->env;
	o->caps = l->caps;
	o->additional_gids = l->gids;
	o->n_additional_gids = l->n_gids;
	o->args = argv + optind + 1;
	return 0;
}

int oci_cmd_exec(const struct runtime_ctx *ctx, int argc, char **argv,
		 struct skiff_error **err)
{
	struct exec_opts o = { 0 };
	struct exec_lists l = { 0 };
	int status = 0, rc;

	rc = parse_exec_opts(argc, argv, &o, &l, err);
	if (rc == 0)
		rc = container_exec(ctx, argv[optind], &o, &status, err);
	strv_free(l.env);
	strv_free(l.caps);
	free(l.gids);
	return rc < 0 ? -1 : status;
}
