/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The commands that work through a container's cgroup: pause, resume,
 * update, ps, stats (runc's shape).  A container without a cgroup (no
 * cgroup v2, no delegation) can be listed by ps, and nothing else here. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "runtime-internal.h"
#include "runtime/cgroup-internal.h"

static int open_locked(const struct runtime_ctx *ctx, const char *id, int *statefd,
		       struct container_state **st, enum container_status *status,
		       struct skiff_error **err)
{
	_cleanup_close_ int rootfd = state_root_open(ctx, false, err);

	if (rootfd < 0)
		return -1;
	*statefd = state_dir_open_locked(rootfd, id, err);
	if (*statefd < 0)
		return -1;
	if (state_read(*statefd, id, st, err) < 0)
		return -1;
	*status = state_status(*statefd, *st);
	return 0;
}

static int need_cgroup(const struct container_state *st, const char *what,
		       struct skiff_error **err)
{
	if (st->cgroup == NULL)
		return skiff_error_set(err, 0, "container.no_cgroup",
				       "cannot %s container \"%s\": it has no cgroup (that needs "
				       "cgroup v2, and as a user a delegated cgroup: "
				       "systemd-run --user --scope -p Delegate=yes skiff …)",
				       what, st->id);
	if (access(st->cgroup, F_OK) < 0)
		return skiff_error_set(err, errno, "container.no_cgroup",
				       "cannot %s container \"%s\": its cgroup %s is gone",
				       what, st->id, st->cgroup);
	return 0;
}

static int freeze(const struct runtime_ctx *ctx, const char *id, bool frozen,
		  struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1;
	enum container_status status;
	enum container_status from = frozen ? CONTAINER_RUNNING : CONTAINER_PAUSED;

	if (open_locked(ctx, id, &statefd, &st, &status, err) < 0 ||
	    need_cgroup(st, frozen ? "pause" : "resume", err) < 0)
		return -1;
	if (status != from)
		return skiff_error_set(err, 0, frozen ? "container.not_running"
							   : "container.not_paused",
				       "container \"%s\" is %s: only a %s container can be %s",
				       id, container_status_name(status),
				       container_status_name(from), frozen ? "paused" : "resumed");
	return cgroup_freeze(st->cgroup, frozen, err);
}

int container_pause(const struct runtime_ctx *ctx, const char *id, struct skiff_error **err)
{
	return freeze(ctx, id, true, err);
}

int container_resume(const struct runtime_ctx *ctx, const char *id, struct skiff_error **err)
{
	return freeze(ctx, id, false, err);
}

int container_update(const struct runtime_ctx *ctx, const char *id,
		     const struct spec_resources *r, const char *origin,
		     struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1, dirfd = -1;
	_cleanup_free_ char *offered = NULL;
	enum container_status status;
	unsigned mask, have;
	int rc;

	if (open_locked(ctx, id, &statefd, &st, &status, err) < 0)
		return -1;
	if (status == CONTAINER_STOPPED)
		return skiff_error_set(err, 0, "container.not_running",
				       "container \"%s\" is stopped: there is nothing to update", id);
	rc = cgroup_resources_needs(r, origin, &mask, err);
	if (rc <= 0)
		return rc;
	if (need_cgroup(st, "update", err) < 0)
		return -1;
	dirfd = open(st->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return skiff_error_set(err, errno, "cgroup.update", "cannot open %s", st->cgroup);
	(void)read_file_at(dirfd, "cgroup.controllers", 4096, &offered, NULL, NULL);
	have = cgroup_controllers_parse(offered);
	if ((mask & ~have) != 0) {
		char names[96];

		return skiff_error_set(err, 0, "cgroup.not_delegated",
				       "%s: the container's cgroup %s has no %s controller "
				       "(its parent does not hand it down): only limits of "
				       "the controllers it was created with can be updated",
				       origin, st->cgroup,
				       cgroup_controllers_text(mask & ~have, names, sizeof(names)));
	}
	return cgroup_apply_resources(dirfd, st->cgroup, r, origin, true, err);
}

int container_ps(const struct runtime_ctx *ctx, const char *id, pid_t **out,
		 size_t *n, struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1;
	enum container_status status;

	if (open_locked(ctx, id, &statefd, &st, &status, err) < 0)
		return -1;
	if (status == CONTAINER_STOPPED && (st->cgroup == NULL || access(st->cgroup, F_OK) < 0)) {
		*out = xzalloc(sizeof(pid_t));
		*n = 0;
		return 0;
	}
	return container_pids(st, out, n, err);
}

int container_stats(const struct runtime_ctx *ctx, const char *id,
		    struct container_stats *out, struct skiff_error **err)
{
	_cleanup_state_ struct container_state *st = NULL;
	_cleanup_close_ int statefd = -1;

	*out = (struct container_stats){ 0 };
	if (open_locked(ctx, id, &statefd, &st, &out->status, err) < 0)
		return -1;
	if (st->cgroup == NULL || access(st->cgroup, F_OK) < 0)
		return 0;
	out->has_cgroup = true;
	return cgroup_read_stats(st->cgroup, out, err);
}

void container_report_oom(const struct runtime_ctx *ctx, const char *id)
{
	_cleanup_error_ struct skiff_error *ignored = NULL;
	struct container_stats s;

	if (container_stats(ctx, id, &s, &ignored) < 0 || !s.has_memory || s.oom_kill == 0)
		return;
	if (s.memory_max != UINT64_MAX)
		log_warning("container \"%s\": out of memory: the kernel killed %" PRIu64
			    " process%s at its memory limit of %" PRIu64 " bytes (oom_killed)",
			    id, s.oom_kill, s.oom_kill == 1 ? "" : "es", s.memory_max);
	else
		log_warning("container \"%s\": out of memory: the kernel killed %" PRIu64
			    " process%s (oom_killed)", id, s.oom_kill,
			    s.oom_kill == 1 ? "" : "es");
}
