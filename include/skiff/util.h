/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — utilities shared by every area: cleanup attributes, logging,
 * strings, files. */
#ifndef SKIFF_UTIL_H
#define SKIFF_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <skiff/error.h>

/* ---- cleanup attributes ------------------------------------------------ */

static inline void skiff_freep(void *p) { free(*(void **)p); }
static inline void skiff_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
static inline void skiff_fclosep(FILE **f)
{
	if (*f != NULL)
		fclose(*f);
}
static inline void skiff_closedirp(DIR **d)
{
	if (*d != NULL)
		closedir(*d);
}
void skiff_strvfreep(char ***v);

#define _cleanup_free_ __attribute__((cleanup(skiff_freep)))
#define _cleanup_close_ __attribute__((cleanup(skiff_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(skiff_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(skiff_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(skiff_strvfreep)))

/* Hands ownership on: returns the value and clears the variable so that its
 * cleanup attribute does nothing. */
#define steal_pointer(pp) ({ __typeof__(*(pp)) _p = *(pp); *(pp) = NULL; _p; })
#define steal_fd(fdp) ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- memory: these abort on allocation failure (as crun's xmalloc) ------- */

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Appends the formatted text to the allocated string *s. */
void xstrappendf(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- string vectors (NULL-terminated) ------------------------------------ */

size_t strv_length(char *const *v);
void strv_free(char **v);
char **strv_copy(char *const *v);

/* ---- logging ------------------------------------------------------------- */

enum skiff_log_level { SKIFF_LOG_ERROR, SKIFF_LOG_WARNING, SKIFF_LOG_INFO,
		       SKIFF_LOG_DEBUG };
enum skiff_log_format { SKIFF_LOG_TEXT, SKIFF_LOG_JSON };

/* Messages go to stderr as "skiff: MSG" and, when a log file is set, to it
 * in the chosen format (runc's contract: JSON lines with level, msg, time). */
void skiff_log_init(const char *program, enum skiff_log_level level);
int skiff_log_set_file(const char *path, enum skiff_log_format fmt,
		       struct skiff_error **err);
void skiff_log(enum skiff_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void skiff_log_error(const struct skiff_error *e);
bool skiff_log_debug_enabled(void);

#define log_debug(...) do { if (skiff_log_debug_enabled()) \
	skiff_log(SKIFF_LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) skiff_log(SKIFF_LOG_INFO, __VA_ARGS__)
#define log_warning(...) skiff_log(SKIFF_LOG_WARNING, __VA_ARGS__)

/* ---- files --------------------------------------------------------------- */

/* Reads a whole file (at most max bytes; more is an error). */
int read_file_at(int dirfd, const char *path, size_t max, char **out,
		 size_t *len, struct skiff_error **err);
/* Writes data to dirfd/path atomically: a temporary file in the same
 * directory (not fsync'd), then renamed over the final name. */
int write_file_atomic_at(int dirfd, const char *path, const void *data,
			 size_t len, mode_t mode, struct skiff_error **err);
/* Creates dirfd/path, which must not exist, with data and mode (whatever
 * the umask): for a directory nobody else reads while it is written,
 * where the rename of write_file_atomic_at buys nothing.  A failure
 * removes the file. */
int write_file_new_at(int dirfd, const char *path, const void *data, size_t len,
		      mode_t mode, struct skiff_error **err);
/* Writes a short string to an existing file (procfs, sysfs). */
int write_file_at(int dirfd, const char *path, const char *data,
		  struct skiff_error **err);
/* Writes all of buf, retrying on EINTR and short writes. */
ssize_t write_all(int fd, const void *buf, size_t len);
/* mkdir -p: the missing parents 0755, PATH itself MODE (errno set). */
int mkdir_parents(const char *path, mode_t mode);
/* Removes a tree below dirfd/name without following symlinks: a symlink is
 * removed as itself.  Errors have the id "file.remove". */
int remove_tree_at(int dirfd, const char *name, struct skiff_error **err);
/* A directory left read-only (a layer's 0555 /usr) is made 0700 when an
 * unlink in it is refused; dirfd itself is never changed. */
#define REMOVE_TREE_WRITABLE 1u
/* remove_tree_at with FLAGS (REMOVE_TREE_*), its errors carrying ID. */
int remove_tree_as(int dirfd, const char *name, unsigned flags, const char *id,
		   struct skiff_error **err);

/* ---- SHA-256 (util/sha256.c): small digests on hot paths --------------- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
};
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t n);
/* Finishes the digest: 64 hex digits and a NUL. */
void sha256_hex(struct sha256 *c, char out[static 65]);
/* The block function in use: "sha-ni" (the CPU's SHA extensions) or
 * "portable"; sha256_force_portable(true) picks the portable one whatever
 * the CPU has (the tests check both against the same vectors). */
const char *sha256_impl(void);
void sha256_force_portable(bool on);

/* ---- numbers ------------------------------------------------------------- */

/* Parses a whole decimal number into [min, max]; -1 with errno EINVAL or
 * ERANGE otherwise. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Signal by name ("TERM", "SIGTERM", "term") or number; -1 if unknown. */
int signal_parse(const char *s);
const char *signal_name(int sig);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

#endif
