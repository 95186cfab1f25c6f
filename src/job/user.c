/* SPDX-License-Identifier: GPL-2.0-or-later */
/* -u / the image's User: names and groups are the image's, read from the
 * /etc/passwd and /etc/group its layers show together (as the overlay
 * would), each file resolved inside one layer's tree (sys_open_in_root) so
 * that no symlink in an image can make skiff read a host file. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "job/job-internal.h"

#define ACCOUNT_FILE_MAX (4u << 20)

void job_user_clear(struct job_user *u)
{
	free(u->groups);
	free(u->home);
	memset(u, 0, sizeof(*u));
}

static bool is_opaque(int fd)
{
	char path[32], v[2];

	sys_fd_path(fd, path);   /* an O_PATH fd: xattrs through its path */
	return (getxattr(path, "user.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y') ||
	       (getxattr(path, "trusted.overlay.opaque", v, sizeof(v)) == 1 && v[0] == 'y');
}

/* etc/NAME as the merged view shows it, or NULL when absent there. */
static char *read_merged(char *const *layers, size_t n, const char *name)
{
	_cleanup_free_ char *rel = xasprintf("etc/%s", name);

	for (size_t i = n; i-- > 0;) {
		_cleanup_close_ int layer = open(layers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		_cleanup_close_ int etc = -1, fd = -1;
		_cleanup_error_ struct skiff_error *e = NULL, *e2 = NULL;
		_cleanup_free_ char *text = NULL;
		struct stat st;
		char path[32];

		if (layer < 0)
			return NULL;
		etc = sys_open_in_root(layer, "etc", SYS_NO_CREATE, 0, &e);
		if (etc < 0) {
			if (e->errnum == ENOENT)
				continue;
			return NULL;
		}
		/* A whiteout (a 0/0 device) where /etc was deletes it. */
		if (fstat(etc, &st) < 0 || !S_ISDIR(st.st_mode))
			return NULL;
		/* Any entry of this layer hides the lower ones: a symlink that
		 * leads nowhere inside the layer, or a whiteout, too. */
		if (fstatat(etc, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			fd = sys_open_in_root(layer, rel, SYS_NO_CREATE, 0, &e2);
			if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
			    read_file_at(AT_FDCWD, sys_fd_path(fd, path), ACCOUNT_FILE_MAX, &text,
					 NULL, NULL) < 0)
				return NULL;
			return steal_pointer(&text);
		}
		if (is_opaque(etc))
			return NULL;
	}
	return NULL;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* The fields of the line of a colon file whose field 0 (by name) or field
 * 2 (by id) matches: NULL-terminated, or NULL. */
static char **find_entry(const char *text, const char *key, bool by_id)
{
	_cleanup_free_ char *copy = xstrdup(text ? text : "");
	char *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char **f = xzalloc(8 * sizeof(char *));
		size_t k = 0;
		char *p = line;

		while (k < 7) {
			char *c = strchr(p, ':');

			if (c)
				*c = '\0';
			f[k++] = xstrdup(p);
			if (!c)
				break;
			p = c + 1;
		}
		if (k >= 3 && strcmp(f[by_id ? 2 : 0], key) == 0)
			return f;
		strv_free(f);
	}
	return NULL;
}

static int parse_id(const char *s, uint32_t *out)
{
	int64_t v;

	if (parse_int64(s, 0, UINT32_MAX - 1, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int job_user_resolve(const char *user, char *const *layers, size_t n_layers,
		     struct job_user *out, struct skiff_error **err)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL, *u = xstrdup(user ? user : "");
	_cleanup_strv_ char **pw = NULL, **gr = NULL;
	char *g = strchr(u, ':');
	const char *name = NULL;
	uint32_t id;

	memset(out, 0, sizeof(*out));
	if (g)
		*g++ = '\0';
	passwd = read_merged(layers, n_layers, "passwd");
	if (*u == '\0') {
		out->uid = 0;
		pw = find_entry(passwd, "0", true);
	} else if (all_digits(u)) {
		if (parse_id(u, &id) < 0)
			return skiff_error_set(err, ERANGE, "job.user.unknown",
					       "--user %s: the uid is out of range", user);
		out->uid = id;
		pw = find_entry(passwd, u, true);
	} else {
		pw = find_entry(passwd, u, false);
		if (pw == NULL || parse_id(pw[2], &id) < 0)
			return skiff_error_set(err, 0, "job.user.unknown",
					       "user \"%s\" is not in the image's /etc/passwd: "
					       "give a numeric UID[:GID]", u);
		out->uid = id;
	}
	if (pw != NULL && pw[3] != NULL && parse_id(pw[3], &id) == 0)
		out->gid = id;
	if (pw != NULL && strv_length(pw) > 5 && pw[5][0] == '/')
		out->home = xstrdup(pw[5]);
	else
		out->home = xstrdup("/");
	name = pw != NULL ? pw[0] : NULL;

	group = read_merged(layers, n_layers, "group");
	if (g != NULL && *g != '\0') {
		if (all_digits(g)) {
			if (parse_id(g, &id) < 0)
				return skiff_error_set(err, ERANGE, "job.user.unknown",
						       "--user %s: the gid is out of range", user);
			out->gid = id;
		} else {
			gr = find_entry(group, g, false);
			if (gr == NULL || parse_id(gr[2], &id) < 0)
				return skiff_error_set(err, 0, "job.user.unknown",
						       "group \"%s\" is not in the image's "
						       "/etc/group: give a numeric GID", g);
			out->gid = id;
		}
		return 0;   /* an explicit group: no supplementary ones (Docker) */
	}
	/* The supplementary groups that list the user by name. */
	if (name != NULL && group != NULL) {
		_cleanup_free_ char *copy = xstrdup(group);
		char *save = NULL;

		for (char *line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *f[4] = { 0 }, *p = line, *save2 = NULL;
			uint32_t gid;

			for (int k = 0; k < 4 && p; k++) {
				f[k] = p;
				p = strchr(p, ':');
				if (p)
					*p++ = '\0';
			}
			if (f[3] == NULL || f[2] == NULL || parse_id(f[2], &gid) < 0 ||
			    gid == out->gid)
				continue;
			for (char *m = strtok_r(f[3], ",", &save2); m; m = strtok_r(NULL, ",", &save2))
				if (strcmp(m, name) == 0) {
					out->groups = xrealloc(out->groups,
							       (out->n_groups + 1) * sizeof(gid_t));
					out->groups[out->n_groups++] = gid;
					break;
				}
		}
	}
	return 0;
}
