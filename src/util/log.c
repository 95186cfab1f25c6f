/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <skiff/util.h>

static const char *log_program = "skiff";
static enum skiff_log_level log_level = SKIFF_LOG_WARNING;
static int log_fd = -1;
static enum skiff_log_format log_format = SKIFF_LOG_TEXT;

static const char *const level_names[] = {
	[SKIFF_LOG_ERROR] = "error", [SKIFF_LOG_WARNING] = "warning",
	[SKIFF_LOG_INFO] = "info", [SKIFF_LOG_DEBUG] = "debug",
};

void skiff_log_init(const char *program, enum skiff_log_level level)
{
	log_program = program;
	log_level = level;
}

bool skiff_log_debug_enabled(void)
{
	return log_level >= SKIFF_LOG_DEBUG;
}

int skiff_log_set_file(const char *path, enum skiff_log_format fmt,
		       struct skiff_error **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return skiff_error_set(err, errno, "cli.log_file",
				       "cannot open the log file %s (--log)", path);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	log_format = fmt;
	return 0;
}

static void log_to_file(enum skiff_log_level level, const char *msg)
{
	char stamp[64];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec);
	if (log_format == SKIFF_LOG_JSON) {
		/* runc's contract, read back by containerd and Podman. */
		json_t *o = json_pack("{s:s, s:s, s:s}", "level",
				      level_names[level], "msg", msg, "time", stamp);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

		if (line != NULL) {
			size_t n = strlen(line);

			line[n] = '\n';
			(void)!write_all(log_fd, line, n + 1);
			line[n] = '\0';
		}
		free(line);
		json_decref(o);
	} else {
		_cleanup_free_ char *line = xasprintf("%s %s: %s\n", stamp,
						      level_names[level], msg);

		(void)!write_all(log_fd, line, strlen(line));
	}
}

/* One message, one line: control characters in an input that a message
 * quotes (an id with a newline) are shown escaped, so that a reader of
 * stderr or of the JSON log sees "skiff: MESSAGE [ID]" whole. */
static char *escape_controls(const char *msg)
{
	char *out = xmalloc(strlen(msg) * 4 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static void log_message(enum skiff_log_level level, const char *raw)
{
	_cleanup_free_ char *msg = escape_controls(raw);
	int saved = errno;

	if (level <= log_level) {
		_cleanup_free_ char *line = level == SKIFF_LOG_ERROR
			? xasprintf("%s: %s\n", log_program, msg)
			: xasprintf("%s: %s: %s\n", log_program, level_names[level], msg);

		(void)!write_all(STDERR_FILENO, line, strlen(line));
	}
	if (log_fd >= 0 && level <= (log_level > SKIFF_LOG_INFO ? log_level : SKIFF_LOG_INFO))
		log_to_file(level, msg);
	errno = saved;
}

void skiff_log(enum skiff_log_level level, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg != NULL)
		log_message(level, msg);
}

void skiff_log_error(const struct skiff_error *e)
{
	_cleanup_free_ char *text = skiff_error_text(e);
	_cleanup_free_ char *msg = xasprintf("%s [%s]", text, e->id);

	log_message(SKIFF_LOG_ERROR, msg);
}
