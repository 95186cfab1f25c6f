/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fetching layers from a registry: several at once with libcurl's multi
 * interface, each unpacked by its worker as it arrives.
 *
 *   network -> tmp/partial-HEX -> worker: digest, decompress, diff_id,
 *                                 unpack, commit
 *
 * What arrives is appended to a partial file, tmp/partial-HEX, and the
 * worker (image/unpack.c) reads the blob from that file as it grows: the
 * fetch writes what came in pieces of up to FETCH_BUF, a byte into a
 * notify pipe after each, and the worker waits there when it has caught
 * up.  The partial is what lets a cut
 * transfer continue with "Range: bytes=N-", in this pull and in the next
 * one (which starts its worker on the bytes already there); and being the
 * only buffer between the network and the worker, it costs no more than
 * a copy of the blob through a pipe would: the transfer never waits for
 * the worker, the worker reads from the page cache.  The partial goes
 * away once the layer is committed, and when its content proved bad.
 * Where no partial can be named (no lock), an unnamed O_TMPFILE in tmp/
 * takes its place. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "image/image-internal.h"

#define FETCH_PARALLEL 4
/* What arrives is gathered here and written to the partial in pieces of
 * this size, each with one byte on the notify pipe: libcurl hands over a
 * TLS record (16 KiB) at a time, and a write, a wake-up and a read per
 * record cost more than the bytes do.  A piece is written sooner when
 * its first byte has waited FETCH_FLUSH_NS, so a slow registry does not
 * keep the worker waiting. */
#define FETCH_BUF (256u << 10)
#define FETCH_FLUSH_NS 10000000ull

enum xstate {
	X_NEW,                           /* not started */
	X_WAIT_LOCK,                     /* another pull is fetching this blob */
	X_RUN,                           /* a transfer is in the multi handle */
	X_WAIT_RETRY,                    /* waiting for retry_at */
	X_CLOSE,                         /* all bytes received: tell the worker */
	X_RESULT,                        /* waiting for the worker's result */
};

struct fetch;

struct xfer {
	struct fetch *f;
	size_t layer;
	const struct descriptor *d;
	enum xstate state;
	bool busy;                       /* taking one of the FETCH_PARALLEL slots */
	/* the worker */
	pid_t pid;
	int resultfd, notifyfd;          /* notifyfd: the write end */
	struct layer_job job;
	struct layer_result res;
	bool worker_gone;                /* the notify pipe's read end was closed */
	bool need_worker;                /* started, its worker not yet */
	/* the partial download */
	int lockfd, partfd;
	char *partial;                   /* store-relative path, or NULL */
	uint64_t part_len;               /* bytes in it when the pull began */
	uint64_t have;                   /* bytes of the blob in the partial */
	char *buf;                       /* bytes received, not yet written */
	size_t buf_len;
	uint64_t buf_since;              /* when buf's first byte came */
	/* the transfer */
	CURL *h;
	void *hdrs;
	bool status_known, too_long, bad_range, write_failed;
	int write_errno;
	long status;
	uint64_t skip;                   /* bytes of a 200 answer to a Range to drop */
	char *retry_after, *content_range;
	int attempts;
	bool reauthorized;
	uint64_t retry_at;
	char errbuf[CURL_ERROR_SIZE];
	uint64_t start;
	uint64_t last_data;              /* when the transfer last received bytes */
};

struct fetch {
	struct image_store *s;
	struct registry *r;
	const struct manifest *m;
	const struct image_config *c;
	struct progress *p;
	CURLM *multi;
	uint64_t stall_ns;
	struct xfer *x;
	size_t n;
};

struct unpack_arg {
	struct layer_job *job;
	int *close_fds;
	size_t n_close;
};

/* Runs in the forked worker: the write ends of every pipe (its own too,
 * or it would never see EOF) and the other transfers' files are the
 * parent's, not its. */
static int unpack_in_worker(struct image_store *s, void *arg, void *out,
			    struct skiff_error **err)
{
	struct unpack_arg *a = arg;

	for (size_t i = 0; i < a->n_close; i++)
		close(a->close_fds[i]);
	return layer_unpack(s, a->job, out, err);
}

/* ---- moving bytes to the worker ------------------------------------------------- */

/* A byte on the notify pipe wakes the worker if it waits at the end of
 * the partial; a full pipe has woken it already. */
static void notify(struct xfer *x)
{
	if (x->notifyfd < 0)
		return;
	while (write(x->notifyfd, "", 1) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			x->worker_gone = true;
		return;
	}
}

/* Writes what buf holds to the partial and tells the worker. */
static bool flush(struct xfer *x)
{
	for (size_t done = 0; done < x->buf_len;) {
		ssize_t w = pwrite(x->partfd, x->buf + done, x->buf_len - done,
				   (off_t)(x->have + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			x->write_failed = true;
			x->write_errno = w < 0 ? errno : ENOSPC;
			return false;
		}
		done += (size_t)w;
	}
	if (x->buf_len == 0)
		return true;
	x->have += x->buf_len;
	x->buf_len = 0;
	progress_layer_bytes(x->f->p, x->layer, x->have);
	notify(x);
	return true;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t len = size * nmemb, all = len;

	x->last_data = now_ns();
	if (!x->status_known) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
		x->status_known = true;
		if (x->status == 200 && x->have > 0) {
			/* The server ignored the Range: what we have comes again. */
			log_debug("layer %s: no range support, skipping %llu bytes", x->d->digest,
				  (unsigned long long)x->have);
			x->skip = x->have;
		} else if (x->status == 206) {
			unsigned long long start = 0;

			if (x->content_range == NULL ||
			    sscanf(x->content_range, "bytes %llu-", &start) != 1 || start != x->have) {
				x->bad_range = true;
				return 0;
			}
		}
	}
	/* The body of an error answer is not the blob. */
	if (x->status != 200 && x->status != 206)
		return all;
	if (x->worker_gone || x->write_failed)
		return 0;
	if (x->skip > 0) {
		size_t k = x->skip < len ? (size_t)x->skip : len;

		x->skip -= k;
		ptr += k;
		len -= k;
		if (len == 0)
			return all;
	}
	if (x->have + x->buf_len + len > x->d->size) {
		x->too_long = true;
		return 0;
	}
	while (len > 0) {
		size_t k = FETCH_BUF - x->buf_len < len ? FETCH_BUF - x->buf_len : len;

		if (x->buf_len == 0)
			x->buf_since = x->last_data;
		memcpy(x->buf + x->buf_len, ptr, k);
		x->buf_len += k;
		ptr += k;
		len -= k;
		if (x->buf_len == FETCH_BUF && !flush(x))
			return 0;
	}
	return all;
}

static size_t on_header(char *line, size_t size, size_t n, void *data)
{
	struct xfer *x = data;
	char **slot = NULL;
	size_t k = 0;

	x->last_data = now_ns();
	n *= size;
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		free(x->retry_after);
		free(x->content_range);
		x->retry_after = x->content_range = NULL;
		return n;
	}
	if (n > 12 && strncasecmp(line, "retry-after:", 12) == 0) {
		slot = &x->retry_after;
		k = 12;
	} else if (n > 14 && strncasecmp(line, "content-range:", 14) == 0) {
		slot = &x->content_range;
		k = 14;
	}
	if (slot) {
		const char *v = line + k;
		size_t m = n - k;

		while (m && *v == ' ') {
			v++;
			m--;
		}
		while (m && (v[m - 1] == '\r' || v[m - 1] == '\n'))
			m--;
		free(*slot);
		*slot = image_strndup(v, m);
	}
	return n;
}

/* ---- one layer --------------------------------------------------------------------- */

static int request(struct fetch *f, struct xfer *x, struct skiff_error **err)
{
	x->h = registry_easy(f->r, "blobs", x->d->digest, &x->hdrs, err);
	if (x->h == NULL)
		return -1;
	if (x->buf == NULL)
		x->buf = xmalloc(FETCH_BUF);
	x->status_known = x->bad_range = false;
	x->skip = 0;
	x->status = 0;
	if (x->have > 0) {
		char range[32];

		snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->have);
		curl_easy_setopt(x->h, CURLOPT_RANGE, range);
		log_debug("layer %s: continuing at byte %llu", x->d->digest,
			  (unsigned long long)x->have);
	}
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	/* Blobs are compressed already; a Content-Encoding would hide the bytes
	 * the digest is of. */
	curl_easy_setopt(x->h, CURLOPT_ACCEPT_ENCODING, NULL);
	/* A connection of its own per blob (HTTP/1.1), not a stream of the
	 * manifest's HTTP/2 connection: the layers come in parallel through
	 * independent flows, and the registry serves them for less CPU (a Go
	 * registry: ~60 ms less for the 40 MB of the bench image, on a
	 * machine whose two cores the pull keeps busy). */
	curl_easy_setopt(x->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	x->errbuf[0] = '\0';
	x->state = X_RUN;
	x->last_data = now_ns();
	curl_multi_add_handle(f->multi, x->h);
	return 0;
}

static void drop_handle(struct fetch *f, struct xfer *x)
{
	if (x->h == NULL)
		return;
	curl_multi_remove_handle(f->multi, x->h);
	curl_easy_cleanup(x->h);
	x->h = NULL;
	for (struct curl_slist *l = x->hdrs; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

/* Opens (or starts) the partial download of the blob; the caller holds
 * its lock.  Without the lock, or a partial that can be opened, an
 * unnamed file in tmp/ serves the same purpose for this pull only. */
static int open_partial(struct fetch *f, struct xfer *x, struct skiff_error **err)
{
	struct stat st;

	if (x->lockfd >= 0) {
		x->partial = xasprintf(STORE_TMP "/partial-%s", digest_hex(x->d->digest));
		x->partfd = openat(f->s->dirfd, x->partial,
				   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (x->partfd >= 0 && fstat(x->partfd, &st) < 0) {
			close(x->partfd);
			x->partfd = -1;
		}
		if (x->partfd < 0) {
			log_debug("no partial download for %s: %s", x->d->digest, strerror(errno));
			free(x->partial);
			x->partial = NULL;
		}
	}
	if (x->partfd < 0) {
		x->partfd = openat(f->s->dirfd, STORE_TMP, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
		if (x->partfd < 0)
			return skiff_error_set(err, errno, "image.store.write",
					       "cannot create a file in %s/" STORE_TMP " for layer %s",
					       f->s->path, x->d->digest);
		return 0;
	}
	/* Longer than the blob: not ours to trust. */
	if ((uint64_t)st.st_size > x->d->size && ftruncate(x->partfd, 0) == 0)
		st.st_size = 0;
	x->part_len = (uint64_t)st.st_size;
	x->have = x->part_len;
	if (x->part_len)
		log_debug("layer %s: %llu bytes from an earlier pull", x->d->digest,
			  (unsigned long long)x->part_len);
	return 0;
}

static void remove_partial(struct fetch *f, struct xfer *x)
{
	if (x->partial)
		unlinkat(f->s->dirfd, x->partial, 0);
}

/* Lets other pulls have the blob: its layer is done, or this pull ends. */
static void release(struct fetch *f, struct xfer *x, bool drop_partial)
{
	if (drop_partial)
		remove_partial(f, x);
	if (x->partfd >= 0)
		close(x->partfd);
	if (x->lockfd >= 0)
		close(x->lockfd);
	x->partfd = x->lockfd = -1;
	x->busy = false;
}

/* The blob's lock: one pull fetches a blob, the others wait for it (without
 * blocking their other transfers) and then find its layer in the store.
 * 1 when another pull has it now. */
static int take_lock(struct fetch *f, struct xfer *x)
{
	_cleanup_free_ char *lock = xasprintf("partial-%s", digest_hex(x->d->digest));

	x->lockfd = store_try_lock_entry(f->s, lock);
	if (x->lockfd >= 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		if (x->state != X_WAIT_LOCK)
			log_debug("layer %s: another pull is fetching it, waiting", x->d->digest);
		x->state = X_WAIT_LOCK;
		x->retry_at = now_ns() + 100000000ull;
		return 1;
	}
	/* No lock (a read-only locks/?): fetch it, without a partial file. */
	log_debug("no lock for %s: %s; no resume for it", x->d->digest, strerror(errno));
	return 0;
}

/* Takes the blob's lock, opens its partial file and asks for the rest;
 * its worker is started by spawn, once the requests are out. */
static int start(struct fetch *f, struct xfer *x, struct skiff_error **err)
{
	int p[2];

	x->busy = true;
	if (x->state != X_WAIT_LOCK)
		x->start = now_ns();
	if (take_lock(f, x) == 1)
		return 0;
	if (store_has_layer(f->s, f->c->diff_ids[x->layer])) {
		/* The other pull made it meanwhile. */
		release(f, x, false);
		progress_layer_end(f->p, x->layer, "exists", 0, 0);
		return 0;
	}
	if (open_partial(f, x, err) < 0)
		return -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return skiff_error_set(err, errno, "image.unpack.process", "cannot make a pipe");
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	x->notifyfd = p[1];
	x->job.growing = true;
	x->job.notify_fd = p[0];
	x->job.fd = -1;
	x->job.digest = x->d->digest;
	x->job.size = x->d->size;
	x->job.diff_id = f->c->diff_ids[x->layer];
	x->job.what = xasprintf("layer %s", x->d->digest);
	x->need_worker = true;
	/* All there from an earlier pull: the worker reads it, no transfer. */
	if (x->have == x->d->size) {
		x->state = X_CLOSE;
		return 0;
	}
	return request(f, x, err);
}

/* The worker of x, reading the partial file as it grows. */
static int spawn(struct fetch *f, struct xfer *x, struct skiff_error **err)
{
	size_t n = 0;
	int *fds;
	struct unpack_arg a;

	x->need_worker = false;
	x->job.fd = fcntl(x->partfd, F_DUPFD_CLOEXEC, 3);
	if (x->job.fd < 0)
		return skiff_error_set(err, errno, "image.unpack.process", "cannot dup");
	/* The worker keeps only its own read ends: the notify pipes' write
	 * ends (its own too, or it would never see the end) and the files
	 * and locks are the parent's. */
	fds = xmalloc((4 * f->n + 1) * sizeof(int));
	for (size_t i = 0; i < f->n; i++) {
		if (f->x[i].notifyfd >= 0)
			fds[n++] = f->x[i].notifyfd;
		if (f->x[i].partfd >= 0)
			fds[n++] = f->x[i].partfd;
		if (f->x[i].lockfd >= 0)
			fds[n++] = f->x[i].lockfd;
		if (&f->x[i] != x && f->x[i].job.notify_fd >= 0)
			fds[n++] = f->x[i].job.notify_fd;
	}
	a = (struct unpack_arg){ .job = &x->job, .close_fds = fds, .n_close = n };
	x->pid = store_owner_start(f->s, unpack_in_worker, &a, sizeof(x->res), &x->resultfd, err);
	free(fds);
	close(x->job.notify_fd);
	close(x->job.fd);
	x->job.fd = x->job.notify_fd = -1;
	return x->pid < 0 ? -1 : 0;
}

/* The worker's answer; the transfer is over by then. */
static int finish(struct fetch *f, struct xfer *x, bool transfer_failed, struct skiff_error **err)
{
	int rc;

	drop_handle(f, x);
	if (x->notifyfd >= 0)
		close(x->notifyfd);
	x->notifyfd = -1;
	rc = store_owner_finish(x->pid, x->resultfd, &x->res, sizeof(x->res), err);
	x->pid = 0;
	x->resultfd = -1;
	if (rc < 0 && transfer_failed)
		return -1;
	/* Committed, found done, or proved bad: the partial is of no use. */
	release(f, x, rc < 0 || x->res.skipped || x->have == x->d->size);
	if (rc < 0)
		return -1;
	if (x->res.owners_collapsed && !f->s->notice_given) {
		f->s->notice_given = true;
		log_warning("no /etc/subuid range (or no newuidmap) for this user: file owners "
			    "in the image are collapsed to you; ask for a range to keep them");
	}
	if (x->res.devices_skipped)
		log_warning("%s: %u device nodes skipped (a rootless container cannot use them; "
			    "its /dev is made at run time)", x->d->digest, x->res.devices_skipped);
	progress_layer_end(f->p, x->layer, x->res.skipped ? "exists" : "unpacked",
			   x->res.skipped ? 0 : x->d->size, (double)(now_ns() - x->start) / 1e9);
	return 0;
}

/* The transfer of x ended with code c. */
static int transfer_done(struct fetch *f, struct xfer *x, CURLcode c, struct skiff_error **err)
{
	_cleanup_free_ char *what = xasprintf("layer %s", x->d->digest);
	long status = x->status;
	bool retry = false;

	if (!x->status_known)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	drop_handle(f, x);
	/* What came before a cut is good for the Range of the next attempt. */
	flush(x);
	if (x->too_long)
		return skiff_error_set(err, 0, "image.layer.size_mismatch",
				       "%s: %s sends more than the %llu bytes of the manifest's "
				       "descriptor: the registry or the image is corrupt",
				       what, registry_host(f->r), (unsigned long long)x->d->size);
	if (x->write_failed)
		return skiff_error_set(err, x->write_errno, "image.store.write",
				       "%s: cannot write %s/%s", what, f->s->path,
				       x->partial ? x->partial : STORE_TMP);
	if (x->worker_gone)
		return 1;                /* the worker's result tells why */
	if (c == CURLE_OK && (status == 200 || status == 206) && x->have == x->d->size) {
		log_debug("%s: all %llu bytes received %.3f s after the start", what,
			  (unsigned long long)x->have, (double)(now_ns() - x->start) / 1e9);
		x->state = X_CLOSE;
		return 0;
	}
	if (x->bad_range) {
		skiff_error_set(err, 0, "image.registry.bad_response",
				"%s: %s answered a Range request for byte %llu with the range \"%s\"",
				what, registry_host(f->r), (unsigned long long)x->have,
				x->content_range ? x->content_range : "");
		retry = true;
	} else if (c == CURLE_OK && (status == 200 || status == 206)) {
		/* A complete answer, but short: maybe a cut the server did not
		 * tell, so ask for the rest; a registry that keeps saying the blob
		 * ends there has a blob shorter than its descriptor. */
		skiff_error_set(err, 0, "image.layer.size_mismatch",
				"%s: %s sends %llu bytes, the manifest says %llu: the blob on the "
				"registry is truncated", what, registry_host(f->r),
				(unsigned long long)x->have, (unsigned long long)x->d->size);
		retry = true;
	} else if (c == CURLE_OK && status == 416 && x->have > 0) {
		return skiff_error_set(err, 0, "image.layer.size_mismatch",
				       "%s: %s says the blob ends before byte %llu, the manifest "
				       "says it has %llu: the blob on the registry is truncated",
				       what, registry_host(f->r), (unsigned long long)x->have,
				       (unsigned long long)x->d->size);
	} else if (c == CURLE_OK && status == 401 && !x->reauthorized) {
		x->reauthorized = true;
		if (registry_reauthorize(f->r, err) < 0)
			return -1;
		return request(f, x, err);
	} else {
		registry_transfer_error(f->r, c == CURLE_WRITE_ERROR ? CURLE_RECV_ERROR : c,
					x->errbuf, status, NULL, "blobs", x->d->digest, &retry, err);
	}
	if (!retry || x->attempts == REGISTRY_MAX_RETRIES)
		return -1;
	x->attempts++;
	{
		long ms = registry_backoff_ms(x->attempts, retry_after_parse(x->retry_after, time(NULL)));

		log_debug("%s: retry %d of %d in %ld ms after %llu bytes: %s", what, x->attempts,
			  REGISTRY_MAX_RETRIES, ms, (unsigned long long)x->have, (*err)->msg);
		skiff_error_freep(err);
		x->retry_at = now_ns() + (uint64_t)ms * 1000000ull;
		x->state = X_WAIT_RETRY;
	}
	return 0;
}

/* Non-blocking progress of x in its state; 1 when its worker ended. */
static int step(struct fetch *f, struct xfer *x, struct skiff_error **err)
{
	switch (x->state) {
	case X_WAIT_LOCK:
		if (now_ns() >= x->retry_at)
			return start(f, x, err);
		return 0;
	case X_RUN:
		if (x->worker_gone)
			return 1;
		/* libcurl's own check (CURLOPT_LOW_SPEED_*) averages the speed
		 * over several seconds: a stall would count only after
		 * stall_timeout plus that window.  The time since the last byte
		 * is exact. */
		if (x->h && now_ns() - x->last_data >= f->stall_ns) {
			snprintf(x->errbuf, sizeof(x->errbuf), "nothing received for %llu s",
				 (unsigned long long)(f->stall_ns / 1000000000ull));
			return transfer_done(f, x, CURLE_OPERATION_TIMEDOUT, err);
		}
		return 0;
	case X_WAIT_RETRY:
		if (now_ns() >= x->retry_at)
			return request(f, x, err);
		return 0;
	case X_CLOSE:
		if (x->need_worker)
			return 0;
		/* The end of the notify pipe: the worker reads the rest. */
		close(x->notifyfd);
		x->notifyfd = -1;
		x->state = X_RESULT;
		return 0;
	case X_NEW:
	case X_RESULT:
		return 0;
	}
	return 0;
}

/* ---- the loop ------------------------------------------------------------------------ */

static bool active(const struct xfer *x)
{
	return x->busy;
}

static int loop(struct fetch *f, struct skiff_error **err)
{
	size_t next = 0;
	int rc = 0;

	for (;;) {
		struct curl_waitfd w[FETCH_PARALLEL];
		struct xfer *wx[FETCH_PARALLEL];
		unsigned nw = 0;
		size_t running = 0;
		long timeout = 1000;
		int still;
		CURLMsg *msg;

		for (size_t i = 0; i < f->n; i++)
			running += active(&f->x[i]);
		while (next < f->n && running < FETCH_PARALLEL) {
			struct xfer *x = &f->x[next++];

			progress_layer_begin(f->p, x->layer, x->d, f->c->diff_ids[x->layer]);
			if (store_has_layer(f->s, f->c->diff_ids[x->layer])) {
				progress_layer_end(f->p, x->layer, "exists", 0, 0);
				continue;
			}
			if (start(f, x, err) < 0)
				return -1;
			running++;
		}
		if (running == 0)
			return 0;
		/* The requests go out first, then the workers are forked. */
		curl_multi_perform(f->multi, &still);
		for (size_t i = 0; i < f->n; i++) {
			struct xfer *x = &f->x[i];

			if (x->need_worker && spawn(f, x, err) < 0)
				return -1;
		}
		for (size_t i = 0; i < f->n; i++) {
			struct xfer *x = &f->x[i];

			if (!active(x))
				continue;
			rc = step(f, x, err);
			if (rc < 0)
				return -1;
			if (rc == 1 && finish(f, x, false, err) < 0)
				return -1;
		}
		curl_multi_perform(f->multi, &still);
		while ((msg = curl_multi_info_read(f->multi, &still)) != NULL) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			rc = transfer_done(f, x, msg->data.result, err);
			if (rc < 0)
				return -1;
			if (rc == 1 && finish(f, x, false, err) < 0)
				return -1;
		}
		for (size_t i = 0; i < f->n && nw < ARRAY_SIZE(w); i++) {
			struct xfer *x = &f->x[i];

			if (!active(x))
				continue;
			/* The worker's result (or its death) is readable. */
			if (x->pid > 0) {
				w[nw] = (struct curl_waitfd){ .fd = x->resultfd, .events = CURL_WAIT_POLLIN };
				wx[nw++] = x;
			}
			if (x->state == X_WAIT_RETRY || x->state == X_WAIT_LOCK) {
				int64_t left = ((int64_t)x->retry_at - (int64_t)now_ns()) / 1000000;

				if (left < timeout)
					timeout = left > 0 ? (long)left : 0;
			}
			if (x->state == X_RUN && x->h) {
				int64_t left = ((int64_t)(x->last_data + f->stall_ns) -
						(int64_t)now_ns()) / 1000000 + 1;

				if (left < timeout)
					timeout = left > 0 ? (long)left : 0;
			}
			/* Bytes that waited long enough go to the worker now. */
			if (x->state == X_RUN && x->buf_len > 0) {
				uint64_t age = now_ns() - x->buf_since;

				if (age >= FETCH_FLUSH_NS)
					flush(x);
				else if ((long)((FETCH_FLUSH_NS - age) / 1000000 + 1) < timeout)
					timeout = (long)((FETCH_FLUSH_NS - age) / 1000000 + 1);
			}
			/* Work that needs no event: do it at once. */
			if (x->state == X_CLOSE || x->need_worker ||
			    (x->state == X_WAIT_RETRY && x->h == NULL && timeout > 0 &&
			     now_ns() >= x->retry_at))
				timeout = 0;
		}
		curl_multi_poll(f->multi, w, nw, (int)timeout, NULL);
		for (unsigned k = 0; k < nw; k++) {
			struct xfer *x = wx[k];

			if (w[k].fd != x->resultfd || !(w[k].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) ||
			    x->pid <= 0)
				continue;
			/* A worker that ends before its transfer does either found
			 * the layer made by another pull, or failed. */
			if (finish(f, x, false, err) < 0)
				return -1;
		}
	}
}

int fetch_layers(struct image_store *s, struct registry *r, const struct manifest *m,
		 const struct image_config *c, struct progress *p, struct skiff_error **err)
{
	struct fetch f = { .s = s, .r = r, .m = m, .c = c, .p = p, .n = m->n_layers };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int rc;

	/* The registry's: the connection that brought the manifest and the
	 * CAs libcurl parsed for it serve the layers too. */
	f.multi = registry_multi(r);
	f.stall_ns = (uint64_t)registry_stall_timeout(r) * 1000000000ull;
	f.x = xzalloc(f.n * sizeof(*f.x));
	for (size_t i = 0; i < f.n; i++) {
		f.x[i] = (struct xfer){ .f = &f, .layer = i, .d = &m->layers[i], .notifyfd = -1,
					.resultfd = -1, .lockfd = -1, .partfd = -1,
					.job = { .fd = -1, .notify_fd = -1 } };
	}
	/* A worker that fails closes its notify pipe: EPIPE, not a signal. */
	sigaction(SIGPIPE, &ign, &old);
	rc = loop(&f, err);
	for (size_t i = 0; i < f.n; i++) {
		struct xfer *x = &f.x[i];

		if (x->pid > 0)
			finish(&f, x, true, NULL);
		drop_handle(&f, x);
		/* An empty partial helps no one. */
		release(&f, x, x->partfd >= 0 && (x->have == 0 || rc == 0));
		if (x->notifyfd >= 0)
			close(x->notifyfd);
		if (x->job.notify_fd >= 0)
			close(x->job.notify_fd);
		free(x->partial);
		free(x->buf);
		free(x->retry_after);
		free(x->content_range);
		free((char *)x->job.what);
	}
	sigaction(SIGPIPE, &old, NULL);
	free(f.x);
	return rc;
}
