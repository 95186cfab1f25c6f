/* Unit tests of the job face's pure parts: users through an image's
 * layers (whiteouts, opaque dirs, symlinks that try to leave a layer), the
 * spec built from an image config (Docker's Entrypoint/Cmd rules, the
 * environment's order, capabilities), and the --json result. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "job/job-internal.h"

static char tmp[64];
static char *layers[3];

static void put(const char *layer, const char *path, const char *text)
{
	char *p = xasprintf("%s/%s", layer, path);
	int fd;

	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/test_job.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	for (int i = 0; i < 3; i++) {
		char *etc;

		layers[i] = xasprintf("%s/l%d", tmp, i);
		assert_int_equal(mkdir(layers[i], 0755), 0);
		etc = xasprintf("%s/etc", layers[i]);
		assert_int_equal(mkdir(etc, 0755), 0);
		free(etc);
	}
	put(layers[0], "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
		       "alice:x:1000:1000::/home/alice:/bin/sh\n"
		       "bob:x:1001:1001::/home/bob:/bin/sh\n");
	put(layers[0], "etc/group", "root:x:0:\nalice:x:1000:\nstaff:x:50:alice,bob\n"
		       "video:x:44:alice\n");
	/* Layer 1 replaces passwd without bob; layer 2 leaves both alone. */
	put(layers[1], "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
		       "alice:x:1000:1000::/home/alice:/bin/sh\n");
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf %s", tmp);

	(void)state;
	assert_int_equal(system(cmd), 0);
	free(cmd);
	for (int i = 0; i < 3; i++)
		free(layers[i]);
	return 0;
}

static void expect_user(const char *spec, size_t n, uid_t uid, gid_t gid, size_t n_groups,
			const char *home)
{
	struct skiff_error *err = NULL;
	struct job_user u;

	if (job_user_resolve(spec, layers, n, &u, &err) < 0)
		fail_msg("\"%s\": [%s] %s", spec, err->id, err->msg);
	assert_int_equal(u.uid, uid);
	assert_int_equal(u.gid, gid);
	assert_int_equal(u.n_groups, n_groups);
	assert_string_equal(u.home, home);
	job_user_clear(&u);
}

static void expect_unknown(const char *spec, size_t n)
{
	struct skiff_error *err = NULL;
	struct job_user u;

	assert_int_equal(job_user_resolve(spec, layers, n, &u, &err), -1);
	assert_string_equal(err->id, "job.user.unknown");
	skiff_error_free(err);
	job_user_clear(&u);
}

static void test_users(void **state)
{
	(void)state;
	expect_user("", 3, 0, 0, 0, "/root");
	expect_user("alice", 3, 1000, 1000, 2, "/home/alice");      /* staff, video */
	expect_user("alice:50", 3, 1000, 50, 0, "/home/alice");     /* explicit group: none */
	expect_user("alice:staff", 3, 1000, 50, 0, "/home/alice");
	expect_user("1234", 3, 1234, 0, 0, "/");                    /* not in passwd */
	expect_user("1234:99", 3, 1234, 99, 0, "/");
	expect_user("bob", 1, 1001, 1001, 1, "/home/bob");          /* only the lowest layer */
	expect_unknown("bob", 3);                                   /* layer 1 replaced passwd */
	expect_unknown("nobody", 3);
	expect_unknown("alice:nogroup", 3);
	expect_unknown("99999999999", 3);
}

static void test_user_whiteout_and_opaque(void **state)
{
	char *p;

	(void)state;
	/* A whiteout of /etc/passwd in the top layer deletes it: no names. */
	p = xasprintf("%s/etc/passwd", layers[2]);
	if (mknod(p, S_IFCHR | 0, makedev(0, 0)) == 0) {
		expect_unknown("alice", 3);
		expect_user("", 3, 0, 0, 0, "/");
		unlink(p);
	}
	free(p);
	/* An opaque /etc in the top layer hides the lower ones. */
	p = xasprintf("%s/etc", layers[2]);
	if (setxattr(p, "user.overlay.opaque", "y", 1, 0) == 0) {
		expect_unknown("alice", 3);
		removexattr(p, "user.overlay.opaque");
	}
	free(p);
	/* A symlink cannot make skiff read a file outside the layer. */
	p = xasprintf("%s/etc/group", layers[2]);
	assert_int_equal(symlink("/../../../../etc/group", p), 0);
	expect_unknown("alice:root", 3);   /* the layer has no /etc/group of its own there */
	unlink(p);
	free(p);
}

static struct spec *build(struct job_options *o, const char *config, struct skiff_error **err)
{
	struct image_layers l = { .dirs = layers, .n_dirs = 3 };
	json_t *cfg = json_loads(config, 0, NULL);
	struct job_spec_input in = { .o = o, .config = cfg, .layers = &l, .dir = "/c",
				     .hostname = "h" };
	struct spec *s = NULL;
	int sig;

	if (job_build_spec(&in, &s, &sig, err) < 0)
		s = NULL;
	json_decref(cfg);
	return s;
}

static char *joined(char **v)
{
	char *out = xstrdup("");

	for (; v && *v; v++) {
		char *n = xasprintf("%s%s%s", out, *out ? " " : "", *v);

		free(out);
		out = n;
	}
	return out;
}

static void expect_args(struct job_options *o, const char *config, const char *want)
{
	struct skiff_error *err = NULL;
	struct spec *s = build(o, config, &err);
	char *got;

	if (s == NULL)
		fail_msg("%s: [%s] %s", config, err->id, err->msg);
	got = joined(s->process->args);
	assert_string_equal(got, want);
	free(got);
	spec_free(s);
}

static void test_command_rules(void **state)
{
	const char *both = "{\"Entrypoint\":[\"ep\"],\"Cmd\":[\"c1\",\"c2\"]}";
	char *cmd[] = { "x", "y", NULL };
	struct job_options o = { .image = "img" };
	struct skiff_error *err = NULL;
	struct spec *s;

	(void)state;
	expect_args(&o, both, "ep c1 c2");
	o.command = cmd;
	expect_args(&o, both, "ep x y");
	o.has_entrypoint = true;
	o.entrypoint = "new";
	expect_args(&o, both, "new x y");
	o.command = NULL;
	expect_args(&o, both, "new");                 /* Cmd dropped */
	o.entrypoint = "";
	s = build(&o, both, &err);                     /* nothing left */
	assert_null(s);
	assert_string_equal(err->id, "job.no_command");
	skiff_error_free(err);
	o.has_entrypoint = false;
	expect_args(&o, "{\"Cmd\":[\"sh\"]}", "sh");
}

static void test_env_and_caps(void **state)
{
	char *env[] = { "B=cli", "C", "NOT_SET_ANYWHERE", NULL };
	char *drop[] = { "ALL", NULL }, *add[] = { "net_raw", "CAP_KILL", NULL };
	struct job_options o = { .image = "img", .env = env, .cap_drop = drop, .cap_add = add,
				 .workdir = "/w" };
	struct skiff_error *err = NULL;
	struct spec *s;
	char *got;

	(void)state;
	setenv("C", "caller", 1);
	unsetenv("NOT_SET_ANYWHERE");
	s = build(&o, "{\"Env\":[\"A=img\",\"B=img\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/x\"}", &err);
	assert_non_null(s);
	got = joined(s->process->env);
	assert_string_equal(got, "A=img B=cli PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			    "/usr/bin:/sbin:/bin HOSTNAME=h HOME=/root C=caller");
	free(got);
	assert_string_equal(s->process->cwd, "/w");
	got = joined(s->process->capabilities->effective);
	assert_string_equal(got, "CAP_NET_RAW CAP_KILL");
	free(got);
	assert_true(s->process->no_new_privileges);
	assert_non_null(s->linux_->seccomp);
	spec_free(s);
}

static void test_result_json(void **state)
{
	struct job_result r = { .exit_code = 137, .signal = 9, .timed_out = true,
				.out = "ok\xff", .out_len = 3, .err = "", .err_len = 0 };
	char *text = job_result_json(&r, NULL);
	json_t *j = json_loads(text, 0, NULL);

	(void)state;
	assert_non_null(j);
	assert_false(json_is_true(json_object_get(j, "success")));
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 137);
	assert_string_equal(json_string_value(json_object_get(j, "signal")), "KILL");
	assert_string_equal(json_string_value(json_object_get(j, "stdout")), "ok\xef\xbf\xbd");
	assert_true(json_is_null(json_object_get(j, "cpu_seconds")));
	assert_true(json_is_null(json_object_get(j, "started_at")));
	json_decref(j);
	free(text);

	/* skiff inspect and ps read the times a run recorded. */
	r.started_at = "2026-11-24T00:00:01.000000000Z";
	r.finished_at = "2026-11-24T00:00:02.500000000Z";
	text = job_result_json(&r, NULL);
	j = json_loads(text, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "started_at")), r.started_at);
	assert_string_equal(json_string_value(json_object_get(j, "finished_at")), r.finished_at);
	json_decref(j);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_user_whiteout_and_opaque),
		cmocka_unit_test(test_command_rules),
		cmocka_unit_test(test_env_and_caps),
		cmocka_unit_test(test_result_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
