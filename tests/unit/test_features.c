/* Unit tests of the features document: it is valid JSON of the shape
 * features.md gives, and each list it advertises is what the code does:
 * every mount option is taken by the parser as an option (not passed on as
 * filesystem data), every namespace and capability name is accepted in a
 * config.json, every seccomp action and operator compiles to a filter,
 * every known flag is accepted and every hook list is parsed. */
#include <linux/filter.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "runtime/runtime-internal.h"

static json_t *features(void)
{
	_cleanup_free_ char *text = runtime_features_json();
	json_error_t je;
	json_t *o;

	assert_non_null(text);
	o = json_loads(text, 0, &je);
	if (o == NULL)
		fail_msg("features is not JSON: %s", je.text);
	return o;
}

/* Parses config.json text made from FMT; fails the test on an error. */
static struct spec *parse_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct spec *parse_ok(const char *fmt, ...)
{
	_cleanup_free_ char *json = NULL;
	struct skiff_error *err = NULL;
	struct spec *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&json, fmt, ap) >= 0);
	va_end(ap);
	if (spec_parse(json, strlen(json), "config.json", &s, &err) < 0) {
		_cleanup_free_ char *msg = xasprintf("%s [%s]", err->msg, err->id);

		skiff_error_free(err);
		fail_msg("%s: %s", json, msg);
	}
	return s;
}

#define DOC(rest) "{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"}" rest "}"

static void test_shape(void **state)
{
	json_t *f = features(), *l;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMin")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(f, "ociVersionMax")), "1.2.0");
	l = json_object_get(f, "linux");
	assert_true(json_is_object(l));
	assert_true(json_is_array(json_object_get(l, "namespaces")));
	assert_true(json_is_array(json_object_get(l, "capabilities")));
	assert_true(json_is_false(json_object_get(json_object_get(l, "cgroup"), "v1")));
	assert_true(json_is_true(json_object_get(json_object_get(l, "cgroup"), "v2")));
	assert_true(json_is_true(json_object_get(json_object_get(l, "seccomp"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(l, "apparmor"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(l, "selinux"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(l, "intelRdt"), "enabled")));
	assert_true(json_is_false(json_object_get(json_object_get(json_object_get(l,
		"mountExtensions"), "idmap"), "enabled")));
	json_decref(f);
}

/* Both bounds are ociVersion values the parser takes. */
static void test_versions_accepted(void **state)
{
	json_t *f = features();
	const char *keys[] = { "ociVersionMin", "ociVersionMax" };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		_cleanup_spec_ struct spec *s = parse_ok(
			"{\"ociVersion\": \"%s\", \"root\": {\"path\": \"rootfs\"}}",
			json_string_value(json_object_get(f, keys[i])));
	}
	json_decref(f);
}

static void test_hooks_parsed(void **state)
{
	json_t *f = features(), *v;
	size_t i;

	(void)state;
	assert_int_equal(json_array_size(json_object_get(f, "hooks")), 6);
	json_array_foreach(json_object_get(f, "hooks"), i, v) {
		_cleanup_spec_ struct spec *s = parse_ok(
			DOC(", \"hooks\": {\"%s\": [{\"path\": \"/bin/true\"}]}"),
			json_string_value(v));
		const struct spec_hooks *h = s->hooks;

		assert_non_null(h);
		assert_int_equal(h->n_prestart + h->n_create_runtime + h->n_create_container +
				 h->n_start_container + h->n_poststart + h->n_poststop, 1);
	}
	json_decref(f);
}

/* A recognized option sets flags; an unknown one would be filesystem data. */
static void test_mount_options_recognized(void **state)
{
	json_t *f = features(), *v;
	size_t i;

	(void)state;
	assert_true(json_array_size(json_object_get(f, "mountOptions")) > 0);
	json_array_foreach(json_object_get(f, "mountOptions"), i, v) {
		_cleanup_spec_ struct spec *s = parse_ok(
			DOC(", \"mounts\": [{\"destination\": \"/m\", \"type\": \"tmpfs\", "
			    "\"source\": \"tmpfs\", \"options\": [\"%s\"]}]"),
			json_string_value(v));

		if (s->mounts[0].data != NULL)
			fail_msg("mount option %s is advertised but passed on as data",
				 json_string_value(v));
	}
	/* The control: an unknown option is data. */
	{
		_cleanup_spec_ struct spec *s = parse_ok(
			DOC(", \"mounts\": [{\"destination\": \"/m\", \"type\": \"tmpfs\", "
			    "\"options\": [\"size=1k\"]}]"));

		assert_string_equal(s->mounts[0].data, "size=1k");
	}
	json_decref(f);
}

static void test_namespaces_accepted(void **state)
{
	json_t *f = features(), *v;
	size_t i;

	(void)state;
	json_array_foreach(json_object_get(json_object_get(f, "linux"), "namespaces"), i, v) {
		_cleanup_spec_ struct spec *s = parse_ok(
			DOC(", \"linux\": {\"namespaces\": [{\"type\": \"%s\"}]}"),
			json_string_value(v));

		assert_int_equal(s->linux_->n_namespaces, 1);
		assert_string_equal(spec_ns_type_name(s->linux_->namespaces[0].type),
				    json_string_value(v));
	}
	json_decref(f);
}

static void test_capabilities_resolved(void **state)
{
	json_t *f = features(), *v;
	size_t i;

	(void)state;
	assert_true(json_array_size(json_object_get(json_object_get(f, "linux"),
						    "capabilities")) >= 38);
	json_array_foreach(json_object_get(json_object_get(f, "linux"), "capabilities"), i, v) {
		if (capability_from_name(json_string_value(v)) < 0)
			fail_msg("capability %s is advertised but not resolved",
				 json_string_value(v));
	}
	json_decref(f);
}

/* Every action and operator, in a rule of its own, compiles to BPF. */
static void compile_ok(const char *rule)
{
	_cleanup_spec_ struct spec *s = parse_ok(
		DOC(", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
		    "\"syscalls\": [%s]}}"), rule);
	struct skiff_error *err = NULL;
	struct sock_filter *insns = NULL;
	size_t n = 0;

	if (seccomp_compile(s->linux_->seccomp, &insns, &n, &err) < 0) {
		_cleanup_free_ char *msg = xstrdup(err->msg);

		skiff_error_free(err);
		fail_msg("%s: %s", rule, msg);
	}
	assert_true(n > 0);
	free(insns);
}

static void test_seccomp_lists_compile(void **state)
{
	json_t *f = features(), *sc, *v;
	size_t i;

	(void)state;
	sc = json_object_get(json_object_get(f, "linux"), "seccomp");
	json_array_foreach(json_object_get(sc, "actions"), i, v) {
		_cleanup_free_ char *rule = xasprintf(
			"{\"names\": [\"getcwd\"], \"action\": \"%s\"}", json_string_value(v));

		compile_ok(rule);
	}
	json_array_foreach(json_object_get(sc, "operators"), i, v) {
		_cleanup_free_ char *rule = xasprintf(
			"{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", "
			"\"args\": [{\"index\": 0, \"value\": 8, \"valueTwo\": 8, \"op\": \"%s\"}]}",
			json_string_value(v));

		compile_ok(rule);
	}
	/* knownFlags: each accepted by the parser; supportedFlags a subset. */
	json_array_foreach(json_object_get(sc, "knownFlags"), i, v) {
		_cleanup_spec_ struct spec *s = parse_ok(
			DOC(", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
			    "\"flags\": [\"%s\"]}}"), json_string_value(v));

		assert_int_equal(s->linux_->seccomp->n_flags, 1);
	}
	json_array_foreach(json_object_get(sc, "supportedFlags"), i, v) {
		json_t *k;
		size_t j;
		bool known = false;

		json_array_foreach(json_object_get(sc, "knownFlags"), j, k)
			known |= json_equal(k, v);
		assert_true(known);
	}
	/* archs: each accepted by the parser. */
	json_array_foreach(json_object_get(sc, "archs"), i, v) {
		_cleanup_spec_ struct spec *s = parse_ok(
			DOC(", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
			    "\"architectures\": [\"%s\"]}}"), json_string_value(v));

		assert_int_equal(s->linux_->seccomp->n_architectures, 1);
	}
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_versions_accepted),
		cmocka_unit_test(test_hooks_parsed),
		cmocka_unit_test(test_mount_options_recognized),
		cmocka_unit_test(test_namespaces_accepted),
		cmocka_unit_test(test_capabilities_resolved),
		cmocka_unit_test(test_seccomp_lists_compile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
