/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.resources -> cgroup v2 interface files.
 *
 * The runtime-spec speaks cgroup v1 (shares, memory+swap, blkio); the
 * conversions are those runc and crun apply, so that a spec means the same
 * under skiff.  Settings v2 has no file for (kernel memory, swappiness,
 * realtime cpu, net_cls, leaf weights) are refused, never dropped: a
 * container does not run without a limit it asked for. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime/cgroup-internal.h"
#include <skiff/util.h>

/* ---- controllers -------------------------------------------------------- */

static const char *const controller_names[] = {
	"cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
};

unsigned cgroup_controller_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(controller_names); i++)
		if (strlen(controller_names[i]) == len &&
		    strncmp(controller_names[i], name, len) == 0)
			return 1u << i;
	return 0;
}

unsigned cgroup_controllers_parse(const char *text)
{
	unsigned mask = 0;

	while (text != NULL && *text != '\0') {
		size_t n;

		text += strspn(text, " \t\n");
		n = strcspn(text, " \t\n");
		mask |= cgroup_controller_bit(text, n);
		text += n;
	}
	return mask;
}

const char *cgroup_controllers_text(unsigned mask, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(controller_names); i++) {
		if (!(mask & (1u << i)))
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
					controller_names[i]);
		if (len >= size)
			break;
	}
	return buf;
}

/* ---- pure conversions ---------------------------------------------------- */

uint64_t cgroup_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cgroup_blkio_to_io_weight(uint64_t weight)
{
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int cgroup_cpu_max_text(int64_t quota, uint64_t period, const char *current,
			char *out, size_t size)
{
	char cur_quota[32] = "max";
	unsigned long long cur_period = 100000;

	if (quota == 0 && period == 0)
		return 0;
	/* "max 100000" or "20000 100000": keep what is not asked. */
	if (current != NULL &&
	    sscanf(current, "%31s %llu", cur_quota, &cur_period) != 2) {
		snprintf(cur_quota, sizeof(cur_quota), "max");
		cur_period = 100000;
	}
	if (period != 0)
		cur_period = period;
	if (quota < 0)
		snprintf(out, size, "max %llu", cur_period);
	else if (quota > 0)
		snprintf(out, size, "%" PRId64 " %llu", quota, cur_period);
	else
		snprintf(out, size, "%s %llu", cur_quota, cur_period);
	return 1;
}

int cgroup_swap_max(int64_t memory_limit, int64_t swap, int64_t *out, const char **why)
{
	if (swap == 0)
		return 0;          /* runc: 0 is "not set" */
	if (swap < 0) {
		*out = -1;
		return 1;
	}
	if (memory_limit <= 0) {
		*why = "a swap limit (memory.swap, memory + swap in the runtime-spec) needs "
		       "a memory limit (memory.limit)";
		return -1;
	}
	if (swap < memory_limit) {
		*why = "memory.swap is memory + swap and cannot be below memory.limit";
		return -1;
	}
	*out = swap - memory_limit;
	return 1;
}

int cgroup_keyed_value(const char *text, const char *key, uint64_t *out)
{
	size_t n = strlen(key);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, key, n) == 0 && p[n] == ' ') {
			unsigned long long v;

			if (sscanf(p + n + 1, "%llu", &v) != 1)
				return -1;
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

int cgroup_unified_key_check(const char *key, const char *origin, unsigned *mask,
			     struct skiff_error **err)
{
	/* Core files that only bound the container itself; cgroup.procs,
	 * cgroup.kill, cgroup.subtree_control … would let a spec move or kill
	 * processes, or break the runtime's own use of the cgroup. */
	static const char *const core_ok[] = { "cgroup.max.depth", "cgroup.max.descendants" };
	const char *dot = strchr(key, '.');
	unsigned bit;

	*mask = 0;
	if (key[0] == '\0' || strchr(key, '/') != NULL || strcmp(key, ".") == 0 ||
	    strcmp(key, "..") == 0 || dot == NULL || dot == key || dot[1] == '\0')
		return skiff_error_set(err, 0, "cgroup.unified_key",
				       "%s: linux.resources.unified: \"%s\" is not a cgroup v2 "
				       "interface file name (expected CONTROLLER.FILE, such as "
				       "\"memory.high\", without '/')", origin, key);
	if (strncmp(key, "cgroup.", 7) == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(core_ok); i++)
			if (strcmp(key, core_ok[i]) == 0)
				return 0;
		return skiff_error_set(err, 0, "cgroup.unified_key",
				       "%s: linux.resources.unified: \"%s\" is a core file the "
				       "runtime manages itself; only cgroup.max.depth and "
				       "cgroup.max.descendants may be set", origin, key);
	}
	bit = cgroup_controller_bit(key, (size_t)(dot - key));
	if (bit == 0)
		return skiff_error_set(err, 0, "cgroup.unified_key",
				       "%s: linux.resources.unified: \"%s\" names no cgroup v2 "
				       "controller skiff knows (cpu, cpuset, io, memory, pids, "
				       "hugetlb, rdma, misc)", origin, key);
	*mask = bit;
	return 0;
}

static int v1_only(struct skiff_error **err, const char *origin, const char *field,
		   const char *what)
{
	return skiff_error_set(err, 0, "cgroup.unsupported",
			       "%s: linux.resources.%s: %s exist only in cgroup v1, and skiff "
			       "applies limits through cgroup v2: remove it", origin, field, what);
}

/* 1024 is cgroup v1's default share, what every cgroup has unasked:
 * containerd writes it into every spec.  It asks for no limit, so it needs
 * no cgroup (a hybrid host could not run any ctr container otherwise), and
 * writing nothing leaves cpu.weight at its default 100, the same relative
 * weight that 1024 shares mean. */
static bool cpu_shares_set(const struct spec_resources *r)
{
	return r->has_cpu_shares && r->cpu_shares != 0 && r->cpu_shares != 1024;
}

int cgroup_resources_needs(const struct spec_resources *r, const char *origin,
			   unsigned *mask, struct skiff_error **err)
{
	unsigned m = 0;
	bool any = false;

	*mask = 0;
	if (r == NULL)
		return 0;
	if (r->has_memory_kernel)
		return v1_only(err, origin, "memory.kernel", "kernel memory limits");
	if (r->has_memory_kernel_tcp)
		return v1_only(err, origin, "memory.kernelTCP", "kernel TCP memory limits");
	if (r->has_memory_swappiness)
		return v1_only(err, origin, "memory.swappiness", "per-cgroup swappiness settings");
	if (r->memory_disable_oom_killer)
		return v1_only(err, origin, "memory.disableOOMKiller", "switches of the OOM killer");
	if (r->has_cpu_realtime_runtime && r->cpu_realtime_runtime != 0)
		return v1_only(err, origin, "cpu.realtimeRuntime", "realtime cpu budgets");
	if (r->has_cpu_realtime_period && r->cpu_realtime_period != 0)
		return v1_only(err, origin, "cpu.realtimePeriod", "realtime cpu budgets");
	if (r->has_blkio_leaf_weight && r->blkio_leaf_weight != 0)
		return v1_only(err, origin, "blockIO.leafWeight", "leaf weights");
	if (r->has_network_class_id || r->n_network_priorities > 0)
		return v1_only(err, origin, "network", "net_cls and net_prio settings");

	/* 0 means "not set" for these, as in runc. */
	if ((r->has_memory_limit && r->memory_limit != 0) ||
	    (r->has_memory_reservation && r->memory_reservation != 0) ||
	    (r->has_memory_swap && r->memory_swap != 0))
		m |= CG_MEMORY;
	if (cpu_shares_set(r) ||
	    (r->has_cpu_quota && r->cpu_quota != 0) ||
	    (r->has_cpu_period && r->cpu_period != 0) || r->has_cpu_burst || r->has_cpu_idle)
		m |= CG_CPU;
	if ((r->cpu_cpus != NULL && r->cpu_cpus[0] != '\0') ||
	    (r->cpu_mems != NULL && r->cpu_mems[0] != '\0'))
		m |= CG_CPUSET;
	if (r->has_pids_limit && r->pids_limit != 0)
		m |= CG_PIDS;
	if ((r->has_blkio_weight && r->blkio_weight != 0) || r->n_throttle_read_bps > 0 ||
	    r->n_throttle_write_bps > 0 || r->n_throttle_read_iops > 0 ||
	    r->n_throttle_write_iops > 0)
		m |= CG_IO;
	for (size_t i = 0; i < r->n_blkio_weight_device; i++)
		if (r->blkio_weight_device[i].has_weight)
			m |= CG_IO;
	if (r->n_hugepage_limits > 0)
		m |= CG_HUGETLB;
	if (r->n_rdma > 0)
		m |= CG_RDMA;
	any = m != 0;
	for (size_t i = 0; i < r->n_unified; i++) {
		unsigned bit;

		if (cgroup_unified_key_check(r->unified[i].key, origin, &bit, err) < 0)
			return -1;
		m |= bit;
		any = true;
	}
	*mask = m;
	return any ? 1 : 0;
}

/* ---- writing -------------------------------------------------------------- */

struct writer {
	int dirfd;
	const char *path;        /* of the cgroup, for messages */
	const char *origin;
	struct skiff_error **err;
};

static int put(struct writer *w, const char *file, const char *value, const char *field)
{
	_cleanup_close_ int fd = openat(w->dirfd, file, O_WRONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return skiff_error_set(w->err, 0, "cgroup.unavailable",
					       "%s: linux.resources.%s: %s/%s does not exist: "
					       "this kernel or its configuration lacks it",
					       w->origin, field, w->path, file);
		return skiff_error_set(w->err, errno, "cgroup.write",
				       "%s: linux.resources.%s: cannot open %s/%s",
				       w->origin, field, w->path, file);
	}
	if (write_all(fd, value, strlen(value)) < 0)
		return skiff_error_set(w->err, errno, "cgroup.write",
				       "%s: linux.resources.%s: the kernel refused \"%s\" in %s/%s",
				       w->origin, field, value, w->path, file);
	return 0;
}

static int put_i64(struct writer *w, const char *file, int64_t v, const char *field)
{
	char buf[32];

	if (v < 0)
		snprintf(buf, sizeof(buf), "max");
	else
		snprintf(buf, sizeof(buf), "%" PRId64, v);
	return put(w, file, buf, field);
}

static char *read_cg(int dirfd, const char *file)
{
	char *text = NULL;

	if (read_file_at(dirfd, file, 1 << 16, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

/* The memory limit in force: asked now, else memory.max (-1 for max). */
static int64_t memory_limit_in_force(struct writer *w, const struct spec_resources *r)
{
	_cleanup_free_ char *cur = NULL;
	long long v;

	if (r->has_memory_limit && r->memory_limit != 0)
		return r->memory_limit;
	cur = read_cg(w->dirfd, "memory.max");
	if (cur == NULL || sscanf(cur, "%lld", &v) != 1)
		return -1;
	return v;
}

/* Swap accounting can be compiled out or off (swapaccount=0): without
 * memory.swap.max a swap limit holds anyway only when there is no swap. */
static bool host_has_swap(void)
{
	_cleanup_free_ char *swaps = NULL;

	if (read_file_at(AT_FDCWD, "/proc/swaps", 1 << 20, &swaps, NULL, NULL) < 0)
		return true;
	return strchr(swaps, '\n') != NULL && strchr(swaps, '\n')[1] != '\0';
}

static int write_memory(struct writer *w, const struct spec_resources *r, bool update)
{
	if (update && r->memory_check_before_update &&
	    ((r->has_memory_limit && r->memory_limit > 0))) {
		_cleanup_free_ char *cur = read_cg(w->dirfd, "memory.current");
		unsigned long long used;

		if (cur != NULL && sscanf(cur, "%llu", &used) == 1 &&
		    (unsigned long long)r->memory_limit <= used)
			return skiff_error_set(w->err, 0, "cgroup.update",
					       "%s: linux.resources.memory.limit %" PRId64 " is not "
					       "above the container's current use (%llu bytes), and "
					       "checkBeforeUpdate is set", w->origin,
					       r->memory_limit, used);
	}
	if (r->has_memory_limit && r->memory_limit != 0 &&
	    put_i64(w, "memory.max", r->memory_limit, "memory.limit") < 0)
		return -1;
	if (r->has_memory_swap && r->memory_swap != 0) {
		const char *why = NULL;
		int64_t swap = 0;
		int rc = cgroup_swap_max(memory_limit_in_force(w, r), r->memory_swap, &swap, &why);

		if (rc < 0)
			return skiff_error_set(w->err, 0, "cgroup.swap",
					       "%s: linux.resources.memory.swap: %s", w->origin, why);
		if (faccessat(w->dirfd, "memory.swap.max", F_OK, 0) < 0 && errno == ENOENT &&
		    !host_has_swap())
			log_debug("no memory.swap.max and no swap: memory.swap holds as it is");
		else if (put_i64(w, "memory.swap.max", swap, "memory.swap") < 0)
			return -1;
	}
	if (r->has_memory_reservation && r->memory_reservation != 0 &&
	    put_i64(w, "memory.low", r->memory_reservation, "memory.reservation") < 0)
		return -1;
	return 0;
}

static int write_cpu(struct writer *w, const struct spec_resources *r)
{
	char buf[64];

	if (cpu_shares_set(r)) {
		snprintf(buf, sizeof(buf), "%" PRIu64, cgroup_shares_to_weight(r->cpu_shares));
		if (put(w, "cpu.weight", buf, "cpu.shares") < 0)
			return -1;
	}
	if ((r->has_cpu_quota && r->cpu_quota != 0) || (r->has_cpu_period && r->cpu_period != 0)) {
		_cleanup_free_ char *cur = read_cg(w->dirfd, "cpu.max");

		cgroup_cpu_max_text(r->has_cpu_quota ? r->cpu_quota : 0,
				    r->has_cpu_period ? r->cpu_period : 0, cur, buf, sizeof(buf));
		if (put(w, "cpu.max", buf, "cpu.quota / cpu.period") < 0)
			return -1;
	}
	if (r->has_cpu_burst) {
		snprintf(buf, sizeof(buf), "%" PRIu64, r->cpu_burst);
		if (put(w, "cpu.max.burst", buf, "cpu.burst") < 0)
			return -1;
	}
	if (r->has_cpu_idle) {
		snprintf(buf, sizeof(buf), "%" PRId64, r->cpu_idle);
		if (put(w, "cpu.idle", buf, "cpu.idle") < 0)
			return -1;
	}
	if (r->cpu_cpus != NULL && r->cpu_cpus[0] != '\0' &&
	    put(w, "cpuset.cpus", r->cpu_cpus, "cpu.cpus") < 0)
		return -1;
	if (r->cpu_mems != NULL && r->cpu_mems[0] != '\0' &&
	    put(w, "cpuset.mems", r->cpu_mems, "cpu.mems") < 0)
		return -1;
	return 0;
}

static int write_throttle(struct writer *w, const struct spec_throttle_device *d, size_t n,
			  const char *key, const char *field)
{
	for (size_t i = 0; i < n; i++) {
		char buf[96];

		snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
			 d[i].major, d[i].minor, key, d[i].rate);
		if (put(w, "io.max", buf, field) < 0)
			return -1;
	}
	return 0;
}

/* BFQ keeps the v1 scale (1..1000) in io.bfq.weight; without BFQ, io.weight
 * (1..10000) is the cost model's, converted as crun does. */
static int write_io_weight(struct writer *w, const char *dev, uint64_t weight,
			   const char *field)
{
	char buf[96];
	bool bfq = faccessat(w->dirfd, "io.bfq.weight", F_OK, 0) == 0;

	snprintf(buf, sizeof(buf), "%s%s%" PRIu64, dev ? dev : "", dev ? " " : "",
		 bfq ? weight : cgroup_blkio_to_io_weight(weight));
	return put(w, bfq ? "io.bfq.weight" : "io.weight", buf, field);
}

static int write_io(struct writer *w, const struct spec_resources *r)
{
	if (r->has_blkio_weight && r->blkio_weight != 0 &&
	    write_io_weight(w, NULL, r->blkio_weight, "blockIO.weight") < 0)
		return -1;
	for (size_t i = 0; i < r->n_blkio_weight_device; i++) {
		const struct spec_weight_device *d = &r->blkio_weight_device[i];
		char dev[48];

		if (!d->has_weight)
			continue;
		snprintf(dev, sizeof(dev), "%" PRId64 ":%" PRId64, d->major, d->minor);
		if (write_io_weight(w, dev, d->weight, "blockIO.weightDevice") < 0)
			return -1;
	}
	return write_throttle(w, r->throttle_read_bps, r->n_throttle_read_bps, "rbps",
			      "blockIO.throttleReadBpsDevice") < 0 ||
	       write_throttle(w, r->throttle_write_bps, r->n_throttle_write_bps, "wbps",
			      "blockIO.throttleWriteBpsDevice") < 0 ||
	       write_throttle(w, r->throttle_read_iops, r->n_throttle_read_iops, "riops",
			      "blockIO.throttleReadIOPSDevice") < 0 ||
	       write_throttle(w, r->throttle_write_iops, r->n_throttle_write_iops, "wiops",
			      "blockIO.throttleWriteIOPSDevice") < 0 ? -1 : 0;
}

static int write_rdma(struct writer *w, const struct spec_resources *r)
{
	for (size_t i = 0; i < r->n_rdma; i++) {
		json_t *o = json_loads(r->rdma[i].value, 0, NULL);
		json_t *h = json_object_get(o, "hcaHandles"), *b = json_object_get(o, "hcaObjects");
		_cleanup_free_ char *line = NULL;
		int rc;

		line = xstrdup(r->rdma[i].key);
		if (json_is_integer(h)) {
			char *l = xasprintf("%s hca_handle=%" JSON_INTEGER_FORMAT, line,
					    json_integer_value(h));
			free(line);
			line = l;
		}
		if (json_is_integer(b)) {
			char *l = xasprintf("%s hca_object=%" JSON_INTEGER_FORMAT, line,
					    json_integer_value(b));
			free(line);
			line = l;
		}
		json_decref(o);
		rc = put(w, "rdma.max", line, "rdma");
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Written as given, one line at a time: io.max and friends take one
 * device per write. */
static int write_unified(struct writer *w, const struct spec_resources *r)
{
	for (size_t i = 0; i < r->n_unified; i++) {
		_cleanup_free_ char *copy = xstrdup(r->unified[i].value);
		_cleanup_free_ char *field = xasprintf("unified.%s", r->unified[i].key);
		char *save = NULL;

		if (copy[0] == '\0')
			continue;
		for (char *line = strtok_r(copy, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			if (put(w, r->unified[i].key, line, field) < 0)
				return -1;
	}
	return 0;
}

int cgroup_apply_resources(int dirfd, const char *path, const struct spec_resources *r,
			   const char *origin, bool update, struct skiff_error **err)
{
	struct writer w = { .dirfd = dirfd, .path = path, .origin = origin, .err = err };

	if (r == NULL)
		return 0;
	if (write_memory(&w, r, update) < 0 || write_cpu(&w, r) < 0)
		return -1;
	if (r->has_pids_limit && r->pids_limit != 0 &&
	    put_i64(&w, "pids.max", r->pids_limit, "pids.limit") < 0)
		return -1;
	if (write_io(&w, r) < 0)
		return -1;
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct spec_hugepage_limit *h = &r->hugepage_limits[i];
		_cleanup_free_ char *file = NULL;
		char buf[32];

		if (strchr(h->page_size, '/') != NULL || h->page_size[0] == '.')
			return skiff_error_set(err, 0, "cgroup.write",
					       "%s: linux.resources.hugepageLimits: \"%s\" is not "
					       "a page size such as \"2MB\"", origin, h->page_size);
		file = xasprintf("hugetlb.%s.max", h->page_size);
		snprintf(buf, sizeof(buf), "%" PRIu64, h->limit);
		if (put(&w, file, buf, "hugepageLimits") < 0)
			return -1;
	}
	/* The unified map last: it is the v2-native way to say anything, and
	 * wins over the converted v1 fields, as in crun. */
	if (write_rdma(&w, r) < 0 || write_unified(&w, r) < 0)
		return -1;
	return 0;
}
