/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroup area of the runtime: cgroup v2 through the cgroupfs, shared by
 * cgroup.c (layout, placement), cgroup_control.c (freeze, kill, remove,
 * stats), cgroup_resources.c (linux.resources -> interface files),
 * container_cgroup.c (pause, resume, update, stats) and the lifecycle in
 * container.c / namespaces.c.
 *
 * cgroup v1 is out of scope: a v1 or hybrid host runs containers without
 * limits and refuses a spec that asks for them. */
#ifndef SKIFF_CGROUP_INTERNAL_H
#define SKIFF_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <skiff/error.h>
#include <skiff/runtime.h>

/* ---- layout (pure parts testable from fake /proc text) ------------------ */

enum cgroup_mode {
	CGROUP_MODE_NONE,        /* no cgroup file system mounted */
	CGROUP_MODE_V1,          /* only v1 hierarchies */
	CGROUP_MODE_HYBRID,      /* v1 controllers, cgroup2 on the side (unified) */
	CGROUP_MODE_V2,          /* pure cgroup v2 */
};

struct cgroup_layout {
	enum cgroup_mode mode;
	char *mount;             /* where cgroup2 is mounted, or NULL */
	char *mount_root;        /* the cgroup the mount shows as its root ("/") */
	char *own;               /* the caller's cgroup under the mount ("/a/b"),
				    NULL when it is outside the mount's view */
};

/* Reads the layout from /proc/self/mountinfo and /proc/self/cgroup text. */
void cgroup_layout_parse(const char *mountinfo, const char *proc_cgroup,
			 struct cgroup_layout *out);
/* The same from this process's /proc files. */
void cgroup_layout_detect(struct cgroup_layout *out);
void cgroup_layout_clear(struct cgroup_layout *l);
/* Whether /sys/fs/cgroup is cgroup2 (a pure v2 host's layout). */
bool cgroup_host_is_v2(void);
const char *cgroup_mode_name(enum cgroup_mode m);

/* ---- controllers -------------------------------------------------------- */

enum {
	CG_CPU = 1 << 0, CG_CPUSET = 1 << 1, CG_IO = 1 << 2, CG_MEMORY = 1 << 3,
	CG_PIDS = 1 << 4, CG_HUGETLB = 1 << 5, CG_RDMA = 1 << 6, CG_MISC = 1 << 7,
	CG__ALL = (1 << 8) - 1,
};
/* "cpu io memory\n" -> the mask of the controllers skiff knows. */
unsigned cgroup_controllers_parse(const char *text);
/* "cpu, memory" for a mask (static buffer of the caller, at least 96 bytes). */
const char *cgroup_controllers_text(unsigned mask, char *buf, size_t size);
/* The bit of one controller name, 0 when unknown. */
unsigned cgroup_controller_bit(const char *name, size_t len);

/* ---- linux.resources: pure conversions ---------------------------------- */

/* What linux.resources needs: *mask gets the controllers, the return value
 * is 1 when any interface file is to be written, 0 when nothing is asked,
 * -1 for a setting cgroup v2 cannot express ("cgroup.unsupported") or a bad
 * unified key ("cgroup.unified_key").  origin names the document
 * ("config.json", an --resources file) in messages. */
int cgroup_resources_needs(const struct spec_resources *r, const char *origin,
			   unsigned *mask, struct skiff_error **err);

/* cpu.shares (2..262144) -> cpu.weight (1..10000), linearly, as crun
 * documents: 1 + ((shares - 2) * 9999) / 262142. */
uint64_t cgroup_shares_to_weight(uint64_t shares);
/* blkio weight (10..1000) -> io.weight (1..10000), linearly. */
uint64_t cgroup_blkio_to_io_weight(uint64_t weight);

/* The text of cpu.max from quota (-1: max, 0: keep) and period (0: keep),
 * completing what is kept from the current "QUOTA PERIOD" text (NULL: the
 * kernel's default "max 100000").  Returns 1 with out filled, 0 when
 * neither is asked. */
int cgroup_cpu_max_text(int64_t quota, uint64_t period, const char *current,
			char *out, size_t size);

/* memory.swap.max from the v1 meaning of linux.resources.memory.swap
 * (memory + swap) and the memory limit in force: 1 with *out set (-1 for
 * "max"), 0 when swap is not asked (0), -1 with a reason in *why when it
 * cannot be expressed. */
int cgroup_swap_max(int64_t memory_limit, int64_t swap, int64_t *out, const char **why);

/* A key of linux.resources.unified: a plain file name "CONTROLLER.FILE" of
 * a controller skiff knows, or one of the harmless core files
 * (cgroup.max.depth, cgroup.max.descendants).  *mask gets the controller's
 * bit (0 for core files). */
int cgroup_unified_key_check(const char *key, const char *origin, unsigned *mask,
			     struct skiff_error **err);

/* The value of KEY in "key value\n" text (memory.events, cpu.stat). */
int cgroup_keyed_value(const char *text, const char *key, uint64_t *out);

/* Where the container's cgroup goes, as a path under the cgroup2 mount
 * ("/a/b/c", normalized): an absolute cgroupsPath as given (less the
 * mount's root), a relative one under base, none: BASE/skiff-ID.
 * "cgroup.path" when it is not usable (empty, "..", the root, a name
 * longer than 255 bytes). */
int cgroup_resolve_path(const char *mount_root, const char *base,
			const char *cgroups_path, const char *id, char **out,
			struct skiff_error **err);

/* ---- the container's cgroup --------------------------------------------- */

/* DIR/FILE's text (NULL when it cannot be read), and cgroup.events
 * "populated 1". */
char *cgroup_read_file(const char *dir, const char *file);
bool cgroup_populated(const char *dir);

struct cgroup {
	char *path;              /* file system path: "/sys/fs/cgroup/a/skiff-ID" */
	int dirfd;               /* O_DIRECTORY of it */
	char *leaf;              /* the leaf skiff moved itself into, or NULL */
};
void cgroup_free(struct cgroup *cg);
static inline void cgroup_freep(struct cgroup **cg)
{
	if (*cg != NULL)
		cgroup_free(*cg);
	*cg = NULL;
}
#define _cleanup_cgroup_ __attribute__((cleanup(cgroup_freep)))

/* Checks, before anything is created, that the limits of s can be applied
 * on this host's layout: "cgroup.unavailable" on v1 / hybrid hosts,
 * "cgroup.unsupported" for v1-only settings. */
int cgroup_check_spec(const struct spec *s, struct skiff_error **err);

/* Creates the container's cgroup and writes linux.resources to it.  *out is
 * NULL when the spec asks for no limit and no cgroup can be had (no v2, no
 * delegation): the container then runs without one.  When limits are
 * asked and cannot be applied it fails ("cgroup.not_delegated",
 * "cgroup.unavailable") and leaves nothing behind. */
int cgroup_create(const struct spec *s, const char *id, struct cgroup **out,
		  struct skiff_error **err);
/* Moves pid into the cgroup. */
int cgroup_enter(const struct cgroup *cg, pid_t pid, struct skiff_error **err);

/* Writes linux.resources to the cgroup at dirfd (path for messages).
 * update: the container runs; cpu.max and swap complete what is not given
 * from the current values. */
int cgroup_apply_resources(int dirfd, const char *path, const struct spec_resources *r,
			   const char *origin, bool update, struct skiff_error **err);

/* Kills what is left (cgroup.kill, else SIGKILL over cgroup.procs), waits
 * until the cgroup is empty and removes it (and its sub-cgroups), then the
 * leaf when it is empty.  A missing cgroup is not an error. */
int cgroup_destroy(const char *path, const char *leaf, struct skiff_error **err);

/* cgroup.freeze, waiting until cgroup.events says frozen (or thawed). */
int cgroup_freeze(const char *path, bool frozen, struct skiff_error **err);
bool cgroup_is_frozen(const char *path);
/* Sends sig to every process of the cgroup and its sub-cgroups: cgroup.kill
 * for SIGKILL where the kernel has it, else frozen, signalled, thawed. */
int cgroup_signal_all(const char *path, int sig, struct skiff_error **err);
/* The pids of the cgroup and its sub-cgroups. */
int cgroup_read_pids(const char *path, pid_t **out, size_t *n, struct skiff_error **err);
/* memory.events oom_kill, 0 when there is no memory controller. */
uint64_t cgroup_oom_kills(const char *path);
int cgroup_read_stats(const char *path, struct container_stats *out,
		      struct skiff_error **err);

/* ---- container_cgroup.c -------------------------------------------------- */

/* After `run`: says on stderr when the kernel OOM-killed processes of the
 * container (memory.events oom_kill). */
void container_report_oom(const struct runtime_ctx *ctx, const char *id);

#endif
