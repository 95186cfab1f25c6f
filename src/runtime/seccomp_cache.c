/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cache of compiled seccomp filters: a profile's BPF program, kept
 * under a key that changes with anything that changes the program, so that
 * a container start with a known profile skips libseccomp's compiler.  A
 * cache is an optimization only: anything wrong with it means "compile". */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime-internal.h"

/* Bumped whenever the translation changes what a profile compiles to, so
 * that a cache written by another skiff is never reused. */
#define CACHE_FORMAT "skiff-seccomp-bpf-2"

static void digest_str(struct sha256 *md, const char *tag, const char *s)
{
	/* Each field as TAG NUL VALUE NUL (or TAG NUL 0xff when absent): no
	 * two profiles serialize alike. */
	sha256_update(md, tag, strlen(tag) + 1);
	if (s != NULL)
		sha256_update(md, s, strlen(s) + 1);
	else
		sha256_update(md, "\xff", 1);
}

static void digest_u64(struct sha256 *md, const char *tag, bool has, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	digest_str(md, tag, has ? buf : NULL);
}

/* The cache key: sha256 over a canonical serialization of what shapes the
 * BPF program (the default action, architectures and rules, in order: rule
 * order matters to libseccomp), the skiff, libseccomp and kernel that build
 * and run it, and the native architecture.  Flags and the listener do not
 * change the program; whitespace and key order of config.json do not count. */
char *seccomp_cache_key(const struct spec_seccomp *sc)
{
	const struct scmp_version *v = seccomp_version();
	struct sha256 ctx, *md = &ctx;
	struct utsname u;
	char *hex = xmalloc(65);

	sha256_init(md);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	digest_str(md, "format", CACHE_FORMAT);
	digest_str(md, "skiff", PACKAGE_VERSION);
	digest_u64(md, "libseccomp", true,
		   (uint64_t)v->major << 32 | (uint64_t)v->minor << 16 | v->micro);
	digest_u64(md, "native", true, seccomp_arch_native());
	digest_str(md, "kernel", u.release);
	digest_str(md, "defaultAction", sc->default_action);
	digest_u64(md, "defaultErrnoRet", sc->has_default_errno_ret, sc->default_errno_ret);
	for (size_t i = 0; i < sc->n_architectures; i++)
		digest_str(md, "arch", sc->architectures[i]);
	for (size_t i = 0; i < sc->n_syscalls; i++) {
		const struct spec_seccomp_syscall *s = &sc->syscalls[i];

		digest_str(md, "rule", s->action);
		digest_u64(md, "errnoRet", s->has_errno_ret, s->errno_ret);
		for (size_t j = 0; j < s->n_names; j++)
			digest_str(md, "name", s->names[j]);
		for (size_t a = 0; a < s->n_args; a++) {
			digest_u64(md, "index", true, s->args[a].index);
			digest_u64(md, "value", true, s->args[a].value);
			digest_u64(md, "valueTwo", true, s->args[a].value_two);
			digest_str(md, "op", s->args[a].op);
		}
	}
	sha256_hex(md, hex);
	return hex;
}

/* Opens (creating) a directory below dirfd that only we can write. */
static int open_private_dir(int dirfd, const char *name)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
			return -1;
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	/* A program loaded from here decides what the container may do:
	 * nobody else may be able to put one here. */
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* $XDG_CACHE_HOME/skiff/seccomp, else /var/cache/skiff/seccomp for root
 * and ~/.cache/skiff/seccomp for others (the state root's order); -1 when
 * disabled (SKIFF_SECCOMP_CACHE=0) or unusable: the profile is then
 * compiled each time. */
int seccomp_cache_open(void)
{
	const char *off = getenv("SKIFF_SECCOMP_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int basefd = -1, skiffd = -1;
	int fd;

	if (off != NULL && strcmp(off, "0") == 0)
		return -1;
	if (xdg != NULL && xdg[0] == '/')
		base = xstrdup(xdg);
	else if (geteuid() == 0 && sys_in_initial_userns())
		base = xstrdup("/var/cache");
	else if (home != NULL && home[0] == '/')
		base = xasprintf("%s/.cache", home);
	else
		return -1;
	/* The XDG base directory spec: create it 0700 when missing. */
	basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0 && errno == ENOENT) {
		if (mkdir(base, 0700) < 0 && errno != EEXIST)
			goto unusable;
		basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (basefd < 0)
		goto unusable;
	skiffd = open_private_dir(basefd, "skiff");
	if (skiffd < 0)
		goto unusable;
	fd = open_private_dir(skiffd, "seccomp");
	if (fd < 0)
		goto unusable;
	return fd;
unusable:
	log_debug("seccomp: no cache of compiled filters in %s/skiff/seccomp: %s",
		  base, strerror(errno));
	return -1;
}

int seccomp_cache_read(int dirfd, const char *key, struct sock_filter **insns, size_t *n)
{
	_cleanup_free_ char *name = xasprintf("%s.bpf", key);
	_cleanup_free_ struct sock_filter *buf = NULL;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > SECCOMP_BPF_MAX_INSNS) {
		log_debug("seccomp: ignoring the cache entry %s (foreign or malformed)", name);
		return -1;
	}
	buf = xmalloc((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		return -1;
	*n = (size_t)st.st_size / sizeof(struct sock_filter);
	*insns = steal_pointer(&buf);
	return 0;
}

void seccomp_cache_write(int dirfd, const char *key, const struct sock_filter *insns,
			 size_t n)
{
	_cleanup_free_ char *name = xasprintf("%s.bpf", key);
	_cleanup_error_ struct skiff_error *err = NULL;

	/* Atomic: a concurrent start reads the whole program or none. */
	if (write_file_atomic_at(dirfd, name, insns, n * sizeof(*insns), 0600, &err) < 0)
		log_debug("seccomp: not cached: %s", err->msg);
}
