/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Registry credentials: the containers-auth.json files Podman, Buildah and
 * skopeo share, and Docker's ~/.docker/config.json, which has the same
 * "auths" map.
 *
 *   {"auths": {"HOST[:PORT]": {"auth": "base64(user:pass)"}}}
 *
 * Keys may also be "HOST/REPO" (credentials for one repository, the most
 * specific key wins) or a URL ("https://index.docker.io/v1/", which old
 * Docker versions wrote).  Credential helpers (credHelpers, credsStore) are
 * not run: skiff does not execute programs named by a config file, and
 * says so once.  No password or token ever goes into a message.
 *
 * Also here: reading the registry's side of the dance, WWW-Authenticate
 * challenges and Retry-After. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "image/image-internal.h"

#define AUTH_FILE_MAX (4u << 20)

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Strict: the length is a multiple of 4, '=' only at the end. */
int base64_decode(const char *in, char **out, size_t *out_len)
{
	size_t n = strlen(in), pad = 0, k = 0;
	_cleanup_free_ char *buf = NULL;
	uint32_t v = 0;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	buf = xmalloc(n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(b64, in[i]);
		unsigned d;

		if (in[i] == '=' && i >= n - pad)
			d = 0;
		else if (in[i] != '\0' && p != NULL)
			d = (unsigned)(p - b64);
		else
			return -1;
		v = v << 6 | d;
		if (i % 4 == 3) {
			buf[k++] = (char)(v >> 16);
			buf[k++] = (char)(v >> 8);
			buf[k++] = (char)v;
			v = 0;
		}
	}
	k -= pad;
	buf[k] = '\0';
	*out = steal_pointer(&buf);
	*out_len = k;
	return 0;
}

void registry_creds_clear(struct registry_creds *c)
{
	if (c->pass)
		explicit_bzero(c->pass, strlen(c->pass));
	free(c->user);
	free(c->pass);
	c->user = c->pass = NULL;
}

int creds_parse(const char *userpass, struct registry_creds *c)
{
	const char *colon = strchr(userpass, ':');

	if (colon == NULL || colon == userpass)
		return -1;
	c->user = image_strndup(userpass, (size_t)(colon - userpass));
	c->pass = xstrdup(colon + 1);
	return 0;
}

char **auth_read_files(const char *authfile)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *run = getenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");
	char **v = xzalloc(4 * sizeof(char *));
	size_t n = 0;

	if (authfile) {
		v[n++] = xstrdup(authfile);
		return v;
	}
	/* The variable comes first, the usual files after it: the first
	 * file with an entry for the registry wins. */
	if (env && *env)
		v[n++] = xstrdup(env);
	if (run && *run)
		v[n++] = xasprintf("%s/containers/auth.json", run);
	if (home && *home)
		v[n++] = xasprintf("%s/.docker/config.json", home);
	return v;
}

char *auth_write_file(const char *authfile)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *run = getenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");

	if (authfile)
		return xstrdup(authfile);
	if (env && *env)
		return xstrdup(env);
	if (run && *run)
		return xasprintf("%s/containers/auth.json", run);
	return xasprintf("%s/.config/containers/auth.json", home && *home ? home : "");
}

/* The registry named by a key of "auths": "HOST", "HOST/REPO",
 * "https://HOST/v1/" -> HOST (and REPO into *repo when given). */
static char *key_host(const char *key, const char **repo)
{
	const char *k = key, *slash;

	if (strncmp(k, "https://", 8) == 0)
		k += 8;
	else if (strncmp(k, "http://", 7) == 0)
		k += 7;
	slash = strchr(k, '/');
	if (repo)
		*repo = NULL;
	if (slash == NULL)
		return xstrdup(k);
	/* A URL's path ("/v1/") is not a repository; "HOST/REPO" is. */
	if (repo && k == key && slash[1] != '\0')
		*repo = slash + 1;
	return image_strndup(k, (size_t)(slash - k));
}

static bool same_registry(const char *a, const char *b)
{
	static const char *const docker[] = { "docker.io", "index.docker.io",
					      "registry-1.docker.io", NULL };
	bool da = false, db = false;

	if (strcmp(a, b) == 0)
		return true;
	for (size_t i = 0; docker[i]; i++) {
		da |= strcmp(a, docker[i]) == 0;
		db |= strcmp(b, docker[i]) == 0;
	}
	return da && db;
}

/* How well KEY matches HOST/REPO: -1 not at all, 0 the registry, more for
 * a longer repository prefix. */
static int key_match(const char *key, const char *host, const char *repo)
{
	const char *krepo;
	_cleanup_free_ char *kh = key_host(key, &krepo);
	size_t n;

	if (!same_registry(kh, host))
		return -1;
	if (krepo == NULL)
		return 0;
	n = strlen(krepo);
	if (repo == NULL || strncmp(repo, krepo, n) != 0 || (repo[n] != '\0' && repo[n] != '/'))
		return -1;
	return (int)n + 1;
}

static bool notice_given;

/* mkdir -p, for the directory of a new auth file. */
static int make_dirs(char *path, mode_t mode)
{
	for (char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST)
			return -1;
		if (p == NULL)
			return 0;
		*p = '/';
	}
}

int auth_lookup(char *const *files, const char *host, const char *repo,
		struct registry_creds *out, bool *found, struct skiff_error **err)
{
	bool helper = false;

	*found = false;
	for (size_t f = 0; files && files[f]; f++) {
		_cleanup_free_ char *text = NULL;
		_cleanup_json_ json_t *j = NULL;
		json_t *auths, *e, *best = NULL, *v;
		const char *key, *best_key = NULL;
		int best_score = -1;
		size_t len;

		if (access(files[f], F_OK) < 0 && errno == ENOENT)
			continue;
		if (read_file_at(AT_FDCWD, files[f], AUTH_FILE_MAX, &text, &len, NULL) < 0)
			return skiff_error_set(err, errno, "image.auth.file",
					       "cannot read the auth file %s", files[f]);
		j = json_loadb(text, len, 0, NULL);
		if (!json_is_object(j))
			return skiff_error_set(err, 0, "image.auth.file",
					       "the auth file %s is not a JSON object: fix it, or "
					       "remove it and log in again", files[f]);
		auths = json_object_get(j, "auths");
		if (auths != NULL && !json_is_object(auths))
			return skiff_error_set(err, 0, "image.auth.file",
					       "the auth file %s: \"auths\" is not an object", files[f]);
		json_object_foreach(auths, key, e) {
			int score = key_match(key, host, repo);

			/* Docker writes entries without "auth" for registries whose
			 * credentials a helper keeps: not ours to read. */
			if (score >= 0 && json_is_object(e) && json_object_get(e, "auth") == NULL) {
				helper = true;
				continue;
			}
			if (score > best_score) {
				best_score = score;
				best = e;
				best_key = key;
			}
		}
		if (best == NULL) {
			json_t *helpers = json_object_get(j, "credHelpers");

			json_object_foreach(helpers, key, e)
				if (key_match(key, host, NULL) >= 0)
					helper = true;
			if (json_is_string(json_object_get(j, "credsStore")))
				helper = true;
			continue;
		}
		v = json_object_get(best, "auth");
		if (!json_is_object(best) || !json_is_string(v))
			return skiff_error_set(err, 0, "image.auth.file",
					       "the auth file %s: auths.\"%s\" has no \"auth\" string",
					       files[f], best_key);
		{
			_cleanup_free_ char *dec = NULL;
			size_t n;

			if (base64_decode(json_string_value(v), &dec, &n) < 0 ||
			    memchr(dec, '\0', n) != NULL || creds_parse(dec, out) < 0) {
				if (dec)
					explicit_bzero(dec, n);
				return skiff_error_set(err, 0, "image.auth.file",
						       "the auth file %s: auths.\"%s\".auth is not "
						       "base64 of USER:PASSWORD", files[f], best_key);
			}
			explicit_bzero(dec, n);
		}
		*found = true;
		log_debug("credentials for %s from %s (key \"%s\")", host, files[f], best_key);
		return 0;
	}
	if (helper && !notice_given) {
		notice_given = true;
		log_warning("credential helpers (credHelpers, credsStore) are not supported: "
			    "pulling from %s anonymously; `skiff login %s` stores credentials "
			    "skiff can use", host, host);
	}
	return 0;
}

/* Rewrites FILE with the entry for HOST set to AUTH (base64), or removed
 * when AUTH is NULL (every entry when all), keeping everything else. */
int auth_file_update(const char *file, const char *host, const char *auth, bool all,
		     bool *removed, struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL, *dir = NULL, *out = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_t *auths;
	size_t len = 0;
	char *slash;

	if (removed)
		*removed = false;
	if (read_file_at(AT_FDCWD, file, AUTH_FILE_MAX, &text, &len, NULL) == 0) {
		j = json_loadb(text, len, 0, NULL);
		if (!json_is_object(j))
			return skiff_error_set(err, 0, "image.auth.file",
					       "the auth file %s is not a JSON object: fix or remove it",
					       file);
	} else if (errno != ENOENT) {
		return skiff_error_set(err, errno, "image.auth.file",
				       "cannot read the auth file %s", file);
	} else {
		j = json_object();
	}
	auths = json_object_get(j, "auths");
	if (auths == NULL) {
		auths = json_object();
		json_object_set_new(j, "auths", auths);
	} else if (!json_is_object(auths)) {
		return skiff_error_set(err, 0, "image.auth.file",
				       "the auth file %s: \"auths\" is not an object", file);
	}
	if (auth) {
		json_object_set_new(auths, host, json_pack("{s:s}", "auth", auth));
	} else {
		const char *key;
		json_t *e;
		void *tmp;

		json_object_foreach_safe(auths, tmp, key, e) {
			_cleanup_free_ char *kh = key_host(key, NULL);

			if (all || same_registry(kh, host)) {
				json_object_del(auths, key);
				if (removed)
					*removed = true;
			}
		}
	}
	dir = xstrdup(file);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (make_dirs(dir, 0700) < 0)
			return skiff_error_set(err, errno, "image.auth.file",
					       "cannot create the directory %s for the auth file", dir);
	}
	out = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (write_file_atomic_at(AT_FDCWD, file, out, strlen(out), 0600, err) < 0) {
		explicit_bzero(out, strlen(out));
		return skiff_error_prefix(err, "the auth file %s: ", file);
	}
	explicit_bzero(out, strlen(out));
	return 0;
}

/* ---- challenges and Retry-After ---------------------------------------------------- */

void auth_challenge_clear(struct auth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/* One token or quoted-string (RFC 9110 5.6.4) at *p; NULL when malformed. */
static char *http_value(const char **p)
{
	const char *s = *p;
	char *out, *o;

	if (*s != '"') {
		size_t n = strcspn(s, ", \t");

		*p = s + n;
		return image_strndup(s, n);
	}
	o = out = xmalloc(strlen(s));
	for (s++; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1])
			s++;
		*o++ = *s;
	}
	*o = '\0';
	if (*s != '"') {
		free(out);
		return NULL;
	}
	*p = s + 1;
	return out;
}

/* Bearer realm="https://auth.docker.io/token",service="registry.docker.io",
 * Basic realm="x": several challenges in one header, parameters separated
 * by commas that may also appear inside quoted values. */
int www_authenticate_parse(const char *value, struct auth_challenge *out)
{
	struct auth_challenge cur = { 0 }, basic = { 0 };
	const char *p = value;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, " \t,=");
		if (p[n] == '=') {
			/* a parameter of the current challenge */
			_cleanup_free_ char *name = image_strndup(p, n);
			char *v;

			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			v = http_value(&p);
			if (v == NULL || cur.scheme == NULL) {
				free(v);
				goto out;
			}
			if (strcasecmp(name, "realm") == 0) {
				free(cur.realm);
				cur.realm = v;
			} else if (strcasecmp(name, "service") == 0) {
				free(cur.service);
				cur.service = v;
			} else if (strcasecmp(name, "scope") == 0) {
				free(cur.scope);
				cur.scope = v;
			} else {
				free(v);
			}
			continue;
		}
		/* a new scheme: keep what the last one was */
		if (cur.scheme && strcmp(cur.scheme, "bearer") == 0 && out->scheme == NULL)
			*out = cur;
		else if (cur.scheme && strcmp(cur.scheme, "basic") == 0 && basic.scheme == NULL)
			basic = cur;
		else
			auth_challenge_clear(&cur);
		memset(&cur, 0, sizeof(cur));
		cur.scheme = image_strndup(p, n);
		for (char *c = cur.scheme; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		p += n;
	}
	if (cur.scheme && strcmp(cur.scheme, "bearer") == 0 && out->scheme == NULL)
		*out = cur;
	else if (cur.scheme && strcmp(cur.scheme, "basic") == 0 && basic.scheme == NULL)
		basic = cur;
	else
		auth_challenge_clear(&cur);
	memset(&cur, 0, sizeof(cur));
	if (out->scheme && out->realm == NULL)
		auth_challenge_clear(out);
	if (out->scheme == NULL && basic.scheme) {
		*out = basic;
		memset(&basic, 0, sizeof(basic));
	}
	rc = out->scheme ? 0 : -1;
out:
	auth_challenge_clear(&cur);
	auth_challenge_clear(&basic);
	if (rc < 0)
		auth_challenge_clear(out);
	return rc;
}

int retry_after_parse(const char *value, long now)
{
	int64_t secs;

	if (value == NULL)
		return -1;
	while (*value == ' ')
		value++;
	if (isdigit((unsigned char)*value)) {
		if (parse_int64(value, 0, INT64_MAX, &secs) < 0)
			return -1;
	} else {
		time_t t = curl_getdate(value, NULL);

		if (t == -1)
			return -1;
		secs = t > now ? t - now : 0;
	}
	return secs > REGISTRY_RETRY_AFTER_MAX ? REGISTRY_RETRY_AFTER_MAX : (int)secs;
}

/* ---- login and logout ------------------------------------------------------------ */

/* "https://HOST[:PORT]/…" or "HOST[:PORT]/…" -> "HOST[:PORT]"; the
 * aliases of Docker Hub -> "docker.io". */
static int registry_key(const char *registry, char **out, struct skiff_error **err)
{
	char *k = key_host(registry, NULL);

	if (*k == '\0' || strpbrk(k, " @\"\\") != NULL) {
		free(k);
		return skiff_error_set(err, 0, "cli.usage",
				       "\"%s\" is not a registry: give HOST[:PORT]", registry);
	}
	if (same_registry(k, "docker.io")) {
		free(k);
		k = xstrdup("docker.io");
	}
	*out = k;
	return 0;
}

int image_login(const char *registry, const char *user, const char *pass,
		const struct image_login_options *o, struct skiff_error **err)
{
	_cleanup_free_ char *host = NULL, *up = NULL, *auth = NULL, *file = NULL;
	struct registry_options ro = { .tls_verify = -1 };
	struct registry *r = NULL;
	int rc;

	if (registry_key(registry, &host, err) < 0)
		return -1;
	if (user == NULL || *user == '\0' || strchr(user, ':') != NULL)
		return skiff_error_set(err, 0, "cli.usage",
				       "login: the user name must be given and hold no ':'");
	up = xasprintf("%s:%s", user, pass ? pass : "");
	if (o) {
		ro.cert_dir = o->cert_dir;
		ro.tls_verify = o->tls_verify == IMAGE_TLS_VERIFY ? 1
				: o->tls_verify == IMAGE_TLS_NO_VERIFY ? 0 : -1;
	}
	ro.creds = up;
	rc = registry_open(host, NULL, &ro, true, &r, err);
	registry_free(r);
	if (rc == 0) {
		auth = base64_encode(up, strlen(up));
		file = auth_write_file(o ? o->authfile : NULL);
		rc = auth_file_update(file, host, auth, false, NULL, err);
		explicit_bzero(auth, strlen(auth));
	}
	explicit_bzero(up, strlen(up));
	return rc;
}

int image_logout(const char *registry, bool all, const char *authfile, char **file,
		 struct skiff_error **err)
{
	_cleanup_free_ char *host = NULL, *path = auth_write_file(authfile);
	bool removed = false;

	if (!all && registry_key(registry, &host, err) < 0)
		return -1;
	if (all && access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (!all && access(path, F_OK) < 0 && errno == ENOENT)
		return skiff_error_set(err, 0, "image.auth.not_logged_in",
				       "not logged in to %s (%s does not exist)", host, path);
	if (auth_file_update(path, host, NULL, all, &removed, err) < 0)
		return -1;
	if (!all && !removed)
		return skiff_error_set(err, 0, "image.auth.not_logged_in",
				       "not logged in to %s (%s has no entry for it)", host, path);
	if (file)
		*file = steal_pointer(&path);
	return 0;
}
