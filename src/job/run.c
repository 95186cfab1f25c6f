/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `skiff run`, in five phases that hand a struct job_run on:
 *   prepare  find (or pull) the image, claim the name, make the
 *            container's directory, build its spec, record the run
 *   create   create it over an overlay of the layers; --copy-in
 *   start    exec the job's command
 *   watch    streams, --timeout, the exit status
 *   finish   --copy-out, delete it, write the result, and remove every
 *            trace of it unless --keep.
 * With -d, a monitor process runs them all and reports after start
 * (job/detach.c).
 *
 *   STORE/containers/ID/          upper/ and work/ (the writable layer),
 *                                 hosts, hostname, resolv.conf unless the
 *                                 overlay's top layer has them (files.c),
 *                                 secrets/, rootfs/ (a flattened root
 *                                 only); the run's record (see
 *                                 job/containers.c)
 *   STORE/containers/names/NAME   a symlink to ID: one container per
 *                                 --name (an unnamed one's, job-<ID's
 *                                 first 12 digits>, is found by its ID) */
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
	free(r->started_at);
	free(r->finished_at);
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
	if (job_name_is_auto(name))
		return skiff_error_set(err, EINVAL, "job.name.invalid",
				       "--name \"%s\": job-<12 hex digits> is the name of the "
				       "unnamed container whose id begins so: choose another", name);
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
			 struct job_events *ev, struct image_layers *l, struct skiff_error **err)
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

		if (image_layers_get(s, o->image, l, &miss) == 0 &&
		    job_stored_platform_ok(l, o, &miss))
			return 0;
		if ((strcmp(miss->id, "image.not_found") != 0 &&
		     strcmp(miss->id, "image.platform.mismatch") != 0) || o->pull == JOB_PULL_NEVER) {
			*err = steal_pointer(&miss);
			return -1;
		}
	}
	job_event_pull(ev, true, NULL);
	if (image_pull(s, o->image, &po, &name, err) < 0 || image_layers_get(s, name, l, err) < 0)
		return -1;
	job_event_pull(ev, false, l);
	return 0;
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
	/* No rootfs/: an overlay root needs no mount point (runtime/rootfs.c),
	 * and a flattened one is made by image_flatten. */
	if (*dirfd < 0 || (capped && mkdirat(*dirfd, "wl", 0755) < 0))
		return skiff_error_set(err, errno, "job.state", "cannot set up %s", rel);
	/* The container's root owns the writable layer's parent. */
	fchmod(*dirfd, 0711);
	return 0;
}

/* stdin: the caller's with -i, else /dev/null; stdout and stderr: pipes
 * when they are captured or logged, the container's log files when
 * detached, else the caller's own. */
static int stdio_swap_in(struct stdio_swap *sw, const struct job_run *jr,
			 struct skiff_error **err)
{
	const struct job_options *o = jr->o;
	bool pipes = o->capture || o->log_file != NULL;
	_cleanup_close_ int out_log = -1, err_log = -1;

	*sw = (struct stdio_swap){ { -1, -1, -1 }, { -1, -1 }, { -1, -1 } };
	if (o->detach) {
		pipes = false;
		if (job_detach_open_logs(jr, &out_log, &err_log, err) < 0)
			return -1;
	}
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
		else if (fd == 1 && out_log >= 0)
			with = out_log;
		else if (fd == 2 && err_log >= 0)
			with = err_log;
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

void job_run_init(struct job_run *jr, const struct job_options *o, struct job_result *r)
{
	memset(jr, 0, sizeof(*jr));
	memset(r, 0, sizeof(*r));
	jr->o = o;
	jr->r = r;
	jr->in.o = o;
	jr->cdirfd = jr->mnt_ns = jr->user_ns = jr->log_fd = jr->kept_userns = -1;
	jr->sw = (struct stdio_swap){ { -1, -1, -1 }, { -1, -1 }, { -1, -1 } };
	jr->stop_signal = SIGTERM;
	jr->net = (struct job_net)JOB_NET_INIT;
	r->container_id = random_id();
	r->name = o->name ? xstrdup(o->name) : xasprintf("job-%.12s", r->container_id);
}

/* Rootless runs mapping subordinate ranges share one user namespace kept
 * by a holder (userns_keep.c) instead of paying for newuidmap and
 * newgidmap each time; SKIFF_USERNS_KEEP=0 asks for a fresh one per run.
 * Not when networking joins the namespace owning --network ns:PATH, nor
 * where skiff may write any map itself (no helper to save). */
static int join_kept_userns(struct job_run *jr, struct skiff_error **err)
{
	const char *env = getenv("SKIFF_USERNS_KEEP");

	if (!jr->in.rootless || jr->in.n_map == 0 || jr->net.userns_path != NULL ||
	    (env != NULL && strcmp(env, "0") == 0) || sys_can_write_any_map())
		return 0;
	if (job_userns_keep(jr->state_root, jr->in.uid_map, jr->in.gid_map, jr->in.n_map,
			    &jr->kept_userns, err) < 0)
		return -1;
	jr->kept_userns_path = xasprintf("/proc/%d/fd/%d", getpid(), jr->kept_userns);
	jr->in.join_userns = jr->kept_userns_path;
	return 0;
}

/* Phase 1, prepare: the image, the name, the container's directory and
 * its spec.  Nothing runs yet. */
int job_run_prepare(struct job_run *jr, struct skiff_error **err)
{
	const struct job_options *o = jr->o;
	struct job_result *r = jr->r;

	/* The policy may set defaults (its maxima): jr->o points at the
	 * options with them from here on. */
	if (job_events_open(o, r, &jr->ev, err) < 0 || job_events_policy(jr->ev, &jr->o, err) < 0)
		return -1;
	o = jr->in.o = jr->o;
	if (o->name && check_name(o->name, err) < 0)
		return -1;
	if (image_store_open(o->store, &jr->s, err) < 0)
		return -1;
	jr->in.owners = image_store_owners(jr->s, jr->in.uid_map, jr->in.gid_map, &jr->in.n_map);
	jr->in.rootless = !(geteuid() == 0 && sys_in_initial_userns());
	if (runtime_state_root(o->state_root, &jr->state_root, err) < 0)
		return -1;
	jr->ctx = (struct runtime_ctx){ .state_root = jr->state_root, .rootless = jr->in.rootless };
	if (job_net_prepare(o, jr->in.rootless, &jr->net, err) < 0)
		return -1;
	jr->in.join_userns = jr->net.userns_path;      /* networking */
	if (join_kept_userns(jr, err) < 0)
		return -1;
	/* Made while the rest is prepared, from the image on: in the user
	 * namespace the container joins (the kept one), or in none (root). */
	if (!jr->in.rootless || jr->kept_userns >= 0)
		job_net_ahead_start(&jr->net, o, jr->kept_userns);
	if (resolve_image(jr->s, o, jr->ev, &jr->layers, err) < 0)
		return -1;
	r->image = xstrdup(jr->layers.name);
	r->image_digest = xstrdup(jr->layers.manifest);
	if (job_events_policy_image(jr->ev, &jr->layers, err) < 0)
		return -1;
	jr->config = json_loadb(jr->layers.config, jr->layers.config_len, 0, NULL);
	jr->in.config = json_object_get(jr->config, "config");
	jr->in.layers = &jr->layers;

	/* An unnamed container's name is its id's (job_resolve finds it). */
	if (o->name != NULL) {
		if (claim_name(image_store_dirfd(jr->s), r->name, r->container_id, err) < 0)
			return -1;
		jr->named = true;
	}
	if (make_container_dir(image_store_dirfd(jr->s), r->container_id,
			       o->storage_limit != NULL, &jr->cdirfd, err) < 0)
		return -1;
	jr->cdir_rel = xasprintf(CONTAINERS "/%s", r->container_id);
	jr->dir = xasprintf("%s/%s", image_store_path(jr->s), jr->cdir_rel);
	jr->hostname = o->hostname ? xstrdup(o->hostname) : xasprintf("%.12s", r->container_id);
	if (job_write_files(jr->cdirfd, o, &jr->layers, &jr->net, jr->hostname,
			    &jr->etc, &jr->secret_env, err) < 0)
		return -1;
	jr->in.etc_in_layer = jr->etc.in_layer;
	jr->in.dir = jr->dir;
	jr->in.hostname = jr->hostname;
	jr->in.secret_env = jr->secret_env;
	if (job_build_spec(&jr->in, &jr->spec, &jr->stop_signal, err) < 0)
		return -1;
	job_events_args(jr->ev, jr->spec->process->args);
	/* What skiff ps, inspect, wait, kill and stop read from another
	 * shell; its image_digest is what prune keeps (kept containers hold
	 * no lock on the store). */
	if (job_record_write(jr, err) < 0)
		return -1;
	/* The image is recorded in the directory (prune keeps it): skiff
	 * prune need not wait for the job to end. */
	image_store_unlock(jr->s);
	if (o->log_file != NULL) {
		jr->log_fd = open(o->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
				  0644);
		if (jr->log_fd < 0)
			return skiff_error_set(err, errno, "job.log_file",
					       "cannot open --log-file %s", o->log_file);
	}
	return 0;
}

/* Phase 2, create: the container exists, its init waits for start; the
 * --copy-in files are in place. */
int job_run_create(struct job_run *jr, struct skiff_error **err)
{
	const struct job_options *o = jr->o;
	/* Created and started at once when nothing has to happen in between
	 * (the copies in, a network helper on the created namespaces, the
	 * namespaces held for the copies out, which a job that already ended
	 * would no longer have): the runtime then spawns the job straight
	 * through (namespaces.c, "chain"). */
	struct create_opts co = { .bundle = jr->dir, .spec = jr->spec,
				  .start_now = o->copy_in == NULL && o->copy_out == NULL &&
					       !job_network_user_mode(jr->net.mode),
				  .keep_killed = true };
	int rc;

	/* The init's parent exits during set-up: be the one it is given to. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (stdio_swap_in(&jr->sw, jr, err) < 0)
		return -1;
	co.netns_sock = co.netns_lo_fd = job_net_ahead_sock(&jr->net);
	rc = job_rootfs_create(&jr->ctx, jr->r->container_id, &co,
			       &(struct job_rootfs){ jr->s, &jr->layers, o, jr->dir, jr->cdir_rel,
						     jr->in.owners != IMAGE_OWNERS_ROOT,
						     &jr->etc },
			       jr->sw.saved[2] >= 0 ? jr->sw.saved[2] : STDERR_FILENO, &jr->pid,
			       &jr->started_at_create, err);
	stdio_swap_out(&jr->sw);
	if (rc < 0 && strncmp((*err)->id, "cgroup.", 7) == 0)
		skiff_error_prefix(err, "--memory, --memory-swap, --cpus, --pids-limit: ");
	if (rc < 0)
		return -1;
	jr->created = true;
	/* Started already (it may even have ended): its time is now. */
	if (jr->started_at_create)
		jr->start = now_ns();
	job_event(jr->ev, "created");
	if (jr->pid <= 0)
		return skiff_error_set(err, ESRCH, "job.monitor", "the container's init is gone");
	if (job_net_start(&jr->net, jr->pid, jr->cdirfd, err) < 0)
		return -1;
	/* The container's namespaces, held open for the copies: the mount
	 * namespace (and its overlay) outlives the job while an fd names it. */
	if (o->copy_in != NULL || o->copy_out != NULL) {
		_cleanup_free_ char *mnt = xasprintf("/proc/%d/ns/mnt", jr->pid);
		_cleanup_free_ char *user = xasprintf("/proc/%d/ns/user", jr->pid);

		jr->mnt_ns = open(mnt, O_RDONLY | O_CLOEXEC);
		if (jr->in.rootless)
			jr->user_ns = open(user, O_RDONLY | O_CLOEXEC);
		if (jr->mnt_ns < 0 || (jr->in.rootless && jr->user_ns < 0))
			return skiff_error_set(err, errno, "job.copy",
					       "cannot open the container's namespaces");
	}
	if (o->copy_in != NULL && job_copy_in(jr->user_ns, jr->mnt_ns, o->copy_in, err) < 0)
		return -1;
	return 0;
}

/* Phase 3, start: the job's command is exec'd. */
int job_run_start(struct job_run *jr, struct skiff_error **err)
{
	if (job_monitor_start(&jr->ctx, jr->r->container_id, jr->pid, jr->started_at_create,
			      jr->r, &jr->start, err) < 0)
		return -1;
	job_event(jr->ev, "started");
	job_record_started(jr);
	return 0;
}

/* Phase 4, watch: streams, --timeout, the exit status, the cgroup's
 * numbers. */
int job_run_watch(struct job_run *jr, struct skiff_error **err)
{
	if (job_monitor_watch(&jr->ctx, jr->r->container_id, jr->pid, jr->o, jr->stop_signal,
			      jr->sw.out[0], jr->sw.err[0], jr->log_fd, jr->start, jr->r, err) < 0)
		return -1;
	collect_stats(&jr->ctx, jr->r->container_id, jr->r);
	return 0;
}

/* The job's stdout and stderr pipes, both ends. */
static void close_stdio_pipes(struct stdio_swap *sw)
{
	for (int i = 0; i < 2; i++) {
		skiff_closep(&sw->out[i]);
		skiff_closep(&sw->err[i]);
	}
}

/* Phase 5, finish (whatever rc the phases before ended with): --copy-out,
 * the container deleted, the result recorded, and every trace removed
 * unless --keep.  Returns rc, or -1 when the finish itself failed. */
int job_run_finish(struct job_run *jr, int rc, struct skiff_error **err)
{
	const struct job_options *o = jr->o;
	struct job_result *r = jr->r;

	if (rc == 0 && o->copy_out != NULL &&
	    job_copy_out(jr->user_ns, jr->mnt_ns, o->copy_out, &r->copied_out, err) < 0)
		rc = -1;
	job_net_stop(&jr->net);
	close_stdio_pipes(&jr->sw);
	if (jr->created) {
		_cleanup_error_ struct skiff_error *e = NULL;

		if (container_delete(&jr->ctx, r->container_id, true, &e) < 0 && rc == 0) {
			*err = steal_pointer(&e);
			rc = -1;
		}
		/* The result, for skiff wait, inspect and ps -a; then wait
		 * for the readers of the result before its directory goes. */
		job_record_result(jr, rc < 0 ? *err : NULL);
	}
	if (!o->keep || !jr->created) {
		_cleanup_error_ struct skiff_error *e = NULL;

		if (jr->created)
			job_record_wait_readers(jr);
		if (jr->cdir_rel != NULL && image_store_remove(jr->s, jr->cdir_rel, &e) < 0 &&
		    rc == 0) {
			*err = steal_pointer(&e);
			skiff_error_prefix(err, "removing the container's directory: ");
			rc = -1;
		}
		if (jr->named) {
			_cleanup_free_ char *link = xasprintf(NAMES "/%s", r->name);

			unlinkat(image_store_dirfd(jr->s), link, 0);
		}
	}
	/* The timeout, oom and exited (or failed) events, the audit line. */
	rc = job_events_end(&jr->ev, rc, err);
	job_run_clear(jr);
	return rc;
}

void job_run_clear(struct job_run *jr)
{
	close_stdio_pipes(&jr->sw);
	if (jr->spec != NULL)
		spec_free(jr->spec);
	jr->spec = NULL;
	json_decref(jr->config);
	jr->config = NULL;
	image_layers_clear(&jr->layers);
	strv_free(jr->secret_env);
	jr->secret_env = NULL;
	job_etc_clear(&jr->etc);
	free(jr->state_root);
	free(jr->dir);
	free(jr->cdir_rel);
	free(jr->hostname);
	jr->state_root = jr->dir = jr->cdir_rel = jr->hostname = NULL;
	skiff_closep(&jr->cdirfd);
	skiff_closep(&jr->mnt_ns);
	skiff_closep(&jr->user_ns);
	skiff_closep(&jr->log_fd);
	skiff_closep(&jr->lock_fd);
	skiff_closep(&jr->kept_userns);
	free(jr->kept_userns_path);
	jr->kept_userns_path = NULL;
	if (jr->s != NULL)
		image_store_close(jr->s);
	jr->s = NULL;
}

/* The phases in order: prepare, create, start, watch, finish.  started,
 * when set, is called once the job runs (skiff run -d reports there). */
int job_run_phases(const struct job_options *o, struct job_result *r,
		   void (*started)(struct job_run *jr, void *arg), void *arg,
		   struct skiff_error **err)
{
	struct job_run jr;
	int rc;

	job_run_init(&jr, o, r);
	rc = job_run_prepare(&jr, err);
	if (rc == 0)
		rc = job_run_create(&jr, err);
	if (rc == 0)
		rc = job_run_start(&jr, err);
	/* The init killed (skiff kill, kill -9, the OOM killer) while it
	 * was set up or waited for its start (create_opts.keep_killed): the
	 * other failures follow from that one, and the job ends as it would
	 * a moment later, by the signal. */
	if (rc < 0 && jr.created && !r->started && sys_child_killed(jr.pid)) {
		skiff_error_free(*err);
		*err = NULL;
		jr.start = now_ns();
		rc = 0;
	}
	if (rc == 0 && started != NULL)
		started(&jr, arg);
	if (rc == 0)
		rc = job_run_watch(&jr, err);
	return job_run_finish(&jr, rc, err);
}

int job_run(const struct job_options *o, struct job_result *r, struct skiff_error **err)
{
	return job_run_phases(o, r, NULL, NULL, err);
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
	_cleanup_free_ char *rel = NULL, *root = NULL, *state = NULL;
	char id[80];
	ssize_t n;
	struct runtime_ctx ctx = { 0 };
	struct stat st;
	int storefd;

	if (image_store_open(store, &s, err) < 0)
		return -1;
	storefd = image_store_dirfd(s);
	if (job_resolve(s, what, id, err) < 0)
		return -1;
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
	if (container_state_json(&ctx, id, &state, NULL) == 0 || job_record_is_live(storefd, id))
		return skiff_error_set(err, 0, "job.running",
				       "container \"%s\" is running: stop it with skiff stop, or "
				       "use skiff rm -f", what);
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
