/*
 * watch-notify: see watch-notify.h. One detached thread per send keeps it
 * simple: events are rare (a few per cycle at most).
 */
#include "common/base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/watch-notify.h"

#define NOTIFY_TRIES   3
#define NOTIFY_WAIT_MS 500
#define NOTIFY_TIMEOUT 10L /* seconds per try */

static atomic_int in_flight;

struct send {
	char *url;
	char *body;
	char *signature; /* "X-Sandform-Signature: sha256=..." or NULL */
	char *event;
};

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* try_once: one POST; the HTTP status, or 0 without an answer. */
static long
try_once(const struct send *s)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	if (c == NULL)
		return 0;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: sandform-watch");
	if (s->signature)
		h = curl_slist_append(h, s->signature);
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, NOTIFY_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

static void *
sender(void *arg)
{
	struct send *s = arg;
	long status = 0;
	int i;

	for (i = 0; i < NOTIFY_TRIES; i++) {
		status = try_once(s);
		if (status >= 200 && status < 300)
			break;
		time_sleep_ms((int64_t)NOTIFY_WAIT_MS << i);
	}
	if (i == NOTIFY_TRIES)
		log_warn("notify %s: %s did not take it after %d tries (last: "
		         "%ld)",
		         s->event, s->url, NOTIFY_TRIES, status);
	free(s->url);
	free(s->body);
	free(s->signature);
	free(s->event);
	free(s);
	atomic_fetch_sub(&in_flight, 1);
	return NULL;
}

/* body: the JSON of ev, generic or Slack's. */
static char *
body(const struct stack_notify *hook, const struct watch_event *ev)
{
	char now[SF_ISO8601_LEN + 1];
	cJSON *j = cJSON_CreateObject();
	char *text, *out;

	time_format_iso(time_now_ms(), now);
	if (hook->slack) {
		text = xasprintf("sandform: %s in stack '%s'%s%s: %s",
		                 stack_event_name(ev->kind), ev->stack,
		                 ev->revision ? " at " : "",
		                 ev->revision ? ev->revision : "", ev->message);
		cJSON_AddStringToObject(j, "text", text);
		free(text);
	} else {
		cJSON_AddStringToObject(j, "event", stack_event_name(ev->kind));
		cJSON_AddStringToObject(j, "stack", ev->stack);
		if (ev->revision)
			cJSON_AddStringToObject(j, "revision", ev->revision);
		else
			cJSON_AddNullToObject(j, "revision");
		cJSON_AddNumberToObject(j, "cycle", (double)ev->cycle);
		cJSON_AddNumberToObject(j, "drift", (double)ev->drift);
		cJSON_AddNumberToObject(j, "changes", (double)ev->changes);
		cJSON_AddStringToObject(j, "message", ev->message);
		cJSON_AddStringToObject(j, "time", now);
	}
	text = cJSON_PrintUnformatted(j);
	out = xstrdup(text ? text : "{}");
	cJSON_free(text);
	cJSON_Delete(j);
	return out;
}

static void
send_one(const struct stack_notify *hook, const struct watch_event *ev)
{
	struct send *s = xcalloc(1, sizeof(*s));
	const char *key = hook->secret_env ? getenv(hook->secret_env) : NULL;
	char mac[SF_SHA256_HEX_LEN + 1];
	pthread_attr_t attr;
	pthread_t th;

	s->url = xstrdup(hook->url);
	s->body = body(hook, ev);
	s->event = xstrdup(stack_event_name(ev->kind));
	if (hook->secret_env && (key == NULL || *key == '\0'))
		log_warn("notify: secretEnv %s is not set: sent unsigned",
		         hook->secret_env);
	if (key && *key) {
		hmac_sha256_hex(key, strlen(key), s->body, strlen(s->body),
		                mac);
		s->signature =
		        xasprintf("X-Sandform-Signature: sha256=%s", mac);
	}
	atomic_fetch_add(&in_flight, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, sender, s) != 0) {
		atomic_fetch_sub(&in_flight, 1);
		free(s->url);
		free(s->body);
		free(s->signature);
		free(s->event);
		free(s);
	}
	pthread_attr_destroy(&attr);
}

void
watch_notify(const struct stack_notify *hooks, size_t n,
             const struct watch_event *ev)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hooks[i].events == 0 || (hooks[i].events >> ev->kind & 1))
			send_one(&hooks[i], ev);
}

void
watch_notify_drain(long ms)
{
	int64_t end = time_mono_ms() + ms;

	while (atomic_load(&in_flight) > 0 && time_mono_ms() < end)
		time_sleep_ms(20);
}
