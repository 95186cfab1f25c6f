/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the fuzz targets share: the libFuzzer entry point, and a check that
 * aborts (a crash libFuzzer and the corpus replay both report). */
#ifndef SKIFF_FUZZ_H
#define SKIFF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/util.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the parser promises; failing it is a bug like a crash. */
#define FUZZ_CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "fuzz check failed: %s: ", #cond); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); abort(); } } while (0)

/* The input as a C string (parsers of names take strings). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = xzalloc(size + 1);

	memcpy(s, data, size);
	return s;
}

#endif
