/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `skiff run`, top to bottom: find (or pull) the image, claim the name,
 * make the container's directory, build its spec, create it over an
 * overlay of the layers, start and watch it, report, and remove every
 * trace of it unless --keep.
 *
 *   STORE/containers/ID/          rootfs/ (the overlay's mount point),
 *                                 upper/ and work/ (the writable layer),
 *                                 etc/ (hosts, hostname, resolv.conf),
 *                                 secrets/
 *   STORE/containers/names/NAME   a symlink to ID: one container per name */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job/job-internal.h"

#define CONTAINERS STORE_CONTAINERS
#define NAMES CONTAINERS "/names"

void job_result_clear(struct job_result *r)
{
	free(r->container_id);
	free(r->name);
	free(r->image);
	free(r->image_digest);
	free(r->out);
	free(r->err);
	strv_free(r->copied_out);
	memset(r, 0, sizeof(*r));
}

static char *random_id(void)
{
	unsigned char b[32];
	char *hex = xzalloc(65);

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		/* getrandom(2) does not fail for 32 bytes once the pool is up;
		 * fall back to time and pid rather than abort. */
		uint64_t t = now_ns() ^ ((uint64_t)getpid() << 32);

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	return hex;
}

/* Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static int check_name(const char *name, struct skiff_error **err)
{
	if (strlen(name) == 0 || strlen(name) > 128 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
	    != strlen(name) || name[0] == '.' || name[0] == '_' || name[0] == '-')
		return skiff_error_set(err, EINVAL, "job.name.invalid",
				       "--name \"%s\": a name is letters, digits, '_', '.' and "
				       "'-', starting with a letter or digit (at most 128)", name);
	return 0;
}

static int claim_name(int storefd, const char *name, const char *id, struct skiff_error **err)
{
	_cleanup_free_ char *link = xasprintf(NAMES "/%s", name);

	if ((mkdirat(storefd, CONTAINERS, 0700) < 0 && errno != EEXIST) ||
	    (mkdirat(storefd, NAMES, 0700) < 0 && errno != EEXIST))
		return skiff_error_set(err, errno, "job.state", "cannot create %s in the store",
				       NAMES);
	if (symlinkat(id, storefd, link) == 0)
		return 0;
	if (errno == EEXIST) {
		char other[80];
		ssize_t n = readlinkat(storefd, link, other, sizeof(other) - 1);

		other[n > 0 ? n : 0] = '\0';
		return skiff_error_set(err, EEXIST, "job.name.in_use",
				       "the name \"%s\" is in use by container %.12s: choose "
				       "another --name, or remove it with skiff rm %s", name,
				       other, name);
	}
	return skiff_error_set(err, errno, "job.state", "cannot record the name \"%s\"", name);
}

/* Finds IMAGE in the store, pulling it as --pull says. */
static int resolve_image(struct image_store *s, const struct job_options *o,
			 struct image_layers *l, struct skiff_error **err)
{
	struct image_source src;
	struct image_pull_options po = { .platform = o->platform,
					 .progress = o->quiet_pull ? IMAGE_PROGRESS_QUIET
								   : IMAGE_PROGRESS_LINES };
	_cleanup_free_ char *name = NULL;
	bool local;

	if (image_source_parse(o->image, &src, err) < 0)
		return -1;
	local = src.transport != IMAGE_TRANSPORT_DOCKER;
	image_source_clear(&src);
	/* A local layout or archive is its own truth: it is imported each
	 * time (layers already stored are only checked, not unpacked). */
	if (local) {
		if (o->pull == JOB_PULL_NEVER)
			return skiff_error_set(err, EINVAL, "job.pull.never",
					       "--pull never: %s is a local source, which is read "
					       "at each run; run the stored name instead (see skiff "
					       "images)", o->image);
	} else if (o->pull != JOB_PULL_ALWAYS) {
		_cleanup_error_ struct skiff_error *miss = NULL;

		if (image_layers_get(s, o->image, l, &miss) == 0)
			return 0;
		if (strcmp(miss->id, "image.not_found") != 0 || o->pull == JOB_PULL_NEVER) {
			*err = steal_pointer(&miss);
			return -1;
		}
	}
	if (image_pull(s, o->image, &po, &name, err) < 0)
		return -1;
	return image_layers_get(s, name, l, err);
}

static int make_container_dir(int storefd, const char *id, bool capped, int *dirfd,
			      struct skiff_error **err)
{
	_cleanup_free_ char *rel = xasprintf(CONTAINERS "/%s", id);

	if ((mkdirat(storefd, CONTAINERS, 0700) < 0 && errno != EEXIST) ||
	    mkdirat(storefd, rel, 0700) < 0)
		return skiff_error_set(err, errno, "job.state",
				       "cannot create the container directory %s in the store", rel);
	*dirfd = openat(storefd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*dirfd < 0 || mkdirat(*dirfd, "rootfs", 0755) < 0 ||
	    (capped && mkdirat(*dirfd, "wl", 0755) < 0))
		return skiff_error_set(err, errno, "job.state", "cannot set up %s", rel);
	/* The container's root owns the writable layer's parent. */
	fchmod(*dirfd, 0711);
	return 0;
}

static struct spec_root_overlay *overlay_of(const struct image_layers *l, const char *dir,
					   const struct job_options *o, bool userxattr)
{
	struct spec_root_overlay *ov = xzalloc(sizeof(*ov));
	const char *wl = dir;
	_cleanup_free_ char *capped = NULL;

	ov->lower = xzalloc((l->n_dirs + 1) * sizeof(char *));
	for (size_t i = 0; i < l->n_dirs; i++)
		ov->lower[i] = xstrdup(l->dirs[l->n_dirs - 1 - i]);
	ov->n_lower = l->n_dirs;
	ov->userxattr = userxattr;
	if (o->storage_limit != NULL) {
		capped = xasprintf("%s/wl", dir);
		ov->tmpfs_dir = xstrdup(capped);
		ov->tmpfs_size = xstrdup(o->storage_limit);
		wl = capped;
	}
	ov->upper = xasprintf("%s/upper", wl);
	ov->work = xasprintf("%s/work", wl);
	return ov;
}

/* stdin: the caller's with -i, else /dev/null; stdout and stderr: pipes
 * when they are captured or logged, else the caller's own. */
struct stdio_swap {
	int saved[3];
	int out[2], err[2];
};

static int stdio_swap_in(struct stdio_swap *sw, const struct job_options *o,
			 struct skiff_error **err)
{
	bool pipes = o->capture || o->log_file != NULL;

	*sw = (struct stdio_swap){ { -1, -1, -1 }, { -1, -1 }, { -1, -1 } };
	if (pipes && (pipe2(sw->out, O_CLOEXEC) < 0 || pipe2(sw->err, O_CLOEXEC) < 0))
		return skiff_error_set(err, errno, "job.stdio", "cannot make pipes");
	for (int fd = 0; fd < 3; fd++) {
		int with = -1;

		if (fd == 0 && !o->interactive)
			with = open("/dev/null", O_RDONLY | O_CLOEXEC);
		else if (fd == 1 && pipes)
			with = sw->out[1];
		else if (fd == 2 && pipes)
			with = sw->err[1];
		if (with < 0)
			continue;
		sw->saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		dup2(with, fd);   /* dup2 clears close-on-exec on fd */
		if (fd == 0)
			close(with);
	}
	return 0;
}

static void stdio_swap_out(struct stdio_swap *sw)
{
	for (int fd = 0; fd < 3; fd++)
		if (sw->saved[fd] >= 0) {
			dup2(sw->saved[fd], fd);
			close(sw->saved[fd]);
			sw->saved[fd] = -1;
		}
	for (int i = 1; i < 2; i++) {
		if (sw->out[i] >= 0)
			close(sw->out[i]);
		if (sw->err[i] >= 0)
			close(sw->err[i]);
		sw->out[i] = sw->err[i] = -1;
	}
}

static pid_t init_pid_of(const struct runtime_ctx *ctx, const char *id)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *j = NULL;

	if (container_state_json(ctx, id, &text, NULL) < 0)
		return -1;
	j = json_loads(text, 0, NULL);
	return (pid_t)json_integer_value(json_object_get(j, "pid"));
}

static void collect_stats(const struct runtime_ctx *ctx, const char *id, struct job_result *r)
{
	struct container_stats st;
	_cleanup_error_ struct skiff_error *ignored = NULL;

	if (container_stats(ctx, id, &st, &ignored) < 0 || !st.has_cgroup)
		return;
	if (st.has_cpu) {
		r->has_cpu = true;
		r->cpu_usec = st.cpu_usage_usec;
	}
	if (st.has_memory)
		r->oom_killed = st.oom_kill > 0;
	if (st.has_memory_peak) {
		r->has_memory_peak = true;
		r->memory_peak = st.memory_peak;
	}
}

int job_run(const struct job_options *o, struct job_result *r, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_spec_ struct spec *spec = NULL;
	_cleanup_free_ char *state_root = NULL, *dir = NULL, *cdir_rel = NULL, *hostname = NULL;
	_cleanup_strv_ char **secret_env = NULL;
	_cleanup_close_ int cdirfd = -1, mnt_ns = -1, user_ns = -1;
	_cleanup_json_ json_t *config = NULL;
	struct image_layers layers = { 0 };
	struct job_spec_input in = { .o = o };
	struct runtime_ctx ctx = { 0 };
	struct create_opts co = { 0 };
	struct stdio_swap sw = { { -1, -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct job_net net = JOB_NET_INIT;      /* networking */
	bool named = false, created = false;
	int stop_signal = SIGTERM, rc = -1;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->container_id = random_id();
	r->name = o->name ? xstrdup(o->name) : xasprintf("job-%.12s", r->container_id);
	if (o->name && check_name(o->name, err) < 0)
		return -1;
	if (image_store_open(o->store, &s, err) < 0 || resolve_image(s, o, &layers, err) < 0)
		goto out;
	r->image = xstrdup(layers.name);
	r->image_digest = xstrdup(layers.manifest);
	config = json_loadb(layers.config, layers.config_len, 0, NULL);
	in.config = json_object_get(config, "config");
	in.layers = &layers;
	in.owners = image_store_owners(s, in.uid_map, in.gid_map, &in.n_map);
	in.rootless = !(geteuid() == 0 && sys_in_initial_userns());
	if (runtime_state_root(o->state_root, &state_root, err) < 0)
		goto out;
	ctx = (struct runtime_ctx){ .state_root = state_root, .rootless = in.rootless };
	if (job_net_prepare(o, in.rootless, &net, err) < 0)
		goto out;

	if (claim_name(image_store_dirfd(s), r->name, r->container_id, err) < 0)
		goto out;
	named = true;
	if (make_container_dir(image_store_dirfd(s), r->container_id,
			       o->storage_limit != NULL, &cdirfd, err) < 0)
		goto out;
	cdir_rel = xasprintf(CONTAINERS "/%s", r->container_id);
	dir = xasprintf("%s/%s", image_store_path(s), cdir_rel);
	/* prune keeps the layers of the image named here (kept containers
	 * hold no lock on the store). */
	{
		_cleanup_free_ char *m = xasprintf("%s\n", layers.manifest);

		if (write_file_atomic_at(cdirfd, STORE_CONTAINER_IMAGE, m, strlen(m), 0644, err) < 0)
			goto out;
	}
	hostname = o->hostname ? xstrdup(o->hostname) : xasprintf("%.12s", r->container_id);
	if (job_write_files(cdirfd, o, &net, hostname, &secret_env, err) < 0)
		goto out;
	in.dir = dir;
	in.hostname = hostname;
	in.secret_env = secret_env;
	in.join_userns = net.userns_path;      /* networking */
	if (job_build_spec(&in, &spec, &stop_signal, err) < 0)
		goto out;
	spec->root_overlay = overlay_of(&layers, dir, o, in.owners != IMAGE_OWNERS_ROOT);

	co.bundle = dir;
	co.spec = spec;
	/* The init's parent exits during set-up: be the one it is given to. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (stdio_swap_in(&sw, o, err) < 0)
		goto out;
	rc = container_create(&ctx, r->container_id, &co, err);
	stdio_swap_out(&sw);
	if (rc < 0 && strncmp((*err)->id, "cgroup.", 7) == 0)
		skiff_error_prefix(err, "--memory, --memory-swap, --cpus, --pids-limit: ");
	if (rc < 0)
		goto out;
	rc = -1;
	created = true;
	pid = init_pid_of(&ctx, r->container_id);
	if (pid <= 0) {
		skiff_error_set(err, ESRCH, "job.monitor", "the container's init is gone");
		goto out;
	}
	if (job_net_start(&net, pid, cdirfd, err) < 0)
		goto out;
	/* The container's namespaces, held open for the copies: the mount
	 * namespace (and its overlay) outlives the job while an fd names it. */
	if (o->copy_in != NULL || o->copy_out != NULL) {
		_cleanup_free_ char *mnt = xasprintf("/proc/%d/ns/mnt", pid);
		_cleanup_free_ char *user = xasprintf("/proc/%d/ns/user", pid);

		mnt_ns = open(mnt, O_RDONLY | O_CLOEXEC);
		if (in.rootless)
			user_ns = open(user, O_RDONLY | O_CLOEXEC);
		if (mnt_ns < 0 || (in.rootless && user_ns < 0)) {
			skiff_error_set(err, errno, "job.copy", "cannot open the container's namespaces");
			goto out;
		}
	}
	if (o->copy_in != NULL && job_copy_in(user_ns, mnt_ns, o->copy_in, err) < 0)
		goto out;
	if (job_monitor(&ctx, r->container_id, pid, o, stop_signal, sw.out[0], sw.err[0], r,
			err) < 0)
		goto out;
	collect_stats(&ctx, r->container_id, r);
	if (o->copy_out != NULL &&
	    job_copy_out(user_ns, mnt_ns, o->copy_out, &r->copied_out, err) < 0)
		goto out;
	rc = 0;
out:
	job_net_stop(&net);
	for (int i = 0; i < 2; i++) {
		if (sw.out[i] >= 0)
			close(sw.out[i]);
		if (sw.err[i] >= 0)
			close(sw.err[i]);
	}
	if (created) {
		_cleanup_error_ struct skiff_error *e = NULL;

		if (container_delete(&ctx, r->container_id, true, &e) < 0 && rc == 0) {
			*err = steal_pointer(&e);
			rc = -1;
		}
	}
	if (!o->keep || !created) {
		_cleanup_error_ struct skiff_error *e = NULL;

		if (cdir_rel != NULL && image_store_remove(s, cdir_rel, &e) < 0 && rc == 0) {
			*err = steal_pointer(&e);
			skiff_error_prefix(err, "removing the container's directory: ");
			rc = -1;
		}
		if (named) {
			_cleanup_free_ char *link = xasprintf(NAMES "/%s", r->name);

			unlinkat(image_store_dirfd(s), link, 0);
		}
	}
	image_layers_clear(&layers);
	return rc;
}

/* ---- skiff rm: a container kept with --keep ---------------------------------- */

static bool is_hex_id(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int job_remove(const char *store, const char *state_root, const char *what,
	       struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_free_ char *link = NULL, *rel = NULL, *root = NULL, *state = NULL;
	char id[80];
	ssize_t n;
	struct runtime_ctx ctx = { 0 };
	struct stat st;
	int storefd;

	if (image_store_open(store, &s, err) < 0)
		return -1;
	storefd = image_store_dirfd(s);
	if (is_hex_id(what)) {
		snprintf(id, sizeof(id), "%s", what);
	} else {
		if (check_name(what, err) < 0)
			return -1;
		link = xasprintf(NAMES "/%s", what);
		n = readlinkat(storefd, link, id, sizeof(id) - 1);
		if (n < 0)
			return skiff_error_set(err, 0, "job.not_found",
					       "no container named \"%s\" in the store %s", what,
					       image_store_path(s));
		id[n] = '\0';
	}
	rel = xasprintf(CONTAINERS "/%s", id);
	if (!is_hex_id(id) || fstatat(storefd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(st.st_mode))
		return skiff_error_set(err, 0, "job.not_found",
				       "no container \"%s\" in the store %s", what,
				       image_store_path(s));
	/* A container that still has runtime state is running (its skiff
	 * run has not finished): leave it to its run. */
	if (runtime_state_root(state_root, &root, err) < 0)
		return -1;
	ctx.state_root = root;
	if (container_state_json(&ctx, id, &state, NULL) == 0)
		return skiff_error_set(err, 0, "job.running",
				       "container \"%s\" is running: wait for its skiff run to end",
				       what);
	if (image_store_remove(s, rel, err) < 0)
		return skiff_error_prefix(err, "removing container %s: ", what);
	/* Its name, when the name still points to it. */
	{
		_cleanup_closedir_ DIR *d = NULL;
		int fd = openat(storefd, NAMES, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct dirent *de;

		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (d == NULL && fd >= 0)
			close(fd);
		while (d != NULL && (de = readdir(d)) != NULL) {
			char target[80];

			n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, id) == 0)
				unlinkat(dirfd(d), de->d_name, 0);
		}
	}
	return 0;
}
