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

/* Opens (creating when missing) the state root directory. */
int state_root_open(const struct runtime_ctx *ctx, struct skiff_error **err);
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

/* ---- namespaces.c: spawning the container's init ------------------------ */

struct init_config {
	const struct runtime_ctx *ctx;
	const struct spec *spec;
	const char *bundle;          /* absolute */
	const char *rootfs;          /* absolute */
	int fifo_fd;                 /* O_PATH fd of the exec fifo, or -1 (run) */
	int lock_fd;                 /* the state lock: closed in the children,
					which must not hold it past create */
	const struct create_opts *opts;
};

/* Forks the init (through a short-lived intermediate that enters the
 * namespaces), waits until it has built the container, and returns its pid.
 * The init then waits for *ack_fd to say go (container_init_release()). */
int container_spawn(const struct init_config *c, pid_t *pid, int *sync_fd,
		    struct skiff_error **err);
/* Tells the init that the runtime recorded it; it then waits on the fifo. */
int container_init_release(int sync_fd, struct skiff_error **err);

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

/* ---- container.c ---------------------------------------------------------- */

/* The pids of every process of a container (its pid namespace, or the init
 * and its descendants). */
int container_pids(const struct container_state *s, pid_t **out, size_t *n,
		   struct skiff_error **err);

#endif
