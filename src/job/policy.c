/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy of `skiff run`: which images a job may use and what it may
 * ask for.  Files, each one JSON object (every key optional):
 *
 *   {"images": ["docker.io/library/busybox", "localhost/app@sha256:HEX"],
 *    "max_timeout": 3600, "max_memory": "2g", "max_cpus": 2,
 *    "networks": ["none"], "allow_volumes": false, "allow_cap_add": false,
 *    "allow_seccomp_unconfined": false, "allow_seccomp_profile": false,
 *    "allow_new_privileges": false, "require_audit": true}
 *
 * read from /etc/skiff/policy.json, the file $SKIFF_POLICY names, and
 * $XDG_CONFIG_HOME/skiff/policy.json.  A job must pass every file, so a
 * later file (the user's) can only tighten an earlier one (the system's):
 * allowed sets intersect, maxima take the smallest.  A key skiff does not
 * know is an error: a typo must never leave a rule unenforced. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job/job-internal.h"

#define POLICY_SYSTEM_FILE "/etc/skiff/policy.json"

static const char *const network_modes[] = { "none", "host", "pasta", "slirp4netns",
					     "private", "ns" };

static void policy_file_clear(struct job_policy_file *f)
{
	free(f->path);
	strv_free(f->images);
	strv_free(f->networks);
	memset(f, 0, sizeof(*f));
}

void job_policy_clear(struct job_policy *p)
{
	for (size_t i = 0; i < p->n_files; i++)
		policy_file_clear(&p->files[i]);
	free(p->files);
	memset(p, 0, sizeof(*p));
}

/* ---- parsing ------------------------------------------------------------------ */

static int invalid(struct skiff_error **err, const char *path, const char *key,
		   const char *expected)
{
	return skiff_error_set(err, 0, "policy.invalid",
			       "the policy file %s: \"%s\" must be %s: fix it (see skiff(1), POLICY)",
			       path, key, expected);
}

/* "512m", "2g", "1048576": binary units, as --memory takes them. */
static int parse_size(const char *s, int64_t *out)
{
	char *end;
	double v;
	double mult = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !(v > 0))
		return -1;
	switch (*end) {
	case 'b': case 'B': end++; break;
	case 'k': case 'K': mult = 1024.0; end++; break;
	case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
	case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
	case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v * mult > (double)INT64_MAX || v * mult < 1)
		return -1;
	*out = (int64_t)(v * mult);
	return 0;
}

static int parse_strings(json_t *v, const char *path, const char *key, char ***out,
			 struct skiff_error **err)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return invalid(err, path, key, "an array of strings");
	*out = xzalloc((json_array_size(v) + 1) * sizeof(char *));
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0)
			return invalid(err, path, key, "an array of non-empty strings");
		(*out)[i] = xstrdup(json_string_value(e));
	}
	return 0;
}

/* GLOB[@sha256:HEX]: the pin, when there is one, must be a digest. */
static int check_image_glob(const char *glob, const char *path, struct skiff_error **err)
{
	const char *at = strrchr(glob, '@');

	if (at == NULL)
		return 0;
	if (at == glob || image_digest_parse(at + 1, "a pinned digest", NULL) < 0)
		return skiff_error_set(err, 0, "policy.invalid",
				       "the policy file %s: \"images\" entry \"%s\": after '@' "
				       "must come a digest sha256:<64 hex digits>, pinning a "
				       "name: fix it (see skiff(1), POLICY)", path, glob);
	return 0;
}

static int parse_bool(json_t *v, const char *path, const char *key, int *out,
		      struct skiff_error **err)
{
	if (!json_is_boolean(v))
		return invalid(err, path, key, "true or false");
	*out = json_is_true(v);
	return 0;
}

static int parse_positive(json_t *v, const char *path, const char *key, double *out,
			  struct skiff_error **err)
{
	if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e9)
		return invalid(err, path, key, "a positive number");
	*out = json_number_value(v);
	return 0;
}

static int parse_rule(const char *path, const char *key, json_t *v, struct job_policy_file *f,
		      struct skiff_error **err)
{
	if (strcmp(key, "images") == 0) {
		if (parse_strings(v, path, key, &f->images, err) < 0)
			return -1;
		for (char **g = f->images; *g; g++)
			if (check_image_glob(*g, path, err) < 0)
				return -1;
		return 0;
	}
	if (strcmp(key, "networks") == 0) {
		if (parse_strings(v, path, key, &f->networks, err) < 0)
			return -1;
		for (char **n = f->networks; *n; n++) {
			bool known = false;

			for (size_t i = 0; i < ARRAY_SIZE(network_modes); i++)
				known = known || strcmp(*n, network_modes[i]) == 0;
			if (!known)
				return skiff_error_set(err, 0, "policy.invalid",
						       "the policy file %s: \"networks\" entry \"%s\" "
						       "is no network mode (none, host, pasta, "
						       "slirp4netns, private, ns): fix it", path, *n);
		}
		return 0;
	}
	if (strcmp(key, "max_timeout") == 0)
		return parse_positive(v, path, key, &f->max_timeout, err);
	if (strcmp(key, "max_cpus") == 0)
		return parse_positive(v, path, key, &f->max_cpus, err);
	if (strcmp(key, "max_memory") == 0) {
		if (json_is_integer(v) && json_integer_value(v) > 0) {
			f->max_memory = json_integer_value(v);
			return 0;
		}
		if (json_is_string(v) && parse_size(json_string_value(v), &f->max_memory) == 0)
			return 0;
		return invalid(err, path, key, "a size: bytes, or a string such as \"512m\" or \"2g\"");
	}
	if (strcmp(key, "allow_volumes") == 0)
		return parse_bool(v, path, key, &f->allow_volumes, err);
	if (strcmp(key, "allow_cap_add") == 0)
		return parse_bool(v, path, key, &f->allow_cap_add, err);
	if (strcmp(key, "allow_seccomp_unconfined") == 0)
		return parse_bool(v, path, key, &f->allow_seccomp_unconfined, err);
	if (strcmp(key, "allow_seccomp_profile") == 0)
		return parse_bool(v, path, key, &f->allow_seccomp_profile, err);
	if (strcmp(key, "allow_new_privileges") == 0)
		return parse_bool(v, path, key, &f->allow_new_privileges, err);
	if (strcmp(key, "require_audit") == 0) {
		int b = 0;

		if (parse_bool(v, path, key, &b, err) < 0)
			return -1;
		f->require_audit = b;
		return 0;
	}
	return skiff_error_set(err, 0, "policy.invalid",
			       "the policy file %s: unknown key \"%s\" (known: images, max_timeout, "
			       "max_memory, max_cpus, networks, allow_volumes, allow_cap_add, "
			       "allow_seccomp_unconfined, allow_seccomp_profile, "
			       "allow_new_privileges, require_audit): fix or remove it", path, key);
}

int job_policy_parse(const char *path, const char *text, size_t len, struct job_policy_file *f,
		     struct skiff_error **err)
{
	_cleanup_json_ json_t *j = NULL;
	json_error_t je;
	const char *key;
	json_t *v;

	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->allow_volumes = f->allow_cap_add = f->allow_seccomp_unconfined = -1;
	f->allow_seccomp_profile = f->allow_new_privileges = -1;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return skiff_error_set(err, 0, "policy.invalid",
				       "the policy file %s is not valid JSON (line %d: %s): fix it",
				       path, je.line, je.text);
	if (!json_is_object(j))
		return skiff_error_set(err, 0, "policy.invalid",
				       "the policy file %s must hold one JSON object: fix it", path);
	json_object_foreach(j, key, v)
		if (parse_rule(path, key, v, f, err) < 0)
			return -1;
	return 0;
}

/* A missing default file is no policy; a file named by $SKIFF_POLICY must
 * be there (a typo in it must not drop the policy). */
static int load_file(struct job_policy *p, const char *path, bool named,
		     struct skiff_error **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_error_ struct skiff_error *e = NULL;
	struct job_policy_file f;
	size_t len;

	if (access(path, F_OK) < 0 && (errno == ENOENT || errno == ENOTDIR)) {
		if (named)
			return skiff_error_set(err, errno, "policy.invalid",
					       "SKIFF_POLICY names the policy file %s, which does "
					       "not exist: fix the name, or unset SKIFF_POLICY", path);
		return 0;
	}
	if (read_file_at(AT_FDCWD, path, 1 << 20, &text, &len, &e) < 0)
		return skiff_error_set(err, e->errnum, "policy.invalid",
				       "the policy file %s cannot be read (%s): a policy that "
				       "exists is never skipped; fix its permissions", path, e->msg);
	if (job_policy_parse(path, text, len, &f, err) < 0) {
		policy_file_clear(&f);
		return -1;
	}
	p->files = xrealloc(p->files, (p->n_files + 1) * sizeof(*p->files));
	p->files[p->n_files++] = f;
	return 0;
}

int job_policy_load(struct job_policy *p, struct skiff_error **err)
{
	const char *env = getenv("SKIFF_POLICY"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	_cleanup_free_ char *user = NULL;

	memset(p, 0, sizeof(*p));
	if (xdg != NULL && *xdg == '/')
		user = xasprintf("%s/skiff/policy.json", xdg);
	else if (home != NULL && *home == '/')
		user = xasprintf("%s/.config/skiff/policy.json", home);
	if (load_file(p, POLICY_SYSTEM_FILE, false, err) < 0 ||
	    (env != NULL && *env != '\0' && load_file(p, env, true, err) < 0) ||
	    (user != NULL && load_file(p, user, false, err) < 0)) {
		job_policy_clear(p);
		return -1;
	}
	return 0;
}

/* ---- decisions ------------------------------------------------------------------ */

static void decide(json_t *decisions, const char *rule, const char *file, const char *decision,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void decide(json_t *decisions, const char *rule, const char *file, const char *decision,
		   const char *fmt, ...)
{
	_cleanup_free_ char *detail = NULL;
	va_list ap;

	if (decisions == NULL)
		return;
	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(decisions, json_pack("{s:s, s:s, s:s, s:s}", "rule", rule,
						   "file", file, "decision", decision,
						   "detail", detail));
}

static int deny(struct skiff_error **err, json_t *decisions, const char *rule, const char *file,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int deny(struct skiff_error **err, json_t *decisions, const char *rule, const char *file,
		const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	decide(decisions, rule, file, "denied", "%s", what);
	return skiff_error_set(err, 0, "policy.denied",
			       "%s: denied by the rule \"%s\" of the policy file %s (change the "
			       "job, or ask the file's owner)", what, rule, file);
}

/* ---- options ------------------------------------------------------------------ */

static bool listed(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

static char *joined(char *const *v)
{
	size_t n = 1;
	char *s;

	for (char *const *p = v; p && *p; p++)
		n += strlen(*p) + 2;
	s = xzalloc(n);
	for (char *const *p = v; p && *p; p++) {
		if (p != v)
			strcat(s, ", ");
		strcat(s, *p);
	}
	return s;
}

static int check_allow(const struct job_policy_file *f, int allowed, const char *rule,
		       bool asked, const char *what, json_t *decisions, struct skiff_error **err)
{
	if (allowed < 0)
		return 0;
	if (asked && allowed == 0)
		return deny(err, decisions, rule, f->path, "%s is not allowed", what);
	if (asked)
		decide(decisions, rule, f->path, "allowed", "%s", what);
	return 0;
}

/* A maximum: a value above it is denied; no value gets the smallest one
 * (the caller applies it once every file is seen). */
static int check_max(const struct job_policy_file *f, double max, double asked, double *apply,
		     const char *rule, const char *opt, const char *unit, json_t *decisions,
		     struct skiff_error **err)
{
	if (max <= 0)
		return 0;
	if (asked > max)
		return deny(err, decisions, rule, f->path, "%s %.17g%s is over the maximum %.17g%s",
			    opt, asked, unit, max, unit);
	if (asked > 0) {
		decide(decisions, rule, f->path, "allowed", "%s %.17g%s, maximum %.17g%s", opt,
		       asked, unit, max, unit);
	} else if (*apply == 0 || max < *apply) {
		*apply = max;
	}
	return 0;
}

int job_policy_check_options(const struct job_policy *p, const struct job_options *o,
			     struct job_options *eff, json_t *decisions,
			     struct skiff_error **err)
{
	double timeout = 0, memory = 0, cpus = 0;
	const char *net = job_network_name(o->network);
	bool unconfined = o->seccomp != NULL && strcmp(o->seccomp, "unconfined") == 0;
	bool profile = o->seccomp != NULL && !unconfined;

	*eff = *o;
	for (size_t i = 0; i < p->n_files; i++) {
		const struct job_policy_file *f = &p->files[i];

		if (f->networks != NULL) {
			if (!listed(f->networks, net)) {
				_cleanup_free_ char *allowed = joined(f->networks);

				return deny(err, decisions, "networks", f->path,
					    "--network %s is not allowed (allowed: %s)", net,
					    allowed);
			}
			decide(decisions, "networks", f->path, "allowed", "--network %s", net);
		}
		if (check_allow(f, f->allow_volumes, "allow_volumes", o->volumes != NULL,
				"-v/--volume", decisions, err) < 0 ||
		    check_allow(f, f->allow_cap_add, "allow_cap_add", o->cap_add != NULL,
				"--cap-add", decisions, err) < 0 ||
		    check_allow(f, f->allow_seccomp_unconfined, "allow_seccomp_unconfined",
				unconfined, "--security-opt seccomp=unconfined", decisions,
				err) < 0 ||
		    check_allow(f, f->allow_seccomp_profile, "allow_seccomp_profile", profile,
				"--security-opt seccomp=FILE", decisions, err) < 0 ||
		    check_allow(f, f->allow_new_privileges, "allow_new_privileges",
				o->allow_new_privileges,
				"--security-opt no-new-privileges=false", decisions, err) < 0)
			return -1;
		if (check_max(f, f->max_timeout, o->timeout, &timeout, "max_timeout", "--timeout",
			      "s", decisions, err) < 0 ||
		    check_max(f, (double)f->max_memory, (double)o->memory, &memory, "max_memory",
			      "--memory", " bytes", decisions, err) < 0 ||
		    check_max(f, f->max_cpus, o->cpus, &cpus, "max_cpus", "--cpus", "", decisions,
			      err) < 0)
			return -1;
	}
	/* The tightest maximum, for a job that did not ask: a policy's
	 * maximum holds for every job. */
	for (size_t i = 0; i < p->n_files; i++) {
		const struct job_policy_file *f = &p->files[i];

		if (timeout > 0 && f->max_timeout == timeout) {
			eff->timeout = timeout;
			decide(decisions, "max_timeout", f->path, "applied", "--timeout %.17g", timeout);
			timeout = 0;
		}
		if (memory > 0 && (double)f->max_memory == memory) {
			eff->memory = f->max_memory;
			decide(decisions, "max_memory", f->path, "applied", "--memory %" PRId64,
			       f->max_memory);
			memory = 0;
		}
		if (cpus > 0 && f->max_cpus == cpus) {
			eff->cpus = cpus;
			decide(decisions, "max_cpus", f->path, "applied", "--cpus %.17g", cpus);
			cpus = 0;
		}
	}
	return 0;
}

/* ---- images ------------------------------------------------------------------ */

/* GLOB (without its pin) against SUBJECT: the whole of it, or, for a glob
 * that names no tag (no ':' after its last '/'), the subject's name
 * without its tag or digest: "docker.io/library/busybox" allows every
 * tag.  '*' also matches '/', as a scope does in containers-policy.json. */
static bool name_matches(const char *glob, size_t glob_len, const char *subject)
{
	_cleanup_free_ char *g = strndup(glob, glob_len);
	const char *slash = strrchr(g, '/');
	size_t n;

	if (fnmatch(g, subject, 0) == 0)
		return true;
	if (strchr(slash ? slash : g, ':') != NULL)
		return false;
	/* The subject's name: up to its tag (a ':' after its last '/') or digest. */
	{
		_cleanup_free_ char *name = xstrdup(subject);
		char *at = strchr(name, '@'), *last = strrchr(name, '/'), *colon;

		if (at != NULL)
			*at = '\0';
		last = strrchr(name, '/');
		colon = strrchr(last ? last : name, ':');
		if (colon != NULL)
			*colon = '\0';
		n = strlen(name);
		return n > 0 && fnmatch(g, name, 0) == 0;
	}
}

bool job_policy_image_matches(const char *glob, const char *subject, const char *digest)
{
	const char *at = strrchr(glob, '@');
	size_t n = at ? (size_t)(at - glob) : strlen(glob);

	if (!name_matches(glob, n, subject))
		return false;
	return at == NULL || digest == NULL || strcmp(at + 1, digest) == 0;
}

static bool is_image_id(const char *s)
{
	size_t n;

	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	n = strlen(s);
	return n >= 12 && n <= 64 && strspn(s, "0123456789abcdef") == n;
}

char *job_policy_image_subject(const char *image, const char *stored)
{
	struct image_source src;
	char *out;

	if (image_source_parse(image, &src, NULL) < 0)
		return xstrdup(stored ? stored : image);
	if (src.transport == IMAGE_TRANSPORT_DOCKER) {
		out = stored ? xstrdup(stored) : image_ref_string(&src.ref);
	} else {
		/* A local source is matched as its transport and absolute path:
		 * the name it is stored under comes from inside it. */
		_cleanup_free_ char *abs = realpath(src.path, NULL);
		const char *path = abs ? abs : src.path;

		out = src.local_ref ? xasprintf("%s:%s:%s", image_transport_name(src.transport), path,
						src.local_ref)
				    : xasprintf("%s:%s", image_transport_name(src.transport), path);
	}
	image_source_clear(&src);
	return out;
}

static int check_images(const struct job_policy *p, char *const *subjects, const char *digest,
			json_t *decisions, struct skiff_error **err)
{
	for (size_t i = 0; i < p->n_files; i++) {
		const struct job_policy_file *f = &p->files[i];
		const char *pinned = NULL, *glob = NULL;

		if (f->images == NULL)
			continue;
		for (char **g = f->images; *g && glob == NULL; g++)
			for (char *const *s = subjects; *s && glob == NULL; s++) {
				if (job_policy_image_matches(*g, *s, digest))
					glob = *g;
				else if (job_policy_image_matches(*g, *s, NULL))
					pinned = *g;
			}
		if (glob == NULL && pinned != NULL)
			return deny(err, decisions, "images", f->path,
				    "image %s has the manifest digest %s, not the one \"%s\" "
				    "pins", subjects[0], digest, pinned);
		if (glob == NULL) {
			_cleanup_free_ char *allowed = joined(f->images);

			return deny(err, decisions, "images", f->path,
				    "image %s is not allowed (allowed: %s)", subjects[0], allowed);
		}
		decide(decisions, "images", f->path, "allowed", "%s%s%s matches \"%s\"", subjects[0],
		       digest ? " " : "", digest ? digest : "", glob);
	}
	return 0;
}

int job_policy_check_reference(const struct job_policy *p, const char *image,
			       json_t *decisions, struct skiff_error **err)
{
	_cleanup_free_ char *subject = NULL, *local = NULL;
	char *subjects[3] = { NULL };
	struct image_ref ref;
	bool any = false;

	for (size_t i = 0; i < p->n_files; i++)
		any = any || p->files[i].images != NULL;
	/* An image id names no reference: only its stored name can tell. */
	if (!any || is_image_id(image))
		return 0;
	subject = job_policy_image_subject(image, NULL);
	subjects[0] = subject;
	/* A short name may be found as localhost/NAME (the store's rule). */
	if (image_ref_parse(image, &ref, NULL) == 0) {
		if (ref.short_name) {
			_cleanup_free_ char *l = xasprintf("localhost/%s", image);
			struct image_ref lref;

			if (image_ref_parse(l, &lref, NULL) == 0) {
				local = image_ref_string(&lref);
				image_ref_clear(&lref);
				subjects[1] = local;
			}
		}
		image_ref_clear(&ref);
	}
	/* Only a denial is recorded now: the check after resolution records
	 * what allowed the image. */
	{
		_cleanup_json_ json_t *scratch = json_array();

		if (check_images(p, subjects, NULL, scratch, err) == 0)
			return 0;
		if (decisions != NULL)
			json_array_extend(decisions, scratch);
		return -1;
	}
}

int job_policy_check_resolved(const struct job_policy *p, const char *subject,
			      const char *digest, json_t *decisions, struct skiff_error **err)
{
	char *subjects[2] = { (char *)subject, NULL };

	return check_images(p, subjects, digest, decisions, err);
}
