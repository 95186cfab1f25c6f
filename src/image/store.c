/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The content-addressed store.
 *
 *   STORE/lock                  shared by every user of the store, exclusive
 *                               for prune (which deletes what no tag uses)
 *   STORE/blobs/sha256/HEX      manifests, indexes, configs (verified)
 *   STORE/layers/sha256/HEX/    a layer by diff_id: diff/ (the tree in
 *                               overlayfs format) and layer.json
 *   STORE/tags/HEX              {"name", "manifest", "index"}; HEX is the
 *                               sha256 of the name (names can be long)
 *   STORE/tmp/                  work in progress, never read as content
 *   STORE/locks/NAME            one lock per layer: one unpack per diff_id
 *
 * Everything is made under tmp/ and renamed into place after it has been
 * verified, so a process killed at any moment leaves at most a leftover in
 * tmp/: the next unpack of the same layer removes its own leftover under
 * the layer's lock, and prune empties tmp/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pwd.h>
#include <unistd.h>

#include "image/image-internal.h"

static void prctl_pdeathsig(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static int mkdir_p(const char *path, mode_t mode, struct skiff_error **err)
{
	_cleanup_free_ char *p = xstrdup(path);

	for (char *c = p + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char saved = *c;

		*c = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return skiff_error_set(err, errno, "image.store.open",
					       "cannot create the store directory %s: set --store "
					       "to a writable directory", p);
		*c = saved;
		if (saved == '\0')
			return 0;
	}
}

static char *default_store_path(void)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	if (geteuid() == 0 && sys_in_initial_userns())
		return xstrdup("/var/lib/skiff");
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/skiff", xdg);
	if (home == NULL || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : "/";
	}
	return xasprintf("%s/.local/share/skiff", home);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path ? path : "/usr/bin:/bin");

	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *f = xasprintf("%s/%s", d, prog);

		if (access(f, X_OK) == 0)
			return true;
	}
	return false;
}

/* The first /etc/subuid (subgid) range of the user, by name or by id. */
static bool sub_range(const char *file, const char *user, uint32_t id,
		      uint32_t *start, uint32_t *count)
{
	_cleanup_free_ char *text = NULL;
	char idstr[16];

	snprintf(idstr, sizeof(idstr), "%u", id);
	if (read_file_at(AT_FDCWD, file, 1 << 20, &text, NULL, NULL) < 0)
		return false;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[256];
		unsigned long a, b;

		if (sscanf(line, "%255[^:]:%lu:%lu", name, &a, &b) != 3 || b == 0)
			continue;
		if ((user && strcmp(name, user) == 0) || strcmp(name, idstr) == 0) {
			*start = (uint32_t)a;
			*count = b > 65536 * 64 ? 65536 * 64 : (uint32_t)b;
			return true;
		}
	}
	return false;
}

/* Root writes owners as they are; a user with subordinate ranges and the
 * uidmap helpers unpacks in a namespace mapped as containers will be;
 * anyone else gets every owner collapsed to themselves. */
static void choose_owners(struct image_store *s)
{
	const char *name;
	uint32_t us, uc, gs, gc;

	if (geteuid() == 0 && sys_in_initial_userns()) {
		s->owners = STORE_OWNERS_ROOT;
		return;
	}
	s->owners = STORE_OWNERS_SINGLE;
	if (getenv("SKIFF_NO_SUBIDS") != NULL)     /* tests force the single mode */
		return;
	name = sys_user_name(geteuid());
	if (!sub_range("/etc/subuid", name, geteuid(), &us, &uc) ||
	    !sub_range("/etc/subgid", name, geteuid(), &gs, &gc) ||
	    !in_path("newuidmap") || !in_path("newgidmap"))
		return;
	s->owners = STORE_OWNERS_RANGE;
	s->n_map = 2;
	s->uid_map[0] = (struct sys_id_map){ 0, geteuid(), 1 };
	s->uid_map[1] = (struct sys_id_map){ 1, us, uc };
	s->gid_map[0] = (struct sys_id_map){ 0, getegid(), 1 };
	s->gid_map[1] = (struct sys_id_map){ 1, gs, gc };
}

int image_store_open(const char *dir, struct image_store **out,
		     struct skiff_error **err)
{
	static const char *const subdirs[] = { "blobs", STORE_BLOBS, "layers", STORE_LAYERS,
					       STORE_TAGS, STORE_TMP, STORE_LOCKS };
	_cleanup_free_ char *path = dir ? xstrdup(dir) : default_store_path();
	struct image_store *s;

	if (path[0] == '\0')
		return skiff_error_set(err, 0, "image.store.open", "the --store path is empty");
	s = xzalloc(sizeof(*s));
	s->lockfd = -1;
	s->userns_fd = s->ns_resultfd = -1;
	/* The store and its layout are made only when missing: "lock" is
	 * made last, so a store with one has the rest. */
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 && errno == ENOENT) {
		if (mkdir_p(path, 0700, err) < 0) {
			image_store_close(s);
			return -1;
		}
		s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->dirfd < 0) {
		skiff_error_set(err, errno, "image.store.open", "cannot open the store %s", path);
		image_store_close(s);
		return -1;
	}
	s->path = steal_pointer(&path);
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	for (size_t i = 0; s->lockfd < 0 && i < ARRAY_SIZE(subdirs); i++)
		if (mkdirat(s->dirfd, subdirs[i], 0700) < 0 && errno != EEXIST) {
			skiff_error_set(err, errno, "image.store.open",
					"cannot create %s/%s: check the store's permissions",
					s->path, subdirs[i]);
			image_store_close(s);
			return -1;
		}
	if (s->lockfd < 0)
		s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				   0600);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_SH) < 0) {
		skiff_error_set(err, errno, "image.store.lock", "cannot lock the store %s", s->path);
		image_store_close(s);
		return -1;
	}
	choose_owners(s);
	*out = s;
	return 0;
}

static int recv_result(int fd, int *rc, void *out, size_t out_len, struct skiff_error **err);

void image_store_close(struct image_store *s)
{
	if (s == NULL)
		return;
	if (s->ns_pid > 0) {
		int rc;

		/* Not while its mappers run: newuidmap would complain on stderr
		 * of a target gone. */
		recv_result(s->ns_resultfd, &rc, NULL, 0, NULL);
		s->ns_resultfd = -1;
		kill(s->ns_pid, SIGKILL);
		while (waitpid(s->ns_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (s->ns_resultfd >= 0)
		close(s->ns_resultfd);
	if (s->userns_fd >= 0)
		close(s->userns_fd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->path);
	free(s);
}

void image_store_unlock(struct image_store *s)
{
	if (s->lockfd >= 0)
		flock(s->lockfd, LOCK_UN);
}

const char *image_store_path(const struct image_store *s)
{
	return s->path;
}

int store_lock_exclusive(struct image_store *s, struct skiff_error **err)
{
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return skiff_error_set(err, errno, "image.store.lock", "cannot lock the store %s",
				       s->path);
	log_info("waiting for other skiff processes using the store %s", s->path);
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return skiff_error_set(err, errno, "image.store.lock",
					       "cannot lock the store %s", s->path);
	return 0;
}

int store_lock_entry(struct image_store *s, const char *name, struct skiff_error **err)
{
	_cleanup_free_ char *path = xasprintf(STORE_LOCKS "/%s", name);
	_cleanup_close_ int fd = openat(s->dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
					0600);

	if (fd < 0)
		return skiff_error_set(err, errno, "image.store.lock", "cannot open the lock %s/%s",
				       s->path, path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return skiff_error_set(err, errno, "image.store.lock", "cannot lock %s/%s",
					       s->path, path);
	return steal_fd(&fd);
}

int store_try_lock_entry(struct image_store *s, const char *name)
{
	_cleanup_free_ char *path = xasprintf(STORE_LOCKS "/%s", name);
	_cleanup_close_ int fd = openat(s->dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
					0600);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0)
		if (errno != EINTR)
			return -1;
	return steal_fd(&fd);
}

char *store_tmp_name(const char *what)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = now_ns();
	return xasprintf(STORE_TMP "/%s-%d-%016llx", what, getpid(), (unsigned long long)r);
}

bool store_has_blob(struct image_store *s, const char *digest)
{
	_cleanup_free_ char *p = xasprintf(STORE_BLOBS "/%s", digest_hex(digest));

	return faccessat(s->dirfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

bool store_has_layer(struct image_store *s, const char *diff_id)
{
	_cleanup_free_ char *p = xasprintf(STORE_LAYERS "/%s/layer.json", digest_hex(diff_id));

	return faccessat(s->dirfd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Writes data to tmp/ and renames it to final: never a partial final. */
static int put_file(struct image_store *s, const char *final, const void *data, size_t len,
		    struct skiff_error **err)
{
	_cleanup_free_ char *tmp = store_tmp_name("file");
	_cleanup_close_ int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
					O_NOFOLLOW, 0644);

	if (fd < 0)
		return skiff_error_set(err, errno, "image.store.write", "cannot create %s/%s",
				       s->path, tmp);
	if (write_all(fd, data, len) < 0 || renameat(s->dirfd, tmp, s->dirfd, final) < 0) {
		int e = errno;

		unlinkat(s->dirfd, tmp, 0);
		return skiff_error_set(err, e, "image.store.write", "cannot write %s/%s",
				       s->path, final);
	}
	return 0;
}

int store_put_blob(struct image_store *s, const char *digest, const void *data,
		   size_t len, struct skiff_error **err)
{
	_cleanup_free_ char *actual = digest_buffer(data, len);
	_cleanup_free_ char *final = xasprintf(STORE_BLOBS "/%s", digest_hex(digest));

	if (strcmp(actual, digest) != 0)
		return skiff_error_set(err, 0, "image.blob.digest_mismatch",
				       "blob %s has the digest %s: it is corrupt", digest, actual);
	if (store_has_blob(s, digest))
		return 0;
	return put_file(s, final, data, len, err);
}

int store_read_blob(struct image_store *s, const char *digest, size_t max,
		    char **data, size_t *len, struct skiff_error **err)
{
	_cleanup_free_ char *p = xasprintf(STORE_BLOBS "/%s", digest_hex(digest));
	_cleanup_free_ char *buf = NULL, *actual = NULL;
	size_t n;

	if (read_file_at(s->dirfd, p, max, &buf, &n, NULL) < 0)
		return skiff_error_set(err, 0, "image.store.missing",
				       "the store %s has no blob %s: pull the image again",
				       s->path, digest);
	actual = digest_buffer(buf, n);
	if (strcmp(actual, digest) != 0)
		return skiff_error_set(err, 0, "image.store.corrupt",
				       "blob %s in the store %s is corrupt (digest %s): remove it "
				       "and pull again", digest, s->path, actual);
	*data = steal_pointer(&buf);
	if (len)
		*len = n;
	return 0;
}

/* ---- tags ------------------------------------------------------------------ */

static char *tag_file(const char *name)
{
	_cleanup_free_ char *d = digest_buffer(name, strlen(name));

	return xasprintf(STORE_TAGS "/%s", digest_hex(d));
}

int store_tag_set(struct image_store *s, const char *name, const char *manifest,
		  const char *index, struct skiff_error **err)
{
	_cleanup_json_ json_t *j = json_pack("{s:s, s:s}", "name", name, "manifest", manifest);
	_cleanup_free_ char *text = NULL, *file = tag_file(name);

	if (index != NULL)
		json_object_set_new(j, "index", json_string(index));
	text = json_dumps(j, JSON_COMPACT);
	return put_file(s, file, text, strlen(text), err);
}

static int tag_read(struct image_store *s, const char *file, char **name, char **manifest,
		    char **index)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *j = NULL;
	const char *n = NULL, *m = NULL;

	if (read_file_at(s->dirfd, file, 1 << 16, &text, NULL, NULL) < 0)
		return -1;
	j = json_loads(text, 0, NULL);
	if (j == NULL || json_unpack(j, "{s:s, s:s}", "name", &n, "manifest", &m) < 0 ||
	    image_digest_parse(m, "", NULL) < 0)
		return -1;
	if (name)
		*name = xstrdup(n);
	if (manifest)
		*manifest = xstrdup(m);
	if (index) {
		json_t *ix = json_object_get(j, "index");

		*index = json_is_string(ix) ? xstrdup(json_string_value(ix)) : NULL;
	}
	return 0;
}

int store_tag_get(struct image_store *s, const char *name, char **manifest,
		  char **index, struct skiff_error **err)
{
	_cleanup_free_ char *file = tag_file(name), *got = NULL;

	if (tag_read(s, file, &got, manifest, index) < 0 || strcmp(got, name) != 0) {
		if (manifest && *manifest) {
			free(*manifest);
			*manifest = NULL;
		}
		return skiff_error_set(err, 0, "image.not_found",
				       "no image \"%s\" in the store %s: see skiff images", name,
				       s->path);
	}
	return 0;
}

int store_tag_remove(struct image_store *s, const char *name, struct skiff_error **err)
{
	_cleanup_free_ char *file = tag_file(name);

	if (unlinkat(s->dirfd, file, 0) < 0 && errno != ENOENT)
		return skiff_error_set(err, errno, "image.store.write", "cannot remove %s/%s",
				       s->path, file);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **store_dir_names(struct image_store *s, const char *dir)
{
	int fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **v = xzalloc(sizeof(char *));
	size_t n = 0;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return v;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	return v;
}

char **store_tag_list(struct image_store *s)
{
	_cleanup_strv_ char **files = store_dir_names(s, STORE_TAGS);
	char **v = xzalloc((strv_length(files) + 1) * sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; files[i] != NULL; i++) {
		_cleanup_free_ char *file = NULL;

		if (strlen(files[i]) != 64)
			continue;
		file = xasprintf(STORE_TAGS "/%s", files[i]);
		if (tag_read(s, file, &v[n], NULL, NULL) == 0)
			n++;
	}
	/* Sorted, so that listings are stable. */
	qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

/* ---- work as the owner of the layers ----------------------------------------- */

/* The child's answer on resultfd: rc, the result bytes, then the error
 * (errnum, id, message) when rc < 0. */
static void send_result(int fd, int rc, const void *out, size_t out_len,
			const struct skiff_error *e)
{
	uint32_t lens[3] = { 0, 0, 0 };
	int errnum = e ? e->errnum : 0;

	if (rc < 0 && e != NULL) {
		lens[0] = (uint32_t)strlen(e->id);
		lens[1] = (uint32_t)strlen(e->msg);
	}
	if (write_all(fd, &rc, sizeof(rc)) < 0 || write_all(fd, out, out_len) < 0 ||
	    write_all(fd, &errnum, sizeof(errnum)) < 0 || write_all(fd, lens, sizeof(lens)) < 0)
		return;
	if (rc < 0 && e != NULL) {
		write_all(fd, e->id, lens[0]);
		write_all(fd, e->msg, lens[1]);
	}
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = read(fd, (char *)buf + done, len - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)done;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Reads what send_result wrote; closes fd.  0 when the answer is complete,
 * then *rc, out, and for rc < 0 the error in *err. */
static int recv_result(int fd, int *rc, void *out, size_t out_len, struct skiff_error **err)
{
	_cleanup_close_ int cfd = fd;
	_cleanup_free_ char *id = NULL, *msg = NULL;
	uint32_t lens[3];
	int errnum = 0;
	bool complete;

	*rc = -1;
	complete = read_full(fd, rc, sizeof(*rc)) == sizeof(*rc) &&
		   read_full(fd, out, out_len) == (ssize_t)out_len &&
		   read_full(fd, &errnum, sizeof(errnum)) == sizeof(errnum) &&
		   read_full(fd, lens, sizeof(lens)) == sizeof(lens);
	if (complete && *rc < 0 && lens[0] < 4096 && lens[1] < (1u << 20)) {
		id = xzalloc(lens[0] + 1);
		msg = xzalloc(lens[1] + 1);
		complete = read_full(fd, id, lens[0]) == (ssize_t)lens[0] &&
			   read_full(fd, msg, lens[1]) == (ssize_t)lens[1];
	}
	if (!complete)
		return -1;
	if (*rc < 0)
		skiff_error_set(err, errnum, id && *id ? id : "image.unpack", "%s",
				msg ? msg : "unknown error");
	return 0;
}

/* A mapper: a child, still outside the namespace (newuidmap must run
 * there), that writes the uid map (uid) or the gid map of the process
 * self once that has unshared, and sends the result on *resultfd. */
static pid_t fork_mapper(struct image_store *s, pid_t self, int go, bool uid, int *resultfd)
{
	int res[2];
	pid_t pid;
	char c;

	if (pipe2(res, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(res[0]);
		close(res[1]);
		return -1;
	}
	if (pid == 0) {
		struct skiff_error *e = NULL;
		int rc;

		close(res[0]);
		prctl_pdeathsig();
		/* EOF: the unshare failed (or self died); nothing to map. */
		if (getppid() != self || read_full(go, &c, 1) != 1)
			_exit(0);
		rc = uid ? sys_write_id_maps(self, s->uid_map, s->n_map, NULL, 0, &e)
			 : sys_write_id_maps(self, NULL, 0, s->gid_map, s->n_map, &e);
		send_result(res[1], rc, NULL, 0, e);
		skiff_error_free(e);
		_exit(0);
	}
	close(res[1]);
	*resultfd = res[0];
	return pid;
}

/* A new user namespace for this process, mapped by two helper processes
 * (uid and gid maps at the same time), as its root. */
static int enter_owner_userns(struct image_store *s, struct skiff_error **err)
{
	pid_t self = getpid(), m[2] = { -1, -1 };
	int go[2], res[2] = { -1, -1 }, rc = 0;

	if (pipe2(go, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "image.unpack.process", "cannot make a pipe");
	for (int i = 0; i < 2; i++) {
		m[i] = fork_mapper(s, self, go[0], i == 0, &res[i]);
		if (m[i] < 0) {
			rc = skiff_error_set(err, errno, "image.unpack.process",
					     "cannot start the id mapping");
			break;
		}
	}
	close(go[0]);
	if (rc == 0 && unshare(CLONE_NEWUSER) < 0)
		rc = skiff_error_set(err, errno, "image.unpack.userns",
				     "cannot create a user namespace to unpack layers with "
				     "their owners: enable unprivileged user namespaces");
	if (rc == 0)
		write_all(go[1], "gu", 2);
	close(go[1]);
	for (int i = 0; i < 2; i++) {
		if (m[i] < 0)
			continue;
		/* Closes res[i] and reaps the mapper; the first error counts. */
		if (rc == 0)
			rc = store_owner_finish(m[i], res[i], NULL, 0, err);
		else
			store_owner_finish(m[i], res[i], NULL, 0, NULL);
	}
	if (rc < 0)
		return -1;
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return skiff_error_set(err, errno, "image.unpack.userns",
				       "cannot become root in the unpack namespace");
	return 0;
}

/* The user namespace of the workers: one per store handle, mapped once
 * (newuidmap and newgidmap are setuid programs, an exec each; a mapping
 * per worker cost six of them for three layers) by a process that makes
 * it and is held until the parent has an fd of it.  Each worker joins it
 * with setns, which the parent's user may: it owns the namespace. */
void store_owner_prepare(struct image_store *s)
{
	int res[2];
	pid_t pid;

	if (s->owners != STORE_OWNERS_RANGE || s->userns_fd >= 0 || s->ns_pid > 0)
		return;
	if (pipe2(res, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid < 0) {
		close(res[0]);
		close(res[1]);
		return;
	}
	if (pid == 0) {
		struct skiff_error *e = NULL;
		int rc;

		close(res[0]);
		prctl_pdeathsig();
		rc = enter_owner_userns(s, &e);
		send_result(res[1], rc, NULL, 0, e);
		close(res[1]);
		skiff_error_free(e);
		/* Until the parent has opened the namespace and kills it. */
		for (;;)
			pause();
	}
	close(res[1]);
	s->ns_pid = pid;
	s->ns_resultfd = res[0];
}

/* In the parent, before a worker starts: the namespace, made now if
 * store_owner_prepare did not start it earlier. */
static int owner_userns_ready(struct image_store *s, struct skiff_error **err)
{
	int rc = -1;
	char path[64];

	if (s->userns_fd >= 0)
		return 0;
	store_owner_prepare(s);
	if (s->ns_pid <= 0)
		return skiff_error_set(err, errno, "image.unpack.process",
				       "cannot start the process that makes the unpack namespace");
	if (recv_result(s->ns_resultfd, &rc, NULL, 0, err) < 0)
		skiff_error_set(err, 0, "image.unpack.process",
				"the process that makes the unpack namespace died");
	s->ns_resultfd = -1;
	if (rc == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)s->ns_pid);
		s->userns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->userns_fd < 0)
			rc = skiff_error_set(err, errno, "image.unpack.userns",
					     "cannot open the unpack namespace %s", path);
	}
	kill(s->ns_pid, SIGKILL);
	while (waitpid(s->ns_pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->ns_pid = 0;
	return rc < 0 ? -1 : 0;
}

/* In the worker: into the namespace, as its root. */
static int join_owner_userns(struct image_store *s, struct skiff_error **err)
{
	if (setns(s->userns_fd, CLONE_NEWUSER) < 0)
		return skiff_error_set(err, errno, "image.unpack.userns",
				       "cannot join the unpack namespace");
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return skiff_error_set(err, errno, "image.unpack.userns",
				       "cannot become root in the unpack namespace");
	return 0;
}

pid_t store_owner_start(struct image_store *s, store_owner_fn fn, void *arg,
			size_t out_len, int *resultfd, struct skiff_error **err)
{
	int result[2];
	pid_t pid;

	if (s->owners == STORE_OWNERS_RANGE && owner_userns_ready(s, err) < 0)
		return -1;
	if (pipe2(result, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "image.unpack.process", "cannot make a pipe");
	pid = fork();
	if (pid < 0) {
		close(result[0]);
		close(result[1]);
		return skiff_error_set(err, errno, "image.unpack.process", "cannot fork");
	}
	if (pid == 0) {
		struct skiff_error *e = NULL;
		void *out = xzalloc(out_len);
		int rc = 0;

		close(result[0]);
		/* Die with the parent: a killed pull must not leave a worker. */
		prctl_pdeathsig();
		if (s->owners == STORE_OWNERS_RANGE)
			rc = join_owner_userns(s, &e);
		umask(022);
		if (rc == 0)
			rc = fn(s, arg, out, &e);
		send_result(result[1], rc, out, out_len, e);
		free(out);
		skiff_error_free(e);
		_exit(0);
	}
	close(result[1]);
	*resultfd = result[0];
	return pid;
}

int store_owner_finish(pid_t pid, int resultfd, void *out, size_t out_len,
		       struct skiff_error **err)
{
	int rc = -1, status = 0;
	bool complete = recv_result(resultfd, &rc, out, out_len, err) == 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	if (!complete)
		return skiff_error_set(err, 0, "image.unpack.process",
				       "a worker process died (status 0x%x) before it finished", status);
	return rc < 0 ? -1 : 0;
}

int store_run_as_owner(struct image_store *s, store_owner_fn fn, void *arg,
		       void *out, size_t out_len, struct skiff_error **err)
{
	int fd = -1;
	pid_t pid = store_owner_start(s, fn, arg, out_len, &fd, err);

	if (pid < 0)
		return -1;
	return store_owner_finish(pid, fd, out, out_len, err);
}

/* ---- removing a tree ---------------------------------------------------------- */

int store_rm_rf_at(int atfd, const char *name, struct skiff_error **err)
{
	return remove_tree_as(atfd, name, REMOVE_TREE_WRITABLE, "image.store.remove", err);
}

static int remove_as_owner(struct image_store *s, void *arg, void *out,
			   struct skiff_error **err)
{
	(void)out;
	return store_rm_rf_at(s->dirfd, arg, err);
}

int store_remove_tree(struct image_store *s, const char *path, struct skiff_error **err)
{
	if (s->owners != STORE_OWNERS_RANGE)
		return store_rm_rf_at(s->dirfd, path, err);
	return store_run_as_owner(s, remove_as_owner, (void *)path, NULL, 0, err);
}

enum image_owners image_store_owners(const struct image_store *s,
				     struct sys_id_map uid_map[2],
				     struct sys_id_map gid_map[2], size_t *n)
{
	*n = 0;
	switch (s->owners) {
	case STORE_OWNERS_ROOT:
		return IMAGE_OWNERS_ROOT;
	case STORE_OWNERS_SINGLE:
		return IMAGE_OWNERS_SINGLE;
	case STORE_OWNERS_RANGE:
		break;
	}
	memcpy(uid_map, s->uid_map, 2 * sizeof(*uid_map));
	memcpy(gid_map, s->gid_map, 2 * sizeof(*gid_map));
	*n = s->n_map;
	return IMAGE_OWNERS_RANGE;
}

int image_store_remove(struct image_store *s, const char *path, struct skiff_error **err)
{
	_cleanup_error_ struct skiff_error *first = NULL;

	/* Most trees the user can remove alone: no helper process needed. */
	if (store_rm_rf_at(s->dirfd, path, &first) == 0)
		return 0;
	if (s->owners != STORE_OWNERS_RANGE) {
		*err = steal_pointer(&first);
		return -1;
	}
	return store_remove_tree(s, path, err);
}

int image_store_dirfd(const struct image_store *s)
{
	return s->dirfd;
}
