/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The containers of the job face, from any shell: skiff ps, inspect
 * (containers first, then images), wait, kill, stop, logs, and the
 * printing side of skiff run -d.  Each command parses its options, calls
 * one job/ entry point and formats the answer. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <skiff/job.h>

#include "cli/cli.h"

#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

enum { OPT_STORE = 1000, OPT_ROOT, OPT_FORMAT, OPT_ALL };

static int usage(const char *usage_line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage(const char *usage_line, const char *fmt, ...)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	skiff_error_set(&err, EINVAL, "cli.usage", "%s (usage: skiff %s)", what, usage_line);
	skiff_log_error(err);
	return 125;
}

static int fail(struct skiff_error *err)
{
	skiff_log_error(err);
	return skiff_error_exit_code(err);
}

/* ---- skiff run -d ------------------------------------------------------------ */

int run_detached_cli(const struct job_options *o, bool json)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *id = NULL;

	if (json)
		skiff_error_set(&err, EINVAL, "cli.usage",
				"run: -d and --json: a detached run has no result yet when skiff "
				"returns; read it with skiff wait ID or skiff inspect ID");
	else if (o->interactive)
		skiff_error_set(&err, EINVAL, "cli.usage",
				"run: -d and -i: a detached job has no stdin to pass through");
	else if (o->log_file != NULL)
		skiff_error_set(&err, EINVAL, "cli.usage",
				"run: -d and --log-file: a detached job's output is kept in its "
				"container; read it with skiff logs ID");
	if (err != NULL || job_run_detached(o, &id, &err) < 0)
		return fail(err);
	printf("%s\n", id);
	return 0;
}

/* ---- skiff ps ------------------------------------------------------------------ */

static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/* "3 seconds", "About a minute", "5 minutes", "2 hours", "4 days" */
static char *human_since(const char *when)
{
	time_t t = parse_time(when);
	long d = t ? (long)(time(NULL) - t) : -1;

	if (d < 0)
		return xstrdup("?");
	if (d < 1)
		return xstrdup("Less than a second");
	if (d < 60)
		return xasprintf("%ld second%s", d, d == 1 ? "" : "s");
	if (d < 120)
		return xstrdup("About a minute");
	if (d < 3600)
		return xasprintf("%ld minutes", d / 60);
	if (d < 7200)
		return xstrdup("About an hour");
	if (d < 172800)
		return xasprintf("%ld hours", d / 3600);
	return xasprintf("%ld days", d / 86400);
}

static char *status_text(json_t *c)
{
	json_t *st = json_object_get(c, "state");
	const char *status = json_string_value(json_object_get(st, "status"));
	_cleanup_free_ char *since = NULL;

	if (status == NULL)
		return xstrdup("Unknown");
	if (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0) {
		since = human_since(json_string_value(json_object_get(st, "started_at")));
		return xasprintf("Up %s%s", since, status[0] == 'p' ? " (Paused)" : "");
	}
	if (strcmp(status, "exited") == 0) {
		json_t *code = json_object_get(st, "exit_code");

		since = human_since(json_string_value(json_object_get(st, "finished_at")));
		if (!json_is_integer(code))
			return xstrdup("Exited");
		return xasprintf("Exited (%d) %s ago", (int)json_integer_value(code), since);
	}
	if (strcmp(status, "created") == 0)
		return xstrdup("Created");
	return xstrdup("Unknown (monitor gone)");
}

static char *command_text(json_t *cmd)
{
	size_t i, n = 0;
	json_t *a;
	char *s = xstrdup("");

	json_array_foreach(cmd, i, a) {
		const char *w = json_string_value(a);
		char *t = xasprintf("%s%s%s", s, i ? " " : "", w ? w : "");

		free(s);
		s = t;
		n++;
	}
	if (strlen(s) > 20) {
		s[17] = '.';
		s[18] = '.';
		s[19] = '.';
		s[20] = '\0';
	}
	{
		char *q = xasprintf("\"%s\"", s);

		free(s);
		return q;
	}
}

#define PS_USAGE "ps [--store DIR] [-a] [--format table|json]"

int ps_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *list = NULL;
	struct job_ps_options po = { 0 };
	bool json = false;
	size_t i;
	json_t *c;
	int opt;

	FOR_EACH_OPT(opt, argc, argv, "a", opts) {
		switch (opt) {
		case OPT_STORE: po.store = optarg; break;
		case OPT_ROOT: po.state_root = optarg; break;
		case 'a': po.all = true; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return usage(PS_USAGE, "ps: --format %s: expected table or json", optarg);
			break;
		default:
			return usage(PS_USAGE, "ps: unknown option or missing value in \"%s\"",
				     argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage(PS_USAGE, "ps: unexpected argument \"%s\"", argv[optind]);
	if (job_ps_json(&po, &text, &err) < 0)
		return fail(err);
	if (json) {
		printf("%s\n", text);
		return 0;
	}
	list = json_loads(text, 0, NULL);
	printf("%-12s  %-20s  %-30s  %-22s  %-18s  %s\n", "CONTAINER ID", "NAME", "IMAGE",
	       "COMMAND", "CREATED", "STATUS");
	json_array_foreach(list, i, c) {
		_cleanup_free_ char *cmd = command_text(json_object_get(c, "command"));
		_cleanup_free_ char *created = human_since(json_string_value(json_object_get(c, "created")));
		_cleanup_free_ char *status = status_text(c);
		_cleanup_free_ char *ago = xasprintf("%s ago", created);
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *image = json_string_value(json_object_get(c, "image"));

		printf("%-12.12s  %-20s  %-30s  %-22s  %-18s  %s\n",
		       json_string_value(json_object_get(c, "id")), name ? name : "-",
		       image ? image : "-", cmd, ago, status);
	}
	return 0;
}

/* ---- skiff inspect: a container, else an image ---------------------------------- */

int inspect_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *text = NULL;
	const char *store = NULL;
	int opt;

	FOR_EACH_OPT(opt, argc, argv, "", opts) {
		if (opt == OPT_STORE)
			store = optarg;
	}
	/* podman's order: a container of that name or id, then an image;
	 * the image command reports its own errors. */
	if (optind != argc - 1)
		return image_cli_main(argc, argv);
	if (job_inspect_json(store, argv[optind], &text, &err) == 0) {
		printf("%s\n", text);
		return 0;
	}
	if (strcmp(err->id, "job.not_found") != 0)
		return fail(err);
	return image_cli_main(argc, argv);
}

/* ---- wait, kill, stop, logs ------------------------------------------------------ */

struct target_opts {
	const char *store;
	int sig;                     /* kill -s */
	int timeout;                 /* stop -t, -1: the run's */
	bool follow;                 /* logs -f */
};

static int parse_target(int argc, char **argv, const char *usage_line, struct target_opts *t)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "signal", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 't' },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	int64_t v;
	int opt;

	FOR_EACH_OPT(opt, argc, argv, "s:t:f", opts) {
		switch (opt) {
		case OPT_STORE: t->store = optarg; break;
		case OPT_ROOT: break;   /* the run recorded its own state root */
		case 's':
			if (strcmp(cmd, "kill") != 0)
				goto bad;
			t->sig = signal_parse(optarg);
			if (t->sig <= 0)
				return usage(usage_line, "kill: -s %s: expected a signal name (TERM, "
					     "SIGKILL) or number", optarg);
			break;
		case 't':
			if (strcmp(cmd, "stop") != 0)
				goto bad;
			if (parse_int64(optarg, 0, 86400, &v) < 0)
				return usage(usage_line, "stop: -t %s: expected seconds, 0 to 86400",
					     optarg);
			t->timeout = (int)v;
			break;
		case 'f':
			if (strcmp(cmd, "logs") != 0)
				goto bad;
			t->follow = true;
			break;
		default:
			goto bad;
		}
	}
	if (optind >= argc)
		return usage(usage_line, "%s: a container name or id is needed", cmd);
	return 0;
bad:
	return usage(usage_line, "unknown option or missing value in \"%s\"", argv[optind - 1]);
}

int containers_cli_main(int argc, char **argv)
{
	const char *cmd = argv[0];
	const char *usage_line = strcmp(cmd, "wait") == 0 ? "wait [--store DIR] NAME|ID..."
		: strcmp(cmd, "kill") == 0 ? "kill [--store DIR] [-s SIGNAL] NAME|ID..."
		: strcmp(cmd, "stop") == 0 ? "stop [--store DIR] [-t SECONDS] NAME|ID..."
		: "logs [--store DIR] [-f] NAME|ID";
	struct target_opts t = { .sig = SIGKILL, .timeout = -1 };
	int rc, status = 0;

	rc = parse_target(argc, argv, usage_line, &t);
	if (rc != 0)
		return rc;
	if (strcmp(cmd, "logs") == 0 && optind != argc - 1)
		return usage(usage_line, "%s", "logs: one container at a time");
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ struct skiff_error *err = NULL;
		int code = 0;

		fflush(stdout);
		if (strcmp(cmd, "wait") == 0)
			rc = job_wait(t.store, argv[i], &code, &err);
		else if (strcmp(cmd, "kill") == 0)
			rc = job_kill(t.store, argv[i], t.sig, &err);
		else if (strcmp(cmd, "stop") == 0)
			rc = job_stop(t.store, argv[i], t.timeout, &err);
		else
			rc = job_logs(t.store, argv[i], t.follow, STDOUT_FILENO, STDERR_FILENO, &err);
		if (rc < 0) {
			status = fail(err);
			continue;
		}
		if (strcmp(cmd, "wait") == 0)
			printf("%d\n", code);
		else if (strcmp(cmd, "logs") != 0)
			printf("%s\n", argv[i]);
	}
	fflush(stdout);
	return status;
}

bool containers_cli_handles(const char *cmd)
{
	return strcmp(cmd, "wait") == 0 || strcmp(cmd, "kill") == 0 || strcmp(cmd, "stop") == 0 ||
	       strcmp(cmd, "logs") == 0;
}

void containers_cli_usage(FILE *f)
{
	fprintf(f, "       skiff ps [--store DIR] [-a] [--format table|json]   the job face's containers\n"
		"       skiff logs [-f] NAME|ID       a detached job's output\n"
		"       skiff wait NAME|ID...         wait for jobs to end, print their exit codes\n"
		"       skiff kill [-s SIGNAL] NAME|ID...   signal jobs (default KILL)\n"
		"       skiff stop [-t SECONDS] NAME|ID...  the stop signal, then KILL\n"
		"       skiff inspect NAME|ID|IMAGE   a container, else an image, as JSON\n");
}
