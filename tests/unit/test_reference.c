/* Unit tests of image references, transports, platforms and digests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <skiff/image.h>
#include <skiff/util.h>

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_ref(const char *in, const char *want)
{
	struct skiff_error *err = NULL;
	struct image_ref ref;
	char *got;

	if (image_ref_parse(in, &ref, &err) < 0)
		fail_msg("\"%s\" should parse, got [%s] %s", in, err->id, err->msg);
	got = image_ref_string(&ref);
	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" -> \"%s\", expected \"%s\"", in, got, want);
	free(got);
	image_ref_clear(&ref);
}

static void expect_bad(const char *in, const char *id)
{
	struct skiff_error *err = NULL;
	struct image_ref ref;

	if (image_ref_parse(in, &ref, &err) == 0) {
		char *got = image_ref_string(&ref);

		fail_msg("\"%s\" should fail with %s, parsed as \"%s\"", in, id, got);
	}
	if (strcmp(err->id, id) != 0)
		fail_msg("\"%s\": expected %s, got [%s] %s", in, id, err->id, err->msg);
	/* The message names the input. */
	assert_non_null(strstr(err->msg, in));
	skiff_error_free(err);
}

static void test_good_references(void **state)
{
	(void)state;
	expect_ref("alpine", "docker.io/library/alpine:latest");
	expect_ref("alpine:3.19", "docker.io/library/alpine:3.19");
	expect_ref("library/alpine", "docker.io/library/alpine:latest");
	expect_ref("user/repo", "docker.io/user/repo:latest");
	expect_ref("docker.io/alpine", "docker.io/library/alpine:latest");
	expect_ref("index.docker.io/alpine", "docker.io/library/alpine:latest");
	expect_ref("index.docker.io/user/x:1", "docker.io/user/x:1");
	expect_ref("quay.io/podman/stable", "quay.io/podman/stable:latest");
	expect_ref("localhost/busybox", "localhost/busybox:latest");
	expect_ref("localhost:5000/busybox:1.36", "localhost:5000/busybox:1.36");
	expect_ref("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t");
	expect_ref("[::1]:5000/img", "[::1]:5000/img:latest");
	expect_ref("[fe80::1]/img:v1", "[fe80::1]/img:v1");
	expect_ref("my-registry.example.com:443/team/app:v1.2.3-rc_1",
		   "my-registry.example.com:443/team/app:v1.2.3-rc_1");
	expect_ref("alpine@sha256:" D64, "docker.io/library/alpine@sha256:" D64);
	expect_ref("alpine:3@sha256:" D64, "docker.io/library/alpine:3@sha256:" D64);
	expect_ref("a.b/c__d/e--f/g.h_i:TAG", "a.b/c__d/e--f/g.h_i:TAG");
	expect_ref("Registry/x", "Registry/x:latest");
	expect_ref("r/x:_", "docker.io/r/x:_");
	expect_ref("host:1/x", "host:1/x:latest");
	expect_ref("host:65535/x", "host:65535/x:latest");
	expect_ref("a0/b1", "docker.io/a0/b1:latest");
	/* 128 characters of tag are allowed. */
	expect_ref("x:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   "docker.io/library/x:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

static void test_short_name_flag(void **state)
{
	struct image_ref ref;
	char *name;

	(void)state;
	assert_int_equal(image_ref_parse("busybox", &ref, NULL), 0);
	assert_true(ref.short_name);
	name = image_ref_name(&ref);
	assert_string_equal(name, "docker.io/library/busybox");
	assert_string_equal(ref.tag, "latest");
	assert_null(ref.digest);
	free(name);
	image_ref_clear(&ref);
	assert_int_equal(image_ref_parse("docker.io/busybox@sha256:" D64, &ref, NULL), 0);
	assert_false(ref.short_name);
	assert_null(ref.tag);
	assert_string_equal(ref.digest, "sha256:" D64);
	image_ref_clear(&ref);
}

static void test_bad_references(void **state)
{
	(void)state;
	expect_bad("", "image.reference.empty");
	expect_bad("Alpine", "image.reference.uppercase");
	expect_bad("docker.io/Library/alpine", "image.reference.uppercase");
	expect_bad("alpine:", "image.reference.bad_tag");
	expect_bad("alpine:.x", "image.reference.bad_tag");
	expect_bad("alpine:-x", "image.reference.bad_tag");
	expect_bad("alpine:a+b", "image.reference.bad_tag");
	expect_bad("x:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		   "image.reference.bad_tag");
	expect_bad("alpine@sha256:abc", "image.reference.bad_digest");
	expect_bad("alpine@md5:" D64, "image.reference.bad_digest");
	expect_bad("alpine@sha256:" D64 "00", "image.reference.bad_digest");
	expect_bad("alpine@" D64, "image.reference.bad_digest");
	expect_bad("alpine@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		   "image.reference.bad_digest");
	expect_bad("alpine@sha256:" D64 "@sha256:" D64, "image.reference.bad_digest");
	expect_bad("-alpine", "image.reference.bad_path");
	expect_bad("alpine-", "image.reference.bad_path");
	expect_bad("a..b", "image.reference.bad_path");
	expect_bad("a___b", "image.reference.bad_path");
	expect_bad("a//b", "image.reference.bad_path");
	expect_bad("a/", "image.reference.bad_path");
	expect_bad("/a", "image.reference.bad_path");
	expect_bad("a b", "image.reference.bad_path");
	expect_bad("a/b c", "image.reference.bad_path");
	expect_bad("localhost/", "image.reference.bad_path");
	expect_bad(":tag", "image.reference.bad_path");
	expect_bad("@sha256:" D64, "image.reference.bad_path");
	expect_bad("-host.io/x", "image.reference.bad_domain");
	expect_bad("host-.io/x", "image.reference.bad_domain");
	expect_bad("ho_st.io/x", "image.reference.bad_domain");
	expect_bad("a..io/x", "image.reference.bad_domain");
	expect_bad("[zz::1]/x", "image.reference.bad_domain");
	expect_bad("host:0/x", "image.reference.bad_port");
	expect_bad("host:65536/x", "image.reference.bad_port");
	expect_bad("host:/x", "image.reference.bad_port");
	expect_bad("host:+5/x", "image.reference.bad_port");
	expect_bad("host:5a/x", "image.reference.bad_port");
	{
		char long_name[300];

		memset(long_name, 'a', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		expect_bad(long_name, "image.reference.too_long");
	}
}

static void test_sources(void **state)
{
	struct skiff_error *err = NULL;
	struct image_source src;

	(void)state;
	assert_int_equal(image_source_parse("busybox", &src, NULL), 0);
	assert_int_equal(src.transport, IMAGE_TRANSPORT_DOCKER);
	assert_string_equal(src.ref.path, "library/busybox");
	image_source_clear(&src);

	assert_int_equal(image_source_parse("docker://localhost:5000/x:1", &src, NULL), 0);
	assert_int_equal(src.transport, IMAGE_TRANSPORT_DOCKER);
	assert_string_equal(src.ref.domain, "localhost:5000");
	assert_string_equal(src.ref.tag, "1");
	image_source_clear(&src);

	/* A bare host:port reference is no transport. */
	assert_int_equal(image_source_parse("localhost:5000/x", &src, NULL), 0);
	assert_int_equal(src.transport, IMAGE_TRANSPORT_DOCKER);
	image_source_clear(&src);

	assert_int_equal(image_source_parse("oci:/tmp/layout", &src, NULL), 0);
	assert_int_equal(src.transport, IMAGE_TRANSPORT_OCI);
	assert_string_equal(src.path, "/tmp/layout");
	assert_null(src.local_ref);
	image_source_clear(&src);

	assert_int_equal(image_source_parse("oci:dir:v1.0", &src, NULL), 0);
	assert_string_equal(src.path, "dir");
	assert_string_equal(src.local_ref, "v1.0");
	image_source_clear(&src);

	assert_int_equal(image_source_parse("oci-archive:/x/img.tar:latest", &src, NULL), 0);
	assert_int_equal(src.transport, IMAGE_TRANSPORT_OCI_ARCHIVE);
	assert_string_equal(src.path, "/x/img.tar");
	assert_string_equal(src.local_ref, "latest");
	image_source_clear(&src);

	assert_int_equal(image_source_parse("docker-archive:save.tar", &src, NULL), 0);
	assert_int_equal(src.transport, IMAGE_TRANSPORT_DOCKER_ARCHIVE);
	assert_string_equal(src.path, "save.tar");
	image_source_clear(&src);

	assert_int_equal(image_source_parse("oci:", &src, &err), -1);
	assert_string_equal(err->id, "image.source.bad_path");
	skiff_error_freep(&err);
	assert_int_equal(image_source_parse("oci:dir:", &src, &err), -1);
	assert_string_equal(err->id, "image.source.bad_path");
	skiff_error_freep(&err);
	assert_int_equal(image_source_parse("dir:/x", &src, &err), -1);
	assert_string_equal(err->id, "image.source.unknown_transport");
	skiff_error_freep(&err);
	assert_int_equal(image_source_parse("containers-storage:x", &src, &err), -1);
	assert_string_equal(err->id, "image.source.unknown_transport");
	skiff_error_freep(&err);
	assert_int_equal(image_source_parse("docker:alpine", &src, &err), -1);
	assert_string_equal(err->id, "image.source.unknown_transport");
	skiff_error_freep(&err);
	assert_int_equal(image_source_parse("docker://Bad", &src, &err), -1);
	assert_string_equal(err->id, "image.reference.uppercase");
	skiff_error_freep(&err);
	assert_int_equal(image_source_parse("", &src, &err), -1);
	assert_string_equal(err->id, "image.reference.empty");
	skiff_error_freep(&err);
	assert_string_equal(image_transport_name(IMAGE_TRANSPORT_OCI_ARCHIVE), "oci-archive");
}

static void test_platforms(void **state)
{
	struct skiff_error *err = NULL;
	struct image_platform p;
	char *s;

	(void)state;
	assert_int_equal(image_platform_parse("linux/amd64", &p, NULL), 0);
	assert_string_equal(p.os, "linux");
	assert_string_equal(p.arch, "amd64");
	assert_null(p.variant);
	image_platform_clear(&p);
	assert_int_equal(image_platform_parse("linux/arm/v7", &p, NULL), 0);
	s = image_platform_string(&p);
	assert_string_equal(s, "linux/arm/v7");
	free(s);
	image_platform_clear(&p);
	assert_int_equal(image_platform_parse("linux/arm64", &p, NULL), 0);
	assert_string_equal(p.variant, "v8");
	image_platform_clear(&p);
	assert_int_equal(image_platform_parse(NULL, &p, NULL), 0);
	assert_string_equal(p.os, "linux");
	assert_non_null(p.arch);
	image_platform_clear(&p);
	static const char *const bad[] = { "linux", "linux/", "/amd64", "linux/amd64/",
					   "linux/amd64/v1/x", "Linux/AMD64", "linux//v7" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (image_platform_parse(bad[i], &p, &err) == 0)
			fail_msg("platform \"%s\" should be refused", bad[i]);
		assert_string_equal(err->id, "image.platform.bad");
		skiff_error_freep(&err);
	}
}

static void test_digests(void **state)
{
	struct skiff_error *err = NULL;

	(void)state;
	assert_int_equal(image_digest_parse("sha256:" D64, "d", NULL), 0);
	assert_int_equal(image_digest_parse("sha512:" D64, "d", &err), -1);
	assert_string_equal(err->id, "image.reference.bad_digest");
	skiff_error_freep(&err);
	assert_int_equal(image_digest_parse("sha256:../../etc/passwd", "d", &err), -1);
	skiff_error_freep(&err);
	assert_int_equal(image_digest_parse(":", "d", &err), -1);
	skiff_error_freep(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_references),
		cmocka_unit_test(test_short_name_flag),
		cmocka_unit_test(test_bad_references),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_platforms),
		cmocka_unit_test(test_digests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
