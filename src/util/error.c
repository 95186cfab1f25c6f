/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/error.h>
#include <skiff/util.h>

int skiff_error_setv(struct skiff_error **err, int errnum, const char *id,
		     const char *fmt, va_list ap)
{
	struct skiff_error *e;

	/* The first failure is the one that explains; later ones on the way
	 * up (cleanup that also fails) must not overwrite it. */
	if (err == NULL || *err != NULL)
		return -1;
	e = xzalloc(sizeof(*e));
	e->errnum = errnum;
	e->id = xstrdup(id);
	if (vasprintf(&e->msg, fmt, ap) < 0)
		abort();
	*err = e;
	return -1;
}

int skiff_error_set(struct skiff_error **err, int errnum, const char *id,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	skiff_error_setv(err, errnum, id, fmt, ap);
	va_end(ap);
	return -1;
}

int skiff_error_prefix(struct skiff_error **err, const char *fmt, ...)
{
	_cleanup_free_ char *prefix = NULL;
	char *msg;
	va_list ap;

	if (err == NULL || *err == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&prefix, fmt, ap) < 0)
		abort();
	va_end(ap);
	msg = xasprintf("%s%s", prefix, (*err)->msg);
	free((*err)->msg);
	(*err)->msg = msg;
	return -1;
}

char *skiff_error_text(const struct skiff_error *e)
{
	if (e->errnum != 0)
		return xasprintf("%s: %s", e->msg, strerror(e->errnum));
	return xstrdup(e->msg);
}

void skiff_error_free(struct skiff_error *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->msg);
	free(e);
}

int skiff_error_exit_code(const struct skiff_error *e)
{
	if (e != NULL && e->id != NULL) {
		if (strcmp(e->id, "exec.not_found") == 0)
			return 127;
		if (strcmp(e->id, "exec.not_executable") == 0)
			return 126;
	}
	return 125;
}
