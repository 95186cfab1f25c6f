/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the spec parser files only (spec.c, spec_mount.c,
 * spec_linux.c): the JSON path of the member being read, and typed getters
 * that fail with that path. */
#ifndef SKIFF_SPEC_INTERNAL_H
#define SKIFF_SPEC_INTERNAL_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <skiff/runtime.h>
#include <skiff/util.h>

/* The parse in progress: where errors go and the JSON path being read, so
 * that every message can name it ("linux.uidMappings[0].size"). */
struct spec_parser {
	const char *origin;
	struct skiff_error **err;
	size_t len;
	char path[512];
};

/* Path steps: each push returns a mark that sp_pop() goes back to.  A
 * failing parse stops at once, so error paths need not pop. */
size_t sp_push_key(struct spec_parser *p, const char *key);
size_t sp_push_index(struct spec_parser *p, size_t i);
static inline void sp_pop(struct spec_parser *p, size_t mark)
{
	p->len = mark;
	p->path[mark] = '\0';
}

/* Loops over the elements of a JSON array with "[i]" pushed on the path;
 * the body may return on error (the path then does not matter any more). */
#define SP_FOREACH_ELEMENT(p, arr, i, e, m) \
	json_array_foreach(arr, i, e) \
		for (size_t m = sp_push_index(p, i), m##_once = 1; m##_once; \
		     m##_once = 0, sp_pop(p, m))

/* "spec.invalid" with "ORIGIN: PATH: MESSAGE"; returns -1. */
int sp_fail(struct spec_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same, with key appended to the path for this message only. */
int sp_fail_key(struct spec_parser *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, at key[index]. */
int sp_fail_elem(struct spec_parser *p, const char *key, size_t index,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- typed getters ---------------------------------------------------------
 * sp_TYPE(p, obj, key, required, …) reads obj[key].  A missing member and
 * JSON null both count as absent (Go's decoder, and so runc, read null as
 * the zero value): the getter then leaves *out alone and returns 0, unless
 * required.  A wrong type fails with the member's path. */

/* jansson stores integers as long long and refuses larger ones, but uint64
 * fields legitimately carry 18446744073709551615 (RLIM_INFINITY in rlimits,
 * masks in seccomp args).  Such literals are rewritten, before parsing, to
 * strings starting with a NUL byte that no real string may contain (the
 * string getters refuse embedded NULs), and the uint64 getters read them. */
#define SP_BIG_MARK "\0u64:"
#define SP_BIG_MARK_LEN 5

static inline bool sp_big_mark(json_t *v, uint64_t *out)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	uint64_t n = 0;

	if (s == NULL || len <= SP_BIG_MARK_LEN || memcmp(s, SP_BIG_MARK, SP_BIG_MARK_LEN) != 0)
		return false;
	for (size_t i = SP_BIG_MARK_LEN; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*out = n;
	return true;
}

/* A short rendering of what was found instead, for "(got …)". */
static inline const char *sp_describe(json_t *v, char *buf, size_t size)
{
	uint64_t big;

	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, size, "%g", json_real_value(v));
		return buf;
	case JSON_STRING:
		if (sp_big_mark(v, &big))
			snprintf(buf, size, "%" PRIu64, big);
		else
			snprintf(buf, size, "\"%.32s%s\"", json_string_value(v),
				 json_string_length(v) > 32 ? "..." : "");
		return buf;
	}
	return "?";
}

static inline int sp_fail_type(struct spec_parser *p, const char *key, json_t *v,
			       const char *expected)
{
	char buf[64];

	return sp_fail_key(p, key, "expected %s (got %s)", expected,
			   sp_describe(v, buf, sizeof(buf)));
}

static inline json_t *sp_member(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static inline json_t *sp_get(struct spec_parser *p, json_t *obj, const char *key,
			     bool required, const char *expected, int *rc)
{
	json_t *v = sp_member(obj, key);

	*rc = 0;
	if (v == NULL && required)
		*rc = sp_fail_key(p, key, "missing (expected %s)", expected);
	return v;
}

static inline bool sp_plain_string(json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static inline int sp_string(struct spec_parser *p, json_t *obj, const char *key,
			    bool required, char **out)
{
	int rc;
	json_t *v = sp_get(p, obj, key, required, "a string", &rc);

	if (v == NULL)
		return rc;
	if (json_is_string(v) && !sp_plain_string(v) && !sp_big_mark(v, &(uint64_t){0}))
		return sp_fail_key(p, key, "expected a string without NUL characters");
	if (!sp_plain_string(v))
		return sp_fail_type(p, key, v, "a string");
	free(*out);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static inline int sp_bool(struct spec_parser *p, json_t *obj, const char *key, bool *out)
{
	json_t *v = sp_member(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return sp_fail_type(p, key, v, "true or false");
	*out = json_is_true(v);
	return 0;
}

static inline int sp_fail_range(struct spec_parser *p, json_t *v, int64_t min, int64_t max,
				bool below)
{
	if (below && min == 1)
		return sp_fail_type(p, NULL, v, "a positive integer");
	if (below && min == 0)
		return sp_fail_type(p, NULL, v, "a non-negative integer");
	{
		char what[96];

		snprintf(what, sizeof(what), "an integer from %" PRId64 " to %" PRId64,
			 min, max);
		return sp_fail_type(p, NULL, v, what);
	}
}

static inline int sp_value_int(struct spec_parser *p, json_t *v, int64_t min, int64_t max,
			       int64_t *out)
{
	int64_t n;

	if (!json_is_integer(v))
		return sp_fail_range(p, v, min, max, true);
	n = json_integer_value(v);
	if (n < min || n > max)
		return sp_fail_range(p, v, min, max, n < min);
	*out = n;
	return 0;
}

static inline int sp_value_u64(struct spec_parser *p, json_t *v, uint64_t *out)
{
	if (sp_big_mark(v, out))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return sp_fail_type(p, NULL, v, "a non-negative integer");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static inline int sp_int(struct spec_parser *p, json_t *obj, const char *key, bool required,
			 int64_t min, int64_t max, bool *has, int64_t *out)
{
	int rc;
	json_t *v = sp_get(p, obj, key, required, "an integer", &rc);
	size_t mark;

	if (v == NULL)
		return rc;
	mark = sp_push_key(p, key);
	rc = sp_value_int(p, v, min, max, out);
	sp_pop(p, mark);
	if (rc == 0 && has != NULL)
		*has = true;
	return rc;
}

static inline int sp_u32(struct spec_parser *p, json_t *obj, const char *key, bool required,
			 bool *has, uint32_t *out)
{
	bool had = false;
	int64_t v = 0;

	if (sp_int(p, obj, key, required, 0, UINT32_MAX, &had, &v) < 0)
		return -1;
	if (had) {
		*out = (uint32_t)v;
		if (has != NULL)
			*has = true;
	}
	return 0;
}

static inline int sp_u64(struct spec_parser *p, json_t *obj, const char *key, bool required,
			 bool *has, uint64_t *out)
{
	int rc;
	json_t *v = sp_get(p, obj, key, required, "an integer", &rc);
	size_t mark;

	if (v == NULL)
		return rc;
	mark = sp_push_key(p, key);
	rc = sp_value_u64(p, v, out);
	sp_pop(p, mark);
	if (rc == 0 && has != NULL)
		*has = true;
	return rc;
}

static inline int sp_object(struct spec_parser *p, json_t *obj, const char *key,
			    bool required, json_t **out)
{
	int rc;
	json_t *v = sp_get(p, obj, key, required, "an object", &rc);

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_object(v))
		return sp_fail_type(p, key, v, "an object");
	*out = v;
	return 0;
}

static inline int sp_array(struct spec_parser *p, json_t *obj, const char *key,
			   bool required, json_t **out)
{
	int rc;
	json_t *v = sp_get(p, obj, key, required, "an array", &rc);

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_array(v))
		return sp_fail_type(p, key, v, "an array");
	*out = v;
	return 0;
}

/* Reads obj[key] as an optional object or array (type) and, when present,
 * pushes key on the path, *mark being where to pop back to.  Returns -1 on
 * error, 0 when absent, 1 when present. */
static inline int sp_enter(struct spec_parser *p, json_t *obj, const char *key,
			   json_type type, json_t **out, size_t *mark)
{
	int rc = type == JSON_OBJECT ? sp_object(p, obj, key, false, out)
				     : sp_array(p, obj, key, false, out);

	*mark = p->len;
	if (rc < 0 || *out == NULL)
		return rc;
	sp_push_key(p, key);
	return 1;
}

static inline int sp_strv(struct spec_parser *p, json_t *obj, const char *key,
			  bool required, char ***out, size_t *n)
{
	_cleanup_strv_ char **v = NULL;
	json_t *a, *e;
	size_t i, mark;

	if (sp_array(p, obj, key, required, &a) < 0)
		return -1;
	if (a == NULL)
		return 0;
	v = xzalloc((json_array_size(a) + 1) * sizeof(*v));
	mark = sp_push_key(p, key);
	json_array_foreach(a, i, e) {
		if (!sp_plain_string(e)) {
			sp_push_index(p, i);
			return sp_fail_type(p, NULL, e, "a string");
		}
		v[i] = xstrdup(json_string_value(e));
	}
	sp_pop(p, mark);
	strv_free(*out);
	*out = steal_pointer(&v);
	if (n != NULL)
		*n = json_array_size(a);
	return 0;
}

static inline void spec_kv_free(struct spec_kv *kv, size_t n)
{
	for (size_t i = 0; kv != NULL && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static inline int sp_kv(struct spec_parser *p, json_t *obj, const char *key,
			struct spec_kv **out, size_t *n)
{
	struct spec_kv *kv;
	json_t *o, *v;
	const char *k;
	size_t klen, i = 0, mark;

	if (sp_object(p, obj, key, false, &o) < 0)
		return -1;
	if (o == NULL)
		return 0;
	kv = xzalloc((json_object_size(o) + 1) * sizeof(*kv));
	mark = sp_push_key(p, key);
	json_object_keylen_foreach(o, k, klen, v) {
		if (strlen(k) != klen || !sp_plain_string(v)) {
			if (strlen(k) != klen)
				sp_fail(p, "a key contains a NUL character");
			else
				sp_fail_type(p, k, v, "a string");
			spec_kv_free(kv, i);
			return -1;
		}
		kv[i].key = xstrdup(k);
		kv[i].value = xstrdup(json_string_value(v));
		i++;
	}
	sp_pop(p, mark);
	*out = kv;
	*n = i;
	return 0;
}

static inline int sp_absolute(struct spec_parser *p, const char *key, const char *s)
{
	if (s[0] != '/')
		return sp_fail_key(p, key, "\"%s\" is not an absolute path", s);
	return 0;
}

/* ---- spec_mount.c ---------------------------------------------------------- */
int spec_parse_mounts(struct spec_parser *p, json_t *root, struct spec *s);
void spec_mounts_free(struct spec_mount *m, size_t n);
/* MS_* propagation of "rprivate", "shared" …; -1 for an unknown name. */
int spec_propagation_flags(const char *name, unsigned long *out);

/* The names the parser accepts (NULL-terminated), for the features
 * document: linux.seccomp's actions, ops, architectures and flags; and the
 * mount options that have an effect (idmap, ridmap and tmpcopyup are
 * recognized but not applied yet, so not listed). */
enum spec_seccomp_names { SPEC_SECCOMP_ACTIONS, SPEC_SECCOMP_OPS, SPEC_SECCOMP_ARCHS,
			  SPEC_SECCOMP_FLAGS };
const char *const *spec_seccomp_names(enum spec_seccomp_names which);
/* The i-th such mount option, or NULL past the last. */
const char *spec_mount_option_name(size_t i);

/* ---- spec_linux.c ---------------------------------------------------------- */
int spec_parse_linux(struct spec_parser *p, json_t *root, struct spec *s);
void spec_linux_free(struct spec_linux *l);
int spec_parse_id_mappings(struct spec_parser *p, json_t *obj, const char *key,
			   struct spec_id_mapping **out, size_t *n);
/* lx.resources -> l->resources (also for `update --resources`). */
int spec_parse_resources(struct spec_parser *p, json_t *lx, struct spec_linux *l);

#endif
