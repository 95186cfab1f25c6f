/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — thin Linux wrappers: safe path resolution inside a root, user
 * namespace id mappings, process identity, fd hygiene. */
#ifndef SKIFF_SYS_H
#define SKIFF_SYS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <skiff/error.h>

/* ---- paths inside a root (sys/path.c) ------------------------------------ */

enum sys_create { SYS_NO_CREATE, SYS_CREATE_DIR, SYS_CREATE_FILE };

/* Opens PATH relative to the directory ROOTFD as if ROOTFD were "/": no
 * symlink and no ".." can leave it (openat2 RESOLVE_IN_ROOT).  With create,
 * missing components are made as directories, and the last one as a
 * directory or an empty regular file; a dangling symlink on the way is
 * followed inside the root.  Returns an O_PATH fd, or -1 with *err set. */
int sys_open_in_root(int rootfd, const char *path, enum sys_create create,
		     mode_t mode, struct skiff_error **err);

/* The same without following any symlink (RESOLVE_NO_SYMLINKS): for
 * destinations that must be real directories of the rootfs, such as
 * /proc and /sys.  ELOOP, with *err set, when the path crosses a symlink. */
int sys_open_in_root_nofollow(int rootfd, const char *path, struct skiff_error **err);

/* "/proc/self/fd/N": a path naming the object behind fd, for syscalls that
 * take only paths (mount(2)).  buf must hold 32 bytes. */
const char *sys_fd_path(int fd, char buf[static 32]);

/* ---- user namespaces (sys/userns.c) --------------------------------------- */

struct sys_id_map {
	uint32_t inside, outside, count;
};

/* True when this process can write an arbitrary map for a child namespace
 * (CAP_SETUID and CAP_SETGID in its own user namespace). */
bool sys_can_write_any_map(void);

/* Writes /proc/PID/{setgroups,uid_map,gid_map} for the user namespace of
 * PID.  A map that only maps the caller's own id is written directly (with
 * setgroups "deny" when the caller lacks CAP_SETGID); anything else goes
 * through newuidmap/newgidmap when the caller is not privileged. */
int sys_write_id_maps(pid_t pid, const struct sys_id_map *uid_map, size_t n_uid,
		      const struct sys_id_map *gid_map, size_t n_gid,
		      struct skiff_error **err);

/* True when this process runs in the initial user namespace. */
bool sys_in_initial_userns(void);

/* setgroups, setresgid and setresuid for the calling task alone: the system
 * calls (their 32-bit id forms where the architecture has two), not glibc's
 * wrappers, which apply them to every thread glibc knows of.  For a
 * container's set-up processes, which may run on the runtime's memory
 * (runtime/namespaces.c) and see its threads as their own.  -1 with errno. */
int sys_task_setgroups(size_t n, const uint32_t *gids);
int sys_task_setresgid(uint32_t gid);
int sys_task_setresuid(uint32_t uid);

/* ---- processes (sys/proc.c) ----------------------------------------------- */

/* Writes data to PATH relative to /proc (for example "sys/net/core/somaxconn"
 * or "self/oom_score_adj"), refusing with EXDEV a /proc that is not the
 * root of a procfs mount and a file reached through another mount or a
 * magic link. */
int sys_write_procfs(const char *path, const char *data);

/* The start time of PID in clock ticks since boot (/proc/PID/stat field 22):
 * with the pid it identifies a process across pid reuse. */
int sys_proc_start_time(pid_t pid, uint64_t *out);

/* Opens a pidfd for PID and checks that it is still the process that
 * started at start_time.  Returns -1 with errno ESRCH when it is gone. */
int sys_pidfd_open_checked(pid_t pid, uint64_t start_time);

/* Waits until the process behind pidfd has exited (for non-children). */
int sys_pidfd_wait_exit(int pidfd, int timeout_ms);

/* A system call that leaves errno alone: -errno on failure, -ENOSYS on
 * architectures without it (x86_64 and aarch64 have it).  For a task that
 * runs on another's memory (errno included) while that one runs too. */
long sys_quiet_syscall4(long nr, long a, long b, long c, long d);

/* Makers: a child beside the caller makes something the kernel takes a
 * while over and sends its fd back, while the caller goes on with other
 * work.  The child runs on the caller's memory (no copy of it to make or
 * to fault back in), on a stack of its own, making raw system calls only,
 * off the caller's CPU where there is another.  A start returns 0, or -1
 * when no child was started (ENOSYS: not on this architecture); take then
 * returns the fd (close-on-exec), or -1 when the child could not make it.
 * The child may still be exiting then (a mount namespace of its own takes
 * the kernel a while to tear down): end reaps it, and frees its stack,
 * later; it closes an fd never taken.  Every maker started must be ended. */
struct sys_maker {
	pid_t pid;                   /* 0: none */
	int sock;
	void *stack;
};
#define SYS_MAKER_INIT { .pid = 0, .sock = -1, .stack = NULL }
int sys_maker_take(struct sys_maker *m);
void sys_maker_end(struct sys_maker *m);

/* A new network namespace (about half a millisecond of the kernel's: its
 * loopback device, its sysctl tables), made after entering userns_fd (-1:
 * stays in the caller's). */
int sys_netns_maker_start(struct sys_maker *m, int userns_fd);

/* An overlay mount for a container's root (its superblock and the work
 * directory's entries cost the kernel about 0.3 ms): the child enters
 * userns_fd (-1: stays) and there a mount namespace of its own (fsopen
 * and fsmount want CAP_SYS_ADMIN over the caller's), creates upper (0755)
 * and work (0700) when missing, builds the overlay (the layers one by
 * one, "lowerdir+", Linux 6.8) and sends the detached mount (fsmount).
 * ov must stay until the maker is taken.  The child gives up on any
 * refusal: the caller makes the mount itself then, and reports why. */
struct sys_overlay {
	const char *const *lower;    /* topmost first */
	size_t n_lower;
	const char *upper, *work;
	bool userxattr, volatile_upper;
};
int sys_overlay_maker_start(struct sys_maker *m, const struct sys_overlay *ov, int userns_fd);

/* ---- fds (sys/fd.c) ------------------------------------------------------- */

/* Marks every fd >= from close-on-exec (close_range, or a /proc walk). */
int sys_cloexec_from(int from);
/* Closes every fd >= from that is not close-on-exec: those the caller left
 * open (skiff opens everything O_CLOEXEC), so that the container's init
 * does not hold a host fd while it sets up (CVE-2024-21626). */
int sys_close_inherited_from(int from);
/* Receives one message of at most len bytes into data and the one fd sent
 * with it (SCM_RIGHTS), close-on-exec, into *fd.  Returns the bytes
 * received, or -1 with errno (EPROTO: a message without exactly one fd;
 * 0 bytes and no fd: the peer closed). */
ssize_t sys_recv_fd(int sock, void *data, size_t len, int *fd);

/* ---- the runtime's own binary (sys/cloned_binary.c) ----------------------- */

/* CVE-2019-5736: re-executes skiff from a sealed memfd copy of its binary,
 * so that no process in a container can reach the host's file through
 * /proc/PID/exe.  Returns 0 without doing anything when already running
 * from such a copy, or when SKIFF_NO_CLONED_BINARY=1 (a benchmark knob);
 * does not return when it re-executes. */
int sys_reexec_from_sealed_copy(struct skiff_error **err);
/* True when /proc/self/exe is a memfd with skiff's seals. */
bool sys_running_from_sealed_copy(void);

#endif
