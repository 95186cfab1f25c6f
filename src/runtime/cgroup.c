/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's cgroup, on cgroup v2 through the cgroupfs.
 *
 * Where it goes (linux.cgroupsPath): an absolute path is taken under the
 * cgroup2 mount as given; a relative one, or none (skiff-ID), under the
 * caller's own cgroup.  The kernel lets a non-root cgroup either hold
 * processes or hand controllers to its children ("no internal
 * processes"), and skiff is itself in its own cgroup, so:
 *   - with no controller needed, the child is made as is;
 *   - when skiff is alone in its cgroup (systemd-run --scope), it moves
 *     itself into the leaf OWN/skiff first, as crun moves into crun-exec,
 *     and enables the controllers in OWN;
 *   - when other processes share it (a login shell), the container goes
 *     next to it instead, under the parent, which already hands the
 *     controllers down (runc's and crun's fallback);
 *   - else the limits cannot be applied: a clear error, nothing created.
 * Nothing is touched on v1 and hybrid hosts unless limits are asked, and
 * then they are refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"
#include <skiff/sys.h>
#include <skiff/util.h>

#define CGROUP_NAME_MAX 255
#define LEAF_NAME "skiff"

/* ---- layout --------------------------------------------------------------- */

const char *cgroup_mode_name(enum cgroup_mode m)
{
	switch (m) {
	case CGROUP_MODE_V1: return "cgroup v1";
	case CGROUP_MODE_HYBRID: return "hybrid";
	case CGROUP_MODE_V2: return "cgroup v2";
	case CGROUP_MODE_NONE: break;
	}
	return "none";
}

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo. */
static char *unescape_octal(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* /sys/fs/cgroup is where every tool looks; a hybrid host has the v2
 * hierarchy at /sys/fs/cgroup/unified. */
static int mount_rank(const char *mnt)
{
	if (strcmp(mnt, "/sys/fs/cgroup") == 0)
		return 3;
	if (strcmp(mnt, "/sys/fs/cgroup/unified") == 0)
		return 2;
	return 1;
}

void cgroup_layout_parse(const char *mountinfo, const char *proc_cgroup,
			 struct cgroup_layout *out)
{
	_cleanup_free_ char *copy = xstrdup(mountinfo ? mountinfo : "");
	char *save = NULL, *own = NULL;
	bool v1 = false;
	int best = 0;

	*out = (struct cgroup_layout){ 0 };
	/* "36 35 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw" */
	for (char *line = strtok_r(copy, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tok[64], *s2 = NULL;
		size_t n = 0, dash = 0;

		for (char *t = strtok_r(line, " ", &s2); t != NULL && n < ARRAY_SIZE(tok);
		     t = strtok_r(NULL, " ", &s2))
			tok[n++] = t;
		for (size_t i = 6; i < n; i++)
			if (strcmp(tok[i], "-") == 0) {
				dash = i;
				break;
			}
		if (dash == 0 || dash + 1 >= n)
			continue;
		if (strcmp(tok[dash + 1], "cgroup") == 0) {
			v1 = true;
		} else if (strcmp(tok[dash + 1], "cgroup2") == 0) {
			_cleanup_free_ char *mnt = unescape_octal(tok[4]);
			int rank = mount_rank(mnt);

			/* A later mount on the same point covers an earlier one. */
			if (rank >= best) {
				best = rank;
				free(out->mount);
				free(out->mount_root);
				out->mount = steal_pointer(&mnt);
				out->mount_root = unescape_octal(tok[3]);
			}
		}
	}
	if (out->mount != NULL)
		out->mode = best == 3 || !v1 ? CGROUP_MODE_V2 : CGROUP_MODE_HYBRID;
	else
		out->mode = v1 ? CGROUP_MODE_V1 : CGROUP_MODE_NONE;
	if (out->mount == NULL || proc_cgroup == NULL)
		return;

	/* "0::/user.slice/user-1000.slice/session-2.scope" */
	for (const char *p = proc_cgroup; p != NULL && *p != '\0';) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 3 && strncmp(p, "0::", 3) == 0) {
			own = strndup(p + 3, len - 3);
			if (own == NULL)
				abort();
			break;
		}
		p = end ? end + 1 : NULL;
	}
	if (own == NULL || own[0] != '/') {
		free(own);
		return;
	}
	/* Paths in /proc/self/cgroup are relative to our cgroup namespace,
	 * as is the mount's root; a mount from another namespace may show
	 * "/.." roots, under which our cgroup cannot be found. */
	if (strcmp(out->mount_root, "/") == 0) {
		out->own = own;
	} else {
		size_t n = strlen(out->mount_root);

		if (strncmp(own, out->mount_root, n) == 0 && (own[n] == '/' || own[n] == '\0'))
			out->own = xstrdup(own[n] == '\0' ? "/" : own + n);
		free(own);
	}
}

void cgroup_layout_detect(struct cgroup_layout *out)
{
	_cleanup_free_ char *mountinfo = NULL, *cgroup = NULL;

	(void)read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20, &mountinfo, NULL, NULL);
	(void)read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &cgroup, NULL, NULL);
	cgroup_layout_parse(mountinfo, cgroup, out);
}

bool cgroup_host_is_v2(void)
{
	struct statfs sf;

	return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

void cgroup_layout_clear(struct cgroup_layout *l)
{
	free(l->mount);
	free(l->mount_root);
	free(l->own);
	*l = (struct cgroup_layout){ 0 };
}

/* ---- paths ----------------------------------------------------------------- */

int cgroup_resolve_path(const char *mount_root, const char *base,
			const char *cgroups_path, const char *id, char **out,
			struct skiff_error **err)
{
	_cleanup_free_ char *raw = NULL, *norm = NULL;
	const char *what = cgroups_path != NULL && cgroups_path[0] != '\0'
				   ? "linux.cgroupsPath" : "the default cgroup";
	size_t len = 0;
	char *save = NULL;

	if (cgroups_path != NULL && cgroups_path[0] == '/') {
		size_t n = strlen(mount_root);

		if (strcmp(mount_root, "/") == 0) {
			raw = xstrdup(cgroups_path);
		} else if (strncmp(cgroups_path, mount_root, n) == 0 &&
			   (cgroups_path[n] == '/' || cgroups_path[n] == '\0')) {
			raw = xstrdup(cgroups_path + n);
		} else {
			return skiff_error_set(err, 0, "cgroup.path",
					       "config.json: linux.cgroupsPath \"%s\" is outside "
					       "the part of the cgroup tree mounted here (%s)",
					       cgroups_path, mount_root);
		}
	} else if (cgroups_path != NULL && cgroups_path[0] != '\0') {
		raw = xasprintf("%s/%s", base, cgroups_path);
	} else {
		raw = xasprintf("%s/skiff-%s", base, id);
	}
	norm = xzalloc(strlen(raw) + 2);
	for (char *c = strtok_r(raw, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0 || strchr(c, '\n') != NULL)
			return skiff_error_set(err, 0, "cgroup.path",
					       "config.json: %s: \"%s\" is not a cgroup name "
					       "(no \".\", \"..\" or newline)", what, c);
		if (strlen(c) > CGROUP_NAME_MAX)
			return skiff_error_set(err, 0, "cgroup.path",
					       "config.json: %s: the name \"%.40s…\" is longer than "
					       "%d bytes%s", what, c, CGROUP_NAME_MAX,
					       cgroups_path == NULL || cgroups_path[0] == '\0'
						       ? ": use a shorter container id, or set "
							 "linux.cgroupsPath" : "");
		len += (size_t)sprintf(norm + len, "/%s", c);
	}
	if (len == 0)
		return skiff_error_set(err, 0, "cgroup.path",
				       "config.json: linux.cgroupsPath \"%s\" is the root cgroup; "
				       "a container needs a cgroup of its own", cgroups_path);
	*out = steal_pointer(&norm);
	return 0;
}

static char *rel_parent(const char *rel)
{
	const char *slash = strrchr(rel, '/');

	return slash == rel ? xstrdup("/") : strndup(rel, (size_t)(slash - rel));
}

static char *fs_path(const struct cgroup_layout *l, const char *rel)
{
	return strcmp(rel, "/") == 0 ? xstrdup(l->mount) : xasprintf("%s%s", l->mount, rel);
}

char *cgroup_read_file(const char *dir, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	char *text = NULL;

	if (read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

static unsigned read_controllers(const char *dir, const char *file)
{
	_cleanup_free_ char *text = cgroup_read_file(dir, file);

	return cgroup_controllers_parse(text);
}

bool cgroup_populated(const char *dir)
{
	_cleanup_free_ char *events = cgroup_read_file(dir, "cgroup.events");
	uint64_t v = 0;

	return events != NULL && cgroup_keyed_value(events, "populated", &v) == 0 && v != 0;
}

static bool writable(const char *dir)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);

	return access(dir, W_OK) == 0 && access(procs, W_OK) == 0;
}

/* True when cgroup.procs of dir lists this process and nothing else. */
static bool alone_in(const char *dir)
{
	_cleanup_free_ char *procs = cgroup_read_file(dir, "cgroup.procs");
	char self[24];

	snprintf(self, sizeof(self), "%d\n", getpid());
	return procs != NULL && strcmp(procs, self) == 0;
}

static int write_pid(const char *dir, pid_t pid)
{
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
	_cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", pid);
	if (fd < 0 || write_all(fd, buf, strlen(buf)) < 0)
		return -1;
	return 0;
}

static bool privileged(void)
{
	return geteuid() == 0 && sys_in_initial_userns();
}

/* ---- errors that say what to do ---------------------------------------------- */

#define DELEGATE_FIX \
	"Run skiff in a cgroup delegated to you (systemd-run --user --scope -p " \
	"Delegate=yes skiff …), or have systemd delegate the controllers to user " \
	"sessions with a drop-in /etc/systemd/system/user@.service.d/delegate.conf " \
	"holding \"[Service] Delegate=cpu cpuset io memory pids\" (then systemctl " \
	"daemon-reload, and log in again)"

static const char *needs_text(unsigned mask, char *buf, size_t size)
{
	char names[96];

	if (mask == 0)
		snprintf(buf, size, "linux.resources needs a cgroup of its own");
	else
		snprintf(buf, size, "linux.resources needs the %s controller%s",
			 cgroup_controllers_text(mask, names, sizeof(names)),
			 mask & (mask - 1) ? "s" : "");
	return buf;
}

/* The limits cannot be had where skiff runs: "NEEDS, and WHERE: FIX".
 * Permission errors say nothing the message does not, so they are left
 * out; others (EROFS …) are appended. */
static int not_delegated(struct skiff_error **err, int errnum, unsigned mask,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int not_delegated(struct skiff_error **err, int errnum, unsigned mask,
			 const char *fmt, ...)
{
	_cleanup_free_ char *where = NULL;
	char needs[160];
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&where, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (errnum == EACCES || errnum == EPERM)
		errnum = 0;
	if (privileged())
		return skiff_error_set(err, errnum, "cgroup.unavailable", "%s, and %s",
				       needs_text(mask, needs, sizeof(needs)), where);
	return skiff_error_set(err, errnum, "cgroup.not_delegated",
			       "%s, and %s: it is not delegated to uid %u. " DELEGATE_FIX,
			       needs_text(mask, needs, sizeof(needs)), where,
			       (unsigned)geteuid());
}

static int unavailable(struct skiff_error **err, const struct cgroup_layout *l,
		       unsigned mask, const char *origin)
{
	char names[96];
	const char *how;

	if (l->mode == CGROUP_MODE_HYBRID)
		how = "this host has the hybrid layout: cgroup v1 hierarchies hold the "
		      "controllers and the cgroup2 mount beside them has none";
	else if (l->mode == CGROUP_MODE_V1)
		how = "this host has only cgroup v1, which skiff does not drive";
	else
		how = "this host has no cgroup file system mounted";
	return skiff_error_set(err, 0, "cgroup.unavailable",
			       "%s: linux.resources asks for limits (%s), and %s; skiff "
			       "applies limits through cgroup v2 only: boot the host with "
			       "systemd.unified_cgroup_hierarchy=1, or remove the limits",
			       origin, mask ? cgroup_controllers_text(mask, names, sizeof(names))
					    : "unified files", how);
}

/* ---- creating -------------------------------------------------------------- */

struct placement {
	const struct cgroup_layout *l;
	unsigned mask;           /* controllers the limits need */
	char *own_fs;            /* skiff's own cgroup, file system path */
	char *leaf;              /* where skiff moved itself, or NULL */
	unsigned own_enabled;    /* controllers we enabled in own_fs */
	char *made[64];          /* directories made, outermost first */
	size_t n_made;
};

static void placement_undo(struct placement *p)
{
	while (p->n_made > 0) {
		p->n_made--;
		rmdir(p->made[p->n_made]);
		free(p->made[p->n_made]);
	}
	if (p->leaf != NULL) {
		/* Back where we came from, which needs own's controllers for
		 * children switched off again; then the leaf is empty. */
		for (unsigned bit = 1; bit & CG__ALL; bit <<= 1) {
			char names[32], op[40];

			if (!(p->own_enabled & bit))
				continue;
			snprintf(op, sizeof(op), "-%s", cgroup_controllers_text(bit, names, sizeof(names)));
			_cleanup_free_ char *ctl = xasprintf("%s/cgroup.subtree_control", p->own_fs);
			(void)write_file_at(AT_FDCWD, ctl, op, NULL);
		}
		if (write_pid(p->own_fs, getpid()) == 0)
			rmdir(p->leaf);
		free(p->leaf);
		p->leaf = NULL;
	}
}

static int move_self_to_leaf(struct placement *p, struct skiff_error **err)
{
	_cleanup_free_ char *leaf = xasprintf("%s/" LEAF_NAME, p->own_fs);

	/* A `delete` elsewhere may remove an empty leaf between our mkdir
	 * and our move: make it again. */
	for (int tries = 0;; tries++) {
		if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
			return not_delegated(err, errno, p->mask, "skiff cannot create %s",
					     leaf);
		if (write_pid(leaf, getpid()) == 0)
			break;
		if (errno != ENOENT || tries == 5)
			return skiff_error_set(err, errno, "cgroup.create",
					       "cannot move skiff into %s (to hand the controllers "
					       "of %s to the container)", leaf, p->own_fs);
	}
	log_debug("moved into %s: a cgroup holding processes cannot hand controllers down",
		  leaf);
	p->leaf = steal_pointer(&leaf);
	return 0;
}

/* Makes sure dir hands the controllers of p->mask to its children. */
static int enable_controllers(struct placement *p, const char *dir, struct skiff_error **err)
{
	unsigned have = read_controllers(dir, "cgroup.subtree_control");
	unsigned missing = p->mask & ~have, offered;
	_cleanup_free_ char *ctl = NULL;
	bool is_own = p->own_fs != NULL && strcmp(dir, p->own_fs) == 0;

	if (missing == 0)
		return 0;
	offered = read_controllers(dir, "cgroup.controllers");
	if (missing & ~offered) {
		char names[96];

		if (privileged())
			return skiff_error_set(err, 0, "cgroup.unavailable",
					       "linux.resources needs the %s controller, which %s "
					       "does not offer (see its cgroup.controllers): the "
					       "kernel lacks it, or it is bound to cgroup v1",
					       cgroup_controllers_text(missing & ~offered, names,
								       sizeof(names)), dir);
		return not_delegated(err, 0, missing & ~offered,
				     "%s does not offer it (see its cgroup.controllers)", dir);
	}
	if (is_own && p->leaf == NULL && strcmp(p->l->own, "/") != 0) {
		if (!alone_in(dir)) {
			char names[96];

			return skiff_error_set(err, 0, "cgroup.not_delegated",
					       "linux.resources needs the %s controller%s for a "
					       "cgroup under %s, which also holds other processes: "
					       "the kernel lets a cgroup hold processes or hand "
					       "controllers to children, not both. Start skiff in a "
					       "cgroup of its own (systemd-run --user --scope -p "
					       "Delegate=yes skiff …), or set linux.cgroupsPath to "
					       "a cgroup elsewhere",
					       cgroup_controllers_text(p->mask, names, sizeof(names)),
					       p->mask & (p->mask - 1) ? "s" : "", dir);
		}
		if (move_self_to_leaf(p, err) < 0)
			return -1;
	}
	ctl = xasprintf("%s/cgroup.subtree_control", dir);
	for (unsigned bit = 1; bit & CG__ALL; bit <<= 1) {
		char names[32], op[40];

		if (!(missing & bit))
			continue;
		snprintf(op, sizeof(op), "+%s", cgroup_controllers_text(bit, names, sizeof(names)));
		if (write_file_at(AT_FDCWD, ctl, op, NULL) < 0) {
			if (errno == EACCES || errno == EPERM || errno == EROFS)
				return not_delegated(err, errno, bit, "%s does not hand it "
						     "down to its children, and skiff may not "
						     "change that", dir);
			if (errno == EBUSY)
				return skiff_error_set(err, 0, "cgroup.not_delegated",
						       "cannot enable the %s controller for the "
						       "children of %s: it holds processes (a cgroup "
						       "may hold processes or hand controllers down, "
						       "not both); set linux.cgroupsPath to a cgroup "
						       "without processes", names, dir);
			return skiff_error_set(err, errno, "cgroup.create",
					       "cannot write \"%s\" to %s", op, ctl);
		}
		if (is_own)
			p->own_enabled |= bit;
	}
	return 0;
}

/* Makes every ancestor of target (a path under the mount) and enables the
 * controllers down to it. */
static int prepare_ancestors(struct placement *p, const char *target, struct skiff_error **err)
{
	_cleanup_free_ char *rel = xstrdup(target);

	for (char *slash = rel;; slash = strchr(slash + 1, '/')) {
		_cleanup_free_ char *dir = NULL;

		if (slash == NULL)
			break;
		*slash = '\0';
		dir = fs_path(p->l, slash == rel ? "/" : rel);
		*slash = '/';
		if (slash != rel && p->n_made + 1 >= ARRAY_SIZE(p->made))
			return skiff_error_set(err, 0, "cgroup.path",
					       "linux.cgroupsPath is too deep");
		if (slash != rel && mkdir(dir, 0755) == 0) {
			p->made[p->n_made++] = xstrdup(dir);
		} else if (slash != rel && errno != EEXIST) {
			return not_delegated(err, errno, p->mask, "skiff cannot create %s", dir);
		}
		if (p->mask != 0 && enable_controllers(p, dir, err) < 0)
			return -1;
	}
	return 0;
}

/* Picks the parent of a relative or default cgroup: skiff's own cgroup
 * when it can hand the controllers down, else its parent. */
static int choose_base(struct placement *p, bool required, char **base,
		       struct skiff_error **err)
{
	const char *own = p->l->own;
	_cleanup_free_ char *parent = NULL, *parent_fs = NULL;
	bool own_ok = writable(p->own_fs);

	if (strcmp(own, "/") == 0 || (own_ok && p->mask == 0) ||
	    (own_ok && (read_controllers(p->own_fs, "cgroup.subtree_control") & p->mask) == p->mask) ||
	    (own_ok && alone_in(p->own_fs))) {
		*base = xstrdup(own);
		return 0;
	}
	parent = rel_parent(own);
	parent_fs = fs_path(p->l, parent);
	if (writable(parent_fs) && required) {
		*base = steal_pointer(&parent);
		return 0;
	}
	if (!required)
		return -1;
	if (!own_ok)
		return not_delegated(err, EACCES, p->mask, "skiff's cgroup %s is not writable",
				     p->own_fs);
	{
		char names[96];

		return skiff_error_set(err, 0, "cgroup.not_delegated",
				       "linux.resources needs the %s controller%s, and skiff's "
				       "cgroup %s also holds other processes (the kernel lets a "
				       "cgroup hold processes or hand controllers to children, "
				       "not both), while its parent is not writable by uid %u. "
				       "Start skiff in a cgroup of its own: systemd-run --user "
				       "--scope -p Delegate=yes skiff …",
				       cgroup_controllers_text(p->mask, names, sizeof(names)),
				       p->mask & (p->mask - 1) ? "s" : "", p->own_fs,
				       (unsigned)geteuid());
	}
}

static int place(struct placement *p, const struct spec *s, const char *id, bool required,
		 struct cgroup **out, struct skiff_error **err)
{
	const char *cgroups_path = s->linux_ ? s->linux_->cgroups_path : NULL;
	const struct spec_resources *r = s->linux_ ? s->linux_->resources : NULL;
	_cleanup_free_ char *base = NULL, *target = NULL, *path = NULL;
	_cleanup_close_ int dirfd = -1;
	struct cgroup *cg;

	if (cgroups_path == NULL || cgroups_path[0] != '/') {
		if (choose_base(p, required, &base, err) < 0)
			return -1;
	}
	if (cgroup_resolve_path(p->l->mount_root, base, cgroups_path, id, &target, err) < 0 ||
	    prepare_ancestors(p, target, err) < 0)
		return -1;
	path = fs_path(p->l, target);
	if (mkdir(path, 0755) < 0) {
		if (errno != EEXIST)
			return not_delegated(err, errno, p->mask, "skiff cannot create %s", path);
		/* Joining a cgroup that holds processes would make them the
		 * container's: `delete` and `kill --all` would kill them. */
		if (cgroup_populated(path))
			return skiff_error_set(err, 0, "cgroup.busy",
					       "the cgroup %s already holds processes: give the "
					       "container a cgroup of its own (linux.cgroupsPath)",
					       path);
	} else {
		p->made[p->n_made++] = xstrdup(path);   /* room kept by prepare_ancestors */
	}
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return skiff_error_set(err, errno, "cgroup.create", "cannot open %s", path);
	if ((read_controllers(path, "cgroup.controllers") & p->mask) != p->mask)
		return not_delegated(err, 0, p->mask & ~read_controllers(path, "cgroup.controllers"),
				     "%s does not offer it (see its cgroup.controllers)", path);
	if (cgroup_apply_resources(dirfd, path, r, "config.json", false, err) < 0)
		return -1;
	cg = xzalloc(sizeof(*cg));
	cg->path = steal_pointer(&path);
	cg->dirfd = steal_fd(&dirfd);
	cg->leaf = steal_pointer(&p->leaf);
	*out = cg;
	return 0;
}

int cgroup_check_spec(const struct spec *s, struct skiff_error **err)
{
	const struct spec_resources *r = s->linux_ ? s->linux_->resources : NULL;
	struct cgroup_layout l;
	unsigned mask;
	int rc = cgroup_resources_needs(r, "config.json", &mask, err);

	if (rc <= 0)
		return rc;
	cgroup_layout_detect(&l);
	if (l.mode != CGROUP_MODE_V2)
		rc = unavailable(err, &l, mask, "config.json");
	else if (l.own == NULL)
		rc = skiff_error_set(err, 0, "cgroup.unavailable",
				     "linux.resources asks for limits, and skiff's own cgroup "
				     "(/proc/self/cgroup) is outside the cgroup2 mount at %s",
				     l.mount);
	else
		rc = 0;
	cgroup_layout_clear(&l);
	return rc;
}

int cgroup_create(const struct spec *s, const char *id, struct cgroup **out,
		  struct skiff_error **err)
{
	const struct spec_resources *r = s->linux_ ? s->linux_->resources : NULL;
	struct cgroup_layout l;
	struct placement p = { .l = &l };
	_cleanup_error_ struct skiff_error *soft = NULL;
	int want, rc;

	*out = NULL;
	want = cgroup_resources_needs(r, "config.json", &p.mask, err);
	if (want < 0)
		return -1;
	/* Without limits a cgroup is a convenience, taken where cgroup2 is
	 * mounted at /sys/fs/cgroup: a v1 or hybrid host's is a tmpfs, and
	 * one statfs spares reading and parsing mountinfo (~0.1 ms). */
	if (!want && !cgroup_host_is_v2())
		return 0;
	cgroup_layout_detect(&l);
	if (l.mode != CGROUP_MODE_V2 || l.own == NULL) {
		/* Containers without limits run on any host, untouched. */
		rc = want ? cgroup_check_spec(s, err) : 0;
		cgroup_layout_clear(&l);
		return rc;
	}
	p.own_fs = fs_path(&l, l.own);
	/* Without limits a cgroup is a convenience (ps, pause, kill --all):
	 * take one only where it comes without moving skiff around. */
	if (!want)
		p.mask = 0;
	rc = place(&p, s, id, want, out, want ? err : &soft);
	if (rc < 0) {
		placement_undo(&p);
		if (!want) {
			const char *cp = s->linux_ ? s->linux_->cgroups_path : NULL;

			if (cp != NULL && cp[0] != '\0' && soft != NULL)
				log_warning("running container \"%s\" without a cgroup: %s", id,
					    soft->msg);
			else if (soft != NULL)
				log_debug("no cgroup for container \"%s\": %s", id, soft->msg);
			rc = 0;
		}
	}
	for (size_t i = 0; i < p.n_made; i++)
		free(p.made[i]);
	free(p.leaf);
	free(p.own_fs);
	cgroup_layout_clear(&l);
	return rc;
}

void cgroup_free(struct cgroup *cg)
{
	free(cg->path);
	free(cg->leaf);
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	free(cg);
}

int cgroup_enter(const struct cgroup *cg, pid_t pid, struct skiff_error **err)
{
	_cleanup_close_ int fd = openat(cg->dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", pid);
	if (fd >= 0 && write_all(fd, buf, strlen(buf)) >= 0)
		return 0;
	if (errno == EACCES || errno == EPERM)
		return skiff_error_set(err, errno, "cgroup.not_delegated",
				       "cannot move the container into %s: moving a process "
				       "needs write access to cgroup.procs of the closest cgroup "
				       "above both skiff's and the container's: " DELEGATE_FIX,
				       cg->path);
	if (errno == EBUSY)
		return skiff_error_set(err, errno, "cgroup.busy",
				       "cannot move the container into %s: it hands controllers "
				       "to child cgroups, so it cannot hold processes; pick a "
				       "leaf cgroup in linux.cgroupsPath", cg->path);
	return skiff_error_set(err, errno, "cgroup.enter",
			       "cannot move the container's process into %s", cg->path);
}
