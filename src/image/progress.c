/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a pull tells the user while it runs: bars redrawn in place on a
 * terminal (--progress=bars, the default there), a line per finished layer
 * (the default when stderr is not a terminal), JSON lines for engines
 * (--progress=json), or nothing (--quiet).
 *
 * Layers are named by their index in the manifest; begin, bytes and end
 * may come for several layers at once and in any order.  bytes may come for
 * every chunk a download reads: it only stores the number and looks at the
 * clock; the bars are redrawn at most every REDRAW_NS.  A layer's end is
 * always drawn (there are few of them and each is news), as is the final
 * state, which stays on the screen. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "image/image-internal.h"

/* ~10 redraws a second, as Podman's progress bars. */
#define REDRAW_NS 100000000ull
#define DEFAULT_WIDTH 80
#define LINE_MAX_WIDTH 512
/* " 999.9 MB / 999.9 MB 999.9 MB/s " and 12 columns of state */
#define RIGHT_WIDTH 44

struct progress_layer {
	char *digest, *diff_id;
	uint64_t size, bytes;
	uint64_t begin_ns;
	double secs;                     /* from end */
	char status[16];                 /* "" until end: "exists", "unpacked" */
};

struct progress {
	enum image_progress mode;
	FILE *f;
	struct progress_layer *layers;
	size_t n_layers, n_total;
	/* bars */
	uint64_t (*now)(void);
	unsigned width;
	uint64_t start_ns, last_draw_ns;
	size_t drawn;                    /* lines on the screen to move up over */
	bool dirty;
};

static unsigned terminal_width(FILE *f)
{
	struct winsize ws;

	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return DEFAULT_WIDTH;
}

struct progress *progress_new(enum image_progress mode, FILE *f)
{
	struct progress *p = xzalloc(sizeof(*p));

	p->mode = mode;
	p->f = f ? f : stderr;
	p->now = now_ns;
	if (mode == IMAGE_PROGRESS_BARS) {
		p->width = terminal_width(p->f);
		p->start_ns = p->now();
	}
	return p;
}

void progress_set_clock(struct progress *p, uint64_t (*now)(void))
{
	p->now = now;
	p->start_ns = now();
}

void progress_set_width(struct progress *p, unsigned width)
{
	p->width = width;
}

void progress_set_layers(struct progress *p, size_t n)
{
	p->n_total = n;
}

static void draw(struct progress *p);

void progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	/* A failed pull never reaches progress_done: leave its last state. */
	if (p->mode == IMAGE_PROGRESS_BARS && p->dirty)
		draw(p);
	for (size_t i = 0; i < p->n_layers; i++) {
		free(p->layers[i].digest);
		free(p->layers[i].diff_id);
	}
	free(p->layers);
	free(p);
}

static struct progress_layer *layer_at(struct progress *p, size_t i)
{
	if (i >= p->n_layers) {
		p->layers = xrealloc(p->layers, (i + 1) * sizeof(*p->layers));
		memset(p->layers + p->n_layers, 0, (i + 1 - p->n_layers) * sizeof(*p->layers));
		p->n_layers = i + 1;
	}
	return &p->layers[i];
}

/* ---- bars --------------------------------------------------------------------- */

/* Decimal units, as the rest of skiff's output. */
static void human(uint64_t n, char *buf, size_t len)
{
	if (n >= 1000000000ull)
		snprintf(buf, len, "%.1f GB", (double)n / 1e9);
	else if (n >= 1000000ull)
		snprintf(buf, len, "%.1f MB", (double)n / 1e6);
	else if (n >= 1000ull)
		snprintf(buf, len, "%.1f kB", (double)n / 1e3);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)n);
}

static void human_rate(uint64_t bytes, double secs, char *buf, size_t len)
{
	char h[32];

	if (bytes == 0 || secs <= 0) {
		*buf = '\0';
		return;
	}
	human((uint64_t)((double)bytes / secs), h, sizeof(h));
	snprintf(buf, len, "%s/s", h);
}

/* One line: a label, a bar as wide as the terminal allows, the numbers,
 * the state.  Never wider than width - 1 columns: a line that wraps would
 * break the count of lines to move up over. */
static void format_line(const struct progress *p, char *out, const char *label,
			double frac, uint64_t bytes, uint64_t total, const char *rate,
			const char *state)
{
	char b[32], t[32], right[128], bar[LINE_MAX_WIDTH];
	unsigned width = p->width < LINE_MAX_WIDTH ? p->width : LINE_MAX_WIDTH;
	int barw;

	human(bytes, b, sizeof(b));
	human(total, t, sizeof(t));
	snprintf(right, sizeof(right), " %8s / %-8s %10s %s", b, t, rate, state);
	/* 12 columns of label, a space, two brackets, and the numbers with a
	 * state of up to 12 columns: the bars of all lines line up. */
	barw = (int)width - 1 - 13 - 2 - RIGHT_WIDTH;
	if (barw >= 5) {
		int fill = (int)(frac * barw + 1e-9);

		fill = fill < 0 ? 0 : fill > barw ? barw : fill;
		bar[0] = '[';
		memset(bar + 1, '=', (size_t)fill);
		if (fill < barw) {
			bar[1 + fill] = fill > 0 ? '>' : ' ';
			memset(bar + 2 + fill, ' ', (size_t)(barw - fill - 1));
		}
		bar[1 + barw] = ']';
		bar[2 + barw] = '\0';
	} else {
		bar[0] = '\0';
	}
	snprintf(out, LINE_MAX_WIDTH, "%-12.12s %s%s", label, bar, right);
	if (width > 0 && strlen(out) > width - 1)
		out[width - 1] = '\0';
}

static void layer_line(const struct progress *p, const struct progress_layer *l,
		       uint64_t now, char *out)
{
	char rate[48], state[16];
	uint64_t shown = l->bytes;
	double frac;

	if (l->status[0] != '\0') {
		/* Done: whatever was read, the layer is all there (a layer found
		 * in the store was not read at all). */
		shown = l->size > 0 ? l->size : l->bytes;
		frac = 1;
		human_rate(l->bytes, l->secs, rate, sizeof(rate));
		snprintf(state, sizeof(state), "%s", l->status);
	} else {
		frac = l->size > 0 ? (double)l->bytes / (double)l->size : 0;
		frac = frac > 1 ? 1 : frac;
		human_rate(l->bytes, (double)(now - l->begin_ns) / 1e9, rate, sizeof(rate));
		if (l->size > 0 && l->bytes >= l->size)
			snprintf(state, sizeof(state), "done");
		else
			snprintf(state, sizeof(state), "%3u%%", (unsigned)(frac * 100));
	}
	format_line(p, out, digest_hex(l->digest), frac, shown, l->size, rate, state);
}

static void total_line(const struct progress *p, uint64_t now, char *out)
{
	uint64_t shown = 0, total = 0, read = 0;
	size_t done = 0, n = p->n_total > p->n_layers ? p->n_total : p->n_layers;
	char rate[48], state[48];

	for (size_t i = 0; i < p->n_layers; i++) {
		const struct progress_layer *l = &p->layers[i];

		if (l->digest == NULL)
			continue;
		total += l->size;
		read += l->bytes;
		if (l->status[0] != '\0') {
			done++;
			shown += l->size > 0 ? l->size : l->bytes;
		} else {
			shown += l->bytes < l->size ? l->bytes : l->size;
		}
	}
	human_rate(read, (double)(now - p->start_ns) / 1e9, rate, sizeof(rate));
	snprintf(state, sizeof(state), "%zu/%zu layers", done, n);
	format_line(p, out, "total", total > 0 ? (double)shown / (double)total :
		    done == n && n > 0 ? 1 : 0, shown, total, rate, state);
}

/* Moves up over what the last draw left, then rewrites every line. */
static void draw(struct progress *p)
{
	char line[LINE_MAX_WIDTH];
	uint64_t now = p->now();
	size_t n = 0;

	if (p->drawn > 0)
		fprintf(p->f, "\033[%zuA", p->drawn);
	for (size_t i = 0; i < p->n_layers; i++) {
		if (p->layers[i].digest == NULL)
			continue;
		layer_line(p, &p->layers[i], now, line);
		fprintf(p->f, "\r\033[2K%s\n", line);
		n++;
	}
	total_line(p, now, line);
	fprintf(p->f, "\r\033[2K%s\n", line);
	fflush(p->f);
	p->drawn = n + 1;
	p->last_draw_ns = now;
	p->dirty = false;
}

/* The time check that keeps bytes cheap. */
static void maybe_draw(struct progress *p, bool force)
{
	p->dirty = true;
	if (force || p->drawn == 0 || p->now() - p->last_draw_ns >= REDRAW_NS)
		draw(p);
}

/* ---- events -------------------------------------------------------------------- */

void progress_layer_begin(struct progress *p, size_t i, const struct descriptor *d,
			  const char *diff_id)
{
	struct progress_layer *l = layer_at(p, i);

	free(l->digest);
	free(l->diff_id);
	l->digest = xstrdup(d->digest);
	l->diff_id = xstrdup(diff_id);
	l->size = d->size;
	l->bytes = 0;
	l->status[0] = '\0';
	if (p->mode == IMAGE_PROGRESS_BARS) {
		l->begin_ns = p->now();
		maybe_draw(p, false);
	}
}

void progress_layer_bytes(struct progress *p, size_t i, uint64_t bytes)
{
	layer_at(p, i)->bytes = bytes;
	if (p->mode == IMAGE_PROGRESS_BARS)
		maybe_draw(p, false);
}

void progress_layer_end(struct progress *p, size_t i, const char *status, uint64_t bytes,
			double secs)
{
	struct progress_layer *l = layer_at(p, i);

	l->bytes = bytes;
	l->secs = secs;
	snprintf(l->status, sizeof(l->status), "%s", status);
	switch (p->mode) {
	case IMAGE_PROGRESS_QUIET:
		return;
	case IMAGE_PROGRESS_BARS:
		if (l->digest != NULL)
			maybe_draw(p, true);
		return;
	case IMAGE_PROGRESS_JSON: {
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:f}",
			"event", "layer", "digest", l->digest, "diff_id", l->diff_id,
			"status", status, "bytes", (json_int_t)bytes, "size", (json_int_t)l->size,
			"seconds", secs);
		_cleanup_free_ char *t = json_dumps(j, JSON_COMPACT);

		fprintf(p->f, "%s\n", t);
		break;
	}
	case IMAGE_PROGRESS_LINES:
		if (strcmp(status, "exists") == 0)
			fprintf(p->f, "layer %.19s: already in the store\n", l->digest);
		else
			fprintf(p->f, "layer %.19s: %s %.1f MB in %.2fs\n", l->digest, status,
				(double)bytes / 1e6, secs);
		break;
	}
	fflush(p->f);
}

void progress_done(struct progress *p, const char *name, const char *id, const char *manifest)
{
	if (p->mode == IMAGE_PROGRESS_JSON) {
		_cleanup_json_ json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "event", "done",
						     "name", name, "id", id, "manifest", manifest);
		_cleanup_free_ char *t = json_dumps(j, JSON_COMPACT);

		fprintf(p->f, "%s\n", t);
	} else if (p->mode == IMAGE_PROGRESS_LINES) {
		fprintf(p->f, "stored %s\n", name);
	} else if (p->mode == IMAGE_PROGRESS_BARS) {
		/* The final state, then a line the bars never move over. */
		draw(p);
		fprintf(p->f, "stored %s\n", name);
		p->drawn = 0;
	}
	fflush(p->f);
}
