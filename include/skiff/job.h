/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — the job face: `skiff run IMAGE [COMMAND...]`.  job/ is where
 * image/ and runtime/ meet: it resolves the image in the store, builds the
 * container's spec in memory from the image config and the options, runs
 * it over an overlay of the layers, watches it (streams, timeout) and
 * reports how it ended. */
#ifndef SKIFF_JOB_H
#define SKIFF_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/error.h>

enum job_pull { JOB_PULL_MISSING, JOB_PULL_ALWAYS, JOB_PULL_NEVER };
enum job_network {
	JOB_NETWORK_NONE, JOB_NETWORK_HOST,
	/* networking: user-mode helpers and joined namespaces (job/net.c) */
	JOB_NETWORK_PASTA,            /* pasta (Debian passt) */
	JOB_NETWORK_SLIRP4NETNS,      /* slirp4netns */
	JOB_NETWORK_PRIVATE,          /* pasta if installed, else slirp4netns */
	JOB_NETWORK_NS,               /* ns:PATH, an existing network namespace */
};
/* The container's root: an overlay of the layers, a flattened copy, or the
 * overlay where it can be mounted and else the copy (job/rootfs.c). */
enum job_rootfs_mode { JOB_ROOTFS_AUTO, JOB_ROOTFS_OVERLAY, JOB_ROOTFS_FLATTEN };

/* Lists are NULL-terminated string vectors (NULL: empty). */
struct job_options {
	const char *store;            /* --store, or NULL: the default store */
	const char *state_root;       /* --root, or NULL: the runtime's default */
	const char *image;            /* a name, an id, or a transport:source */
	char **command;               /* the trailing COMMAND [ARG...] */
	enum job_pull pull;
	const char *platform;         /* "os/arch[/variant]" or NULL */
	bool quiet_pull;

	bool has_entrypoint;
	const char *entrypoint;       /* "" clears the image's */
	char **env;                   /* -e: "K=V", or "K" (taken from skiff's env) */
	char **env_files;
	const char *workdir;
	const char *user;             /* UID[:GID] | NAME[:GROUP] */
	const char *hostname;
	const char *name;
	const char *stop_signal;      /* overrides the image's StopSignal */
	bool keep;

	enum job_network network;
	char **cap_add, **cap_drop;   /* names with or without CAP_, or ALL */
	bool allow_new_privileges;    /* --security-opt no-new-privileges=false */
	const char *seccomp;          /* NULL: default; "unconfined"; a FILE */
	bool read_only;
	char **tmpfs;                 /* PATH[:OPTIONS] */
	char **volumes;               /* HOST:CTR[:ro|rw] */

	int64_t memory, memory_swap;  /* bytes; 0: unset; swap -1: unlimited */
	double cpus;                  /* 0: unset */
	int64_t pids_limit;           /* 0: unset; -1: unlimited */
	const char *storage_limit;    /* tmpfs size of the writable layer */
	enum job_rootfs_mode rootfs_mode;
	double timeout;               /* seconds; 0: none */
	int stop_timeout;             /* seconds between the stop signal and SIGKILL */

	bool interactive;             /* -i: stdin passed through */
	char **copy_in;               /* HOST:CTR */
	char **copy_out;              /* CTR:HOSTDIR */
	char **secrets;               /* NAME=FILE[,type=env|file] */

	bool capture;                 /* keep stdout/stderr for the result */
	bool stream;                  /* and copy them live to skiff's own */
	size_t capture_limit;         /* bytes kept of each stream */
	const char *log_file;         /* both streams appended there */

	/* -d/--detach: a monitor of its own holds the job (job/detach.c) */
	bool detach;
	/* policy, audit, events (job/policy.c, job/audit.c, job/events.c) */
	const char *audit_log;        /* --audit-log FILE, or NULL: the default */
	const char *events_file;      /* --events-file: JSON lines appended */
	bool has_events_fd;
	int events_fd;                /* --events-fd N: an inherited fd */
	const char *notify_url;       /* --notify-url: each event POSTed there */
	char **notify_headers;        /* --notify-header "K: V" */
	/* networking (job/net.c) */
	const char *network_ns;       /* --network ns:PATH */
	char **publish;               /* -p [HOST_IP:]HOST_PORT:CTR_PORT[/tcp|udp] */
	char **add_hosts;             /* --add-host NAME:IP */
	char **dns;                   /* --dns IP */
};

struct job_result {
	bool started;                 /* the job's process was exec'd */
	int exit_code;                /* 128+N when killed by signal N */
	int signal;                   /* 0 when it exited */
	bool timed_out, oom_killed;
	double duration;              /* seconds, from start to exit */
	char *container_id, *name, *image, *image_digest;
	char *out, *err;              /* captured (capture set), NUL-terminated */
	size_t out_len, err_len;
	bool truncated;
	char **copied_out;            /* host paths written by --copy-out */
	bool has_cpu, has_memory_peak;
	uint64_t cpu_usec, memory_peak;
	/* lifecycle from another shell: RFC 3339 UTC, NULL when unknown */
	char *started_at, *finished_at;
};

/* Runs a job to its end (or to its failure before it ran: then -1 with *err
 * set, exit status skiff_error_exit_code()).  A job that ran returns 0
 * whatever its exit status; r tells how it ended. */
int job_run(const struct job_options *o, struct job_result *r, struct skiff_error **err);
void job_result_clear(struct job_result *r);
/* "overlay", "flatten", "auto"; cli.usage otherwise. */
int job_rootfs_mode_parse(const char *s, enum job_rootfs_mode *out, struct skiff_error **err);
/* --network MODE: none, host, pasta, slirp4netns, private or ns:PATH into
 * o->network (and o->network_ns).  "job.network.invalid". */
int job_network_parse(const char *arg, struct job_options *o, struct skiff_error **err);
/* The --json document: the result, and the error when e is not NULL.
 * Text the caller frees. */
char *job_result_json(const struct job_result *r, const struct skiff_error *e);

/* Removes a container kept with --keep: NAME or its 64-digit ID, its
 * directory and its name.  "job.not_found"; "job.running" while its run
 * goes on. */
int job_remove(const char *store, const char *state_root, const char *what,
	       struct skiff_error **err);

/* ---- lifecycle from another shell (job/detach.c, job/containers.c) ---------
 * Every run records itself in STORE/containers/ID/ (job.json, started,
 * result.json, and with -d stdout.log and stderr.log), so that these work
 * from any shell, for detached and foreground runs alike.  WHAT is a name,
 * a full ID or a unique prefix of one ("job.not_found", "job.ambiguous"). */

/* skiff run -d: runs the job under a monitor of its own (double-forked, in
 * a session of its own) and returns once the job started; *id gets its ID.
 * An error before the start comes back here. */
int job_run_detached(const struct job_options *o, char **id, struct skiff_error **err);

struct job_ps_options {
	const char *store, *state_root;
	bool all;                     /* ended ones kept with --keep too */
};
/* The containers as a JSON array (text the caller frees): id, name, image,
 * image_digest, command, created, started_at, finished_at, status
 * ("created", "running", "exited", "unknown"), pid, exit_code. */
int job_ps_json(const struct job_ps_options *o, char **out, struct skiff_error **err);
/* One container as a JSON document: the same fields, the state, and the
 * result once it ended. */
int job_inspect_json(const char *store, const char *what, char **out,
		     struct skiff_error **err);
/* Blocks until the job ends; *exit_code gets its result's exit code. */
int job_wait(const char *store, const char *what, int *exit_code, struct skiff_error **err);
/* Sends sig to the job (SIGKILL: to all its processes). */
int job_kill(const char *store, const char *what, int sig, struct skiff_error **err);
/* The stop signal, then SIGKILL after timeout seconds (< 0: the run's
 * --stop-timeout); returns once the job's process is gone. */
int job_stop(const char *store, const char *what, int timeout, struct skiff_error **err);
/* Copies the job's stdout and stderr (detached runs) to out_fd and err_fd;
 * follow: until the job ends. */
int job_logs(const char *store, const char *what, bool follow, int out_fd, int err_fd,
	     struct skiff_error **err);
/* skiff userns-stop: ends the holders of the user namespaces that rootless
 * runs share (job/userns_keep.c) recorded under the state root (NULL: the
 * default one); *stopped gets how many were running.  Running containers
 * keep their namespace; the next run makes a new holder. */
int job_userns_stop(const char *state_root, unsigned *stopped, struct skiff_error **err);
/* skiff rm -f: stops a running job first, then removes what is left. */
int job_remove_force(const char *store, const char *state_root, const char *what,
		     struct skiff_error **err);

#endif
