/* Unit tests of the registry client's parsers: WWW-Authenticate, auth
 * files, base64, settings, Retry-After, URLs. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/image-internal.h"

static char tmpdir[] = "/tmp/skiff-test-registry-XXXXXX";

static char *put(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* ---- WWW-Authenticate ------------------------------------------------------ */

static void test_www_authenticate(void **state)
{
	struct auth_challenge c;

	(void)state;
	assert_int_equal(www_authenticate_parse(
		"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		"scope=\"repository:library/alpine:pull\"", &c), 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/alpine:pull");
	auth_challenge_clear(&c);

	/* commas inside quotes, an escaped quote, spaces, a token value */
	assert_int_equal(www_authenticate_parse(
		"BEARER realm=\"https://h/t?a=1,b=2\", service=reg, scope=\"repository:a/b:pull,push\","
		" error=\"insufficient \\\"scope\\\"\"", &c), 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://h/t?a=1,b=2");
	assert_string_equal(c.service, "reg");
	assert_string_equal(c.scope, "repository:a/b:pull,push");
	auth_challenge_clear(&c);

	/* several challenges: Bearer is preferred wherever it is */
	assert_int_equal(www_authenticate_parse(
		"Basic realm=\"Registry Realm\", Bearer realm=\"https://t/token\",service=\"s\"", &c), 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://t/token");
	assert_string_equal(c.service, "s");
	assert_null(c.scope);
	auth_challenge_clear(&c);

	assert_int_equal(www_authenticate_parse("Basic realm=\"Registry, with comma\"", &c), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "Registry, with comma");
	auth_challenge_clear(&c);

	/* a Bearer without realm cannot be answered; Basic still can */
	assert_int_equal(www_authenticate_parse("Bearer service=\"x\", Basic realm=\"r\"", &c), 0);
	assert_string_equal(c.scheme, "basic");
	auth_challenge_clear(&c);

	assert_int_equal(www_authenticate_parse("Bearer service=\"x\"", &c), -1);
	assert_null(c.scheme);
	assert_int_equal(www_authenticate_parse("Bearer realm=\"https://unterminated", &c), -1);
	assert_null(c.scheme);
	assert_int_equal(www_authenticate_parse("", &c), -1);
	assert_int_equal(www_authenticate_parse("Negotiate", &c), -1);
	assert_int_equal(www_authenticate_parse("realm=\"x\"", &c), -1);
}

/* ---- base64 ------------------------------------------------------------------ */

static void test_base64(void **state)
{
	static const char *const plain[] = { "", "a", "ab", "abc", "user:pa:ss", "\xff\x01" };
	char *out;
	size_t n;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		char *enc = base64_encode(plain[i], strlen(plain[i]));

		assert_int_equal(base64_decode(enc, &out, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(out, plain[i], n);
		free(out);
		free(enc);
	}
	assert_int_equal(base64_decode("dXNlcjpwYXNz", &out, &n), 0);
	assert_string_equal(out, "user:pass");
	free(out);
	assert_int_equal(base64_decode("dXNlcjpwYXN", &out, &n), -1);     /* length */
	assert_int_equal(base64_decode("dXNl*jpwYXNz", &out, &n), -1);    /* character */
	assert_int_equal(base64_decode("dX=lcjpwYXNz", &out, &n), -1);    /* '=' inside */
	assert_int_equal(base64_decode("dXNlcjpw\nYXNz", &out, &n), -1);  /* newline */
	assert_int_equal(base64_decode("====", &out, &n), -1);
}

/* ---- auth files ------------------------------------------------------------ */

static void expect_creds(char **files, const char *host, const char *repo,
			 const char *user, const char *pass)
{
	struct skiff_error *err = NULL;
	struct registry_creds c = { 0 };
	bool found;

	if (auth_lookup(files, host, repo, &c, &found, &err) < 0)
		fail_msg("%s: [%s] %s", host, err->id, err->msg);
	if (user == NULL) {
		assert_false(found);
		return;
	}
	if (!found)
		fail_msg("no credentials found for %s/%s", host, repo ? repo : "");
	assert_string_equal(c.user, user);
	assert_string_equal(c.pass, pass);
	registry_creds_clear(&c);
}

static void test_auth_lookup(void **state)
{
	/* a:1 b:2 c:3 d:4 e:5 f:6 g:7 */
	char *f1 = put("a1.json", "{\"auths\":{"
		"\"reg.example\":{\"auth\":\"YTox\"},"
		"\"reg.example/team\":{\"auth\":\"Yjoy\"},"
		"\"reg.example/team/app\":{\"auth\":\"Yzoz\"},"
		"\"https://index.docker.io/v1/\":{\"auth\":\"ZDo0\"},"
		"\"127.0.0.1:5000\":{\"auth\":\"ZTo1\"}}}");
	char *f2 = put("a2.json", "{\"auths\":{"
		"\"other.example\":{\"auth\":\"Zjo2\"},"
		"\"reg.example\":{\"auth\":\"Zzo3\"},"
		"\"http://legacy.example\":{\"auth\":\"Zzo3\"}}}");
	char *missing = xasprintf("%s/none.json", tmpdir);
	char *files[] = { missing, f1, f2, NULL };
	char *only2[] = { f2, NULL };
	char *d1 = put("d1.json", "{\"auths\":{\"index.docker.io\":{\"auth\":\"ZDo0\"}}}");
	char *d2 = put("d2.json", "{\"auths\":{\"docker.io\":{\"auth\":\"ZDo0\"}}}");
	char *dfiles1[] = { d1, NULL }, *dfiles2[] = { d2, NULL };

	(void)state;
	/* the most specific key of the first file that has one */
	expect_creds(files, "reg.example", "team/app", "c", "3");
	expect_creds(files, "reg.example", "team/app2", "b", "2");
	expect_creds(files, "reg.example", "teamx/app", "a", "1");
	expect_creds(files, "reg.example", NULL, "a", "1");
	/* the first file wins over a later one */
	expect_creds(only2, "reg.example", "team/app", "g", "7");
	/* found only in the second file */
	expect_creds(files, "other.example", "x", "f", "6");
	/* URL keys, Docker Hub's names */
	expect_creds(files, "legacy.example", "x", "g", "7");
	expect_creds(files, "docker.io", "library/alpine", "d", "4");
	expect_creds(dfiles1, "docker.io", "library/alpine", "d", "4");
	expect_creds(dfiles2, "docker.io", "library/alpine", "d", "4");
	/* ports are part of the registry */
	expect_creds(files, "127.0.0.1:5000", "busybox", "e", "5");
	expect_creds(files, "127.0.0.1", "busybox", NULL, NULL);
	expect_creds(files, "127.0.0.1:5001", "busybox", NULL, NULL);
	expect_creds(files, "nowhere.example", "x", NULL, NULL);
	/* Docker's entries for registries a credential helper serves have no
	 * "auth": no credentials from them, and no error */
	{
		char *h = put("helper.json", "{\"auths\":{\"https://index.docker.io/v1/\":{}},"
			      "\"credsStore\":\"desktop\"}");
		char *hf[] = { h, f1, NULL };

		expect_creds(hf, "docker.io", "library/alpine", "d", "4");
		hf[1] = NULL;
		expect_creds(hf, "docker.io", "library/alpine", NULL, NULL);
		free(h);
	}
	free(f1);
	free(f2);
	free(missing);
	free(d1);
	free(d2);
}

static void expect_auth_error(const char *text, const char *in_msg)
{
	struct skiff_error *err = NULL;
	struct registry_creds c = { 0 };
	char *f = put("bad.json", text);
	char *files[] = { f, NULL };
	bool found;

	assert_int_equal(auth_lookup(files, "reg.example", "x", &c, &found, &err), -1);
	assert_string_equal(err->id, "image.auth.file");
	if (strstr(err->msg, f) == NULL || strstr(err->msg, in_msg) == NULL)
		fail_msg("message \"%s\" should name %s and say %s", err->msg, f, in_msg);
	skiff_error_free(err);
	free(f);
}

static void test_auth_errors(void **state)
{
	(void)state;
	expect_auth_error("{not json", "not a JSON object");
	expect_auth_error("{\"auths\":[]}", "\"auths\" is not an object");
	expect_auth_error("{\"auths\":{\"reg.example\":{\"auth\":\"%%%%\"}}}", "not base64");
	expect_auth_error("{\"auths\":{\"reg.example\":{\"auth\":\"bm9jb2xvbg==\"}}}", "not base64");
	expect_auth_error("{\"auths\":{\"reg.example\":{\"auth\":5}}}", "no \"auth\" string");
	expect_auth_error("{\"auths\":{\"reg.example\":\"YTox\"}}", "no \"auth\" string");
}

static void test_auth_file_order(void **state)
{
	char **v;
	char *w;

	(void)state;
	setenv("HOME", "/h", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	setenv("REGISTRY_AUTH_FILE", "/env/auth.json", 1);
	v = auth_read_files("/opt/a.json");
	assert_string_equal(v[0], "/opt/a.json");
	assert_null(v[1]);
	strv_free(v);
	v = auth_read_files(NULL);
	assert_string_equal(v[0], "/env/auth.json");
	assert_string_equal(v[1], "/run/user/7/containers/auth.json");
	assert_string_equal(v[2], "/h/.docker/config.json");
	assert_null(v[3]);
	strv_free(v);
	unsetenv("REGISTRY_AUTH_FILE");
	v = auth_read_files(NULL);
	assert_string_equal(v[0], "/run/user/7/containers/auth.json");
	assert_string_equal(v[1], "/h/.docker/config.json");
	assert_null(v[2]);
	strv_free(v);
	w = auth_write_file(NULL);
	assert_string_equal(w, "/run/user/7/containers/auth.json");
	free(w);
	unsetenv("XDG_RUNTIME_DIR");
	w = auth_write_file(NULL);
	assert_string_equal(w, "/h/.config/containers/auth.json");
	free(w);
	v = auth_read_files(NULL);
	assert_string_equal(v[0], "/h/.docker/config.json");
	assert_null(v[1]);
	strv_free(v);
}

static void test_auth_file_update(void **state)
{
	struct skiff_error *err = NULL;
	char *f = xasprintf("%s/sub/dir/auth.json", tmpdir);
	char *text = NULL;
	size_t len;
	struct stat st;
	bool removed;

	(void)state;
	assert_int_equal(auth_file_update(f, "a.example", "YTox", false, NULL, &err), 0);
	assert_int_equal(auth_file_update(f, "b.example:5000", "Yjoy", false, NULL, &err), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_file_at(AT_FDCWD, f, 1 << 20, &text, &len, &err), 0);
	assert_non_null(strstr(text, "\"a.example\""));
	assert_non_null(strstr(text, "\"b.example:5000\""));
	free(text);
	assert_int_equal(auth_file_update(f, "a.example", NULL, false, &removed, &err), 0);
	assert_true(removed);
	assert_int_equal(auth_file_update(f, "a.example", NULL, false, &removed, &err), 0);
	assert_false(removed);
	assert_int_equal(read_file_at(AT_FDCWD, f, 1 << 20, &text, &len, &err), 0);
	assert_null(strstr(text, "\"a.example\""));
	assert_non_null(strstr(text, "\"b.example:5000\""));
	free(text);
	assert_int_equal(auth_file_update(f, NULL, NULL, true, &removed, &err), 0);
	assert_true(removed);
	assert_int_equal(read_file_at(AT_FDCWD, f, 1 << 20, &text, &len, &err), 0);
	assert_null(strstr(text, "b.example"));
	free(text);
	free(f);
}

/* ---- settings ---------------------------------------------------------------- */

static void test_settings(void **state)
{
	struct skiff_error *err = NULL;
	struct registry_settings st = { .insecure = -1 };
	char *sys = put("sys.json", "{\"registries\":{"
		"\"reg.example\":{\"insecure\":true,\"ca_dir\":\"/sys/ca\",\"mirrors\":[\"m1:5000\"]},"
		"\"127.0.0.1:5000\":{\"insecure\":false}}}");
	char *user = put("user.json", "{\"registries\":{"
		"\"reg.example\":{\"ca_dir\":\"/user/ca\"}}}");
	char *missing = xasprintf("%s/none.json", tmpdir);
	char *files[] = { sys, missing, user, NULL };

	(void)state;
	assert_int_equal(settings_load(files, "reg.example", &st, &err), 0);
	assert_int_equal(st.insecure, 1);                 /* from the first file */
	assert_string_equal(st.ca_dir, "/user/ca");       /* the later file wins */
	assert_string_equal(st.mirrors[0], "m1:5000");
	assert_null(st.mirrors[1]);
	assert_true(settings_insecure(&st, "reg.example", -1));
	assert_false(settings_insecure(&st, "reg.example", 1));
	settings_clear(&st);

	/* the loopback default, and a file that turns it off */
	assert_int_equal(settings_load(files, "127.0.0.1:5000", &st, &err), 0);
	assert_int_equal(st.insecure, 0);
	assert_false(settings_insecure(&st, "127.0.0.1:5000", -1));
	settings_clear(&st);
	assert_int_equal(settings_load(files, "127.0.0.1:5001", &st, &err), 0);
	assert_int_equal(st.insecure, -1);
	assert_true(settings_insecure(&st, "127.0.0.1:5001", -1));
	assert_false(settings_insecure(&st, "127.0.0.1:5001", 1));
	assert_true(settings_insecure(&st, "public.example", 0));
	assert_false(settings_insecure(&st, "public.example", -1));
	settings_clear(&st);

	assert_true(host_is_loopback("localhost"));
	assert_true(host_is_loopback("localhost:5000"));
	assert_true(host_is_loopback("127.0.0.1"));
	assert_true(host_is_loopback("127.3.4.5:80"));
	assert_true(host_is_loopback("[::1]:5000"));
	assert_true(host_is_loopback("[::1]"));
	assert_false(host_is_loopback("128.0.0.1:5000"));
	assert_false(host_is_loopback("[::2]:5000"));
	assert_false(host_is_loopback("localhost.example.com"));
	assert_false(host_is_loopback("docker.io"));
	free(sys);
	free(user);
	free(missing);
}

static void expect_settings_error(const char *text, const char *in_msg)
{
	struct skiff_error *err = NULL;
	struct registry_settings st = { .insecure = -1 };
	char *f = put("bad-settings.json", text);
	char *files[] = { f, NULL };

	assert_int_equal(settings_load(files, "reg.example", &st, &err), -1);
	assert_string_equal(err->id, "image.settings.invalid");
	if (strstr(err->msg, f) == NULL || strstr(err->msg, in_msg) == NULL)
		fail_msg("message \"%s\" should name %s and %s", err->msg, f, in_msg);
	skiff_error_free(err);
	free(f);
}

static void test_settings_errors(void **state)
{
	(void)state;
	expect_settings_error("{", "not valid JSON");
	expect_settings_error("[]", "the document");
	expect_settings_error("{\"registries\":[]}", "\"registries\"");
	expect_settings_error("{\"registries\":{\"reg.example\":{\"insecure\":\"yes\"}}}",
			      "registries.\"reg.example\".insecure");
	expect_settings_error("{\"registries\":{\"reg.example\":{\"ca_dir\":3}}}",
			      "registries.\"reg.example\".ca_dir");
	expect_settings_error("{\"registries\":{\"reg.example\":{\"mirrors\":[\"a/b\"]}}}",
			      "registries.\"reg.example\".mirrors");
}

static void test_certs_dir(void **state)
{
	char *xdg = xasprintf("%s/xdg", tmpdir);
	char *d = xasprintf("%s/skiff/certs.d/reg.example:5000", xdg);
	char *p, *got;

	(void)state;
	p = xasprintf("%s/skiff", xdg);
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/skiff/certs.d", xdg);
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	assert_int_equal(mkdir(d, 0700), 0);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	got = certs_dir_find(NULL, NULL, "reg.example:5000");
	assert_string_equal(got, d);
	free(got);
	/* --cert-dir, then the settings' ca_dir, come first when they exist */
	got = certs_dir_find(tmpdir, d, "reg.example:5000");
	assert_string_equal(got, tmpdir);
	free(got);
	got = certs_dir_find("/nonexistent/skiff", tmpdir, "reg.example:5000");
	assert_string_equal(got, tmpdir);
	free(got);
	got = certs_dir_find(NULL, NULL, "reg.example:5001");
	if (got != NULL)
		assert_non_null(strstr(got, "reg.example:5001"));   /* a host's system dir */
	free(got);
	unsetenv("XDG_CONFIG_HOME");
	free(d);
	free(xdg);
}

/* ---- Retry-After, backoff, URLs ----------------------------------------------- */

static void test_retry_after(void **state)
{
	long now = 1700000000;      /* Tue, 14 Nov 2023 22:13:20 GMT */

	(void)state;
	assert_int_equal(retry_after_parse("5", now), 5);
	assert_int_equal(retry_after_parse(" 0", now), 0);
	assert_int_equal(retry_after_parse("120", now), REGISTRY_RETRY_AFTER_MAX);
	assert_int_equal(retry_after_parse("Tue, 14 Nov 2023 22:13:23 GMT", now), 3);
	assert_int_equal(retry_after_parse("Tue, 14 Nov 2023 23:13:20 GMT", now),
			 REGISTRY_RETRY_AFTER_MAX);
	assert_int_equal(retry_after_parse("Tue, 14 Nov 2023 20:00:00 GMT", now), 0);
	assert_int_equal(retry_after_parse("soon", now), -1);
	assert_int_equal(retry_after_parse("5s", now), -1);
	assert_int_equal(retry_after_parse("-3", now), -1);
	assert_int_equal(retry_after_parse(NULL, now), -1);

	assert_int_equal(registry_backoff_ms(1, -1), 500);
	assert_int_equal(registry_backoff_ms(2, -1), 1000);
	assert_int_equal(registry_backoff_ms(4, -1), 4000);
	assert_int_equal(registry_backoff_ms(9, -1), REGISTRY_RETRY_AFTER_MAX * 1000);
	assert_int_equal(registry_backoff_ms(1, 3), 3000);
	assert_int_equal(registry_backoff_ms(1, 0), 0);
}

static void test_urls(void **state)
{
	char *u;

	(void)state;
	u = registry_url_build(false, "docker.io", "library/alpine", "manifests", "latest");
	assert_string_equal(u, "https://registry-1.docker.io/v2/library/alpine/manifests/latest");
	free(u);
	u = registry_url_build(true, "127.0.0.1:5000", "a/b", "blobs", "sha256:00");
	assert_string_equal(u, "http://127.0.0.1:5000/v2/a/b/blobs/sha256:00");
	free(u);
	u = registry_url_build(false, "[::1]:5000", NULL, NULL, NULL);
	assert_string_equal(u, "https://[::1]:5000/v2/");
	free(u);
	assert_string_equal(registry_endpoint("index.docker.io"), "registry-1.docker.io");
	assert_string_equal(registry_endpoint("quay.io"), "quay.io");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return remove_tree_at(AT_FDCWD, tmpdir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_www_authenticate),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_auth_lookup),
		cmocka_unit_test(test_auth_errors),
		cmocka_unit_test(test_auth_file_order),
		cmocka_unit_test(test_auth_file_update),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_certs_dir),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_urls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
