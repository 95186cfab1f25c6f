/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skiff/util.h>

/* Allocation failure is not an error skiff can report usefully (the message
 * itself needs memory): abort, as crun and systemd do. */
static void *oom(void)
{
	static const char msg[] = "skiff: out of memory\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom();
}

void *xzalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : oom();
}

char *xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	return p ? p : oom();
}

char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? oom() : s;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	return vasprintf(&s, fmt, ap) < 0 ? oom() : s;
}

void xstrappendf(char **s, const char *fmt, ...)
{
	_cleanup_free_ char *add = NULL;
	char *next;
	va_list ap;

	va_start(ap, fmt);
	add = xvasprintf(fmt, ap);
	va_end(ap);
	next = xasprintf("%s%s", *s, add);
	free(*s);
	*s = next;
}

size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

void strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void skiff_strvfreep(char ***v)
{
	strv_free(*v);
	*v = NULL;
}

char **strv_copy(char *const *v)
{
	size_t n = strv_length(v);
	char **c = xzalloc((n + 1) * sizeof(char *));

	for (size_t i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return c;
}
