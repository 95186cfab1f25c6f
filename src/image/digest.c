/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Streaming sha256 with OpenSSL libcrypto: every blob is digested while it
 * is read, never in a second pass. */
#include <errno.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "image/image-internal.h"

struct digester {
	EVP_MD_CTX *ctx;
};

struct digester *digester_new(void)
{
	struct digester *d = xzalloc(sizeof(*d));

	d->ctx = EVP_MD_CTX_new();
	if (d->ctx == NULL || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1)
		abort();
	return d;
}

void digester_update(struct digester *d, const void *buf, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(d->ctx, buf, len) != 1)
		abort();
}

void digester_free(struct digester *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

char *digester_finish(struct digester *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
		abort();
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	digester_free(d);
	return xasprintf("sha256:%s", hex);
}

/* Blobs in memory are small (manifests, configs, tag files): skiff's own
 * sha256, so that reading an image from the store neither loads libcrypto
 * nor pays OpenSSL 3's first-digest set-up (2 to 5 ms). */
char *digest_buffer(const void *buf, size_t len)
{
	struct sha256 md;
	char hex[65];

	sha256_init(&md);
	sha256_update(&md, buf, len);
	sha256_hex(&md, hex);
	return xasprintf("sha256:%s", hex);
}

int digest_fd(int fd, char **digest, uint64_t *size, struct skiff_error **err)
{
	struct digester *d = digester_new();
	char buf[65536];
	uint64_t total = 0;

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			digester_free(d);
			return skiff_error_set(err, errno, "image.read", "cannot read a blob");
		}
		if (r == 0)
			break;
		digester_update(d, buf, (size_t)r);
		total += (uint64_t)r;
	}
	*digest = digester_finish(d);
	if (size != NULL)
		*size = total;
	return 0;
}
