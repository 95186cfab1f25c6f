/* Unit tests of a pull's progress output: exact lines and JSON, and the
 * structure of the bars (lines, cursor moves, rate limit, the final state)
 * with a fake clock and a fixed width. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/image-internal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define U1 "sha256:aaaa111111111111111111111111111111111111111111111111111111111111"
#define U2 "sha256:bbbb222222222222222222222222222222222222222222222222222222222222"

static uint64_t fake_ns;

static uint64_t fake_clock(void)
{
	return fake_ns;
}

struct capture {
	char *buf;
	size_t len;
	FILE *f;
	struct progress *p;
};

static void capture_open(struct capture *c, enum image_progress mode, unsigned width)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	fake_ns = 1000000000ull;
	c->p = progress_new(mode, c->f);
	progress_set_clock(c->p, fake_clock);
	progress_set_width(c->p, width);
}

static void capture_close(struct capture *c)
{
	progress_free(c->p);
	fclose(c->f);
	free(c->buf);
}

static const struct descriptor d1 = { .digest = (char *)D1, .size = 2000000 };
static const struct descriptor d2 = { .digest = (char *)D2, .size = 500 };

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void test_lines(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_LINES, 80);
	progress_layer_begin(c.p, 0, &d1, U1);
	progress_layer_begin(c.p, 1, &d2, U2);
	progress_layer_bytes(c.p, 0, 1000);
	progress_layer_end(c.p, 0, "unpacked", 2000000, 0.5);
	progress_layer_end(c.p, 1, "exists", 0, 0);
	progress_done(c.p, "localhost/x:latest", D1, D2);
	fflush(c.f);
	assert_string_equal(c.buf,
		"layer sha256:111111111111: unpacked 2.0 MB in 0.50s\n"
		"layer sha256:222222222222: already in the store\n"
		"stored localhost/x:latest\n");
	capture_close(&c);
}

static void test_json(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_JSON, 80);
	progress_layer_begin(c.p, 0, &d1, U1);
	progress_layer_end(c.p, 0, "unpacked", 2000000, 0.5);
	progress_done(c.p, "localhost/x:latest", D1, D2);
	fflush(c.f);
	assert_string_equal(c.buf,
		"{\"event\":\"layer\",\"digest\":\"" D1 "\",\"diff_id\":\"" U1 "\","
		"\"status\":\"unpacked\",\"bytes\":2000000,\"size\":2000000,\"seconds\":0.5}\n"
		"{\"event\":\"done\",\"name\":\"localhost/x:latest\",\"id\":\"" D1 "\","
		"\"manifest\":\"" D2 "\"}\n");
	capture_close(&c);
}

static void test_quiet(void **state)
{
	struct capture c;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_QUIET, 80);
	progress_layer_begin(c.p, 0, &d1, U1);
	progress_layer_bytes(c.p, 0, 1000);
	progress_layer_end(c.p, 0, "unpacked", 2000000, 0.5);
	progress_done(c.p, "localhost/x:latest", D1, D2);
	fflush(c.f);
	assert_int_equal(c.len, 0);
	capture_close(&c);
}

/* The lines of a draw: what follows the last "\r\033[2K" of each line. */
static char **screen_lines(const char *out, size_t *n)
{
	char *copy = xstrdup(out), *save = NULL, **v = NULL;

	*n = 0;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *k = strstr(l, "\r\033[2K");

		while (k && strstr(k + 1, "\r\033[2K"))
			k = strstr(k + 1, "\r\033[2K");
		v = xrealloc(v, (*n + 1) * sizeof(char *));
		v[(*n)++] = xstrdup(k ? k + 5 : l);
	}
	free(copy);
	return v;
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void test_bars_rate_limit(void **state)
{
	struct capture c;
	size_t n, at;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_BARS, 80);
	progress_set_layers(c.p, 2);
	progress_layer_begin(c.p, 0, &d1, U1);
	fflush(c.f);
	/* The first event draws: one layer line and the total, no move up. */
	assert_int_equal(count(c.buf, "\n"), 2);
	assert_int_equal(count(c.buf, "\033[2K"), 2);
	assert_int_equal(count(c.buf, "\033[2A"), 0);
	assert_non_null(strstr(c.buf, "111111111111 ["));
	assert_non_null(strstr(c.buf, "0/2 layers"));

	/* A thousand chunks within 50 ms: no redraw. */
	at = c.len;
	for (int i = 1; i <= 1000; i++) {
		fake_ns += 50000;
		progress_layer_bytes(c.p, 0, (uint64_t)i * 1000);
	}
	fflush(c.f);
	assert_int_equal(c.len, at);

	/* 100 ms after the last draw: one redraw, over the two lines. */
	fake_ns = 1000000000ull + 100000000ull;
	progress_layer_bytes(c.p, 0, 1000000);
	fflush(c.f);
	assert_int_equal(count(c.buf, "\033[2A"), 1);
	assert_non_null(strstr(c.buf + at, " 50%"));
	/* 1 MB in 0.1 s. */
	assert_non_null(strstr(c.buf + at, "10.0 MB/s"));
	assert_non_null(strstr(c.buf + at, "1.0 MB / 2.0 MB"));

	/* A begin within the rate limit waits; an end always draws. */
	fake_ns += 10000000;
	progress_layer_begin(c.p, 1, &d2, U2);
	fflush(c.f);
	assert_int_equal(count(c.buf, "\033[2A"), 1);
	fake_ns += 10000000;
	progress_layer_end(c.p, 1, "exists", 0, 0);
	fflush(c.f);
	assert_int_equal(count(c.buf, "\033[2A"), 2);
	assert_int_equal(count(c.buf, "\033[3A"), 0);

	/* Three lines now: the next draw moves up over three. */
	fake_ns += 1000000000ull;
	progress_layer_bytes(c.p, 0, 2000000);
	fflush(c.f);
	assert_int_equal(count(c.buf, "\033[3A"), 1);
	at = c.len;
	progress_layer_end(c.p, 0, "unpacked", 2000000, 1.2);
	progress_done(c.p, "localhost/x:latest", D1, D2);
	fflush(c.f);
	{
		char **v = screen_lines(c.buf + at, &n);
		const char *full = "[====================]";   /* 80 - 60 */

		/* Two draws of three lines, then "stored". */
		assert_int_equal(n, 7);
		assert_string_equal(v[6], "stored localhost/x:latest");
		for (size_t i = 3; i < 6; i++) {
			assert_true(strlen(v[i]) <= 79);
			assert_non_null(strstr(v[i], full));
		}
		assert_non_null(strstr(v[3], "111111111111 ["));
		assert_non_null(strstr(v[3], "2.0 MB / 2.0 MB"));
		assert_non_null(strstr(v[3], "unpacked"));
		assert_non_null(strstr(v[4], "222222222222 ["));
		assert_non_null(strstr(v[4], "500 B / 500 B"));
		assert_non_null(strstr(v[4], "exists"));
		assert_non_null(strstr(v[5], "total        ["));
		assert_non_null(strstr(v[5], "2.0 MB / 2.0 MB"));
		assert_non_null(strstr(v[5], "2/2 layers"));
		free_lines(v, n);
	}
	/* progress_free after done draws nothing more. */
	at = c.len;
	progress_free(c.p);
	c.p = NULL;
	fflush(c.f);
	assert_int_equal(c.len, at);
	capture_close(&c);
}

/* A local source calls only begin and end: the bars still end full. */
static void test_bars_no_bytes(void **state)
{
	struct capture c;
	size_t n;
	char **v;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_BARS, 100);
	progress_layer_begin(c.p, 0, &d1, U1);
	fflush(c.f);
	assert_non_null(strstr(c.buf, "0 B / 2.0 MB"));
	assert_non_null(strstr(c.buf, "  0%"));
	assert_null(strstr(c.buf, "="));
	fake_ns += 300000000ull;
	progress_layer_end(c.p, 0, "unpacked", 2000000, 0.25);
	progress_done(c.p, "n", D1, D2);
	fflush(c.f);
	v = screen_lines(c.buf, &n);
	/* begin, end, done: three draws of two lines, and "stored". */
	assert_int_equal(n, 7);
	assert_int_equal(count(c.buf, "\033[2A"), 2);
	for (size_t i = 0; i < 6; i++)
		assert_true(strlen(v[i]) <= 99);
	assert_non_null(strstr(v[4], "2.0 MB / 2.0 MB"));
	assert_non_null(strstr(v[4], "8.0 MB/s"));
	assert_non_null(strstr(v[4], "unpacked"));
	assert_null(strstr(v[4], " ]"));
	assert_non_null(strstr(v[5], "1/1 layers"));
	assert_null(strstr(v[5], " ]"));
	free_lines(v, n);
	capture_close(&c);
}

/* A narrow terminal: no bar, and no line that wraps. */
static void test_bars_narrow(void **state)
{
	struct capture c;
	size_t n;
	char **v;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_BARS, 40);
	progress_layer_begin(c.p, 0, &d1, U1);
	progress_layer_end(c.p, 0, "unpacked", 2000000, 0.25);
	fflush(c.f);
	v = screen_lines(c.buf, &n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(v[i]) <= 39);
		assert_null(strchr(v[i], '['));
	}
	free_lines(v, n);
	capture_close(&c);
}

/* A failed pull never calls done: free leaves the last state drawn. */
static void test_bars_failed_pull(void **state)
{
	struct capture c;
	size_t at;

	(void)state;
	capture_open(&c, IMAGE_PROGRESS_BARS, 80);
	progress_layer_begin(c.p, 0, &d1, U1);
	fake_ns += 1000;
	progress_layer_bytes(c.p, 0, 700000);
	fflush(c.f);
	at = c.len;
	assert_null(strstr(c.buf, "700.0 kB"));
	progress_free(c.p);
	c.p = NULL;
	fflush(c.f);
	assert_true(c.len > at);
	assert_non_null(strstr(c.buf + at, "\033[2A"));
	assert_non_null(strstr(c.buf + at, "700.0 kB / 2.0 MB"));
	assert_non_null(strstr(c.buf + at, "0/1 layers"));
	capture_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_bars_rate_limit),
		cmocka_unit_test(test_bars_no_bytes),
		cmocka_unit_test(test_bars_narrow),
		cmocka_unit_test(test_bars_failed_pull),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
