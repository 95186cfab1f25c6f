/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --json result: one object, the fields workflow engines read from a
 * Docker run (exit code, streams, duration), plus how the job ended. */
#include <string.h>

#include "job/job-internal.h"

/* JSON strings are UTF-8: a byte that is not part of a valid sequence
 * becomes U+FFFD, so that binary output cannot break the document. */
static json_t *utf8_string(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *out, *w;

	if (j != NULL)
		return j;
	out = xmalloc(n * 3 + 1);
	w = out;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool ok = len > 0 && i + len <= n;

		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (ok && len > 1) {
			/* jansson refuses overlong forms, surrogates, > U+10FFFF */
			json_t *t = json_stringn(s + i, len);

			ok = t != NULL;
			json_decref(t);
		}
		if (ok && c == 0)
			ok = false;
		if (!ok) {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
			continue;
		}
		memcpy(w, s + i, len);
		w += len;
		i += len;
	}
	j = json_stringn(out, (size_t)(w - out));
	free(out);
	return j ? j : json_string("");
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *job_result_json(const struct job_result *r, const struct skiff_error *e)
{
	_cleanup_json_ json_t *o = json_object(), *copied = json_array();
	char *text;

	json_object_set_new(o, "success", json_boolean(e == NULL && r->exit_code == 0 &&
						       !r->timed_out));
	json_object_set_new(o, "exit_code", json_integer(e ? skiff_error_exit_code(e)
							   : r->exit_code));
	json_object_set_new(o, "signal", r->signal ? json_string(signal_name(r->signal))
						   : json_null());
	json_object_set_new(o, "timed_out", json_boolean(r->timed_out));
	json_object_set_new(o, "oom_killed", json_boolean(r->oom_killed));
	json_object_set_new(o, "duration_seconds", json_real(r->duration));
	json_object_set_new(o, "started_at", string_or_null(r->started_at));
	json_object_set_new(o, "finished_at", string_or_null(r->finished_at));
	json_object_set_new(o, "container_id", string_or_null(r->container_id));
	json_object_set_new(o, "name", string_or_null(r->name));
	json_object_set_new(o, "image", string_or_null(r->image));
	json_object_set_new(o, "image_digest", string_or_null(r->image_digest));
	json_object_set_new(o, "stdout", utf8_string(r->out ? r->out : "", r->out_len));
	json_object_set_new(o, "stderr", utf8_string(r->err ? r->err : "", r->err_len));
	json_object_set_new(o, "truncated", json_boolean(r->truncated));
	for (char **c = r->copied_out; c && *c; c++)
		json_array_append_new(copied, json_string(*c));
	json_object_set(o, "copied_out", copied);
	json_object_set_new(o, "cpu_seconds", r->has_cpu ? json_real((double)r->cpu_usec / 1e6)
							 : json_null());
	json_object_set_new(o, "memory_peak_bytes", r->has_memory_peak
			    ? json_integer((json_int_t)r->memory_peak) : json_null());
	if (e != NULL) {
		_cleanup_free_ char *msg = skiff_error_text(e);

		json_object_set_new(o, "error", json_pack("{s:s, s:s}", "id", e->id,
							  "message", msg));
	}
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	return text;
}
