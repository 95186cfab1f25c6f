/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — the image area: references and transports, the content-addressed
 * store, pulling from local layouts and archives, unpacking layers safely.
 * image/ uses sys/ and util/ only. */
#ifndef SKIFF_IMAGE_H
#define SKIFF_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <skiff/error.h>
#include <skiff/sys.h>

/* ---- references (image/reference.c) ------------------------------------- */

/* A normalized reference, as Docker normalizes it: "alpine" is
 * docker.io/library/alpine:latest.  tag is NULL only when a digest is
 * given without a tag; digest is NULL unless given. */
struct image_ref {
	char *domain;            /* "docker.io", "localhost:5000", "[::1]:5000" */
	char *path;              /* "library/alpine" */
	char *tag;               /* "latest" */
	char *digest;            /* "sha256:<64 hex>" */
	bool short_name;         /* no domain was written */
};

/* Parses [domain[:port]/]path[:tag][@digest].  A bad reference fails with
 * an id naming the part: image.reference.{empty,too_long,bad_domain,
 * bad_port,bad_path,uppercase,bad_tag,bad_digest}. */
int image_ref_parse(const char *s, struct image_ref *ref, struct skiff_error **err);
void image_ref_clear(struct image_ref *ref);
/* "domain/path" */
char *image_ref_name(const struct image_ref *ref);
/* "domain/path[:tag][@digest]" */
char *image_ref_string(const struct image_ref *ref);

/* A digest "ALGO:HEX"; only sha256 is accepted (64 lowercase hex). */
int image_digest_parse(const char *s, const char *what, struct skiff_error **err);

enum image_transport {
	IMAGE_TRANSPORT_DOCKER,          /* docker://REF, or a bare REF */
	IMAGE_TRANSPORT_OCI,             /* oci:DIR[:REF] */
	IMAGE_TRANSPORT_OCI_ARCHIVE,     /* oci-archive:FILE[:REF] */
	IMAGE_TRANSPORT_DOCKER_ARCHIVE,  /* docker-archive:FILE[:REF] */
};

struct image_source {
	enum image_transport transport;
	struct image_ref ref;    /* docker:// only */
	char *path;              /* the DIR or FILE of a local source */
	char *local_ref;         /* the REF after DIR/FILE, or NULL */
};

int image_source_parse(const char *s, struct image_source *src,
		       struct skiff_error **err);
void image_source_clear(struct image_source *src);
const char *image_transport_name(enum image_transport t);

/* ---- platforms (image/platform.c) ---------------------------------------- */

struct image_platform {
	char *os, *arch, *variant;       /* variant may be NULL */
};

/* "os/arch[/variant]", or NULL for this host. */
int image_platform_parse(const char *s, struct image_platform *p,
			 struct skiff_error **err);
void image_platform_clear(struct image_platform *p);
char *image_platform_string(const struct image_platform *p);
/* Whether the stored image L (its config's os, architecture, variant) is
 * for PLATFORM ("os/arch[/variant]"): 0, or -1 with image.platform.mismatch
 * naming both (image.platform.bad for a malformed PLATFORM). */
struct image_layers;
int image_layers_check_platform(const struct image_layers *l, const char *platform,
				struct skiff_error **err);

/* ---- the store (image/store.c) ------------------------------------------- */

struct image_store;

/* Opens (creating it if needed) the store at dir, or the default one:
 * $XDG_DATA_HOME/skiff (~/.local/share/skiff), /var/lib/skiff for root. */
int image_store_open(const char *dir, struct image_store **out,
		     struct skiff_error **err);
void image_store_close(struct image_store *s);
const char *image_store_path(const struct image_store *s);
static inline void image_store_closep(struct image_store **s)
{
	if (*s != NULL)
		image_store_close(*s);
}
#define _cleanup_store_ __attribute__((cleanup(image_store_closep)))
/* Drops the shared lock image_store_open took, for a process that keeps
 * the store open for long (a job's run, while it watches the job) once
 * what it uses is recorded under STORE_CONTAINERS: prune, which waits for
 * the lock, honours that record. */
void image_store_unlock(struct image_store *s);

/* ---- pulling (image/pull.c) ---------------------------------------------- */

/* LINES: a line per finished layer; BARS: a bar per layer and a total,
 * redrawn in place (for a terminal); JSON: a JSON object per line. */
enum image_progress { IMAGE_PROGRESS_LINES, IMAGE_PROGRESS_QUIET,
		      IMAGE_PROGRESS_JSON, IMAGE_PROGRESS_BARS };

/* --tls-verify: as the settings say (loopback insecure), true, false. */
enum image_tls_verify { IMAGE_TLS_DEFAULT, IMAGE_TLS_VERIFY, IMAGE_TLS_NO_VERIFY };

struct image_pull_options {
	const char *platform;            /* "os/arch[/variant]" or NULL */
	enum image_progress progress;
	FILE *progress_out;              /* stderr when NULL */
	/* registries only (docker://) */
	const char *authfile;            /* --authfile, else the default files */
	const char *creds;               /* --creds USER:PASS, instead of auth files */
	const char *cert_dir;            /* --cert-dir: CA certificates (*.crt) */
	enum image_tls_verify tls_verify;
};

/* Pulls SOURCE into the store and tags it; *name gets the stored name
 * (caller frees) when name is not NULL. */
int image_pull(struct image_store *s, const char *source,
	       const struct image_pull_options *o, char **name,
	       struct skiff_error **err);

/* libcurl, which skiff loads only when it needs it (image/lazylib.c), now:
 * for the other users of HTTP (skiff run --notify-url).
 * "image.library_missing" names the Debian package. */
int image_http_library_load(struct skiff_error **err);

/* ---- registry logins (image/auth.c) ------------------------------------- */

struct image_login_options {
	const char *authfile;            /* --authfile, else the default file */
	const char *cert_dir;
	enum image_tls_verify tls_verify;
};

/* Checks USER and PASS against REGISTRY's /v2/ (through its token server
 * when it asks for Bearer), then stores them in the auth file. */
int image_login(const char *registry, const char *user, const char *pass,
		const struct image_login_options *o, struct skiff_error **err);
/* Removes REGISTRY's credentials (every registry's when all); *file gets
 * the auth file (caller frees).  image.auth.not_logged_in when none. */
int image_logout(const char *registry, bool all, const char *authfile, char **file,
		 struct skiff_error **err);
/* ---- flattening (image/flatten.c) ------------------------------------------ */

/* Applies IMAGE's layers (a name or id, as image_inspect takes) in order
 * into the new directory DEST, for hosts where overlayfs cannot stack them:
 * whiteouts remove, opaque directories hide what lower layers had, and
 * files, directories, symlinks, hardlinks, devices (as root), modes with
 * setuid/setgid, owners, xattrs (not the store's overlay.* ones) and times
 * are kept.  No symlink is ever followed inside DEST, so a lower layer's
 * symlink cannot carry an upper layer's file out of it.  Runs with the
 * store's owner mapping: rootless with a range, the owners are the same
 * real ids as in the store.  DEST must not exist, or be an empty directory
 * (image.flatten.dest_not_empty); it is created with mode 0700, then gets
 * the image root's mode.  On failure what was made in DEST is removed (DEST
 * too, if it was made).  Errors: image.not_found, image.store.missing,
 * image.flatten.{dest,dest_not_empty,write}. */
int image_flatten(struct image_store *s, const char *image, const char *dest,
		  struct skiff_error **err);

/* ---- what the store holds (image/images.c) ------------------------------- */

struct image_info {
	char *name;              /* "docker.io/library/alpine:latest" */
	char *manifest;          /* manifest digest */
	char *config;            /* config digest: the image id */
	char *platform;          /* "linux/amd64" */
	char *created;           /* the config's "created", or NULL */
	uint64_t size;           /* sum of the layers' compressed sizes */
	size_t n_layers;
};
void image_info_free(struct image_info *v, size_t n);

int image_list(struct image_store *s, struct image_info **out, size_t *n,
	       struct skiff_error **err);
/* IMAGE: a name (normalized, short names also tried under localhost/), or
 * an image id (config digest, or a prefix of 12+ hex digits).  Returns a
 * JSON text (caller frees): name, digests, platform, layers, config. */
int image_inspect(struct image_store *s, const char *image, char **json,
		  struct skiff_error **err);
/* Removes the name IMAGE (every name of the id when IMAGE is an id); the
 * content goes with the next prune.  *removed gets the names removed. */
int image_remove(struct image_store *s, const char *image, char ***removed,
		 struct skiff_error **err);

struct image_prune_result {
	size_t blobs, layers, tmp;       /* entries removed */
};
/* Removes every blob and layer that no tag and no container (see
 * STORE_CONTAINERS) uses, and leftovers in tmp/. */
int image_prune(struct image_store *s, struct image_prune_result *r,
		struct skiff_error **err);

/* What a container is made of (image/images.c): IMAGE as for
 * image_inspect; dirs are the unpacked layer trees, lowest first. */
/* The job face's containers live in STORE/containers/ID/; each records in
 * its file job.json, a JSON object, the member "image_digest": the manifest
 * digest of the image its root stacks.  image_prune keeps what any
 * container there uses. */
#define STORE_CONTAINERS "containers"
#define STORE_CONTAINER_RECORD "job.json"

struct image_layers {
	char *name;              /* the stored name */
	char *manifest;          /* manifest digest */
	char *id;                /* config digest */
	char *config;            /* the image config JSON */
	size_t config_len;
	char **dirs;             /* NULL-terminated */
	size_t n_dirs;
};
int image_layers_get(struct image_store *s, const char *image, struct image_layers *out,
		     struct skiff_error **err);
void image_layers_clear(struct image_layers *l);

/* How the layers' owners were written (image/store.c): as they are (real
 * root, n = 0), through a user namespace mapping 0 to the user and 1..N to
 * its subordinate range (n = 2, maps filled), or collapsed to the user
 * (n = 0).  A container over the layers uses the same mapping. */
enum image_owners { IMAGE_OWNERS_ROOT, IMAGE_OWNERS_RANGE, IMAGE_OWNERS_SINGLE };
enum image_owners image_store_owners(const struct image_store *s,
				     struct sys_id_map uid_map[2],
				     struct sys_id_map gid_map[2], size_t *n);
/* Removes PATH (relative to the store) with the rights of the layers'
 * owner: in the range mode, from inside that user namespace. */
int image_store_remove(struct image_store *s, const char *path, struct skiff_error **err);
/* The store directory's fd (for *at() calls below it). */
int image_store_dirfd(const struct image_store *s);

/* Checks the store: every blob matches its digest, every tag's manifest,
 * config and layers are present, no half-made entry is visible. */
int image_store_verify(struct image_store *s, struct skiff_error **err);

#endif
