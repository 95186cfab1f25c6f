/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the files of the runtime area only. */
#ifndef SKIFF_RUNTIME_INTERNAL_H
#define SKIFF_RUNTIME_INTERNAL_H

#include <skiff/runtime.h>
#include <skiff/sys.h>
#include <skiff/util.h>

#define SKIFF_OCI_VERSION "1.2.0"   /* the runtime-spec version skiff speaks */
#define EXEC_FIFO "exec.fifo"
#define STATE_FILE "state.json"

/* ---- state.c: what a container's state dir records ---------------------- */

struct container_state {
	char *id;
	char *bundle;            /* absolute */
	pid_t pid;
	uint64_t start_time;     /* of pid, to survive pid reuse */
	char *created;           /* RFC 3339 */
	uid_t owner;
	bool own_pidns;          /* the container has its own pid namespace */
	char *cgroup;            /* its cgroup v2 directory, or NULL (none) */
	char *cgroup_leaf;       /* the leaf skiff moved into to make it, or NULL */
	struct spec_kv *annotations;
	size_t n_annotations;
};
void container_state_free(struct container_state *s);
static inline void container_state_freep(struct container_state **s)
{
	if (*s)
		container_state_free(*s);
}
#define _cleanup_state_ __attribute__((cleanup(container_state_freep)))

/* Opens the state root directory, creating it when create is set;
 * "container.not_found" when it does not exist. */
int state_root_open(const struct runtime_ctx *ctx, bool create, struct skiff_error **err);
/* Creates the state dir of a new container; "container.exists" when taken. */
int state_dir_create(int rootfd, const char *id, struct skiff_error **err);
/* Opens and locks (flock, exclusive) the state dir of an existing container;
 * "container.not_found" when there is none. */
int state_dir_open_locked(int rootfd, const char *id, struct skiff_error **err);
int state_write(int dirfd, const struct container_state *s, struct skiff_error **err);
int state_read(int dirfd, const char *id, struct container_state **out,
	       struct skiff_error **err);
/* created / running / stopped, from the init's liveness and the fifo. */
enum container_status state_status(int dirfd, const struct container_state *s);
int state_remove(int rootfd, const char *id, struct skiff_error **err);
char *rfc3339_now(void);

/* ---- capabilities.c: process.capabilities -------------------------------- */

struct cap_sets {                /* bit N: capability N */
	uint64_t bounding, effective, permitted, inheritable, ambient;
	int last_cap;            /* the running kernel's cap_last_cap */
};

/* process.capabilities -> bit sets for a process running as uid.  NULL
 * gives empty sets (runc and crun do the same).  Names above last_cap are
 * dropped with a warning (config.md); ambient capabilities that are not permitted
 * and inheritable are dropped (the kernel cannot raise them); an effective
 * one that is not permitted is "spec.invalid". */
int capabilities_resolve(const struct spec_caps *caps, uid_t uid, int last_cap,
			 struct cap_sets *out, struct skiff_error **err);
/* In the init, still root: drops the bounding set, sets keep-caps. */
int capabilities_before_user_switch(const struct cap_sets *s, struct skiff_error **err);
/* In the init, after setresuid(): the final sets, then the ambient set. */
int capabilities_apply(const struct cap_sets *s, struct skiff_error **err);

/* ---- seccomp.c: linux.seccomp ---------------------------------------------- */

struct sock_filter;
#define SECCOMP_BPF_MAX_INSNS 4096   /* the kernel's limit (BPF_MAXINSNS) */
/* A profile compiled to BPF (or read from the cache) by the runtime before
 * it forks, with its load flags and, for SCMP_ACT_NOTIFY, the connected
 * socket of the agent: the init only loads it. */
struct seccomp_filter;

/* *out is NULL when the spec has no linux.seccomp.  Errors: "spec.invalid"
 * (JSON path), "seccomp.rule", "seccomp.compile", "seccomp.notify". */
int seccomp_filter_prepare(const struct spec *s, const char *id, const char *bundle,
			   struct seccomp_filter **out, struct skiff_error **err);
void seccomp_filter_free(struct seccomp_filter *f);
static inline void seccomp_filter_freep(struct seccomp_filter **f)
{
	seccomp_filter_free(*f);
}
#define _cleanup_seccomp_filter_ __attribute__((cleanup(seccomp_filter_freep)))
/* In the init, while /proc is still the runtime's: the pid reported to a
 * SCMP_ACT_NOTIFY agent.  No-op without one. */
void seccomp_filter_note_init_pid(struct seccomp_filter *f);
/* In the init: seccomp(SECCOMP_SET_MODE_FILTER), then hands the notify fd
 * to the agent.  "seccomp.load", "seccomp.notify". */
int seccomp_filter_install(struct seccomp_filter *f, struct skiff_error **err);
/* For a caller that makes the system call itself: the program (false when
 * the filter has a listener, whose fd seccomp_filter_install() hands on),
 * the flags, and the error for errno after the kernel refused it. */
struct sock_fprog;
bool seccomp_filter_prog(const struct seccomp_filter *f, struct sock_fprog *prog);
unsigned int seccomp_filter_flags(const struct seccomp_filter *f);
int seccomp_filter_load_error(struct skiff_error **err);

/* The steps, exposed for the unit tests.  Actions, ops and architectures
 * by their OCI names; ctx is a libseccomp scmp_filter_ctx. */
int seccomp_action_value(const char *name, bool has_errno_ret, uint32_t errno_ret,
			 uint32_t *out);
int seccomp_op_value(const char *name);          /* enum scmp_compare, or -1 */
uint32_t seccomp_arch_value(const char *name);   /* SCMP_ARCH_*, 0 if unknown */
bool seccomp_arch_runs_here(uint32_t arch, uint32_t native);
unsigned int seccomp_load_flags(const struct spec_seccomp *sc);
int seccomp_build(const struct spec_seccomp *sc, void **ctx, struct skiff_error **err);
int seccomp_compile(const struct spec_seccomp *sc, struct sock_filter **insns,
		    size_t *n, struct skiff_error **err);
/* seccomp_cache.c */
char *seccomp_cache_key(const struct spec_seccomp *sc);   /* sha256, hex */
int seccomp_cache_open(void);   /* the cache directory's fd, or -1: no cache */
int seccomp_cache_read(int dirfd, const char *key, struct sock_filter **insns, size_t *n);
void seccomp_cache_write(int dirfd, const char *key, const struct sock_filter *insns,
			 size_t n);

/* ---- namespaces.c: spawning the container's init ------------------------ */

struct cgroup;                   /* cgroup-internal.h */

struct init_config {
	const struct runtime_ctx *ctx;
	const char *id;
	const struct spec *spec;
	const char *bundle;          /* absolute */
	const char *rootfs;          /* absolute */
	int fifo_fd;                 /* O_PATH fd of the exec fifo, or -1 (run) */
	/* Create and start at once (create_opts.start_now, when
	 * container_spawn_chain() allows it): stage 1 and the init run on the
	 * runtime's memory, one after the other, while the runtime waits
	 * until the job is exec'd.  chain_stack: the init's stack (top). */
	bool chain;
	char *chain_stack;
	int runtime_pidfd;           /* chain: the runtime's pidfd, or -1 */
	int lock_fd;                 /* the state lock: closed in the children,
					which must not hold it past create */
	const struct create_opts *opts;
	struct cap_sets caps;        /* process.capabilities, resolved */
	struct seccomp_filter *seccomp; /* linux.seccomp, prepared before fork, or NULL */
	bool seccomp_loaded;         /* in the init: by init_prepare_beside_seccomp() */
	/* The container's cgroup, or NULL: stage 1 waits until the runtime
	 * has moved it there, before it enters any namespace. */
	const struct cgroup *cgroup;
	int console_fd;              /* process.terminal: the init sends its pty
					master there (terminal.c), or -1 */
	int sync_fd;                 /* in the init: its socket to the runtime */
};

/* Forks the init (through a short-lived intermediate, *stage1, that enters
 * the namespaces) and returns its pid as soon as it is known (after the
 * runtime's hooks, when the spec has some), while the init builds the
 * container.  container_init_ready() then waits for the init to be done,
 * and reaps *stage1 whatever happened; the init then waits for *sync_fd to
 * say go (container_init_release()). */
int container_spawn(const struct init_config *c, pid_t *pid, int *sync_fd, pid_t *stage1,
		    struct skiff_error **err);
int container_init_ready(int sync_fd, pid_t stage1, struct skiff_error **err);
/* Whether c can be spawned as a chain (create_opts.start_now): the runtime
 * has nothing to do between the fork and the job's execve (no cgroup to
 * enter, no id maps to write, no hooks, no terminal to receive). */
bool container_spawn_chain(const struct init_config *c);
/* Tells the init that the runtime recorded it; it then waits on the fifo. */
int container_init_release(int sync_fd, struct skiff_error **err);
/* In the init, before pivot_root: asks the runtime to run the prestart and
 * createRuntime hooks, and learns its own pid as the host sees it. */
int container_sync_runtime_hooks(const struct init_config *c, pid_t *host_pid,
				 struct skiff_error **err);

/* ---- hooks.c: config.json's hooks ------------------------------------------ */

/* The runtime-spec state JSON handed to hooks on stdin (caller frees). */
char *hooks_state_json(const char *id, const char *status, pid_t pid,
		       const char *bundle, const struct spec_kv *ann, size_t n_ann);
/* Runs the hooks of one list in order, each with state on stdin.  fatal:
 * the first failure is the error ("hook.failed", "hook.timeout",
 * "hook.exec"); otherwise failures are logged as warnings. */
int hooks_run(const struct spec_hook *list, size_t n, const char *kind,
	      const char *state, bool fatal, struct skiff_error **err);
/* True when prestart, createRuntime, createContainer or startContainer
 * hooks exist: the init then syncs with the runtime before pivot_root. */
bool hooks_any_before_start(const struct spec *s);
/* The runtime, during create: prestart then createRuntime. */
int hooks_create_runtime(const struct init_config *c, pid_t init,
			 struct skiff_error **err);
/* The init, before pivot_root: the runtime's hooks, then createContainer. */
int hooks_before_pivot(const struct init_config *c, struct skiff_error **err);
/* The init, during start, before the process is executed. */
int hooks_start_container(const struct init_config *c, struct skiff_error **err);
/* poststart and poststop, recorded in the state dir at create ("hooks.json"),
 * read back by start and delete as a spec holding only hooks (*out NULL
 * when there are none). */
int hooks_save(int statefd, const struct spec *s, struct skiff_error **err);
int hooks_load(int statefd, struct spec **out, struct skiff_error **err);

/* ---- rootfs.c / devices.c: inside the new mount namespace ---------------- */

int rootfs_setup(const struct init_config *c, struct skiff_error **err);
int devices_setup(const struct init_config *c, int rootfd, struct skiff_error **err);
/* After pivot_root: masked and read-only paths, sysctl, read-only root. */
int rootfs_finish(const struct init_config *c, struct skiff_error **err);
/* Mount flags kept by the kernel on a bind remount in a user namespace. */
unsigned long rootfs_locked_flags(const char *path);

/* ---- process.c: the last steps of the init before execve ---------------- */

/* Resolves args[0] against the container's PATH; "exec.not_found" or
 * "exec.not_executable".  Returns the path to exec (caller frees). */
int process_find_executable(const struct spec_process *p, char **out,
			    struct skiff_error **err);
int process_apply_rlimits(const struct spec_process *p, struct skiff_error **err);
int process_apply_user(const struct spec_process *p, struct skiff_error **err);
/* Enters process.cwd, resolved inside the current root, and checks that
 * the kernel sees it inside ("container.cwd_outside" otherwise). */
int process_enter_cwd(const struct spec_process *p, struct skiff_error **err);
/* process.env, plus LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES when listen_fds
 * fds are passed on (they replace any the spec has).  Caller frees. */
char **process_env(const struct spec_process *p, int listen_fds);

/* ---- container.c ---------------------------------------------------------- */

/* In the init, on the exec fifo: the error that ends it during start (a
 * startContainer hook, the execve), for `start` to report. */
void container_start_report(int fifo, const struct skiff_error *e);

/* The pids of every process of a container (its pid namespace, or the init
 * and its descendants). */
int container_pids(const struct container_state *s, pid_t **out, size_t *n,
		   struct skiff_error **err);

/* Writes pid to --pid-file path atomically (relative to the cwd). */
int write_pid_file(const char *path, pid_t pid, struct skiff_error **err);

/* ---- terminal.c: process.terminal ----------------------------------------- */

/* create / run: *console_fd gets where the init sends its pty master (-1
 * without process.terminal): --console-socket, else with proxy one end of
 * a socketpair whose other end is *proxy_fd.  "terminal.no_console_socket"
 * without either; "terminal.console_socket" for a socket without terminal. */
int terminal_for_create(const struct spec_process *p, const char *console_socket,
			bool proxy, int *console_fd, int *proxy_fd, struct skiff_error **err);
/* Connects to --console-socket path; "terminal.no_console_socket" for NULL. */
int terminal_console_connect(const char *path, struct skiff_error **err);
/* In the container's process: a new session, a pty from the container's
 * /dev/ptmx as controlling terminal and stdio (process.consoleSize applied),
 * its master sent to console_fd as runc sends it. */
int terminal_setup(int console_fd, const struct spec_process *p, struct skiff_error **err);
/* Receives the master that terminal_setup() sent over sock. */
int terminal_recv_master(int sock, int *master, struct skiff_error **err);
/* The size of the caller's terminal (the first of fds 0-2 that is one). */
bool terminal_caller_size(struct spec_console_size *out);
/* The pty's size from the caller's terminal, unless consoleSize set one:
 * before the process can run, so that it starts with the right size. */
void terminal_initial_size(int master);
/* skiff as the pty proxy: its own terminal raw (restored before it
 * returns), stdin -> master -> stdout, SIGWINCH -> the pty's size, until
 * pid (a child) exits; *exit_status as `run` reports it. */
int terminal_proxy(int master, pid_t pid, int *exit_status, struct skiff_error **err);

/* ---- exec.c ------------------------------------------------------------------ */

/* Keeps BUNDLE/config.json in the state dir for `exec`. */
int exec_config_save(int statefd, const char *bundle, struct skiff_error **err);

#endif
