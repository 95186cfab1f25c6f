/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --notify-url: each event POSTed as a JSON body, as a workflow engine's
 * webhook receiver takes it.  Connection errors and 5xx (and 429) are
 * retried after 0.2, 0.4 and 0.8 s; a 2xx is delivered; anything else
 * fails at once.  The timeouts are short (1 s to connect, 3 s per try,
 * 5 s for all tries of an event): the job must not wait on a slow
 * receiver. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "job/job-internal.h"

#define NOTIFY_TRIES 4
/* All tries of one event together: a receiver that accepts and never
 * answers holds the job up at most this long (and only once: the first
 * event that fails ends the posting). */
#define NOTIFY_BUDGET_MS 5000

/* The URL as messages show it: without a user:password@. */
static char *shown(const char *url)
{
	const char *scheme = strstr(url, "://"), *host = scheme ? scheme + 3 : url;
	const char *at = strchr(host, '@'), *slash = strchr(host, '/');

	if (at == NULL || (slash != NULL && slash < at))
		return xstrdup(url);
	return xasprintf("%.*s***%s", (int)(host - url), url, at);
}

static size_t discard(char *p, size_t size, size_t n, void *data)
{
	(void)p;
	(void)data;
	return size * n;
}

int job_notify_post(const char *url, const struct curl_slist *headers, const char *body,
		    struct skiff_error **err)
{
	static const long backoff_ms[NOTIFY_TRIES - 1] = { 200, 400, 800 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode c = CURLE_OK;
	_cleanup_free_ char *u = shown(url);
	uint64_t start = now_ns();

	for (int attempt = 0; attempt < NOTIFY_TRIES; attempt++) {
		long left = NOTIFY_BUDGET_MS - (long)((now_ns() - start) / 1000000);
		CURL *h;

		if (attempt > 0)
			left -= backoff_ms[attempt - 1];
		if (left < 100)
			break;
		h = curl_easy_init();
		if (h == NULL)
			return skiff_error_set(err, ENOMEM, "job.notify", "--notify-url %s: "
					       "cannot make a request", u);
		if (attempt > 0) {
			struct timespec ts = { 0, backoff_ms[attempt - 1] * 1000000L };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		errbuf[0] = '\0';
		status = 0;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_USERAGENT, "skiff/" PACKAGE_VERSION);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left < 1000 ? left : 1000L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left < 3000 ? left : 3000L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		c = curl_easy_perform(h);
		if (c == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(h);
		if (c == CURLE_OK && status >= 200 && status < 300)
			return 0;
		if (c == CURLE_OK && status < 500 && status != 429)
			break;
		/* A bad URL does not get better with retries. */
		if (c == CURLE_URL_MALFORMAT || c == CURLE_UNSUPPORTED_PROTOCOL)
			break;
	}
	if (c != CURLE_OK)
		return skiff_error_set(err, 0, "job.notify", "--notify-url %s: %s", u,
				       errbuf[0] ? errbuf : curl_easy_strerror(c));
	return skiff_error_set(err, 0, "job.notify", "--notify-url %s: the receiver answered "
			       "HTTP %ld", u, status);
}
