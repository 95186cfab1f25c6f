/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff run [OPTIONS] IMAGE [COMMAND [ARG...]]: parses the options into a
 * job, runs it, prints the --json result, exits with the job's status. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skiff/job.h>

#include "cli/cli.h"

#define RUN_USAGE "run [OPTIONS] IMAGE [COMMAND [ARG...]]"

enum {
	OPT_STORE = 1000, OPT_ROOT, OPT_PULL, OPT_PLATFORM, OPT_ENTRYPOINT, OPT_ENV_FILE,
	OPT_HOSTNAME, OPT_NAME, OPT_STOP_SIGNAL, OPT_KEEP, OPT_RM, OPT_NETWORK, OPT_CAP_ADD,
	OPT_CAP_DROP, OPT_SECURITY_OPT, OPT_READ_ONLY, OPT_TMPFS, OPT_MEMORY_SWAP, OPT_CPUS,
	OPT_PIDS_LIMIT, OPT_STORAGE_LIMIT, OPT_TIMEOUT, OPT_STOP_TIMEOUT, OPT_SECRET,
	OPT_COPY_IN, OPT_COPY_OUT, OPT_JSON, OPT_CAPTURE_LIMIT, OPT_LOG_FILE, OPT_QUIET, OPT_HELP,
	OPT_ROOTFS_MODE,
	/* networking */
	OPT_ADD_HOST, OPT_DNS,
};

/* policy, audit, events */
enum { OPT_AUDIT_LOG = 1100, OPT_EVENTS_FILE, OPT_EVENTS_FD, OPT_NOTIFY_URL, OPT_NOTIFY_HEADER };

static void push(char ***v, const char *s)
{
	size_t n = strv_length(*v);

	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = (char *)s;     /* argv strings: not owned */
	(*v)[n + 1] = NULL;
}

static int usage_error(struct skiff_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(struct skiff_error **err, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	return skiff_error_set(err, EINVAL, "cli.usage", "run: %s (usage: skiff " RUN_USAGE ")",
			       what);
}

static int parse_seconds(const char *s, const char *opt, double *out, struct skiff_error **err)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(*out > 0) || *out > 1e9)
		return usage_error(err, "%s %s: expected a positive number", opt, s);
	return 0;
}

static int parse_bytes(const char *s, const char *opt, bool allow_unlimited, int64_t *out,
		       struct skiff_error **err)
{
	if (oci_parse_size(s, out) < 0 || *out == 0 || (*out < 0 && !allow_unlimited))
		return usage_error(err, "%s %s: expected a size such as 512m or 1g%s", opt, s,
				   allow_unlimited ? " (or -1)" : "");
	return 0;
}

/* --security-opt no-new-privileges[=true|false] | seccomp=unconfined|FILE */
static int security_opt(struct job_options *o, const char *v, struct skiff_error **err)
{
	if (strcmp(v, "no-new-privileges") == 0 || strcmp(v, "no-new-privileges=true") == 0 ||
	    strcmp(v, "no-new-privileges:true") == 0) {
		o->allow_new_privileges = false;
		return 0;
	}
	if (strcmp(v, "no-new-privileges=false") == 0 || strcmp(v, "no-new-privileges:false") == 0) {
		o->allow_new_privileges = true;
		return 0;
	}
	if ((strncmp(v, "seccomp=", 8) == 0 || strncmp(v, "seccomp:", 8) == 0) && v[8] != '\0') {
		o->seccomp = v + 8;
		return 0;
	}
	return usage_error(err, "--security-opt %s: expected no-new-privileges[=true|false] or "
			   "seccomp=unconfined|FILE", v);
}

static int parse_run(int argc, char **argv, struct job_options *o, bool *json,
		     struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "pull", required_argument, NULL, OPT_PULL },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "quiet", no_argument, NULL, 'q' },
		{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
		{ "env", required_argument, NULL, 'e' },
		{ "env-file", required_argument, NULL, OPT_ENV_FILE },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "hostname", required_argument, NULL, OPT_HOSTNAME },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "stop-signal", required_argument, NULL, OPT_STOP_SIGNAL },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "rm", no_argument, NULL, OPT_RM },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "net", required_argument, NULL, OPT_NETWORK },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "tmpfs", required_argument, NULL, OPT_TMPFS },
		{ "volume", required_argument, NULL, 'v' },
		{ "memory", required_argument, NULL, 'm' },
		{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
		{ "storage-limit", required_argument, NULL, OPT_STORAGE_LIMIT },
		{ "rootfs-mode", required_argument, NULL, OPT_ROOTFS_MODE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
		{ "interactive", no_argument, NULL, 'i' },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "copy-in", required_argument, NULL, OPT_COPY_IN },
		{ "copy-out", required_argument, NULL, OPT_COPY_OUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "capture-limit", required_argument, NULL, OPT_CAPTURE_LIMIT },
		{ "log-file", required_argument, NULL, OPT_LOG_FILE },
		{ "help", no_argument, NULL, 'h' },
		/* lifecycle from another shell */
		{ "detach", no_argument, NULL, 'd' },
		/* policy, audit, events */
		{ "audit-log", required_argument, NULL, OPT_AUDIT_LOG },
		{ "events-file", required_argument, NULL, OPT_EVENTS_FILE },
		{ "events-fd", required_argument, NULL, OPT_EVENTS_FD },
		{ "notify-url", required_argument, NULL, OPT_NOTIFY_URL },
		{ "notify-header", required_argument, NULL, OPT_NOTIFY_HEADER },
		/* networking */
		{ "publish", required_argument, NULL, 'p' },
		{ "add-host", required_argument, NULL, OPT_ADD_HOST },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	int64_t v;

	/* "+": options end at IMAGE; what follows is the job's command. */
	FOR_EACH_OPT(c, argc, argv, "+e:w:u:v:m:iqhdp:", opts) {
		switch (c) {
		case OPT_STORE: o->store = optarg; break;
		case OPT_ROOT: o->state_root = optarg; break;
		case OPT_PULL:
			if (strcmp(optarg, "missing") == 0)
				o->pull = JOB_PULL_MISSING;
			else if (strcmp(optarg, "always") == 0)
				o->pull = JOB_PULL_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o->pull = JOB_PULL_NEVER;
			else
				return usage_error(err, "--pull %s: expected always, missing or never",
						   optarg);
			break;
		case OPT_PLATFORM: o->platform = optarg; break;
		case 'q': o->quiet_pull = true; break;
		case OPT_ENTRYPOINT: o->has_entrypoint = true; o->entrypoint = optarg; break;
		case 'e': push(&o->env, optarg); break;
		case OPT_ENV_FILE: push(&o->env_files, optarg); break;
		case 'w': o->workdir = optarg; break;
		case 'u': o->user = optarg; break;
		case OPT_HOSTNAME: o->hostname = optarg; break;
		case OPT_NAME: o->name = optarg; break;
		case OPT_STOP_SIGNAL: o->stop_signal = optarg; break;
		case OPT_KEEP: o->keep = true; break;
		case OPT_RM: o->keep = false; break;
		case OPT_NETWORK:
			if (job_network_parse(optarg, o, err) < 0)
				return -1;
			break;
		/* networking */
		case 'p': push(&o->publish, optarg); break;
		case OPT_ADD_HOST: push(&o->add_hosts, optarg); break;
		case OPT_DNS: push(&o->dns, optarg); break;
		case OPT_CAP_ADD: push(&o->cap_add, optarg); break;
		case OPT_CAP_DROP: push(&o->cap_drop, optarg); break;
		case OPT_SECURITY_OPT:
			if (security_opt(o, optarg, err) < 0)
				return -1;
			break;
		case OPT_READ_ONLY: o->read_only = true; break;
		case OPT_TMPFS: push(&o->tmpfs, optarg); break;
		case 'v': push(&o->volumes, optarg); break;
		case 'm':
			if (parse_bytes(optarg, "--memory", false, &o->memory, err) < 0)
				return -1;
			break;
		case OPT_MEMORY_SWAP:
			if (parse_bytes(optarg, "--memory-swap", true, &o->memory_swap, err) < 0)
				return -1;
			break;
		case OPT_CPUS:
			if (parse_seconds(optarg, "--cpus", &o->cpus, err) < 0)
				return -1;
			break;
		case OPT_PIDS_LIMIT:
			if (parse_int64(optarg, -1, INT64_MAX, &v) < 0 || v == 0)
				return usage_error(err, "--pids-limit %s: expected a positive number "
						   "(or -1)", optarg);
			o->pids_limit = v;
			break;
		case OPT_STORAGE_LIMIT:
			if (parse_bytes(optarg, "--storage-limit", false, &v, err) < 0)
				return -1;
			o->storage_limit = optarg;
			break;
		case OPT_ROOTFS_MODE:
			if (job_rootfs_mode_parse(optarg, &o->rootfs_mode, err) < 0)
				return -1;
			break;
		case OPT_TIMEOUT:
			if (parse_seconds(optarg, "--timeout", &o->timeout, err) < 0)
				return -1;
			break;
		case OPT_STOP_TIMEOUT:
			if (parse_int64(optarg, 0, 86400, &v) < 0)
				return usage_error(err, "--stop-timeout %s: expected seconds, 0 to 86400",
						   optarg);
			o->stop_timeout = (int)v;
			break;
		case 'i': o->interactive = true; break;
		case OPT_SECRET: push(&o->secrets, optarg); break;
		case OPT_COPY_IN: push(&o->copy_in, optarg); break;
		case OPT_COPY_OUT: push(&o->copy_out, optarg); break;
		case OPT_JSON: *json = true; break;
		case OPT_CAPTURE_LIMIT:
			if (parse_bytes(optarg, "--capture-limit", false, &v, err) < 0)
				return -1;
			o->capture_limit = (size_t)v;
			break;
		case OPT_LOG_FILE: o->log_file = optarg; break;
		case 'd': o->detach = true; break;
		case 'h':
			printf("usage: skiff " RUN_USAGE "\nSee skiff(1).\n");
			exit(0);
		/* policy, audit, events */
		case OPT_AUDIT_LOG:
			if (*optarg == '\0')
				return usage_error(err, "%s", "--audit-log: a file is needed");
			o->audit_log = optarg;
			break;
		case OPT_EVENTS_FILE: o->events_file = optarg; break;
		case OPT_EVENTS_FD:
			if (parse_int64(optarg, 0, INT32_MAX, &v) < 0)
				return usage_error(err, "--events-fd %s: expected a file descriptor "
						   "number", optarg);
			o->has_events_fd = true;
			o->events_fd = (int)v;
			break;
		case OPT_NOTIFY_URL:
			if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0)
				return usage_error(err, "--notify-url %s: expected an http:// or "
						   "https:// URL", optarg);
			o->notify_url = optarg;
			break;
		case OPT_NOTIFY_HEADER:
			if (strchr(optarg, ':') == NULL || *optarg == ':' ||
			    strpbrk(optarg, "\r\n") != NULL)
				return usage_error(err, "--notify-header %s: expected \"NAME: VALUE\"",
						   optarg);
			push(&o->notify_headers, optarg);
			break;
		default:
			return usage_error(err, "unknown option or missing value in \"%s\"",
					   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error(err, "%s", "an image is needed");
	o->image = argv[optind];
	o->command = argc > optind + 1 ? argv + optind + 1 : NULL;
	return 0;
}

int run_cli_main(int argc, char **argv)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	struct job_options o = { .stop_timeout = 10, .capture_limit = 1 << 20 };
	struct job_result r = { 0 };
	bool json = false;
	int status;

	if (parse_run(argc, argv, &o, &json, &err) < 0) {
		skiff_log_error(err);
		status = 125;
		goto out;
	}
	if (o.detach) {
		status = run_detached_cli(&o, json);
		goto out;
	}
	/* With --json, the job's streams go into the result, not the terminal;
	 * pull progress stays on stderr. */
	o.capture = json;
	o.stream = !json;
	if (job_run(&o, &r, &err) < 0) {
		skiff_log_error(err);
		status = skiff_error_exit_code(err);
	} else {
		status = r.exit_code;
	}
	if (json) {
		_cleanup_free_ char *text = job_result_json(&r, err);

		printf("%s\n", text);
	}
out:
	free(o.env);
	free(o.env_files);
	free(o.cap_add);
	free(o.cap_drop);
	free(o.tmpfs);
	free(o.volumes);
	free(o.secrets);
	free(o.copy_in);
	free(o.copy_out);
	free(o.notify_headers);
	free(o.publish);     /* networking */
	free(o.add_hosts);
	free(o.dns);
	job_result_clear(&r);
	fflush(stdout);
	return status;
}

/* skiff rm [--store DIR] [--root DIR] NAME|ID...: containers kept with --keep. */
int rm_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *store = NULL, *root = NULL;
	int c, status = 0;
	bool force = false;

	FOR_EACH_OPT(c, argc, argv, "f", opts) {
		switch (c) {
		case OPT_STORE: store = optarg; break;
		case OPT_ROOT: root = optarg; break;
		case 'f': force = true; break;
		default: {
			_cleanup_error_ struct skiff_error *err = NULL;

			skiff_error_set(&err, 0, "cli.usage",
					"rm: unknown option or missing value in \"%s\" (usage: skiff "
					"rm [--store DIR] [-f] NAME|ID...)", argv[optind - 1]);
			skiff_log_error(err);
			return 125;
		}
		}
	}
	if (optind >= argc) {
		_cleanup_error_ struct skiff_error *err = NULL;

		skiff_error_set(&err, 0, "cli.usage",
				"rm: a container name or id is needed (usage: skiff rm [--store DIR] [-f] "
				"NAME|ID...)");
		skiff_log_error(err);
		return 125;
	}
	for (int i = optind; i < argc; i++) {
		_cleanup_error_ struct skiff_error *err = NULL;

		if ((force ? job_remove_force(store, root, argv[i], &err)
			   : job_remove(store, root, argv[i], &err)) < 0) {
			skiff_log_error(err);
			status = 125;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return status;
}

/* skiff userns-stop [--root DIR]: ends the holders of the user namespaces
 * rootless runs share; prints how many were running. */
int userns_stop_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_error_ struct skiff_error *err = NULL;
	const char *root = NULL;
	unsigned stopped;
	int c;

	FOR_EACH_OPT(c, argc, argv, "", opts) {
		switch (c) {
		case OPT_ROOT: root = optarg; break;
		default:
			skiff_error_set(&err, 0, "cli.usage",
					"userns-stop: unknown option or missing value in \"%s\" "
					"(usage: skiff userns-stop [--root DIR])", argv[optind - 1]);
			skiff_log_error(err);
			return 125;
		}
	}
	if (optind < argc) {
		skiff_error_set(&err, 0, "cli.usage",
				"userns-stop: unexpected argument \"%s\" (usage: skiff userns-stop "
				"[--root DIR])", argv[optind]);
		skiff_log_error(err);
		return 125;
	}
	if (job_userns_stop(root, &stopped, &err) < 0) {
		skiff_log_error(err);
		return 125;
	}
	printf("%u\n", stopped);
	return 0;
}
