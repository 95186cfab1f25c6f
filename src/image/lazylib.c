/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libcurl, libarchive and libcrypto, loaded on first use.
 *
 * Only a pull needs them, and together they pull in some 40 shared
 * libraries (GnuTLS, Kerberos, LDAP, ICU, ...) whose loading and
 * relocation cost skiff about 15 ms at every start, a third of `skiff run`
 * with a cached image.  So skiff is linked without them: each function the
 * image code calls is defined here under its own name, with the header's
 * prototype in scope (a mismatch does not compile), and forwards to the
 * real one, found with dlopen/dlsym by the soname configure recorded.  The
 * image code is unchanged; a call to a function not forwarded here fails
 * the link ("undefined reference to curl_..."): add a FORWARD line.
 *
 * The forwarders are hidden: never exported, so that the libraries' own
 * calls to their public functions cannot bind to them. */
#define CURL_DISABLE_TYPECHECK 1 /* curl_easy_setopt is a macro otherwise */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "image/image-internal.h"

struct lazy_lib {
	const char *soname;  /* as the linker would have recorded it */
	const char *package; /* the Debian package that provides it */
	const char *use;     /* what skiff needs it for */
	void *handle;
};

static struct lazy_lib libcurl = { LIBCURL_SONAME, LIBCURL_PACKAGE, "to reach a registry" };
static struct lazy_lib libarchive = { LIBARCHIVE_SONAME, LIBARCHIVE_PACKAGE,
				      "to unpack image layers" };
static struct lazy_lib libcrypto = { LIBCRYPTO_SONAME, LIBCRYPTO_PACKAGE,
				     "to verify downloaded layers" };

static int lazy_error(const struct lazy_lib *lib, const char *what, struct skiff_error **err)
{
	return skiff_error_set(err, 0, "image.library_missing",
			       "skiff needs %s %s, and cannot load it (%s): install the package %s",
			       lib->soname, lib->use, what, lib->package);
}

/* A forwarder called with no library to forward to: what the dynamic
 * loader would have done at start, only later and with a message that says
 * what to install.  image_pull() loads what it needs first (lazylib_load),
 * so this is for the other callers (skiff login). */
static _Noreturn void lazy_fail(const struct lazy_lib *lib, const char *what)
{
	_cleanup_error_ struct skiff_error *e = NULL;

	lazy_error(lib, what, &e);
	skiff_log_error(e);
	exit(125);
}

static void *lazy_open(struct lazy_lib *lib)
{
	void *h = __atomic_load_n(&lib->handle, __ATOMIC_ACQUIRE);

	if (h == NULL) {
		h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (h != NULL)
			__atomic_store_n(&lib->handle, h, __ATOMIC_RELEASE);
	}
	return h;
}

int lazylib_load(bool network, struct skiff_error **err)
{
	struct lazy_lib *libs[] = { &libarchive, &libcrypto, network ? &libcurl : NULL };

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (libs[i] != NULL && lazy_open(libs[i]) == NULL)
			return lazy_error(libs[i], dlerror(), err);
	return 0;
}

int image_http_library_load(struct skiff_error **err)
{
	return lazy_open(&libcurl) == NULL ? lazy_error(&libcurl, dlerror(), err) : 0;
}

/* The function NAME of LIB, resolved once into *SLOT.  Threads may race
 * here: dlopen and dlsym return the same values to both, so a plain atomic
 * store is enough. */
static void *lazy_resolve(struct lazy_lib *lib, const char *name, void **slot)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	void *h;

	if (fn != NULL)
		return fn;
	h = lazy_open(lib);
	if (h == NULL)
		lazy_fail(lib, dlerror());
	fn = dlsym(h, name);
	if (fn == NULL)
		lazy_fail(lib, dlerror());
	__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	return fn;
}

#define LAZY_FN(lib, ret, name, params) \
	static void *slot;              \
	ret(*fn) params = (ret(*) params)lazy_resolve(&lib, #name, &slot)

/* FORWARD(lib, ret, name, (params), (args)) defines name. */
#define FORWARD(lib, ret, name, params, args)             \
	__attribute__((visibility("hidden"))) ret name params \
	{                                                     \
		LAZY_FN(lib, ret, name, params);              \
		return fn args;                               \
	}
#define FORWARD_VOID(lib, name, params, args)                  \
	__attribute__((visibility("hidden"))) void name params \
	{                                                      \
		LAZY_FN(lib, void, name, params);              \
		fn args;                                       \
	}

/* ---- libcurl ------------------------------------------------------------ */
FORWARD(libcurl, CURLcode, curl_global_init, (long flags), (flags))
FORWARD(libcurl, CURL *, curl_easy_init, (void), ())
FORWARD_VOID(libcurl, curl_easy_cleanup, (CURL *c), (c))
FORWARD(libcurl, CURLcode, curl_easy_perform, (CURL *c), (c))
FORWARD(libcurl, CURLcode, curl_easy_pause, (CURL *c, int bitmask), (c, bitmask))
FORWARD(libcurl, char *, curl_easy_escape, (CURL *c, const char *s, int len), (c, s, len))
FORWARD(libcurl, const char *, curl_easy_strerror, (CURLcode code), (code))
FORWARD(libcurl, time_t, curl_getdate, (const char *p, const time_t *unused), (p, unused))
FORWARD(libcurl, struct curl_slist *, curl_slist_append, (struct curl_slist *l, const char *s),
	(l, s))
FORWARD_VOID(libcurl, curl_slist_free_all, (struct curl_slist *l), (l))
FORWARD(libcurl, CURLM *, curl_multi_init, (void), ())
FORWARD(libcurl, CURLMcode, curl_multi_cleanup, (CURLM *m), (m))
FORWARD(libcurl, CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *c), (m, c))
FORWARD(libcurl, CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *c), (m, c))
FORWARD(libcurl, CURLMcode, curl_multi_perform, (CURLM *m, int *running), (m, running))
FORWARD(libcurl, CURLMsg *, curl_multi_info_read, (CURLM *m, int *left), (m, left))
FORWARD(libcurl, CURLMcode, curl_multi_poll,
	(CURLM *m, struct curl_waitfd fds[], unsigned int nfds, int timeout_ms, int *numfds),
	(m, fds, nfds, timeout_ms, numfds))

/* The variadic two pass their one argument on with its real type, which
 * curl's option numbering encodes (CURLOPTTYPE_*: long, object pointer,
 * function pointer, curl_off_t, blob pointer); getinfo always takes a
 * pointer. */
__attribute__((visibility("hidden"))) CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	LAZY_FN(libcurl, CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...));
	CURLcode r;
	va_list ap;

	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		r = fn(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		r = fn(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		r = fn(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		r = fn(c, opt, va_arg(ap, curl_off_t));
	else
		r = fn(c, opt, va_arg(ap, void *));
	va_end(ap);
	return r;
}

__attribute__((visibility("hidden"))) CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	LAZY_FN(libcurl, CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...));
	CURLcode r;
	va_list ap;

	va_start(ap, info);
	r = fn(c, info, va_arg(ap, void *));
	va_end(ap);
	return r;
}

/* ---- libarchive ----------------------------------------------------------- */
FORWARD(libarchive, struct archive *, archive_read_new, (void), ())
FORWARD(libarchive, int, archive_read_free, (struct archive *a), (a))
FORWARD(libarchive, int, archive_read_support_filter_gzip, (struct archive *a), (a))
FORWARD(libarchive, int, archive_read_support_filter_zstd, (struct archive *a), (a))
FORWARD(libarchive, int, archive_read_support_format_raw, (struct archive *a), (a))
FORWARD(libarchive, int, archive_read_support_format_tar, (struct archive *a), (a))
FORWARD(libarchive, int, archive_read_open,
	(struct archive *a, void *data, archive_open_callback *o, archive_read_callback *r,
	 archive_close_callback *c),
	(a, data, o, r, c))
FORWARD(libarchive, int, archive_read_open_filename, (struct archive *a, const char *f, size_t bs),
	(a, f, bs))
FORWARD(libarchive, int, archive_read_next_header, (struct archive *a, struct archive_entry **e),
	(a, e))
FORWARD(libarchive, la_ssize_t, archive_read_data, (struct archive *a, void *buf, size_t n),
	(a, buf, n))
FORWARD(libarchive, int, archive_read_data_block,
	(struct archive *a, const void **buf, size_t *n, la_int64_t *off), (a, buf, n, off))
FORWARD(libarchive, int, archive_read_data_into_fd, (struct archive *a, int fd), (a, fd))
FORWARD(libarchive, int, archive_errno, (struct archive *a), (a))
FORWARD(libarchive, const char *, archive_error_string, (struct archive *a), (a))
FORWARD(libarchive, time_t, archive_entry_atime, (struct archive_entry *e), (e))
FORWARD(libarchive, int, archive_entry_atime_is_set, (struct archive_entry *e), (e))
FORWARD(libarchive, long, archive_entry_atime_nsec, (struct archive_entry *e), (e))
FORWARD(libarchive, time_t, archive_entry_mtime, (struct archive_entry *e), (e))
FORWARD(libarchive, long, archive_entry_mtime_nsec, (struct archive_entry *e), (e))
FORWARD(libarchive, __LA_MODE_T, archive_entry_filetype, (struct archive_entry *e), (e))
FORWARD(libarchive, __LA_MODE_T, archive_entry_perm, (struct archive_entry *e), (e))
FORWARD(libarchive, la_int64_t, archive_entry_uid, (struct archive_entry *e), (e))
FORWARD(libarchive, la_int64_t, archive_entry_gid, (struct archive_entry *e), (e))
FORWARD(libarchive, la_int64_t, archive_entry_size, (struct archive_entry *e), (e))
FORWARD(libarchive, dev_t, archive_entry_rdev, (struct archive_entry *e), (e))
FORWARD(libarchive, const char *, archive_entry_pathname, (struct archive_entry *e), (e))
FORWARD(libarchive, const char *, archive_entry_hardlink, (struct archive_entry *e), (e))
FORWARD(libarchive, const char *, archive_entry_symlink, (struct archive_entry *e), (e))
FORWARD(libarchive, int, archive_entry_xattr_reset, (struct archive_entry *e), (e))
FORWARD(libarchive, int, archive_entry_xattr_next,
	(struct archive_entry *e, const char **name, const void **value, size_t *size),
	(e, name, value, size))

/* A format string cannot be forwarded: format here, pass the text. */
__attribute__((visibility("hidden"))) void archive_set_error(struct archive *a, int err,
							     const char *fmt, ...)
{
	LAZY_FN(libarchive, void, archive_set_error, (struct archive *, int, const char *, ...));
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(a, err, "%s", msg);
}

/* ---- libcrypto (streaming digests of layers) ----------------------------- */
FORWARD(libcrypto, const EVP_MD *, EVP_sha256, (void), ())
FORWARD(libcrypto, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
FORWARD_VOID(libcrypto, EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx))
FORWARD(libcrypto, int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *t, ENGINE *impl),
	(ctx, t, impl))
FORWARD(libcrypto, int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t n), (ctx, d, n))
FORWARD(libcrypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *n),
	(ctx, md, n))
