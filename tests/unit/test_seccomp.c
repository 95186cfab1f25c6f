/* Unit tests of the seccomp translation, without loading a filter: the
 * names of actions, operators and architectures; load flags; the BPF that
 * libseccomp builds from a profile, run here by a small classic-BPF
 * interpreter against chosen syscalls (the argument filters, the ENOSYS
 * extension, skiff's default profile); the cache key and the cache. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/runtime-internal.h"

#ifndef SECCOMP_PROFILE_DIR
#error "SECCOMP_PROFILE_DIR must be defined"
#endif

/* ---- helpers ------------------------------------------------------------- */

/* A spec with PROFILE as linux.seccomp, through the real parser. */
static struct spec *spec_with(const char *profile)
{
	struct spec_default_opts o = { .uid = 1000, .gid = 1000, .seccomp_json = profile };
	_cleanup_free_ char *json = spec_default_json(&o);
	struct skiff_error *err = NULL;
	struct spec *s = NULL;

	assert_non_null(json);
	if (spec_parse(json, strlen(json), "config.json", &s, &err) < 0) {
		_cleanup_free_ char *msg = xstrdup(err->msg);

		skiff_error_free(err);
		fail_msg("unexpected error: %s", msg);
	}
	return s;
}

struct program {
	struct sock_filter *insns;
	size_t n;
};

static struct program compile_ok(const char *profile)
{
	_cleanup_spec_ struct spec *s = spec_with(profile);
	struct skiff_error *err = NULL;
	struct program p = { 0 };

	if (seccomp_compile(s->linux_->seccomp, &p.insns, &p.n, &err) < 0) {
		_cleanup_free_ char *msg = xstrdup(err->msg);

		skiff_error_free(err);
		fail_msg("unexpected error: %s", msg);
	}
	return p;
}

/* The error of compiling PROFILE; the caller frees it. */
static struct skiff_error *compile_error(const char *profile)
{
	_cleanup_spec_ struct spec *s = spec_with(profile);
	_cleanup_free_ struct sock_filter *insns = NULL;
	struct skiff_error *err = NULL;
	size_t n;

	assert_int_equal(seccomp_compile(s->linux_->seccomp, &insns, &n, &err), -1);
	assert_non_null(err);
	return err;
}

/* A classic BPF interpreter, enough for what libseccomp emits. */
static uint32_t bpf_run(const struct program *p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (size_t pc = 0; pc < p->n; pc++) {
		const struct sock_filter *i = &p->insns[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;
		bool t = false;

		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
			if (BPF_MODE(i->code) == BPF_ABS) {
				assert_true(i->k + 4 <= sizeof(*d));
				memcpy(&a, (const char *)d + i->k, 4);
			} else if (BPF_MODE(i->code) == BPF_IMM) {
				a = i->k;
			} else if (BPF_MODE(i->code) == BPF_MEM) {
				a = mem[i->k];
			} else {
				fail_msg("unexpected load mode %#x", i->code);
			}
			break;
		case BPF_LDX:
			x = BPF_MODE(i->code) == BPF_MEM ? mem[i->k] : i->k;
			break;
		case BPF_ST:
			mem[i->k] = a;
			break;
		case BPF_STX:
			mem[i->k] = x;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a <<= src; break;
			case BPF_RSH: a >>= src; break;
			default: fail_msg("unexpected alu op %#x", i->code);
			}
			break;
		case BPF_JMP:
			if (BPF_OP(i->code) == BPF_JA) {
				pc += i->k;
				break;
			}
			switch (BPF_OP(i->code)) {
			case BPF_JEQ: t = a == src; break;
			case BPF_JGT: t = a > src; break;
			case BPF_JGE: t = a >= src; break;
			case BPF_JSET: t = (a & src) != 0; break;
			default: fail_msg("unexpected jump %#x", i->code);
			}
			pc += t ? i->jt : i->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? a : i->k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	fail_msg("the program ran off its end");
	return 0;
}

static int nr_of(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(seccomp_arch_native(), name);

	assert_true(nr >= 0);
	return nr;
}

/* The action for a native syscall NAME with arguments a0 and a1. */
static uint32_t verdict(const struct program *p, const char *name, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .nr = nr_of(name), .arch = seccomp_arch_native(),
				  .args = { a0, a1 } };

	return bpf_run(p, &d);
}

#define ALLOW SCMP_ACT_ALLOW
#define ERRNO(e) SCMP_ACT_ERRNO(e)

/* ---- names ---------------------------------------------------------------- */

static void test_actions(void **state)
{
	static const struct { const char *name; bool has; uint32_t ret, want; } cases[] = {
		{ "SCMP_ACT_ALLOW", false, 0, SCMP_ACT_ALLOW },
		{ "SCMP_ACT_KILL", false, 0, SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_THREAD", false, 0, SCMP_ACT_KILL_THREAD },
		{ "SCMP_ACT_KILL_PROCESS", false, 0, SCMP_ACT_KILL_PROCESS },
		{ "SCMP_ACT_TRAP", false, 0, SCMP_ACT_TRAP },
		{ "SCMP_ACT_LOG", false, 0, SCMP_ACT_LOG },
		{ "SCMP_ACT_NOTIFY", false, 0, SCMP_ACT_NOTIFY },
		/* ERRNO and TRACE default to EPERM, as in runc and crun. */
		{ "SCMP_ACT_ERRNO", false, 0, SCMP_ACT_ERRNO(EPERM) },
		{ "SCMP_ACT_ERRNO", true, ENOSYS, SCMP_ACT_ERRNO(ENOSYS) },
		{ "SCMP_ACT_ERRNO", true, 0, SCMP_ACT_ERRNO(0) },
		{ "SCMP_ACT_TRACE", false, 0, SCMP_ACT_TRACE(EPERM) },
		{ "SCMP_ACT_TRACE", true, 42, SCMP_ACT_TRACE(42) },
	};
	uint32_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(seccomp_action_value(cases[i].name, cases[i].has,
						      cases[i].ret, &v), 0);
		assert_int_equal(v, cases[i].want);
	}
	assert_int_equal(seccomp_action_value("SCMP_ACT_MAYBE", false, 0, &v), -1);
	assert_int_equal(seccomp_action_value("allow", false, 0, &v), -1);
}

static void test_ops(void **state)
{
	(void)state;
	assert_int_equal(seccomp_op_value("SCMP_CMP_NE"), SCMP_CMP_NE);
	assert_int_equal(seccomp_op_value("SCMP_CMP_LT"), SCMP_CMP_LT);
	assert_int_equal(seccomp_op_value("SCMP_CMP_LE"), SCMP_CMP_LE);
	assert_int_equal(seccomp_op_value("SCMP_CMP_EQ"), SCMP_CMP_EQ);
	assert_int_equal(seccomp_op_value("SCMP_CMP_GE"), SCMP_CMP_GE);
	assert_int_equal(seccomp_op_value("SCMP_CMP_GT"), SCMP_CMP_GT);
	assert_int_equal(seccomp_op_value("SCMP_CMP_MASKED_EQ"), SCMP_CMP_MASKED_EQ);
	assert_int_equal(seccomp_op_value("SCMP_CMP_EQUAL"), -1);
}

static void test_architectures(void **state)
{
	uint32_t native = seccomp_arch_native();

	(void)state;
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_X86_64"), SCMP_ARCH_X86_64);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_X86"), SCMP_ARCH_X86);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_X32"), SCMP_ARCH_X32);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_AARCH64"), SCMP_ARCH_AARCH64);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_ARM"), SCMP_ARCH_ARM);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_S390X"), SCMP_ARCH_S390X);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_MIPSEL64N32"), SCMP_ARCH_MIPSEL64N32);
	assert_int_equal(seccomp_arch_value("SCMP_ARCH_VAX"), 0);
	assert_int_equal(seccomp_arch_value("X86_64"), 0);
	assert_true(seccomp_arch_runs_here(native, native));
	/* A kernel runs its compat ABIs, never another family's. */
	assert_true(seccomp_arch_runs_here(SCMP_ARCH_X86, SCMP_ARCH_X86_64));
	assert_true(seccomp_arch_runs_here(SCMP_ARCH_X32, SCMP_ARCH_X86_64));
	assert_true(seccomp_arch_runs_here(SCMP_ARCH_ARM, SCMP_ARCH_AARCH64));
	assert_false(seccomp_arch_runs_here(SCMP_ARCH_AARCH64, SCMP_ARCH_X86_64));
	assert_false(seccomp_arch_runs_here(SCMP_ARCH_X86_64, SCMP_ARCH_X86));
	assert_false(seccomp_arch_runs_here(SCMP_ARCH_ARM, SCMP_ARCH_X86_64));
}

static void test_flags(void **state)
{
	_cleanup_spec_ struct spec *plain = spec_with(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\","
		" \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}");
	_cleanup_spec_ struct spec *notify = spec_with(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/run/agent.sock\","
		" \"flags\": [\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\", \"SECCOMP_FILTER_FLAG_TSYNC\"],"
		" \"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");

	(void)state;
	/* Without a listener, WAIT_KILLABLE_RECV means nothing: dropped. */
	assert_int_equal(seccomp_load_flags(plain->linux_->seccomp),
			 SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	assert_int_equal(seccomp_load_flags(notify->linux_->seccomp),
			 SECCOMP_FILTER_FLAG_NEW_LISTENER | (1U << 5) |
			 SECCOMP_FILTER_FLAG_TSYNC | (1U << 4));
}

/* ---- what the filters decide ---------------------------------------------- */

static void test_unknown_names_are_skipped(void **state)
{
	struct program p = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"syscalls\": ["
		"{\"names\": [\"no_such_syscall\", \"getpid\", \"syscall_of_2040\"],"
		" \"action\": \"SCMP_ACT_ALLOW\"}]}");

	(void)state;
	assert_int_equal(verdict(&p, "getpid", 0, 0), ALLOW);
	free(p.insns);
}

static void test_args(void **state)
{
	/* personality: the same index twice is two alternatives (runc, crun);
	 * two indexes are both required. */
	struct program p = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},"
		"  {\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},"
		"{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"},"
		"  {\"index\": 1, \"value\": 15, \"op\": \"SCMP_CMP_EQ\"}]},"
		"{\"names\": [\"setpgid\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 255, \"valueTwo\": 4, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 10, \"op\": \"SCMP_CMP_LT\"}]},"
		"{\"names\": [\"dup2\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 9, \"args\": ["
		"  {\"index\": 1, \"value\": 10, \"op\": \"SCMP_CMP_GE\"}]},"
		"{\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 2, \"op\": \"SCMP_CMP_NE\"}]},"
		"{\"names\": [\"umask\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 18, \"op\": \"SCMP_CMP_LE\"}]},"
		"{\"names\": [\"fsync\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"  {\"index\": 0, \"value\": 18, \"op\": \"SCMP_CMP_GT\"}]}]}");

	(void)state;
	assert_int_equal(verdict(&p, "personality", 0, 0), ALLOW);
	assert_int_equal(verdict(&p, "personality", 8, 0), ALLOW);
	assert_int_equal(verdict(&p, "personality", 0xffffffff, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "personality", 0x100000000ULL, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "kill", 1, 15), ALLOW);
	assert_int_equal(verdict(&p, "kill", 1, 9), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "kill", 2, 15), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "setpgid", 0x104, 0), ALLOW);
	assert_int_equal(verdict(&p, "setpgid", 0x105, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "dup", 9, 0), ALLOW);
	assert_int_equal(verdict(&p, "dup", 10, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "dup2", 0, 10), ERRNO(9));
	assert_int_equal(verdict(&p, "dup2", 0, 9), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "close", 3, 0), ALLOW);
	assert_int_equal(verdict(&p, "close", 2, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "umask", 18, 0), ALLOW);
	assert_int_equal(verdict(&p, "umask", 19, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "fsync", 19, 0), ALLOW);
	assert_int_equal(verdict(&p, "fsync", 18, 0), ERRNO(EPERM));
	free(p.insns);
}

static void test_rule_with_default_action_is_skipped(void **state)
{
	struct program p = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}");

	(void)state;
	assert_int_equal(verdict(&p, "getpid", 0, 0), ALLOW);
	assert_int_equal(verdict(&p, "mount", 0, 0), SCMP_ACT_KILL_PROCESS);
	free(p.insns);
}

/* Syscalls numbered above every syscall the profile names are newer than
 * it: ENOSYS.  Those below that it does not name get the default. */
static void test_enosys_for_newer_syscalls(void **state)
{
	static const char profile[] =
		"{\"defaultAction\": \"SCMP_ACT_%s\"%s, \"syscalls\": ["
		"{\"names\": [\"read\", \"write\", \"getpid\"], \"action\": \"SCMP_ACT_%s\"}]}";
	_cleanup_free_ char *eperm = xasprintf(profile, "ERRNO", "", "ALLOW");
	_cleanup_free_ char *kill = xasprintf(profile, "KILL_PROCESS", "", "ALLOW");
	_cleanup_free_ char *allow = xasprintf(profile, "ALLOW", "", "ERRNO");
	struct program p;

	(void)state;
	assert_true(nr_of("close") < nr_of("getpid"));
	assert_true(nr_of("getrandom") > nr_of("getpid"));
	assert_true(nr_of("clone3") > nr_of("getpid"));

	p = compile_ok(eperm);
	assert_int_equal(verdict(&p, "getpid", 0, 0), ALLOW);
	assert_int_equal(verdict(&p, "close", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "getrandom", 0, 0), ERRNO(ENOSYS));
	assert_int_equal(verdict(&p, "clone3", 0, 0), ERRNO(ENOSYS));
	free(p.insns);

	/* Not for other default actions: KILL means kill. */
	p = compile_ok(kill);
	assert_int_equal(verdict(&p, "getrandom", 0, 0), SCMP_ACT_KILL_PROCESS);
	free(p.insns);
	p = compile_ok(allow);
	assert_int_equal(verdict(&p, "getpid", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "getrandom", 0, 0), ALLOW);
	free(p.insns);
}

static void test_architectures_in_filter(void **state)
{
	struct program p = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": ["
		" \"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_ARM\"],"
		" \"syscalls\": [{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	uint32_t native = seccomp_arch_native();
	struct seccomp_data d = { .nr = nr_of("getpid"), .arch = native };

	(void)state;
	assert_int_equal(bpf_run(&p, &d), ALLOW);
	if (native == SCMP_ARCH_X86_64) {
		/* The i386 ABI is in; aarch64 cannot run here and was dropped. */
		d = (struct seccomp_data){ .nr = 20 /* getpid on i386 */, .arch = SCMP_ARCH_X86 };
		assert_int_equal(bpf_run(&p, &d), ALLOW);
		d = (struct seccomp_data){ .nr = 172, .arch = SCMP_ARCH_AARCH64 };
		assert_int_equal(bpf_run(&p, &d), SCMP_ACT_KILL_THREAD);
	}
	free(p.insns);
}

static void test_bad_profiles(void **state)
{
	struct skiff_error *e;

	(void)state;
	e = compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
			  "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 70000}]}");
	assert_string_equal(e->id, "spec.invalid");
	assert_non_null(strstr(e->msg, "linux.seccomp.syscalls[0].errnoRet"));
	skiff_error_free(e);
	e = compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 65536}");
	assert_non_null(strstr(e->msg, "linux.seccomp.defaultErrnoRet"));
	skiff_error_free(e);
	/* Two rules, two actions, the same condition: libseccomp refuses. */
	e = compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
			  "{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
			  "  {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
			  "{\"names\": [\"dup\"], \"action\": \"SCMP_ACT_KILL\", \"args\": ["
			  "  {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}");
	assert_string_equal(e->id, "seccomp.rule");
	assert_non_null(strstr(e->msg, "linux.seccomp.syscalls[1]"));
	assert_non_null(strstr(e->msg, "\"dup\""));
	skiff_error_free(e);
}

static void test_notify_needs_listener(void **state)
{
	_cleanup_spec_ struct spec *s = spec_with(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
	_cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;
	_cleanup_error_ struct skiff_error *err = NULL;

	(void)state;
	assert_int_equal(seccomp_filter_prepare(s, "c1", "/b", &f, &err), -1);
	assert_null(f);
	assert_string_equal(err->id, "spec.invalid");
	assert_non_null(strstr(err->msg, "linux.seccomp.listenerPath"));
}

static void test_prepare_without_profile(void **state)
{
	struct spec_default_opts o = { .uid = 1000, .gid = 1000 };
	_cleanup_free_ char *json = spec_default_json(&o);
	_cleanup_spec_ struct spec *s = NULL;
	_cleanup_seccomp_filter_ struct seccomp_filter *f = NULL;

	(void)state;
	assert_int_equal(spec_parse(json, strlen(json), NULL, &s, NULL), 0);
	assert_int_equal(seccomp_filter_prepare(s, "c1", "/b", &f, NULL), 0);
	assert_null(f);
}

/* ---- skiff's default profile -------------------------------------------------- */

static void test_default_profile_is_the_file(void **state)
{
	struct skiff_error *err = NULL;
	_cleanup_free_ char *text = NULL;

	(void)state;
	assert_int_equal(read_file_at(AT_FDCWD, SECCOMP_PROFILE_DIR "/default.json", 1 << 20,
				      &text, NULL, &err), 0);
	assert_string_equal(text, skiff_seccomp_default_profile);
}

static void assert_strv_equal(char **a, size_t na, char **b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
	/* NULL-terminated, as the parser makes them (strv_free). */
	assert_true(a == NULL || a[na] == NULL);
	assert_true(b == NULL || b[nb] == NULL);
}

/* The built-in struct (seccomp-gen at build time) is what the parser makes
 * of the built-in text: field by field, and so the same cache key and the
 * same program. */
static void test_default_struct_is_the_parsed_text(void **state)
{
	_cleanup_spec_ struct spec *s = spec_with(skiff_seccomp_default_profile);
	const struct spec_seccomp *a = s->linux_->seccomp, *b = &skiff_seccomp_default;
	_cleanup_free_ char *ka = NULL, *kb = NULL;
	struct sock_filter *pa = NULL, *pb = NULL;
	size_t na = 0, nb = 0;

	(void)state;
	assert_string_equal(a->default_action, b->default_action);
	assert_int_equal(a->has_default_errno_ret, b->has_default_errno_ret);
	assert_int_equal(a->default_errno_ret, b->default_errno_ret);
	assert_strv_equal(a->architectures, a->n_architectures, b->architectures,
			  b->n_architectures);
	assert_strv_equal(a->flags, a->n_flags, b->flags, b->n_flags);
	assert_null(b->listener_path);
	assert_null(b->listener_metadata);
	assert_int_equal(a->n_syscalls, b->n_syscalls);
	assert_true(b->n_syscalls > 10);
	for (size_t i = 0; i < a->n_syscalls; i++) {
		const struct spec_seccomp_syscall *x = &a->syscalls[i], *y = &b->syscalls[i];

		assert_strv_equal(x->names, x->n_names, y->names, y->n_names);
		assert_string_equal(x->action, y->action);
		assert_int_equal(x->has_errno_ret, y->has_errno_ret);
		assert_int_equal(x->errno_ret, y->errno_ret);
		assert_int_equal(x->n_args, y->n_args);
		for (size_t j = 0; j < x->n_args; j++) {
			assert_int_equal(x->args[j].index, y->args[j].index);
			assert_true(x->args[j].value == y->args[j].value);
			assert_true(x->args[j].value_two == y->args[j].value_two);
			assert_string_equal(x->args[j].op, y->args[j].op);
		}
	}
	ka = seccomp_cache_key(a);
	kb = seccomp_cache_key(b);
	assert_string_equal(ka, kb);
	assert_int_equal(seccomp_compile(a, &pa, &na, NULL), 0);
	assert_int_equal(seccomp_compile(b, &pb, &nb, NULL), 0);
	assert_int_equal(na, nb);
	assert_memory_equal(pa, pb, na * sizeof(*pa));
	free(pa);
	free(pb);
}

/* spec_set_default_seccomp: a spec shares the built-in profile, and
 * spec_free leaves it alone (valgrind sees the rest freed). */
static void test_set_default_seccomp(void **state)
{
	for (int i = 0; i < 2; i++) {
		_cleanup_spec_ struct spec *s = spec_with(i == 0 ? NULL : "{\"defaultAction\": "
							  "\"SCMP_ACT_ALLOW\"}");

		(void)state;
		spec_set_default_seccomp(s);
		assert_ptr_equal(s->linux_->seccomp, &skiff_seccomp_default);
	}
	assert_string_equal(skiff_seccomp_default.syscalls[0].names[0], "read");
}

static void test_default_profile(void **state)
{
	struct program p = compile_ok(skiff_seccomp_default_profile);
	uint32_t native = seccomp_arch_native();

	(void)state;
	assert_true(p.n <= 4096);
	/* Ordinary programs. */
	assert_int_equal(verdict(&p, "read", 0, 0), ALLOW);
	assert_int_equal(verdict(&p, "execve", 0, 0), ALLOW);
	assert_int_equal(verdict(&p, "getrandom", 0, 0), ALLOW);
	assert_int_equal(verdict(&p, "clone", SIGCHLD, 0), ALLOW);
	assert_int_equal(verdict(&p, "clone", CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				 CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
				 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID, 0), ALLOW);
	assert_int_equal(verdict(&p, "unshare", CLONE_FILES, 0), ALLOW);
	assert_int_equal(verdict(&p, "personality", 0xffffffff, 0), ALLOW);
	assert_int_equal(verdict(&p, "personality", PER_LINUX, 0), ALLOW);
	assert_int_equal(verdict(&p, "socket", AF_UNIX, SOCK_STREAM), ALLOW);
	assert_int_equal(verdict(&p, "socket", AF_INET6, SOCK_DGRAM), ALLOW);
	assert_int_equal(verdict(&p, "socket", AF_NETLINK, SOCK_RAW), ALLOW);
	/* Denied groups: EPERM. */
	assert_int_equal(verdict(&p, "clone", CLONE_NEWUSER | SIGCHLD, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "clone", CLONE_NEWNET, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "unshare", CLONE_NEWUSER, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "unshare", CLONE_NEWNS | CLONE_FILES, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "unshare", 0x80 /* CLONE_NEWTIME */, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "setns", 3, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "mount", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "umount2", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "pivot_root", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "fsopen", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "keyctl", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "add_key", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "init_module", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "finit_module", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "reboot", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "kexec_load", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "clock_settime", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "settimeofday", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "ptrace", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "process_vm_readv", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "perf_event_open", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "bpf", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "userfaultfd", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "swapon", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "acct", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "quotactl", 0, 0), ERRNO(EPERM));
	assert_int_equal(verdict(&p, "open_by_handle_at", 0, 0), ERRNO(EPERM));
	/* Other socket families look absent. */
	assert_int_equal(verdict(&p, "socket", AF_PACKET, SOCK_RAW), ERRNO(EAFNOSUPPORT));
	assert_int_equal(verdict(&p, "socket", AF_VSOCK, SOCK_STREAM), ERRNO(EAFNOSUPPORT));
	assert_int_equal(verdict(&p, "socket", AF_ALG, SOCK_SEQPACKET), ERRNO(EAFNOSUPPORT));
	assert_int_equal(verdict(&p, "socket", AF_KEY, SOCK_RAW), ERRNO(EAFNOSUPPORT));
	/* clone3, io_uring and what the profile does not name: ENOSYS. */
	assert_int_equal(verdict(&p, "clone3", 0, 0), ERRNO(ENOSYS));
	assert_int_equal(verdict(&p, "io_uring_setup", 0, 0), ERRNO(ENOSYS));
	assert_int_equal(verdict(&p, "vhangup", 0, 0), ERRNO(ENOSYS));
	assert_int_equal(verdict(&p, "personality", 0x0040000 /* ADDR_NO_RANDOMIZE */, 0),
			 ERRNO(ENOSYS));
	if (native == SCMP_ARCH_X86_64) {
		/* 32-bit x86 programs work too. */
		struct seccomp_data d = { .nr = 3 /* read */, .arch = SCMP_ARCH_X86 };

		assert_int_equal(bpf_run(&p, &d), ALLOW);
		d = (struct seccomp_data){ .nr = 21 /* mount */, .arch = SCMP_ARCH_X86 };
		assert_int_equal(bpf_run(&p, &d), ERRNO(EPERM));
	}
	free(p.insns);
}

/* ---- the cache ----------------------------------------------------------------- */

/* The standard vectors, and the digest of 1000 patterned bytes (in one
 * update: the bulk path, and byte by byte: the buffered one) into out. */
static void sha256_vectors(char out[static 65])
{
	static const struct { const char *in; const char *hex; } v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	unsigned char b[1000];
	struct sha256 c;
	char hex[65];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		sha256_init(&c);
		/* In two pieces, across the block buffer. */
		sha256_update(&c, v[i].in, strlen(v[i].in) / 3);
		sha256_update(&c, v[i].in + strlen(v[i].in) / 3, strlen(v[i].in) - strlen(v[i].in) / 3);
		sha256_hex(&c, hex);
		assert_string_equal(hex, v[i].hex);
	}
	/* A million 'a', 1000 bytes at a time. */
	memset(b, 'a', sizeof(b));
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, b, sizeof(b));
	sha256_hex(&c, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 7 + 3);
	sha256_init(&c);
	sha256_update(&c, b, sizeof(b));
	sha256_hex(&c, out);
	sha256_init(&c);
	for (size_t i = 0; i < sizeof(b); i++)
		sha256_update(&c, b + i, 1);
	sha256_hex(&c, hex);
	assert_string_equal(hex, out);
}

static void test_sha256(void **state)
{
	char fast[65], portable[65];

	(void)state;
	/* Both block functions, where the CPU has the SHA extensions. */
	print_message("sha256: %s\n", sha256_impl());
	sha256_vectors(fast);
	sha256_force_portable(true);
	assert_string_equal(sha256_impl(), "portable");
	sha256_vectors(portable);
	sha256_force_portable(false);
	assert_string_equal(fast, portable);
}

static char *key_of(const char *profile)
{
	_cleanup_spec_ struct spec *s = spec_with(profile);

	return seccomp_cache_key(s->linux_->seccomp);
}

static void test_cache_key(void **state)
{
	_cleanup_free_ char *a = key_of(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"],"
		" \"action\": \"SCMP_ACT_ALLOW\"}]}");
	/* Other whitespace and key order; a listener and flags, which do not
	 * change the program. */
	_cleanup_free_ char *same = key_of(
		"{\"syscalls\":[{\"action\":\"SCMP_ACT_ALLOW\",\"names\":[\"read\"]}],"
		"\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],\"listenerPath\":\"/x\","
		"\"defaultAction\":\"SCMP_ACT_ERRNO\"}");
	_cleanup_free_ char *errno_ret = key_of(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1, \"syscalls\": ["
		"{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	_cleanup_free_ char *arg = key_of(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"],"
		" \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 0,"
		" \"op\": \"SCMP_CMP_EQ\"}]}]}");
	/* One name in two rules is not two names in one. */
	_cleanup_free_ char *split = key_of(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	_cleanup_free_ char *joined = key_of(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");

	(void)state;
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_equal(a, same);
	assert_string_not_equal(a, errno_ret);
	assert_string_not_equal(a, arg);
	assert_string_not_equal(split, joined);
}

static void test_cache_read_write(void **state)
{
	char dir[] = "/tmp/skiff-test-seccomp.XXXXXX";
	struct sock_filter prog[3] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	_cleanup_free_ struct sock_filter *back = NULL;
	_cleanup_free_ char *entry = NULL;
	_cleanup_close_ int fd = -1;
	size_t n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	entry = xasprintf("%s/k1.bpf", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(seccomp_cache_read(fd, "k1", &back, &n), -1);
	seccomp_cache_write(fd, "k1", prog, 3);
	assert_int_equal(seccomp_cache_read(fd, "k1", &back, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(back, prog, sizeof(prog));
	free(steal_pointer(&back));
	/* An entry others can write is never trusted. */
	assert_int_equal(fchmodat(fd, "k1.bpf", 0666, 0), 0);
	assert_int_equal(seccomp_cache_read(fd, "k1", &back, &n), -1);
	/* Nor a truncated one. */
	assert_int_equal(fchmodat(fd, "k1.bpf", 0600, 0), 0);
	assert_int_equal(truncate(entry, 0), 0);
	assert_int_equal(seccomp_cache_read(fd, "k1", &back, &n), -1);
	assert_int_equal(unlinkat(fd, "k1.bpf", 0), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_cache_directory(void **state)
{
	char base[] = "/tmp/skiff-test-cache.XXXXXX";
	_cleanup_free_ char *skiff = NULL, *dir = NULL;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(base));
	skiff = xasprintf("%s/skiff", base);
	dir = xasprintf("%s/skiff/seccomp", base);
	setenv("XDG_CACHE_HOME", base, 1);
	unsetenv("SKIFF_SECCOMP_CACHE");
	fd = seccomp_cache_open();
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* A directory others can write to is not used. */
	assert_int_equal(chmod(skiff, 0777), 0);
	assert_int_equal(seccomp_cache_open(), -1);
	assert_int_equal(chmod(skiff, 0700), 0);
	setenv("SKIFF_SECCOMP_CACHE", "0", 1);
	assert_int_equal(seccomp_cache_open(), -1);
	unsetenv("XDG_CACHE_HOME");
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(skiff), 0);
	assert_int_equal(rmdir(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_ops),
		cmocka_unit_test(test_architectures),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_unknown_names_are_skipped),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_rule_with_default_action_is_skipped),
		cmocka_unit_test(test_enosys_for_newer_syscalls),
		cmocka_unit_test(test_architectures_in_filter),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_notify_needs_listener),
		cmocka_unit_test(test_prepare_without_profile),
		cmocka_unit_test(test_default_profile_is_the_file),
		cmocka_unit_test(test_default_profile),
		cmocka_unit_test(test_default_struct_is_the_parsed_text),
		cmocka_unit_test(test_set_default_seccomp),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_cache_key),
		cmocka_unit_test(test_cache_read_write),
		cmocka_unit_test(test_cache_directory),
	};

	/* Never touch the user's real cache. */
	setenv("SKIFF_SECCOMP_CACHE", "0", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
