/* Unit tests of the runtime face's global options (runc's shapes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

#define ARGV(...) (char *[]){ __VA_ARGS__, NULL }
#define ARGC(v) ((int)(sizeof(v) / sizeof(char *)) - 1)

static void test_containerd_shape(void **state)
{
	char **argv = ARGV("--root", "/run/containerd/runc/default", "--log",
			   "/b/log.json", "--log-format", "json", "create",
			   "--bundle", "/b", "id");
	struct skiff_error *err = NULL;
	struct oci_global g;
	int next;

	(void)state;
	assert_int_equal(oci_parse_global(10, argv, &g, &next, &err), 0);
	assert_string_equal(g.root, "/run/containerd/runc/default");
	assert_string_equal(g.log, "/b/log.json");
	assert_int_equal(g.log_format, SKIFF_LOG_JSON);
	assert_int_equal(next, 6);
	assert_string_equal(argv[next], "create");
}

static void test_equals_and_bools(void **state)
{
	char **argv = ARGV("--root=/r", "--debug", "--rootless=true",
			   "--systemd-cgroup", "state", "x");
	struct skiff_error *err = NULL;
	struct oci_global g;
	int next;

	(void)state;
	assert_int_equal(oci_parse_global(6, argv, &g, &next, &err), 0);
	assert_string_equal(g.root, "/r");
	assert_true(g.debug);
	assert_int_equal(g.rootless, 1);
	assert_true(g.systemd_cgroup);
	assert_string_equal(argv[next], "state");
}

static void test_slurm_shape(void **state)
{
	/* Slurm: "RT --root=DIR/%u run ID -b BUNDLE" */
	char **argv = ARGV("--root=/var/spool/skiff/1000", "run", "n.u.1.0.0", "-b", "/b");
	struct skiff_error *err = NULL;
	struct oci_global g;
	int next;

	(void)state;
	assert_int_equal(oci_parse_global(5, argv, &g, &next, &err), 0);
	assert_int_equal(next, 1);
	assert_int_equal(g.rootless, -1);
}

static void test_errors(void **state)
{
	struct skiff_error *err = NULL;
	struct oci_global g;
	int next;

	(void)state;
	assert_int_equal(oci_parse_global(1, ARGV("--root"), &g, &next, &err), -1);
	assert_string_equal(err->id, "cli.usage");
	assert_non_null(strstr(err->msg, "--root needs a value"));
	skiff_error_freep(&err);
	assert_int_equal(oci_parse_global(2, ARGV("--log-format", "xml"), &g, &next, &err), -1);
	assert_non_null(strstr(err->msg, "xml"));
	skiff_error_freep(&err);
	assert_int_equal(oci_parse_global(2, ARGV("--rootless", "maybe"), &g, &next, &err), -1);
	skiff_error_freep(&err);
	assert_int_equal(oci_parse_global(2, ARGV("--bogus", "list"), &g, &next, &err), -1);
	assert_non_null(strstr(err->msg, "--bogus"));
	skiff_error_freep(&err);
	assert_int_equal(oci_parse_global(2, ARGV("--debug=perhaps", "list"), &g, &next, &err), -1);
	skiff_error_freep(&err);
}

static void test_no_command(void **state)
{
	struct skiff_error *err = NULL;
	struct oci_global g;
	int next;

	(void)state;
	assert_int_equal(oci_parse_global(1, ARGV("--version"), &g, &next, &err), 0);
	assert_true(g.version);
	assert_int_equal(next, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_containerd_shape),
		cmocka_unit_test(test_equals_and_bools),
		cmocka_unit_test(test_slurm_shape),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
