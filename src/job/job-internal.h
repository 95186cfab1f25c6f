/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the files of the job area only. */
#ifndef SKIFF_JOB_INTERNAL_H
#define SKIFF_JOB_INTERNAL_H

#include <sys/types.h>

#include <jansson.h>

#include <skiff/image.h>
#include <skiff/job.h>
#include <skiff/runtime.h>
#include <skiff/sys.h>
#include <skiff/util.h>

#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* ---- user.c: -u / the image's User, through the image's own files ------- */

struct job_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;               /* supplementary, from /etc/group */
	size_t n_groups;
	char *home;                  /* from /etc/passwd, else "/" */
};
void job_user_clear(struct job_user *u);
/* Resolves USER ("", "uid", "name", "uid:gid", "name:group") against the
 * /etc/passwd and /etc/group the layers (lowest first) show together,
 * read without leaving each layer's tree.  "job.user.unknown". */
int job_user_resolve(const char *user, char *const *layers, size_t n_layers,
		     struct job_user *out, struct skiff_error **err);

/* ---- spec.c: the container's spec, in memory ----------------------------- */

struct job_spec_input {
	const struct job_options *o;
	json_t *config;              /* the image config's "config" object, or NULL */
	const struct image_layers *layers;
	enum image_owners owners;
	struct sys_id_map uid_map[2], gid_map[2];
	size_t n_map;
	const char *dir;             /* the container's directory (absolute) */
	const char *hostname;
	bool etc_in_layer;           /* /etc/hosts... are the overlay's top layer */
	bool rootless;
	char **secret_env;           /* "NAME=value" of type=env secrets */
	/* networking: rootless --network ns:PATH runs in the user namespace
	 * that owns PATH (a path the runtime can open), or NULL */
	const char *join_userns;
};
/* The spec, and the stop signal the job gets on --timeout. */
int job_build_spec(const struct job_spec_input *in, struct spec **out, int *stop_signal,
		   struct skiff_error **err);

/* ---- userns_keep.c: the user namespace rootless runs share ---------------- */

/* *ns_fd: the user namespace with these maps (N entries each) that the
 * holder recorded under STATE_ROOT/.userns keeps, made first if there is
 * none.  "userns.keep", "userns.map", "userns.helper_missing",
 * "container.userns" errors. */
int job_userns_keep(const char *state_root, const struct sys_id_map *uids,
		    const struct sys_id_map *gids, size_t n, int *ns_fd,
		    struct skiff_error **err);

/* ---- files.c: what the container's directory holds ------------------------ */

struct job_net;
/* The files under /etc that skiff gives a container, by name. */
#define JOB_N_ETC_FILES 3
extern const char *const job_etc_files[JOB_N_ETC_FILES];
/* The container's /etc/hosts, hostname and resolv.conf. */
struct job_etc {
	bool in_layer;               /* the overlay's top layer has them, not DIR */
	mode_t dir_mode;             /* that layer's /etc: the image's mode */
	char *text[JOB_N_ETC_FILES]; /* their contents */
};
void job_etc_clear(struct job_etc *etc);
/* hosts, hostname, resolv.conf and secrets/NAME for the container (hosts
 * and resolv.conf as net's mode gives them): the first three kept in etc
 * for the overlay's top layer when etc->in_layer says so, else written in
 * dirfd to be bind-mounted; the secrets in dirfd.  env gets the
 * "NAME=value" of type=env secrets. */
int job_write_files(int dirfd, const struct job_options *o, const struct image_layers *l,
		    const struct job_net *net, const char *hostname, struct job_etc *etc,
		    char ***env, struct skiff_error **err);

/* ---- copy.c: files in and out of the container's root -------------------- */

/* In a child that joins the container's namespaces (user_ns -1: none of
 * its own): each HOST:CTR copied in, or each CTR:HOSTDIR copied out
 * (*copied gets the host paths written).  "job.copy*" errors. */
int job_copy_in(int user_ns, int mnt_ns, char *const *specs, struct skiff_error **err);
int job_copy_out(int user_ns, int mnt_ns, char *const *specs, char ***copied,
		 struct skiff_error **err);

/* ---- platform.c: a stored image against --platform ------------------------ */

/* True when there is no --platform or the stored image L is for it;
 * otherwise L is cleared and *err says which platform each is
 * (image.platform.mismatch; with --pull never, what to do instead). */
bool job_stored_platform_ok(struct image_layers *l, const struct job_options *o,
			    struct skiff_error **err);

/* ---- rootfs.c: the overlay of the layers, or the flattening fallback ----- */

struct job_rootfs {
	struct image_store *s;
	const struct image_layers *layers;
	const struct job_options *o;  /* rootfs_mode, storage_limit */
	const char *dir;              /* the container's directory, absolute */
	const char *dir_rel;          /* the same, relative to the store */
	bool userxattr;               /* the layers' whiteouts are user.overlay.* */
	const struct job_etc *etc;    /* /etc/hosts... (files.c) */
};
/* container_create over the root o->rootfs_mode asks for; in auto mode a
 * refused overlay is said once on notice_fd, then the container is created
 * over a flattened copy in DIR/rootfs.  *pid: the init's; *started: whether
 * co->start_now was done. */
int job_rootfs_create(const struct runtime_ctx *ctx, const char *id, struct create_opts *co,
		      const struct job_rootfs *rf, int notice_fd, pid_t *pid, bool *started,
		      struct skiff_error **err);

/* ---- monitor.c: from start to exit ----------------------------------------- */

/* Starts the created container ID whose init is pid (unless it was
 * created started: create_opts.start_now), passing skiff's own SIGINT,
 * SIGTERM, … on to it from then on; *start gets the time. */
int job_monitor_start(const struct runtime_ctx *ctx, const char *id, pid_t pid,
		      bool started, struct job_result *r, uint64_t *start,
		      struct skiff_error **err);
/* Streams or captures the started job's output (out_fd/err_fd: the read
 * ends of its stdout and stderr, or -1 when it writes elsewhere; log_fd:
 * --log-file or -1), enforces --timeout, and waits for it.  Fills
 * exit_code, signal, timed_out, duration and the captures of r. */
int job_monitor_watch(const struct runtime_ctx *ctx, const char *id, pid_t pid,
		      const struct job_options *o, int stop_signal, int out_fd, int err_fd,
		      int log_fd, uint64_t start, struct job_result *r, struct skiff_error **err);

/* ---- net.c, net_helper.c: networking (--network, -p, --add-host, --dns) -- */

/* pasta answers DNS there in the job's namespace, forwarded to the host's
 * first name server (as Podman 5 does). */
#define JOB_NET_PASTA_DNS "169.254.1.1"
const char *job_network_name(enum job_network m);
/* pasta and slirp4netns: a helper gives the job its link. */
bool job_network_user_mode(enum job_network m);

struct job_port {
	bool udp;
	int family;                  /* AF_INET, AF_INET6, or AF_UNSPEC: every address */
	char host_ip[48];            /* "" with AF_UNSPEC */
	uint16_t host_port, ctr_port;
};
/* -p [HOST_IP:]HOST_PORT:CTR_PORT[/tcp|udp]; HOST_IP an IPv4 address or
 * an IPv6 one in brackets.  "job.network.publish_invalid". */
int job_port_parse(const char *spec, struct job_port *p, struct skiff_error **err);
/* --add-host NAME:IP.  "job.network.add_host_invalid". */
int job_add_host_parse(const char *spec, char **name, char **ip, struct skiff_error **err);

/* The network of one job, from prepare (before anything is created) to
 * stop (after the job ended).  Passed along, never global: the end of a
 * job may run in another process than its start. */
struct job_net {
	enum job_network mode;       /* private resolved to pasta or slirp4netns */
	char *helper;                /* the helper's path (pasta, slirp4netns) */
	struct job_port *ports;
	size_t n_ports;
	char gateway[48];            /* reaches the host from the container, or "" */
	pid_t keeper;                /* supervises the helper; 0: none started */
	int stop_fd;                 /* the keeper's pipe: closing it stops the helper */
	int userns_fd;               /* rootless ns:PATH: the user namespace owning it */
	char *userns_path;           /* /proc/SKIFF_PID/fd/N of userns_fd */
	pid_t ahead;                 /* makes the network namespace ahead; 0: none */
	int ahead_sock;              /* sends it from there, or -1 */
	struct sys_netns_maker *ahead_maker; /* its stack */
};
#define JOB_NET_INIT { .stop_fd = -1, .userns_fd = -1, .ahead_sock = -1 }
/* Checks the options against the mode, resolves private, finds the helper
 * ("job.network.helper_missing" names the Debian package) and checks that
 * each -p host port can be bound now ("job.network.port_busy"). */
int job_net_prepare(const struct job_options *o, bool rootless, struct job_net *n,
		    struct skiff_error **err);
/* The container's /etc/hosts and /etc/resolv.conf: text the caller frees. */
char *job_net_hosts(const struct job_net *n, const struct job_options *o, const char *hostname);
char *job_net_resolv_conf(const struct job_net *n, const struct job_options *o);
/* The container's new network namespace, made ahead by a child (in
 * userns_fd, the user namespace the container will be in, or -1: none)
 * while the set-up goes on, for create_opts.netns_sock; nothing is made
 * for --network host or ns:PATH.  A failure is not an error: the runtime
 * then makes it as usual and says why it cannot. */
void job_net_ahead_start(struct job_net *n, const struct job_options *o, int userns_fd);
/* The socket its fd comes on, for create_opts.netns_sock (the runtime
 * receives it when it joins it), and whose stream ends once the child has
 * brought its lo up and exited, for create_opts.netns_lo_fd; n keeps it.
 * -1: none. */
int job_net_ahead_sock(const struct job_net *n);
/* The child reaped (waiting for it) and its socket closed. */
void job_net_ahead_end(struct job_net *n);
/* After create, before start: attaches the helper to the network namespace
 * of the container's init (and its user namespace), waits until it has
 * configured the interface, route and ports.  dirfd: the container's
 * directory (the helper's log, pid file and socket).  "job.network.helper_failed". */
int job_net_start(struct job_net *n, pid_t init, int dirfd, struct skiff_error **err);
/* Stops the helper (by the pid started, reaped); frees n.  Safe to call
 * on a net never started, and twice. */
void job_net_stop(struct job_net *n);

/* ---- run.c: the phases of a run -------------------------------------------- */

/* stdio of the container while it is created: what skiff's own fds were. */
struct stdio_swap {
	int saved[3];
	int out[2], err[2];
};

/* Per-run state, handed from phase to phase:
 *   prepare  image, name, container directory, spec, record (job.json)
 *   create   the container exists; --copy-in
 *   start    the job's command runs
 *   watch    streams, --timeout, exit status (the detached monitor's part)
 *   finish   --copy-out, delete, result.json, remove unless --keep */
struct job_run {
	const struct job_options *o;
	struct job_result *r;
	struct image_store *s;
	struct image_layers layers;
	json_t *config;
	struct job_spec_input in;
	struct job_etc etc;
	struct spec *spec;
	char *state_root, *dir, *cdir_rel, *hostname;
	char **secret_env;
	struct runtime_ctx ctx;
	int cdirfd, mnt_ns, user_ns, log_fd;
	struct stdio_swap sw;
	bool named, created;
	bool started_at_create;      /* create_opts.start_now was done */
	int stop_signal;
	pid_t pid;                   /* the container's init */
	uint64_t start;              /* now_ns() at start */
	/* policy, audit, events of the run (policy.c, audit.c, events.c) */
	struct job_events *ev;
	/* networking: the helper, from prepare to finish (net.c) */
	struct job_net net;
	/* containers.c: the record of the run in its directory */
	int lock_fd;                 /* STORE/containers/ID, opened for its flock */
	/* userns_keep.c: the shared user namespace the run joins, and the
	 * /proc/SKIFF_PID/fd/N path the runtime opens it by */
	int kept_userns;
	char *kept_userns_path;
};
void job_run_init(struct job_run *jr, const struct job_options *o, struct job_result *r);
int job_run_prepare(struct job_run *jr, struct skiff_error **err);
int job_run_create(struct job_run *jr, struct skiff_error **err);
int job_run_start(struct job_run *jr, struct skiff_error **err);
int job_run_watch(struct job_run *jr, struct skiff_error **err);
int job_run_finish(struct job_run *jr, int rc, struct skiff_error **err);
void job_run_clear(struct job_run *jr);
int job_run_phases(const struct job_options *o, struct job_result *r,
		   void (*started)(struct job_run *jr, void *arg), void *arg,
		   struct skiff_error **err);

/* ---- containers.c: the record a run keeps in its directory ------------------ */

/* STORE/containers/ID/job.json (what ps and inspect show, the state root
 * and stop signal kill and stop use) and the lock file readers hold. */
int job_record_write(struct job_run *jr, struct skiff_error **err);
/* When the job started: STORE/containers/ID's xattr user.skiff.started
 * (or its file started). */
void job_record_started(struct job_run *jr);
/* STORE/containers/ID/result.json, atomically: the --json document. */
void job_record_result(struct job_run *jr, const struct skiff_error *e);
/* Waits until no skiff wait or logs -f holds the lock (they read the
 * result first). */
void job_record_wait_readers(struct job_run *jr);
/* Whether NAME is of the form an unnamed container gets: job-<the first 12
 * hex digits of its id>.  Such names are not claimed in the store's names
 * directory, and --name cannot take one. */
bool job_name_is_auto(const char *name);
/* WHAT: a name, else a full ID or a unique prefix of one: its ID.
 * "job.not_found", "job.ambiguous". */
int job_resolve(struct image_store *s, const char *what, char id[static 65],
		struct skiff_error **err);
/* True while the run of STORE/containers/ID goes on (its monitor lives
 * and wrote no result yet). */
bool job_record_is_live(int storefd, const char *id);
/* RFC 3339 UTC, now.  Text the caller frees. */
char *job_time_now(void);

/* ---- detach.c: skiff run -d -------------------------------------------------- */

/* The job's stdout and stderr files in its directory (stdout.log,
 * stderr.log), opened for appending. */
int job_detach_open_logs(const struct job_run *jr, int *out, int *err_fd,
			 struct skiff_error **err);
/* Reads the log files into r's captures (up to --capture-limit each). */
void job_detach_collect_logs(struct job_run *jr);
struct job_events;

/* ---- policy.c: what a job may ask for ------------------------------------- */

/* One policy file's rules.  Unset rules allow anything. */
struct job_policy_file {
	char *path;
	char **images;               /* GLOB[@sha256:HEX]; NULL: any image */
	double max_timeout;          /* seconds; 0: none */
	int64_t max_memory;          /* bytes; 0: none */
	double max_cpus;             /* 0: none */
	char **networks;             /* mode names; NULL: any */
	/* -1: unset (allowed), 0: forbidden, 1: allowed */
	int allow_volumes, allow_cap_add, allow_seccomp_unconfined, allow_seccomp_profile,
	    allow_new_privileges;
	bool require_audit;
};

/* Every file read, in order (/etc/skiff/policy.json, $SKIFF_POLICY, the
 * user's): a job must pass each, so a later file can only tighten. */
struct job_policy {
	struct job_policy_file *files;
	size_t n_files;
};
void job_policy_clear(struct job_policy *p);
/* The default files (the ones that exist).  "policy.invalid". */
int job_policy_load(struct job_policy *p, struct skiff_error **err);
/* One file's text; path names it in errors.  "policy.invalid". */
int job_policy_parse(const char *path, const char *text, size_t len,
		     struct job_policy_file *f, struct skiff_error **err);
/* Checks o against every file and fills *eff: o with each unset --timeout,
 * --memory, --cpus set to the tightest maximum.  decisions (a JSON array,
 * or NULL) gets one object per rule a file sets.  "policy.denied". */
int job_policy_check_options(const struct job_policy *p, const struct job_options *o,
			     struct job_options *eff, json_t *decisions,
			     struct skiff_error **err);
/* IMAGE as given, before any pull: denied when no "images" glob of a file
 * can match it (digests are checked later).  "policy.denied". */
int job_policy_check_reference(const struct job_policy *p, const char *image,
			       json_t *decisions, struct skiff_error **err);
/* After resolution: what the globs see of the image (see
 * job_policy_image_subject) and its manifest digest.  "policy.denied". */
int job_policy_check_resolved(const struct job_policy *p, const char *subject,
			      const char *digest, json_t *decisions, struct skiff_error **err);
/* What the "images" globs match for IMAGE resolved to the stored name
 * STORED: a local source's "TRANSPORT:ABSPATH[:REF]", else STORED. */
char *job_policy_image_subject(const char *image, const char *stored);
/* Whether GLOB[@DIGEST] matches the reference SUBJECT ("domain/path:tag",
 * "domain/path@digest", "oci:/dir[:ref]").  digest NULL: the pin is not
 * checked yet. */
bool job_policy_image_matches(const char *glob, const char *subject, const char *digest);

/* ---- events.c, audit.c: what a run tells the world ------------------------ */

/* A run's events (--events-file, --events-fd, --notify-url), its policy and
 * its audit line: made at the start of job_run and carried to its end. */
struct curl_slist;
struct job_events {
	struct job_policy policy;
	struct job_options eff;      /* the options with the policy's defaults */
	json_t *decisions;           /* the policy's decisions, for the audit line */
	char **args;                 /* the job's argv, once its spec is built */
	char *audit_path;
	uint64_t start_ns;           /* job_run's start (monotonic) */
	int file_fd, fd;             /* --events-file, --events-fd; -1: none */
	bool sink_failed;            /* a write failed: said once */
	const char *url;
	struct curl_slist *headers;
	bool url_failed;             /* a POST failed: said once, then no more */
	const struct job_result *r;
	const char *image;           /* as given */
};

/* Opens the event sinks of o (*ev is made even when it fails, so that the
 * failure is audited).  "job.events". */
int job_events_open(const struct job_options *o, const struct job_result *r,
		    struct job_events **ev, struct skiff_error **err);
/* Loads the policy, checks o and IMAGE against it, and points *o at the
 * options with the policy's defaults.  "policy.invalid", "policy.denied",
 * "audit.write" (an audit the policy requires cannot be written). */
int job_events_policy(struct job_events *ev, const struct job_options **o,
		      struct skiff_error **err);
/* After the image is found: its name and digest against the policy. */
int job_events_policy_image(struct job_events *ev, const struct image_layers *l,
			    struct skiff_error **err);
void job_events_args(struct job_events *ev, char *const *args);
/* An event of the run: "created", "started", ... (NULL ev: nothing). */
void job_event(struct job_events *ev, const char *event);
void job_event_pull(struct job_events *ev, bool started, const struct image_layers *l);
/* The end of the run: timeout, oom and exited events (rc 0) or failed
 * (rc < 0, *err set), the audit line; frees *ev.  Returns rc, or -1 when
 * an audit the policy requires could not be written. */
int job_events_end(struct job_events **ev, int rc, struct skiff_error **err);

/* POSTs body to url (notify.c); retried on connection errors and 5xx. */
int job_notify_post(const char *url, const struct curl_slist *headers, const char *body,
		    struct skiff_error **err);

/* audit.c */
char *job_audit_default_path(void);
/* Appends line (one JSON object and its newline) to path with one write(2),
 * under a lock, rotating the file past the size limit.  "audit.write". */
int job_audit_append(const char *path, const char *line, struct skiff_error **err);
/* Makes sure path can be appended to (its directory made).  "audit.write". */
int job_audit_check(const char *path, struct skiff_error **err);

#endif
