/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's spec, built in memory from the image config and the
 * options of `skiff run`: the runtime's default spec (`skiff oci spec`)
 * with the image's command, environment, user and workdir, and the job
 * face's secure defaults, each with its opt-out. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "job/job-internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Podman's default set (containers.conf), which is Docker's without
 * NET_RAW, MKNOD and AUDIT_WRITE: raw sockets and device nodes are not
 * what a job needs, and they widen what a compromised job can reach. */
static const char *const default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT", NULL,
};

/* ---- environment: later entries replace earlier ones of the same key ---- */

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static void env_set(json_t *env, const char *kv)
{
	size_t i, n = key_len(kv);
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s && key_len(s) == n && strncmp(s, kv, n) == 0) {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static bool env_has(json_t *env, const char *key)
{
	size_t i, n = strlen(key);
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s && key_len(s) == n && strncmp(s, key, n) == 0)
			return true;
	}
	return false;
}

/* -e K=V, or -e K: the caller's value, skipped when it has none (Docker). */
static int env_add_option(json_t *env, const char *opt, const char *origin,
			  struct skiff_error **err)
{
	if (opt[0] == '=' || opt[0] == '\0')
		return skiff_error_set(err, EINVAL, "job.env.invalid",
				       "%s \"%s\": expected KEY=VALUE or KEY", origin, opt);
	if (strchr(opt, '=') == NULL) {
		const char *v = getenv(opt);

		if (v != NULL) {
			_cleanup_free_ char *kv = xasprintf("%s=%s", opt, v);

			env_set(env, kv);
		}
		return 0;
	}
	env_set(env, opt);
	return 0;
}

static int env_add_file(json_t *env, const char *file, struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *origin = xasprintf("--env-file %s:", file);
	char *save = NULL;
	int lineno = 0;

	if (read_file_at(AT_FDCWD, file, 1u << 20, &text, NULL, err) < 0)
		return skiff_error_prefix(err, "--env-file: ");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line;
		size_t n;

		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		n = strlen(p);
		while (n > 0 && (p[n - 1] == '\r'))
			p[--n] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		{
			_cleanup_free_ char *where = xasprintf("--env-file %s line %d", file, lineno);

			if (env_add_option(env, p, where, err) < 0)
				return -1;
		}
	}
	(void)origin;
	return 0;
}

/* ---- the command ----------------------------------------------------------- */

static void append_strings(json_t *args, json_t *from)
{
	size_t i;
	json_t *v;

	json_array_foreach(from, i, v)
		if (json_is_string(v))
			json_array_append(args, v);
}

/* Docker's rules: --entrypoint replaces the image's Entrypoint and drops
 * its Cmd ("" clears both); a trailing COMMAND replaces Cmd. */
static int build_args(const struct job_options *o, json_t *cfg, json_t **out,
		      struct skiff_error **err)
{
	json_t *args = json_array();

	if (o->has_entrypoint) {
		if (o->entrypoint[0] != '\0')
			json_array_append_new(args, json_string(o->entrypoint));
	} else {
		append_strings(args, json_object_get(cfg, "Entrypoint"));
	}
	if (o->command != NULL && o->command[0] != NULL) {
		for (char **c = o->command; *c; c++)
			json_array_append_new(args, json_string(*c));
	} else if (!o->has_entrypoint) {
		append_strings(args, json_object_get(cfg, "Cmd"));
	}
	if (json_array_size(args) == 0) {
		json_decref(args);
		return skiff_error_set(err, EINVAL, "job.no_command",
				       "image %s has no Entrypoint or Cmd: give a COMMAND after "
				       "the image", o->image);
	}
	*out = args;
	return 0;
}

/* ---- capabilities ------------------------------------------------------------ */

static char *cap_name(const char *s)
{
	char *n = strncasecmp(s, "CAP_", 4) == 0 ? xstrdup(s) : xasprintf("CAP_%s", s);

	for (char *p = n; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return n;
}

static bool caps_has(json_t *a, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

static void caps_remove(json_t *a, const char *name)
{
	for (size_t i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), name) == 0)
			json_array_remove(a, i--);
}

/* Docker's order: drops first, then adds; "ALL" in either. */
static int build_caps(const struct job_options *o, json_t **out, struct skiff_error **err)
{
	json_t *a = json_array();
	bool drop_all = false;

	for (char **d = o->cap_drop; d && *d; d++)
		if (strcasecmp(*d, "ALL") == 0)
			drop_all = true;
	if (!drop_all)
		for (const char *const *c = default_caps; *c; c++)
			json_array_append_new(a, json_string(*c));
	for (char **d = o->cap_drop; d && *d; d++) {
		_cleanup_free_ char *n = cap_name(*d);

		if (strcasecmp(*d, "ALL") == 0)
			continue;
		if (capability_from_name(n) < 0) {
			json_decref(a);
			return skiff_error_set(err, EINVAL, "job.capability.unknown",
					       "--cap-drop %s: no such capability", *d);
		}
		caps_remove(a, n);
	}
	for (char **c = o->cap_add; c && *c; c++) {
		if (strcasecmp(*c, "ALL") == 0) {
			for (int i = 0; i <= capabilities_last_cap(); i++) {
				_cleanup_free_ char *n = capability_name(i);

				if (n != NULL && !caps_has(a, n))
					json_array_append_new(a, json_string(n));
			}
			continue;
		}
		_cleanup_free_ char *n = cap_name(*c);

		if (capability_from_name(n) < 0) {
			json_decref(a);
			return skiff_error_set(err, EINVAL, "job.capability.unknown",
					       "--cap-add %s: no such capability", *c);
		}
		if (!caps_has(a, n))
			json_array_append_new(a, json_string(n));
	}
	*out = a;
	return 0;
}

/* ---- mounts ------------------------------------------------------------------ */

static json_t *string_list(const char *first, ...)
{
	json_t *a = json_array();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		json_array_append_new(a, json_string(s));
	va_end(ap);
	return a;
}

static void add_mount(json_t *mounts, const char *dest, const char *type, const char *src,
		      json_t *options)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type,
			      "source", src, "options", options);

	json_array_append_new(mounts, m);
}

static void add_bind(json_t *mounts, const char *dir, const char *file, const char *dest,
		     bool ro)
{
	_cleanup_free_ char *src = xasprintf("%s/%s", dir, file);

	add_mount(mounts, dest, "bind", src,
		  ro ? string_list("rbind", "ro", "nosuid", "nodev", "noexec", NULL)
		     : string_list("rbind", "nosuid", "nodev", "noexec", NULL));
}

static int add_tmpfs(json_t *mounts, const char *spec, struct skiff_error **err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *opts = strchr(copy, ':'), *save = NULL;
	json_t *o;

	if (opts)
		*opts++ = '\0';
	if (copy[0] != '/')
		return skiff_error_set(err, EINVAL, "job.mount.invalid",
				       "--tmpfs %s: the path must be absolute", spec);
	/* Docker's defaults for --tmpfs; the options given come after and
	 * win (exec, suid, size=, mode=). */
	o = string_list("nosuid", "nodev", "noexec", NULL);
	for (char *t = opts ? strtok_r(opts, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(t));
	add_mount(mounts, copy, "tmpfs", "tmpfs", o);
	return 0;
}

static int add_volume(json_t *mounts, const char *spec, struct skiff_error **err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *ctr = strchr(copy, ':'), *mode = NULL;
	struct stat st;

	if (ctr == NULL)
		return skiff_error_set(err, EINVAL, "job.mount.invalid",
				       "--volume %s: expected HOST:CONTAINER[:ro|rw]", spec);
	*ctr++ = '\0';
	mode = strchr(ctr, ':');
	if (mode)
		*mode++ = '\0';
	if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
		return skiff_error_set(err, EINVAL, "job.mount.invalid",
				       "--volume %s: the mode must be ro or rw", spec);
	if (copy[0] != '/' || ctr[0] != '/')
		return skiff_error_set(err, EINVAL, "job.mount.invalid",
				       "--volume %s: both paths must be absolute", spec);
	/* Podman's rule: a missing host path is an error, not a new dir. */
	if (stat(copy, &st) < 0)
		return skiff_error_set(err, errno, "job.mount.source",
				       "--volume %s: cannot use the host path %s", spec, copy);
	add_mount(mounts, ctr, "bind", copy,
		  mode && strcmp(mode, "ro") == 0 ? string_list("rbind", "ro", "nosuid", "nodev", NULL)
						  : string_list("rbind", "nosuid", "nodev", NULL));
	return 0;
}

/* ---- limits ---------------------------------------------------------------- */

static json_t *build_resources(const struct job_options *o, json_t *resources)
{
	if (o->memory > 0 || o->memory_swap != 0) {
		json_t *m = json_object();

		if (o->memory > 0)
			json_object_set_new(m, "limit", json_integer(o->memory));
		if (o->memory_swap != 0)
			json_object_set_new(m, "swap", json_integer(o->memory_swap));
		json_object_set_new(resources, "memory", m);
	}
	if (o->cpus > 0) {
		const int64_t period = 100000;

		json_object_set_new(resources, "cpu",
				    json_pack("{s:I, s:I}", "quota",
					      (json_int_t)(o->cpus * (double)period + 0.5),
					      "period", (json_int_t)period));
	}
	if (o->pids_limit != 0)
		json_object_set_new(resources, "pids",
				    json_pack("{s:I}", "limit", (json_int_t)o->pids_limit));
	return resources;
}

/* ---- the whole ---------------------------------------------------------------- */

/* A --security-opt seccomp=FILE profile as text; none for unconfined, and
 * none for the default, which is set after parsing (built in, no JSON). */
static int seccomp_profile(const struct job_options *o, char **text, struct skiff_error **err)
{
	*text = NULL;
	if (o->seccomp == NULL || strcmp(o->seccomp, "unconfined") == 0)
		return 0;
	if (read_file_at(AT_FDCWD, o->seccomp, 16u << 20, text, NULL, err) < 0)
		return skiff_error_prefix(err, "--security-opt seccomp=%s: ", o->seccomp);
	return 0;
}

static json_t *id_maps(const struct sys_id_map *m, size_t n, uint32_t self)
{
	json_t *a = json_array();

	if (n == 0)
		json_array_append_new(a, json_pack("{s:i, s:I, s:i}", "containerID", 0,
						   "hostID", (json_int_t)self, "size", 1));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:I, s:I}", "containerID",
						   (json_int_t)m[i].inside, "hostID",
						   (json_int_t)m[i].outside, "size",
						   (json_int_t)m[i].count));
	return a;
}

static void remove_namespace(json_t *linux_, const char *type)
{
	json_t *ns = json_object_get(linux_, "namespaces");

	for (size_t i = 0; i < json_array_size(ns); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")),
			   type) == 0)
			json_array_remove(ns, i--);
}

/* networking: --network ns:PATH joins that namespace (as pods do). */
static void set_namespace_path(json_t *linux_, const char *type, const char *path)
{
	json_t *ns = json_object_get(linux_, "namespaces");

	for (size_t i = 0; i < json_array_size(ns); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(ns, i), "type")),
			   type) == 0)
			json_object_set_new(json_array_get(ns, i), "path", json_string(path));
}

static int stop_signal_of(const struct job_options *o, json_t *cfg, int *out,
			  struct skiff_error **err)
{
	const char *s = o->stop_signal ? o->stop_signal
					: json_string_value(json_object_get(cfg, "StopSignal"));

	*out = SIGTERM;
	if (s == NULL || *s == '\0')
		return 0;
	*out = signal_parse(s);
	if (*out <= 0)
		return skiff_error_set(err, EINVAL, "job.signal.invalid",
				       "%s \"%s\" is not a signal",
				       o->stop_signal ? "--stop-signal" : "the image's StopSignal", s);
	return 0;
}

int job_build_spec(const struct job_spec_input *in, struct spec **out, int *stop_signal,
		   struct skiff_error **err)
{
	const struct job_options *o = in->o;
	json_t *cfg = in->config;
	struct spec_default_opts d = { .rootless = in->rootless, .uid = geteuid(),
				       .gid = getegid() };
	_cleanup_free_ char *seccomp = NULL, *rootfs = NULL;
	_cleanup_json_ json_t *spec = NULL;
	struct job_user user = { 0 };
	json_t *process, *env, *args = NULL, *caps = NULL, *linux_, *mounts, *a;
	const char *workdir = o->workdir;
	struct rlimit nofile;
	int rc = -1;

	if (stop_signal_of(o, cfg, stop_signal, err) < 0 || seccomp_profile(o, &seccomp, err) < 0)
		return -1;
	d.seccomp_json = seccomp;
	/* Built, edited and parsed as one JSON object: no text in between. */
	spec = spec_default_object(&d);
	if (spec == NULL)
		return skiff_error_set(err, EINVAL, "job.seccomp.invalid",
				       "--security-opt seccomp=%s: not a JSON object (the "
				       "linux.seccomp form of seccomp/default.json)", o->seccomp);
	process = json_object_get(spec, "process");
	linux_ = json_object_get(spec, "linux");
	mounts = json_object_get(spec, "mounts");

	if (build_args(o, cfg, &args, err) < 0 || build_caps(o, &caps, err) < 0)
		goto out;
	json_object_set_new(process, "args", args);
	args = NULL;
	json_object_set_new(process, "capabilities",
			    json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps,
				      "permitted", caps));

	if (job_user_resolve(o->user ? o->user
				     : json_string_value(json_object_get(cfg, "User")),
			     in->layers->dirs, in->layers->n_dirs, &user, err) < 0)
		goto out;
	a = json_array();
	for (size_t i = 0; i < user.n_groups; i++)
		json_array_append_new(a, json_integer(user.groups[i]));
	json_object_set_new(process, "user", json_pack("{s:I, s:I, s:o}", "uid",
						       (json_int_t)user.uid, "gid",
						       (json_int_t)user.gid, "additionalGids", a));

	env = json_array();
	append_strings(env, json_object_get(cfg, "Env"));
	if (!env_has(env, "PATH"))
		env_set(env, DEFAULT_PATH);
	{
		_cleanup_free_ char *h = xasprintf("HOSTNAME=%s", in->hostname);

		env_set(env, h);
	}
	if (!env_has(env, "HOME")) {
		_cleanup_free_ char *h = xasprintf("HOME=%s", user.home);

		env_set(env, h);
	}
	json_object_set_new(process, "env", env);
	for (char **f = o->env_files; f && *f; f++)
		if (env_add_file(env, *f, err) < 0)
			goto out;
	for (char **e = o->env; e && *e; e++)
		if (env_add_option(env, *e, "--env", err) < 0)
			goto out;
	for (char **e = in->secret_env; e && *e; e++)
		env_set(env, *e);

	if (workdir == NULL)
		workdir = json_string_value(json_object_get(cfg, "WorkingDir"));
	if (workdir == NULL || *workdir == '\0')
		workdir = "/";
	if (o->workdir != NULL && o->workdir[0] != '/') {
		skiff_error_set(err, EINVAL, "job.workdir.invalid",
				"--workdir %s: the path must be absolute", o->workdir);
		goto out;
	}
	{
		_cleanup_free_ char *w = workdir[0] == '/' ? xstrdup(workdir)
							   : xasprintf("/%s", workdir);

		json_object_set_new(process, "cwd", json_string(w));
	}
	json_object_set_new(process, "noNewPrivileges", json_boolean(!o->allow_new_privileges));
	/* The caller's own open-files limit, as Podman gives rootless jobs:
	 * the runtime default of 1024 is too low for many programs. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0)
		json_object_set_new(process, "rlimits",
				    json_pack("[{s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE",
					      "hard", (json_int_t)nofile.rlim_max,
					      "soft", (json_int_t)nofile.rlim_max));

	json_object_set_new(spec, "hostname", json_string(in->hostname));
	rootfs = xasprintf("%s/rootfs", in->dir);
	json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", rootfs,
						    "readonly", o->read_only));

	if (in->rootless && in->join_userns != NULL) {
		/* networking: the user namespace owning the joined network
		 * namespace, with its own mapping; or the kept one, with the
		 * store's mapping (userns_keep.c). */
		set_namespace_path(linux_, "user", in->join_userns);
	} else if (in->rootless) {
		json_object_set_new(linux_, "uidMappings", id_maps(in->uid_map, in->n_map, geteuid()));
		json_object_set_new(linux_, "gidMappings", id_maps(in->gid_map, in->n_map, getegid()));
	}
	if (o->network == JOB_NETWORK_HOST)
		remove_namespace(linux_, "network");
	else if (o->network == JOB_NETWORK_NS)
		set_namespace_path(linux_, "network", o->network_ns);
	if (o->memory > 0 || o->memory_swap != 0 || o->cpus > 0 || o->pids_limit != 0) {
		json_t *r = json_object_get(linux_, "resources");

		if (r == NULL) {
			r = json_object();
			json_object_set_new(linux_, "resources", r);
		}
		build_resources(o, r);
	}

	/* What Podman gives a container: its own hosts, hostname, resolv.conf,
	 * in the overlay's top layer already, or bound from its directory. */
	for (size_t i = 0; !in->etc_in_layer && i < JOB_N_ETC_FILES; i++) {
		_cleanup_free_ char *dest = xasprintf("/etc/%s", job_etc_files[i]);

		add_bind(mounts, in->dir, job_etc_files[i], dest, false);
	}
	if (o->read_only) {
		bool tmp_given = false;

		for (char **t = o->tmpfs; t && *t; t++)
			if (strncmp(*t, "/tmp", 4) == 0 && ((*t)[4] == '\0' || (*t)[4] == ':'))
				tmp_given = true;
		for (char **v = o->volumes; v && *v; v++) {
			const char *c = strstr(*v, ":/tmp");

			if (c != NULL && (c[5] == '\0' || c[5] == ':'))
				tmp_given = true;
		}
		if (!tmp_given)
			add_mount(mounts, "/tmp", "tmpfs", "tmpfs",
				  string_list("nosuid", "nodev", "mode=1777", NULL));
	}
	for (char **t = o->tmpfs; t && *t; t++)
		if (add_tmpfs(mounts, *t, err) < 0)
			goto out;
	for (char **v = o->volumes; v && *v; v++)
		if (add_volume(mounts, *v, err) < 0)
			goto out;
	for (char **s = o->secrets; s && *s; s++) {
		_cleanup_free_ char *name = xstrdup(*s), *file = NULL, *dest = NULL;
		char *eq = strchr(name, '=');

		if (eq)
			*eq = '\0';
		if (eq && strstr(eq + 1, ",type=env") != NULL)
			continue;
		file = xasprintf("secrets/%s", name);
		dest = xasprintf("/run/secrets/%s", name);
		add_bind(mounts, in->dir, file, dest, true);
	}

	if (spec_parse_object(spec, "the job's spec", out, err) < 0)
		goto out;
	if (o->seccomp == NULL)
		spec_set_default_seccomp(*out);
	rc = 0;
out:
	json_decref(args);
	json_decref(caps);
	job_user_clear(&user);
	return rc;
}
