/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The files skiff gives a container of its own, kept in the container's
 * directory and bind-mounted in: /etc/hosts, /etc/hostname,
 * /etc/resolv.conf (as Podman gives them; as DIR/hosts, DIR/hostname,
 * DIR/resolv.conf), and /run/secrets/NAME (DIR/secrets/NAME). */
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

int job_write_files(int dirfd, const struct job_options *o, const struct job_net *net,
		    const char *hostname, char ***env, struct skiff_error **err)
{
	/* hosts and resolv.conf depend on the network (net.c). */
	_cleanup_free_ char *hosts = job_net_hosts(net, o, hostname);
	_cleanup_free_ char *name = xasprintf("%s\n", hostname);
	_cleanup_free_ char *resolv = job_net_resolv_conf(net, o);
	size_t n_env = 0;

	*env = NULL;
	/* The container's directory is new and only the container reads
	 * these: no temporary file and rename. */
	if (write_file_new_at(dirfd, "hosts", hosts, strlen(hosts), 0644, err) < 0 ||
	    write_file_new_at(dirfd, "hostname", name, strlen(name), 0644, err) < 0 ||
	    write_file_new_at(dirfd, "resolv.conf", resolv, strlen(resolv), 0644, err) < 0)
		return *err ? -1 : skiff_error_set(err, errno, "job.files",
						   "cannot write the container's /etc files");
	if (o->secrets != NULL && mkdirat(dirfd, "secrets", 0700) < 0)
		return skiff_error_set(err, errno, "job.files", "cannot make the secrets dir");
	for (char **s = o->secrets; s && *s; s++)
		if (write_secret(dirfd, *s, env, &n_env, err) < 0)
			return -1;
	return 0;
}
