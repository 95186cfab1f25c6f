/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry client: HTTP(S) through libcurl, the distribution spec's
 * auth dance, and the retries.
 *
 *   open: settings -> certificates -> credentials -> GET /v2/ (which scheme
 *   answers; which challenge: none, Basic, or Bearer with a token realm)
 *   get:  GET /v2/REPO/KIND/REF with the Authorization of the challenge;
 *         a 401 gets a new token once; connection errors, 5xx and 429 are
 *         retried with backoff (Retry-After honoured, capped), at most
 *         REGISTRY_MAX_RETRIES times; everything else fails at once.
 *
 * Every request of a registry goes through one curl multi handle (the layer
 * fetch of image/fetch.c too): its connections are kept and reused.  The
 * system's CAs are not parsed up front (the ~140 of Debian's bundle cost
 * ~30 ms of CPU, on every pull): libcurl gets their hashed directory
 * (CURLOPT_CAPATH), where OpenSSL looks up only the issuers a chain
 * needs.  A registry's certs.d CAs are parsed, once for all connections
 * (libcurl's CA cache, which needs a file: they are kept in a memfd named
 * by its /proc/self/fd path).  Without a CA directory, the system bundle
 * and the certs.d CAs are joined in that memfd.
 *
 * Proxies come from the environment, as libcurl reads them (http_proxy,
 * https_proxy, no_proxy).  Nothing secret is logged: URLs carry no
 * credentials, and the Authorization header is never printed.  libcurl
 * drops a custom Authorization header when a redirect leads to another
 * host (blobs are often served from storage elsewhere). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "image/image-internal.h"

#define TOKEN_MAX (1u << 20)
#define ERROR_BODY_MAX (64u << 10)

struct registry {
	char *host;                      /* as in the reference: "docker.io" */
	char *repo;                      /* "library/alpine", or NULL */
	bool insecure, http;             /* http: plain HTTP answered, HTTPS did not */
	bool login;                      /* checking credentials for skiff login */
	char *ca_blob;                   /* the CAs to parse up front, PEM; NULL: defaults */
	size_t ca_len;
	int ca_fd;                       /* a memfd holding ca_blob, or -1 */
	char *ca_file;                   /* "/proc/self/fd/N" of ca_fd, or NULL */
	char *ca_path;                   /* the system's hashed CA directory, or NULL */
	long stall_timeout;              /* seconds without a byte: a cut transfer */
	CURLM *multi;                    /* every transfer of this registry */
	char *client_cert, *client_key;
	struct registry_creds creds;
	bool have_creds;
	struct auth_challenge ch;        /* the last challenge; scheme NULL: none */
	char *auth;                      /* "Bearer T" or "Basic B", or NULL */
	uint64_t auth_expiry_ns;         /* 0: never */
};

const char *registry_host(const struct registry *r)
{
	return r->host;
}

const char *registry_endpoint(const char *host)
{
	if (strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0)
		return "registry-1.docker.io";
	return host;
}

char *registry_url_build(bool http, const char *host, const char *repo, const char *kind,
			 const char *ref)
{
	const char *scheme = http ? "http" : "https";

	if (repo == NULL)
		return xasprintf("%s://%s/v2/", scheme, registry_endpoint(host));
	return xasprintf("%s://%s/v2/%s/%s/%s", scheme, registry_endpoint(host), repo, kind, ref);
}

long registry_backoff_ms(int attempt, int retry_after)
{
	long ms = 500L << (attempt > 5 ? 5 : attempt - 1);

	if (retry_after >= 0)
		ms = retry_after * 1000L;
	return ms > REGISTRY_RETRY_AFTER_MAX * 1000L ? REGISTRY_RETRY_AFTER_MAX * 1000L : ms;
}

/* ---- one request ------------------------------------------------------------------ */

struct response {
	char *body;
	size_t len, max;
	bool too_big;
	long status;
	char *www_auth, *retry_after, *content_type, *content_digest;
};

static void response_clear(struct response *x)
{
	free(x->body);
	free(x->www_auth);
	free(x->retry_after);
	free(x->content_type);
	free(x->content_digest);
	x->body = x->www_auth = x->retry_after = x->content_type = x->content_digest = NULL;
	x->len = 0;
	x->too_big = false;
	x->status = 0;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *data)
{
	struct response *x = data;

	size *= n;
	if (x->len + size > x->max) {
		x->too_big = true;
		return 0;
	}
	x->body = xrealloc(x->body, x->len + size + 1);
	memcpy(x->body + x->len, ptr, size);
	x->len += size;
	x->body[x->len] = '\0';
	return size;
}

static void header_value(char **slot, const char *line, size_t n, size_t name_len)
{
	const char *v = line + name_len;
	size_t k = n - name_len;

	while (k && (*v == ' ' || *v == '\t')) {
		v++;
		k--;
	}
	while (k && (v[k - 1] == '\r' || v[k - 1] == '\n' || v[k - 1] == ' '))
		k--;
	free(*slot);
	*slot = image_strndup(v, k);
}

static size_t on_header(char *line, size_t size, size_t n, void *data)
{
	struct response *x = data;

	n *= size;
	/* A new status line: the headers of a redirect do not count. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		free(x->www_auth);
		free(x->retry_after);
		free(x->content_digest);
		x->www_auth = x->retry_after = x->content_digest = NULL;
	} else if (n > 22 && strncasecmp(line, "docker-content-digest:", 22) == 0) {
		header_value(&x->content_digest, line, n, 22);
	} else if (n > 17 && strncasecmp(line, "www-authenticate:", 17) == 0) {
		header_value(&x->www_auth, line, n, 17);
	} else if (n > 12 && strncasecmp(line, "retry-after:", 12) == 0) {
		header_value(&x->retry_after, line, n, 12);
	} else if (n > 13 && strncasecmp(line, "content-type:", 13) == 0) {
		header_value(&x->content_type, line, n, 13);
	}
	return n;
}

/* The options every request to this registry has. */
static struct curl_slist *setup(struct registry *r, CURL *h, const char *url,
				const char *accept, bool with_auth)
{
	struct curl_slist *hdrs = NULL;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A stalled transfer is a cut one: retried (and resumed).  libcurl
	 * does not count the time a transfer is paused (a full pipe). */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->stall_timeout);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "skiff/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (r->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->ca_path) {
		/* The system's CAs are looked up in their hashed directory when a
		 * chain needs one, rather than parsed all (some 140) up front. */
		curl_easy_setopt(h, CURLOPT_CAPATH, r->ca_path);
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	}
	if (r->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
	} else if (r->ca_blob && r->ca_len > 0) {
		struct curl_blob b = { .data = r->ca_blob, .len = r->ca_len,
				       .flags = CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	}
	if (r->client_cert && r->client_key) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, r->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, r->client_key);
	}
	if (accept) {
		_cleanup_free_ char *a = xasprintf("Accept: %s", accept);

		hdrs = curl_slist_append(hdrs, a);
	}
	if (with_auth && r->auth) {
		_cleanup_free_ char *a = xasprintf("Authorization: %s", r->auth);

		hdrs = curl_slist_append(hdrs, a);
		explicit_bzero(a, strlen(a));
	}
	if (hdrs)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

static void slist_free_secret(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

void *registry_multi(struct registry *r)
{
	return r->multi;
}

long registry_stall_timeout(const struct registry *r)
{
	return r->stall_timeout;
}

/* curl_easy_perform, but in the registry's multi handle, so that the
 * connection and the parsed CAs stay for the next request. */
static CURLcode registry_perform(struct registry *r, CURL *h)
{
	CURLcode c = CURLE_OK;
	CURLMcode mc = curl_multi_add_handle(r->multi, h);
	bool done = false;

	if (mc != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (!done) {
		CURLMsg *msg;
		int running, left;

		mc = curl_multi_perform(r->multi, &running);
		while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == h) {
				c = msg->data.result;
				done = true;
			}
		}
		if (!done && mc == CURLM_OK)
			mc = curl_multi_poll(r->multi, NULL, 0, 1000, NULL);
		if (!done && mc != CURLM_OK) {
			c = CURLE_RECV_ERROR;
			break;
		}
	}
	curl_multi_remove_handle(r->multi, h);
	return c;
}

/* One GET, no retry.  Returns the curl code; x gets status and body. */
static CURLcode perform(struct registry *r, const char *url, const char *accept,
			struct response *x, const char *user, const char *pass,
			bool with_auth, char errbuf[CURL_ERROR_SIZE])
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs;
	CURLcode c;

	if (h == NULL)
		abort();
	hdrs = setup(r, h, url, accept, with_auth);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
	if (user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
	}
	c = registry_perform(r, h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
	if (c == CURLE_FILESIZE_EXCEEDED)
		x->too_big = true;
	log_debug("GET %s: %ld%s%s", url, x->status, c ? ", " : "", c ? curl_easy_strerror(c) : "");
	curl_easy_cleanup(h);
	slist_free_secret(hdrs);
	return c;
}

static bool curl_is_tls(int c)
{
	return c == CURLE_SSL_CONNECT_ERROR || c == CURLE_PEER_FAILED_VERIFICATION ||
	       c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CIPHER ||
	       c == CURLE_SSL_CACERT_BADFILE || c == CURLE_SSL_ISSUER_ERROR ||
	       c == CURLE_SSL_PINNEDPUBKEYNOTMATCH || c == CURLE_SSL_INVALIDCERTSTATUS ||
	       c == CURLE_SSL_CRL_BADFILE || c == CURLE_USE_SSL_FAILED ||
	       c == CURLE_SSL_ENGINE_INITFAILED;
}

/* The part of the reference a failure is about, for messages. */
static char *what_part(const struct registry *r, const char *kind, const char *ref)
{
	if (kind == NULL || r->repo == NULL)
		return xasprintf("the registry %s", r->host);
	if (strcmp(kind, "manifests") == 0)
		return xasprintf("%s %s in the repository %s on %s",
				 strncmp(ref, "sha256:", 7) == 0 ? "the manifest" : "the tag", ref,
				 r->repo, r->host);
	return xasprintf("the blob %s in the repository %s on %s", ref, r->repo, r->host);
}

int registry_transfer_error(struct registry *r, int c, const char *curl_msg, long status,
			    const char *what, const char *kind, const char *ref, bool *retry,
			    struct skiff_error **err)
{
	_cleanup_free_ char *part = what_part(r, kind, ref);

	*retry = false;
	if (c != CURLE_OK && curl_is_tls(c))
		return skiff_error_set(err, 0, "image.registry.tls",
				       "TLS with %s failed (%s): add its CA certificate as a *.crt "
				       "file in ~/.config/skiff/certs.d/%s/ or /etc/skiff/certs.d/%s/ "
				       "(or --cert-dir DIR), or, if you trust the network, use "
				       "--tls-verify=false", r->host, curl_msg && *curl_msg ? curl_msg :
				       curl_easy_strerror((CURLcode)c), r->host, r->host);
	if (c != CURLE_OK && c != CURLE_HTTP_RETURNED_ERROR) {
		*retry = true;
		return skiff_error_set(err, 0, "image.registry.unreachable",
				       "cannot reach %s for %s (%s): check the registry's name and "
				       "port in the reference, the network and the proxy variables",
				       r->host, what ? what : part, curl_msg && *curl_msg ? curl_msg :
				       curl_easy_strerror((CURLcode)c));
	}
	if (status == 401 && r->login)
		return skiff_error_set(err, 0, "image.registry.unauthorized",
				       "%s did not accept these credentials: check the user name "
				       "and the password", r->host);
	switch (status) {
	case 401:
		return skiff_error_set(err, 0, "image.registry.unauthorized",
				       "unauthorized for %s: run `skiff login %s` (or pass --creds "
				       "USER:PASS); check the repository name too, registries answer "
				       "401 for repositories that do not exist", part, r->host);
	case 403:
		return skiff_error_set(err, 0, "image.registry.denied",
				       "access to %s is denied for these credentials: check the "
				       "repository name, or log in as a user who may pull it", part);
	case 404:
		return skiff_error_set(err, 0, "image.registry.not_found",
				       "%s does not exist: %s", part,
				       kind && strcmp(kind, "blobs") == 0 ?
				       "the image on the registry is incomplete; push it again" :
				       "check the repository name and the tag or digest");
	}
	*retry = status == 429 || status >= 500;
	return skiff_error_set(err, 0, "image.registry.http",
			       "%s answered HTTP %ld for %s%s%s: %s", r->host, status, part,
			       what ? ", " : "", what ? what : "",
			       *retry ? "the registry is overloaded or failing; try again later"
				      : "the registry does not behave as the distribution spec says");
}

/* ---- auth ------------------------------------------------------------------------- */

static int fetch_token(struct registry *r, const char *scope, struct skiff_error **err)
{
	_cleanup_free_ char *url = NULL, *esc_service = NULL, *esc_scope = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct response x = { .max = TOKEN_MAX };
	char errbuf[CURL_ERROR_SIZE];
	json_t *t, *exp;
	CURLcode c;
	bool retry;
	int rc = -1;

	if (strncmp(r->ch.realm, "https://", 8) != 0 && strncmp(r->ch.realm, "http://", 7) != 0)
		return skiff_error_set(err, 0, "image.registry.bad_response",
				       "%s asks for a token from \"%s\", which is not an http(s) URL",
				       r->host, r->ch.realm);
	esc_service = r->ch.service ? curl_easy_escape(NULL, r->ch.service, 0) : NULL;
	esc_scope = scope ? curl_easy_escape(NULL, scope, 0) : NULL;
	url = xasprintf("%s%s%s%s%s%s", r->ch.realm, strchr(r->ch.realm, '?') ? "&" : "?",
			esc_service ? "service=" : "", esc_service ? esc_service : "",
			esc_scope ? (esc_service ? "&scope=" : "scope=") : "",
			esc_scope ? esc_scope : "");
	for (int attempt = 0;; attempt++) {
		response_clear(&x);
		c = perform(r, url, NULL, &x, r->have_creds ? r->creds.user : NULL,
			    r->have_creds ? r->creds.pass : NULL, false, errbuf);
		if (c == CURLE_OK && x.status == 200)
			break;
		if (registry_transfer_error(r, c, errbuf, x.status, "the token request", NULL, NULL,
					    &retry, err) < 0 && (!retry || attempt == REGISTRY_MAX_RETRIES))
			goto out;
		skiff_error_freep(err);
		usleep((useconds_t)registry_backoff_ms(attempt + 1, retry_after_parse(x.retry_after, time(NULL))) * 1000);
	}
	j = json_loadb(x.body ? x.body : "", x.len, 0, NULL);
	t = json_object_get(j, "token");
	if (!json_is_string(t) || json_string_length(t) == 0)
		t = json_object_get(j, "access_token");
	if (!json_is_string(t) || json_string_length(t) == 0 ||
	    strpbrk(json_string_value(t), "\r\n") != NULL) {
		skiff_error_set(err, 0, "image.registry.bad_response",
				"the token server of %s answered without a token (no \"token\" or "
				"\"access_token\" string)", r->host);
		goto out;
	}
	free(r->auth);
	r->auth = xasprintf("Bearer %s", json_string_value(t));
	exp = json_object_get(j, "expires_in");
	/* The spec's default lifetime is 60 s; refresh a little early. */
	r->auth_expiry_ns = now_ns() + (uint64_t)((json_is_integer(exp) && json_integer_value(exp) > 10
						    ? json_integer_value(exp) : 60) - 5) * 1000000000ull;
	log_debug("got a token for %s (scope %s)", r->host, scope ? scope : "none");
	rc = 0;
out:
	if (x.body)
		explicit_bzero(x.body, x.len);
	response_clear(&x);
	return rc;
}

/* Sets r->auth for the current challenge. */
static int authorize(struct registry *r, struct skiff_error **err)
{
	_cleanup_free_ char *scope = NULL;

	if (r->ch.scheme == NULL)
		return 0;
	if (strcmp(r->ch.scheme, "basic") == 0) {
		_cleanup_free_ char *up = NULL, *b = NULL;

		if (!r->have_creds)
			return 0;
		up = xasprintf("%s:%s", r->creds.user, r->creds.pass);
		b = base64_encode(up, strlen(up));
		free(r->auth);
		r->auth = xasprintf("Basic %s", b);
		explicit_bzero(up, strlen(up));
		explicit_bzero(b, strlen(b));
		r->auth_expiry_ns = 0;
		return 0;
	}
	if (r->ch.scope)
		scope = xstrdup(r->ch.scope);
	else if (r->repo)
		scope = xasprintf("repository:%s:pull", r->repo);
	return fetch_token(r, scope, err);
}

int registry_reauthorize(struct registry *r, struct skiff_error **err)
{
	return authorize(r, err);
}

static int fresh_auth(struct registry *r, struct skiff_error **err)
{
	if (r->auth && r->auth_expiry_ns && now_ns() >= r->auth_expiry_ns)
		return authorize(r, err);
	return 0;
}

/* A 401 names the challenge to answer; true when it is worth one retry. */
static bool take_challenge(struct registry *r, const char *www_auth)
{
	struct auth_challenge c;

	if (www_auth == NULL || www_authenticate_parse(www_auth, &c) < 0)
		return false;
	auth_challenge_clear(&r->ch);
	r->ch = c;
	return strcmp(c.scheme, "bearer") == 0 || r->have_creds;
}

/* ---- requests with retries ---------------------------------------------------------- */

static int get_url(struct registry *r, const char *url, const char *kind, const char *ref,
		   const char *what, const char *accept, struct response *x,
		   struct skiff_error **err)
{
	char errbuf[CURL_ERROR_SIZE];
	bool reauthorized = false, retry;
	int attempt = 0;

	for (;;) {
		CURLcode c;

		if (fresh_auth(r, err) < 0)
			return -1;
		response_clear(x);
		c = perform(r, url, accept, x, NULL, NULL, true, errbuf);
		if (x->too_big)
			return skiff_error_set(err, 0, "image.manifest.too_big",
					       "%s: %s is more than %zu bytes, more than skiff accepts",
					       what, url, x->max);
		if (c == CURLE_OK && x->status >= 200 && x->status < 300)
			return 0;
		if (c == CURLE_OK && x->status == 401 && !reauthorized &&
		    take_challenge(r, x->www_auth)) {
			reauthorized = true;
			if (authorize(r, err) < 0)
				return -1;
			continue;
		}
		registry_transfer_error(r, c, errbuf, x->status, NULL, kind, ref, &retry, err);
		if (!retry || attempt == REGISTRY_MAX_RETRIES)
			return -1;
		attempt++;
		{
			long ms = registry_backoff_ms(attempt, retry_after_parse(x->retry_after, time(NULL)));

			log_debug("%s: retry %d of %d in %ld ms: %s", what, attempt,
				  REGISTRY_MAX_RETRIES, ms, (*err)->msg);
			skiff_error_freep(err);
			usleep((useconds_t)ms * 1000);
		}
	}
}

int registry_get(struct registry *r, const char *kind, const char *ref, const char *accept,
		 size_t max, char **body, size_t *len, char **content_type,
		 struct skiff_error **err)
{
	_cleanup_free_ char *url = registry_url_build(r->http, r->host, r->repo, kind, ref);
	_cleanup_free_ char *what = what_part(r, kind, ref);
	struct response x = { .max = max };

	if (get_url(r, url, kind, ref, what, accept, &x, err) < 0) {
		response_clear(&x);
		return -1;
	}
	/* Asked by digest, the registry names what it sends: another digest
	 * of the same algorithm means it is confused, or something between
	 * us rewrites answers (the body is verified by the caller too). */
	if (x.content_digest && strncmp(ref, "sha256:", 7) == 0 &&
	    strncmp(x.content_digest, "sha256:", 7) == 0 && strcmp(x.content_digest, ref) != 0) {
		skiff_error_set(err, 0, "image.registry.digest_mismatch",
				"%s: %s answered with Docker-Content-Digest %s: the registry or a "
				"proxy in between is broken or tampers with answers", what,
				r->host, x.content_digest);
		response_clear(&x);
		return -1;
	}
	*body = x.body ? steal_pointer(&x.body) : xstrdup("");
	*len = x.len;
	if (content_type)
		*content_type = steal_pointer(&x.content_type);
	response_clear(&x);
	return 0;
}

void *registry_easy(struct registry *r, const char *kind, const char *ref, void **headers,
		    struct skiff_error **err)
{
	_cleanup_free_ char *url = registry_url_build(r->http, r->host, r->repo, kind, ref);
	CURL *h;

	if (fresh_auth(r, err) < 0)
		return NULL;
	h = curl_easy_init();
	if (h == NULL)
		abort();
	*headers = setup(r, h, url, NULL, true);
	log_debug("GET %s", url);
	return h;
}

/* ---- manifests and configs --------------------------------------------------------- */

#define MANIFEST_ACCEPT "application/vnd.oci.image.index.v1+json, " \
	"application/vnd.oci.image.manifest.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.docker.distribution.manifest.v2+json"

int registry_read_manifest(struct registry *r, const char *ref, const char *want_digest,
			   char **data, size_t *len, char **digest, struct skiff_error **err)
{
	_cleanup_free_ char *body = NULL, *actual = NULL;
	size_t n;

	if (registry_get(r, "manifests", ref, MANIFEST_ACCEPT, IMAGE_MANIFEST_MAX, &body, &n,
			 NULL, err) < 0)
		return -1;
	/* What is stored is what we computed, whatever the headers said. */
	actual = digest_buffer(body, n);
	if (want_digest && strcmp(actual, want_digest) != 0)
		return skiff_error_set(err, 0, "image.blob.digest_mismatch",
				       "the manifest %s from %s has the digest %s: it is corrupt "
				       "or was tampered with", want_digest, registry_host(r), actual);
	*data = steal_pointer(&body);
	*len = n;
	*digest = steal_pointer(&actual);
	return 0;
}

int registry_open_image(const struct image_ref *ref, const struct registry_options *o,
			struct registry **out, char **data, size_t *len, char **digest,
			struct skiff_error **err)
{
	_cleanup_strv_ char **files = settings_default_files();
	struct registry_settings st = { .insecure = -1 };
	const char *want = ref->digest ? ref->digest : ref->tag;

	if (settings_load(files, ref->domain, &st, err) < 0)
		return -1;
	/* Mirrors first, in order; any failure of one moves on to the next. */
	for (size_t i = 0; st.mirrors && st.mirrors[i]; i++) {
		struct skiff_error *e = NULL;
		struct registry *r = NULL;

		if (registry_open(st.mirrors[i], ref->path, o, false, &r, &e) == 0 &&
		    registry_read_manifest(r, want, ref->digest, data, len, digest, &e) == 0) {
			log_debug("%s/%s: from the mirror %s", ref->domain, ref->path, st.mirrors[i]);
			settings_clear(&st);
			*out = r;
			return 0;
		}
		log_warning("the mirror %s of %s: %s; trying the next", st.mirrors[i], ref->domain,
			    e ? e->msg : "failed");
		skiff_error_free(e);
		registry_free(r);
	}
	settings_clear(&st);
	if (registry_open(ref->domain, ref->path, o, false, out, err) < 0)
		return -1;
	if (registry_read_manifest(*out, want, ref->digest, data, len, digest, err) < 0) {
		registry_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int registry_read_blob(struct registry *r, const struct descriptor *d, size_t max,
		       const char *what, char **data, size_t *len, struct skiff_error **err)
{
	_cleanup_free_ char *body = NULL, *actual = NULL;
	bool manifest = strcmp(what, "manifest") == 0;
	size_t n;

	if (d->size > max)
		return skiff_error_set(err, 0, "image.manifest.too_big",
				       "%s %s is %llu bytes, more than the %zu skiff accepts",
				       what, d->digest, (unsigned long long)d->size, max);
	if (registry_get(r, manifest ? "manifests" : "blobs", d->digest,
			 manifest ? MANIFEST_ACCEPT : NULL, max, &body, &n, NULL, err) < 0)
		return -1;
	if (n != d->size)
		return skiff_error_set(err, 0, "image.blob.size_mismatch",
				       "%s %s from %s has %zu bytes, its descriptor says %llu",
				       what, d->digest, registry_host(r), n,
				       (unsigned long long)d->size);
	actual = digest_buffer(body, n);
	if (strcmp(actual, d->digest) != 0)
		return skiff_error_set(err, 0, "image.blob.digest_mismatch",
				       "%s %s from %s has the digest %s: it is corrupt or was "
				       "tampered with", what, d->digest, registry_host(r), actual);
	*data = steal_pointer(&body);
	*len = n;
	return 0;
}

/* ---- opening ------------------------------------------------------------------------- */

/* The CA blob as a file for libcurl's CA cache (see the top); without a
 * memfd, the blob is given as it is, and parsed for each connection. */
static void keep_ca_file(struct registry *r)
{
	int fd = memfd_create("skiff-ca", MFD_CLOEXEC);

	if (fd < 0 || write_all(fd, r->ca_blob, r->ca_len) < 0) {
		log_debug("no memfd for the CAs of %s (%s): parsing them per connection",
			  r->host, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	r->ca_fd = fd;
	r->ca_file = xasprintf("/proc/self/fd/%d", fd);
}

/* The system's CA directory as libcurl was built to use it (Debian:
 * /etc/ssl/certs, with the hash links update-ca-certificates makes), or
 * NULL when it has none: then the CA bundle is parsed, as before. */
static char *system_ca_path(void)
{
	char *path = NULL;
	struct stat st;
	CURL *h = curl_easy_init();

	if (h == NULL)
		abort();
	curl_easy_getinfo(h, CURLINFO_CAPATH, &path);
	path = path && stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? xstrdup(path) : NULL;
	curl_easy_cleanup(h);
	return path;
}

/* The *.crt files of dir as one PEM blob (after the system's CA bundle
 * when there is no CA directory to look the system's CAs up in); a client
 * certificate (*.cert with its *.key) too, as Docker's certs.d has it. */
static int load_certs(struct registry *r, const char *dir, struct skiff_error **err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return skiff_error_set(err, errno, "image.registry.tls",
				       "cannot read the certificate directory %s", dir);
	r->ca_blob = xstrdup("");
	if (r->ca_path == NULL) {
		char *sys_ca = NULL;
		CURL *h = curl_easy_init();

		if (h == NULL)
			abort();
		curl_easy_getinfo(h, CURLINFO_CAINFO, &sys_ca);
		if (sys_ca && read_file_at(AT_FDCWD, sys_ca, 64u << 20, &r->ca_blob, &r->ca_len,
					   NULL) < 0)
			r->ca_blob = xstrdup("");
		curl_easy_cleanup(h);
	}
	r->ca_len = strlen(r->ca_blob);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name), *pem = NULL;
		size_t len;

		if (n > 5 && strcmp(de->d_name + n - 5, ".cert") == 0 && r->client_cert == NULL) {
			_cleanup_free_ char *key = xasprintf("%s/%.*s.key", dir, (int)(n - 5), de->d_name);

			if (access(key, R_OK) == 0) {
				r->client_cert = steal_pointer(&path);
				r->client_key = steal_pointer(&key);
			}
			continue;
		}
		if (n <= 4 || strcmp(de->d_name + n - 4, ".crt") != 0)
			continue;
		if (read_file_at(AT_FDCWD, path, 1u << 20, &pem, &len, err) < 0)
			return skiff_error_prefix(err, "the CA certificate for %s: ", r->host);
		r->ca_blob = xrealloc(r->ca_blob, r->ca_len + len + 2);
		r->ca_blob[r->ca_len++] = '\n';
		memcpy(r->ca_blob + r->ca_len, pem, len);
		r->ca_len += len;
		r->ca_blob[r->ca_len] = '\0';
		log_debug("CA certificate for %s: %s", r->host, path);
	}
	if (r->ca_len > 0)
		keep_ca_file(r);
	return 0;
}

static int configure(struct registry *r, const struct registry_options *o, bool login,
		     struct skiff_error **err)
{
	_cleanup_strv_ char **files = settings_default_files();
	_cleanup_free_ char *dir = NULL;
	struct registry_settings st = { .insecure = -1 };

	if (settings_load(files, r->host, &st, err) < 0)
		return -1;
	r->insecure = settings_insecure(&st, r->host, o ? o->tls_verify : -1);
	r->stall_timeout = st.stall_timeout > 0 ? st.stall_timeout : REGISTRY_STALL_TIMEOUT;
	dir = certs_dir_find(o ? o->cert_dir : NULL, st.ca_dir, r->host);
	settings_clear(&st);
	if (!r->insecure)
		r->ca_path = system_ca_path();
	if (o && o->cert_dir && (dir == NULL || strcmp(dir, o->cert_dir) != 0))
		return skiff_error_set(err, ENOENT, "image.registry.tls",
				       "--cert-dir %s is not a directory", o->cert_dir);
	if (dir && load_certs(r, dir, err) < 0)
		return -1;
	if (o && o->creds) {
		if (creds_parse(o->creds, &r->creds) < 0)
			return skiff_error_set(err, 0, "cli.usage",
					       "--creds takes USER:PASSWORD (the user is missing)");
		r->have_creds = true;
	} else if (!login) {
		_cleanup_strv_ char **af = auth_read_files(o ? o->authfile : NULL);

		if (auth_lookup(af, r->host, r->repo, &r->creds, &r->have_creds, err) < 0)
			return -1;
	}
	return 0;
}

int registry_open(const char *host, const char *repo, const struct registry_options *o,
		  bool login, struct registry **out, struct skiff_error **err)
{
	static bool curl_ready;
	struct registry *r = xzalloc(sizeof(*r));
	struct response x = { .max = ERROR_BODY_MAX };
	char errbuf[CURL_ERROR_SIZE];
	_cleanup_free_ char *url = NULL;
	bool retry;
	CURLcode c;
	int attempt = 0;

	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	r->host = xstrdup(host);
	r->repo = repo ? xstrdup(repo) : NULL;
	r->login = login;
	r->ca_fd = -1;
	r->stall_timeout = REGISTRY_STALL_TIMEOUT;
	r->multi = curl_multi_init();
	if (r->multi == NULL)
		abort();
	if (configure(r, o, login, err) < 0)
		goto fail;
	/* The probe: which scheme answers, and which challenge applies. */
	for (;;) {
		free(url);
		url = registry_url_build(r->http, r->host, NULL, NULL, NULL);
		response_clear(&x);
		c = perform(r, url, NULL, &x, NULL, NULL, false, errbuf);
		if (c != CURLE_OK && r->insecure && !r->http) {
			log_debug("%s: HTTPS failed (%s), trying plain HTTP", r->host, errbuf);
			r->http = true;
			continue;
		}
		if (c == CURLE_OK && (x.status == 200 || x.status == 401))
			break;
		/* /v2/ answers 404 on some proxies and mirrors: the spec only
		 * requires the repository endpoints. */
		if (c == CURLE_OK && x.status == 404)
			break;
		if (registry_transfer_error(r, c, errbuf, x.status, "the /v2/ probe", NULL, NULL,
					    &retry, err) < 0 && (!retry || attempt == REGISTRY_MAX_RETRIES)) {
			if (r->http)
				skiff_error_prefix(err, "HTTPS and plain HTTP both failed: ");
			goto fail;
		}
		skiff_error_freep(err);
		usleep((useconds_t)registry_backoff_ms(++attempt, retry_after_parse(x.retry_after, time(NULL))) * 1000);
		if (r->insecure)
			r->http = false;
	}
	if (x.status == 401 && x.www_auth && www_authenticate_parse(x.www_auth, &r->ch) < 0) {
		skiff_error_set(err, 0, "image.registry.bad_response",
				"%s answered 401 with a WWW-Authenticate header skiff cannot read",
				r->host);
		goto fail;
	}
	if (x.status == 401 && r->ch.scheme == NULL) {
		skiff_error_set(err, 0, "image.registry.bad_response",
				"%s answered 401 without a WWW-Authenticate header", r->host);
		goto fail;
	}
	log_debug("%s: %s, auth %s%s", r->host, r->http ? "plain HTTP" : "HTTPS",
		  r->ch.scheme ? r->ch.scheme : "none", r->have_creds ? " with credentials" : "");
	if (authorize(r, err) < 0)
		goto fail;
	if (login && r->ch.scheme && strcmp(r->ch.scheme, "basic") == 0) {
		/* Basic: the credentials are right if /v2/ answers 200 with them. */
		response_clear(&x);
		c = perform(r, url, NULL, &x, NULL, NULL, true, errbuf);
		if (c != CURLE_OK || x.status != 200) {
			registry_transfer_error(r, c, errbuf, x.status, "login", NULL, NULL, &retry, err);
			goto fail;
		}
	}
	response_clear(&x);
	*out = r;
	return 0;
fail:
	response_clear(&x);
	registry_free(r);
	return -1;
}

void registry_free(struct registry *r)
{
	if (r == NULL)
		return;
	free(r->host);
	free(r->repo);
	curl_multi_cleanup(r->multi);
	free(r->ca_blob);
	free(r->ca_file);
	free(r->ca_path);
	if (r->ca_fd >= 0)
		close(r->ca_fd);
	free(r->client_cert);
	free(r->client_key);
	registry_creds_clear(&r->creds);
	auth_challenge_clear(&r->ch);
	if (r->auth)
		explicit_bzero(r->auth, strlen(r->auth));
	free(r->auth);
	free(r);
}
