/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — thin Linux wrappers: safe path resolution inside a root, user
 * namespace id mappings, process identity, fd hygiene. */
#ifndef SKIFF_SYS_H
#define SKIFF_SYS_H

#include <sched.h>
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

/* Whether PID, a child of this process, has ended by a signal: a zombie
 * killed or dumped, left unreaped (waitid WNOWAIT) for whoever reaps it.
 * One that is exiting is waited for; one that is not is not. */
bool sys_child_killed(pid_t pid);
/* uid's name in the user database, or NULL: looked up once for the last
 * uid asked (through nsswitch, a dozen system calls), then remembered. */
const char *sys_user_name(uid_t uid);

/* Opens a pidfd for PID and checks that it is still the process that
 * started at start_time.  Returns -1 with errno ESRCH when it is gone. */
int sys_pidfd_open_checked(pid_t pid, uint64_t start_time);

/* Waits until the process behind pidfd has exited (for non-children). */
int sys_pidfd_wait_exit(int pidfd, int timeout_ms);

/* The CPUs this task may run on but the one it is on now, for a child
 * meant to run beside it; false (set undefined) when there is no other. */
bool sys_cpus_elsewhere(cpu_set_t *set);

/* A system call that leaves errno alone: -errno on failure, -ENOSYS on
 * architectures without it (x86_64 and aarch64 have it).  For a task that
 * runs on another's memory (errno included) while that one runs too. */
long sys_quiet_syscall4(long nr, long a, long b, long c, long d);

/* A new network namespace, made by a child beside the caller (it costs the
 * kernel about half a millisecond: its loopback device, its sysctl
 * tables): the child enters userns_fd first (-1: stays in the caller's),
 * sends the namespace's fd over the unix socket sock (SCM_RIGHTS, one
 * byte), then brings the namespace's lo up and exits: the peer of sock
 * then reads the end of the stream (the caller must have closed its own
 * copy of sock), and lo is up, unless the child could not.  It runs on
 * the caller's memory (no copy of it to make or to fault back in), on
 * mk's stack, making raw system calls only: mk must stay until the caller
 * has reaped the pid returned.  -1 (errno): not started (ENOSYS: not on
 * this architecture). */
struct sys_netns_maker {
	_Alignas(16) char stack[16384];
};
pid_t sys_netns_maker_start(int userns_fd, int sock, struct sys_netns_maker *mk);

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
