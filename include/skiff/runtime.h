/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — the runtime area: the OCI runtime-spec model and the container
 * lifecycle.  runtime/ knows nothing of images: it runs bundles and
 * in-memory specs. */
#ifndef SKIFF_RUNTIME_H
#define SKIFF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skiff/error.h>

/* ===================================================================== */
/* The spec model: what Linux uses of runtime-spec 1.0 – 1.3.             */
/* Every string is owned by the struct; arrays carry their length.        */
/* Optional scalars carry a has_* flag.                                   */
/* ===================================================================== */

struct spec_kv {                 /* annotations, sysctl, unified */
	char *key;
	char *value;
};

struct spec_rlimit {
	char *type;              /* "RLIMIT_NOFILE" */
	int resource;            /* RLIMIT_NOFILE */
	uint64_t soft, hard;
};

struct spec_caps {               /* names as given: "CAP_CHOWN" */
	char **bounding, **effective, **inheritable, **permitted, **ambient;
	size_t n_bounding, n_effective, n_inheritable, n_permitted, n_ambient;
};

struct spec_user {
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username;          /* Windows only in the spec; kept, unused */
};

struct spec_console_size { uint32_t height, width; };

struct spec_process {
	bool terminal;
	bool has_console_size;
	struct spec_console_size console_size;
	struct spec_user user;
	char **args;             /* NULL-terminated, n_args >= 1 */
	size_t n_args;
	char *command_line;      /* Windows only; refused on Linux if set alone */
	char **env;              /* NULL-terminated, "K=V" */
	size_t n_env;
	char *cwd;               /* absolute */
	struct spec_caps *capabilities;   /* NULL when absent */
	struct spec_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
};

struct spec_root {
	char *path;              /* as given: relative to the bundle or absolute */
	bool readonly;
};

/* A mount, with its options already split into kernel flags. */
struct spec_mount {
	char *destination;       /* absolute path inside the container */
	char *type;              /* may be NULL (bind mounts) */
	char *source;            /* may be NULL */
	char **options;          /* as given, NULL-terminated */
	size_t n_options;
	/* Derived by the parser from options: */
	unsigned long flags;     /* MS_* to set (MS_BIND|MS_REC for rbind …) */
	unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, …) */
	unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE, maybe |MS_REC */
	unsigned long rec_set, rec_clear; /* MOUNT_ATTR_* for rro, rnosuid … */
	bool idmap, ridmap;      /* 1.2 idmapped mounts */
	char *data;              /* the filesystem options ("size=65536k,mode=755") or NULL */
	uint32_t *uid_mappings_raw; /* 1.2 per-mount mappings: n triples (container, host, size), unused yet */
	size_t n_uid_mappings_raw;
	uint32_t *gid_mappings_raw; /* the same for gids */
	size_t n_gid_mappings_raw;
	bool tmpcopyup;          /* runc/Podman extension: copy the image's files into a new tmpfs */
};

struct spec_hook {
	char *path;
	char **args;             /* NULL-terminated, may be NULL */
	char **env;              /* NULL-terminated, may be NULL */
	bool has_timeout;
	int timeout;             /* seconds, > 0 */
};

struct spec_hooks {
	struct spec_hook *prestart, *create_runtime, *create_container,
		*start_container, *poststart, *poststop;
	size_t n_prestart, n_create_runtime, n_create_container,
		n_start_container, n_poststart, n_poststop;
};

enum spec_ns_type {
	SPEC_NS_PID, SPEC_NS_NETWORK, SPEC_NS_MOUNT, SPEC_NS_IPC, SPEC_NS_UTS,
	SPEC_NS_USER, SPEC_NS_CGROUP, SPEC_NS_TIME, SPEC_NS__COUNT
};

struct spec_namespace {
	enum spec_ns_type type;
	char *path;              /* join this namespace, or NULL to create one */
};

struct spec_id_mapping {
	uint32_t container_id, host_id, size;
};

struct spec_device {
	char *path;              /* absolute, inside the container */
	char type;               /* 'c', 'b', 'u', 'p' */
	bool has_major_minor;
	int64_t major, minor;
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid, has_gid;
	uint32_t uid, gid;
};

/* ---- linux.resources (applied by the cgroup area) ---- */

struct spec_device_cgroup {
	bool allow;
	char type;               /* 'a', 'c', 'b' (0: all) */
	bool has_major, has_minor;
	int64_t major, minor;
	char *access;            /* "rwm" subset, may be NULL */
};

struct spec_weight_device {
	int64_t major, minor;
	bool has_weight, has_leaf_weight;
	uint16_t weight, leaf_weight;
};

struct spec_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct spec_hugepage_limit {
	char *page_size;         /* "2MB" */
	uint64_t limit;
};

struct spec_resources {
	struct spec_device_cgroup *devices;
	size_t n_devices;

	bool has_memory_limit, has_memory_reservation, has_memory_swap,
	     has_memory_kernel, has_memory_kernel_tcp, has_memory_swappiness,
	     has_memory_disable_oom_killer, has_memory_use_hierarchy,
	     has_memory_check_before_update;
	int64_t memory_limit, memory_reservation, memory_swap, memory_kernel,
		memory_kernel_tcp;
	uint64_t memory_swappiness;
	bool memory_disable_oom_killer, memory_use_hierarchy,
	     memory_check_before_update;

	bool has_cpu_shares, has_cpu_quota, has_cpu_burst, has_cpu_period,
	     has_cpu_realtime_runtime, has_cpu_realtime_period, has_cpu_idle;
	uint64_t cpu_shares, cpu_period, cpu_realtime_period, cpu_burst;
	int64_t cpu_quota, cpu_realtime_runtime, cpu_idle;
	char *cpu_cpus, *cpu_mems;

	bool has_pids_limit;
	int64_t pids_limit;

	bool has_blkio_weight, has_blkio_leaf_weight;
	uint16_t blkio_weight, blkio_leaf_weight;
	struct spec_weight_device *blkio_weight_device;
	size_t n_blkio_weight_device;
	struct spec_throttle_device *throttle_read_bps, *throttle_write_bps,
		*throttle_read_iops, *throttle_write_iops;
	size_t n_throttle_read_bps, n_throttle_write_bps,
		n_throttle_read_iops, n_throttle_write_iops;

	struct spec_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	bool has_network_class_id;
	uint32_t network_class_id;
	struct spec_kv *network_priorities; /* name -> priority as text */
	size_t n_network_priorities;

	struct spec_kv *rdma;    /* kept as JSON text per device; unused */
	size_t n_rdma;

	struct spec_kv *unified; /* cgroup v2 file -> value */
	size_t n_unified;
};

/* ---- linux.seccomp (applied by the security area) ---- */

struct spec_seccomp_arg {
	uint32_t index;
	uint64_t value, value_two;
	char *op;                /* "SCMP_CMP_EQ" … */
};

struct spec_seccomp_syscall {
	char **names;
	size_t n_names;
	char *action;            /* "SCMP_ACT_ERRNO" … */
	bool has_errno_ret;
	uint32_t errno_ret;
	struct spec_seccomp_arg *args;
	size_t n_args;
};

struct spec_seccomp {
	char *default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures;
	size_t n_architectures;
	char **flags;
	size_t n_flags;
	char *listener_path;
	char *listener_metadata;
	struct spec_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct spec_linux {
	struct spec_namespace *namespaces;
	size_t n_namespaces;
	struct spec_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct spec_device *devices;
	size_t n_devices;
	char *cgroups_path;
	struct spec_resources *resources;   /* NULL when absent */
	char *rootfs_propagation;
	unsigned long rootfs_propagation_flags; /* MS_* derived, 0 when unset */
	struct spec_seccomp *seccomp;       /* NULL when absent */
	char **masked_paths, **readonly_paths;
	size_t n_masked_paths, n_readonly_paths;
	struct spec_kv *sysctl;
	size_t n_sysctl;
	char *mount_label;
	struct spec_kv *time_offsets;       /* "monotonic" -> "secs nanosecs" */
	size_t n_time_offsets;
	char *personality_domain;           /* "LINUX" | "LINUX32" */
	char **personality_flags;
	size_t n_personality_flags;
	bool has_intel_rdt;                 /* parsed for validation only */
};

/* An in-memory extension of root, never read from config.json: the job
 * face (job/) asks for the rootfs to be an overlay of image layers, which
 * the init mounts inside the container's user and mount namespaces
 * (rootless overlayfs needs the mount made there), over that namespace's
 * "/" before pivot_root: root.path is not used, and need not exist. */
/* A directory or file of the overlay's top layer (spec_root_overlay.top). */
struct spec_overlay_file {
	char *path;              /* relative to the root: "etc", "etc/hosts" */
	mode_t mode;
	char *content;           /* NUL-terminated; NULL: a directory */
};

struct spec_root_overlay {
	char **lower;            /* layer trees, topmost first, NULL-terminated */
	size_t n_lower;
	char *upper, *work;      /* absolute; created when missing */
	bool userxattr;          /* whiteouts as user.overlay.* (rootless) */
	/* The writable layer is thrown away with the container: overlay's
	 * "volatile" (Linux 5.10) skips every sync of it, the one at
	 * unmount included.  Ignored by a kernel without it. */
	bool volatile_upper;
	/* When set, upper and work live on a tmpfs of this size ("1g")
	 * mounted at tmpfs_dir first: the writable layer is capped. */
	char *tmpfs_size;
	char *tmpfs_dir;
	/* What the container finds above the layers (skiff run's /etc/hosts,
	 * hostname, resolv.conf), parents before children: made on a small
	 * tmpfs of its own, stacked as the topmost layer, rather than in
	 * upper on the store's disk.  A write copies a file up, as any
	 * layer's.  Owned by the container's root. */
	struct spec_overlay_file *top;
	size_t n_top;
};
/* Frees o and everything it holds (NULL: nothing). */
void spec_root_overlay_free(struct spec_root_overlay *o);

struct spec {
	char *oci_version;
	struct spec_root root;
	struct spec_root_overlay *root_overlay; /* NULL: root.path as it is */
	struct spec_process *process;       /* NULL allowed only for `create` of a spec without one: refused */
	char *hostname;
	char *domainname;
	struct spec_mount *mounts;
	size_t n_mounts;
	struct spec_hooks *hooks;           /* NULL when absent */
	struct spec_kv *annotations;
	size_t n_annotations;
	struct spec_linux *linux_;          /* NULL when absent */
};

/* Parses and validates config.json text.  On failure the error id is
 * "spec.invalid" (or "spec.parse" for malformed JSON) and the message names
 * the JSON path and what was expected, e.g.
 *   config.json: linux.uidMappings[0].size: expected a positive integer */
int spec_parse(const char *json, size_t len, const char *origin,
	       struct spec **out, struct skiff_error **err);
/* The same, of a JSON object already in memory (jansson's json_t, not
 * taken), for specs built in memory (job/): no text round trip. */
struct json_t;
int spec_parse_object(struct json_t *root, const char *origin, struct spec **out,
		      struct skiff_error **err);
/* A process object of its own (`exec --process FILE`), read by the same
 * parser as config.json's process: errors name "ORIGIN: args…". */
int spec_process_parse(const char *json, size_t len, const char *origin,
		       struct spec_process **out, struct skiff_error **err);
void spec_process_free(struct spec_process *p);
/* Reads BUNDLE/config.json and parses it. */
int spec_load(const char *bundle, struct spec **out, struct skiff_error **err);
void spec_free(struct spec *s);
static inline void spec_freep(struct spec **s) { if (*s) spec_free(*s); }
#define _cleanup_spec_ __attribute__((cleanup(spec_freep)))

/* The namespace entry of a type, or NULL when the spec has none. */
const struct spec_namespace *spec_namespace(const struct spec *s,
					    enum spec_ns_type t);
const char *spec_ns_type_name(enum spec_ns_type t); /* "pid", "network" … */

/* True when linux.resources asks for a limit that needs a cgroup (device
 * rules alone do not). */
bool spec_wants_cgroup_limits(const struct spec *s);

/* A LinuxResources document of its own (`update --resources FILE`), read
 * by the same parser as linux.resources: errors name "ORIGIN: resources.…". */
int spec_resources_parse(const char *json, size_t len, const char *origin,
			 struct spec_resources **out, struct skiff_error **err);
void spec_resources_free(struct spec_resources *r);

/* A default config.json for `spec`: text the caller frees.  rootless adds a
 * user namespace mapping uid/gid (single id) to 0. */
struct spec_default_opts {
	bool rootless;
	uid_t uid;
	gid_t gid;
	const char *seccomp_json;   /* a profile to embed as linux.seccomp, or NULL */
};
char *spec_default_json(const struct spec_default_opts *o);
/* The same document as a new JSON object (NULL when seccomp_json is not a
 * JSON object), for callers that edit it before spec_parse_object. */
struct json_t *spec_default_object(const struct spec_default_opts *o);

/* skiff's default seccomp profile (seccomp/default.json, built in): the
 * JSON text of a linux.seccomp object.  docs/seccomp.md explains it. */
extern const char skiff_seccomp_default_profile[];
/* The same profile as made by the spec parser from that text, built in at
 * build time (src/runtime/seccomp-gen.c): a run with the default profile
 * parses none of it. */
extern const struct spec_seccomp skiff_seccomp_default;
/* Gives s (with a linux object) the built-in default profile, shared, never
 * freed by spec_free(). */
void spec_set_default_seccomp(struct spec *s);

/* Capabilities by name (runtime/capabilities.c). */
/* "CAP_CHOWN" -> 0: the whole name, in capitals, known to libcap; else -1. */
int capability_from_name(const char *name);
/* 0 -> "CAP_CHOWN" (caller frees), or NULL when libcap has no name. */
char *capability_name(int cap);
/* /proc/sys/kernel/cap_last_cap, or probed with PR_CAPBSET_READ. */
int capabilities_last_cap(void);

/* ===================================================================== */
/* The container lifecycle (runc's shape).                                */
/* ===================================================================== */

struct runtime_ctx {
	const char *state_root;     /* the directory of all container states */
	bool rootless;              /* resolved from --rootless auto|true|false */
	bool debug;
};

/* Resolves the state root: --root, else $XDG_RUNTIME_DIR/skiff, else
 * /run/skiff for real root, else a private 0700 directory under /tmp owned
 * by the user (a one-line notice says so).  Creates it when missing. */
int runtime_state_root(const char *given, char **out, struct skiff_error **err);

enum container_status { CONTAINER_CREATING, CONTAINER_CREATED,
			CONTAINER_RUNNING, CONTAINER_STOPPED,
			CONTAINER_PAUSED };
const char *container_status_name(enum container_status s);

struct create_opts {
	const char *bundle;         /* absolute or relative; made absolute */
	const char *pid_file;       /* NULL: none */
	const char *console_socket; /* NULL: none */
	bool no_pivot;
	int listen_fds;             /* socket activation: fds 3.. passed on, with
				       LISTEN_FDS and LISTEN_PID set in the env */
	int preserve_fds;           /* extra fds after those to pass on */
	struct spec *spec;          /* NULL: load BUNDLE/config.json */
	/* Create and start at once where the runtime has nothing to do
	 * between the fork and the execve: the init goes straight on to it
	 * (namespaces.c, "chain"; skiff run's own path).  Where it cannot,
	 * the container is only created, and the caller starts it. */
	bool start_now;
	/* An fd of a new network namespace, made for this container and
	 * owned by the user namespace its init will be in: joined instead
	 * of creating one (the caller made it ahead, in parallel with its
	 * other set-up), where the spec asks for a new one.  Not of that
	 * user namespace, it is not used.  0 or -1: none (fd 0 never is
	 * one, so a zeroed create_opts has none). */
	int netns_fd;
	/* Instead of netns_fd, while that namespace is still being made: a
	 * socket on which its fd comes (with one byte; the end of the stream
	 * if it could not be made).  Stage 1 receives it as late as it can,
	 * once the runtime's own set-up is done.  0 or -1: none. */
	int netns_sock;
	/* With netns_fd or netns_sock: readable once whoever made it has
	 * brought its lo up (or given up); the init waits for that before it
	 * looks, and brings lo up itself when it is still down.  0 or -1:
	 * none. */
	int netns_lo_fd;
	/* An init killed by a signal while it was being set up (kill -9 of
	 * the pid the state already shows, the OOM killer) is not a failure
	 * of create: the container stays recorded, its init a zombie for the
	 * caller to reap, as it would be had the signal come a moment later,
	 * once it was ready (skiff run then exits 128+N).  The caller must
	 * be its subreaper (PR_SET_CHILD_SUBREAPER) to see that.  Otherwise
	 * create fails and removes the container, as runc's does. */
	bool keep_killed;
};

/* *init_pid (when not NULL): the init's pid (once started, the job's, which
 * may have ended already).  *started (when not NULL): whether start_now
 * was done, else the init waits for container_start(). */
int container_create(const struct runtime_ctx *ctx, const char *id,
		     const struct create_opts *o, pid_t *init_pid, bool *started,
		     struct skiff_error **err);
int container_start(const struct runtime_ctx *ctx, const char *id,
		    struct skiff_error **err);
/* create + start + wait; *exit_status gets the job's code, 128+N when killed
 * by signal N.  With detach, returns after start. */
int container_run(const struct runtime_ctx *ctx, const char *id,
		  const struct create_opts *o, bool detach, int *exit_status,
		  struct skiff_error **err);
/* `exec`: a new process in a running container (runc's semantics).  The
 * process is process_file's Process object, or else the container's
 * process.* with args and the overrides below. */
struct exec_opts {
	const char *process_file;   /* --process FILE, or NULL */
	char **args;                /* the command (NULL-terminated) without --process */
	bool tty;                   /* -t: process.terminal */
	const char *console_socket; /* send the pty master there, or NULL */
	const char *cwd;            /* NULL: process.cwd */
	char **env;                 /* "K=V" added or replacing process.env; may be NULL */
	bool has_uid, has_gid;
	uint32_t uid, gid;
	uint32_t *additional_gids;  /* appended */
	size_t n_additional_gids;
	char **caps;                /* added to bounding, effective, permitted (and ambient
				       when process.capabilities has an inheritable set) */
	bool no_new_privs;
	bool detach;                /* return once the process runs */
	const char *pid_file;       /* written before exec returns */
	int preserve_fds;           /* fds 3..3+N-1 passed on */
	const char *process_label;  /* SELinux: refused when non-empty */
	const char *apparmor;       /* AppArmor: refused when non-empty */
	bool ignore_paused;
};
/* *exit_status: the process's code, 128+N when killed by signal N; 0 with
 * detach. */
int container_exec(const struct runtime_ctx *ctx, const char *id,
		   const struct exec_opts *o, int *exit_status, struct skiff_error **err);
int container_kill(const struct runtime_ctx *ctx, const char *id, int sig,
		   bool all, struct skiff_error **err);
int container_delete(const struct runtime_ctx *ctx, const char *id, bool force,
		     struct skiff_error **err);
/* The runtime-spec state JSON of a container: text the caller frees. */
int container_state_json(const struct runtime_ctx *ctx, const char *id,
			 char **out, struct skiff_error **err);

struct container_info {
	char *id;
	pid_t pid;                  /* 0 when stopped */
	enum container_status status;
	char *bundle;
	char *created;              /* RFC 3339 */
	uid_t owner;
};
int container_list(const struct runtime_ctx *ctx, struct container_info **out,
		   size_t *n, struct skiff_error **err);
void container_info_free(struct container_info *v, size_t n);

/* ---- cgroup v2: pause, resume, update, ps, stats ---- */

/* cgroup.freeze, returning once every process has stopped ("paused"). */
int container_pause(const struct runtime_ctx *ctx, const char *id,
		    struct skiff_error **err);
int container_resume(const struct runtime_ctx *ctx, const char *id,
		     struct skiff_error **err);
/* Writes new limits to a running container's cgroup; origin names where
 * they came from in messages ("--resources r.json", "update"). */
int container_update(const struct runtime_ctx *ctx, const char *id,
		     const struct spec_resources *r, const char *origin,
		     struct skiff_error **err);
/* The pids of a container (host view): its cgroup's, else found in /proc. */
int container_ps(const struct runtime_ctx *ctx, const char *id, pid_t **out,
		 size_t *n, struct skiff_error **err);

/* The numbers of a container's cgroup; the has_* flags say which exist.
 * UINT64_MAX stands for "max" (no limit). */
struct container_stats {
	enum container_status status;
	bool has_cgroup;
	bool has_memory;
	uint64_t memory_current, memory_max, swap_current, oom, oom_kill;
	bool has_memory_peak;       /* memory.peak: Linux 5.19 and later */
	uint64_t memory_peak;
	bool has_cpu;
	uint64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec, cpu_nr_periods,
		 cpu_nr_throttled, cpu_throttled_usec;
	bool has_pids;
	uint64_t pids_current, pids_max;
};
int container_stats(const struct runtime_ctx *ctx, const char *id,
		    struct container_stats *out, struct skiff_error **err);

/* The runtime-spec features document of this build (features.md), as
 * indented JSON text the caller frees. */
char *runtime_features_json(void);

/* Container ids: 1..1024 of [A-Za-z0-9_.+-], not starting with '.' */
int container_id_validate(const char *id, struct skiff_error **err);

#endif
