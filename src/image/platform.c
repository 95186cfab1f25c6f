/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Platforms: "os/arch[/variant]" with the GOARCH names OCI uses. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/image-internal.h"

void image_platform_clear(struct image_platform *p)
{
	free(p->os);
	free(p->arch);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

char *image_platform_string(const struct image_platform *p)
{
	return xasprintf("%s/%s%s%s", p->os, p->arch, p->variant ? "/" : "",
			 p->variant ? p->variant : "");
}

/* uname -m -> GOARCH (and the variant Docker assumes for it). */
static void host_platform(struct image_platform *p)
{
	static const struct { const char *machine, *arch, *variant; } table[] = {
		{ "x86_64", "amd64", NULL }, { "aarch64", "arm64", "v8" },
		{ "armv7l", "arm", "v7" }, { "armv6l", "arm", "v6" },
		{ "i686", "386", NULL }, { "i386", "386", NULL },
		{ "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
		{ "riscv64", "riscv64", NULL }, { "loongarch64", "loong64", NULL },
		{ "mips64", "mips64le", NULL },
	};
	struct utsname u;

	p->os = xstrdup("linux");
	uname(&u);
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strcmp(u.machine, table[i].machine) == 0) {
			p->arch = xstrdup(table[i].arch);
			p->variant = table[i].variant ? xstrdup(table[i].variant) : NULL;
			return;
		}
	p->arch = xstrdup(u.machine);
}

static bool word_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

int image_platform_parse(const char *s, struct image_platform *p,
			 struct skiff_error **err)
{
	const char *a, *b;

	memset(p, 0, sizeof(*p));
	if (s == NULL) {
		host_platform(p);
		return 0;
	}
	a = strchr(s, '/');
	b = a ? strchr(a + 1, '/') : NULL;
	if (a == NULL || !word_ok(s, (size_t)(a - s)) ||
	    !word_ok(a + 1, b ? (size_t)(b - a - 1) : strlen(a + 1)) ||
	    (b != NULL && (!word_ok(b + 1, strlen(b + 1)) || strchr(b + 1, '/'))))
		return skiff_error_set(err, 0, "image.platform.bad",
				       "platform \"%s\" is not valid: write os/arch[/variant], "
				       "e.g. linux/amd64 or linux/arm64/v8", s);
	p->os = image_strndup(s, (size_t)(a - s));
	p->arch = b ? image_strndup(a + 1, (size_t)(b - a - 1)) : xstrdup(a + 1);
	p->variant = b ? xstrdup(b + 1) : NULL;
	/* arm64 images carry "v8" or nothing: treat them alike. */
	if (strcmp(p->arch, "arm64") == 0 && p->variant == NULL)
		p->variant = xstrdup("v8");
	return 0;
}

bool platform_matches(const struct image_platform *want, const char *os,
		      const char *arch, const char *variant)
{
	if (os == NULL || arch == NULL || strcmp(want->os, os) != 0 ||
	    strcmp(want->arch, arch) != 0)
		return false;
	if (variant == NULL || want->variant == NULL)
		return true;
	return strcmp(want->variant, variant) == 0;
}

int image_layers_check_platform(const struct image_layers *l, const char *platform,
				struct skiff_error **err)
{
	struct image_platform want = { 0 };
	struct image_config c = { 0 };
	_cleanup_free_ char *what = xasprintf("the config %s", l->id);
	int rc = -1;

	if (image_platform_parse(platform, &want, err) < 0 ||
	    config_parse(l->config, l->config_len, what, &c, err) < 0)
		goto out;
	if (c.os != NULL && c.arch != NULL && !platform_matches(&want, c.os, c.arch, c.variant)) {
		_cleanup_free_ char *w = image_platform_string(&want);

		skiff_error_set(err, 0, "image.platform.mismatch",
				"the stored %s is an image for %s/%s%s%s, not for %s", l->name,
				c.os, c.arch, c.variant ? "/" : "", c.variant ? c.variant : "", w);
		goto out;
	}
	rc = 0;
out:
	config_clear(&c);
	image_platform_clear(&want);
	return rc;
}
