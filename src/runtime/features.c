/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The runtime-spec features document (features.md, features-linux.md):
 * what this build of skiff recognizes, taken from the tables the parser and
 * the runtime use, so that it cannot drift from what create accepts. */
#include <ctype.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>
#include <seccomp.h>

#include "runtime-internal.h"
#include "runtime/spec-internal.h"

/* The oldest config.json version the parser takes ("spec.version"). */
#define SKIFF_OCI_VERSION_MIN "1.0.0"

static json_t *strings(const char *const *v)
{
	json_t *a = json_array();

	for (; *v != NULL; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* Every capability libcap of this build can name that the parser takes. */
static json_t *capability_names(void)
{
	json_t *a = json_array();

	for (int i = 0; i <= CAP_LAST_CAP; i++) {
		char *name = cap_to_name((cap_value_t)i), upper[64];
		size_t k;

		if (name == NULL)
			continue;
		for (k = 0; name[k] != '\0' && k < sizeof(upper) - 1; k++)
			upper[k] = (char)toupper((unsigned char)name[k]);
		upper[k] = '\0';
		cap_free(name);
		if (capability_from_name(upper) == i)
			json_array_append_new(a, json_string(upper));
	}
	return a;
}

/* Flags the running kernel takes: seccomp(2) with a NULL program fails
 * with EFAULT once the flags pass, EINVAL when it does not know one.  The
 * bits are those create would load (seccomp_load_flags), with a
 * SCMP_ACT_NOTIFY rule so that the listener-only flags count too. */
static bool flag_supported(const char *name)
{
	char *flags[] = { (char *)name, NULL };
	char *names[] = { "getpid", NULL };
	struct spec_seccomp_syscall rule = { .names = names, .n_names = 1,
					     .action = "SCMP_ACT_NOTIFY" };
	struct spec_seccomp sc = { .flags = flags, .n_flags = 1, .syscalls = &rule,
				   .n_syscalls = 1 };
	unsigned int bits = seccomp_load_flags(&sc);

	if (bits == 0)
		return false;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bits, NULL) < 0 &&
	       errno == EFAULT;
}

static json_t *seccomp_features(void)
{
	const char *const *known = spec_seccomp_names(SPEC_SECCOMP_FLAGS);
	json_t *supported = json_array();

	for (const char *const *f = known; *f != NULL; f++)
		if (flag_supported(*f))
			json_array_append_new(supported, json_string(*f));
	return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", 1,
			 "actions", strings(spec_seccomp_names(SPEC_SECCOMP_ACTIONS)),
			 "operators", strings(spec_seccomp_names(SPEC_SECCOMP_OPS)),
			 "archs", strings(spec_seccomp_names(SPEC_SECCOMP_ARCHS)),
			 "knownFlags", strings(known), "supportedFlags", supported);
}

char *runtime_features_json(void)
{
	json_t *hooks = json_array(), *mounts = json_array(), *ns = json_array(), *o;
	static const char *const hook_names[] = { "prestart", "createRuntime",
		"createContainer", "startContainer", "poststart", "poststop", NULL };
	const struct scmp_version *v = seccomp_version();
	char libseccomp[48], *text;

	/* The lists hooks.c runs (spec.c parses exactly these). */
	snprintf(libseccomp, sizeof(libseccomp), "%u.%u.%u", v->major, v->minor, v->micro);
	for (const char *const *h = hook_names; *h != NULL; h++)
		json_array_append_new(hooks, json_string(*h));
	for (size_t i = 0; spec_mount_option_name(i) != NULL; i++)
		json_array_append_new(mounts, json_string(spec_mount_option_name(i)));
	for (int t = 0; t < SPEC_NS__COUNT; t++)
		json_array_append_new(ns, json_string(spec_ns_type_name((enum spec_ns_type)t)));
	o = json_pack("{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, "
		      "s:o, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}, s:{s:s, s:s}}",
		      "ociVersionMin", SKIFF_OCI_VERSION_MIN,
		      "ociVersionMax", SKIFF_OCI_VERSION,
		      "hooks", hooks, "mountOptions", mounts,
		      "linux",
		      "namespaces", ns, "capabilities", capability_names(),
		      /* cgroup v2 only, by skiff's own manager; rdma.max is written. */
		      "cgroup", "v1", 0, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 1,
		      "seccomp", seccomp_features(),
		      "apparmor", "enabled", 0, "selinux", "enabled", 0,
		      "intelRdt", "enabled", 0,
		      /* uidMappings/gidMappings of mounts are refused by create. */
		      "mountExtensions", "idmap", "enabled", 0,
		      "annotations",
		      "io.github.seccomp.libseccomp.version",
		      libseccomp,
		      "run.skiff.version", PACKAGE_VERSION);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
