/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The config.json written by `skiff oci spec`: runc's example spec, with
 * the changes that make it run as is under skiff, crun and runc alike. */
#include <string.h>

#include <jansson.h>

#include <skiff/runtime.h>
#include <skiff/util.h>

/* 1.0.2 rather than the newest: Debian's runc 1.1.5 and crun 1.8.1 accept
 * it, so benchmarks can hand the same bundle to all three. */
#define DEFAULT_OCI_VERSION "1.0.2"

struct default_mount {
	const char *destination, *type, *source;
	const char *options[8];
};

static const struct default_mount default_mounts[] = {
	{ "/proc", "proc", "proc", { NULL } },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
	{ "/dev/pts", "devpts", "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
	{ "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
	{ "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime", "ro" } },
};

static const char *const default_caps[] = {
	"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL,
};

static const char *const masked_paths[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
	"/sys/devices/virtual/tpm", NULL,
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *string_array(const char *const *v, bool rootless)
{
	json_t *a = json_array();

	for (; *v != NULL; v++) {
		/* gid 5 (tty) is not mapped in a single-id user namespace and
		 * devpts refuses an unmapped gid. */
		if (rootless && strncmp(*v, "gid=", 4) == 0)
			continue;
		json_array_append_new(a, json_string(*v));
	}
	return a;
}

static json_t *default_process(void)
{
	/* No ambient capabilities (as runc since 1.2): they would reach a
	 * process run as a non-root user too. */
	json_t *caps = json_pack("{s:o, s:o, s:o}",
				 "bounding", string_array(default_caps, false),
				 "effective", string_array(default_caps, false),
				 "permitted", string_array(default_caps, false));

	/* No TERM: without a terminal, programs must not assume one. */
	return json_pack("{s:b, s:{s:i, s:i}, s:[s], s:[s], s:s, s:o, s:[{s:s, s:i, s:i}], s:b}",
			 "terminal", 0,
			 "user", "uid", 0, "gid", 0,
			 "args", "sh",
			 "env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			 "cwd", "/",
			 "capabilities", caps,
			 "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
			 "noNewPrivileges", 1);
}

static json_t *default_mounts_json(bool rootless)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		const struct default_mount *m = &default_mounts[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "destination", m->destination,
				      "type", m->type, "source", m->source);

		if (m->options[0] != NULL)
			json_object_set_new(o, "options", string_array(m->options, rootless));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *single_id_mapping(unsigned long host_id)
{
	return json_pack("[{s:i, s:I, s:i}]", "containerID", 0,
			 "hostID", (json_int_t)host_id, "size", 1);
}

static json_t *default_linux(const struct spec_default_opts *o, json_t *seccomp)
{
	/* A new network namespace is kept in rootless mode too: it is what
	 * lets sysfs be mounted without privileges. */
	static const char *const namespaces[] = {
		"pid", "network", "ipc", "uts", "mount", "cgroup",
	};
	json_t *l = json_object(), *ns = json_array();

	if (o->rootless) {
		json_object_set_new(l, "uidMappings", single_id_mapping(o->uid));
		json_object_set_new(l, "gidMappings", single_id_mapping(o->gid));
	}
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
		json_array_append_new(ns, json_pack("{s:s}", "type", namespaces[i]));
	if (o->rootless)
		json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
	json_object_set_new(l, "namespaces", ns);
	/* runc's rootless spec drops cgroup settings: there may be no
	 * delegated cgroup to apply them to. */
	if (!o->rootless)
		json_object_set_new(l, "resources",
				    json_pack("{s:[{s:b, s:s}]}", "devices",
					      "allow", 0, "access", "rwm"));
	if (seccomp != NULL)
		json_object_set_new(l, "seccomp", seccomp);
	json_object_set_new(l, "maskedPaths", string_array(masked_paths, false));
	json_object_set_new(l, "readonlyPaths", string_array(readonly_paths, false));
	return l;
}

json_t *spec_default_object(const struct spec_default_opts *o)
{
	json_t *seccomp = NULL, *spec;

	if (o->seccomp_json != NULL) {
		seccomp = json_loads(o->seccomp_json, 0, NULL);
		if (!json_is_object(seccomp)) {
			json_decref(seccomp);
			return NULL;
		}
	}
	spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}",
			 "ociVersion", DEFAULT_OCI_VERSION,
			 "process", default_process(),
			 "root", "path", "rootfs", "readonly", 1,
			 "hostname", "skiff",
			 "mounts", default_mounts_json(o->rootless),
			 "linux", default_linux(o, seccomp));
	if (spec == NULL)
		abort();
	return spec;
}

char *spec_default_json(const struct spec_default_opts *o)
{
	json_t *spec = spec_default_object(o);
	char *text, *out;

	if (spec == NULL)
		return NULL;
	text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(spec);
	if (text == NULL)
		abort();
	out = xasprintf("%s\n", text);
	free(text);
	return out;
}
