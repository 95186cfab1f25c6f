/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The files skiff gives a container of its own: /etc/hosts, /etc/hostname
 * and /etc/resolv.conf, and /run/secrets/NAME (DIR/secrets/NAME,
 * bind-mounted in).
 *
 * Over an overlay root the three /etc files are the overlay's topmost
 * layer, a small tmpfs the init makes for them (runtime/rootfs.c,
 * root_overlay.top): they are the container's and go with it, as Podman's
 * are, but need no mount point made through the overlay (a copy-up of
 * /etc and three creates) and no bind mounts, which were a tenth of a
 * run's start; nor, as files in the writable layer would, four inodes
 * made and freed on the store's disk.  The job may edit or replace them:
 * a write copies them up as it would the image's.  That is done only
 * where the result is the same as the copy-up's: the image's /etc (its
 * top-most entry) is a directory the container's root owns, or there is
 * none; the layer's /etc then takes its mode.  Otherwise, and over a
 * flattened root or a --storage-limit tmpfs (made by the init), they are
 * DIR/hosts, DIR/hostname and DIR/resolv.conf, bind-mounted over the
 * image's. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/job-internal.h"

#define SECRET_MAX (512u << 10)

static bool secret_name_ok(const char *n)
{
	if (*n == '\0' || *n == '.' || strlen(n) > 253)
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '_' && *n != '-' && *n != '.')
			return false;
	return true;
}

static int write_secret(int dirfd, const char *spec, char ***env, size_t *n_env,
			struct skiff_error **err)
{
	_cleanup_free_ char *copy = xstrdup(spec), *data = NULL, *path = NULL;
	char *file = strchr(copy, '='), *opts;
	bool as_env = false;
	size_t len;

	if (file == NULL)
		return skiff_error_set(err, EINVAL, "job.secret.invalid",
				       "--secret %s: expected NAME=FILE[,type=env|file]", spec);
	*file++ = '\0';
	opts = strchr(file, ',');
	if (opts) {
		*opts++ = '\0';
		if (strcmp(opts, "type=env") == 0)
			as_env = true;
		else if (strcmp(opts, "type=file") != 0)
			return skiff_error_set(err, EINVAL, "job.secret.invalid",
					       "--secret %s: the only options are type=env and "
					       "type=file", spec);
	}
	if (!secret_name_ok(copy))
		return skiff_error_set(err, EINVAL, "job.secret.invalid",
				       "--secret %s: a name is letters, digits, '_', '-' and "
				       "'.', not starting with '.'", spec);
	if (read_file_at(AT_FDCWD, file, SECRET_MAX, &data, &len, err) < 0)
		return skiff_error_prefix(err, "--secret %s: ", copy);
	if (as_env) {
		if (memchr(data, '\0', len) != NULL)
			return skiff_error_set(err, EINVAL, "job.secret.invalid",
					       "--secret %s: a type=env secret cannot hold a NUL byte",
					       copy);
		*env = xrealloc(*env, (*n_env + 2) * sizeof(char *));
		(*env)[(*n_env)++] = xasprintf("%s=%s", copy, data);
		(*env)[*n_env] = NULL;
		return 0;
	}
	/* A copy, not the host file: the job cannot change it, and it goes
	 * with the container.  0400: only the container's root reads it. */
	path = xasprintf("secrets/%s", copy);
	if (write_file_new_at(dirfd, path, data, len, 0400, err) < 0)
		return skiff_error_prefix(err, "--secret %s: ", copy);
	return 0;
}

/* Whether the /etc files can be the overlay's top layer (see above);
 * *mode: the mode its /etc gets. */
static bool etc_in_layer(const struct job_options *o, const struct image_layers *l,
			 mode_t *mode)
{
	*mode = 0755;
	if (o->rootfs_mode == JOB_ROOTFS_FLATTEN || o->storage_limit != NULL)
		return false;
	/* The container's root is the caller in every store mapping: root's
	 * own, the single-owner one, and a subordinate range's first id. */
	for (size_t i = l->n_dirs; i-- > 0;) {
		_cleanup_free_ char *etc = xasprintf("%s/etc", l->dirs[i]);
		struct stat st;

		if (lstat(etc, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return false;
		}
		if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || st.st_gid != getegid())
			return false;
		*mode = st.st_mode & 07777;
		return true;
	}
	return true;
}

const char *const job_etc_files[JOB_N_ETC_FILES] = { "hosts", "hostname", "resolv.conf" };

void job_etc_clear(struct job_etc *etc)
{
	for (size_t i = 0; i < JOB_N_ETC_FILES; i++) {
		free(etc->text[i]);
		etc->text[i] = NULL;
	}
}

int job_write_files(int dirfd, const struct job_options *o, const struct image_layers *l,
		    const struct job_net *net, const char *hostname, struct job_etc *etc,
		    char ***env, struct skiff_error **err)
{
	size_t n_env = 0;

	*env = NULL;
	/* hosts and resolv.conf depend on the network (net.c). */
	etc->text[0] = job_net_hosts(net, o, hostname);
	etc->text[1] = xasprintf("%s\n", hostname);
	etc->text[2] = job_net_resolv_conf(net, o);
	etc->in_layer = etc_in_layer(o, l, &etc->dir_mode);
	/* The container's directory is new and only the container reads
	 * these: no temporary file and rename. */
	for (size_t i = 0; !etc->in_layer && i < JOB_N_ETC_FILES; i++)
		if (write_file_new_at(dirfd, job_etc_files[i], etc->text[i],
				      strlen(etc->text[i]), 0644, err) < 0)
			return skiff_error_prefix(err, "the container's /etc files: ");
	if (o->secrets != NULL && mkdirat(dirfd, "secrets", 0700) < 0)
		return skiff_error_set(err, errno, "job.files", "cannot make the secrets dir");
	for (char **s = o->secrets; s && *s; s++)
		if (write_secret(dirfd, *s, env, &n_env, err) < 0)
			return -1;
	return 0;
}
