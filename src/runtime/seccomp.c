/* SPDX-License-Identifier: GPL-2.0-or-later */
/* linux.seccomp: from the OCI object to a loaded filter.
 *
 *   runtime, before fork:  profile ──key──> cache hit?  raw BPF
 *                                             └─ miss: libseccomp builds and
 *                                                exports it, the cache keeps it
 *   init, right before execve:  seccomp(SECCOMP_SET_MODE_FILTER, flags, BPF)
 *
 * The init never calls libseccomp: it loads a program the runtime already
 * holds, so starting a container with a cached profile costs one hash and
 * one small read.  The translation follows runc and crun where the spec is
 * silent (rules with the default action are skipped; several conditions on
 * one argument are separate rules), and adds one thing of its own: with an
 * errno default action, syscalls newer than every syscall the profile names
 * fail with ENOSYS, so that libc falls back to the older call it knows. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "runtime-internal.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

/* How far above the highest syscall the profile names to look for newer
 * ones: wide enough for the gap x86_64 left before the unified numbers (335
 * to 423) and for many years of new syscalls. */
#define ENOSYS_SPAN 1024

struct seccomp_filter {
	struct sock_filter *insns;
	size_t n_insns;
	unsigned int flags;      /* seccomp(2) SECCOMP_FILTER_FLAG_* */
	int listener_fd;         /* connected to listenerPath, or -1 */
	json_t *notify_state;    /* the ContainerProcessState sent with the fd */
	pid_t init_pid;          /* the init's pid as the runtime sees it */
};

/* ---- names ------------------------------------------------------------- */

int seccomp_action_value(const char *name, bool has_errno_ret, uint32_t errno_ret,
			 uint32_t *out)
{
	/* runc and crun: ERRNO and TRACE without errnoRet return EPERM. */
	uint32_t ret = has_errno_ret ? errno_ret : EPERM;

	if (strcmp(name, "SCMP_ACT_KILL") == 0)
		*out = SCMP_ACT_KILL;
	else if (strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
		*out = SCMP_ACT_KILL_THREAD;
	else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
		*out = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
		*out = SCMP_ACT_TRAP;
	else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
		*out = SCMP_ACT_ERRNO(ret);
	else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
		*out = SCMP_ACT_TRACE(ret);
	else if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
		*out = SCMP_ACT_ALLOW;
	else if (strcmp(name, "SCMP_ACT_LOG") == 0)
		*out = SCMP_ACT_LOG;
	else if (strcmp(name, "SCMP_ACT_NOTIFY") == 0)
		*out = SCMP_ACT_NOTIFY;
	else
		return -1;
	return 0;
}

int seccomp_op_value(const char *name)
{
	static const struct { const char *name; enum scmp_compare op; } ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].op;
	return -1;
}

uint32_t seccomp_arch_value(const char *name)
{
	char lower[32];
	size_t i;

	if (strncmp(name, "SCMP_ARCH_", 10) != 0 || strlen(name + 10) >= sizeof(lower))
		return 0;
	for (i = 0; name[10 + i] != '\0'; i++)
		lower[i] = (char)(name[10 + i] >= 'A' && name[10 + i] <= 'Z'
				  ? name[10 + i] - 'A' + 'a' : name[10 + i]);
	lower[i] = '\0';
	return seccomp_arch_resolve_name(lower);
}

/* The ABIs a kernel offers beside its own (compat and x32). */
static const struct { const char *native, *compat[2]; } arch_families[] = {
	{ "x86_64", { "x86", "x32" } },
	{ "aarch64", { "arm", NULL } },
	{ "mips64", { "mips", "mips64n32" } },
	{ "mipsel64", { "mipsel", "mipsel64n32" } },
	{ "ppc64", { "ppc", NULL } },
	{ "s390x", { "s390", NULL } },
	{ "parisc64", { "parisc", NULL } },
};

/* Whether a process of ARCH can run on a kernel of NATIVE.  Filters for the
 * others would never see a syscall; dropping them only makes the filter
 * smaller. */
bool seccomp_arch_runs_here(uint32_t arch, uint32_t native)
{
	if (arch == native)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(arch_families); i++) {
		if (seccomp_arch_resolve_name(arch_families[i].native) != native)
			continue;
		for (size_t j = 0; j < 2 && arch_families[i].compat[j] != NULL; j++)
			if (seccomp_arch_resolve_name(arch_families[i].compat[j]) == arch)
				return true;
	}
	return false;
}

/* Whether NAME is a syscall of one of the filter's architectures.  Rules for
 * the others (cacheflush of arm in an x86 filter) would only add code that
 * never matches. */
static bool exists_in_filter(scmp_filter_ctx ctx, const char *name)
{
	uint32_t native = seccomp_arch_native();

	if (seccomp_syscall_resolve_name_arch(native, name) >= 0)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(arch_families); i++) {
		if (seccomp_arch_resolve_name(arch_families[i].native) != native)
			continue;
		for (size_t j = 0; j < 2 && arch_families[i].compat[j] != NULL; j++) {
			uint32_t arch = seccomp_arch_resolve_name(arch_families[i].compat[j]);

			if (arch != 0 && seccomp_arch_exist(ctx, arch) == 0 &&
			    seccomp_syscall_resolve_name_arch(arch, name) >= 0)
				return true;
		}
	}
	return false;
}

static bool profile_uses_notify(const struct spec_seccomp *sc)
{
	for (size_t i = 0; i < sc->n_syscalls; i++)
		if (strcmp(sc->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
			return true;
	return false;
}

unsigned int seccomp_load_flags(const struct spec_seccomp *sc)
{
	bool listener = profile_uses_notify(sc);
	unsigned int flags = listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;

	for (size_t i = 0; i < sc->n_flags; i++) {
		const char *f = sc->flags[i];

		if (strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
			/* With a listener the kernel wants TSYNC_ESRCH too. */
			flags |= SECCOMP_FILTER_FLAG_TSYNC |
				 (listener ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
		else if (strcmp(f, "SECCOMP_FILTER_FLAG_LOG") == 0)
			flags |= SECCOMP_FILTER_FLAG_LOG;
		else if (strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
			flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
		else if (strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0) {
			/* Only meaningful (and accepted) with a listener. */
			if (listener)
				flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
			else
				log_debug("seccomp: %s ignored: no rule uses SCMP_ACT_NOTIFY", f);
		}
	}
	return flags;
}

/* ---- building the filter with libseccomp ---------------------------------- */

static int rule_error(struct skiff_error **err, int rc, size_t i, const char *name)
{
	return skiff_error_set(err, -rc, "seccomp.rule",
			       "linux.seccomp.syscalls[%zu]: libseccomp refused the rule for "
			       "\"%s\"%s", i, name, rc == -EEXIST ?
			       ": it conflicts with an earlier rule (on 32-bit x86, rules with "
			       "arguments on socket calls become socketcall rules; put an "
			       "unconditional socketcall rule first)" : "");
}

static int add_rule(scmp_filter_ctx ctx, const struct spec_seccomp_syscall *sc,
		    size_t i, const char *name, int nr, uint32_t action,
		    struct skiff_error **err)
{
	struct scmp_arg_cmp conds[6];
	unsigned int per_index[6] = { 0 };
	bool separate = false;
	int rc;

	if (sc->n_args > ARRAY_SIZE(conds))
		separate = true;
	for (size_t a = 0; a < sc->n_args; a++)
		if (++per_index[sc->args[a].index] > 1)
			separate = true;
	if (sc->n_args == 0) {
		rc = seccomp_rule_add_array(ctx, action, nr, 0, NULL);
		return rc < 0 ? rule_error(err, rc, i, name) : 0;
	}
	/* Several conditions on one argument: libseccomp cannot AND them,
	 * and runc and crun read them as alternatives (one rule each). */
	for (size_t a = 0; a < sc->n_args; a++) {
		const struct spec_seccomp_arg *arg = &sc->args[a];
		size_t k = separate ? 0 : a;

		conds[k] = (struct scmp_arg_cmp){
			.arg = arg->index, .op = (enum scmp_compare)seccomp_op_value(arg->op),
			.datum_a = arg->value, .datum_b = arg->value_two };
		if (separate) {
			rc = seccomp_rule_add_array(ctx, action, nr, 1, conds);
			if (rc < 0)
				return rule_error(err, rc, i, name);
		}
	}
	if (!separate) {
		rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int)sc->n_args, conds);
		if (rc < 0)
			return rule_error(err, rc, i, name);
	}
	return 0;
}

static int add_architectures(scmp_filter_ctx ctx, const struct spec_seccomp *sc,
			     struct skiff_error **err)
{
	uint32_t native = seccomp_arch_native();

	for (size_t i = 0; i < sc->n_architectures; i++) {
		uint32_t arch = seccomp_arch_value(sc->architectures[i]);
		int rc;

		if (arch == 0) {
			log_debug("seccomp: %s is unknown to libseccomp %u.%u.%u: skipped",
				  sc->architectures[i], seccomp_version()->major,
				  seccomp_version()->minor, seccomp_version()->micro);
			continue;
		}
		if (!seccomp_arch_runs_here(arch, native)) {
			log_debug("seccomp: %s cannot run on this kernel: skipped",
				  sc->architectures[i]);
			continue;
		}
		rc = seccomp_arch_add(ctx, arch);
		if (rc < 0 && rc != -EEXIST)
			return skiff_error_set(err, -rc, "seccomp.compile",
					       "linux.seccomp.architectures[%zu]: libseccomp "
					       "cannot add %s", i, sc->architectures[i]);
	}
	return 0;
}

/* The extension for syscalls newer than the profile: with an errno default
 * (Docker's EPERM, say), a syscall added to the kernel after the profile was
 * written would fail with EPERM, which libc takes as a real refusal; with
 * ENOSYS it takes the older path (clone3 -> clone, openat2 -> openat,
 * fchmodat2 -> fchmodat).  "Newer" is read from the native numbering:
 * syscalls are numbered in the order they were added. */
static int add_enosys_for_newer(scmp_filter_ctx ctx, const struct spec_seccomp *sc,
				uint32_t default_action, struct skiff_error **err)
{
	uint32_t native = seccomp_arch_native();
	int max_nr = -1;

	if ((default_action & 0xffff0000U) != SCMP_ACT_ERRNO(0) ||
	    default_action == SCMP_ACT_ERRNO(ENOSYS))
		return 0;
	for (size_t i = 0; i < sc->n_syscalls; i++)
		for (size_t j = 0; j < sc->syscalls[i].n_names; j++) {
			int nr = seccomp_syscall_resolve_name_arch(native,
								   sc->syscalls[i].names[j]);

			if (nr > max_nr)
				max_nr = nr;
		}
	if (max_nr < 0)
		return 0;
	for (int nr = max_nr + 1; nr <= max_nr + ENOSYS_SPAN; nr++) {
		_cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(native, nr);
		int rc;

		if (name == NULL)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (rc < 0)
			return skiff_error_set(err, -rc, "seccomp.compile",
					       "libseccomp refused the ENOSYS rule for \"%s\"", name);
		log_debug("seccomp: %s (newer than the profile) returns ENOSYS", name);
	}
	return 0;
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL)
		seccomp_release(*ctx);
}

int seccomp_build(const struct spec_seccomp *sc, void **out,
		  struct skiff_error **err)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = NULL;
	uint32_t def;

	if (seccomp_action_value(sc->default_action, sc->has_default_errno_ret,
				 sc->default_errno_ret, &def) < 0)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "linux.seccomp.defaultAction: unknown action \"%s\"",
				       sc->default_action);
	if (sc->has_default_errno_ret && sc->default_errno_ret > 0xffff)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "linux.seccomp.defaultErrnoRet: %u does not fit the 16 "
				       "bits seccomp returns", sc->default_errno_ret);
	/* Only the program is built here; the init loads it with its own
	 * seccomp() call, and the kernel judges it then.  So libseccomp is told
	 * the kernel supports every action rather than probing it (which also
	 * makes the program, and its cache key, independent of the probe). */
	seccomp_api_set(6);
	ctx = seccomp_init(def);
	if (ctx == NULL)
		return skiff_error_set(err, ENOMEM, "seccomp.compile",
				       "libseccomp cannot create a filter with default action %s",
				       sc->default_action);
	/* A binary search over syscall numbers: a profile of a few hundred
	 * rules costs each syscall a dozen comparisons, not hundreds. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		log_debug("seccomp: libseccomp cannot build a binary tree filter");
	if (add_architectures(ctx, sc, err) < 0)
		return -1;

	for (size_t i = 0; i < sc->n_syscalls; i++) {
		const struct spec_seccomp_syscall *s = &sc->syscalls[i];
		uint32_t action;

		if (s->has_errno_ret && s->errno_ret > 0xffff)
			return skiff_error_set(err, EINVAL, "spec.invalid",
					       "linux.seccomp.syscalls[%zu].errnoRet: %u does not "
					       "fit the 16 bits seccomp returns", i, s->errno_ret);
		if (seccomp_action_value(s->action, s->has_errno_ret, s->errno_ret, &action) < 0)
			return skiff_error_set(err, EINVAL, "spec.invalid",
					       "linux.seccomp.syscalls[%zu].action: unknown action "
					       "\"%s\"", i, s->action);
		if (action == def) {
			/* libseccomp refuses it; runc and crun skip it too. */
			log_debug("seccomp: syscalls[%zu] has the default action: skipped", i);
			continue;
		}
		for (size_t j = 0; j < s->n_names; j++) {
			int nr = seccomp_syscall_resolve_name(s->names[j]);

			if (nr == __NR_SCMP_ERROR) {
				log_debug("seccomp: syscall \"%s\" is unknown to libseccomp "
					  "%u.%u.%u: skipped", s->names[j],
					  seccomp_version()->major, seccomp_version()->minor,
					  seccomp_version()->micro);
				continue;
			}
			if (!exists_in_filter(ctx, s->names[j])) {
				log_debug("seccomp: syscall \"%s\" does not exist on the filter's "
					  "architectures: skipped", s->names[j]);
				continue;
			}
			if (add_rule(ctx, s, i, s->names[j], nr, action, err) < 0)
				return -1;
		}
	}
	if (add_enosys_for_newer(ctx, sc, def, err) < 0)
		return -1;
	*out = steal_pointer(&ctx);
	return 0;
}

/* Builds the filter and exports its BPF program. */
int seccomp_compile(const struct spec_seccomp *sc, struct sock_filter **insns,
		    size_t *n, struct skiff_error **err)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sock_filter *buf = NULL;
	struct stat st;
	int rc;

	if (seccomp_build(sc, &ctx, err) < 0)
		return -1;
	fd = memfd_create("skiff-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return skiff_error_set(err, errno, "seccomp.compile",
				       "cannot create a memfd for the BPF program");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return skiff_error_set(err, -rc, "seccomp.compile",
				       "libseccomp cannot generate the BPF program of linux.seccomp");
	if (fstat(fd, &st) < 0)
		return skiff_error_set(err, errno, "seccomp.compile", "fstat of the BPF memfd");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > SECCOMP_BPF_MAX_INSNS)
		return skiff_error_set(err, E2BIG, "seccomp.compile",
				       "linux.seccomp compiles to %lld instructions, and the "
				       "kernel takes at most %d: remove rules or architectures",
				       (long long)(st.st_size / (off_t)sizeof(struct sock_filter)),
				       SECCOMP_BPF_MAX_INSNS);
	buf = xmalloc((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		return skiff_error_set(err, errno ? errno : EIO, "seccomp.compile",
				       "cannot read the BPF program back");
	*n = (size_t)st.st_size / sizeof(struct sock_filter);
	*insns = steal_pointer(&buf);
	return 0;
}

/* ---- SCMP_ACT_NOTIFY: the listener --------------------------------------- */

static int connect_listener(const char *path, struct skiff_error **err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(addr.sun_path))
		return skiff_error_set(err, ENAMETOOLONG, "seccomp.notify",
				       "linux.seccomp.listenerPath: %s is too long for a unix "
				       "socket path", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return skiff_error_set(err, errno, "seccomp.notify",
				       "cannot connect to the seccomp agent at %s "
				       "(linux.seccomp.listenerPath): is it running?", path);
	return steal_fd(&fd);
}

/* runc's message: a ContainerProcessState (runtime-spec) as the payload,
 * the listener fd as SCM_RIGHTS.  Built now; the pids are filled in by the
 * init, which alone knows its own. */
static json_t *notify_state(const struct spec *s, const char *id, const char *bundle)
{
	const struct spec_seccomp *sc = s->linux_->seccomp;
	json_t *ann = json_object();

	for (size_t i = 0; i < s->n_annotations; i++)
		json_object_set_new(ann, s->annotations[i].key,
				    json_string(s->annotations[i].value));
	return json_pack("{s:s, s:[s], s:i, s:s, s:{s:s, s:s, s:s, s:i, s:s, s:o}}",
			 "ociVersion", SKIFF_OCI_VERSION, "fds", "seccompFd", "pid", 0,
			 "metadata", sc->listener_metadata ? sc->listener_metadata : "",
			 "state", "ociVersion", SKIFF_OCI_VERSION, "id", id,
			 "status", "running", "pid", 0, "bundle", bundle,
			 "annotations", ann);
}

static int send_listener_fd(struct seccomp_filter *f, int notify_fd, struct skiff_error **err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	_cleanup_free_ char *payload = NULL;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	json_object_set_new(f->notify_state, "pid", json_integer(f->init_pid));
	json_object_set_new(json_object_get(f->notify_state, "state"), "pid",
			    json_integer(f->init_pid));
	payload = json_dumps(f->notify_state, JSON_COMPACT);
	if (payload == NULL)
		abort();
	iov = (struct iovec){ .iov_base = payload, .iov_len = strlen(payload) };
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &notify_fd, sizeof(int));
	if (sendmsg(f->listener_fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		return skiff_error_set(err, errno, "seccomp.notify",
				       "cannot send the seccomp notify fd to the agent "
				       "(linux.seccomp.listenerPath)");
	return 0;
}

/* ---- the runtime's side: before fork ---------------------------------------- */

int seccomp_filter_prepare(const struct spec *s, const char *id, const char *bundle,
			   struct seccomp_filter **out, struct skiff_error **err)
{
	const struct spec_seccomp *sc = s->linux_ ? s->linux_->seccomp : NULL;
	_cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
	_cleanup_free_ char *key = NULL;
	_cleanup_close_ int cachefd = -1;
	uint64_t t0 = now_ns();

	*out = NULL;
	if (sc == NULL)
		return 0;
	f = xzalloc(sizeof(*f));
	f->listener_fd = -1;
	f->flags = seccomp_load_flags(sc);
	if ((f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) && sc->listener_path == NULL)
		return skiff_error_set(err, EINVAL, "spec.invalid",
				       "config.json: linux.seccomp.listenerPath: required when a rule uses "
				       "SCMP_ACT_NOTIFY (the unix socket of the seccomp agent)");
	cachefd = seccomp_cache_open();
	if (cachefd >= 0) {
		key = seccomp_cache_key(sc);
		if (seccomp_cache_read(cachefd, key, &f->insns, &f->n_insns) == 0)
			log_debug("seccomp: cached filter %.12s…: %zu instructions, %.3f ms",
				  key, f->n_insns, (double)(now_ns() - t0) / 1e6);
	}
	if (f->insns == NULL) {
		if (seccomp_compile(sc, &f->insns, &f->n_insns, err) < 0)
			return skiff_error_prefix(err, "config.json: ");
		log_debug("seccomp: compiled the filter: %zu instructions, %.3f ms",
			  f->n_insns, (double)(now_ns() - t0) / 1e6);
		if (cachefd >= 0)
			seccomp_cache_write(cachefd, key, f->insns, f->n_insns);
	}
	if (f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		f->listener_fd = connect_listener(sc->listener_path, err);
		if (f->listener_fd < 0)
			return -1;
		f->notify_state = notify_state(s, id, bundle);
	}
	*out = steal_pointer(&f);
	return 0;
}

void seccomp_filter_free(struct seccomp_filter *f)
{
	if (f == NULL)
		return;
	free(f->insns);
	if (f->listener_fd >= 0)
		close(f->listener_fd);
	json_decref(f->notify_state);
	free(f);
}

/* ---- the init's side -------------------------------------------------------- */

void seccomp_filter_note_init_pid(struct seccomp_filter *f)
{
	char buf[32];
	ssize_t n;

	if (f == NULL || f->listener_fd < 0)
		return;
	/* Still the runtime's /proc (before pivot_root): /proc/self names us
	 * by our pid in the runtime's pid namespace, the one the agent sees. */
	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		f->init_pid = (pid_t)strtol(buf, NULL, 10);
	}
}

bool seccomp_filter_prog(const struct seccomp_filter *f, struct sock_fprog *prog)
{
	*prog = (struct sock_fprog){ .len = (unsigned short)f->n_insns, .filter = f->insns };
	return !(f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

unsigned int seccomp_filter_flags(const struct seccomp_filter *f)
{
	return f->flags;
}

int seccomp_filter_load_error(struct skiff_error **err)
{
	return skiff_error_set(err, errno, "seccomp.load",
			       "the kernel refused the seccomp filter (linux.seccomp)%s",
			       errno == EACCES ? ": loading it needs no_new_privileges or "
			       "CAP_SYS_ADMIN" : errno == EINVAL ? ": a flag of "
			       "linux.seccomp.flags or an action is too new for this kernel"
			       : "");
}

int seccomp_filter_install(struct seccomp_filter *f, struct skiff_error **err)
{
	struct sock_fprog prog;
	int fd;

	seccomp_filter_prog(f, &prog);
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog);
	if (fd < 0)
		return seccomp_filter_load_error(err);
	if (f->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		int rc = send_listener_fd(f, fd, err);

		close(fd);
		close(f->listener_fd);
		f->listener_fd = -1;
		if (rc < 0)
			return -1;
	}
	return 0;
}
