/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The runtime face: runc's commands over the runtime area.  Each command
 * parses its options, calls one library function, prints the answer. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <skiff/runtime.h>
#include <skiff/sys.h>

#include "cli/cli.h"

struct oci_cmd {
	const char *name;
	int (*run)(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err);
	const char *usage;
};

static int usage_error(struct skiff_error **err, const char *cmd, const char *what)
{
	return skiff_error_set(err, EINVAL, "cli.usage", "%s: %s (see skiff-oci %s --help)",
			       cmd, what, cmd);
}

int want_args(int argc, char **argv, int min, int max, const char *cmd,
		     struct skiff_error **err)
{
	int n = argc - optind;

	if (n < min)
		return usage_error(err, cmd, min == 1 ? "a container id is needed" : "missing arguments");
	if (n > max)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "%s: unexpected argument \"%s\"", cmd, argv[optind + max]);
	return 0;
}

int bad_option(const char *cmd, char **argv, struct skiff_error **err)
{
	return skiff_error_set(err, EINVAL, "cli.usage",
			       "%s: unknown option or missing value in \"%s\" (see skiff-oci %s --help)",
			       cmd, argv[optind - 1], cmd);
}

/* ---- spec ---------------------------------------------------------------- */

/* --seccomp default (the built-in profile) or --seccomp FILE. */
static int spec_seccomp_profile(const char *arg, char **out, struct skiff_error **err)
{
	if (strcmp(arg, "default") == 0) {
		*out = xstrdup(skiff_seccomp_default_profile);
		return 0;
	}
	if (read_file_at(AT_FDCWD, arg, 4 << 20, out, NULL, err) < 0)
		return skiff_error_prefix(err, "--seccomp: ");
	return 0;
}

static int cmd_spec(const struct runtime_ctx *ctx, int argc, char **argv,
		    struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "rootless", no_argument, NULL, 'r' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "seccomp", required_argument, NULL, 's' },
		{ 0 } };
	struct spec_default_opts o = { .uid = geteuid(), .gid = getegid() };
	_cleanup_free_ char *json = NULL, *profile = NULL, *origin = NULL;
	_cleanup_spec_ struct spec *check = NULL;
	_cleanup_close_ int dirfd = -1;
	const char *bundle = ".", *seccomp = NULL;
	int c;

	(void)ctx;
	FOR_EACH_OPT(c, argc, argv, "b:", opts) {
		switch (c) {
		case 'r': o.rootless = true; break;
		case 'b': bundle = optarg; break;
		case 's': seccomp = optarg; break;
		default: return bad_option("spec", argv, err);
		}
	}
	if (want_args(argc, argv, 0, 0, "spec", err) < 0)
		return -1;
	if (seccomp != NULL && spec_seccomp_profile(seccomp, &profile, err) < 0)
		return -1;
	o.seccomp_json = profile;
	dirfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return skiff_error_set(err, errno, "bundle.not_found",
				       "cannot open the bundle directory %s (--bundle)", bundle);
	if (faccessat(dirfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return skiff_error_set(err, EEXIST, "spec.exists",
				       "%s/config.json exists: remove it first", bundle);
	json = spec_default_json(&o);
	if (json == NULL)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "--seccomp %s: expected a JSON object (a linux.seccomp "
				       "profile such as seccomp/default.json)", seccomp);
	/* A profile from a file is checked as create will check it, so that
	 * its errors name the file and the JSON path now. */
	if (seccomp != NULL) {
		origin = xasprintf("--seccomp %s", seccomp);
		if (spec_parse(json, strlen(json), origin, &check, err) < 0)
			return -1;
	}
	return write_file_atomic_at(dirfd, "config.json", json, strlen(json), 0644, err);
}

/* ---- create and run ------------------------------------------------------- */

enum { OPT_NO_PIVOT = 1000, OPT_NO_NEW_KEYRING, OPT_PRESERVE_FDS, OPT_CONSOLE_SOCKET,
       OPT_PID_FILE, OPT_NO_SUBREAPER, OPT_KEEP };

static int parse_create_opts(int argc, char **argv, const char *cmd,
			     struct create_opts *o, bool *detach,
			     struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ "detach", no_argument, NULL, 'd' },
		{ "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ 0 } };
	int c;

	FOR_EACH_OPT(c, argc, argv, detach ? "b:d" : "b:", opts) {
		int64_t n;

		switch (c) {
		case 'b': o->bundle = optarg; break;
		case OPT_PID_FILE: o->pid_file = optarg; break;
		case OPT_CONSOLE_SOCKET: o->console_socket = optarg; break;
		case OPT_NO_PIVOT: o->no_pivot = true; break;
		case OPT_NO_NEW_KEYRING: break;  /* skiff never joins a session keyring */
		case OPT_NO_SUBREAPER: break;
		case OPT_PRESERVE_FDS:
			if (parse_int64(optarg, 0, 1 << 20, &n) < 0)
				return skiff_error_set(err, EINVAL, "cli.usage",
						       "%s: --preserve-fds: expected a count, not \"%s\"",
						       cmd, optarg);
			o->preserve_fds = (int)n;
			break;
		case 'd':
			if (detach != NULL) {
				*detach = true;
				break;
			}
			return bad_option(cmd, argv, err);
		case OPT_KEEP:
			if (detach != NULL)
				break;
			return bad_option(cmd, argv, err);
		default: return bad_option(cmd, argv, err);
		}
	}
	return want_args(argc, argv, 1, 1, cmd, err);
}

/* What create and run do before building a container: as root, run from a
 * sealed copy of the binary (CVE-2019-5736); take the fds of socket
 * activation (LISTEN_FDS for this pid), to pass them on as runc does. */
static void read_listen_fds(struct create_opts *o)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	int64_t n, p;

	if (fds != NULL && pid != NULL && parse_int64(pid, 1, INT32_MAX, &p) == 0 &&
	    p == getpid() && parse_int64(fds, 0, 1 << 20, &n) == 0)
		o->listen_fds = (int)n;
}

static int cmd_create(const struct runtime_ctx *ctx, int argc, char **argv,
		      struct skiff_error **err)
{
	struct create_opts o = { 0 };

	read_listen_fds(&o);
	if (parse_create_opts(argc, argv, "create", &o, NULL, err) < 0)
		return -1;
	return container_create(ctx, argv[optind], &o, NULL, NULL, err);
}

static int cmd_run(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err)
{
	struct create_opts o = { 0 };
	bool detach = false;
	int status = 0;

	read_listen_fds(&o);
	if (parse_create_opts(argc, argv, "run", &o, &detach, err) < 0)
		return -1;
	if (container_run(ctx, argv[optind], &o, detach, &status, err) < 0)
		return -1;
	return status;
}

/* ---- start, state, kill, delete, list --------------------------------------- */

static int cmd_start(const struct runtime_ctx *ctx, int argc, char **argv,
		     struct skiff_error **err)
{
	int c;

	FOR_EACH_OPT(c, argc, argv, "", NULL)
		return bad_option("start", argv, err);
	if (want_args(argc, argv, 1, 1, "start", err) < 0)
		return -1;
	return container_start(ctx, argv[optind], err);
}

static int cmd_state(const struct runtime_ctx *ctx, int argc, char **argv,
		     struct skiff_error **err)
{
	_cleanup_free_ char *json = NULL;
	int c;

	FOR_EACH_OPT(c, argc, argv, "", NULL)
		return bad_option("state", argv, err);
	if (want_args(argc, argv, 1, 1, "state", err) < 0 ||
	    container_state_json(ctx, argv[optind], &json, err) < 0)
		return -1;
	printf("%s\n", json);
	return 0;
}

static int cmd_kill(const struct runtime_ctx *ctx, int argc, char **argv,
		    struct skiff_error **err)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { 0 } };
	bool all = false;
	int c, sig = SIGTERM;

	FOR_EACH_OPT(c, argc, argv, "a", opts) {
		if (c != 'a')
			return bad_option("kill", argv, err);
		all = true;
	}
	if (want_args(argc, argv, 1, 2, "kill", err) < 0)
		return -1;
	if (argc - optind == 2) {
		sig = signal_parse(argv[optind + 1]);
		if (sig < 0)
			return skiff_error_set(err, EINVAL, "cli.usage",
					       "kill: unknown signal \"%s\" (use a name such as "
					       "TERM or KILL, or a number)", argv[optind + 1]);
	}
	return container_kill(ctx, argv[optind], sig, all, err);
}

static int cmd_delete(const struct runtime_ctx *ctx, int argc, char **argv,
		      struct skiff_error **err)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	int c;

	FOR_EACH_OPT(c, argc, argv, "f", opts) {
		if (c != 'f')
			return bad_option("delete", argv, err);
		force = true;
	}
	if (want_args(argc, argv, 1, 1, "delete", err) < 0)
		return -1;
	return container_delete(ctx, argv[optind], force, err);
}

static int cmd_list(const struct runtime_ctx *ctx, int argc, char **argv,
		    struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' }, { 0 } };
	struct container_info *v = NULL;
	const char *format = "table";
	bool quiet = false;
	size_t n = 0;
	int c;

	FOR_EACH_OPT(c, argc, argv, "f:q", opts) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'q': quiet = true; break;
		default: return bad_option("list", argv, err);
		}
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "list: --format: expected table or json, not \"%s\"", format);
	if (want_args(argc, argv, 0, 0, "list", err) < 0 ||
	    container_list(ctx, &v, &n, err) < 0)
		return -1;
	if (strcmp(format, "json") == 0) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s{\"ociVersion\":\"1.2.0\",\"id\":\"%s\",\"pid\":%d,"
			       "\"status\":\"%s\",\"bundle\":\"%s\",\"created\":\"%s\","
			       "\"owner\":\"%u\"}", i ? "," : "", v[i].id, v[i].pid,
			       container_status_name(v[i].status), v[i].bundle,
			       v[i].created, (unsigned)v[i].owner);
		printf("]\n");
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i].id);
	} else {
		printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS",
		       "BUNDLE", "CREATED", "OWNER");
		for (size_t i = 0; i < n; i++)
			printf("%-20s %-8d %-10s %-40s %-32s %u\n", v[i].id, v[i].pid,
			       container_status_name(v[i].status), v[i].bundle,
			       v[i].created, (unsigned)v[i].owner);
	}
	container_info_free(v, n);
	return 0;
}

/* ---- dispatch -------------------------------------------------------------- */

static const struct oci_cmd commands[] = {
	{ "create", cmd_create, "create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot]\n"
	  "           [--preserve-fds N] ID\n"
	  "    set up the container; its process waits for `start`" },
	{ "start", cmd_start, "start ID\n    run the process of a created container" },
	{ "run", cmd_run, "run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] [--no-pivot]\n"
	  "        [--preserve-fds N] ID\n"
	  "    create, start and wait; exits with the process's code (128+N for signal N)" },
	{ "exec", oci_cmd_exec, "exec [--process FILE] [-t] [--console-socket S] [--cwd DIR] [-e K=V]...\n"
	  "         [-u UID[:GID]] [-g GID]... [-c CAP]... [--no-new-privs] [-d] [--pid-file F]\n"
	  "         [--preserve-fds N] [--ignore-paused] ID [COMMAND ARGS...]\n"
	  "    run a process in a running container; exits with its code (128+N for signal N)" },
	{ "state", cmd_state, "state ID\n    print the runtime-spec state JSON" },
	{ "kill", cmd_kill, "kill [--all] ID [SIGNAL]\n    send SIGNAL (default TERM; name or number)" },
	{ "delete", cmd_delete, "delete [--force] ID\n    remove a stopped container (--force: kill it first)" },
	{ "list", cmd_list, "list [--format table|json] [--quiet]\n    list the containers" },
	{ "ps", oci_cmd_ps, "ps [--format table|json] ID\n    list the processes of a container" },
	{ "pause", oci_cmd_pause, "pause ID\n    freeze every process of a container (cgroup v2)" },
	{ "resume", oci_cmd_resume, "resume ID\n    thaw a paused container" },
	{ "update", oci_cmd_update, "update [--memory N] [--memory-reservation N] [--memory-swap N]\n"
	  "           [--cpu-shares N] [--cpu-quota US] [--cpu-period US] [--cpuset-cpus L]\n"
	  "           [--cpuset-mems L] [--pids-limit N] [--blkio-weight N] [--resources FILE|-] ID\n"
	  "    change the limits of a running container (sizes take k, m, g; -1: no limit)" },
	{ "events", oci_cmd_events, "events [--stats] [--interval 5s] ID\n"
	  "    JSON lines: memory, cpu and pids numbers, and an \"oom\" event per OOM kill" },
	{ "features", oci_cmd_features, "features\n"
	  "    print the runtime-spec features document (what this skiff recognizes)" },
	{ "spec", cmd_spec, "spec [--rootless] [--bundle DIR] [--seccomp default|FILE]\n"
	  "    write a default config.json, with a seccomp profile if asked" },
};

static void print_help(FILE *f)
{
	fprintf(f, "usage: skiff-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n"
		"       skiff oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n\n"
		"A runc-compatible OCI runtime.\n\nGlobal options:\n"
		"  --root DIR              state directory (default: $XDG_RUNTIME_DIR/skiff,\n"
		"                          /run/skiff for root)\n"
		"  --log FILE              also write messages to FILE\n"
		"  --log-format text|json  format of the --log file\n"
		"  --debug                 verbose messages\n"
		"  --rootless auto|true|false\n"
		"  --systemd-cgroup        (not supported yet: an error)\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "\nSee skiff-oci(1).\n");
}

/* exec's options stop at the id: a --help after it is the command's. */
static bool wants_help(int argc, char **argv)
{
	bool exec = strcmp(argv[0], "exec") == 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
		if (exec && argv[i][0] != '-')
			return false;
	}
	return false;
}

int oci_main(int argc, char **argv)
{
	_cleanup_error_ struct skiff_error *err = NULL;
	_cleanup_free_ char *root = NULL;
	struct oci_global g;
	struct runtime_ctx ctx = { 0 };
	int next, r;

	if (oci_parse_global(argc - 1, argv + 1, &g, &next, &err) < 0)
		goto fail;
	next++;
	skiff_log_init("skiff", g.debug ? SKIFF_LOG_DEBUG : SKIFF_LOG_WARNING);
	if (g.log != NULL && skiff_log_set_file(g.log, g.log_format, &err) < 0)
		goto fail;
	if (g.version) {
		printf("skiff version %s\nspec: %s\n", PACKAGE_VERSION, "1.2.0");
		return 0;
	}
	if (g.help || next >= argc) {
		print_help(g.help ? stdout : stderr);
		return g.help ? 0 : 1;
	}
	if (g.systemd_cgroup) {
		skiff_error_set(&err, ENOTSUP, "cgroup.systemd_unsupported",
				"--systemd-cgroup: the systemd cgroup manager is not supported "
				"yet; run without it");
		goto fail;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[next], commands[i].name) != 0)
			continue;
		if (wants_help(argc - next, argv + next)) {
			printf("usage: skiff-oci %s\n", commands[i].usage);
			return 0;
		}
		if (runtime_state_root(g.root, &root, &err) < 0)
			goto fail;
		ctx.state_root = root;
		ctx.rootless = g.rootless >= 0 ? g.rootless
					      : !(geteuid() == 0 && sys_in_initial_userns());
		ctx.debug = g.debug;
		r = commands[i].run(&ctx, argc - next, argv + next, &err);
		if (r < 0)
			goto fail;
		return r;
	}
	skiff_error_set(&err, EINVAL, "cli.usage",
			"unknown command \"%s\" (see skiff-oci --help)", argv[next]);
fail:
	skiff_log_error(err);
	return skiff_error_exit_code(err);
}
