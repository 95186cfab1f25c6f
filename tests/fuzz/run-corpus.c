/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replays a fuzz target's corpus (FUZZ_CORPUS, or the directories and
 * files given) through its LLVMFuzzerTestOneInput, built with the normal
 * compiler: make check runs it, and .ci/run under valgrind, so that the
 * targets keep building and every seed and past finding keeps passing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay(const char *path, size_t *n)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	struct skiff_error *err = NULL;

	if (read_file_at(AT_FDCWD, path, 64u << 20, &data, &len, &err) < 0) {
		fprintf(stderr, "run-corpus: %s\n", err->msg);
		skiff_error_free(err);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	(*n)++;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t k = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "run-corpus: cannot open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (k + 1) * sizeof(char *));
		names[k++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	/* In name order: a failure is the same file on every run. */
	qsort(names, k, sizeof(char *), cmp);
	for (size_t i = 0; i < k; i++) {
		if (rc == 0 && replay(names[i], n) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = 0;
	int rc = 0;

	if (argc < 2) {
		rc = replay_dir(FUZZ_CORPUS, &n);
	} else {
		for (int i = 1; i < argc && rc == 0; i++) {
			struct stat st;

			if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
				rc = replay_dir(argv[i], &n);
			else
				rc = replay(argv[i], &n);
		}
	}
	if (rc == 0 && n == 0) {
		fprintf(stderr, "run-corpus: no input in %s\n", argc < 2 ? FUZZ_CORPUS : argv[1]);
		return 1;
	}
	printf("%s: %zu inputs replayed\n", argc < 2 ? FUZZ_CORPUS : "run-corpus", n);
	return rc < 0 ? 1 : 0;
}
