/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OCI runtime-spec model: config.json -> struct spec, validated so that
 * a bad bundle fails here, naming the JSON path, before anything is set up. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include "runtime/runtime-internal.h"
#include "runtime/spec-internal.h"

#define CONFIG_MAX (16u << 20)

/* ---- paths and errors ---------------------------------------------------- */

static size_t sp_append(struct spec_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static size_t sp_append(struct spec_parser *p, const char *fmt, ...)
{
	size_t mark = p->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p->path + p->len, sizeof(p->path) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len += (size_t)n;
	if (p->len >= sizeof(p->path))
		p->len = sizeof(p->path) - 1;
	return mark;
}

size_t sp_push_key(struct spec_parser *p, const char *key)
{
	return sp_append(p, "%s%s", p->len ? "." : "", key);
}

size_t sp_push_index(struct spec_parser *p, size_t i)
{
	return sp_append(p, "[%zu]", i);
}

static int sp_failv(struct spec_parser *p, const char *key, const char *fmt,
		    va_list ap) __attribute__((format(printf, 3, 0)));
static int sp_failv(struct spec_parser *p, const char *key, const char *fmt,
		    va_list ap)
{
	_cleanup_free_ char *msg = NULL;
	size_t mark = p->len;

	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	if (key != NULL)
		sp_push_key(p, key);
	if (p->len == 0)
		skiff_error_set(p->err, 0, "spec.invalid", "%s: %s", p->origin, msg);
	else
		skiff_error_set(p->err, 0, "spec.invalid", "%s: %s: %s", p->origin,
				p->path, msg);
	sp_pop(p, mark);
	return -1;
}

int sp_fail(struct spec_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sp_failv(p, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int sp_fail_key(struct spec_parser *p, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sp_failv(p, key, fmt, ap);
	va_end(ap);
	return -1;
}

int sp_fail_elem(struct spec_parser *p, const char *key, size_t index,
		 const char *fmt, ...)
{
	va_list ap;

	sp_push_key(p, key);
	sp_push_index(p, index);
	va_start(ap, fmt);
	sp_failv(p, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- integers beyond int64 ----------------------------------------------- */

/* The JSON text of SP_BIG_MARK, followed by the digits and a quote. */
#define BIG_MARK_JSON "\"\\u0000u64:"

static bool digits_above_int64(const char *s, size_t n)
{
	uint64_t v = 0;

	if (n < 19 || n > 20 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;   /* beyond uint64: leave it to jansson */
		v = v * 10 + d;
	}
	return v > INT64_MAX;
}

static void append(char *out, size_t *o, const char *s, size_t n)
{
	memcpy(out + *o, s, n);
	*o += n;
}

static json_t *load_json(const char *json, size_t len, json_error_t *jerr)
{
	_cleanup_free_ char *out = NULL;
	size_t o = 0, done = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = json[i], prev = i > 0 ? json[i - 1] : ' ';
		size_t start = i;

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		if (!isdigit((unsigned char)c))
			continue;
		while (i + 1 < len && isdigit((unsigned char)json[i + 1]))
			i++;
		/* Only whole, bare, non-negative integer literals. */
		if (isalnum((unsigned char)prev) || strchr("-+._", prev) != NULL ||
		    (i + 1 < len && strchr(".eE", json[i + 1]) != NULL) ||
		    !digits_above_int64(json + start, i + 1 - start))
			continue;
		/* Each literal has 19 digits or more and grows by 12 bytes. */
		if (out == NULL)
			out = xmalloc(2 * len);
		append(out, &o, json + done, start - done);
		append(out, &o, BIG_MARK_JSON, strlen(BIG_MARK_JSON));
		append(out, &o, json + start, i + 1 - start);
		append(out, &o, "\"", 1);
		done = i + 1;
	}
	if (out == NULL)
		return json_loadb(json, len, JSON_ALLOW_NUL, jerr);
	append(out, &o, json + done, len - done);
	return json_loadb(out, o, JSON_ALLOW_NUL, jerr);
}

/* ---- ociVersion ---------------------------------------------------------- */

static bool scan_number(const char **s)
{
	if (!isdigit((unsigned char)**s))
		return false;
	while (isdigit((unsigned char)**s))
		(*s)++;
	return true;
}

/* Any 1.MINOR.PATCH with an optional pre-release or build suffix
 * ("1.0.2-dev", "1.1.0+dev"): minor versions only add fields, which we
 * either read or may ignore, as runc and crun do. */
static bool version_supported(const char *v)
{
	const char *s = v;

	if (strncmp(s, "1.", 2) != 0)
		return false;
	s += 2;
	if (!scan_number(&s) || *s++ != '.' || !scan_number(&s))
		return false;
	if (*s == '\0')
		return true;
	if ((*s != '-' && *s != '+') || s[1] == '\0')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr(".-+", *s) == NULL)
			return false;
	return true;
}

/* ---- process ------------------------------------------------------------- */

static const struct { const char *name; int resource; } rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimit(struct spec_parser *p, json_t *o, struct spec_rlimit *r)
{
	size_t i;

	if (!json_is_object(o))
		return sp_fail_type(p, NULL, o, "an object");
	if (sp_string(p, o, "type", true, &r->type) < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (strcmp(r->type, rlimit_names[i].name) == 0)
			break;
	if (i == ARRAY_SIZE(rlimit_names))
		return sp_fail_key(p, "type", "unknown resource limit \"%s\"", r->type);
	r->resource = rlimit_names[i].resource;
	if (sp_u64(p, o, "soft", true, NULL, &r->soft) < 0 ||
	    sp_u64(p, o, "hard", true, NULL, &r->hard) < 0)
		return -1;
	if (r->soft > r->hard)
		return sp_fail(p, "the soft limit %" PRIu64 " is above the hard limit %" PRIu64,
			       r->soft, r->hard);
	return 0;
}

static int parse_rlimits(struct spec_parser *p, json_t *proc, struct spec_process *pr)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, proc, "rlimits", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	pr->rlimits = xzalloc((json_array_size(a) + 1) * sizeof(*pr->rlimits));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		pr->n_rlimits = i + 1;
		if (parse_rlimit(p, e, &pr->rlimits[i]) < 0)
			return -1;
		/* runtime-spec: duplicated types MUST be an error. */
		for (size_t j = 0; j < i; j++)
			if (pr->rlimits[j].resource == pr->rlimits[i].resource)
				return sp_fail(p, "%s is already set by rlimits[%zu]",
					       pr->rlimits[i].type, j);
	}
	sp_pop(p, mark);
	return 0;
}

static int check_capabilities(struct spec_parser *p, const char *key, char **names)
{
	/* The whole name, in capitals ("CAP_CHOWN1" is not CAP_CHOWN). */
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		if (capability_from_name(names[i]) < 0)
			return sp_fail_elem(p, key, i, "unknown capability \"%s\"", names[i]);
	return 0;
}

static int parse_capabilities(struct spec_parser *p, json_t *proc,
			      struct spec_process *pr)
{
	struct spec_caps *c;
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, proc, "capabilities", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	c = pr->capabilities = xzalloc(sizeof(*c));
	if (sp_strv(p, o, "bounding", false, &c->bounding, &c->n_bounding) < 0 ||
	    sp_strv(p, o, "effective", false, &c->effective, &c->n_effective) < 0 ||
	    sp_strv(p, o, "inheritable", false, &c->inheritable, &c->n_inheritable) < 0 ||
	    sp_strv(p, o, "permitted", false, &c->permitted, &c->n_permitted) < 0 ||
	    sp_strv(p, o, "ambient", false, &c->ambient, &c->n_ambient) < 0 ||
	    check_capabilities(p, "bounding", c->bounding) < 0 ||
	    check_capabilities(p, "effective", c->effective) < 0 ||
	    check_capabilities(p, "inheritable", c->inheritable) < 0 ||
	    check_capabilities(p, "permitted", c->permitted) < 0 ||
	    check_capabilities(p, "ambient", c->ambient) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

static int parse_user(struct spec_parser *p, json_t *proc, struct spec_user *u)
{
	json_t *o, *a, *e;
	size_t i, mark;
	int64_t v = 0;
	int rc;

	rc = sp_enter(p, proc, "user", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	if (sp_u32(p, o, "uid", false, NULL, &u->uid) < 0 ||
	    sp_u32(p, o, "gid", false, NULL, &u->gid) < 0 ||
	    sp_u32(p, o, "umask", false, &u->has_umask, &u->umask) < 0 ||
	    sp_string(p, o, "username", false, &u->username) < 0 ||
	    sp_array(p, o, "additionalGids", false, &a) < 0)
		return -1;
	if (a != NULL) {
		u->additional_gids = xzalloc((json_array_size(a) + 1) * sizeof(uint32_t));
		sp_push_key(p, "additionalGids");
		SP_FOREACH_ELEMENT(p, a, i, e, m) {
			if (sp_value_int(p, e, 0, UINT32_MAX, &v) < 0)
				return -1;
			u->additional_gids[i] = (uint32_t)v;
		}
		u->n_additional_gids = json_array_size(a);
	}
	sp_pop(p, mark);
	return 0;
}

static int check_env(struct spec_parser *p, struct spec_process *pr)
{
	for (size_t i = 0; i < pr->n_env; i++) {
		const char *eq = strchr(pr->env[i], '=');

		/* As runc: an entry without '=' or name is a mistake worth
		 * reporting, not something to pass on silently. */
		if (eq == NULL || eq == pr->env[i])
			return sp_fail_elem(p, "env", i, "\"%s\" is not of the form NAME=VALUE",
					    pr->env[i]);
	}
	return 0;
}

static int parse_process_fields(struct spec_parser *p, json_t *o, struct spec_process *pr)
{
	json_t *cs;
	int64_t v = 0;

	if (sp_bool(p, o, "terminal", &pr->terminal) < 0 ||
	    sp_object(p, o, "consoleSize", false, &cs) < 0)
		return -1;
	if (cs != NULL) {
		size_t mark = sp_push_key(p, "consoleSize");

		if (sp_u32(p, cs, "height", true, NULL, &pr->console_size.height) < 0 ||
		    sp_u32(p, cs, "width", true, NULL, &pr->console_size.width) < 0)
			return -1;
		sp_pop(p, mark);
		pr->has_console_size = true;
	}
	if (parse_user(p, o, &pr->user) < 0 ||
	    sp_string(p, o, "commandLine", false, &pr->command_line) < 0)
		return -1;
	if (sp_member(o, "args") == NULL && pr->command_line != NULL)
		return sp_fail_key(p, "args", "missing: commandLine is for Windows only; "
				   "give the command as an array of strings");
	if (sp_strv(p, o, "args", true, &pr->args, &pr->n_args) < 0)
		return -1;
	if (pr->n_args == 0)
		return sp_fail_key(p, "args", "expected a non-empty array of strings");
	if (sp_strv(p, o, "env", false, &pr->env, &pr->n_env) < 0 || check_env(p, pr) < 0 ||
	    sp_string(p, o, "cwd", true, &pr->cwd) < 0 || sp_absolute(p, "cwd", pr->cwd) < 0 ||
	    parse_capabilities(p, o, pr) < 0 || parse_rlimits(p, o, pr) < 0 ||
	    sp_bool(p, o, "noNewPrivileges", &pr->no_new_privileges) < 0 ||
	    sp_string(p, o, "apparmorProfile", false, &pr->apparmor_profile) < 0 ||
	    sp_string(p, o, "selinuxLabel", false, &pr->selinux_label) < 0 ||
	    sp_int(p, o, "oomScoreAdj", false, -1000, 1000, &pr->has_oom_score_adj, &v) < 0)
		return -1;
	pr->oom_score_adj = (int)v;
	return 0;
}

static int parse_process(struct spec_parser *p, json_t *root, struct spec *s)
{
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, root, "process", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	s->process = xzalloc(sizeof(*s->process));
	if (parse_process_fields(p, o, s->process) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

/* ---- hooks --------------------------------------------------------------- */

static int parse_hook_list(struct spec_parser *p, json_t *hooks, const char *key,
			   struct spec_hook **out, size_t *n)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, hooks, key, JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	*out = xzalloc((json_array_size(a) + 1) * sizeof(**out));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		struct spec_hook *h = &(*out)[i];
		int64_t t = 0;

		*n = i + 1;
		if (!json_is_object(e))
			return sp_fail_type(p, NULL, e, "an object");
		/* runtime-spec extends execv(3): path MUST be absolute. */
		if (sp_string(p, e, "path", true, &h->path) < 0 ||
		    sp_absolute(p, "path", h->path) < 0 ||
		    sp_strv(p, e, "args", false, &h->args, NULL) < 0 ||
		    sp_strv(p, e, "env", false, &h->env, NULL) < 0 ||
		    sp_int(p, e, "timeout", false, 1, INT_MAX, &h->has_timeout, &t) < 0)
			return -1;
		h->timeout = (int)t;
	}
	sp_pop(p, mark);
	return 0;
}

static int parse_hooks(struct spec_parser *p, json_t *root, struct spec *s)
{
	struct spec_hooks *h;
	json_t *o;
	size_t mark;
	int rc;

	rc = sp_enter(p, root, "hooks", JSON_OBJECT, &o, &mark);
	if (rc <= 0)
		return rc;
	h = s->hooks = xzalloc(sizeof(*h));
	if (parse_hook_list(p, o, "prestart", &h->prestart, &h->n_prestart) < 0 ||
	    parse_hook_list(p, o, "createRuntime", &h->create_runtime, &h->n_create_runtime) < 0 ||
	    parse_hook_list(p, o, "createContainer", &h->create_container,
			    &h->n_create_container) < 0 ||
	    parse_hook_list(p, o, "startContainer", &h->start_container,
			    &h->n_start_container) < 0 ||
	    parse_hook_list(p, o, "poststart", &h->poststart, &h->n_poststart) < 0 ||
	    parse_hook_list(p, o, "poststop", &h->poststop, &h->n_poststop) < 0)
		return -1;
	sp_pop(p, mark);
	return 0;
}

/* ---- the whole document -------------------------------------------------- */

static int parse_root(struct spec_parser *p, json_t *root, struct spec *s)
{
	json_t *o;
	size_t mark;

	if (sp_object(p, root, "root", true, &o) < 0)
		return -1;
	mark = sp_push_key(p, "root");
	if (sp_string(p, o, "path", true, &s->root.path) < 0 ||
	    sp_bool(p, o, "readonly", &s->root.readonly) < 0)
		return -1;
	if (s->root.path[0] == '\0')
		return sp_fail_key(p, "path", "expected a non-empty path");
	sp_pop(p, mark);
	return 0;
}

static int check_cross_fields(struct spec_parser *p, const struct spec *s)
{
	/* config.md: annotation keys MUST NOT be empty. */
	for (size_t i = 0; i < s->n_annotations; i++)
		if (s->annotations[i].key[0] == '\0')
			return sp_fail_key(p, "annotations", "a key is empty (keys are "
					   "non-empty strings, such as \"com.example.key\")");
	/* The kernel would change the host's names otherwise. */
	if (s->hostname != NULL && s->hostname[0] != '\0' &&
	    spec_namespace(s, SPEC_NS_UTS) == NULL)
		return sp_fail_key(p, "hostname", "setting a hostname needs a uts namespace "
				   "(add {\"type\": \"uts\"} to linux.namespaces)");
	if (s->domainname != NULL && s->domainname[0] != '\0' &&
	    spec_namespace(s, SPEC_NS_UTS) == NULL)
		return sp_fail_key(p, "domainname", "setting a domainname needs a uts namespace "
				   "(add {\"type\": \"uts\"} to linux.namespaces)");
	return 0;
}

static int parse_document(struct spec_parser *p, json_t *root, struct spec *s)
{
	if (sp_string(p, root, "ociVersion", true, &s->oci_version) < 0)
		return -1;
	if (!version_supported(s->oci_version))
		return skiff_error_set(p->err, 0, "spec.version",
				       "%s: ociVersion: unsupported version \"%s\": skiff reads "
				       "runtime-spec 1.x, such as \"1.0.2\" or \"1.2.0\"",
				       p->origin, s->oci_version);
	if (parse_root(p, root, s) < 0 || parse_process(p, root, s) < 0 ||
	    sp_string(p, root, "hostname", false, &s->hostname) < 0 ||
	    sp_string(p, root, "domainname", false, &s->domainname) < 0 ||
	    spec_parse_mounts(p, root, s) < 0 || parse_hooks(p, root, s) < 0 ||
	    sp_kv(p, root, "annotations", &s->annotations, &s->n_annotations) < 0 ||
	    spec_parse_linux(p, root, s) < 0)
		return -1;
	return check_cross_fields(p, s);
}

/* The top-level object of a document, or NULL with the error set: line and
 * column when the JSON is malformed, the expected type otherwise. */
static json_t *load_object(struct spec_parser *p, const char *json, size_t len,
			   const char *expected)
{
	json_error_t jerr;
	json_t *root = load_json(json, len, &jerr);

	if (root == NULL) {
		skiff_error_set(p->err, 0, "spec.parse",
				"%s: malformed JSON at line %d, column %d: %s",
				p->origin, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		sp_fail_type(p, NULL, root, expected);
		json_decref(root);
		return NULL;
	}
	return root;
}

int spec_parse(const char *json, size_t len, const char *origin,
	       struct spec **out, struct skiff_error **err)
{
	struct skiff_error *local = NULL;
	struct spec_parser p = { .origin = origin ? origin : "config.json",
				 .err = err != NULL ? err : &local };
	_cleanup_spec_ struct spec *s = NULL;
	json_t *root = load_object(&p, json, len, "a JSON object");
	int rc = -1;

	if (root != NULL) {
		s = xzalloc(sizeof(*s));
		rc = parse_document(&p, root, s);
	}
	json_decref(root);
	skiff_error_free(local);
	if (rc < 0)
		return -1;
	*out = steal_pointer(&s);
	return 0;
}

int spec_parse_object(json_t *root, const char *origin, struct spec **out,
		      struct skiff_error **err)
{
	struct skiff_error *local = NULL;
	struct spec_parser p = { .origin = origin ? origin : "config.json",
				 .err = err != NULL ? err : &local };
	_cleanup_spec_ struct spec *s = NULL;
	int rc = -1;

	if (!json_is_object(root)) {
		sp_fail_type(&p, NULL, root, "a JSON object");
	} else {
		s = xzalloc(sizeof(*s));
		rc = parse_document(&p, root, s);
	}
	skiff_error_free(local);
	if (rc < 0)
		return -1;
	*out = steal_pointer(&s);
	return 0;
}

int spec_resources_parse(const char *json, size_t len, const char *origin,
			 struct spec_resources **out, struct skiff_error **err)
{
	struct skiff_error *local = NULL;
	struct spec_parser p = { .origin = origin ? origin : "resources",
				 .err = err != NULL ? err : &local };
	struct spec_linux l = { 0 };
	json_t *root = load_object(&p, json, len, "a LinuxResources JSON object");
	json_t *wrap = NULL;
	int rc = -1;

	if (root != NULL) {
		/* The parser reads "resources" of a linux object. */
		wrap = json_pack("{s:O}", "resources", root);
		rc = spec_parse_resources(&p, wrap, &l);
	}
	json_decref(wrap);
	json_decref(root);
	skiff_error_free(local);
	if (rc < 0) {
		spec_resources_free(l.resources);
		return -1;
	}
	*out = l.resources != NULL ? l.resources : xzalloc(sizeof(struct spec_resources));
	return 0;
}

static void process_free(struct spec_process *pr);

int spec_process_parse(const char *json, size_t len, const char *origin,
		       struct spec_process **out, struct skiff_error **err)
{
	struct skiff_error *local = NULL;
	struct spec_parser p = { .origin = origin ? origin : "process",
				 .err = err != NULL ? err : &local };
	json_t *root = load_object(&p, json, len, "a JSON object (a process)");
	struct spec_process *pr = NULL;
	int rc = -1;

	if (root != NULL) {
		pr = xzalloc(sizeof(*pr));
		rc = parse_process_fields(&p, root, pr);
	}
	json_decref(root);
	skiff_error_free(local);
	if (rc < 0) {
		process_free(pr);
		return -1;
	}
	*out = pr;
	return 0;
}

int spec_load(const char *bundle, struct spec **out, struct skiff_error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, path, CONFIG_MAX, &text, &len, err) < 0)
		return -1;
	return spec_parse(text, len, path, out, err);
}

/* ---- freeing ------------------------------------------------------------- */

static void process_free(struct spec_process *pr)
{
	if (pr == NULL)
		return;
	strv_free(pr->args);
	strv_free(pr->env);
	free(pr->command_line);
	free(pr->cwd);
	if (pr->capabilities != NULL) {
		strv_free(pr->capabilities->bounding);
		strv_free(pr->capabilities->effective);
		strv_free(pr->capabilities->inheritable);
		strv_free(pr->capabilities->permitted);
		strv_free(pr->capabilities->ambient);
		free(pr->capabilities);
	}
	for (size_t i = 0; i < pr->n_rlimits; i++)
		free(pr->rlimits[i].type);
	free(pr->rlimits);
	free(pr->user.additional_gids);
	free(pr->user.username);
	free(pr->apparmor_profile);
	free(pr->selinux_label);
	free(pr);
}

void spec_process_free(struct spec_process *p)
{
	process_free(p);
}

static void hook_list_free(struct spec_hook *h, size_t n)
{
	for (size_t i = 0; h != NULL && i < n; i++) {
		free(h[i].path);
		strv_free(h[i].args);
		strv_free(h[i].env);
	}
	free(h);
}

static void hooks_free(struct spec_hooks *h)
{
	if (h == NULL)
		return;
	hook_list_free(h->prestart, h->n_prestart);
	hook_list_free(h->create_runtime, h->n_create_runtime);
	hook_list_free(h->create_container, h->n_create_container);
	hook_list_free(h->start_container, h->n_start_container);
	hook_list_free(h->poststart, h->n_poststart);
	hook_list_free(h->poststop, h->n_poststop);
	free(h);
}

void spec_free(struct spec *s)
{
	if (s == NULL)
		return;
	free(s->oci_version);
	free(s->root.path);
	process_free(s->process);
	free(s->hostname);
	free(s->domainname);
	spec_mounts_free(s->mounts, s->n_mounts);
	hooks_free(s->hooks);
	spec_kv_free(s->annotations, s->n_annotations);
	spec_linux_free(s->linux_);
	spec_root_overlay_free(s->root_overlay);
	free(s);
}

void spec_root_overlay_free(struct spec_root_overlay *o)
{
	if (o == NULL)
		return;
	strv_free(o->lower);
	free(o->upper);
	free(o->work);
	free(o->tmpfs_size);
	free(o->tmpfs_dir);
	for (size_t i = 0; i < o->n_top; i++) {
		free(o->top[i].path);
		free(o->top[i].content);
	}
	free(o->top);
	free(o);
}

/* ---- queries ------------------------------------------------------------- */

const struct spec_namespace *spec_namespace(const struct spec *s, enum spec_ns_type t)
{
	if (s == NULL || s->linux_ == NULL)
		return NULL;
	for (size_t i = 0; i < s->linux_->n_namespaces; i++)
		if (s->linux_->namespaces[i].type == t)
			return &s->linux_->namespaces[i];
	return NULL;
}

const char *spec_ns_type_name(enum spec_ns_type t)
{
	static const char *const names[SPEC_NS__COUNT] = {
		[SPEC_NS_PID] = "pid", [SPEC_NS_NETWORK] = "network",
		[SPEC_NS_MOUNT] = "mount", [SPEC_NS_IPC] = "ipc",
		[SPEC_NS_UTS] = "uts", [SPEC_NS_USER] = "user",
		[SPEC_NS_CGROUP] = "cgroup", [SPEC_NS_TIME] = "time",
	};

	return (unsigned)t < SPEC_NS__COUNT ? names[t] : "unknown";
}

bool spec_wants_cgroup_limits(const struct spec *s)
{
	const struct spec_resources *r;

	if (s == NULL || s->linux_ == NULL || s->linux_->resources == NULL)
		return false;
	r = s->linux_->resources;
	return r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap ||
	       r->has_memory_kernel || r->has_memory_kernel_tcp ||
	       r->has_memory_swappiness || r->has_memory_disable_oom_killer ||
	       r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_burst ||
	       r->has_cpu_period || r->has_cpu_realtime_runtime ||
	       r->has_cpu_realtime_period || r->has_cpu_idle ||
	       (r->cpu_cpus != NULL && r->cpu_cpus[0] != '\0') ||
	       (r->cpu_mems != NULL && r->cpu_mems[0] != '\0') ||
	       r->has_pids_limit || r->has_blkio_weight || r->has_blkio_leaf_weight ||
	       r->n_blkio_weight_device > 0 || r->n_throttle_read_bps > 0 ||
	       r->n_throttle_write_bps > 0 || r->n_throttle_read_iops > 0 ||
	       r->n_throttle_write_iops > 0 || r->n_hugepage_limits > 0 ||
	       r->has_network_class_id || r->n_network_priorities > 0 ||
	       r->n_rdma > 0 || r->n_unified > 0;
}
