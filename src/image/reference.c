/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image references and transports.
 *
 * The grammar is distribution's (reference/regexp.go):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *   domain    := host [ ":" port ]     host := dns-name | "[" ipv6 "]"
 * and the normalization is Docker's: a first component is a domain only if
 * it has a '.' or ':', is "localhost", or has an upper-case letter;
 * otherwise docker.io is prepended, and "library/" to a one-component
 * path on docker.io.  A bare name gets the tag "latest". */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <skiff/image.h>
#include <skiff/util.h>

#include "image/image-internal.h"

#define DEFAULT_DOMAIN "docker.io"
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static int ref_error(struct skiff_error **err, const char *id, const char *input,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int ref_error(struct skiff_error **err, const char *id, const char *input,
		     const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	return skiff_error_set(err, 0, id, "image reference \"%s\": %s", input, msg);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )* */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
		if (i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* dns label := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool host_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		/* An IPv6 literal: hex digits and colons (and a dotted tail). */
		if (n < 4 || s[n - 1] != ']')
			return false;
		for (size_t i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return false;
		return memchr(s, ':', n) != NULL;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		for (size_t j = start; j < i; j++)
			if (!isalnum((unsigned char)s[j]) && s[j] != '-')
				return false;
		start = i + 1;
	}
	return true;
}

static int domain_check(const char *input, const char *d, struct skiff_error **err)
{
	const char *colon = d[0] == '[' ? strstr(d, "]:") : strchr(d, ':');
	size_t hostlen = colon ? (size_t)(colon - d) + (d[0] == '[') : strlen(d);

	if (!host_ok(d, hostlen))
		return ref_error(err, "image.reference.bad_domain", input,
				 "the registry \"%s\" is not a valid host name (letters, digits, "
				 "'-' and '.', or an IPv6 address in brackets)", d);
	if (colon != NULL) {
		const char *port = d + hostlen + 1;
		int64_t v;

		if (parse_int64(port, 1, 65535, &v) < 0 || !isdigit((unsigned char)port[0]))
			return ref_error(err, "image.reference.bad_port", input,
					 "the registry port \"%s\" is not a number from 1 to 65535",
					 port);
	}
	return 0;
}

static int path_check(const char *input, const char *path, struct skiff_error **err)
{
	const char *p = path;

	for (;;) {
		size_t n = strcspn(p, "/");

		if (!path_component_ok(p, n)) {
			for (size_t i = 0; i < n; i++)
				if (isupper((unsigned char)p[i]))
					return ref_error(err, "image.reference.uppercase", input,
							 "the repository \"%s\" must be lower case",
							 path);
			return ref_error(err, "image.reference.bad_path", input,
					 "the repository component \"%.*s\" is not valid: use lower-case "
					 "letters and digits, separated by '.', '_', '__' or '-'",
					 (int)n, p);
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > TAG_MAX_LEN || t[0] == '.' || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

int image_digest_parse(const char *s, const char *what, struct skiff_error **err)
{
	const char *colon = strchr(s, ':');
	size_t n;

	if (colon == NULL || colon == s)
		return skiff_error_set(err, 0, "image.reference.bad_digest",
				       "%s \"%s\" is not a digest: expected sha256:<64 hex digits>",
				       what, s);
	if ((size_t)(colon - s) != 6 || strncmp(s, "sha256", 6) != 0)
		return skiff_error_set(err, 0, "image.reference.bad_digest",
				       "%s \"%s\": the digest algorithm \"%.*s\" is not supported "
				       "(only sha256)", what, s, (int)(colon - s), s);
	n = strlen(colon + 1);
	if (n != 64 || strspn(colon + 1, "0123456789abcdef") != 64)
		return skiff_error_set(err, 0, "image.reference.bad_digest",
				       "%s \"%s\": a sha256 digest has exactly 64 lower-case hex digits",
				       what, s);
	return 0;
}

void image_ref_clear(struct image_ref *ref)
{
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

int image_ref_parse(const char *s, struct image_ref *ref, struct skiff_error **err)
{
	_cleanup_free_ char *work = NULL, *domain = NULL, *path = NULL;
	_cleanup_free_ char *tag = NULL, *digest = NULL;
	char *at, *slash, *colon, *name;
	bool short_name = false;

	memset(ref, 0, sizeof(*ref));
	if (s == NULL || *s == '\0')
		return skiff_error_set(err, 0, "image.reference.empty",
				       "the image reference is empty: give NAME[:TAG][@DIGEST]");
	if (strlen(s) > 4096)
		return skiff_error_set(err, 0, "image.reference.too_long",
				       "the image reference is longer than 4096 characters");
	work = xstrdup(s);
	at = strchr(work, '@');
	if (at != NULL) {
		*at = '\0';
		if (image_digest_parse(at + 1, "the digest", NULL) < 0) {
			struct skiff_error *e = NULL;

			image_digest_parse(at + 1, "the digest", &e);
			ref_error(err, "image.reference.bad_digest", s, "%s", e->msg);
			skiff_error_free(e);
			return -1;
		}
		digest = xstrdup(at + 1);
	}
	slash = strrchr(work, '/');
	colon = strrchr(slash ? slash : work, ':');
	if (colon != NULL) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			return ref_error(err, "image.reference.bad_tag", s,
					 "the tag \"%s\" is not valid: 1 to 128 letters, digits, '_', "
					 "'.' or '-', not starting with '.' or '-'", colon + 1);
		tag = xstrdup(colon + 1);
	}
	name = work;
	if (*name == '\0')
		return ref_error(err, "image.reference.bad_path", s, "the repository name is empty");
	slash = strchr(name, '/');
	if (slash != NULL) {
		size_t n = (size_t)(slash - name);
		bool upper = false;

		for (size_t i = 0; i < n; i++)
			upper |= isupper((unsigned char)name[i]) != 0;
		if (memchr(name, '.', n) || memchr(name, ':', n) || upper ||
		    (n == 9 && strncmp(name, "localhost", 9) == 0)) {
			domain = image_strndup(name, n);
			name = slash + 1;
		}
	}
	if (domain == NULL) {
		domain = xstrdup(DEFAULT_DOMAIN);
		short_name = true;
	} else if (domain_check(s, domain, err) < 0) {
		return -1;
	}
	if (*name == '\0')
		return ref_error(err, "image.reference.bad_path", s,
				 "the repository name after the registry is empty");
	if (path_check(s, name, err) < 0)
		return -1;
	if (strcmp(domain, "index.docker.io") == 0) {
		free(domain);
		domain = xstrdup(DEFAULT_DOMAIN);
	}
	if (strcmp(domain, DEFAULT_DOMAIN) == 0 && strchr(name, '/') == NULL)
		path = xasprintf("library/%s", name);
	else
		path = xstrdup(name);
	if (strlen(domain) + 1 + strlen(path) > NAME_MAX_LEN)
		return ref_error(err, "image.reference.too_long", s,
				 "the name is longer than %d characters", NAME_MAX_LEN);
	if (tag == NULL && digest == NULL)
		tag = xstrdup("latest");
	ref->domain = steal_pointer(&domain);
	ref->path = steal_pointer(&path);
	ref->tag = steal_pointer(&tag);
	ref->digest = steal_pointer(&digest);
	ref->short_name = short_name;
	return 0;
}

char *image_ref_name(const struct image_ref *ref)
{
	return xasprintf("%s/%s", ref->domain, ref->path);
}

char *image_ref_string(const struct image_ref *ref)
{
	return xasprintf("%s/%s%s%s%s%s", ref->domain, ref->path,
			 ref->tag ? ":" : "", ref->tag ? ref->tag : "",
			 ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

/* ---- transports ------------------------------------------------------------ */

static const struct {
	const char *prefix;
	enum image_transport t;
} transports[] = {
	{ "docker://", IMAGE_TRANSPORT_DOCKER },
	{ "oci:", IMAGE_TRANSPORT_OCI },
	{ "oci-archive:", IMAGE_TRANSPORT_OCI_ARCHIVE },
	{ "docker-archive:", IMAGE_TRANSPORT_DOCKER_ARCHIVE },
};

/* Transports other tools know; naming them beats a confusing
 * "bad reference" error. */
static const char *const foreign_transports[] = {
	"dir:", "containers-storage:", "docker-daemon:", "ostree:", "sif:", "tarball:",
};

const char *image_transport_name(enum image_transport t)
{
	for (size_t i = 0; i < ARRAY_SIZE(transports); i++)
		if (transports[i].t == t) {
			static char name[32];

			snprintf(name, sizeof(name), "%.*s",
				 (int)strcspn(transports[i].prefix, ":"), transports[i].prefix);
			return name;
		}
	return "?";
}

void image_source_clear(struct image_source *src)
{
	image_ref_clear(&src->ref);
	free(src->path);
	free(src->local_ref);
	memset(src, 0, sizeof(*src));
}

int image_source_parse(const char *s, struct image_source *src,
		       struct skiff_error **err)
{
	memset(src, 0, sizeof(*src));
	if (s == NULL || *s == '\0')
		return skiff_error_set(err, 0, "image.reference.empty",
				       "the image is empty: give NAME[:TAG][@DIGEST], "
				       "oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE");
	for (size_t i = 0; i < ARRAY_SIZE(transports); i++) {
		size_t n = strlen(transports[i].prefix);
		const char *rest = s + n, *colon;

		if (strncmp(s, transports[i].prefix, n) != 0)
			continue;
		src->transport = transports[i].t;
		if (src->transport == IMAGE_TRANSPORT_DOCKER) {
			if (image_ref_parse(rest, &src->ref, err) < 0)
				return -1;
			return 0;
		}
		/* As containers/image: the path ends at the first ':'. */
		colon = strchr(rest, ':');
		src->path = colon ? image_strndup(rest, (size_t)(colon - rest)) : xstrdup(rest);
		if (*src->path == '\0') {
			image_source_clear(src);
			return skiff_error_set(err, 0, "image.source.bad_path",
					       "image source \"%s\": the %s after \"%s\" is empty",
					       s, n == 4 ? "directory" : "file", transports[i].prefix);
		}
		if (colon != NULL) {
			if (colon[1] == '\0') {
				image_source_clear(src);
				return skiff_error_set(err, 0, "image.source.bad_path",
						       "image source \"%s\": the name after the last ':' "
						       "is empty", s);
			}
			src->local_ref = xstrdup(colon + 1);
		}
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(foreign_transports); i++)
		if (strncmp(s, foreign_transports[i], strlen(foreign_transports[i])) == 0)
			return skiff_error_set(err, 0, "image.source.unknown_transport",
					       "image source \"%s\": the transport \"%.*s\" is not "
					       "supported: use docker://, oci:, oci-archive: or "
					       "docker-archive:", s,
					       (int)strlen(foreign_transports[i]) - 1, s);
	if (strncmp(s, "docker:", 7) == 0 && strncmp(s, "docker://", 9) != 0 &&
	    !isdigit((unsigned char)s[7]))
		return skiff_error_set(err, 0, "image.source.unknown_transport",
				       "image source \"%s\": write docker://NAME (with two slashes)", s);
	src->transport = IMAGE_TRANSPORT_DOCKER;
	return image_ref_parse(s, &src->ref, err);
}
