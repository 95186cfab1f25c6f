/* Unit tests of the capability names and sets (runtime/capabilities.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/runtime-internal.h"

#define BIT(c) (UINT64_C(1) << (c))

static void test_from_name(void **state)
{
	(void)state;
	assert_int_equal(capability_from_name("CAP_CHOWN"), 0);
	assert_int_equal(capability_from_name("CAP_KILL"), 5);
	assert_int_equal(capability_from_name("CAP_NET_BIND_SERVICE"), 10);
	assert_int_equal(capability_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(capability_from_name("CAP_AUDIT_WRITE"), 29);
	/* libcap alone takes all of these. */
	assert_int_equal(capability_from_name("CAP_CHOWN1"), -1);
	assert_int_equal(capability_from_name("CAP_chown"), -1);
	assert_int_equal(capability_from_name("cap_chown"), -1);
	assert_int_equal(capability_from_name("chown"), -1);
	assert_int_equal(capability_from_name("CHOWN"), -1);
	assert_int_equal(capability_from_name("12"), -1);
	assert_int_equal(capability_from_name("CAP_12"), -1);
	assert_int_equal(capability_from_name("CAP_"), -1);
	assert_int_equal(capability_from_name(""), -1);
	assert_int_equal(capability_from_name("CAP_FOO"), -1);
	assert_int_equal(capability_from_name("CAP_CHOWN "), -1);
	assert_int_equal(capability_from_name("CAP_SYS_ADMIN_"), -1);
}

static void test_last_cap(void **state)
{
	int last = capabilities_last_cap();

	(void)state;
	/* CAP_AUDIT_READ (37) is in every kernel skiff can run on. */
	assert_true(last >= 37 && last <= 63);
}

static void test_no_object_is_empty(void **state)
{
	struct cap_sets s;
	struct skiff_error *err = NULL;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	assert_int_equal(capabilities_resolve(NULL, 0, 40, &s, &err), 0);
	assert_null(err);
	assert_true(s.bounding == 0 && s.effective == 0 && s.permitted == 0 &&
		    s.inheritable == 0 && s.ambient == 0);
	assert_int_equal(s.last_cap, 40);
}

static void test_sets(void **state)
{
	char *b[] = { "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", NULL };
	char *e[] = { "CAP_KILL", NULL };
	char *p[] = { "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	char *i[] = { "CAP_NET_BIND_SERVICE", NULL };
	char *a[] = { "CAP_NET_BIND_SERVICE", NULL };
	struct spec_caps c = { .bounding = b, .effective = e, .permitted = p,
			       .inheritable = i, .ambient = a,
			       .n_bounding = 3, .n_effective = 1, .n_permitted = 2,
			       .n_inheritable = 1, .n_ambient = 1 };
	struct skiff_error *err = NULL;
	struct cap_sets s;

	(void)state;
	assert_int_equal(capabilities_resolve(&c, 1000, 40, &s, &err), 0);
	assert_null(err);
	assert_true(s.bounding == (BIT(5) | BIT(10) | BIT(0)));
	assert_true(s.effective == BIT(5));
	assert_true(s.permitted == (BIT(5) | BIT(10)));
	assert_true(s.inheritable == BIT(10));
	assert_true(s.ambient == BIT(10));
}

/* A kernel older than the name: dropped, not an error. */
static void test_above_last_cap(void **state)
{
	char *b[] = { "CAP_CHECKPOINT_RESTORE", "CAP_BPF", "CAP_KILL", NULL };
	struct spec_caps c = { .bounding = b, .n_bounding = 3 };
	struct skiff_error *err = NULL;
	struct cap_sets s;

	(void)state;
	assert_int_equal(capabilities_resolve(&c, 0, 38, &s, &err), 0);
	assert_true(s.bounding == BIT(5));
	assert_int_equal(capabilities_resolve(&c, 0, 39, &s, &err), 0);
	assert_true(s.bounding == (BIT(5) | BIT(39)));
	assert_int_equal(capabilities_resolve(&c, 0, 40, &s, &err), 0);
	assert_true(s.bounding == (BIT(5) | BIT(39) | BIT(40)));
	assert_null(err);
}

static void test_effective_not_permitted(void **state)
{
	char *e[] = { "CAP_KILL", "CAP_CHOWN", NULL };
	char *p[] = { "CAP_KILL", NULL };
	struct spec_caps c = { .effective = e, .permitted = p, .n_effective = 2,
			       .n_permitted = 1 };
	struct skiff_error *err = NULL;
	struct cap_sets s;

	(void)state;
	assert_int_equal(capabilities_resolve(&c, 0, 40, &s, &err), -1);
	assert_non_null(err);
	assert_string_equal(err->id, "spec.invalid");
	assert_non_null(strstr(err->msg, "process.capabilities.effective"));
	assert_non_null(strstr(err->msg, "CAP_CHOWN"));
	skiff_error_free(err);
}

/* runc's own `runc spec` lists ambient without inheritable: dropped. */
static void test_ambient_not_inheritable(void **state)
{
	char *all[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
	struct spec_caps c = { .bounding = all, .effective = all, .permitted = all,
			       .ambient = all, .n_bounding = 3, .n_effective = 3,
			       .n_permitted = 3, .n_ambient = 3 };
	struct skiff_error *err = NULL;
	struct cap_sets s;

	(void)state;
	assert_int_equal(capabilities_resolve(&c, 0, 40, &s, &err), 0);
	assert_null(err);
	assert_true(s.ambient == 0);
	assert_true(s.permitted == (BIT(29) | BIT(5) | BIT(10)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_name),
		cmocka_unit_test(test_last_cap),
		cmocka_unit_test(test_no_object_is_empty),
		cmocka_unit_test(test_sets),
		cmocka_unit_test(test_above_last_cap),
		cmocka_unit_test(test_effective_not_permitted),
		cmocka_unit_test(test_ambient_not_inheritable),
	};

	skiff_log_init("test_capabilities", SKIFF_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
