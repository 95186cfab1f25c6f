/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The "linux" section: namespaces, id mappings, devices, resources,
 * seccomp and the rest, checked as far as runc and crun check them before
 * touching the kernel. */
#include <inttypes.h>
#include <string.h>

#include "runtime/spec-internal.h"

/* ---- namespaces and id mappings ------------------------------------------ */

static int parse_namespaces(struct spec_parser *p, json_t *lx, struct spec_linux *l)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, lx, "namespaces", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	l->namespaces = xzalloc((json_array_size(a) + 1) * sizeof(*l->namespaces));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_namespace *ns = &l->namespaces[i];
		_cleanup_free_ char *type = NULL;
		int t;

		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		if (sp_string(p, e, "type", true, &type) < 0)
			return -1;
		for (t = 0; t < SPEC_NS__COUNT; t++)
			if (strcmp(type, spec_ns_type_name(t)) == 0)
				break;
		if (t == SPEC_NS__COUNT)
			return sp_fail_key(p, "type", "unknown namespace type \"%s\" (expected "
					   "pid, network, mount, ipc, uts, user, cgroup or time)",
					   type);
		for (size_t j = 0; j < i; j++)
			if (l->namespaces[j].type == (enum spec_ns_type)t)
				return sp_fail_key(p, "type", "the %s namespace is already given "
						   "by linux.namespaces[%zu]", type, j);
		ns->type = t;
		l->n_namespaces = i + 1;
		if (sp_string(p, e, "path", false, &ns->path) < 0 ||
		    (ns->path != NULL && sp_absolute(p, "path", ns->path) < 0))
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

static bool ranges_overlap(uint32_t a, uint32_t a_size, uint32_t b, uint32_t b_size)
{
	return (uint64_t)a < (uint64_t)b + b_size && (uint64_t)b < (uint64_t)a + a_size;
}

static int parse_id_mapping(struct spec_parser *p, json_t *e, struct spec_id_mapping *v,
			    size_t i)
{
	struct spec_id_mapping *m = &v[i];
	int64_t size = 0;

	if (!json_is_object(e))
		return sp_fail_type(p, NULL, e, "an object");
	if (sp_u32(p, e, "containerID", true, NULL, &m->container_id) < 0 ||
	    sp_u32(p, e, "hostID", true, NULL, &m->host_id) < 0 ||
	    sp_int(p, e, "size", true, 1, UINT32_MAX, NULL, &size) < 0)
		return -1;
	m->size = (uint32_t)size;
	if ((uint64_t)m->container_id + m->size - 1 > UINT32_MAX ||
	    (uint64_t)m->host_id + m->size - 1 > UINT32_MAX)
		return sp_fail_key(p, "size", "the range goes beyond id 4294967295");
	/* The kernel refuses overlapping extents on either side. */
	for (size_t j = 0; j < i; j++) {
		if (ranges_overlap(m->container_id, m->size, v[j].container_id, v[j].size))
			return sp_fail(p, "container ids %" PRIu32 "-%" PRIu64 " overlap "
				       "those of entry [%zu]", m->container_id,
				       (uint64_t)m->container_id + m->size - 1, j);
		if (ranges_overlap(m->host_id, m->size, v[j].host_id, v[j].size))
			return sp_fail(p, "host ids %" PRIu32 "-%" PRIu64 " overlap "
				       "those of entry [%zu]", m->host_id,
				       (uint64_t)m->host_id + m->size - 1, j);
	}
	return 0;
}

int spec_parse_id_mappings(struct spec_parser *p, json_t *obj, const char *key,
			   struct spec_id_mapping **out, size_t *n)
{
	_cleanup_free_ struct spec_id_mapping *v = NULL;
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, obj, key, JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	v = xzalloc((json_array_size(a) + 1) * sizeof(*v));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		if (parse_id_mapping(p, e, v, i) < 0)
			return -1;
	}
	sp_pop(p, mark);
	*out = steal_pointer(&v);
	*n = json_array_size(a);
	return 0;
}

/* ---- devices ------------------------------------------------------------- */

static int parse_device(struct spec_parser *p, json_t *e, struct spec_device *d)
{
	_cleanup_free_ char *type = NULL;

	if (!json_is_object(e))
		return sp_fail_type(p, NULL, e, "an object");
	if (sp_string(p, e, "path", true, &d->path) < 0 ||
	    sp_absolute(p, "path", d->path) < 0 ||
	    sp_string(p, e, "type", true, &type) < 0)
		return -1;
	if (strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
		return sp_fail_key(p, "type", "unknown device type \"%s\" (expected c, b, u or p)",
				   type);
	d->type = type[0];
	if (d->type != 'p') {
		if (sp_member(e, "major") == NULL)
			return sp_fail_key(p, "major", "missing (a %c device needs major and minor "
					   "numbers)", d->type);
		if (sp_member(e, "minor") == NULL)
			return sp_fail_key(p, "minor", "missing (a %c device needs major and minor "
					   "numbers)", d->type);
	}
	if (sp_int(p, e, "major", false, 0, UINT32_MAX, &d->has_major_minor, &d->major) < 0 ||
	    sp_int(p, e, "minor", false, 0, UINT32_MAX, &d->has_major_minor, &d->minor) < 0 ||
	    sp_u32(p, e, "fileMode", false, &d->has_file_mode, &d->file_mode) < 0 ||
	    sp_u32(p, e, "uid", false, &d->has_uid, &d->uid) < 0 ||
	    sp_u32(p, e, "gid", false, &d->has_gid, &d->gid) < 0)
		return -1;
	return 0;
}

static int parse_devices(struct spec_parser *p, json_t *lx, struct spec_linux *l)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, lx, "devices", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	l->devices = xzalloc((json_array_size(a) + 1) * sizeof(*l->devices));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		l->n_devices = i + 1;
		if (parse_device(p, e, &l->devices[i]) < 0)
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

/* ---- resources ----------------------------------------------------------- */

static int parse_device_rules(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, res, "devices", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	r->devices = xzalloc((json_array_size(a) + 1) * sizeof(*r->devices));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_device_cgroup *d = &r->devices[i];
		_cleanup_free_ char *type = NULL;

		r->n_devices = i + 1;
		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		if (sp_bool(p, e, "allow", &d->allow) < 0 ||
		    sp_string(p, e, "type", false, &type) < 0 ||
		    sp_int(p, e, "major", false, -1, INT64_MAX, &d->has_major, &d->major) < 0 ||
		    sp_int(p, e, "minor", false, -1, INT64_MAX, &d->has_minor, &d->minor) < 0 ||
		    sp_string(p, e, "access", false, &d->access) < 0)
			return -1;
		if (type != NULL && type[0] != '\0' &&
		    (strlen(type) != 1 || strchr("acb", type[0]) == NULL))
			return sp_fail_key(p, "type", "unknown device type \"%s\" (expected a, c "
					   "or b)", type);
		d->type = type != NULL ? type[0] : 0;
		if (d->access != NULL && strspn(d->access, "rwm") != strlen(d->access))
			return sp_fail_key(p, "access", "\"%s\" is not made of r, w and m",
					   d->access);
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_memory(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, res, "memory", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	/* -1 is "unlimited"; other negative values mean nothing. */
	if (sp_int(p, o, "limit", false, -1, INT64_MAX, &r->has_memory_limit,
		   &r->memory_limit) < 0 ||
	    sp_int(p, o, "reservation", false, -1, INT64_MAX, &r->has_memory_reservation,
		   &r->memory_reservation) < 0 ||
	    sp_int(p, o, "swap", false, -1, INT64_MAX, &r->has_memory_swap,
		   &r->memory_swap) < 0 ||
	    sp_int(p, o, "kernel", false, -1, INT64_MAX, &r->has_memory_kernel,
		   &r->memory_kernel) < 0 ||
	    sp_int(p, o, "kernelTCP", false, -1, INT64_MAX, &r->has_memory_kernel_tcp,
		   &r->memory_kernel_tcp) < 0 ||
	    sp_u64(p, o, "swappiness", false, &r->has_memory_swappiness,
		   &r->memory_swappiness) < 0 ||
	    sp_bool(p, o, "disableOOMKiller", &r->memory_disable_oom_killer) < 0 ||
	    sp_bool(p, o, "useHierarchy", &r->memory_use_hierarchy) < 0 ||
	    sp_bool(p, o, "checkBeforeUpdate", &r->memory_check_before_update) < 0)
		return -1;
	r->has_memory_disable_oom_killer = sp_member(o, "disableOOMKiller") != NULL;
	r->has_memory_use_hierarchy = sp_member(o, "useHierarchy") != NULL;
	r->has_memory_check_before_update = sp_member(o, "checkBeforeUpdate") != NULL;
	/* runc reads uint64(-1) as "not set"; the kernel takes 0 to 100. */
	if (r->has_memory_swappiness && r->memory_swappiness == UINT64_MAX)
		r->has_memory_swappiness = false;
	else if (r->has_memory_swappiness && r->memory_swappiness > 100)
		return sp_fail_key(p, "swappiness", "expected an integer from 0 to 100 (got %"
				   PRIu64 ")", r->memory_swappiness);
	/* Both runc and crun refuse this, on cgroup v1 and v2 alike. */
	if (r->has_memory_limit && r->has_memory_swap && r->memory_limit > 0 &&
	    r->memory_swap > 0 && r->memory_swap < r->memory_limit)
		return sp_fail_key(p, "swap", "memory+swap limit %" PRId64 " is below the "
				   "memory limit %" PRId64, r->memory_swap, r->memory_limit);
	sp_pop(p, mark);
	return 0;
}

static int parse_cpu(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, res, "cpu", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	if (sp_u64(p, o, "shares", false, &r->has_cpu_shares, &r->cpu_shares) < 0 ||
	    sp_int(p, o, "quota", false, -1, INT64_MAX, &r->has_cpu_quota, &r->cpu_quota) < 0 ||
	    sp_u64(p, o, "burst", false, &r->has_cpu_burst, &r->cpu_burst) < 0 ||
	    sp_u64(p, o, "period", false, &r->has_cpu_period, &r->cpu_period) < 0 ||
	    sp_int(p, o, "realtimeRuntime", false, INT64_MIN, INT64_MAX,
		   &r->has_cpu_realtime_runtime, &r->cpu_realtime_runtime) < 0 ||
	    sp_u64(p, o, "realtimePeriod", false, &r->has_cpu_realtime_period,
		   &r->cpu_realtime_period) < 0 ||
	    sp_string(p, o, "cpus", false, &r->cpu_cpus) < 0 ||
	    sp_string(p, o, "mems", false, &r->cpu_mems) < 0 ||
	    sp_int(p, o, "idle", false, INT64_MIN, INT64_MAX, &r->has_cpu_idle,
		   &r->cpu_idle) < 0)
		return -1;
	/* cgroup v1's bounds, which runc enforces; 0 means "not set". */
	if (r->has_cpu_shares && r->cpu_shares != 0 &&
	    (r->cpu_shares < 2 || r->cpu_shares > 262144))
		return sp_fail_key(p, "shares", "expected 0 (not set) or an integer from 2 to "
				   "262144 (got %" PRIu64 ")", r->cpu_shares);
	sp_pop(p, mark);
	return 0;
}

static int parse_weight_devices(struct spec_parser *p, json_t *o, struct spec_resources *r)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, o, "weightDevice", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	r->blkio_weight_device = xzalloc((json_array_size(a) + 1) * sizeof(*r->blkio_weight_device));
	r->n_blkio_weight_device = json_array_size(a);
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_weight_device *d = &r->blkio_weight_device[i];
		int64_t w = 0, lw = 0;

		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		if (sp_int(p, e, "major", true, 0, INT64_MAX, NULL, &d->major) < 0 ||
		    sp_int(p, e, "minor", true, 0, INT64_MAX, NULL, &d->minor) < 0 ||
		    sp_int(p, e, "weight", false, 0, UINT16_MAX, &d->has_weight, &w) < 0 ||
		    sp_int(p, e, "leafWeight", false, 0, UINT16_MAX, &d->has_leaf_weight, &lw) < 0)
			return -1;
		/* config-linux.md: an entry has at least one of them. */
		if (!d->has_weight && !d->has_leaf_weight)
			return sp_fail(p, "expected \"weight\" or \"leafWeight\", or both");
		d->weight = (uint16_t)w;
		d->leaf_weight = (uint16_t)lw;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_throttle(struct spec_parser *p, json_t *o, const char *key,
			  struct spec_throttle_device **out, size_t *n)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, o, key, JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	*out = xzalloc((json_array_size(a) + 1) * sizeof(**out));
	*n = json_array_size(a);
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_throttle_device *d = &(*out)[i];

		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		if (sp_int(p, e, "major", true, 0, INT64_MAX, NULL, &d->major) < 0 ||
		    sp_int(p, e, "minor", true, 0, INT64_MAX, NULL, &d->minor) < 0 ||
		    sp_u64(p, e, "rate", true, NULL, &d->rate) < 0)
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_blkio(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *o;
	int64_t w = 0, lw = 0;
	size_t mark;
	int rc;

	rc = sp_enter(p, res, "blockIO", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	if (sp_int(p, o, "weight", false, 0, UINT16_MAX, &r->has_blkio_weight, &w) < 0 ||
	    sp_int(p, o, "leafWeight", false, 0, UINT16_MAX, &r->has_blkio_leaf_weight, &lw) < 0 ||
	    parse_weight_devices(p, o, r) < 0 ||
	    parse_throttle(p, o, "throttleReadBpsDevice", &r->throttle_read_bps,
			   &r->n_throttle_read_bps) < 0 ||
	    parse_throttle(p, o, "throttleWriteBpsDevice", &r->throttle_write_bps,
			   &r->n_throttle_write_bps) < 0 ||
	    parse_throttle(p, o, "throttleReadIOPSDevice", &r->throttle_read_iops,
			   &r->n_throttle_read_iops) < 0 ||
	    parse_throttle(p, o, "throttleWriteIOPSDevice", &r->throttle_write_iops,
			   &r->n_throttle_write_iops) < 0)
		return -1;
	r->blkio_weight = (uint16_t)w;
	r->blkio_leaf_weight = (uint16_t)lw;
	sp_pop(p, mark);
	return 0;
}

static int parse_hugepages(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, res, "hugepageLimits", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	r->hugepage_limits = xzalloc((json_array_size(a) + 1) * sizeof(*r->hugepage_limits));
	r->n_hugepage_limits = json_array_size(a);
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_hugepage_limit *h = &r->hugepage_limits[i];

		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		if (sp_string(p, e, "pageSize", true, &h->page_size) < 0 ||
		    sp_u64(p, e, "limit", true, NULL, &h->limit) < 0)
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_network(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *o, *a, *e;
	size_t i, mark, inner;
	int rc;

	rc = sp_enter(p, res, "network", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	if (sp_u32(p, o, "classID", false, &r->has_network_class_id, &r->network_class_id) < 0)
		return -1;
	rc = sp_enter(p, o, "priorities", JSON_ARRAY, &a, &inner);
	if (rc <= 0) {
		sp_pop(p, mark);
		return rc;
	}
	r->network_priorities = xzalloc((json_array_size(a) + 1) * sizeof(struct spec_kv));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_kv *kv = &r->network_priorities[i];
		uint32_t prio = 0;

		r->n_network_priorities = i + 1;
		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		if (sp_string(p, e, "name", true, &kv->key) < 0 ||
		    sp_u32(p, e, "priority", true, NULL, &prio) < 0)
			return -1;
		kv->value = xasprintf("%" PRIu32, prio);
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_rdma(struct spec_parser *p, json_t *res, struct spec_resources *r)
{
	json_t *o, *v;
	const char *k;
	size_t mark;
	int rc;

	rc = sp_enter(p, res, "rdma", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	r->rdma = xzalloc((json_object_size(o) + 1) * sizeof(*r->rdma));
	json_object_foreach(o, k, v) {
		struct spec_kv *kv = &r->rdma[r->n_rdma];
		size_t m;
		uint32_t n = 0;

		if (!json_is_object(v))
			return sp_fail_type(p, k, v, "an object");
		m = sp_push_key(p, k);
		if (sp_u32(p, v, "hcaHandles", false, NULL, &n) < 0 ||
		    sp_u32(p, v, "hcaObjects", false, NULL, &n) < 0)
			return -1;
		kv->key = xstrdup(k);
		kv->value = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (kv->value == NULL)
			abort();
		r->n_rdma++;
		sp_pop(p, m);
	}
	sp_pop(p, mark);
	return 0;
}

int spec_parse_resources(struct spec_parser *p, json_t *lx, struct spec_linux *l)
{
	struct spec_resources *r;
	json_t *o, *pids;
	size_t mark;
	int rc;

	rc = sp_enter(p, lx, "resources", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	r = l->resources = xzalloc(sizeof(*r));
	if (parse_device_rules(p, o, r) < 0 || parse_memory(p, o, r) < 0 ||
	    parse_cpu(p, o, r) < 0 || sp_object(p, o, "pids", false, &pids) < 0)
		return -1;
	if (pids != NULL) {
		size_t m = sp_push_key(p, "pids");

		if (sp_int(p, pids, "limit", false, -1, INT64_MAX, &r->has_pids_limit,
			   &r->pids_limit) < 0)
			return -1;
		sp_pop(p, m);
	}
	if (parse_blkio(p, o, r) < 0 || parse_hugepages(p, o, r) < 0 ||
	    parse_network(p, o, r) < 0 || parse_rdma(p, o, r) < 0 ||
	    sp_kv(p, o, "unified", &r->unified, &r->n_unified) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

void spec_resources_free(struct spec_resources *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->cpu_cpus);
	free(r->cpu_mems);
	free(r->blkio_weight_device);
	free(r->throttle_read_bps);
	free(r->throttle_write_bps);
	free(r->throttle_read_iops);
	free(r->throttle_write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	spec_kv_free(r->network_priorities, r->n_network_priorities);
	spec_kv_free(r->rdma, r->n_rdma);
	spec_kv_free(r->unified, r->n_unified);
	free(r);
}

/* ---- seccomp: names checked here, the filter is built by libseccomp later */

static const char *const seccomp_actions[] = {
	"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
	"SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", NULL,
};

static const char *const seccomp_ops[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

/* Every architecture libseccomp 2.6 can resolve. */
static const char *const seccomp_archs[] = {
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
	"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
	"SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
	"SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
	"SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_SH",
	"SCMP_ARCH_SHEB", NULL,
};

static const char *const seccomp_flags[] = {
	"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};

const char *const *spec_seccomp_names(enum spec_seccomp_names which)
{
	switch (which) {
	case SPEC_SECCOMP_ACTIONS: return seccomp_actions;
	case SPEC_SECCOMP_OPS: return seccomp_ops;
	case SPEC_SECCOMP_ARCHS: return seccomp_archs;
	case SPEC_SECCOMP_FLAGS: break;
	}
	return seccomp_flags;
}

static bool in_list(const char *const *list, const char *name)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static int check_names(struct spec_parser *p, const char *key, char **names,
		       const char *const *list, const char *what)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		if (!in_list(list, names[i]))
			return sp_fail_elem(p, key, i, "unknown %s \"%s\"", what, names[i]);
	return 0;
}

static int parse_seccomp_arg(struct spec_parser *p, json_t *e, struct spec_seccomp_arg *a)
{
	int64_t index = 0;

	if (!json_is_object(e))
		return sp_fail_type(p, NULL, e, "an object");
	/* Syscalls have six arguments, numbered 0 to 5. */
	if (sp_int(p, e, "index", true, 0, 5, NULL, &index) < 0 ||
	    sp_u64(p, e, "value", true, NULL, &a->value) < 0 ||
	    sp_u64(p, e, "valueTwo", false, NULL, &a->value_two) < 0 ||
	    sp_string(p, e, "op", true, &a->op) < 0)
		return -1;
	a->index = (uint32_t)index;
	if (!in_list(seccomp_ops, a->op))
		return sp_fail_key(p, "op", "unknown operator \"%s\" (expected SCMP_CMP_NE, "
				   "_LT, _LE, _EQ, _GE, _GT or _MASKED_EQ)", a->op);
	return 0;
}

static int parse_seccomp_syscall(struct spec_parser *p, json_t *e,
				 struct spec_seccomp_syscall *sc)
{
	json_t *a, *arg;
	size_t i, mark;
	int rc;

	if (!json_is_object(e))
		return sp_fail_type(p, NULL, e, "an object");
	if (sp_strv(p, e, "names", true, &sc->names, &sc->n_names) < 0)
		return -1;
	if (sc->n_names == 0)
		return sp_fail_key(p, "names", "expected a non-empty array of syscall names");
	if (sp_string(p, e, "action", true, &sc->action) < 0)
		return -1;
	if (!in_list(seccomp_actions, sc->action))
		return sp_fail_key(p, "action", "unknown action \"%s\"", sc->action);
	if (sp_u32(p, e, "errnoRet", false, &sc->has_errno_ret, &sc->errno_ret) < 0)
		return -1;
	rc = sp_enter(p, e, "args", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	sc->args = xzalloc((json_array_size(a) + 1) * sizeof(*sc->args));
	SP_FOREACH_ELEMENT(p, a, i, arg, m) {
		sc->n_args = i + 1;
		if (parse_seccomp_arg(p, arg, &sc->args[i]) < 0)
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_seccomp_fields(struct spec_parser *p, json_t *o, struct spec_seccomp *sc)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	if (sp_string(p, o, "defaultAction", true, &sc->default_action) < 0)
		return -1;
	if (!in_list(seccomp_actions, sc->default_action))
		return sp_fail_key(p, "defaultAction", "unknown action \"%s\"", sc->default_action);
	/* Every syscall would wait on the listener, the runtime's own too. */
	if (strcmp(sc->default_action, "SCMP_ACT_NOTIFY") == 0)
		return sp_fail_key(p, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default "
				   "action");
	if (sp_u32(p, o, "defaultErrnoRet", false, &sc->has_default_errno_ret,
		   &sc->default_errno_ret) < 0 ||
	    sp_strv(p, o, "architectures", false, &sc->architectures, &sc->n_architectures) < 0 ||
	    check_names(p, "architectures", sc->architectures, seccomp_archs,
			"architecture") < 0 ||
	    sp_strv(p, o, "flags", false, &sc->flags, &sc->n_flags) < 0 ||
	    check_names(p, "flags", sc->flags, seccomp_flags, "flag") < 0 ||
	    sp_string(p, o, "listenerPath", false, &sc->listener_path) < 0 ||
	    sp_string(p, o, "listenerMetadata", false, &sc->listener_metadata) < 0)
		return -1;
	rc = sp_enter(p, o, "syscalls", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	sc->syscalls = xzalloc((json_array_size(a) + 1) * sizeof(*sc->syscalls));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		sc->n_syscalls = i + 1;
		if (parse_seccomp_syscall(p, e, &sc->syscalls[i]) < 0)
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_seccomp(struct spec_parser *p, json_t *lx, struct spec_linux *l)
{
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, lx, "seccomp", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	l->seccomp = xzalloc(sizeof(*l->seccomp));
	if (parse_seccomp_fields(p, o, l->seccomp) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

static void seccomp_free(struct spec_seccomp *sc)
{
	if (sc == NULL || sc == &skiff_seccomp_default)
		return;
	free(sc->default_action);
	strv_free(sc->architectures);
	strv_free(sc->flags);
	free(sc->listener_path);
	free(sc->listener_metadata);
	for (size_t i = 0; i < sc->n_syscalls; i++) {
		strv_free(sc->syscalls[i].names);
		free(sc->syscalls[i].action);
		for (size_t j = 0; j < sc->syscalls[i].n_args; j++)
			free(sc->syscalls[i].args[j].op);
		free(sc->syscalls[i].args);
	}
	free(sc->syscalls);
	free(sc);
}

void spec_set_default_seccomp(struct spec *s)
{
	seccomp_free(s->linux_->seccomp);
	/* Shared and read-only: nothing writes through a spec's profile. */
	s->linux_->seccomp = (struct spec_seccomp *)&skiff_seccomp_default;
}

/* ---- the rest of linux --------------------------------------------------- */

static int parse_paths(struct spec_parser *p, json_t *lx, const char *key,
		       char ***out, size_t *n)
{
	if (sp_strv(p, lx, key, false, out, n) < 0)
		return -1;
	for (size_t i = 0; *out != NULL && i < *n; i++)
		if ((*out)[i][0] != '/')
			return sp_fail_elem(p, key, i, "\"%s\" is not an absolute path", (*out)[i]);
	return 0;
}

static int parse_time_offsets(struct spec_parser *p, json_t *lx, struct spec_linux *l)
{
	json_t *o, *v;
	const char *k;
	size_t mark;
	int rc;

	rc = sp_enter(p, lx, "timeOffsets", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	l->time_offsets = xzalloc((json_object_size(o) + 1) * sizeof(*l->time_offsets));
	json_object_foreach(o, k, v) {
		struct spec_kv *kv = &l->time_offsets[l->n_time_offsets];
		int64_t secs = 0, nsecs = 0;
		size_t m;

		/* The clocks /proc/PID/timens_offsets knows. */
		if (strcmp(k, "monotonic") != 0 && strcmp(k, "boottime") != 0)
			return sp_fail_key(p, k, "unknown clock (expected monotonic or boottime)");
		if (!json_is_object(v))
			return sp_fail_type(p, k, v, "an object");
		m = sp_push_key(p, k);
		if (sp_int(p, v, "secs", false, INT64_MIN, INT64_MAX, NULL, &secs) < 0 ||
		    sp_int(p, v, "nanosecs", false, 0, 999999999, NULL, &nsecs) < 0)
			return -1;
		sp_pop(p, m);
		kv->key = xstrdup(k);
		kv->value = xasprintf("%" PRId64 " %" PRId64, secs, nsecs);
		l->n_time_offsets++;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_personality(struct spec_parser *p, json_t *lx, struct spec_linux *l)
{
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, lx, "personality", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	if (sp_string(p, o, "domain", true, &l->personality_domain) < 0)
		return -1;
	if (strcmp(l->personality_domain, "LINUX") != 0 &&
	    strcmp(l->personality_domain, "LINUX32") != 0)
		return sp_fail_key(p, "domain", "unknown domain \"%s\" (expected LINUX or LINUX32)",
				   l->personality_domain);
	if (sp_strv(p, o, "flags", false, &l->personality_flags, &l->n_personality_flags) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

static int parse_linux_fields(struct spec_parser *p, json_t *lx, struct spec *s)
{
	struct spec_linux *l = s->linux_;
	json_t *rdt;

	if (parse_namespaces(p, lx, l) < 0 ||
	    spec_parse_id_mappings(p, lx, "uidMappings", &l->uid_mappings, &l->n_uid_mappings) < 0 ||
	    spec_parse_id_mappings(p, lx, "gidMappings", &l->gid_mappings, &l->n_gid_mappings) < 0)
		return -1;
	if ((l->n_uid_mappings > 0 || l->n_gid_mappings > 0) &&
	    spec_namespace(s, SPEC_NS_USER) == NULL)
		return sp_fail_key(p, l->n_uid_mappings > 0 ? "uidMappings" : "gidMappings",
				   "id mappings need a user namespace (add {\"type\": \"user\"} "
				   "to linux.namespaces)");
	if (parse_devices(p, lx, l) < 0 ||
	    sp_string(p, lx, "cgroupsPath", false, &l->cgroups_path) < 0 ||
	    spec_parse_resources(p, lx, l) < 0 ||
	    sp_string(p, lx, "rootfsPropagation", false, &l->rootfs_propagation) < 0)
		return -1;
	if (l->rootfs_propagation != NULL && l->rootfs_propagation[0] != '\0' &&
	    spec_propagation_flags(l->rootfs_propagation, &l->rootfs_propagation_flags) < 0)
		return sp_fail_key(p, "rootfsPropagation", "unknown propagation \"%s\" (expected "
				   "shared, slave, private or unbindable, or their r- forms)",
				   l->rootfs_propagation);
	if (parse_seccomp(p, lx, l) < 0 ||
	    parse_paths(p, lx, "maskedPaths", &l->masked_paths, &l->n_masked_paths) < 0 ||
	    parse_paths(p, lx, "readonlyPaths", &l->readonly_paths, &l->n_readonly_paths) < 0 ||
	    sp_kv(p, lx, "sysctl", &l->sysctl, &l->n_sysctl) < 0 ||
	    sp_string(p, lx, "mountLabel", false, &l->mount_label) < 0 ||
	    parse_time_offsets(p, lx, l) < 0 || parse_personality(p, lx, l) < 0 ||
	    sp_object(p, lx, "intelRdt", false, &rdt) < 0)
		return -1;
	if (l->n_time_offsets > 0 && spec_namespace(s, SPEC_NS_TIME) == NULL)
		return sp_fail_key(p, "timeOffsets", "clock offsets need a time namespace "
				   "(add {\"type\": \"time\"} to linux.namespaces)");
	l->has_intel_rdt = rdt != NULL;
	return 0;
}

int spec_parse_linux(struct spec_parser *p, json_t *root, struct spec *s)
{
	json_t *lx;
	size_t mark;
	int rc;

	rc = sp_enter(p, root, "linux", JSON_OBJECT, &lx, &mark);
	if (rc <= 0)
		return rc;
	s->linux_ = xzalloc(sizeof(*s->linux_));
	if (parse_linux_fields(p, lx, s) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

void spec_linux_free(struct spec_linux *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	spec_resources_free(l->resources);
	free(l->rootfs_propagation);
	seccomp_free(l->seccomp);
	strv_free(l->masked_paths);
	strv_free(l->readonly_paths);
	spec_kv_free(l->sysctl, l->n_sysctl);
	free(l->mount_label);
	spec_kv_free(l->time_offsets, l->n_time_offsets);
	free(l->personality_domain);
	strv_free(l->personality_flags);
	free(l);
}
