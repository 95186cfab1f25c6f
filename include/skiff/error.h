/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff — errors.
 *
 * A function that can fail returns a negative int and, when err is not NULL,
 * fills *err with the errno (0 when none applies), a stable dotted id listed
 * in docs/errors.md, and a message naming the input and what to do.  The
 * message is built where the failure is understood; callers propagate. */
#ifndef SKIFF_ERROR_H
#define SKIFF_ERROR_H

#include <stdarg.h>

struct skiff_error {
	int errnum;       /* errno at the point of failure, or 0 */
	char *id;         /* stable dotted id, e.g. "spec.invalid" */
	char *msg;        /* human message, without the errno text */
};

/* Fills *err (if err != NULL and *err == NULL) and returns -1.  errnum is
 * appended to the message as strerror text when non-zero. */
int skiff_error_set(struct skiff_error **err, int errnum, const char *id,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int skiff_error_setv(struct skiff_error **err, int errnum, const char *id,
		     const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Prefixes the message of an existing error with context ("bundle /x: ").
 * Returns -1 so that it can end a failing path: return skiff_error_prefix(). */
int skiff_error_prefix(struct skiff_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The full text: "MESSAGE: strerror(errnum)". Caller frees. */
char *skiff_error_text(const struct skiff_error *e);

void skiff_error_free(struct skiff_error *e);
static inline void skiff_error_freep(struct skiff_error **e)
{
	if (*e != NULL)
		skiff_error_free(*e);
	*e = NULL;
}
#define _cleanup_error_ __attribute__((cleanup(skiff_error_freep)))

/* Exit status for a failure of skiff itself, by id: 126 for a command that
 * cannot be executed, 127 for one that was not found, 125 otherwise. */
int skiff_error_exit_code(const struct skiff_error *e);

#endif
