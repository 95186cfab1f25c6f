/* Unit tests of skiff run's policy: parsing (every malformed file refused,
 * unknown keys too), how the "images" globs match normalized references
 * and pinned digests, and how several files combine: each can only
 * tighten, maxima take the smallest and are applied to a job that asks
 * for none, and a denial names the rule and the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "job/job-internal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static void policy_of(struct job_policy *p, const char *const *texts, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->files = xzalloc(n * sizeof(*p->files));
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = xasprintf("/file%zu", i);
		struct skiff_error *e = NULL;

		if (job_policy_parse(path, texts[i], strlen(texts[i]), &p->files[i], &e) < 0)
			fail_msg("%s: %s", texts[i], e->msg);
		p->n_files++;
	}
}

static void expect_invalid(const char *text, const char *in_message)
{
	struct job_policy_file f;
	struct skiff_error *e = NULL;

	assert_int_equal(job_policy_parse("/etc/p.json", text, strlen(text), &f, &e), -1);
	assert_non_null(e);
	assert_string_equal(e->id, "policy.invalid");
	if (strstr(e->msg, in_message) == NULL || strstr(e->msg, "/etc/p.json") == NULL)
		fail_msg("message \"%s\" lacks \"%s\" or the file", e->msg, in_message);
	skiff_error_free(e);
	free(f.path);
	strv_free(f.images);
	strv_free(f.networks);
}

static void test_parse(void **state)
{
	struct job_policy p;
	const char *texts[] = { "{\"images\": [\"docker.io/library/*\"], \"max_timeout\": 60.5, "
				"\"max_memory\": \"1g\", \"max_cpus\": 2, \"networks\": [\"none\"], "
				"\"allow_volumes\": false, \"allow_cap_add\": true, "
				"\"require_audit\": true}" };

	(void)state;
	policy_of(&p, texts, 1);
	assert_string_equal(p.files[0].images[0], "docker.io/library/*");
	assert_true(p.files[0].max_timeout == 60.5);
	assert_int_equal(p.files[0].max_memory, 1024LL * 1024 * 1024);
	assert_true(p.files[0].max_cpus == 2);
	assert_string_equal(p.files[0].networks[0], "none");
	assert_int_equal(p.files[0].allow_volumes, 0);
	assert_int_equal(p.files[0].allow_cap_add, 1);
	assert_int_equal(p.files[0].allow_new_privileges, -1);
	assert_true(p.files[0].require_audit);
	job_policy_clear(&p);

	expect_invalid("{", "not valid JSON");
	expect_invalid("[]", "one JSON object");
	expect_invalid("{\"images\": \"busybox\"}", "\"images\" must be an array");
	expect_invalid("{\"images\": [\"\"]}", "non-empty");
	expect_invalid("{\"images\": [\"busybox@sha256:12\"]}", "must come a digest");
	expect_invalid("{\"max_timeout\": 0}", "\"max_timeout\" must be a positive number");
	expect_invalid("{\"max_timeout\": \"60\"}", "\"max_timeout\" must be");
	expect_invalid("{\"max_memory\": \"lots\"}", "\"max_memory\" must be a size");
	expect_invalid("{\"max_memory\": -1}", "\"max_memory\" must be a size");
	expect_invalid("{\"networks\": [\"bridge\"]}", "\"bridge\" is no network mode");
	expect_invalid("{\"allow_volumes\": \"no\"}", "true or false");
	expect_invalid("{\"allow_volume\": false}", "unknown key \"allow_volume\"");
	expect_invalid("{\"max_cpus\": 1, \"max_cpus\": 2}", "not valid JSON");
}

static void test_image_globs(void **state)
{
	(void)state;
	/* A glob without a tag allows every tag of the name. */
	assert_true(job_policy_image_matches("docker.io/library/busybox",
					     "docker.io/library/busybox:latest", NULL));
	assert_true(job_policy_image_matches("docker.io/library/busybox",
					     "docker.io/library/busybox@" D1, NULL));
	assert_false(job_policy_image_matches("docker.io/library/busybox",
					      "docker.io/library/busyboxx:latest", NULL));
	assert_true(job_policy_image_matches("docker.io/library/busybox:1.*",
					     "docker.io/library/busybox:1.36", NULL));
	assert_false(job_policy_image_matches("docker.io/library/busybox:1.*",
					      "docker.io/library/busybox:latest", NULL));
	/* '*' crosses '/', as a scope does. */
	assert_true(job_policy_image_matches("docker.io/library/*",
					     "docker.io/library/alpine:3", NULL));
	assert_true(job_policy_image_matches("registry.example:5000/*",
					     "registry.example:5000/team/app:v1", NULL));
	assert_false(job_policy_image_matches("docker.io/library/*", "localhost/busybox:latest",
					      NULL));
	/* A pin: unchecked before resolution, then it must be the digest. */
	assert_true(job_policy_image_matches("localhost/busybox@" D1, "localhost/busybox:latest",
					     NULL));
	assert_true(job_policy_image_matches("localhost/busybox@" D1, "localhost/busybox:latest",
					     D1));
	assert_false(job_policy_image_matches("localhost/busybox@" D1, "localhost/busybox:latest",
					      D2));
	/* Local sources: TRANSPORT:ABSPATH[:REF]. */
	assert_true(job_policy_image_matches("oci:/srv/images/*", "oci:/srv/images/bb", NULL));
	assert_true(job_policy_image_matches("oci:/srv/images/*", "oci:/srv/images/bb:v1", NULL));
	assert_false(job_policy_image_matches("oci:/srv/images/*", "oci-archive:/srv/images/bb",
					      NULL));
}

static void test_subject(void **state)
{
	char *s;

	(void)state;
	s = job_policy_image_subject("busybox", NULL);
	assert_string_equal(s, "docker.io/library/busybox:latest");
	free(s);
	s = job_policy_image_subject("busybox", "localhost/busybox:latest");
	assert_string_equal(s, "localhost/busybox:latest");
	free(s);
	/* A local source is its path, not the name stored from inside it. */
	s = job_policy_image_subject("oci:/nonexistent/dir:ref", "localhost/anything:latest");
	assert_string_equal(s, "oci:/nonexistent/dir:ref");
	free(s);
}

static int check(const struct job_policy *p, const struct job_options *o,
		 struct job_options *eff, const char *rule, const char *file)
{
	struct skiff_error *e = NULL;
	int rc = job_policy_check_options(p, o, eff, NULL, &e);

	if (rule == NULL) {
		if (rc < 0)
			fail_msg("denied: %s", e->msg);
		return rc;
	}
	assert_int_equal(rc, -1);
	assert_string_equal(e->id, "policy.denied");
	{
		_cleanup_free_ char *want = xasprintf("the rule \"%s\" of the policy file %s", rule,
						      file);

		if (strstr(e->msg, want) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", e->msg, want);
	}
	skiff_error_free(e);
	return rc;
}

static void test_files_only_tighten(void **state)
{
	const char *texts[] = {
		"{\"max_timeout\": 60, \"max_memory\": 1000, \"networks\": [\"none\"], "
		"\"allow_volumes\": false}",
		"{\"max_timeout\": 600, \"max_memory\": 500, \"networks\": [\"none\", \"host\"], "
		"\"allow_volumes\": true, \"allow_cap_add\": false}",
	};
	char *vols[] = { "/a:/b", NULL }, *caps[] = { "NET_RAW", NULL };
	struct job_options o = { 0 }, eff;
	struct job_policy p;

	(void)state;
	policy_of(&p, texts, 2);
	/* Nothing asked: the smallest maxima are applied. */
	check(&p, &o, &eff, NULL, NULL);
	assert_true(eff.timeout == 60);
	assert_int_equal(eff.memory, 500);
	assert_true(eff.cpus == 0);
	/* Within both: kept as asked. */
	o.timeout = 30;
	o.memory = 400;
	check(&p, &o, &eff, NULL, NULL);
	assert_true(eff.timeout == 30);
	assert_int_equal(eff.memory, 400);
	/* Over the first file's maximum, under the second's: the first denies. */
	o.timeout = 100;
	check(&p, &o, &eff, "max_timeout", "/file0");
	o.timeout = 0;
	o.memory = 800;
	check(&p, &o, &eff, "max_memory", "/file1");
	o.memory = 0;
	/* The second file cannot allow what the first forbids. */
	o.network = JOB_NETWORK_HOST;
	check(&p, &o, &eff, "networks", "/file0");
	o.network = JOB_NETWORK_NONE;
	o.volumes = vols;
	check(&p, &o, &eff, "allow_volumes", "/file0");
	o.volumes = NULL;
	o.cap_add = caps;
	check(&p, &o, &eff, "allow_cap_add", "/file1");
	o.cap_add = NULL;
	o.seccomp = "unconfined";
	check(&p, &o, &eff, NULL, NULL);
	job_policy_clear(&p);
}

static void test_images_all_files(void **state)
{
	const char *texts[] = { "{\"images\": [\"localhost/*\"]}",
				"{\"images\": [\"*\", \"localhost/busybox@" D1 "\"]}" };
	const char *pinned[] = { "{\"images\": [\"localhost/busybox@" D1 "\"]}" };
	struct job_policy p;
	struct skiff_error *e = NULL;

	(void)state;
	policy_of(&p, texts, 2);
	assert_int_equal(job_policy_check_reference(&p, "localhost/busybox", NULL, NULL), 0);
	/* The second file allows everything: the first still denies. */
	assert_int_equal(job_policy_check_reference(&p, "docker.io/library/alpine", NULL, &e), -1);
	assert_string_equal(e->id, "policy.denied");
	assert_non_null(strstr(e->msg, "policy file /file0"));
	skiff_error_free(e);
	e = NULL;
	/* A short name may be found as localhost/NAME. */
	assert_int_equal(job_policy_check_reference(&p, "busybox", NULL, NULL), 0);
	/* An image id is decided after resolution. */
	assert_int_equal(job_policy_check_reference(&p, "0123456789ab", NULL, NULL), 0);
	job_policy_clear(&p);

	policy_of(&p, pinned, 1);
	assert_int_equal(job_policy_check_resolved(&p, "localhost/busybox:latest", D1, NULL, NULL),
			 0);
	assert_int_equal(job_policy_check_resolved(&p, "localhost/busybox:latest", D2, NULL, &e),
			 -1);
	assert_non_null(strstr(e->msg, "manifest digest " D2));
	assert_non_null(strstr(e->msg, "rule \"images\" of the policy file /file0"));
	skiff_error_free(e);
	job_policy_clear(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_image_globs),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_files_only_tighten),
		cmocka_unit_test(test_images_all_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
