/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's state dir: ROOT/ID/state.json and, until start, the exec
 * fifo.  No daemon holds state: every command reads it from here. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime-internal.h"
#include "runtime/cgroup-internal.h"

void container_state_free(struct container_state *s)
{
	free(s->id);
	free(s->bundle);
	free(s->created);
	free(s->cgroup);
	free(s->cgroup_leaf);
	for (size_t i = 0; i < s->n_annotations; i++) {
		free(s->annotations[i].key);
		free(s->annotations[i].value);
	}
	free(s->annotations);
	free(s);
}

char *rfc3339_now(void)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec);
}

/* A private directory the user owns: never follow a symlink planted by
 * someone else in a shared /tmp. */
static int check_private_dir(const char *path, struct skiff_error **err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return skiff_error_set(err, errno, "state.root", "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
		return skiff_error_set(err, EPERM, "state.root",
				       "%s is not a private directory owned by uid %u "
				       "(mode 0700): remove it, or set XDG_RUNTIME_DIR or --root",
				       path, (unsigned)geteuid());
	return 0;
}

static bool is_tmp_fallback(const char *path)
{
	return strncmp(path, "/tmp/skiff-", 11) == 0;
}

int runtime_state_root(const char *given, char **out, struct skiff_error **err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	_cleanup_free_ char *path = NULL;

	if (given != NULL && *given != '\0')
		path = xstrdup(given);
	else if (geteuid() == 0 && sys_in_initial_userns())
		path = xstrdup("/run/skiff");
	else if (xdg != NULL && *xdg == '/')
		path = xasprintf("%s/skiff", xdg);
	else    /* su, ssh and batch jobs often have no XDG_RUNTIME_DIR */
		path = xasprintf("/tmp/skiff-%u", (unsigned)geteuid());
	/* In a shared /tmp, never use a directory someone else planted. */
	if ((given == NULL || *given == '\0') && is_tmp_fallback(path) &&
	    access(path, F_OK) == 0 && check_private_dir(path, err) < 0)
		return -1;
	*out = steal_pointer(&path);
	return 0;
}

/* Only the commands that make a container create the state root: a query
 * by another user (root asking about a user's containers, as Slurm does)
 * must not leave a directory the owner cannot write. */
int state_root_open(const struct runtime_ctx *ctx, bool create, struct skiff_error **err)
{
	const char *path = ctx->state_root;
	int fd;

	if (create) {
		if (is_tmp_fallback(path)) {
			if (mkdir(path, 0700) == 0)
				log_info("XDG_RUNTIME_DIR is not set: keeping container state in %s",
					 path);
			else if (errno != EEXIST)
				return skiff_error_set(err, errno, "state.root", "cannot create %s", path);
			if (check_private_dir(path, err) < 0)
				return -1;
		} else {
			/* Made only when missing (there on every run but the first). */
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				return fd;
			if (errno == ENOENT && mkdir_parents(path, 0700) < 0)
				return skiff_error_set(err, errno, "state.root",
						       "cannot create the state directory %s "
						       "(--root)", path);
		}
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return skiff_error_set(err, ENOENT, "container.not_found",
				       "no container exists under %s (check --root)", path);
	if (fd < 0)
		return skiff_error_set(err, errno, "state.root",
				       "cannot open the state directory %s", path);
	return fd;
}

int container_id_validate(const char *id, struct skiff_error **err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 1024 || id[0] == '.' || id[0] == '-' ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789_.+-") != n)
		return skiff_error_set(err, EINVAL, "container.bad_id",
				       "invalid container id \"%s\": use 1 to 1024 letters, "
				       "digits, '_', '.', '+' or '-', not starting with '.' or '-'",
				       id);
	return 0;
}

int state_dir_create(int rootfd, const char *id, struct skiff_error **err)
{
	int fd;

	/* 0711: an init running as a mapped root (another host uid) must be
	 * able to reach its exec fifo; nothing in it is listable. */
	if (mkdirat(rootfd, id, 0711) < 0) {
		if (errno == EEXIST)
			return skiff_error_set(err, EEXIST, "container.exists",
					       "container \"%s\" already exists: pick another id, "
					       "or delete it first", id);
		return skiff_error_set(err, errno, "state.create",
				       "cannot create the state of container \"%s\"", id);
	}
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return skiff_error_set(err, errno, "state.create",
				       "cannot open the state of container \"%s\"", id);
	fchmod(fd, 0711);
	/* Locked on the caller's own open: an fd shared with the init by fork
	 * would keep the lock held as long as the init lives. */
	flock(fd, LOCK_EX);
	return fd;
}

int state_dir_open_locked(int rootfd, const char *id, struct skiff_error **err)
{
	int fd;

	if (container_id_validate(id, err) < 0)
		return -1;
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return skiff_error_set(err, ENOENT, "container.not_found",
					       "container \"%s\" does not exist", id);
		return skiff_error_set(err, errno, "state.open",
				       "cannot open the state of container \"%s\"", id);
	}
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return skiff_error_set(err, errno, "state.lock",
				       "cannot lock the state of container \"%s\"", id);
	}
	return fd;
}

int state_write(int dirfd, const struct container_state *s, struct skiff_error **err)
{
	json_t *ann = json_object();
	json_t *o;
	char *text;
	int r;

	for (size_t i = 0; i < s->n_annotations; i++)
		json_object_set_new(ann, s->annotations[i].key,
				    json_string(s->annotations[i].value));
	o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:b, s:o}", "id", s->id,
		      "bundle", s->bundle, "pid", (json_int_t)s->pid, "start_time",
		      (json_int_t)s->start_time, "created", s->created, "owner",
		      (json_int_t)s->owner, "own_pidns", s->own_pidns,
		      "annotations", ann);
	if (o == NULL)
		return skiff_error_set(err, EINVAL, "state.write",
				       "cannot encode the state of container \"%s\"", s->id);
	if (s->cgroup != NULL)
		json_object_set_new(o, "cgroup", json_string(s->cgroup));
	if (s->cgroup_leaf != NULL)
		json_object_set_new(o, "cgroup_leaf", json_string(s->cgroup_leaf));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	r = write_file_atomic_at(dirfd, STATE_FILE, text, strlen(text), 0644, err);
	free(text);
	return r;
}

int state_read(int dirfd, const char *id, struct container_state **out,
	       struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL;
	struct container_state *s;
	json_t *o, *ann = NULL;
	json_error_t je;
	const char *bundle = NULL, *created = NULL, *key;
	json_int_t pid = 0, start = 0, owner = 0;
	int own_pidns = 0;
	json_t *v;
	size_t i = 0;

	if (read_file_at(dirfd, STATE_FILE, 1 << 20, &text, NULL, NULL) < 0)
		return skiff_error_set(err, errno, "state.corrupt",
				       "container \"%s\" has no readable state (it may be "
				       "half-created): delete it with --force", id);
	o = json_loads(text, 0, &je);
	if (o == NULL || json_unpack(o, "{s:s, s:I, s:I, s:s, s:I, s:b, s?o}", "bundle",
				     &bundle, "pid", &pid, "start_time", &start,
				     "created", &created, "owner", &owner, "own_pidns",
				     &own_pidns, "annotations", &ann) < 0) {
		json_decref(o);
		return skiff_error_set(err, EINVAL, "state.corrupt",
				       "the state of container \"%s\" is corrupt: delete it "
				       "with --force", id);
	}
	s = xzalloc(sizeof(*s));
	s->id = xstrdup(id);
	s->bundle = xstrdup(bundle);
	s->created = xstrdup(created);
	s->pid = (pid_t)pid;
	s->start_time = (uint64_t)start;
	s->owner = (uid_t)owner;
	s->own_pidns = own_pidns;
	if (json_is_string(json_object_get(o, "cgroup")))
		s->cgroup = xstrdup(json_string_value(json_object_get(o, "cgroup")));
	if (json_is_string(json_object_get(o, "cgroup_leaf")))
		s->cgroup_leaf = xstrdup(json_string_value(json_object_get(o, "cgroup_leaf")));
	if (json_is_object(ann)) {
		s->annotations = xzalloc(json_object_size(ann) * sizeof(struct spec_kv) + 1);
		json_object_foreach(ann, key, v) {
			s->annotations[i].key = xstrdup(key);
			s->annotations[i].value = xstrdup(json_string_value(v) ? json_string_value(v) : "");
			i++;
		}
		s->n_annotations = i;
	}
	json_decref(o);
	*out = s;
	return 0;
}

enum container_status state_status(int dirfd, const struct container_state *s)
{
	uint64_t start;
	struct stat st;

	if (s->pid <= 0 || sys_proc_start_time(s->pid, &start) < 0 ||
	    start != s->start_time)
		return CONTAINER_STOPPED;
	/* A zombie init has exited: it is stopped, whoever reaps it. */
	{
		_cleanup_free_ char *path = xasprintf("/proc/%d/stat", s->pid);
		_cleanup_free_ char *stat = NULL;
		char *p;

		if (read_file_at(AT_FDCWD, path, 8192, &stat, NULL, NULL) == 0 &&
		    (p = strrchr(stat, ')')) != NULL && (p[2] == 'Z' || p[2] == 'X'))
			return CONTAINER_STOPPED;
	}
	if (fstatat(dirfd, EXEC_FIFO, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return CONTAINER_CREATED;
	if (s->cgroup != NULL && cgroup_is_frozen(s->cgroup))
		return CONTAINER_PAUSED;
	return CONTAINER_RUNNING;
}

int state_remove(int rootfd, const char *id, struct skiff_error **err)
{
	return remove_tree_at(rootfd, id, err);
}

const char *container_status_name(enum container_status s)
{
	switch (s) {
	case CONTAINER_CREATING: return "creating";
	case CONTAINER_CREATED: return "created";
	case CONTAINER_RUNNING: return "running";
	case CONTAINER_PAUSED: return "paused";
	case CONTAINER_STOPPED: break;
	}
	return "stopped";
}
