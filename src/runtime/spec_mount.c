/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mounts[]: each mount's options split into mount(2) flags, propagation,
 * mount_setattr(2) recursive attributes and the filesystem's own data. */
#include <string.h>
#include <sys/mount.h>
#include <linux/mount.h>

#include "runtime/spec-internal.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif

enum opt_kind { OPT_FLAG, OPT_PROPAGATION, OPT_REC, OPT_IDMAP, OPT_RIDMAP,
		OPT_TMPCOPYUP, OPT_NOTHING };

struct mount_opt {
	const char *name;
	enum opt_kind kind;
	bool clear;
	unsigned long flag;
};

/* The names runc and crun accept; anything else is filesystem data. */
static const struct mount_opt mount_opts[] = {
	{ "defaults", OPT_NOTHING, false, 0 },
	{ "ro", OPT_FLAG, false, MS_RDONLY }, { "rw", OPT_FLAG, true, MS_RDONLY },
	{ "nosuid", OPT_FLAG, false, MS_NOSUID }, { "suid", OPT_FLAG, true, MS_NOSUID },
	{ "nodev", OPT_FLAG, false, MS_NODEV }, { "dev", OPT_FLAG, true, MS_NODEV },
	{ "noexec", OPT_FLAG, false, MS_NOEXEC }, { "exec", OPT_FLAG, true, MS_NOEXEC },
	{ "sync", OPT_FLAG, false, MS_SYNCHRONOUS }, { "async", OPT_FLAG, true, MS_SYNCHRONOUS },
	{ "dirsync", OPT_FLAG, false, MS_DIRSYNC },
	{ "iversion", OPT_FLAG, false, MS_I_VERSION },
	{ "noiversion", OPT_FLAG, true, MS_I_VERSION },
	{ "silent", OPT_FLAG, false, MS_SILENT }, { "loud", OPT_FLAG, true, MS_SILENT },
	{ "remount", OPT_FLAG, false, MS_REMOUNT },
	{ "mand", OPT_FLAG, false, MS_MANDLOCK }, { "nomand", OPT_FLAG, true, MS_MANDLOCK },
	{ "noatime", OPT_FLAG, false, MS_NOATIME }, { "atime", OPT_FLAG, true, MS_NOATIME },
	{ "nodiratime", OPT_FLAG, false, MS_NODIRATIME },
	{ "diratime", OPT_FLAG, true, MS_NODIRATIME },
	{ "relatime", OPT_FLAG, false, MS_RELATIME },
	{ "norelatime", OPT_FLAG, true, MS_RELATIME },
	{ "strictatime", OPT_FLAG, false, MS_STRICTATIME },
	{ "nostrictatime", OPT_FLAG, true, MS_STRICTATIME },
	{ "lazytime", OPT_FLAG, false, MS_LAZYTIME },
	{ "nolazytime", OPT_FLAG, true, MS_LAZYTIME },
	{ "nosymfollow", OPT_FLAG, false, MS_NOSYMFOLLOW },
	{ "symfollow", OPT_FLAG, true, MS_NOSYMFOLLOW },
	{ "bind", OPT_FLAG, false, MS_BIND },
	{ "rbind", OPT_FLAG, false, MS_BIND | MS_REC },

	{ "shared", OPT_PROPAGATION, false, MS_SHARED },
	{ "rshared", OPT_PROPAGATION, false, MS_SHARED | MS_REC },
	{ "slave", OPT_PROPAGATION, false, MS_SLAVE },
	{ "rslave", OPT_PROPAGATION, false, MS_SLAVE | MS_REC },
	{ "private", OPT_PROPAGATION, false, MS_PRIVATE },
	{ "rprivate", OPT_PROPAGATION, false, MS_PRIVATE | MS_REC },
	{ "unbindable", OPT_PROPAGATION, false, MS_UNBINDABLE },
	{ "runbindable", OPT_PROPAGATION, false, MS_UNBINDABLE | MS_REC },

	{ "rro", OPT_REC, false, MOUNT_ATTR_RDONLY },
	{ "rrw", OPT_REC, true, MOUNT_ATTR_RDONLY },
	{ "rnosuid", OPT_REC, false, MOUNT_ATTR_NOSUID },
	{ "rsuid", OPT_REC, true, MOUNT_ATTR_NOSUID },
	{ "rnodev", OPT_REC, false, MOUNT_ATTR_NODEV },
	{ "rdev", OPT_REC, true, MOUNT_ATTR_NODEV },
	{ "rnoexec", OPT_REC, false, MOUNT_ATTR_NOEXEC },
	{ "rexec", OPT_REC, true, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", OPT_REC, false, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", OPT_REC, true, MOUNT_ATTR_NODIRATIME },
	{ "rnoatime", OPT_REC, false, MOUNT_ATTR_NOATIME },
	{ "ratime", OPT_REC, true, MOUNT_ATTR_NOATIME },
	{ "rrelatime", OPT_REC, false, MOUNT_ATTR_RELATIME },
	{ "rnorelatime", OPT_REC, true, MOUNT_ATTR_RELATIME },
	{ "rstrictatime", OPT_REC, false, MOUNT_ATTR_STRICTATIME },
	{ "rnostrictatime", OPT_REC, true, MOUNT_ATTR_STRICTATIME },
	{ "rnosymfollow", OPT_REC, false, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", OPT_REC, true, MOUNT_ATTR_NOSYMFOLLOW },

	{ "idmap", OPT_IDMAP, false, 0 },
	{ "ridmap", OPT_RIDMAP, false, 0 },
	{ "tmpcopyup", OPT_TMPCOPYUP, false, 0 },
};

const char *spec_mount_option_name(size_t i)
{
	for (size_t k = 0; k < ARRAY_SIZE(mount_opts); k++) {
		enum opt_kind kind = mount_opts[k].kind;

		if (kind == OPT_IDMAP || kind == OPT_RIDMAP || kind == OPT_TMPCOPYUP)
			continue;
		if (i-- == 0)
			return mount_opts[k].name;
	}
	return NULL;
}

static const struct mount_opt *find_opt(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++)
		if (strcmp(mount_opts[i].name, name) == 0)
			return &mount_opts[i];
	return NULL;
}

int spec_propagation_flags(const char *name, unsigned long *out)
{
	const struct mount_opt *o = find_opt(name);

	if (o == NULL || o->kind != OPT_PROPAGATION)
		return -1;
	*out = o->flag;
	return 0;
}

static void apply_rec(struct spec_mount *m, const struct mount_opt *o)
{
	/* mount_setattr(2) takes the access-time mode as a value inside
	 * MOUNT_ATTR__ATIME that must be cleared as a whole to be changed;
	 * the "no…" forms (ratime, rnostrictatime, rnorelatime) go back to
	 * the kernel's default, relatime. */
	if ((o->flag & MOUNT_ATTR__ATIME) == o->flag) {
		m->rec_set &= ~(unsigned long)MOUNT_ATTR__ATIME;
		m->rec_set |= o->clear ? MOUNT_ATTR_RELATIME : o->flag;
		m->rec_clear |= MOUNT_ATTR__ATIME;
	} else if (o->clear) {
		m->rec_clear |= o->flag;
		m->rec_set &= ~o->flag;
	} else {
		m->rec_set |= o->flag;
		m->rec_clear &= ~o->flag;
	}
}

static void split_options(struct spec_mount *m)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	for (size_t i = 0; i < m->n_options; i++) {
		const char *name = m->options[i];
		const struct mount_opt *o = find_opt(name);

		if (o == NULL) {
			if (name[0] == '\0')
				continue;
			data = xrealloc(data, len + strlen(name) + 2);
			len += (size_t)sprintf(data + len, "%s%s", len ? "," : "", name);
			continue;
		}
		switch (o->kind) {
		case OPT_FLAG:
			if (o->clear) {
				m->flags &= ~o->flag;
				m->clear_flags |= o->flag;
			} else {
				m->flags |= o->flag;
				m->clear_flags &= ~o->flag;
			}
			break;
		case OPT_PROPAGATION:
			m->propagation = o->flag;
			break;
		case OPT_REC:
			apply_rec(m, o);
			break;
		case OPT_IDMAP:
			m->idmap = true;
			break;
		case OPT_RIDMAP:
			m->ridmap = true;
			break;
		case OPT_TMPCOPYUP:
			m->tmpcopyup = true;
			break;
		case OPT_NOTHING:
			break;
		}
	}
	m->data = steal_pointer(&data);
}

static uint32_t *mappings_to_triples(struct spec_id_mapping *v, size_t n)
{
	uint32_t *t = xzalloc((3 * n + 1) * sizeof(*t));

	for (size_t i = 0; i < n; i++) {
		t[3 * i] = v[i].container_id;
		t[3 * i + 1] = v[i].host_id;
		t[3 * i + 2] = v[i].size;
	}
	return t;
}

static int parse_mount(struct spec_parser *p, json_t *o, struct spec_mount *m)
{
	_cleanup_free_ struct spec_id_mapping *uids = NULL, *gids = NULL;
	size_t n_uids = 0, n_gids = 0;

	if (!json_is_object(o))
		return sp_fail_type(p, NULL, o, "an object");
	if (sp_string(p, o, "destination", true, &m->destination) < 0 ||
	    sp_string(p, o, "type", false, &m->type) < 0 ||
	    sp_string(p, o, "source", false, &m->source) < 0 ||
	    sp_strv(p, o, "options", false, &m->options, &m->n_options) < 0 ||
	    spec_parse_id_mappings(p, o, "uidMappings", &uids, &n_uids) < 0 ||
	    spec_parse_id_mappings(p, o, "gidMappings", &gids, &n_gids) < 0)
		return -1;
	/* config.md: a relative destination (deprecated, from old tools) is
	 * relative to "/". */
	if (m->destination[0] != '/') {
		char *abs = xasprintf("/%s", m->destination);

		free(m->destination);
		m->destination = abs;
	}
	if (uids != NULL) {
		m->uid_mappings_raw = mappings_to_triples(uids, n_uids);
		m->n_uid_mappings_raw = n_uids;
	}
	if (gids != NULL) {
		m->gid_mappings_raw = mappings_to_triples(gids, n_gids);
		m->n_gid_mappings_raw = n_gids;
	}
	split_options(m);
	return 0;
}

int spec_parse_mounts(struct spec_parser *p, json_t *root, struct spec *s)
{
	json_t *a, *e;
	size_t i, mark;
	int rc;

	rc = sp_enter(p, root, "mounts", JSON_ARRAY, &a, &mark);
	if (rc <= 0)
		return rc;
	s->mounts = xzalloc((json_array_size(a) + 1) * sizeof(*s->mounts));
	SP_FOREACH_ELEMENT(p, a, i, e, m) {
		s->n_mounts = i + 1;
		if (parse_mount(p, e, &s->mounts[i]) < 0)
			return -1;
	}
	sp_pop(p, mark);
	return 0;
}

void spec_mounts_free(struct spec_mount *m, size_t n)
{
	for (size_t i = 0; m != NULL && i < n; i++) {
		free(m[i].destination);
		free(m[i].type);
		free(m[i].source);
		strv_free(m[i].options);
		free(m[i].data);
		free(m[i].uid_mappings_raw);
		free(m[i].gid_mappings_raw);
	}
	free(m);
}
