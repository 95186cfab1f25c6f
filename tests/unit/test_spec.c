/* Unit tests of the OCI spec model: real runc and Podman-like specs, the
 * default spec, ociVersion handling, and bad inputs with their JSON paths. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <linux/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <skiff/runtime.h>
#include <skiff/util.h>

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must be defined"
#endif

/* ---- helpers ------------------------------------------------------------- */

static char *fixture(const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", FIXTURES_DIR, name);
	struct skiff_error *err = NULL;
	char *text = NULL;

	if (read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, &err) < 0)
		fail_msg("%s: %s", path, err->msg);
	return text;
}

static struct spec *parse_ok(const char *text)
{
	struct skiff_error *err = NULL;
	struct spec *s = NULL;

	if (spec_parse(text, strlen(text), "config.json", &s, &err) < 0) {
		_cleanup_free_ char *msg = xstrdup(err->msg);

		skiff_error_free(err);
		fail_msg("unexpected error: %s", msg);
	}
	assert_non_null(s);
	return s;
}

static struct spec *parse_fixture(const char *name)
{
	_cleanup_free_ char *text = fixture(name);

	return parse_ok(text);
}

/* Whether text fails with id and a message starting with prefix. */
static bool fails_with(const char *text, const char *id, const char *prefix)
{
	struct skiff_error *err = NULL;
	struct spec *s = NULL;
	bool ok;

	if (spec_parse(text, strlen(text), "config.json", &s, &err) == 0) {
		spec_free(s);
		print_error("accepted: %s\n  expected: %s\n", text, prefix);
		return false;
	}
	ok = s == NULL && err != NULL && strcmp(err->id, id) == 0 &&
	     strncmp(err->msg, prefix, strlen(prefix)) == 0;
	if (!ok)
		print_error("expected [%s] %s\n     got [%s] %s\n", id, prefix,
			    err ? err->id : "-", err ? err->msg : "-");
	skiff_error_free(err);
	return ok;
}

static void expect_error(const char *text, const char *id, const char *prefix)
{
	assert_true(fails_with(text, id, prefix));
}

static const char base_spec[] =
	"{\"ociVersion\": \"1.0.2\","
	" \"root\": {\"path\": \"rootfs\"},"
	" \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0}},"
	" \"hostname\": \"h\","
	" \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"},"
	"                           {\"type\": \"uts\"}, {\"type\": \"user\"}]}}";

/* RFC 7386 merge patch: objects merge, null deletes, anything else replaces. */
static void merge_patch(json_t *target, json_t *patch)
{
	const char *k;
	json_t *v;

	json_object_foreach(patch, k, v) {
		json_t *t = json_object_get(target, k);

		if (json_is_null(v))
			json_object_del(target, k);
		else if (json_is_object(v) && json_is_object(t))
			merge_patch(t, v);
		else
			json_object_set(target, k, v);
	}
}

static char *patched_with(json_t *patch)
{
	json_t *base = json_loads(base_spec, 0, NULL);
	char *text;

	assert_non_null(base);
	merge_patch(base, patch);
	text = json_dumps(base, JSON_COMPACT);
	json_decref(base);
	return text;
}

static char *patched(const char *patch_text)
{
	json_t *patch = json_loads(patch_text, 0, NULL);
	char *text;

	if (patch == NULL)
		fail_msg("bad test patch: %s", patch_text);
	text = patched_with(patch);
	json_decref(patch);
	return text;
}

static const struct spec_mount *find_mount(const struct spec *s, const char *dest)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (strcmp(s->mounts[i].destination, dest) == 0)
			return &s->mounts[i];
	fail_msg("no mount on %s", dest);
	return NULL;
}

/* ---- real specs ---------------------------------------------------------- */

static void test_runc_spec(void **state)
{
	struct spec *s = parse_fixture("runc-spec.json");
	const struct spec_mount *m;

	(void)state;
	assert_string_equal(s->oci_version, "1.0.2-dev");
	assert_string_equal(s->root.path, "rootfs");
	assert_true(s->root.readonly);
	assert_true(s->process->terminal);
	assert_int_equal(s->process->n_args, 1);
	assert_string_equal(s->process->args[0], "sh");
	assert_null(s->process->args[1]);
	assert_int_equal(s->process->n_env, 2);
	assert_string_equal(s->process->cwd, "/");
	assert_true(s->process->no_new_privileges);
	assert_int_equal(s->process->capabilities->n_bounding, 3);
	assert_string_equal(s->process->capabilities->ambient[2], "CAP_NET_BIND_SERVICE");
	assert_int_equal(s->process->n_rlimits, 1);
	assert_int_equal(s->process->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process->rlimits[0].soft, 1024);
	assert_int_equal(s->process->rlimits[0].hard, 1024);
	assert_string_equal(s->hostname, "runc");
	assert_int_equal(s->n_mounts, 7);

	m = find_mount(s, "/proc");
	assert_int_equal(m->flags, 0);
	assert_null(m->data);
	m = find_mount(s, "/dev");
	assert_int_equal(m->flags, MS_NOSUID | MS_STRICTATIME);
	assert_string_equal(m->data, "mode=755,size=65536k");
	m = find_mount(s, "/dev/pts");
	assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC);
	assert_string_equal(m->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	m = find_mount(s, "/sys");
	assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	assert_null(m->data);
	assert_int_equal(m->propagation, 0);
	m = find_mount(s, "/sys/fs/cgroup");
	assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);

	assert_int_equal(s->linux_->n_namespaces, 5);
	assert_non_null(spec_namespace(s, SPEC_NS_NETWORK));
	assert_null(spec_namespace(s, SPEC_NS_USER));
	assert_null(spec_namespace(s, SPEC_NS_NETWORK)->path);
	assert_int_equal(s->linux_->resources->n_devices, 1);
	assert_false(s->linux_->resources->devices[0].allow);
	assert_string_equal(s->linux_->resources->devices[0].access, "rwm");
	assert_false(spec_wants_cgroup_limits(s));
	assert_int_equal(s->linux_->n_masked_paths, 10);
	assert_int_equal(s->linux_->n_readonly_paths, 5);
	spec_free(s);
}

static void test_runc_spec_rootless(void **state)
{
	struct spec *s = parse_fixture("runc-spec-rootless.json");
	const struct spec_mount *m;

	(void)state;
	assert_non_null(spec_namespace(s, SPEC_NS_USER));
	assert_null(spec_namespace(s, SPEC_NS_NETWORK));
	assert_int_equal(s->linux_->n_uid_mappings, 1);
	assert_int_equal(s->linux_->uid_mappings[0].container_id, 0);
	assert_int_equal(s->linux_->uid_mappings[0].host_id, 1000);
	assert_int_equal(s->linux_->uid_mappings[0].size, 1);
	assert_int_equal(s->linux_->gid_mappings[0].host_id, 1000);
	assert_null(s->linux_->resources);
	m = find_mount(s, "/sys");
	assert_string_equal(m->type, "none");
	assert_string_equal(m->source, "/sys");
	assert_int_equal(m->flags, MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	m = find_mount(s, "/dev/pts");
	assert_string_equal(m->data, "newinstance,ptmxmode=0666,mode=0620");
	spec_free(s);
}

static void test_podman_like(void **state)
{
	struct spec *s = parse_fixture("podman.json");
	const struct spec_process *p = s->process;
	const struct spec_linux *l = s->linux_;
	const struct spec_resources *r = l->resources;
	const struct spec_seccomp *sc = l->seccomp;
	const struct spec_mount *m;

	(void)state;
	assert_int_equal(p->user.uid, 1000);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 022);
	assert_int_equal(p->user.n_additional_gids, 2);
	assert_int_equal(p->user.additional_gids[1], 10);
	assert_int_equal(p->n_args, 3);
	assert_string_equal(p->args[2], "echo hello");
	assert_string_equal(p->env[3], "EMPTY=");
	assert_int_equal(p->capabilities->n_bounding, 11);
	assert_int_equal(p->capabilities->n_inheritable, 0);
	assert_non_null(p->capabilities->inheritable);
	assert_int_equal(p->n_rlimits, 3);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_NPROC);
	assert_int_equal(p->rlimits[2].resource, RLIMIT_CORE);
	assert_true(p->rlimits[2].hard == UINT64_MAX);
	assert_true(p->has_console_size);
	assert_int_equal(p->console_size.width, 80);
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, 200);
	assert_string_equal(p->apparmor_profile, "containers-default-0.50.1");
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0:c1,c2");
	assert_false(s->root.readonly);
	assert_string_equal(s->domainname, "example.org");

	m = find_mount(s, "/etc/hosts");
	assert_int_equal(m->flags, MS_BIND);
	assert_int_equal(m->propagation, MS_PRIVATE | MS_REC);
	m = find_mount(s, "/data");
	assert_int_equal(m->flags, MS_BIND | MS_REC);
	assert_int_equal(m->propagation, MS_SLAVE | MS_REC);
	assert_int_equal(m->rec_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
	assert_int_equal(m->rec_clear, MOUNT_ATTR__ATIME);
	m = find_mount(s, "/tmp");
	assert_true(m->tmpcopyup);
	assert_int_equal(m->clear_flags, MS_RDONLY);
	assert_int_equal(m->flags, MS_NOSUID | MS_NODEV);
	assert_null(m->data);
	m = find_mount(s, "/mapped");
	assert_true(m->idmap);
	assert_false(m->ridmap);
	assert_int_equal(m->n_uid_mappings_raw, 1);
	assert_int_equal(m->uid_mappings_raw[1], 100000);
	assert_int_equal(m->uid_mappings_raw[2], 65536);
	assert_int_equal(m->n_gid_mappings_raw, 1);

	assert_int_equal(s->hooks->n_prestart, 1);
	assert_true(s->hooks->prestart[0].has_timeout);
	assert_int_equal(s->hooks->prestart[0].timeout, 5);
	assert_string_equal(s->hooks->prestart[0].args[1], "prestart");
	assert_string_equal(s->hooks->prestart[0].env[0], "A=1");
	assert_int_equal(s->hooks->n_create_runtime, 1);
	assert_false(s->hooks->create_runtime[0].has_timeout);
	assert_null(s->hooks->create_runtime[0].args);
	assert_int_equal(s->hooks->n_poststop, 1);
	assert_int_equal(s->hooks->n_poststart, 0);
	assert_int_equal(s->n_annotations, 2);
	assert_string_equal(s->annotations[0].key, "io.container.manager");
	assert_string_equal(s->annotations[0].value, "libpod");

	assert_int_equal(l->n_uid_mappings, 2);
	assert_int_equal(l->uid_mappings[1].container_id, 1);
	assert_int_equal(l->uid_mappings[1].host_id, 100000);
	assert_int_equal(l->uid_mappings[1].size, 65536);
	assert_string_equal(spec_namespace(s, SPEC_NS_NETWORK)->path,
			    "/run/user/1000/netns/netns-1234");
	assert_non_null(spec_namespace(s, SPEC_NS_TIME));
	assert_string_equal(l->time_offsets[0].key, "monotonic");
	assert_string_equal(l->time_offsets[0].value, "86400 5");
	assert_string_equal(l->sysctl[0].value, "0 0");
	assert_string_equal(l->cgroups_path, "user.slice:libpod:abc");
	assert_int_equal(l->rootfs_propagation_flags, MS_SLAVE | MS_REC);
	assert_string_equal(l->mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
	assert_string_equal(l->personality_domain, "LINUX32");
	assert_true(l->has_intel_rdt);

	assert_int_equal(l->n_devices, 2);
	assert_int_equal(l->devices[0].type, 'c');
	assert_true(l->devices[0].has_major_minor);
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	assert_int_equal(l->devices[0].file_mode, 0666);
	assert_int_equal(l->devices[1].type, 'p');
	assert_false(l->devices[1].has_major_minor);

	assert_true(spec_wants_cgroup_limits(s));
	assert_int_equal(r->n_devices, 3);
	assert_int_equal(r->devices[1].type, 'c');
	assert_int_equal(r->devices[2].minor, -1);
	assert_int_equal(r->devices[0].type, 0);
	assert_int_equal(r->memory_limit, 536870912);
	assert_int_equal(r->memory_reservation, -1);
	assert_false(r->has_memory_swappiness);
	assert_true(r->has_memory_disable_oom_killer);
	assert_false(r->has_memory_use_hierarchy);
	assert_int_equal(r->cpu_shares, 1024);
	assert_int_equal(r->cpu_quota, 50000);
	assert_int_equal(r->cpu_period, 100000);
	assert_string_equal(r->cpu_cpus, "0-1");
	assert_int_equal(r->pids_limit, 2048);
	assert_int_equal(r->blkio_weight, 500);
	assert_int_equal(r->blkio_weight_device[0].weight, 300);
	assert_false(r->blkio_weight_device[0].has_leaf_weight);
	assert_int_equal(r->throttle_read_bps[0].rate, 1048576);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(r->network_class_id, 1048577);
	assert_string_equal(r->network_priorities[0].key, "eth0");
	assert_string_equal(r->network_priorities[0].value, "500");
	assert_string_equal(r->rdma[0].key, "mlx5_1");
	assert_string_equal(r->rdma[0].value, "{\"hcaHandles\":3,\"hcaObjects\":10000}");
	assert_int_equal(r->n_unified, 2);
	assert_string_equal(r->unified[1].value, "default 100");

	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	assert_true(sc->has_default_errno_ret);
	assert_int_equal(sc->default_errno_ret, 38);
	assert_int_equal(sc->n_architectures, 3);
	assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
	assert_int_equal(sc->n_syscalls, 4);
	assert_int_equal(sc->syscalls[0].n_names, 3);
	assert_int_equal(sc->syscalls[1].args[0].value, 4294967295u);
	assert_string_equal(sc->syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
	assert_int_equal(sc->syscalls[2].args[0].value, 2114060288);
	assert_true(sc->syscalls[3].has_errno_ret);
	assert_int_equal(sc->syscalls[3].errno_ret, 1);
	spec_free(s);
}

/* ---- the default spec ---------------------------------------------------- */

static void test_default_rootful(void **state)
{
	struct spec_default_opts o = { .rootless = false };
	_cleanup_free_ char *text = spec_default_json(&o);
	struct spec *s;
	const struct spec_mount *m;

	(void)state;
	assert_non_null(text);
	assert_int_equal(strncmp(text, "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {", 41), 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	s = parse_ok(text);
	assert_string_equal(s->oci_version, "1.0.2");
	assert_false(s->process->terminal);
	assert_string_equal(s->process->args[0], "sh");
	assert_string_equal(s->hostname, "skiff");
	assert_string_equal(s->root.path, "rootfs");
	assert_true(s->root.readonly);
	assert_true(s->process->no_new_privileges);
	assert_int_equal(s->process->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process->rlimits[0].hard, 1024);
	assert_null(s->process->capabilities->ambient);
	assert_int_equal(s->process->capabilities->n_bounding, 3);
	assert_int_equal(s->linux_->n_namespaces, 6);
	assert_non_null(spec_namespace(s, SPEC_NS_CGROUP));
	assert_null(spec_namespace(s, SPEC_NS_USER));
	assert_int_equal(s->linux_->n_uid_mappings, 0);
	assert_null(s->linux_->seccomp);
	assert_false(spec_wants_cgroup_limits(s));
	m = find_mount(s, "/dev/pts");
	assert_string_equal(m->data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	m = find_mount(s, "/sys");
	assert_string_equal(m->type, "sysfs");
	spec_free(s);
}

static void test_default_rootless(void **state)
{
	struct spec_default_opts o = { .rootless = true, .uid = 1234, .gid = 4321 };
	_cleanup_free_ char *text = spec_default_json(&o);
	struct spec *s;

	(void)state;
	assert_non_null(text);
	s = parse_ok(text);
	assert_non_null(spec_namespace(s, SPEC_NS_USER));
	assert_non_null(spec_namespace(s, SPEC_NS_NETWORK));
	assert_int_equal(s->linux_->n_uid_mappings, 1);
	assert_int_equal(s->linux_->uid_mappings[0].container_id, 0);
	assert_int_equal(s->linux_->uid_mappings[0].host_id, 1234);
	assert_int_equal(s->linux_->uid_mappings[0].size, 1);
	assert_int_equal(s->linux_->gid_mappings[0].host_id, 4321);
	assert_null(s->linux_->resources);
	assert_string_equal(find_mount(s, "/dev/pts")->data, "newinstance,ptmxmode=0666,mode=0620");
	assert_string_equal(find_mount(s, "/sys")->type, "sysfs");
	spec_free(s);
}

static void test_default_seccomp(void **state)
{
	struct spec_default_opts o = {
		.seccomp_json = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": "
				"[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}",
	};
	_cleanup_free_ char *text = spec_default_json(&o);
	struct spec *s;

	(void)state;
	assert_non_null(text);
	s = parse_ok(text);
	assert_non_null(s->linux_->seccomp);
	assert_string_equal(s->linux_->seccomp->default_action, "SCMP_ACT_ERRNO");
	assert_string_equal(s->linux_->seccomp->syscalls[0].names[0], "read");
	spec_free(s);

	o.seccomp_json = "[not a profile";
	assert_null(spec_default_json(&o));
	o.seccomp_json = "[]";
	assert_null(spec_default_json(&o));
}

/* ---- ociVersion ---------------------------------------------------------- */

static void test_versions(void **state)
{
	static const char *const good[] = {
		"1.0.0", "1.0.1", "1.0.2", "1.0.2-dev", "1.0.0-rc5", "1.1.0", "1.1.0+dev",
		"1.1.0-rc.1", "1.2.0", "1.2.1", "1.3.0", "1.3.1-dev",
	};
	static const char *const bad[] = {
		"2.0.0", "0.9", "0.9.0", "garbage", "", "1", "1.0", "1.0.", "1.a.0",
		"1.0.0-", "1.0.0 ", "v1.0.0", "10.0.0",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *patch = xasprintf("{\"ociVersion\": \"%s\"}", good[i]);
		_cleanup_free_ char *text = patched(patch);
		struct spec *s = parse_ok(text);

		assert_string_equal(s->oci_version, good[i]);
		spec_free(s);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		_cleanup_free_ char *patch = xasprintf("{\"ociVersion\": \"%s\"}", bad[i]);
		_cleanup_free_ char *text = patched(patch);
		_cleanup_free_ char *msg = xasprintf("config.json: ociVersion: unsupported "
						     "version \"%s\"", bad[i]);

		expect_error(text, "spec.version", msg);
	}
	{
		_cleanup_free_ char *text = patched("{\"ociVersion\": 1}");

		expect_error(text, "spec.invalid",
			     "config.json: ociVersion: expected a string (got 1)");
	}
}

/* ---- bad inputs ---------------------------------------------------------- */

/* Each entry of bad-inputs.json: a merge patch onto base_spec that must be
 * refused, and the start of the message, which names the JSON path. */
static void test_bad_inputs(void **state)
{
	_cleanup_free_ char *text = fixture("bad-inputs.json");
	json_t *cases = json_loads(text, JSON_ALLOW_NUL, NULL), *c;
	size_t i, failed = 0;

	(void)state;
	assert_true(json_array_size(cases) >= 100);
	json_array_foreach(cases, i, c) {
		_cleanup_free_ char *bad = patched_with(json_object_get(c, "patch"));
		const char *prefix = json_string_value(json_object_get(c, "error"));

		assert_non_null(prefix);
		if (!fails_with(bad, "spec.invalid", prefix))
			failed++;
	}
	json_decref(cases);
	assert_int_equal(failed, 0);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("{\"ociVersion\": \"1.0.2\",\n  \"root\": }", "spec.parse",
		     "config.json: malformed JSON at line 2, column 11:");
	expect_error("", "spec.parse", "config.json: malformed JSON at line 1");
	expect_error("{} trailing", "spec.parse", "config.json: malformed JSON at line 1");
	expect_error("[1, 2]", "spec.invalid", "config.json: expected a JSON object (got an array)");
	/* Beyond uint64, jansson's own error stands. */
	expect_error("{\"ociVersion\": \"1.0.2\", \"x\": 99999999999999999999}", "spec.parse",
		     "config.json: malformed JSON at line 1, column");
}

/* ---- details ------------------------------------------------------------- */

static struct spec *parse_patched(const char *patch)
{
	_cleanup_free_ char *text = patched(patch);

	return parse_ok(text);
}

static void test_mount_options(void **state)
{
	struct spec *s;
	const struct spec_mount *m;

	(void)state;
	s = parse_patched("{\"mounts\": ["
			  "{\"destination\": \"/a\", \"type\": \"tmpfs\", \"options\": "
			  "[\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"
			  "{\"destination\": \"/b\", \"source\": \"/src\", \"options\": "
			  "[\"rbind\", \"rprivate\"]},"
			  "{\"destination\": \"/c\", \"type\": \"tmpfs\", \"options\": "
			  "[\"ro\", \"rw\", \"suid\", \"size=65536k\", \"defaults\", \"mode=755\", "
			  "\"shared\", \"slave\", \"lazytime\", \"nosymfollow\", \"sync\", \"dirsync\"]},"
			  "{\"destination\": \"/d\", \"type\": \"bind\", \"source\": \"/src\", \"options\": "
			  "[\"bind\", \"rro\", \"rrw\", \"rnoexec\", \"rnodev\", \"rnosymfollow\", "
			  "\"rsuid\", \"rstrictatime\", \"runbindable\", \"ridmap\"]},"
			  "{\"destination\": \"/e\", \"options\": [\"rnoatime\", \"ratime\", "
			  "\"rnodiratime\", \"remount\", \"mand\", \"nomand\", \"noatime\", \"atime\"]},"
			  "{\"destination\": \"/f\", \"type\": \"devpts\", \"options\": "
			  "[\"newinstance\", \"ptmxmode=0666\", \"gid=5\", \"unbindable\"]}]}");
	m = &s->mounts[0];
	assert_int_equal(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
	assert_int_equal(m->clear_flags, 0);
	assert_null(m->data);
	assert_null(m->source);
	assert_int_equal(m->n_options, 4);
	assert_string_equal(m->options[3], "ro");
	assert_null(m->options[4]);

	m = &s->mounts[1];
	assert_int_equal(m->flags, MS_BIND | MS_REC);
	assert_int_equal(m->propagation, MS_PRIVATE | MS_REC);
	assert_null(m->type);

	m = &s->mounts[2];
	assert_int_equal(m->flags, MS_LAZYTIME | MS_NOSYMFOLLOW | MS_SYNCHRONOUS | MS_DIRSYNC);
	assert_int_equal(m->clear_flags, MS_RDONLY | MS_NOSUID);
	assert_int_equal(m->propagation, MS_SLAVE);
	assert_string_equal(m->data, "size=65536k,mode=755");

	m = &s->mounts[3];
	assert_int_equal(m->flags, MS_BIND);
	assert_int_equal(m->propagation, MS_UNBINDABLE | MS_REC);
	assert_int_equal(m->rec_set, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV |
			 MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_STRICTATIME);
	assert_int_equal(m->rec_clear, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR__ATIME);
	assert_true(m->ridmap);
	assert_false(m->idmap);

	m = &s->mounts[4];
	assert_int_equal(m->rec_set, MOUNT_ATTR_RELATIME | MOUNT_ATTR_NODIRATIME);
	assert_int_equal(m->rec_clear, MOUNT_ATTR__ATIME);
	assert_int_equal(m->flags, MS_REMOUNT);
	assert_int_equal(m->clear_flags, MS_MANDLOCK | MS_NOATIME);

	m = &s->mounts[5];
	assert_int_equal(m->flags, 0);
	assert_int_equal(m->propagation, MS_UNBINDABLE);
	assert_string_equal(m->data, "newinstance,ptmxmode=0666,gid=5");
	spec_free(s);

	s = parse_patched("{\"linux\": {\"rootfsPropagation\": \"rshared\"}}");
	assert_string_equal(s->linux_->rootfs_propagation, "rshared");
	assert_int_equal(s->linux_->rootfs_propagation_flags, MS_SHARED | MS_REC);
	spec_free(s);
	s = parse_patched("{\"linux\": {\"rootfsPropagation\": \"private\"}}");
	assert_int_equal(s->linux_->rootfs_propagation_flags, MS_PRIVATE);
	spec_free(s);
	s = parse_patched("{}");
	assert_null(s->linux_->rootfs_propagation);
	assert_int_equal(s->linux_->rootfs_propagation_flags, 0);
	spec_free(s);

	/* config.md: a relative destination (deprecated) is taken from "/";
	 * iversion and silent are mount(2) flags, not data. */
	s = parse_patched("{\"mounts\": [{\"destination\": \"mnt/rel\", \"type\": \"tmpfs\", "
			  "\"options\": [\"iversion\", \"silent\", \"noiversion\"]}]}");
	assert_string_equal(s->mounts[0].destination, "/mnt/rel");
	assert_int_equal(s->mounts[0].flags, MS_SILENT);
	assert_int_equal(s->mounts[0].clear_flags, MS_I_VERSION);
	assert_null(s->mounts[0].data);
	spec_free(s);
}

static void test_values(void **state)
{
	struct spec *s;

	(void)state;
	s = parse_patched("{\"process\": {\"user\": {\"uid\": 4294967295, \"gid\": 7, "
			  "\"umask\": 63, \"additionalGids\": [5, 6]}, \"oomScoreAdj\": -1000,"
			  "\"rlimits\": [{\"type\": \"RLIMIT_CORE\", \"soft\": 0, \"hard\": 0},"
			  "{\"type\": \"RLIMIT_NPROC\", \"soft\": 10, \"hard\": 20},"
			  "{\"type\": \"RLIMIT_MEMLOCK\", \"soft\": 1, \"hard\": 1}]},"
			  "\"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, "
			  "\"size\": 1}, {\"containerID\": 1, \"hostID\": 100000, \"size\": 65536}],"
			  "\"namespaces\": [{\"type\": \"uts\"}, {\"type\": \"user\", \"path\": "
			  "\"/proc/1/ns/user\"}, {\"type\": \"time\"}, {\"type\": \"ipc\"}, "
			  "{\"type\": \"cgroup\"}, {\"type\": \"network\"}, {\"type\": \"pid\"}, "
			  "{\"type\": \"mount\"}], \"resources\": {\"devices\": "
			  "[{\"allow\": false}]}},"
			  "\"annotations\": {\"k\": \"v\"}, \"unknownTopLevel\": [1, 2]}");
	assert_int_equal(s->process->user.uid, 4294967295u);
	assert_int_equal(s->process->user.gid, 7);
	assert_int_equal(s->process->user.umask, 077);
	assert_int_equal(s->process->user.additional_gids[1], 6);
	assert_int_equal(s->process->oom_score_adj, -1000);
	assert_int_equal(s->process->rlimits[0].resource, RLIMIT_CORE);
	assert_int_equal(s->process->rlimits[1].resource, RLIMIT_NPROC);
	assert_int_equal(s->process->rlimits[1].soft, 10);
	assert_int_equal(s->process->rlimits[1].hard, 20);
	assert_int_equal(s->process->rlimits[2].resource, RLIMIT_MEMLOCK);
	assert_false(s->process->has_console_size);
	assert_null(s->process->env);
	assert_int_equal(s->linux_->uid_mappings[1].host_id, 100000);
	assert_int_equal(s->linux_->uid_mappings[1].size, 65536);
	assert_int_equal(s->linux_->n_gid_mappings, 0);
	assert_string_equal(spec_namespace(s, SPEC_NS_USER)->path, "/proc/1/ns/user");
	for (int t = 0; t < SPEC_NS__COUNT; t++)
		assert_int_equal(spec_namespace(s, t)->type, t);
	assert_false(spec_wants_cgroup_limits(s));
	assert_string_equal(s->annotations[0].key, "k");
	spec_free(s);

	s = parse_patched("{\"process\": null, \"linux\": {\"resources\": "
			  "{\"pids\": {\"limit\": -1}}}}");
	assert_null(s->process);
	assert_true(spec_wants_cgroup_limits(s));
	assert_int_equal(s->linux_->resources->pids_limit, -1);
	spec_free(s);

	s = parse_patched("{\"linux\": {\"resources\": {\"cpu\": {\"cpus\": \"1\"}}}}");
	assert_true(spec_wants_cgroup_limits(s));
	spec_free(s);
}

static void test_big_integers(void **state)
{
	static const char text[] =
		"{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"r\"},"
		" \"annotations\": {\"s\": \"18446744073709551615 stays a string\"},"
		" \"process\": {\"args\": [\"x\"], \"cwd\": \"/\", \"rlimits\": ["
		"  {\"type\": \"RLIMIT_STACK\", \"soft\": 9223372036854775808,"
		"   \"hard\":18446744073709551615}]},"
		" \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"  {\"names\": [\"x\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1,"
		"   \"value\": 18446744073709551615, \"valueTwo\": 18446744073709551614,"
		"   \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}}}";
	struct spec *s = parse_ok(text);
	const struct spec_seccomp_arg *a = &s->linux_->seccomp->syscalls[0].args[0];

	(void)state;
	assert_true(s->process->rlimits[0].soft == 9223372036854775808u);
	assert_true(s->process->rlimits[0].hard == UINT64_MAX);
	assert_true(a->value == UINT64_MAX);
	assert_true(a->value_two == UINT64_MAX - 1);
	assert_int_equal(a->index, 1);
	assert_string_equal(s->annotations[0].value, "18446744073709551615 stays a string");
	spec_free(s);

	expect_error("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"r\"}, \"process\": "
		     "{\"args\": [\"x\"], \"cwd\": \"/\", \"user\": {\"uid\": 18446744073709551615}}}",
		     "spec.invalid",
		     "config.json: process.user.uid: expected a non-negative integer "
		     "(got 18446744073709551615)");
	expect_error("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": 18446744073709551615}}",
		     "spec.invalid", "config.json: root.path: expected a string "
		     "(got 18446744073709551615)");
	/* A string that looks like the internal marker is still refused. */
	expect_error("{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"\\u0000u64:1\"}}",
		     "spec.invalid", "config.json: root.path: expected a string");
}

static void test_load(void **state)
{
	char dir[] = "/tmp/skiff-test-spec-XXXXXX";
	_cleanup_free_ char *path = NULL;
	struct skiff_error *err = NULL;
	struct spec *s = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(spec_load(dir, &s, &err), -1);
	assert_null(s);
	assert_string_equal(err->id, "file.read");
	skiff_error_free(err);
	err = NULL;

	path = xasprintf("%s/config.json", dir);
	assert_int_equal(write_file_atomic_at(AT_FDCWD, path, "{\"ociVersion\": \"1.0.0\"}", 23,
					      0644, NULL), 0);
	assert_int_equal(spec_load(dir, &s, &err), -1);
	assert_string_equal(err->id, "spec.invalid");
	assert_true(strstr(err->msg, "/config.json: root: missing") != NULL);
	skiff_error_free(err);
	err = NULL;

	{
		_cleanup_free_ char *text = patched("{}");

		assert_int_equal(write_file_atomic_at(AT_FDCWD, path, text, strlen(text),
						      0644, NULL), 0);
	}
	assert_int_equal(spec_load(dir, &s, &err), 0);
	assert_string_equal(s->process->args[0], "sh");
	spec_free(s);
	unlink(path);
	rmdir(dir);
}

static void test_misc(void **state)
{
	struct spec *s = NULL;

	(void)state;
	assert_string_equal(spec_ns_type_name(SPEC_NS_PID), "pid");
	assert_string_equal(spec_ns_type_name(SPEC_NS_NETWORK), "network");
	assert_string_equal(spec_ns_type_name(SPEC_NS_MOUNT), "mount");
	assert_string_equal(spec_ns_type_name(SPEC_NS_IPC), "ipc");
	assert_string_equal(spec_ns_type_name(SPEC_NS_UTS), "uts");
	assert_string_equal(spec_ns_type_name(SPEC_NS_USER), "user");
	assert_string_equal(spec_ns_type_name(SPEC_NS_CGROUP), "cgroup");
	assert_string_equal(spec_ns_type_name(SPEC_NS_TIME), "time");
	assert_null(spec_namespace(NULL, SPEC_NS_PID));
	assert_false(spec_wants_cgroup_limits(NULL));
	spec_free(NULL);
	/* No error object wanted: still fails cleanly. */
	assert_int_equal(spec_parse("{", 1, "x", &s, NULL), -1);
	assert_int_equal(spec_parse("{}", 2, "x", &s, NULL), -1);
	assert_null(s);
	/* Text need not be NUL-terminated: len bounds it. */
	{
		_cleanup_free_ char *text = patched("{}");
		_cleanup_free_ char *longer = xasprintf("%sGARBAGE", text);

		assert_int_equal(spec_parse(longer, strlen(text), NULL, &s, NULL), 0);
		spec_free(s);
	}
}

/* exec --process FILE: a Process object alone, through the same parser. */
static void test_process_object(void **state)
{
	const char *good = "{\"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},"
		" \"user\": {\"uid\": 1000, \"gid\": 100, \"additionalGids\": [5]},"
		" \"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"A=b\"], \"cwd\": \"/tmp\","
		" \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"]},"
		" \"noNewPrivileges\": true, \"oomScoreAdj\": 5}";
	struct skiff_error *err = NULL;
	struct spec_process *p = NULL;

	(void)state;
	assert_int_equal(spec_process_parse(good, strlen(good), "--process p.json", &p, &err), 0);
	assert_null(err);
	assert_true(p->terminal);
	assert_int_equal(p->console_size.width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.n_additional_gids, 1);
	assert_int_equal(p->n_args, 3);
	assert_string_equal(p->args[2], "true");
	assert_string_equal(p->cwd, "/tmp");
	assert_string_equal(p->capabilities->effective[0], "CAP_KILL");
	assert_true(p->no_new_privileges);
	assert_int_equal(p->oom_score_adj, 5);
	spec_process_free(p);

	p = NULL;
	assert_int_equal(spec_process_parse("{\"args\": [], \"cwd\": \"/\"}", 24, "--process p.json",
					    &p, &err), -1);
	assert_null(p);
	assert_string_equal(err->id, "spec.invalid");
	assert_non_null(strstr(err->msg, "--process p.json: args: "));
	skiff_error_free(err);
	err = NULL;
	assert_int_equal(spec_process_parse("{\"args\": [\"x\"], \"cwd\": \"rel\"}", 29,
					    "--process p.json", &p, &err), -1);
	assert_non_null(strstr(err->msg, "--process p.json: cwd"));
	skiff_error_free(err);
	err = NULL;
	assert_int_equal(spec_process_parse("[1]", 3, "--process p.json", &p, &err), -1);
	skiff_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc_spec),
		cmocka_unit_test(test_runc_spec_rootless),
		cmocka_unit_test(test_podman_like),
		cmocka_unit_test(test_default_rootful),
		cmocka_unit_test(test_default_rootless),
		cmocka_unit_test(test_default_seccomp),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_mount_options),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_big_integers),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_process_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
