/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The runtime face's cgroup commands, with runc's options: update, pause,
 * resume, ps, events. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <skiff/runtime.h>

#include "cli/cli.h"

int oci_parse_size(const char *s, int64_t *out)
{
	static const char units[] = "kmgtp";
	char *end;
	unsigned long long v;
	int64_t mult = 1;
	const char *u;

	if (strcmp(s, "-1") == 0) {
		*out = -1;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		u = strchr(units, tolower((unsigned char)*end));
		if (u == NULL)
			return -1;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
		if (tolower((unsigned char)*end) == 'i')
			end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
		if (*end != '\0')
			return -1;
	} else if (end == s) {
		return -1;
	}
	if (v > (unsigned long long)(INT64_MAX / mult))
		return -1;
	*out = (int64_t)v * mult;
	return 0;
}

/* ---- update ------------------------------------------------------------------- */

enum { U_MEMORY = 1000, U_MEMORY_RESERVATION, U_MEMORY_SWAP, U_KERNEL_MEMORY,
       U_KERNEL_MEMORY_TCP, U_CPU_SHARES, U_CPU_QUOTA, U_CPU_PERIOD, U_CPU_RT_PERIOD,
       U_CPU_RT_RUNTIME, U_CPUSET_CPUS, U_CPUSET_MEMS, U_PIDS_LIMIT, U_BLKIO_WEIGHT,
       U_L3_CACHE, U_MEM_BW };

static int bad_value(const char *flag, const char *value, const char *expected,
		     struct skiff_error **err)
{
	return skiff_error_set(err, EINVAL, "cli.usage", "update: --%s: expected %s, not \"%s\"",
			       flag, expected, value);
}

static int read_resources(const char *file, struct spec_resources **out,
			  struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *origin = xasprintf("--resources %s", file);
	size_t len = 0;

	if (strcmp(file, "-") == 0) {
		if (read_file_at(AT_FDCWD, "/dev/stdin", 16u << 20, &text, &len, err) < 0)
			return skiff_error_prefix(err, "update: --resources -: ");
	} else if (read_file_at(AT_FDCWD, file, 16u << 20, &text, &len, err) < 0) {
		return skiff_error_prefix(err, "update: --resources: ");
	}
	return spec_resources_parse(text, len, origin, out, err);
}

/* One flag onto r; flags win over --resources, as in runc. */
static int update_flag(int c, const char *flag, const char *v, struct spec_resources *r,
		       struct skiff_error **err)
{
	int64_t n;

	switch (c) {
	case U_MEMORY: case U_MEMORY_RESERVATION: case U_MEMORY_SWAP:
	case U_KERNEL_MEMORY: case U_KERNEL_MEMORY_TCP:
		if (oci_parse_size(v, &n) < 0)
			return bad_value(flag, v, "a size in bytes (\"512m\", \"1g\") or -1", err);
		if (c == U_MEMORY)
			r->has_memory_limit = true, r->memory_limit = n;
		else if (c == U_MEMORY_RESERVATION)
			r->has_memory_reservation = true, r->memory_reservation = n;
		else if (c == U_MEMORY_SWAP)
			r->has_memory_swap = true, r->memory_swap = n;
		else if (c == U_KERNEL_MEMORY)
			r->has_memory_kernel = true, r->memory_kernel = n;
		else
			r->has_memory_kernel_tcp = true, r->memory_kernel_tcp = n;
		return 0;
	case U_CPU_SHARES:
		if (parse_int64(v, 2, 262144, &n) < 0)
			return bad_value(flag, v, "an integer from 2 to 262144", err);
		r->has_cpu_shares = true, r->cpu_shares = (uint64_t)n;
		return 0;
	case U_CPU_QUOTA:
		if (parse_int64(v, -1, INT64_MAX, &n) < 0)
			return bad_value(flag, v, "microseconds per period, or -1 (no limit)", err);
		r->has_cpu_quota = true, r->cpu_quota = n;
		return 0;
	case U_CPU_PERIOD:
		if (parse_int64(v, 1, INT64_MAX, &n) < 0)
			return bad_value(flag, v, "a period in microseconds", err);
		r->has_cpu_period = true, r->cpu_period = (uint64_t)n;
		return 0;
	case U_CPU_RT_PERIOD:
		if (parse_int64(v, 0, INT64_MAX, &n) < 0)
			return bad_value(flag, v, "microseconds", err);
		r->has_cpu_realtime_period = true, r->cpu_realtime_period = (uint64_t)n;
		return 0;
	case U_CPU_RT_RUNTIME:
		if (parse_int64(v, INT64_MIN, INT64_MAX, &n) < 0)
			return bad_value(flag, v, "microseconds", err);
		r->has_cpu_realtime_runtime = true, r->cpu_realtime_runtime = n;
		return 0;
	case U_CPUSET_CPUS:
		free(r->cpu_cpus);
		r->cpu_cpus = xstrdup(v);
		return 0;
	case U_CPUSET_MEMS:
		free(r->cpu_mems);
		r->cpu_mems = xstrdup(v);
		return 0;
	case U_PIDS_LIMIT:
		if (parse_int64(v, -1, INT64_MAX, &n) < 0 || n == 0)
			return bad_value(flag, v, "a positive number of processes, or -1 (no limit)", err);
		r->has_pids_limit = true, r->pids_limit = n;
		return 0;
	case U_BLKIO_WEIGHT:
		if (parse_int64(v, 10, 1000, &n) < 0)
			return bad_value(flag, v, "an integer from 10 to 1000", err);
		r->has_blkio_weight = true, r->blkio_weight = (uint16_t)n;
		return 0;
	default:
		return skiff_error_set(err, ENOTSUP, "cgroup.unsupported",
				       "update: --%s: Intel RDT is not supported", flag);
	}
}

int oci_cmd_update(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, U_MEMORY },
		{ "memory-reservation", required_argument, NULL, U_MEMORY_RESERVATION },
		{ "memory-swap", required_argument, NULL, U_MEMORY_SWAP },
		{ "kernel-memory", required_argument, NULL, U_KERNEL_MEMORY },
		{ "kernel-memory-tcp", required_argument, NULL, U_KERNEL_MEMORY_TCP },
		{ "cpu-shares", required_argument, NULL, U_CPU_SHARES },
		{ "cpu-quota", required_argument, NULL, U_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, U_CPU_PERIOD },
		{ "cpu-rt-period", required_argument, NULL, U_CPU_RT_PERIOD },
		{ "cpu-rt-runtime", required_argument, NULL, U_CPU_RT_RUNTIME },
		{ "cpuset-cpus", required_argument, NULL, U_CPUSET_CPUS },
		{ "cpuset-mems", required_argument, NULL, U_CPUSET_MEMS },
		{ "pids-limit", required_argument, NULL, U_PIDS_LIMIT },
		{ "blkio-weight", required_argument, NULL, U_BLKIO_WEIGHT },
		{ "l3-cache-schema", required_argument, NULL, U_L3_CACHE },
		{ "mem-bw-schema", required_argument, NULL, U_MEM_BW },
		{ 0 } };
	struct { int c; const char *flag; char *value; } given[ARRAY_SIZE(opts)];
	size_t n_given = 0;
	const char *file = NULL;
	struct spec_resources *r = NULL;
	int c, rc = -1;

	FOR_EACH_OPT(c, argc, argv, "r:", opts) {
		if (c == 'r') {
			file = optarg;
			continue;
		}
		if (c < U_MEMORY || c > U_MEM_BW || n_given == ARRAY_SIZE(given))
			return bad_option("update", argv, err);
		for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
			if (opts[i].val == c)
				given[n_given].flag = opts[i].name;
		given[n_given].c = c;
		given[n_given++].value = optarg;
	}
	if (want_args(argc, argv, 1, 1, "update", err) < 0)
		return -1;
	if (file == NULL && n_given == 0)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "update: nothing to update: give --memory, --cpu-quota, "
				       "--pids-limit … or --resources FILE (see skiff-oci "
				       "update --help)");
	if (file != NULL) {
		if (read_resources(file, &r, err) < 0)
			return -1;
	} else {
		r = xzalloc(sizeof(*r));
	}
	for (size_t i = 0; i < n_given; i++)
		if (update_flag(given[i].c, given[i].flag, given[i].value, r, err) < 0)
			goto out;
	/* The parser checks this for --resources; the flags need it too. */
	if (r->has_memory_limit && r->has_memory_swap && r->memory_limit > 0 &&
	    r->memory_swap > 0 && r->memory_swap < r->memory_limit) {
		skiff_error_set(err, EINVAL, "cli.usage",
				"update: --memory-swap (memory + swap) %" PRId64 " is below "
				"--memory %" PRId64, r->memory_swap, r->memory_limit);
		goto out;
	}
	{
		_cleanup_free_ char *origin = file ? xasprintf("--resources %s", file)
						   : xstrdup("update");

		rc = container_update(ctx, argv[optind], r, origin, err);
	}
out:
	spec_resources_free(r);
	return rc;
}

/* ---- pause, resume ---------------------------------------------------------- */

static int one_id(int argc, char **argv, const char *cmd, struct skiff_error **err)
{
	int c;

	FOR_EACH_OPT(c, argc, argv, "", NULL)
		return bad_option(cmd, argv, err);
	return want_args(argc, argv, 1, 1, cmd, err);
}

int oci_cmd_pause(const struct runtime_ctx *ctx, int argc, char **argv,
		  struct skiff_error **err)
{
	if (one_id(argc, argv, "pause", err) < 0)
		return -1;
	return container_pause(ctx, argv[optind], err);
}

int oci_cmd_resume(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err)
{
	if (one_id(argc, argv, "resume", err) < 0)
		return -1;
	return container_resume(ctx, argv[optind], err);
}

/* ---- ps ---------------------------------------------------------------------- */

static void print_cmdline(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", pid);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (read_file_at(AT_FDCWD, path, 4096, &text, &len, NULL) < 0 || len == 0) {
		printf("?\n");
		return;
	}
	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	printf("%s\n", text);
}

int oci_cmd_ps(const struct runtime_ctx *ctx, int argc, char **argv,
	       struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' }, { 0 } };
	_cleanup_free_ pid_t *pids = NULL;
	const char *format = "table";
	size_t n = 0;
	int c;

	FOR_EACH_OPT(c, argc, argv, "f:", opts) {
		if (c != 'f')
			return bad_option("ps", argv, err);
		format = optarg;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return skiff_error_set(err, EINVAL, "cli.usage",
				       "ps: --format: expected table or json, not \"%s\"", format);
	/* runc passes what follows the id to ps(1); skiff has no ps(1) to
	 * call and says so rather than ignore it. */
	if (want_args(argc, argv, 1, 1, "ps", err) < 0 ||
	    container_ps(ctx, argv[optind], &pids, &n, err) < 0)
		return -1;
	if (strcmp(format, "json") == 0) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", pids[i]);
		printf("]\n");
		return 0;
	}
	printf("%-8s %s\n", "PID", "CMD");
	for (size_t i = 0; i < n; i++) {
		printf("%-8d ", pids[i]);
		print_cmdline(pids[i]);
	}
	return 0;
}

/* ---- events ------------------------------------------------------------------- */

/* runc's stats shape where it has one (cpu in nanoseconds); oom and
 * oom_kill are skiff's: memory.events, for "oom_killed". */
static json_t *stats_json(const char *id, const struct container_stats *s)
{
	json_t *data = json_object();

	if (s->has_memory) {
		json_t *usage = json_pack("{s:I}", "usage", (json_int_t)s->memory_current);

		if (s->memory_max != UINT64_MAX)
			json_object_set_new(usage, "limit", json_integer((json_int_t)s->memory_max));
		json_object_set_new(data, "memory",
				    json_pack("{s:o, s:{s:I}, s:I, s:I}", "usage", usage,
					      "swap_usage", "usage", (json_int_t)s->swap_current,
					      "oom", (json_int_t)s->oom,
					      "oom_kill", (json_int_t)s->oom_kill));
	}
	if (s->has_cpu)
		json_object_set_new(data, "cpu",
				    json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I}}",
					      "usage",
					      "total", (json_int_t)(s->cpu_usage_usec * 1000),
					      "user", (json_int_t)(s->cpu_user_usec * 1000),
					      "kernel", (json_int_t)(s->cpu_system_usec * 1000),
					      "throttling",
					      "periods", (json_int_t)s->cpu_nr_periods,
					      "throttledPeriods", (json_int_t)s->cpu_nr_throttled,
					      "throttledTime",
					      (json_int_t)(s->cpu_throttled_usec * 1000)));
	if (s->has_pids) {
		json_t *pids = json_pack("{s:I}", "current", (json_int_t)s->pids_current);

		if (s->pids_max != UINT64_MAX)
			json_object_set_new(pids, "limit", json_integer((json_int_t)s->pids_max));
		json_object_set_new(data, "pids", pids);
	}
	return json_pack("{s:s, s:s, s:o}", "type", "stats", "id", id, "data", data);
}

static void emit(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (text != NULL)
		printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(o);
}

/* "5s", "500ms", "1m", "2" (seconds). */
static int parse_interval(const char *s, long *ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || v <= 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ms = v;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		*ms = v * 1000;
	else if (strcmp(end, "m") == 0)
		*ms = v * 60000;
	else
		return -1;
	return 0;
}

int oci_cmd_events(const struct runtime_ctx *ctx, int argc, char **argv,
		   struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' }, { 0 } };
	struct container_stats s;
	bool once = false;
	long interval = 5000, since = 0;
	uint64_t ooms;
	const char *id;
	int c;

	FOR_EACH_OPT(c, argc, argv, "", opts) {
		if (c == 's')
			once = true;
		else if (c == 'i' && parse_interval(optarg, &interval) == 0)
			continue;
		else if (c == 'i')
			return skiff_error_set(err, EINVAL, "cli.usage",
					       "events: --interval: expected a duration such as "
					       "5s or 500ms, not \"%s\"", optarg);
		else
			return bad_option("events", argv, err);
	}
	if (want_args(argc, argv, 1, 1, "events", err) < 0)
		return -1;
	id = argv[optind];
	if (container_stats(ctx, id, &s, err) < 0)
		return -1;
	if (once) {
		emit(stats_json(id, &s));
		return 0;
	}
	if (s.status == CONTAINER_STOPPED)
		return skiff_error_set(err, ESRCH, "container.not_running",
				       "events: container \"%s\" is not running", id);
	/* Stats every interval; an "oom" event as soon as memory.events
	 * counts a new kill; the end when the container stops. */
	ooms = s.oom_kill;
	emit(stats_json(id, &s));
	for (;;) {
		struct timespec ts = { 0, 200 * 1000000L };

		nanosleep(&ts, NULL);
		since += 200;
		if (container_stats(ctx, id, &s, err) < 0)
			return -1;
		if (s.oom_kill > ooms) {
			emit(json_pack("{s:s, s:s, s:{s:I}}", "type", "oom", "id", id, "data",
				       "oom_kill", (json_int_t)s.oom_kill));
			ooms = s.oom_kill;
		}
		if (s.status == CONTAINER_STOPPED)
			return 0;
		if (since >= interval) {
			emit(stats_json(id, &s));
			since = 0;
		}
	}
}
