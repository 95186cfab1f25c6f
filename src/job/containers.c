/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Containers from another shell, with no daemon: each run records itself
 * in its directory, and ps, inspect, wait, kill, stop and logs read that
 * record (and the runtime's state it names).
 *
 *   STORE/containers/ID/job.json     id, name, image, command, created,
 *                                    the state root, the stop signal and
 *                                    timeout, the monitor's pid; its
 *                                    image_digest is what prune keeps
 *   STORE/containers/ID/             its xattr user.skiff.started: when
 *                                    the job's command started (or the
 *                                    file started, on a file system
 *                                    without user xattrs)
 *   STORE/containers/ID/result.json  the --json result, once it ended (a
 *                                    run without --keep writes it only
 *                                    for a reader holding the lock)
 *   STORE/containers/ID/             its flock, held shared by wait and
 *                                    logs -f until they read the result:
 *                                    the run waits for them (5 s at most)
 *                                    before it removes the directory
 *   STORE/containers/ID/stdout.log, stderr.log   a detached job's output */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "job/job-internal.h"

#define RECORD STORE_CONTAINER_RECORD
#define STARTED "started"
#define STARTED_XATTR "user.skiff.started"
#define RESULT "result.json"
#define NAMES STORE_CONTAINERS "/names"

char *job_time_now(void)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* ---- written by the run -------------------------------------------------------- */

int job_record_write(struct job_run *jr, struct skiff_error **err)
{
	const struct job_options *o = jr->o;
	_cleanup_json_ json_t *j = json_object(), *cmd = json_array();
	_cleanup_free_ char *created = job_time_now(), *text = NULL;
	uint64_t start = 0;

	for (size_t i = 0; jr->spec->process != NULL && i < jr->spec->process->n_args; i++)
		json_array_append_new(cmd, json_string(jr->spec->process->args[i]));
	sys_proc_start_time(getpid(), &start);
	json_object_set_new(j, "id", json_string(jr->r->container_id));
	json_object_set_new(j, "name", json_string(jr->r->name));
	json_object_set_new(j, "image", json_string(jr->r->image));
	json_object_set_new(j, "image_digest", json_string(jr->r->image_digest));
	json_object_set(j, "command", cmd);
	json_object_set_new(j, "created", json_string(created));
	json_object_set_new(j, "detached", json_boolean(o->detach));
	json_object_set_new(j, "keep", json_boolean(o->keep));
	json_object_set_new(j, "state_root", json_string(jr->state_root));
	json_object_set_new(j, "stop_signal", json_integer(jr->stop_signal));
	json_object_set_new(j, "stop_timeout", json_integer(o->stop_timeout));
	json_object_set_new(j, "monitor_pid", json_integer(getpid()));
	json_object_set_new(j, "monitor_start_time", json_integer((json_int_t)start));
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	/* The readers' lock is the directory's own (an open of its own: flock
	 * goes with the open file). */
	jr->lock_fd = openat(jr->cdirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jr->lock_fd < 0)
		return skiff_error_set(err, errno, "job.state", "cannot open %s", jr->cdir_rel);
	return write_file_atomic_at(jr->cdirfd, RECORD, text, strlen(text), 0644, err);
}

void job_record_started(struct job_run *jr)
{
	_cleanup_error_ struct skiff_error *e = NULL;
	size_t len;

	free(jr->r->started_at);
	jr->r->started_at = job_time_now();
	len = strlen(jr->r->started_at);
	/* An attribute of the directory: no inode to make and free on the
	 * store's disk, as a file would be. */
	if (fsetxattr(jr->cdirfd, STARTED_XATTR, jr->r->started_at, len, 0) == 0)
		return;
	if (write_file_atomic_at(jr->cdirfd, STARTED, jr->r->started_at, len, 0644, &e) < 0)
		skiff_log_error(e);
}

/* What job_record_started() wrote, in either form, or NULL. */
static char *read_started(int dirfd)
{
	char t[64], *text = NULL;
	ssize_t n = fgetxattr(dirfd, STARTED_XATTR, t, sizeof(t) - 1);

	if (n > 0) {
		t[n] = '\0';
		return xstrdup(t);
	}
	read_file_at(dirfd, STARTED, 4096, &text, NULL, NULL);
	return text;
}

void job_record_result(struct job_run *jr, const struct skiff_error *e)
{
	_cleanup_error_ struct skiff_error *werr = NULL;
	_cleanup_free_ char *text = NULL;

	if (jr->cdirfd < 0)
		return;
	if (jr->o->detach)
		job_detach_collect_logs(jr);
	free(jr->r->finished_at);
	jr->r->finished_at = job_time_now();
	/* Without --keep the directory goes next, so only a reader already
	 * waiting (wait, logs -f: the lock held shared) can read the result.
	 * With none, the run takes the lock and skips the file; one coming
	 * later waits for the lock, then finds the container removed, as it
	 * would a moment later anyway. */
	if (!jr->o->keep && jr->lock_fd >= 0 && flock(jr->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return;
	text = job_result_json(jr->r, e);
	if (write_file_atomic_at(jr->cdirfd, RESULT, text, strlen(text), 0644, &werr) < 0)
		skiff_log_error(werr);
}

void job_record_wait_readers(struct job_run *jr)
{
	/* A reader holds its shared lock for at most one poll interval after
	 * the result appears; a stuck one (logs -f into a full pipe) must not
	 * keep the run from ending. */
	for (int i = 0; jr->lock_fd >= 0 && i < 500; i++) {
		if (flock(jr->lock_fd, LOCK_EX | LOCK_NB) == 0)
			return;
		usleep(10000);
	}
}

/* ---- read by the commands -------------------------------------------------------- */

struct entry {
	char id[65];
	int storefd;                 /* borrowed */
	int dirfd;                   /* STORE/containers/ID */
	json_t *record;              /* job.json, or an empty object */
	json_t *result;              /* result.json, or NULL while it runs */
	char *started;
	const char *status;          /* created, running, paused, exited, unknown */
	pid_t pid;                   /* the init, while it runs */
};

static void entry_clear(struct entry *e)
{
	json_decref(e->record);
	json_decref(e->result);
	free(e->started);
	skiff_closep(&e->dirfd);
	memset(e, 0, sizeof(*e));
	e->dirfd = -1;
}

static const char *record_string(const struct entry *e, const char *key)
{
	return json_string_value(json_object_get(e->record, key));
}

static bool monitor_alive(const struct entry *e)
{
	json_t *pid = json_object_get(e->record, "monitor_pid");
	uint64_t start;

	if (!json_is_integer(pid))
		return false;
	return sys_proc_start_time((pid_t)json_integer_value(pid), &start) == 0 &&
	       start == (uint64_t)json_integer_value(json_object_get(e->record,
								     "monitor_start_time"));
}

/* A result holds up to two --capture-limit streams (escaped). */
static json_t *load_json_at(int dirfd, const char *name)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (read_file_at(dirfd, name, (size_t)1 << 30, &text, &len, NULL) < 0)
		return NULL;
	return json_loadb(text, len, 0, NULL);
}

static struct runtime_ctx ctx_of(const struct entry *e)
{
	return (struct runtime_ctx){ .state_root = record_string(e, "state_root"),
				     .rootless = !(geteuid() == 0 && sys_in_initial_userns()) };
}

/* Reads the record, the result, and the status the runtime's state gives. */
static void entry_refresh(struct entry *e)
{
	json_decref(e->result);
	e->result = load_json_at(e->dirfd, RESULT);
	free(e->started);
	e->started = read_started(e->dirfd);
	e->pid = 0;
	if (e->result != NULL) {
		e->status = "exited";
		return;
	}
	if (!monitor_alive(e)) {
		/* No result and no monitor: a record of an older skiff (kept
		 * containers had none), or a monitor that was killed. */
		e->status = json_object_size(e->record) == 0 ? "exited" : "unknown";
		return;
	}
	e->status = "created";
	if (record_string(e, "state_root") != NULL) {
		struct runtime_ctx ctx = ctx_of(e);
		_cleanup_free_ char *text = NULL;
		_cleanup_json_ json_t *st = NULL;

		if (container_state_json(&ctx, e->id, &text, NULL) == 0 &&
		    (st = json_loads(text, 0, NULL)) != NULL) {
			const char *s = json_string_value(json_object_get(st, "status"));

			e->pid = (pid_t)json_integer_value(json_object_get(st, "pid"));
			if (s != NULL && strcmp(s, "running") == 0)
				e->status = "running";
			else if (s != NULL && strcmp(s, "paused") == 0)
				e->status = "paused";
		}
	}
}

static bool is_hex(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max && strspn(s, "0123456789abcdef") == n;
}

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 128 && s[0] != '.' && s[0] != '_' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

bool job_name_is_auto(const char *name)
{
	return strlen(name) == 16 && strncmp(name, "job-", 4) == 0 && is_hex(name + 4, 12);
}

/* The one container whose id starts with prefix: 1, with id[] set; 0 if
 * none; -1 if more than one ("job.ambiguous"). */
static int find_by_prefix(int storefd, const char *prefix, char id[static 65],
			  struct skiff_error **err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd, found = 0;

	fd = openat(storefd, STORE_CONTAINERS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL && fd >= 0)
		close(fd);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 64 || !is_hex(de->d_name, 64) ||
		    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (found++ > 0)
			return skiff_error_set(err, 0, "job.ambiguous",
					       "\"%s\" is the start of more than one container id: "
					       "give more of it, or the name", prefix);
		memcpy(id, de->d_name, 65);
	}
	return found;
}

/* Whether the record of container id names it NAME. */
static bool record_names(int storefd, const char id[static 65], const char *name)
{
	_cleanup_free_ char *rel = xasprintf(STORE_CONTAINERS "/%s", id);
	_cleanup_close_ int dirfd = openat(storefd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
					   O_NOFOLLOW);
	json_t *record = dirfd >= 0 ? load_json_at(dirfd, RECORD) : NULL;
	const char *n = json_string_value(json_object_get(record, "name"));
	bool same = n != NULL && strcmp(n, name) == 0;

	json_decref(record);
	return same;
}

/* WHAT: a name, else a full ID or a unique prefix of one.  A name given
 * with --name is a symlink in NAMES; the one an unnamed container gets,
 * job-<the first 12 digits of its id>, is found by its id (no symlink is
 * made for it: one inode less to make and free on every run). */
int job_resolve(struct image_store *s, const char *what, char id[static 65],
		   struct skiff_error **err)
{
	int storefd = image_store_dirfd(s);
	int found;

	if (is_name(what)) {
		_cleanup_free_ char *link = xasprintf(NAMES "/%s", what);
		char target[80];
		ssize_t n = readlinkat(storefd, link, target, sizeof(target) - 1);

		if (n == 64) {
			memcpy(id, target, 64);
			id[64] = '\0';
			if (is_hex(id, 64))
				return 0;
		}
	}
	if (job_name_is_auto(what)) {
		found = find_by_prefix(storefd, what + 4, id, err);
		if (found < 0)
			return -1;
		if (found == 1 && record_names(storefd, id, what))
			return 0;
	}
	if (!is_hex(what, 64))
		return skiff_error_set(err, 0, "job.not_found",
				       "no container named \"%s\" in the store %s: see skiff ps -a",
				       what, image_store_path(s));
	found = find_by_prefix(storefd, what, id, err);
	if (found < 0)
		return -1;
	if (found == 0)
		return skiff_error_set(err, 0, "job.not_found",
				       "no container \"%s\" in the store %s: see skiff ps -a", what,
				       image_store_path(s));
	return 0;
}

static int entry_open_id(int storefd, const char *id, struct entry *e)
{
	_cleanup_free_ char *rel = xasprintf(STORE_CONTAINERS "/%s", id);

	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->storefd = storefd;
	e->dirfd = openat(storefd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (e->dirfd < 0)
		return -1;
	e->record = load_json_at(e->dirfd, RECORD);
	if (!json_is_object(e->record)) {
		json_decref(e->record);
		e->record = json_object();
	}
	entry_refresh(e);
	return 0;
}

static int entry_open(struct image_store *s, const char *what, struct entry *e,
		      struct skiff_error **err)
{
	char id[65];

	if (job_resolve(s, what, id, err) < 0)
		return -1;
	if (entry_open_id(image_store_dirfd(s), id, e) < 0) {
		e->dirfd = -1;
		return skiff_error_set(err, errno, "job.not_found",
				       "no container \"%s\" in the store %s: see skiff ps -a", what,
				       image_store_path(s));
	}
	return 0;
}

static bool entry_live(const struct entry *e)
{
	return strcmp(e->status, "exited") != 0 && strcmp(e->status, "unknown") != 0;
}

/* True once the run removed the directory (it was not kept). */
static bool entry_removed(const struct entry *e)
{
	struct stat st;

	return fstat(e->dirfd, &st) < 0 || st.st_nlink == 0;
}

bool job_record_is_live(int storefd, const char *id)
{
	struct entry e;
	bool live;

	if (entry_open_id(storefd, id, &e) < 0) {
		e.dirfd = -1;
		entry_clear(&e);
		return false;
	}
	live = entry_live(&e);
	entry_clear(&e);
	return live;
}

static json_t *entry_json(const struct entry *e, bool with_result)
{
	json_t *o = json_object(), *state = json_object(), *cmd;
	json_t *res = e->result;
	const char *sig = res ? json_string_value(json_object_get(res, "signal")) : NULL;

	json_object_set_new(o, "id", json_string(e->id));
	json_object_set(o, "name", json_object_get(e->record, "name") ?: json_null());
	json_object_set(o, "image", json_object_get(e->record, "image") ?: json_null());
	json_object_set(o, "image_digest", json_object_get(e->record, "image_digest") ?: json_null());
	cmd = json_object_get(e->record, "command");
	json_object_set(o, "command", cmd ?: json_null());
	json_object_set(o, "created", json_object_get(e->record, "created") ?: json_null());
	json_object_set_new(state, "status", json_string(e->status));
	json_object_set_new(state, "running", json_boolean(strcmp(e->status, "running") == 0));
	json_object_set_new(state, "pid", json_integer(e->pid));
	json_object_set(state, "exit_code", res ? json_object_get(res, "exit_code") : json_null());
	json_object_set_new(state, "signal", sig ? json_string(sig) : json_null());
	json_object_set(state, "timed_out", res ? json_object_get(res, "timed_out") : json_false());
	json_object_set(state, "oom_killed", res ? json_object_get(res, "oom_killed") : json_false());
	json_object_set_new(state, "started_at", e->started ? json_string(e->started) : json_null());
	json_object_set(state, "finished_at", res && json_object_get(res, "finished_at")
			? json_object_get(res, "finished_at") : json_null());
	json_object_set_new(o, "state", state);
	json_object_set(o, "detached", json_object_get(e->record, "detached") ?: json_false());
	json_object_set(o, "keep", json_object_get(e->record, "keep") ?: json_true());
	json_object_set(o, "state_root", json_object_get(e->record, "state_root") ?: json_null());
	if (with_result)
		json_object_set(o, "result", res ?: json_null());
	return o;
}

int job_inspect_json(const char *store, const char *what, char **out, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_json_ json_t *j = NULL;
	struct entry e = { .dirfd = -1 };

	if (image_store_open(store, &s, err) < 0 || entry_open(s, what, &e, err) < 0)
		return -1;
	j = entry_json(&e, true);
	entry_clear(&e);
	*out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	return 0;
}

static int by_created_desc(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "created"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "created"));

	return strcmp(y ? y : "", x ? x : "");
}

int job_ps_json(const struct job_ps_options *po, char **out, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_json_ json_t *list = json_array();
	_cleanup_free_ json_t **v = NULL;
	struct dirent *de;
	size_t n = 0;
	int fd;

	if (image_store_open(po->store, &s, err) < 0)
		return -1;
	fd = openat(image_store_dirfd(s), STORE_CONTAINERS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL && fd >= 0)
		close(fd);
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct entry e;

		if (strlen(de->d_name) != 64 || !is_hex(de->d_name, 64))
			continue;
		if (entry_open_id(image_store_dirfd(s), de->d_name, &e) < 0) {
			e.dirfd = -1;
			entry_clear(&e);
			continue;       /* removed meanwhile */
		}
		if (po->all || entry_live(&e)) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = entry_json(&e, false);
			json_object_set(v[n - 1], "exit_code",
					json_object_get(json_object_get(v[n - 1], "state"),
							"exit_code"));
		}
		entry_clear(&e);
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), by_created_desc);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	*out = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	return 0;
}

/* ---- wait, kill, stop, logs, rm -f ------------------------------------------------- */

static void nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Until the result is there (1), the run removed its directory without
 * keeping one (0), or the monitor is gone without one (-1 with err).
 * lock: hold the readers' lock meanwhile, so that the run keeps its
 * directory until the result is read.  timeout_ms < 0: no limit. */
static int await_end(struct entry *e, bool lock, int timeout_ms, struct skiff_error **err)
{
	_cleanup_close_ int lockfd = -1;
	uint64_t until = timeout_ms < 0 ? 0 : now_ns() + (uint64_t)timeout_ms * 1000000ull;

	if (lock) {
		lockfd = openat(e->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lockfd >= 0)
			flock(lockfd, LOCK_SH);
	}
	for (;;) {
		entry_refresh(e);
		if (e->result != NULL)
			return 1;
		if (entry_removed(e))
			return 0;
		if (strcmp(e->status, "unknown") == 0 || strcmp(e->status, "exited") == 0)
			return skiff_error_set(err, 0, "job.monitor.gone",
					       "container %.12s has no result and its monitor is "
					       "gone (killed?): remove it with skiff rm -f %.12s",
					       e->id, e->id);
		if (until != 0 && now_ns() >= until)
			return skiff_error_set(err, ETIMEDOUT, "job.monitor",
					       "container %.12s did not finish its run in time",
					       e->id);
		nap_ms(50);
	}
}

int job_wait(const char *store, const char *what, int *exit_code, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	struct entry e = { .dirfd = -1 };
	int r;

	if (image_store_open(store, &s, err) < 0 || entry_open(s, what, &e, err) < 0)
		return -1;
	r = await_end(&e, true, -1, err);
	if (r == 0)
		skiff_error_set(err, 0, "job.not_found",
				"container \"%s\" ended and was removed before its result could be "
				"read: run it with --keep to keep the result", what);
	else if (r > 0)
		*exit_code = (int)json_integer_value(json_object_get(e.result, "exit_code"));
	entry_clear(&e);
	return r > 0 ? 0 : -1;
}

static int not_running(const struct entry *e, const char *what, struct skiff_error **err)
{
	return skiff_error_set(err, 0, "job.not_running",
			       "container \"%s\" is %s, not running%s", what, e->status,
			       strcmp(e->status, "created") == 0
			       ? " yet (its run is still preparing it): try again" : "");
}

static int entry_kill(struct entry *e, const char *what, int sig, struct skiff_error **err)
{
	struct runtime_ctx ctx = ctx_of(e);

	if (strcmp(e->status, "running") != 0 && strcmp(e->status, "paused") != 0)
		return not_running(e, what, err);
	/* SIGKILL reaches every process of the job; another signal the init
	 * only, which passes it on or not (as podman kill). */
	if (container_kill(&ctx, e->id, sig, sig == SIGKILL, err) < 0) {
		if (*err != NULL && strcmp((*err)->id, "container.not_running") == 0) {
			skiff_error_freep(err);
			return skiff_error_set(err, 0, "job.not_running",
					       "container \"%s\" is not running (it just ended)",
					       what);
		}
		return -1;
	}
	return 0;
}

int job_kill(const char *store, const char *what, int sig, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	struct entry e = { .dirfd = -1 };
	int r;

	if (image_store_open(store, &s, err) < 0 || entry_open(s, what, &e, err) < 0)
		return -1;
	r = entry_kill(&e, what, sig, err);
	entry_clear(&e);
	return r;
}

/* The init's pidfd, or -1 when it is gone. */
static int init_pidfd(const struct entry *e)
{
	return e->pid > 0 ? (int)syscall(SYS_pidfd_open, e->pid, 0) : -1;
}

static int entry_stop(struct entry *e, const char *what, int timeout, struct skiff_error **err)
{
	json_t *sig = json_object_get(e->record, "stop_signal");
	json_t *t = json_object_get(e->record, "stop_timeout");
	_cleanup_close_ int pidfd = init_pidfd(e);
	int grace = timeout >= 0 ? timeout : json_is_integer(t) ? (int)json_integer_value(t) : 10;

	if (entry_kill(e, what, json_is_integer(sig) ? (int)json_integer_value(sig) : SIGTERM,
		       err) < 0)
		return -1;
	if (pidfd >= 0 && sys_pidfd_wait_exit(pidfd, grace * 1000) == 0)
		return 0;
	entry_refresh(e);
	if (e->result != NULL || entry_removed(e))
		return 0;
	if (entry_kill(e, what, SIGKILL, err) < 0) {
		if (strcmp((*err)->id, "job.not_running") == 0) {
			skiff_error_freep(err);
			return 0;
		}
		return -1;
	}
	if (pidfd >= 0 && sys_pidfd_wait_exit(pidfd, 10000) < 0)
		return skiff_error_set(err, errno, "job.monitor",
				       "container \"%s\" did not end after SIGKILL", what);
	return 0;
}

int job_stop(const char *store, const char *what, int timeout, struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	struct entry e = { .dirfd = -1 };
	int r;

	if (image_store_open(store, &s, err) < 0 || entry_open(s, what, &e, err) < 0)
		return -1;
	if (!entry_live(&e)) {
		entry_clear(&e);
		return 0;       /* stopping a stopped container is no error (podman) */
	}
	r = entry_stop(&e, what, timeout, err);
	/* Return once the run has recorded how the job ended. */
	if (r == 0 && await_end(&e, false, 10000, err) < 0)
		r = -1;
	entry_clear(&e);
	return r;
}

/* Copies what was appended to fd since *off to out. */
static void copy_new(int fd, off_t *off, int out)
{
	char buf[65536];
	ssize_t n;

	while (fd >= 0 && (n = pread(fd, buf, sizeof(buf), *off)) > 0) {
		if (write_all(out, buf, (size_t)n) < 0)
			return;
		*off += n;
	}
}

int job_logs(const char *store, const char *what, bool follow, int out_fd, int err_fd,
	     struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	_cleanup_close_ int lockfd = -1, o = -1, e2 = -1;
	struct entry e = { .dirfd = -1 };
	off_t off_out = 0, off_err = 0;

	if (image_store_open(store, &s, err) < 0 || entry_open(s, what, &e, err) < 0)
		return -1;
	if (!json_is_true(json_object_get(e.record, "detached"))) {
		entry_clear(&e);
		return skiff_error_set(err, 0, "job.logs.none",
				       "container \"%s\" was not run with -d: its output went to "
				       "its skiff run (use --log-file or --json there)", what);
	}
	if (follow) {
		lockfd = openat(e.dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lockfd >= 0)
			flock(lockfd, LOCK_SH);
	}
	for (;;) {
		bool ended;

		entry_refresh(&e);
		ended = !follow || !entry_live(&e) || entry_removed(&e);
		/* The files appear when the container is created; once it
		 * ended, they hold all the job wrote. */
		if (o < 0)
			o = openat(e.dirfd, "stdout.log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (e2 < 0)
			e2 = openat(e.dirfd, "stderr.log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		copy_new(o, &off_out, out_fd);
		copy_new(e2, &off_err, err_fd);
		if (ended)
			break;
		nap_ms(100);
	}
	entry_clear(&e);
	return 0;
}

int job_remove_force(const char *store, const char *state_root, const char *what,
		     struct skiff_error **err)
{
	_cleanup_store_ struct image_store *s = NULL;
	struct entry e = { .dirfd = -1 };
	int r = 0;

	if (image_store_open(store, &s, err) < 0 || entry_open(s, what, &e, err) < 0)
		return -1;
	if (entry_live(&e)) {
		if (strcmp(e.status, "created") == 0) {
			entry_clear(&e);
			return skiff_error_set(err, EBUSY, "job.running",
					       "container \"%s\" is being created: try again once it "
					       "runs", what);
		}
		r = entry_kill(&e, what, SIGKILL, err);
		if (r < 0 && strcmp((*err)->id, "job.not_running") == 0) {
			skiff_error_freep(err);
			r = 0;
		}
		if (r == 0)
			r = await_end(&e, false, 30000, err) < 0 ? -1 : 0;
	}
	if (r == 0 && strcmp(e.status, "unknown") == 0 && record_string(&e, "state_root")) {
		/* Its monitor was killed: the container may still exist. */
		struct runtime_ctx ctx = ctx_of(&e);

		r = container_delete(&ctx, e.id, true, err);
	}
	if (r == 0 && !entry_removed(&e)) {
		char id[65];

		memcpy(id, e.id, sizeof(id));
		entry_clear(&e);
		return job_remove(store, state_root, id, err);
	}
	entry_clear(&e);
	return r;
}
