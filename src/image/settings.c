/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-registry settings: /etc/skiff/config.json, then the user's
 * $XDG_CONFIG_HOME/skiff/config.json (a later file wins per key), and the
 * directory of extra CA certificates for a registry (certs.d, as Docker
 * and Podman lay it out).
 *
 *   {"registries": {"HOST[:PORT]": {"insecure": BOOL, "ca_dir": "DIR",
 *                                   "mirrors": ["HOST[:PORT]", ...],
 *                                   "stall_timeout": SECONDS}}}
 *
 * A registry on the loopback is insecure unless a file says
 * "insecure": false: a registry started for a test or a build on this
 * machine rarely has a certificate, and nothing leaves the host. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image-internal.h"

void settings_clear(struct registry_settings *st)
{
	free(st->ca_dir);
	strv_free(st->mirrors);
	memset(st, 0, sizeof(*st));
	st->insecure = -1;
}

char **settings_default_files(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char **v = xzalloc(3 * sizeof(char *));

	v[0] = xstrdup("/etc/skiff/config.json");
	if (xdg && *xdg)
		v[1] = xasprintf("%s/skiff/config.json", xdg);
	else if (home && *home)
		v[1] = xasprintf("%s/.config/skiff/config.json", home);
	return v;
}

static int settings_error(struct skiff_error **err, const char *file, const char *key,
			  const char *expected)
{
	return skiff_error_set(err, 0, "image.settings.invalid",
			       "%s: %s must be %s: fix or remove it", file, key, expected);
}

/* Merges what FILE says about HOST into st. */
static int settings_merge_file(const char *file, const char *host,
			       struct registry_settings *st, struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_error_t je;
	json_t *regs, *e, *v;
	size_t len;

	if (access(file, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (read_file_at(AT_FDCWD, file, 1 << 20, &text, &len, err) < 0)
		return skiff_error_prefix(err, "the settings file %s: ", file);
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return skiff_error_set(err, 0, "image.settings.invalid",
				       "%s is not valid JSON (line %d: %s): fix or remove it",
				       file, je.line, je.text);
	if (!json_is_object(j))
		return settings_error(err, file, "the document", "an object");
	regs = json_object_get(j, "registries");
	if (regs == NULL)
		return 0;
	if (!json_is_object(regs))
		return settings_error(err, file, "\"registries\"", "an object keyed by HOST[:PORT]");
	e = json_object_get(regs, host);
	if (e == NULL)
		return 0;
	if (!json_is_object(e)) {
		_cleanup_free_ char *k = xasprintf("registries.\"%s\"", host);

		return settings_error(err, file, k, "an object");
	}
	if ((v = json_object_get(e, "insecure")) != NULL) {
		_cleanup_free_ char *k = xasprintf("registries.\"%s\".insecure", host);

		if (!json_is_boolean(v))
			return settings_error(err, file, k, "true or false");
		st->insecure = json_is_true(v);
	}
	if ((v = json_object_get(e, "ca_dir")) != NULL) {
		_cleanup_free_ char *k = xasprintf("registries.\"%s\".ca_dir", host);

		if (!json_is_string(v) || json_string_length(v) == 0)
			return settings_error(err, file, k, "a directory path");
		free(st->ca_dir);
		st->ca_dir = xstrdup(json_string_value(v));
	}
	if ((v = json_object_get(e, "stall_timeout")) != NULL) {
		_cleanup_free_ char *k = xasprintf("registries.\"%s\".stall_timeout", host);

		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 3600)
			return settings_error(err, file, k, "a number of seconds from 1 to 3600");
		st->stall_timeout = (long)json_integer_value(v);
	}
	if ((v = json_object_get(e, "mirrors")) != NULL) {
		_cleanup_free_ char *k = xasprintf("registries.\"%s\".mirrors", host);
		char **m;
		size_t i;
		json_t *x;

		if (!json_is_array(v))
			return settings_error(err, file, k, "an array of \"HOST[:PORT]\"");
		m = xzalloc((json_array_size(v) + 1) * sizeof(char *));
		json_array_foreach(v, i, x) {
			if (!json_is_string(x) || json_string_length(x) == 0 ||
			    strpbrk(json_string_value(x), "/ @") != NULL) {
				strv_free(m);
				return settings_error(err, file, k, "an array of \"HOST[:PORT]\"");
			}
			m[i] = xstrdup(json_string_value(x));
		}
		strv_free(st->mirrors);
		st->mirrors = m;
	}
	return 0;
}

int settings_load(char *const *files, const char *host, struct registry_settings *st,
		  struct skiff_error **err)
{
	settings_clear(st);
	for (size_t i = 0; files && files[i]; i++)
		if (settings_merge_file(files[i], host, st, err) < 0) {
			settings_clear(st);
			return -1;
		}
	return 0;
}

/* HOST[:PORT] -> HOST, without the brackets of an IPv6 address. */
static char *host_only(const char *hostport)
{
	const char *colon;

	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');

		return end ? image_strndup(hostport + 1, (size_t)(end - hostport - 1))
			   : xstrdup(hostport);
	}
	colon = strchr(hostport, ':');
	return colon ? image_strndup(hostport, (size_t)(colon - hostport)) : xstrdup(hostport);
}

bool host_is_loopback(const char *hostport)
{
	_cleanup_free_ char *h = host_only(hostport);
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

bool settings_insecure(const struct registry_settings *st, const char *hostport, int tls_verify)
{
	if (tls_verify >= 0)
		return tls_verify == 0;
	if (st->insecure >= 0)
		return st->insecure;
	return host_is_loopback(hostport);
}

static bool is_dir(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *certs_dir_find(const char *cert_dir, const char *ca_dir, const char *hostport)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *c[6] = { 0 };
	char *found = NULL;
	size_t n = 0;

	if (cert_dir)
		c[n++] = xstrdup(cert_dir);
	if (ca_dir)
		c[n++] = xstrdup(ca_dir);
	if (xdg && *xdg)
		c[n++] = xasprintf("%s/skiff/certs.d/%s", xdg, hostport);
	else if (home && *home)
		c[n++] = xasprintf("%s/.config/skiff/certs.d/%s", home, hostport);
	c[n++] = xasprintf("/etc/skiff/certs.d/%s", hostport);
	c[n++] = xasprintf("/etc/containers/certs.d/%s", hostport);
	c[n++] = xasprintf("/etc/docker/certs.d/%s", hostport);
	for (size_t i = 0; i < n; i++) {
		if (found == NULL && is_dir(c[i]))
			found = steal_pointer(&c[i]);
		free(c[i]);
	}
	return found;
}
