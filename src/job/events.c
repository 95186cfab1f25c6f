/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a run of `skiff run` tells the world as it goes: events as JSON
 * lines (--events-file, --events-fd) and POSTs (--notify-url) — pull
 * started/finished, created, started, timeout, oom, exited, failed — and,
 * at its end, its audit line (audit.c).  The state lives in one struct
 * job_events that job_run makes at its start and hands to its end, so that
 * a process that watches the job for another can carry it.
 *
 * An event: {"time": RFC 3339 UTC with ms, "event": NAME, "container_id",
 * "name", "image", ...}.  A sink that fails is reported once on stderr and
 * never fails the job: the job matters more than its telling. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "job/job-internal.h"

static void rfc3339_now(char out[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* Not strftime, which reads /etc/localtime for a UTC time. */
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

int job_events_open(const struct job_options *o, const struct job_result *r,
		    struct job_events **out, struct skiff_error **err)
{
	struct job_events *ev = xzalloc(sizeof(*ev));
	const char *env_log = getenv("SKIFF_AUDIT_LOG");

	ev->file_fd = ev->fd = -1;
	ev->eff = *o;
	ev->decisions = json_array();
	ev->start_ns = now_ns();
	ev->r = r;
	ev->image = o->image;
	if (o->audit_log != NULL)
		ev->audit_path = xstrdup(o->audit_log);
	else if (env_log != NULL && *env_log != '\0')
		ev->audit_path = xstrdup(env_log);
	else
		ev->audit_path = job_audit_default_path();
	*out = ev;
	if (o->events_file != NULL) {
		ev->file_fd = open(o->events_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
				   O_NOCTTY, 0600);
		if (ev->file_fd < 0)
			return skiff_error_set(err, errno, "job.events",
					       "cannot open --events-file %s for appending",
					       o->events_file);
	}
	if (o->has_events_fd) {
		int fl = fcntl(o->events_fd, F_GETFL);

		if (o->events_fd < 0 || fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
			return skiff_error_set(err, fl < 0 ? EBADF : EINVAL, "job.events",
					       "--events-fd %d is not a file descriptor open for "
					       "writing: open it in the caller (e.g. 3>>FILE)",
					       o->events_fd);
		/* Never into the container (0-2 are the job's stdio, given to it
		 * on purpose). */
		if (o->events_fd > 2)
			fcntl(o->events_fd, F_SETFD, FD_CLOEXEC);
		ev->fd = o->events_fd;
	}
	if (o->notify_url != NULL) {
		bool typed = false;

		if (image_http_library_load(err) < 0)
			return skiff_error_prefix(err, "--notify-url: ");
		curl_global_init(CURL_GLOBAL_DEFAULT);
		ev->url = o->notify_url;
		for (char **h = o->notify_headers; h && *h; h++) {
			typed = typed || strncasecmp(*h, "content-type:", 13) == 0;
			ev->headers = curl_slist_append(ev->headers, *h);
		}
		if (!typed)
			ev->headers = curl_slist_append(ev->headers, "Content-Type: application/json");
		/* libcurl would send "Expect: 100-continue" and wait for it. */
		ev->headers = curl_slist_append(ev->headers, "Expect:");
	}
	return 0;
}

int job_events_policy(struct job_events *ev, const struct job_options **o,
		      struct skiff_error **err)
{
	bool audit = false;

	if (job_policy_load(&ev->policy, err) < 0 ||
	    job_policy_check_options(&ev->policy, *o, &ev->eff, ev->decisions, err) < 0 ||
	    job_policy_check_reference(&ev->policy, (*o)->image, ev->decisions, err) < 0)
		return -1;
	for (size_t i = 0; i < ev->policy.n_files; i++)
		audit = audit || ev->policy.files[i].require_audit;
	/* An audit the policy requires is checked before the job can run. */
	if (audit && job_audit_check(ev->audit_path, err) < 0)
		return skiff_error_prefix(err, "the policy requires an audit log: ");
	*o = &ev->eff;
	return 0;
}

int job_events_policy_image(struct job_events *ev, const struct image_layers *l,
			    struct skiff_error **err)
{
	_cleanup_free_ char *subject = job_policy_image_subject(ev->image, l->name);

	return job_policy_check_resolved(&ev->policy, subject, l->manifest, ev->decisions, err);
}

void job_events_args(struct job_events *ev, char *const *args)
{
	if (ev == NULL)
		return;
	strv_free(ev->args);
	ev->args = strv_copy(args);
}

/* ---- emitting ------------------------------------------------------------------ */

static void sink_write(struct job_events *ev, int fd, const char *what, const char *line,
		       size_t len)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	ssize_t n;

	if (fd < 0)
		return;
	/* A reader that went away must not kill skiff with SIGPIPE. */
	sigaction(SIGPIPE, &ign, &old);
	n = write_all(fd, line, len);
	sigaction(SIGPIPE, &old, NULL);
	if (n != (ssize_t)len && !ev->sink_failed) {
		ev->sink_failed = true;
		log_warning("cannot write an event to %s: %s (the job goes on)", what,
			    strerror(errno));
	}
}

static void emit(struct job_events *ev, json_t *j)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	_cleanup_free_ char *line = NULL;
	size_t len;

	if (text == NULL)
		return;
	line = xasprintf("%s\n", text);
	len = strlen(line);
	sink_write(ev, ev->file_fd, "--events-file", line, len);
	sink_write(ev, ev->fd, "--events-fd", line, len);
	if (ev->url != NULL && !ev->url_failed) {
		_cleanup_error_ struct skiff_error *e = NULL;

		if (job_notify_post(ev->url, ev->headers, text, &e) < 0) {
			_cleanup_free_ char *msg = skiff_error_text(e);

			/* Once: a dead receiver must not hold every event up. */
			ev->url_failed = true;
			log_warning("%s [%s]; no more events are posted (the job goes on)", msg,
				    e->id);
		}
	}
}

static json_t *event_new(const struct job_events *ev, const char *event)
{
	char now[64];
	const struct job_result *r = ev->r;

	rfc3339_now(now);
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "time", now, "event", event,
			 "container_id", r->container_id, "name", r->name, "image",
			 r->image ? r->image : ev->image);
}

void job_event(struct job_events *ev, const char *event)
{
	_cleanup_json_ json_t *j = NULL;

	if (ev == NULL)
		return;
	j = event_new(ev, event);
	emit(ev, j);
}

void job_event_pull(struct job_events *ev, bool started, const struct image_layers *l)
{
	_cleanup_json_ json_t *j = NULL;

	if (ev == NULL)
		return;
	j = event_new(ev, started ? "pull_started" : "pull_finished");
	json_object_set_new(j, "source", json_string(ev->image));
	if (!started && l != NULL) {
		json_object_set_new(j, "image", json_string(l->name));
		json_object_set_new(j, "image_digest", json_string(l->manifest));
	}
	emit(ev, j);
}

/* ---- the end: last events, audit line ----------------------------------------- */

static json_t *strings(char *const *v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *audit_record(const struct job_events *ev, int rc, const struct skiff_error *e)
{
	const struct job_options *o = &ev->eff;
	const struct job_result *r = ev->r;
	const char *outcome = rc == 0 ? "exited"
			      : e != NULL && strcmp(e->id, "policy.denied") == 0 ? "denied" : "failed";
	json_t *j, *limits, *end, *policy;
	char now[64];

	rfc3339_now(now);
	limits = json_pack("{s:o, s:o, s:o, s:o, s:o, s:s?}",
			   "timeout_seconds", o->timeout > 0 ? json_real(o->timeout) : json_null(),
			   "memory_bytes", o->memory ? json_integer(o->memory) : json_null(),
			   "memory_swap_bytes", o->memory_swap ? json_integer(o->memory_swap)
							       : json_null(),
			   "cpus", o->cpus > 0 ? json_real(o->cpus) : json_null(),
			   "pids_limit", o->pids_limit ? json_integer(o->pids_limit) : json_null(),
			   "storage_limit", o->storage_limit);
	end = json_pack("{s:s, s:b, s:o, s:o, s:b, s:b, s:o, s:f}", "result", outcome,
			"started", r->started,
			"exit_code", rc == 0 ? json_integer(r->exit_code)
				     : json_integer(e ? skiff_error_exit_code(e) : 125),
			"signal", r->signal ? json_string(signal_name(r->signal)) : json_null(),
			"timed_out", r->timed_out, "oom_killed", r->oom_killed,
			"duration_seconds", r->started ? json_real(r->duration) : json_null(),
			"elapsed_seconds", (double)(now_ns() - ev->start_ns) / 1e9);
	if (e != NULL) {
		_cleanup_free_ char *msg = skiff_error_text(e);

		json_object_set_new(end, "error", json_pack("{s:s, s:s}", "id", e->id,
							    "message", msg));
	}
	policy = json_pack("{s:o, s:O}", "files", json_array(), "decisions", ev->decisions);
	for (size_t i = 0; i < ev->policy.n_files; i++)
		json_array_append_new(json_object_get(policy, "files"),
				      json_string(ev->policy.files[i].path));
	j = json_pack("{s:s, s:s?, s:i, s:s, s:s?, s:s?, s:o, s:o, s:s?, s:o, s:s, s:o, s:o, "
		      "s:o, s:s?, s:b, s:s?, s:s?}",
		      "time", now, "user", sys_user_name(getuid()), "uid", (int)getuid(),
		      "image", ev->image, "image_name", r->image, "image_digest", r->image_digest,
		      "command", ev->args ? strings(ev->args) : strings(o->command),
		      "limits", limits,
		      "entrypoint", o->has_entrypoint ? o->entrypoint : NULL,
		      "run_as", o->user ? json_string(o->user) : json_null(),
		      "network", job_network_name(o->network),
		      "volumes", strings(o->volumes),
		      "cap_add", strings(o->cap_add), "cap_drop", strings(o->cap_drop),
		      "seccomp", o->seccomp,
		      "no_new_privileges", !o->allow_new_privileges,
		      "container_id", r->container_id, "name", r->name);
	json_object_set_new(j, "outcome", end);
	json_object_set_new(j, "policy", policy);
	return j;
}

int job_events_end(struct job_events **evp, int rc, struct skiff_error **err)
{
	struct job_events *ev = *evp;
	const struct job_result *r;
	_cleanup_json_ json_t *rec = NULL;
	_cleanup_free_ char *text = NULL, *line = NULL;
	_cleanup_error_ struct skiff_error *ae = NULL;
	bool required = false;

	if (ev == NULL)
		return rc;
	*evp = NULL;
	r = ev->r;
	/* A job that ran to its end, also when skiff failed after it (a
	 * --copy-out, removing the container): how it ended, then the failure. */
	if (rc == 0 || (r->started && r->duration > 0)) {
		_cleanup_json_ json_t *j = NULL;

		if (r->timed_out) {
			j = event_new(ev, "timeout");
			json_object_set_new(j, "timeout_seconds", json_real(ev->eff.timeout));
			emit(ev, j);
			json_decref(steal_pointer(&j));
		}
		if (r->oom_killed)
			job_event(ev, "oom");
		j = event_new(ev, "exited");
		json_object_set_new(j, "exit_code", json_integer(r->exit_code));
		json_object_set_new(j, "signal", r->signal ? json_string(signal_name(r->signal))
							   : json_null());
		json_object_set_new(j, "timed_out", json_boolean(r->timed_out));
		json_object_set_new(j, "oom_killed", json_boolean(r->oom_killed));
		json_object_set_new(j, "duration_seconds", json_real(r->duration));
		emit(ev, j);
	}
	if (rc < 0) {
		_cleanup_json_ json_t *j = event_new(ev, "failed");
		_cleanup_free_ char *msg = skiff_error_text(*err);

		json_object_set_new(j, "error", json_pack("{s:s, s:s}", "id", (*err)->id,
							  "message", msg));
		emit(ev, j);
	}

	rec = audit_record(ev, rc, rc < 0 ? *err : NULL);
	text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
	line = xasprintf("%s\n", text ? text : "{}");
	for (size_t i = 0; i < ev->policy.n_files; i++)
		required = required || ev->policy.files[i].require_audit;
	if (job_audit_append(ev->audit_path, line, &ae) < 0) {
		if (required && rc == 0) {
			*err = steal_pointer(&ae);
			skiff_error_prefix(err, "the policy requires an audit log: ");
			rc = -1;
		} else {
			_cleanup_free_ char *msg = skiff_error_text(ae);

			log_warning("%s [%s]", msg, ae->id);
		}
	}

	if (ev->file_fd >= 0)
		close(ev->file_fd);
	/* Only a run with --notify-url loaded libcurl. */
	if (ev->headers != NULL)
		curl_slist_free_all(ev->headers);
	job_policy_clear(&ev->policy);
	json_decref(ev->decisions);
	strv_free(ev->args);
	free(ev->audit_path);
	free(ev);
	return rc;
}
