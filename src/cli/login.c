/* SPDX-License-Identifier: GPL-2.0-or-later */
/* skiff login / logout: credentials for registries, kept in the
 * containers-auth.json file Podman and skopeo use too. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <skiff/image.h>

#include "cli/cli.h"

enum { OPT_AUTHFILE = 2000, OPT_CERT_DIR, OPT_TLS_VERIFY, OPT_PASSWORD_STDIN };

static int login_usage(struct skiff_error **err, const char *cmd, const char *what)
{
	return skiff_error_set(err, 0, "cli.usage", "%s: %s (see skiff %s --help)", cmd, what, cmd);
}

static int args(int argc, char **argv, int n, const char *cmd, struct skiff_error **err)
{
	if (argc - optind < n)
		return login_usage(err, cmd, "a registry (HOST[:PORT]) is needed");
	if (argc - optind > n) {
		_cleanup_free_ char *w = xasprintf("unexpected argument \"%s\"", argv[optind + n]);

		return login_usage(err, cmd, w);
	}
	return 0;
}

static int option_error(char **argv, const char *cmd, struct skiff_error **err)
{
	_cleanup_free_ char *w = xasprintf("unknown option or missing value in \"%s\"",
					   argv[optind - 1]);

	return login_usage(err, cmd, w);
}

/* One line of f, without its newline. */
static int read_line(FILE *f, char **out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);

	if (n < 0) {
		free(line);
		return -1;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*out = line;
	return 0;
}

int cli_read_password(const char *user, char **out, struct skiff_error **err)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	int rc;

	if (tty) {
		fprintf(stderr, "Password for %s: ", user);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	rc = read_line(stdin, out);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc < 0)
		return skiff_error_set(err, 0, "cli.usage",
				       "no password for %s: give it on the terminal, with "
				       "--password-stdin, or with -p", user);
	return 0;
}

int cli_cmd_login(int argc, char **argv, struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
		{ "cert-dir", required_argument, NULL, OPT_CERT_DIR },
		{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
		{ NULL, 0, NULL, 0 },
	};
	struct image_login_options o = { 0 };
	_cleanup_free_ char *user = NULL, *pass = NULL;
	bool from_stdin = false;
	int c, rc;

	FOR_EACH_OPT(c, argc, argv, "u:p:h", opts) {
		switch (c) {
		case OPT_AUTHFILE: o.authfile = optarg; break;
		case 'u':
			free(user);
			user = xstrdup(optarg);
			break;
		case 'p':
			free(pass);
			pass = xstrdup(optarg);
			break;
		case OPT_PASSWORD_STDIN: from_stdin = true; break;
		case OPT_CERT_DIR: o.cert_dir = optarg; break;
		case OPT_TLS_VERIFY:
			if (cli_tls_verify(optarg, &o.tls_verify, err) < 0)
				return -1;
			break;
		default: return option_error(argv, "login", err);
		}
	}
	if (args(argc, argv, 1, "login", err) < 0)
		return -1;
	if (pass && from_stdin)
		return skiff_error_set(err, 0, "cli.usage",
				       "login: --password and --password-stdin exclude each other");
	if (user == NULL) {
		if (from_stdin)
			return skiff_error_set(err, 0, "cli.usage",
					       "login: --password-stdin needs --username");
		if (isatty(STDIN_FILENO))
			fprintf(stderr, "Username: ");
		if (read_line(stdin, &user) < 0 || *user == '\0')
			return skiff_error_set(err, 0, "cli.usage",
					       "login: no user name: give one with --username");
	}
	if (pass == NULL && from_stdin) {
		if (read_line(stdin, &pass) < 0)
			return skiff_error_set(err, 0, "cli.usage",
					       "login: --password-stdin: stdin is empty");
	} else if (pass == NULL && cli_read_password(user, &pass, err) < 0) {
		return -1;
	}
	rc = image_login(argv[optind], user, pass, &o, err);
	explicit_bzero(pass, strlen(pass));
	if (rc < 0)
		return -1;
	printf("Login Succeeded\n");
	return 0;
}

int cli_cmd_logout(int argc, char **argv, struct skiff_error **err)
{
	static const struct option opts[] = {
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ char *file = NULL;
	const char *authfile = NULL;
	bool all = false;
	int c;

	FOR_EACH_OPT(c, argc, argv, "ah", opts) {
		switch (c) {
		case OPT_AUTHFILE: authfile = optarg; break;
		case 'a': all = true; break;
		default: return option_error(argv, "logout", err);
		}
	}
	if (args(argc, argv, all ? 0 : 1, "logout", err) < 0)
		return -1;
	if (image_logout(all ? NULL : argv[optind], all, authfile, &file, err) < 0)
		return -1;
	if (all)
		printf("Removed login credentials for all registries\n");
	else
		printf("Removed login credentials for %s\n", argv[optind]);
	return 0;
}
