/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared inside image/. */
#ifndef SKIFF_IMAGE_INTERNAL_H
#define SKIFF_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include <skiff/image.h>
#include <skiff/sys.h>
#include <skiff/util.h>

/* Bounds on JSON documents read from outside: containers/image refuses
 * manifests over 4 MiB; configs are allowed more (long histories). */
#define IMAGE_MANIFEST_MAX (4u << 20)
#define IMAGE_CONFIG_MAX (16u << 20)

static inline char *image_strndup(const char *s, size_t n)
{
	return xasprintf("%.*s", (int)n, s);
}

/* jansson's own json_decrefp (json_auto_t). */
#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* ---- libraries loaded on first use (image/lazylib.c) --------------------- */

/* Loads libarchive and libcrypto, and libcurl too when NETWORK: what a pull
 * needs, before it changes anything (image.library_missing). */
int lazylib_load(bool network, struct skiff_error **err);

/* ---- digests (image/digest.c) ------------------------------------------- */

struct digester;
struct digester *digester_new(void);
void digester_update(struct digester *d, const void *buf, size_t len);
/* "sha256:HEX"; frees d. */
char *digester_finish(struct digester *d);
void digester_free(struct digester *d);
char *digest_buffer(const void *buf, size_t len);
/* Digest and size of everything left to read on fd. */
int digest_fd(int fd, char **digest, uint64_t *size, struct skiff_error **err);
/* The hex part of "sha256:HEX". */
static inline const char *digest_hex(const char *digest)
{
	return digest + 7;
}

/* ---- the store (image/store.c) ------------------------------------------ */

/* How layers are written, fixed when the store is opened. */
enum store_owners {
	STORE_OWNERS_ROOT,       /* real root: owners and devices as in the layer */
	STORE_OWNERS_RANGE,      /* a user namespace 0->uid, 1..N->subuid range */
	STORE_OWNERS_SINGLE,     /* one id: every owner collapses to the user */
};

struct image_store {
	char *path;
	int dirfd;
	int lockfd;                      /* the store lock: shared, or exclusive */
	enum store_owners owners;
	struct sys_id_map uid_map[2], gid_map[2];
	size_t n_map;
	bool notice_given;
	/* STORE_OWNERS_RANGE: the user namespace the workers join, mapped
	 * once; ns_pid is the process that makes it until userns_fd is open. */
	int userns_fd;
	pid_t ns_pid;
	int ns_resultfd;
};

/* Dirs of the store, relative to its dirfd. */
#define STORE_BLOBS "blobs/sha256"
#define STORE_LAYERS "layers/sha256"
#define STORE_TAGS "tags"
#define STORE_TMP "tmp"
#define STORE_LOCKS "locks"

int store_lock_exclusive(struct image_store *s, struct skiff_error **err);
/* An exclusive lock on locks/NAME; returns the fd holding it. */
int store_lock_entry(struct image_store *s, const char *name, struct skiff_error **err);
/* The same without waiting: -1 with errno EWOULDBLOCK when it is held. */
int store_try_lock_entry(struct image_store *s, const char *name);

bool store_has_blob(struct image_store *s, const char *digest);
bool store_has_layer(struct image_store *s, const char *diff_id);
/* Verifies data against digest and stores it as blobs/sha256/HEX. */
int store_put_blob(struct image_store *s, const char *digest, const void *data,
		   size_t len, struct skiff_error **err);
int store_read_blob(struct image_store *s, const char *digest, size_t max,
		    char **data, size_t *len, struct skiff_error **err);
/* A unique new directory under tmp/ (name returned, caller frees). */
char *store_tmp_name(const char *what);

/* Tags: one file per name under tags/, holding {"name","manifest",...}. */
int store_tag_set(struct image_store *s, const char *name, const char *manifest,
		  const char *index, struct skiff_error **err);
int store_tag_get(struct image_store *s, const char *name, char **manifest,
		  char **index, struct skiff_error **err);
int store_tag_remove(struct image_store *s, const char *name, struct skiff_error **err);
/* Every tagged name (caller frees with strv_free). */
/* The names in a directory of the store (".", ".." left out). */
char **store_dir_names(struct image_store *s, const char *dir);
char **store_tag_list(struct image_store *s);

/* Starts making the workers' user namespace in the background (a no-op
 * when the store needs none, or has it): the id mapping runs two setuid
 * helpers, which can overlap with the network. */
void store_owner_prepare(struct image_store *s);
/* Runs fn in a child process with the store's owner mapping (inside a user
 * namespace in the range mode), so that what it writes and removes has the
 * right owners; its error comes back to the caller.  out/out_len: a small
 * result the child may fill. */
typedef int (*store_owner_fn)(struct image_store *s, void *arg, void *out,
			      struct skiff_error **err);
pid_t store_owner_start(struct image_store *s, store_owner_fn fn, void *arg,
			size_t out_len, int *resultfd, struct skiff_error **err);
int store_owner_finish(pid_t pid, int resultfd, void *out, size_t out_len,
		       struct skiff_error **err);
int store_run_as_owner(struct image_store *s, store_owner_fn fn, void *arg,
		       void *out, size_t out_len, struct skiff_error **err);
/* Removes a tree below dirfd, making read-only directories writable
 * (remove_tree_as with REMOVE_TREE_WRITABLE); dirfd itself is not changed. */
int store_rm_rf_at(int dirfd, const char *name, struct skiff_error **err);
/* store_rm_rf_at under the store's owner mapping. */
int store_remove_tree(struct image_store *s, const char *path, struct skiff_error **err);

/* The name IMAGE resolves to (image_inspect's rules) and its layers'
 * diff_ids, lowest first; every layer must be in the store (caller frees
 * both). */
int store_image_layers(struct image_store *s, const char *image, char **name,
		       char ***diff_ids, struct skiff_error **err);

/* ---- unpacking (image/unpack.c) ------------------------------------------ */

struct layer_job {
	/* in */
	int fd;                          /* the blob, positioned at its start */
	/* A blob still arriving (image/fetch.c): fd is the file it is written
	 * to, read with pread; at its end, the worker waits on notify_fd,
	 * where the fetch writes a byte when there is more and which it
	 * closes when the transfer ended. */
	bool growing;
	int notify_fd;
	const char *digest;              /* expected digest of the blob, or NULL */
	uint64_t size;                   /* expected size, or 0 when unknown */
	const char *diff_id;             /* expected digest of the tar */
	const char *what;                /* "layer sha256:…" for messages */
};

struct layer_result {
	bool skipped;                    /* already in the store */
	uint64_t read;                   /* bytes of the blob read */
	unsigned devices_skipped, owners_collapsed, xattrs_skipped;
};

/* Unpacks one layer into layers/sha256/DIFF_HEX (runs as the owner). */
int layer_unpack(struct image_store *s, void *job, void *result,
		 struct skiff_error **err);

/* ---- manifests (image/manifest.c) ---------------------------------------- */

struct descriptor {
	char *media_type, *digest;
	uint64_t size;
};

struct manifest {
	struct descriptor config;
	struct descriptor *layers;
	size_t n_layers;
};

struct image_config {
	char *os, *arch, *variant, *created;
	char **diff_ids;
	size_t n_diff_ids;
};

enum manifest_kind { MANIFEST_IMAGE, MANIFEST_INDEX };

/* Classifies a manifest document by its mediaType (or shape), refusing
 * schema1 and non-image artifacts. */
int manifest_kind(const char *data, size_t len, const char *what,
		  enum manifest_kind *kind, struct skiff_error **err);
int manifest_parse(const char *data, size_t len, const char *what,
		   struct manifest *m, struct skiff_error **err);
void manifest_clear(struct manifest *m);
/* The descriptor of the manifest for platform p in an index. */
int index_select(const char *data, size_t len, const char *what,
		 const struct image_platform *p, struct descriptor *out,
		 struct skiff_error **err);
int config_parse(const char *data, size_t len, const char *what,
		 struct image_config *c, struct skiff_error **err);
void config_clear(struct image_config *c);
void descriptor_clear(struct descriptor *d);
bool platform_matches(const struct image_platform *want, const char *os,
		      const char *arch, const char *variant);

/* ---- progress (image/progress.c) ----------------------------------------- */

/* Layers are named by their index in the manifest. */
struct progress;
struct progress *progress_new(enum image_progress mode, FILE *f);
void progress_layer_begin(struct progress *p, size_t i, const struct descriptor *d,
			  const char *diff_id);
/* Bytes of layer i's blob received so far. */
void progress_layer_bytes(struct progress *p, size_t i, uint64_t bytes);
/* status: "exists" (already in the store) or "unpacked". */
void progress_layer_end(struct progress *p, size_t i, const char *status, uint64_t bytes,
			double secs);
void progress_done(struct progress *p, const char *name, const char *id, const char *manifest);
void progress_free(struct progress *p);
/* How many layers the image has, for the bars' total line (without it the
 * total counts the layers begun so far). */
void progress_set_layers(struct progress *p, size_t n);
/* For tests: the clock (nanoseconds, monotonic) and the terminal width the
 * bars use instead of now_ns() and TIOCGWINSZ. */
void progress_set_clock(struct progress *p, uint64_t (*now)(void));
void progress_set_width(struct progress *p, unsigned width);

/* ---- registry settings (image/settings.c) -------------------------------- */

struct registry_settings {
	int insecure;                    /* -1 unset, 0, 1 */
	char *ca_dir;
	char **mirrors;                  /* NULL or NULL-terminated */
	long stall_timeout;              /* seconds; 0 unset */
};

/* /etc/skiff/config.json, then the user's (caller frees with strv_free). */
char **settings_default_files(void);
/* What FILES say about HOST[:PORT], later files winning per key;
 * image.settings.invalid names the file and key of a bad value. */
int settings_load(char *const *files, const char *host, struct registry_settings *st,
		  struct skiff_error **err);
void settings_clear(struct registry_settings *st);
bool host_is_loopback(const char *hostport);
/* tls_verify: -1 not given, 0 --tls-verify=false, 1 --tls-verify=true. */
bool settings_insecure(const struct registry_settings *st, const char *hostport,
		       int tls_verify);
/* The first directory that exists of --cert-dir, ca_dir and the certs.d
 * directories for HOST[:PORT], or NULL. */
char *certs_dir_find(const char *cert_dir, const char *ca_dir, const char *hostport);

/* ---- credentials (image/auth.c) ------------------------------------------ */

struct registry_creds {
	char *user, *pass;
};

char *base64_encode(const void *data, size_t len);
/* Strict standard base64; -1 on any bad character or length. */
int base64_decode(const char *in, char **out, size_t *len);
/* "USER:PASS" (the password may hold ':'); -1 without a user. */
int creds_parse(const char *userpass, struct registry_creds *c);
void registry_creds_clear(struct registry_creds *c);
/* The auth files to read, in order: --authfile alone, else
 * $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * ~/.docker/config.json (caller frees with strv_free). */
char **auth_read_files(const char *authfile);
/* The auth file login and logout write (caller frees). */
char *auth_write_file(const char *authfile);
/* Credentials for HOST (and REPO, may be NULL) from the first of FILES with
 * an entry; *found false when none has one. */
int auth_lookup(char *const *files, const char *host, const char *repo,
		struct registry_creds *out, bool *found, struct skiff_error **err);
/* Sets HOST's entry to AUTH (base64 of USER:PASS), or removes it (every
 * entry when all) when AUTH is NULL; the file is replaced atomically, 0600. */
int auth_file_update(const char *file, const char *host, const char *auth, bool all,
		     bool *removed, struct skiff_error **err);

/* ---- the registry client (image/registry.c) ------------------------------ */

#define REGISTRY_MAX_RETRIES 4
#define REGISTRY_RETRY_AFTER_MAX 10
/* Seconds without a byte after which a transfer counts as cut (and is
 * retried, resuming a blob): registries."HOST".stall_timeout overrides. */
#define REGISTRY_STALL_TIMEOUT 20

struct registry_options {
	const char *authfile;            /* --authfile */
	const char *creds;               /* --creds USER[:PASS] */
	const char *cert_dir;            /* --cert-dir */
	int tls_verify;                  /* -1 default, 0, 1 */
};

struct auth_challenge {
	char *scheme;                    /* "bearer" or "basic" (lower case) */
	char *realm, *service, *scope;
};

struct registry;

/* Parses a WWW-Authenticate value: the Bearer challenge if there is one,
 * else the Basic one.  -1 when neither can be read. */
int www_authenticate_parse(const char *value, struct auth_challenge *c);
void auth_challenge_clear(struct auth_challenge *c);
/* Seconds to wait for a Retry-After value (delta or HTTP date) at time
 * now, capped at REGISTRY_RETRY_AFTER_MAX; -1 when it cannot be read. */
int retry_after_parse(const char *value, long now);
/* "SCHEME://ENDPOINT/v2/REPO/KIND/REF"; the endpoint of docker.io is
 * registry-1.docker.io. */
char *registry_url_build(bool http, const char *host, const char *repo,
			 const char *kind, const char *ref);
const char *registry_endpoint(const char *host);

/* Connects to HOST (settings, certificates, credentials, the /v2/ probe
 * that finds the scheme and the auth challenge).  repo may be NULL (login:
 * the credentials themselves are checked). */
int registry_open(const char *host, const char *repo, const struct registry_options *o,
		  bool login, struct registry **out, struct skiff_error **err);
void registry_free(struct registry *r);
const char *registry_host(const struct registry *r);
/* GETs KIND/REF of the repository (bounded by max while receiving), with
 * auth, retries and the error ids of docs/errors.md; checks the status. */
int registry_get(struct registry *r, const char *kind, const char *ref,
		 const char *accept, size_t max, char **body, size_t *len,
		 char **content_type, struct skiff_error **err);

/* For the parallel blob fetch (image/fetch.c): the registry's multi
 * handle, which its transfers share (connections, CA cache). */
void *registry_multi(struct registry *r);
/* Seconds a transfer may receive nothing before it counts as cut. */
long registry_stall_timeout(const struct registry *r);
void *registry_easy(struct registry *r, const char *kind, const char *ref,
		    void **headers, struct skiff_error **err);
/* After a 401 of a blob: a new token (once per call of the caller). */
int registry_reauthorize(struct registry *r, struct skiff_error **err);
/* The error for a failed transfer (curl code, HTTP status); true in
 * *retry when another attempt may succeed. */
int registry_transfer_error(struct registry *r, int curl_code, const char *curl_msg,
			    long status, const char *what, const char *kind, const char *ref,
			    bool *retry, struct skiff_error **err);
/* Milliseconds to wait before retry number attempt (from 1). */
long registry_backoff_ms(int attempt, int retry_after);

/* ---- reading an image's documents (image/registry.c) -------------------- */

/* The manifest or index REF (tag or digest) names; *digest gets its
 * computed digest, which must be want_digest when that is given. */
int registry_read_manifest(struct registry *r, const char *ref, const char *want_digest,
			   char **data, size_t *len, char **digest, struct skiff_error **err);
/* Opens the registry of ref (or the first of its mirrors that has the
 * image) and reads the manifest or index ref names. */
int registry_open_image(const struct image_ref *ref, const struct registry_options *o,
			struct registry **out, char **data, size_t *len, char **digest,
			struct skiff_error **err);
/* A manifest (what "manifest") or config blob by descriptor, verified. */
int registry_read_blob(struct registry *r, const struct descriptor *d, size_t max,
		       const char *what, char **data, size_t *len, struct skiff_error **err);

/* ---- fetching layers (image/fetch.c) ------------------------------------- */

/* Streams the missing layers of m from the registry into unpack workers,
 * several at once, resuming from and keeping partial downloads in tmp/. */
int fetch_layers(struct image_store *s, struct registry *r, const struct manifest *m,
		 const struct image_config *c, struct progress *p, struct skiff_error **err);

#endif
