/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A layer blob (layer_unpack): gzip, zstd or plain tar, unpacked into a
 * store in a temporary directory.  The diff_id never matches, so every
 * input is unpacked completely in tmp/ and then thrown away; afterwards
 * nothing may be left in tmp/ or layers/, and nothing may appear beside
 * the store (an entry that got out). */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/image-internal.h"

#include "fuzz.h"

static char *base;
static struct image_store *store;

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	FUZZ_CHECK(d != NULL, "cannot list %s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void remove_base(void)
{
	image_store_close(store);
	remove_tree_at(AT_FDCWD, base, NULL);
	free(base);
}

static void setup(void)
{
	char tmpl[] = "/tmp/skiff-fuzz-layer.XXXXXX";
	_cleanup_free_ char *dir = NULL;
	struct skiff_error *err = NULL;

	FUZZ_CHECK(mkdtemp(tmpl) != NULL, "mkdtemp");
	base = xstrdup(tmpl);
	dir = xasprintf("%s/store", base);
	FUZZ_CHECK(image_store_open(dir, &store, &err) == 0, "%s", err->msg);
	/* No chown, no device nodes: the same code paths as a rootless user,
	 * and nothing a fuzzer should make as root. */
	store->owners = STORE_OWNERS_SINGLE;
	store->notice_given = true;
	atexit(remove_base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char diff_id[] =
		"sha256:0000000000000000000000000000000000000000000000000000000000000000";
	struct layer_job job = { .digest = NULL, .size = 0, .diff_id = diff_id, .what = "layer fuzz" };
	struct layer_result res = { 0 };
	struct skiff_error *err = NULL;
	_cleanup_free_ char *tmp = NULL, *layers = NULL;
	int rc;

	if (store == NULL)
		setup();
	job.fd = memfd_create("layer", MFD_CLOEXEC);
	FUZZ_CHECK(job.fd >= 0 && write_all(job.fd, data, size) == (ssize_t)size &&
		   lseek(job.fd, 0, SEEK_SET) == 0, "memfd");
	rc = layer_unpack(store, &job, &res, &err);
	close(job.fd);
	FUZZ_CHECK(rc < 0 && err != NULL && err->id != NULL, "a layer with a wrong diff_id was kept");
	skiff_error_freep(&err);
	tmp = xasprintf("%s/store/" STORE_TMP, base);
	layers = xasprintf("%s/store/" STORE_LAYERS, base);
	FUZZ_CHECK(entries(tmp) == 0, "a failed unpack left something in tmp/");
	FUZZ_CHECK(entries(layers) == 0, "a failed unpack left a layer");
	FUZZ_CHECK(entries(base) == 1, "something appeared beside the store");
	return 0;
}
