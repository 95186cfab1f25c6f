/* Unit tests of the cgroup area's pure parts: conversions, paths, keys, the
 * layout from fake /proc text, and the files written for linux.resources
 * (into a directory of plain files standing in for a cgroup). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <skiff/runtime.h>
#include <skiff/util.h>

#include "runtime/cgroup-internal.h"

/* ---- conversions ------------------------------------------------------------- */

static void test_shares_to_weight(void **state)
{
	(void)state;
	assert_int_equal(cgroup_shares_to_weight(2), 1);
	assert_int_equal(cgroup_shares_to_weight(262144), 10000);
	/* The v1 default maps near, not onto, the v2 default (100): crun's
	 * documented linear conversion. */
	assert_int_equal(cgroup_shares_to_weight(1024), 39);
	assert_int_equal(cgroup_shares_to_weight(512), 20);
	/* Out of range values are clamped, not wrapped. */
	assert_int_equal(cgroup_shares_to_weight(0), 1);
	assert_int_equal(cgroup_shares_to_weight(1u << 30), 10000);
}

static void test_blkio_to_io_weight(void **state)
{
	(void)state;
	assert_int_equal(cgroup_blkio_to_io_weight(10), 1);
	assert_int_equal(cgroup_blkio_to_io_weight(1000), 10000);
	assert_int_equal(cgroup_blkio_to_io_weight(500), 4950);
	assert_int_equal(cgroup_blkio_to_io_weight(5), 1);
}

static void test_cpu_max_text(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(cgroup_cpu_max_text(0, 0, NULL, buf, sizeof(buf)), 0);
	assert_int_equal(cgroup_cpu_max_text(20000, 0, NULL, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "20000 100000");
	assert_int_equal(cgroup_cpu_max_text(30000, 60000, NULL, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "30000 60000");
	/* -1 lifts the quota and keeps the period in force. */
	assert_int_equal(cgroup_cpu_max_text(-1, 0, "50000 200000\n", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "max 200000");
	/* A period alone keeps the quota in force. */
	assert_int_equal(cgroup_cpu_max_text(0, 50000, "20000 100000\n", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "20000 50000");
	assert_int_equal(cgroup_cpu_max_text(0, 50000, "max 100000\n", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "max 50000");
	/* Unreadable current text: the kernel's default. */
	assert_int_equal(cgroup_cpu_max_text(0, 25000, "garbage", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "max 25000");
}

static void test_swap_max(void **state)
{
	const char *why = NULL;
	int64_t v = 42;

	(void)state;
	/* runtime-spec swap is memory + swap (v1); v2 wants swap alone. */
	assert_int_equal(cgroup_swap_max(32 << 20, 64 << 20, &v, &why), 1);
	assert_int_equal(v, 32 << 20);
	assert_int_equal(cgroup_swap_max(32 << 20, 32 << 20, &v, &why), 1);
	assert_int_equal(v, 0);
	assert_int_equal(cgroup_swap_max(32 << 20, -1, &v, &why), 1);
	assert_int_equal(v, -1);
	v = 42;
	assert_int_equal(cgroup_swap_max(32 << 20, 0, &v, &why), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cgroup_swap_max(-1, 64 << 20, &v, &why), -1);
	assert_non_null(strstr(why, "needs a memory limit"));
	assert_int_equal(cgroup_swap_max(64 << 20, 32 << 20, &v, &why), -1);
	assert_non_null(strstr(why, "cannot be below"));
}

static void test_keyed_value(void **state)
{
	const char *events = "low 0\nhigh 3\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n";
	uint64_t v = 0;

	(void)state;
	assert_int_equal(cgroup_keyed_value(events, "oom_kill", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cgroup_keyed_value(events, "oom", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(cgroup_keyed_value(events, "max", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cgroup_keyed_value(events, "oom_k", &v), -1);
	assert_int_equal(cgroup_keyed_value(events, "nope", &v), -1);
	assert_int_equal(cgroup_keyed_value(NULL, "oom", &v), -1);
	assert_int_equal(cgroup_keyed_value("populated 1\nfrozen 0", "frozen", &v), 0);
	assert_int_equal(v, 0);
}

static void test_controllers(void **state)
{
	char buf[96];

	(void)state;
	assert_int_equal(cgroup_controllers_parse("cpuset cpu io memory hugetlb pids rdma misc\n"),
			 CG__ALL);
	assert_int_equal(cgroup_controllers_parse("memory pids\n"), CG_MEMORY | CG_PIDS);
	assert_int_equal(cgroup_controllers_parse("perf_event  memory\tfreezer\n"), CG_MEMORY);
	assert_int_equal(cgroup_controllers_parse(""), 0);
	assert_int_equal(cgroup_controllers_parse(NULL), 0);
	assert_string_equal(cgroup_controllers_text(CG_CPU | CG_MEMORY, buf, sizeof(buf)),
			    "cpu, memory");
	assert_string_equal(cgroup_controllers_text(0, buf, sizeof(buf)), "");
	assert_int_equal(cgroup_controller_bit("cpuset", 6), CG_CPUSET);
	assert_int_equal(cgroup_controller_bit("cpusetx", 3), CG_CPU);
	assert_int_equal(cgroup_controller_bit("blkio", 5), 0);
}

/* ---- unified keys -------------------------------------------------------------- */

static void expect_key(const char *key, int rc, unsigned mask)
{
	struct skiff_error *err = NULL;
	unsigned got = 99;

	assert_int_equal(cgroup_unified_key_check(key, "config.json", &got, &err), rc);
	if (rc == 0) {
		assert_null(err);
		assert_int_equal(got, mask);
	} else {
		assert_non_null(err);
		assert_string_equal(err->id, "cgroup.unified_key");
		assert_non_null(strstr(err->msg, "linux.resources.unified"));
		skiff_error_free(err);
	}
}

static void test_unified_keys(void **state)
{
	(void)state;
	expect_key("memory.high", 0, CG_MEMORY);
	expect_key("memory.swap.max", 0, CG_MEMORY);
	expect_key("io.max", 0, CG_IO);
	expect_key("cpu.max.burst", 0, CG_CPU);
	expect_key("hugetlb.2MB.max", 0, CG_HUGETLB);
	expect_key("cgroup.max.depth", 0, 0);
	expect_key("cgroup.max.descendants", 0, 0);
	expect_key("cgroup.procs", -1, 0);
	expect_key("cgroup.kill", -1, 0);
	expect_key("cgroup.subtree_control", -1, 0);
	expect_key("../memory.max", -1, 0);
	expect_key("memory/../../x.max", -1, 0);
	expect_key("memory", -1, 0);
	expect_key("memory.", -1, 0);
	expect_key(".max", -1, 0);
	expect_key("..", -1, 0);
	expect_key("", -1, 0);
	expect_key("blkio.weight", -1, 0);
	expect_key("foo.bar", -1, 0);
}

/* ---- paths ----------------------------------------------------------------------- */

static void expect_path(const char *root, const char *base, const char *cgroups_path,
			const char *id, const char *want)
{
	struct skiff_error *err = NULL;
	char *got = NULL;
	int rc = cgroup_resolve_path(root, base, cgroups_path, id, &got, &err);

	if (want != NULL) {
		if (rc != 0)
			fail_msg("%s: %s", cgroups_path ? cgroups_path : "(none)", err->msg);
		assert_string_equal(got, want);
		free(got);
	} else {
		assert_int_equal(rc, -1);
		assert_null(got);
		assert_non_null(err);
		assert_string_equal(err->id, "cgroup.path");
		skiff_error_free(err);
	}
}

static void test_resolve_path(void **state)
{
	char long_name[300];

	(void)state;
	/* None: skiff-ID under the base. */
	expect_path("/", "/user.slice/app.slice", NULL, "web", "/user.slice/app.slice/skiff-web");
	expect_path("/", "/user.slice/app.slice", "", "web", "/user.slice/app.slice/skiff-web");
	expect_path("/", "/", NULL, "web", "/skiff-web");
	/* Relative: under the base. */
	expect_path("/", "/a/b", "jobs/x", "web", "/a/b/jobs/x");
	expect_path("/", "/", "jobs//x/", "web", "/jobs/x");
	/* Absolute: as given, normalized. */
	expect_path("/", "/a/b", "/kubepods/pod1/c1", "web", "/kubepods/pod1/c1");
	expect_path("/", "/a/b", "//kubepods//c1/", "web", "/kubepods/c1");
	/* A mount showing a subtree: paths are taken below its root. */
	expect_path("/sub", "/x", "/sub/k/c1", "web", "/k/c1");
	expect_path("/sub", "/x", "/subway/c1", "web", NULL);
	expect_path("/sub", "/x", "/other", "web", NULL);
	/* Refused: the root itself, dot components, long names. */
	expect_path("/", "/a", "/", "web", NULL);
	expect_path("/", "/a", "///", "web", NULL);
	expect_path("/", "/a", "/a/../b", "web", NULL);
	expect_path("/", "/a", "x/./y", "web", NULL);
	expect_path("/", "/a", "../escape", "web", NULL);
	memset(long_name, 'n', 256);
	long_name[256] = '\0';
	expect_path("/", "/a", long_name, "web", NULL);
	long_name[250] = '\0';
	expect_path("/", "/a", NULL, long_name, NULL);   /* "skiff-" + 250 > 255 */
	long_name[249] = '\0';
	{
		char *want = xasprintf("/a/skiff-%s", long_name);

		expect_path("/", "/a", NULL, long_name, want);
		free(want);
	}
}

/* ---- layout ------------------------------------------------------------------------ */

#define MI_V2 "25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
#define MI_ROOT "1 0 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
#define MI_HYBRID \
	"30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n" \
	"31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw\n" \
	"32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd\n" \
	"35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory\n"
#define MI_V1 \
	"30 22 0:26 / /sys/fs/cgroup rw shared:9 - tmpfs tmpfs rw,mode=755\n" \
	"35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory\n"

static void test_layout_v2(void **state)
{
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_parse(MI_ROOT MI_V2, "0::/user.slice/user-1000.slice/session-2.scope\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_V2);
	assert_string_equal(l.mount, "/sys/fs/cgroup");
	assert_string_equal(l.mount_root, "/");
	assert_string_equal(l.own, "/user.slice/user-1000.slice/session-2.scope");
	cgroup_layout_clear(&l);

	/* In a cgroup namespace: our cgroup is its root. */
	cgroup_layout_parse(MI_V2, "0::/\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_V2);
	assert_string_equal(l.own, "/");
	cgroup_layout_clear(&l);

	/* No "0::" line: no own cgroup known. */
	cgroup_layout_parse(MI_V2, "1:name=systemd:/x\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_V2);
	assert_null(l.own);
	cgroup_layout_clear(&l);
}

static void test_layout_hybrid_v1_none(void **state)
{
	struct cgroup_layout l;

	(void)state;
	cgroup_layout_parse(MI_ROOT MI_HYBRID, "4:memory:/x\n1:name=systemd:/\n0::/\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_HYBRID);
	assert_string_equal(l.mount, "/sys/fs/cgroup/unified");
	assert_string_equal(l.own, "/");
	assert_string_equal(cgroup_mode_name(l.mode), "hybrid");
	cgroup_layout_clear(&l);

	cgroup_layout_parse(MI_ROOT MI_V1, "4:memory:/x\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_V1);
	assert_null(l.mount);
	assert_null(l.own);
	cgroup_layout_clear(&l);

	cgroup_layout_parse(MI_ROOT, "0::/\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_NONE);
	assert_null(l.mount);
	cgroup_layout_clear(&l);

	cgroup_layout_parse(NULL, NULL, &l);
	assert_int_equal(l.mode, CGROUP_MODE_NONE);
	cgroup_layout_clear(&l);
}

static void test_layout_subtree_and_escapes(void **state)
{
	struct cgroup_layout l;

	(void)state;
	/* A mount of a subtree (a container's bind of its own cgroup). */
	cgroup_layout_parse("40 1 0:22 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			    "0::/sub/job\n", &l);
	assert_string_equal(l.mount_root, "/sub");
	assert_string_equal(l.own, "/job");
	cgroup_layout_clear(&l);
	cgroup_layout_parse("40 1 0:22 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			    "0::/sub\n", &l);
	assert_string_equal(l.own, "/");
	cgroup_layout_clear(&l);
	/* Our cgroup is not under what the mount shows. */
	cgroup_layout_parse("40 1 0:22 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			    "0::/subway\n", &l);
	assert_null(l.own);
	cgroup_layout_clear(&l);
	/* mountinfo's octal escapes; /sys/fs/cgroup wins over other mounts. */
	cgroup_layout_parse("41 1 0:22 / /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n", "0::/a\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_V2);
	assert_string_equal(l.mount, "/mnt/cg x");
	cgroup_layout_clear(&l);
	cgroup_layout_parse("41 1 0:22 / /mnt/cg rw - cgroup2 cgroup2 rw\n" MI_V2
			    "42 1 0:22 / /mnt/other rw - cgroup2 cgroup2 rw\n", "0::/a\n", &l);
	assert_string_equal(l.mount, "/sys/fs/cgroup");
	cgroup_layout_clear(&l);
	/* Garbage lines are skipped. */
	cgroup_layout_parse("nonsense\n\n1 2 3\n" MI_V2, "0::/a\n", &l);
	assert_int_equal(l.mode, CGROUP_MODE_V2);
	cgroup_layout_clear(&l);
}

/* ---- what linux.resources needs ---------------------------------------------------- */

static struct spec_resources *resources(const char *json)
{
	struct skiff_error *err = NULL;
	struct spec_resources *r = NULL;

	if (spec_resources_parse(json, strlen(json), "test.json", &r, &err) < 0)
		fail_msg("%s: %s", json, err->msg);
	return r;
}

static void expect_needs(const char *json, int rc, unsigned mask, const char *err_id)
{
	struct spec_resources *r = resources(json);
	struct skiff_error *err = NULL;
	unsigned got = 99;

	assert_int_equal(cgroup_resources_needs(r, "config.json", &got, &err), rc);
	if (rc >= 0) {
		assert_null(err);
		assert_int_equal(got, mask);
	} else {
		assert_non_null(err);
		assert_string_equal(err->id, err_id);
		skiff_error_free(err);
	}
	spec_resources_free(r);
}

static void test_resources_needs(void **state)
{
	unsigned mask = 99;

	(void)state;
	assert_int_equal(cgroup_resources_needs(NULL, "x", &mask, NULL), 0);
	assert_int_equal(mask, 0);
	expect_needs("{}", 0, 0, NULL);
	/* Device rules are not limits. */
	expect_needs("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}", 0, 0, NULL);
	/* 0 is "not set", as in runc. */
	expect_needs("{\"pids\": {\"limit\": 0}, \"memory\": {\"limit\": 0}, "
		     "\"cpu\": {\"shares\": 0, \"cpus\": \"\"}}", 0, 0, NULL);
	/* 1024 is v1's default share (containerd always sets it): no limit. */
	expect_needs("{\"cpu\": {\"shares\": 1024}}", 0, 0, NULL);
	expect_needs("{\"memory\": {\"limit\": 33554432}}", 1, CG_MEMORY, NULL);
	expect_needs("{\"memory\": {\"limit\": -1, \"swap\": -1}}", 1, CG_MEMORY, NULL);
	expect_needs("{\"memory\": {\"disableOOMKiller\": false}}", 0, 0, NULL);
	expect_needs("{\"pids\": {\"limit\": 10}}", 1, CG_PIDS, NULL);
	expect_needs("{\"cpu\": {\"shares\": 512, \"cpus\": \"0\"}}", 1, CG_CPU | CG_CPUSET, NULL);
	expect_needs("{\"cpu\": {\"quota\": 20000, \"period\": 100000}}", 1, CG_CPU, NULL);
	expect_needs("{\"blockIO\": {\"throttleWriteBpsDevice\": [{\"major\": 254, \"minor\": 0, "
		     "\"rate\": 1048576}]}}", 1, CG_IO, NULL);
	expect_needs("{\"blockIO\": {\"weightDevice\": [{\"major\": 8, \"minor\": 0, "
		     "\"leafWeight\": 10}]}}", 0, 0, NULL);
	expect_needs("{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 0}]}", 1,
		     CG_HUGETLB, NULL);
	expect_needs("{\"unified\": {\"memory.high\": \"1G\", \"io.weight\": \"100\"}}", 1,
		     CG_MEMORY | CG_IO, NULL);
	/* A core file only: something to write, no controller. */
	expect_needs("{\"unified\": {\"cgroup.max.depth\": \"2\"}}", 1, 0, NULL);
	expect_needs("{\"unified\": {\"cgroup.procs\": \"1\"}}", -1, 0, "cgroup.unified_key");
	/* cgroup v1 only: refused, never dropped. */
	expect_needs("{\"memory\": {\"kernel\": 1000}}", -1, 0, "cgroup.unsupported");
	expect_needs("{\"memory\": {\"kernelTCP\": 1000}}", -1, 0, "cgroup.unsupported");
	expect_needs("{\"memory\": {\"swappiness\": 10}}", -1, 0, "cgroup.unsupported");
	expect_needs("{\"memory\": {\"disableOOMKiller\": true}}", -1, 0, "cgroup.unsupported");
	expect_needs("{\"cpu\": {\"realtimeRuntime\": 950000}}", -1, 0, "cgroup.unsupported");
	expect_needs("{\"blockIO\": {\"leafWeight\": 100}}", -1, 0, "cgroup.unsupported");
	expect_needs("{\"network\": {\"classID\": 1}}", -1, 0, "cgroup.unsupported");
	/* runc's "not set" swappiness is not a setting. */
	expect_needs("{\"memory\": {\"swappiness\": 18446744073709551615}}", 0, 0, NULL);
}

static void test_resources_parse_errors(void **state)
{
	struct skiff_error *err = NULL;
	struct spec_resources *r = NULL;
	const char *bad = "{\"memory\": {\"limit\": \"lots\"}}";

	(void)state;
	assert_int_equal(spec_resources_parse(bad, strlen(bad), "r.json", &r, &err), -1);
	assert_null(r);
	assert_string_equal(err->id, "spec.invalid");
	assert_non_null(strstr(err->msg, "r.json: resources.memory.limit"));
	skiff_error_free(err);
	err = NULL;
	assert_int_equal(spec_resources_parse("[1]", 3, "r.json", &r, &err), -1);
	assert_string_equal(err->id, "spec.invalid");
	skiff_error_free(err);
	err = NULL;
	assert_int_equal(spec_resources_parse("{", 1, "r.json", &r, &err), -1);
	assert_string_equal(err->id, "spec.parse");
	skiff_error_free(err);
	err = NULL;
	/* Parsed fully and kept: the memory+swap check of the spec parser. */
	bad = "{\"memory\": {\"limit\": 200, \"swap\": 100}}";
	assert_int_equal(spec_resources_parse(bad, strlen(bad), "r.json", &r, &err), -1);
	assert_non_null(strstr(err->msg, "resources.memory.swap"));
	skiff_error_free(err);
}

/* ---- writing: a directory of plain files stands in for the cgroup ------------------- */

struct fake {
	char dir[64];
	int fd;
};

static void fake_file(struct fake *f, const char *name, const char *content)
{
	int fd = openat(f->fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static char *fake_read(struct fake *f, const char *name)
{
	char *text = NULL;

	assert_int_equal(read_file_at(f->fd, name, 4096, &text, NULL, NULL), 0);
	return text;
}

/* The kernel replaces a value on each write; a plain file keeps the tail
 * of a longer one, here only ever a newline. */
static void expect_file(struct fake *f, const char *name, const char *want)
{
	char *got = fake_read(f, name);
	size_t n = strlen(got);

	while (n > 0 && got[n - 1] == '\n')
		got[--n] = '\0';

	assert_string_equal(got, want);
	free(got);
}

static int fake_setup(void **state)
{
	static const char *const files[] = {
		"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "pids.max",
		"cpuset.cpus", "cpuset.mems", "io.weight", "io.max", "cpu.max.burst",
		"memory.high", "hugetlb.2MB.max",
	};
	struct fake *f = xzalloc(sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/skiff-test-cgroup.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->fd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		fake_file(f, files[i], "");
	fake_file(f, "cpu.max", "max 100000\n");
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;
	_cleanup_error_ struct skiff_error *err = NULL;
	char *slash = strrchr(f->dir, '/');
	int parent;

	close(f->fd);
	*slash = '\0';
	parent = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(remove_tree_at(parent, slash + 1, &err), 0);
	close(parent);
	free(f);
	return 0;
}

static int apply(struct fake *f, const char *json, bool update, struct skiff_error **err)
{
	struct spec_resources *r = resources(json);
	int rc = cgroup_apply_resources(f->fd, f->dir, r, "config.json", update, err);

	spec_resources_free(r);
	return rc;
}

static void test_apply_create(void **state)
{
	struct fake *f = *state;
	struct skiff_error *err = NULL;

	assert_int_equal(apply(f, "{\"memory\": {\"limit\": 33554432, \"reservation\": 16777216, "
			       "\"swap\": 67108864}, \"cpu\": {\"shares\": 2048, \"quota\": 20000, "
			       "\"cpus\": \"0-1\", \"mems\": \"0\"}, \"pids\": {\"limit\": 10}, "
			       "\"blockIO\": {\"weight\": 500}, "
			       "\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}], "
			       "\"unified\": {\"memory.high\": \"30000000\"}}", false, &err), 0);
	assert_null(err);
	expect_file(f, "memory.max", "33554432");
	expect_file(f, "memory.low", "16777216");
	expect_file(f, "memory.swap.max", "33554432");
	expect_file(f, "cpu.weight", "79");
	expect_file(f, "cpu.max", "20000 100000");
	expect_file(f, "cpuset.cpus", "0-1");
	expect_file(f, "cpuset.mems", "0");
	expect_file(f, "pids.max", "10");
	expect_file(f, "io.weight", "4950");
	expect_file(f, "hugetlb.2MB.max", "4194304");
	expect_file(f, "memory.high", "30000000");
}

static void test_apply_update_merges(void **state)
{
	struct fake *f = *state;
	struct skiff_error *err = NULL;

	/* 1024 shares, v1's default: cpu.weight keeps its own default. */
	fake_file(f, "cpu.weight", "100\n");
	assert_int_equal(apply(f, "{\"cpu\": {\"shares\": 1024}}", true, &err), 0);
	expect_file(f, "cpu.weight", "100");
	/* Only the quota: the period in force stays. */
	fake_file(f, "cpu.max", "50000 200000\n");
	assert_int_equal(apply(f, "{\"cpu\": {\"quota\": 30000}}", true, &err), 0);
	expect_file(f, "cpu.max", "30000 200000");
	/* Only swap: converted against the memory limit in force. */
	fake_file(f, "memory.max", "33554432\n");
	assert_int_equal(apply(f, "{\"memory\": {\"swap\": 50331648}}", true, &err), 0);
	expect_file(f, "memory.swap.max", "16777216");
	/* Unlimited: "max". */
	fake_file(f, "pids.max", "");
	assert_int_equal(apply(f, "{\"pids\": {\"limit\": -1}}", true, &err), 0);
	expect_file(f, "pids.max", "max");
	/* Swap without any memory limit cannot be expressed. */
	fake_file(f, "memory.max", "max\n");
	assert_int_equal(apply(f, "{\"memory\": {\"swap\": 50331648}}", true, &err), -1);
	assert_string_equal(err->id, "cgroup.swap");
	skiff_error_free(err);
}

static void test_apply_missing_file(void **state)
{
	struct fake *f = *state;
	struct skiff_error *err = NULL;

	/* A file the kernel does not have: named, with the spec field. */
	assert_int_equal(apply(f, "{\"cpu\": {\"idle\": 1}}", false, &err), -1);
	assert_string_equal(err->id, "cgroup.unavailable");
	assert_non_null(strstr(err->msg, "linux.resources.cpu.idle"));
	assert_non_null(strstr(err->msg, "cpu.idle does not exist"));
	skiff_error_free(err);
	err = NULL;
	assert_int_equal(apply(f, "{\"hugepageLimits\": [{\"pageSize\": \"../x\", \"limit\": 1}]}",
			       false, &err), -1);
	assert_string_equal(err->id, "cgroup.write");
	skiff_error_free(err);
}

static void test_read_stats(void **state)
{
	struct fake *f = *state;
	struct skiff_error *err = NULL;
	struct container_stats s = { 0 };

	fake_file(f, "memory.current", "1048576\n");
	fake_file(f, "memory.max", "max\n");
	fake_file(f, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
	fake_file(f, "cpu.stat", "usage_usec 500\nuser_usec 300\nsystem_usec 200\n"
		  "nr_periods 10\nnr_throttled 7\nthrottled_usec 900\n");
	fake_file(f, "pids.current", "3\n");
	fake_file(f, "pids.max", "10\n");
	assert_int_equal(cgroup_read_stats(f->dir, &s, &err), 0);
	assert_true(s.has_memory);
	assert_int_equal(s.memory_current, 1048576);
	assert_true(s.memory_max == UINT64_MAX);
	assert_int_equal(s.oom, 2);
	assert_int_equal(s.oom_kill, 1);
	assert_int_equal(cgroup_oom_kills(f->dir), 1);
	assert_true(s.has_cpu);
	assert_int_equal(s.cpu_usage_usec, 500);
	assert_int_equal(s.cpu_nr_throttled, 7);
	assert_int_equal(s.cpu_throttled_usec, 900);
	assert_true(s.has_pids);
	assert_int_equal(s.pids_current, 3);
	assert_int_equal(s.pids_max, 10);
	assert_int_equal(cgroup_read_stats("/nonexistent/cgroup", &s, &err), -1);
	skiff_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_to_weight),
		cmocka_unit_test(test_blkio_to_io_weight),
		cmocka_unit_test(test_cpu_max_text),
		cmocka_unit_test(test_swap_max),
		cmocka_unit_test(test_keyed_value),
		cmocka_unit_test(test_controllers),
		cmocka_unit_test(test_unified_keys),
		cmocka_unit_test(test_resolve_path),
		cmocka_unit_test(test_layout_v2),
		cmocka_unit_test(test_layout_hybrid_v1_none),
		cmocka_unit_test(test_layout_subtree_and_escapes),
		cmocka_unit_test(test_resources_needs),
		cmocka_unit_test(test_resources_parse_errors),
		cmocka_unit_test_setup_teardown(test_apply_create, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_apply_update_merges, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_apply_missing_file, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_read_stats, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
