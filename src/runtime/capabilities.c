/* SPDX-License-Identifier: GPL-2.0-or-later */
/* process.capabilities: from names to the five sets, and onto the init
 * around its switch to the process user.
 *
 * The order is the kernel's: the bounding set can only be dropped with
 * CAP_SETPCAP in the effective set, so it goes first, while the init is
 * still root; setresuid() from 0 to another uid empties the permitted set
 * unless keep-caps is on, so that is set next; after the switch the final
 * effective, permitted and inheritable sets are set, and last the ambient
 * set, whose members must already be permitted and inheritable.  Ambient
 * capabilities are what a non-root process keeps across execve(); for uid
 * 0 the kernel recomputes permitted = effective = bounding | inheritable at
 * execve() (capabilities(7)), as with runc and crun. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime-internal.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

int capability_from_name(const char *name)
{
	_cleanup_free_ char *canonical = NULL;
	cap_value_t value;
	char *text;

	/* cap_from_name() also takes "chown", "cap_chown", "12" and stops at
	 * the first character that is not a letter or '_' ("CAP_CHOWN1" is
	 * CAP_CHOWN to it).  The spec names are the kernel's: "CAP_" and
	 * capitals, matched whole. */
	if (strncmp(name, "CAP_", 4) != 0 || name[4] == '\0')
		return -1;
	for (const char *q = name; *q; q++)
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_'))
			return -1;
	if (cap_from_name(name, &value) < 0 || value < 0 || value > 63)
		return -1;
	text = cap_to_name(value);
	if (text == NULL)
		return -1;
	canonical = xstrdup(text);
	cap_free(text);
	return strcasecmp(canonical, name) == 0 ? (int)value : -1;
}

char *capability_name(int cap)
{
	char *text = cap_to_name((cap_value_t)cap), *out;

	if (text == NULL)
		return NULL;
	out = xstrdup(text);
	cap_free(text);
	/* libcap says "cap_chown"; a number for one it does not know. */
	if (strncasecmp(out, "cap_", 4) != 0) {
		free(out);
		return NULL;
	}
	for (char *p = out; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return out;
}

int capabilities_last_cap(void)
{
	_cleanup_free_ char *text = NULL;
	int64_t v;
	int c;

	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 32, &text, NULL, NULL) == 0) {
		text[strcspn(text, "\n")] = '\0';
		if (parse_int64(text, 0, 63, &v) == 0)
			return (int)v;
	}
	/* Without /proc: PR_CAPBSET_READ fails with EINVAL past the last
	 * capability the kernel knows. */
	for (c = 0; c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0; c++)
		;
	return c;
}

struct set_desc {
	const char *key;
	char **names;
	uint64_t *bits;
};

static void names_to_bits(const struct set_desc *d, int last_cap)
{
	*d->bits = 0;
	for (size_t i = 0; d->names != NULL && d->names[i] != NULL; i++) {
		int c = capability_from_name(d->names[i]);

		/* The parser refused unknown names; what is left above
		 * cap_last_cap is a capability this kernel predates.
		 * config.md: one that cannot be granted is a warning. */
		if (c < 0 || c > last_cap) {
			log_warning("process.capabilities.%s: %s is unknown to this kernel "
				    "(cap_last_cap %d): dropped", d->key, d->names[i], last_cap);
			continue;
		}
		*d->bits |= CAP_BIT(c);
	}
}

static const char *first_name(uint64_t bits, char **names)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		int c = capability_from_name(names[i]);

		if (c >= 0 && (bits & CAP_BIT(c)))
			return names[i];
	}
	return "?";
}

int capabilities_resolve(const struct spec_caps *caps, uid_t uid, int last_cap,
			 struct cap_sets *out, struct skiff_error **err)
{
	uint64_t lost;

	/* No capabilities object: no capabilities at all, as runc and crun
	 * do (an empty set, not "whatever the runtime had"). */
	*out = (struct cap_sets){ .last_cap = last_cap };
	if (caps == NULL)
		return 0;
	{
		const struct set_desc sets[] = {
			{ "bounding", caps->bounding, &out->bounding },
			{ "effective", caps->effective, &out->effective },
			{ "permitted", caps->permitted, &out->permitted },
			{ "inheritable", caps->inheritable, &out->inheritable },
			{ "ambient", caps->ambient, &out->ambient },
		};

		for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
			names_to_bits(&sets[i], last_cap);
	}
	/* capset(2) refuses an effective capability that is not permitted. */
	lost = out->effective & ~out->permitted;
	if (lost != 0)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "config.json: process.capabilities.effective: %s is not in "
				       "process.capabilities.permitted; the kernel only allows "
				       "permitted capabilities to be effective: add it there",
				       first_name(lost, caps->effective));
	/* The kernel raises an ambient capability only when it is permitted
	 * and inheritable.  runc's own `runc spec` lists ambient without
	 * inheritable, so this is dropped with a note, as runc does, not
	 * refused; it only matters for a non-root process user. */
	lost = out->ambient & ~(out->permitted & out->inheritable);
	if (lost != 0) {
		if (uid != 0)
			log_warning("process.capabilities.ambient: %s is not both permitted "
				    "and inheritable: the kernel cannot raise it, so uid %u "
				    "will not hold it", first_name(lost, caps->ambient),
				    (unsigned)uid);
		else
			log_debug("process.capabilities.ambient: %s is not both permitted and "
				  "inheritable: dropped", first_name(lost, caps->ambient));
		out->ambient &= ~lost;
	}
	return 0;
}

int capabilities_before_user_switch(const struct cap_sets *s, struct skiff_error **err)
{
	for (int c = 0; c <= s->last_cap; c++) {
		if ((s->bounding & CAP_BIT(c)) || cap_drop_bound((cap_value_t)c) == 0)
			continue;
		/* A capability already gone from the bounding set (a runtime
		 * started under a reduced one) is what we want anyway. */
		if (errno == EINVAL)
			continue;
		return skiff_error_set(err, errno, "container.capabilities",
				       "cannot drop capability %d from the bounding set "
				       "(process.capabilities.bounding)", c);
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return skiff_error_set(err, errno, "container.capabilities",
				       "cannot keep capabilities across the switch to the process user");
	return 0;
}

static int set_flag(cap_t caps, cap_flag_t flag, uint64_t bits, int last_cap)
{
	for (int c = 0; c <= last_cap; c++) {
		cap_value_t v = c;

		if ((bits & CAP_BIT(c)) && cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
			return -1;
	}
	return 0;
}

static uint64_t current_inheritable(int last_cap)
{
	cap_t now = cap_get_proc();
	uint64_t bits = 0;

	for (int c = 0; now != NULL && c <= last_cap; c++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(now, c, CAP_INHERITABLE, &v) == 0 && v == CAP_SET)
			bits |= CAP_BIT(c);
	}
	cap_free(now);
	return bits;
}

int capabilities_apply(const struct cap_sets *s, struct skiff_error **err)
{
	cap_t caps = cap_init();
	uint64_t lost;
	int r;

	if (caps == NULL)
		return skiff_error_set(err, errno, "container.capabilities",
				       "cannot allocate a capability set");
	/* Without CAP_SETPCAP (gone from the effective set with the switch to
	 * a non-root user) capset(2) lets inheritable grow only within the
	 * bounding set. */
	lost = s->inheritable & ~(s->bounding | current_inheritable(s->last_cap));
	if (lost != 0) {
		cap_free(caps);
		for (int c = 0; c <= s->last_cap; c++)
			if (lost & CAP_BIT(c))
				return skiff_error_set(err, EPERM, "container.capabilities",
						       "process.capabilities.inheritable: capability "
						       "%d is not in the bounding set: add it to "
						       "process.capabilities.bounding", c);
	}
	r = set_flag(caps, CAP_EFFECTIVE, s->effective, s->last_cap) < 0 ||
	    set_flag(caps, CAP_PERMITTED, s->permitted, s->last_cap) < 0 ||
	    set_flag(caps, CAP_INHERITABLE, s->inheritable, s->last_cap) < 0 ||
	    cap_set_proc(caps) < 0 ? -1 : 0;
	cap_free(caps);
	if (r < 0)
		return skiff_error_set(err, errno, "container.capabilities",
				       "cannot set the effective, permitted and inheritable "
				       "capabilities (process.capabilities)");
	/* prctl itself: libcap's cap_reset_ambient first asks about each
	 * capability, one syscall each, on every container's start.  EINVAL:
	 * a kernel without ambient capabilities (before 4.3), none to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return skiff_error_set(err, errno, "container.capabilities",
				       "cannot clear the ambient capabilities");
	for (int c = 0; c <= s->last_cap; c++)
		if ((s->ambient & CAP_BIT(c)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0, 0) < 0)
			return skiff_error_set(err, errno, "container.capabilities",
					       "cannot raise ambient capability %d "
					       "(process.capabilities.ambient)", c);
	/* The switch is done: a later setuid() must not keep anything. */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return skiff_error_set(err, errno, "container.capabilities",
				       "cannot reset keep-caps");
	return 0;
}
