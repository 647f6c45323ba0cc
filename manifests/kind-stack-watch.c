/*
 * kind-stack-watch: the watch: block of a stack file (manifests/stack.h):
 * the schedule and policy of `sandform watch` for the stack: interval,
 * mode (apply or detect), suspend, deny windows (days and a UTC time range
 * in which only detection runs) and notify (webhooks). Every mistake is
 * reported at its line and column.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strnum.h"
#include "common/xalloc.h"
#include "manifests/doc.h"
#include "manifests/kind-stack-watch.h"
#include "manifests/stack.h"

static const char *const event_names[STACK_EVENT_COUNT] = {
	"drift-detected", "drift-corrected", "apply-failed",
	"source-failed",  "recovered",
};

static const char *const day_names[7] = { "sun", "mon", "tue", "wed",
	                                  "thu", "fri", "sat" };

const char *
stack_event_name(enum stack_event e)
{
	return e < STACK_EVENT_COUNT ? event_names[e] : "?";
}

/* hhmm: "HH:MM" (24:00 for the end of a day) as minutes, or -1. */
static int
hhmm(const char *s)
{
	int h, m;
	char tail;

	if (strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 ||
	    s[2] != ':' || h < 0 || m < 0 || m > 59 || h > 24 ||
	    (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

static void
load_days(struct doc *d, const struct ynode *n, struct stack_window *w)
{
	const char *v;
	size_t i, j, old;

	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n, "got %s (expected a list of days: mon, tue, ...)",
		        doc_what(n));
		return;
	}
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		if (doc_string(d, n->kids[i], &v)) {
			for (j = 0; j < 7 && strcasecmp(v, day_names[j]); j++)
				;
			if (j == 7)
				DOC_ERR(d, n->kids[i],
				        "'%s' is not a day (expected sun, mon, "
				        "tue, wed, thu, fri or sat)",
				        v);
			else
				w->days |= 1u << j;
		}
		doc_pop(d, old);
	}
}

static void
load_time(struct doc *d, const struct ynode *n, const char *key, int *out)
{
	const char *v;
	size_t old = doc_push(d, key);

	if (doc_string(d, n, &v) && (*out = hhmm(v)) < 0)
		DOC_ERR(d, n,
		        "'%s' is not a time (expected HH:MM in UTC, 00:00 to "
		        "24:00)",
		        v);
	doc_pop(d, old);
}

static void
load_window(struct doc *d, const struct ynode *n, struct stack_window *w)
{
	static const char *const names[] = { "days", "start", "end" };
	const struct ynode *v[3], *k[3];
	size_t old;

	w->days = 0x7f;
	w->start_min = 0;
	w->end_min = 24 * 60;
	w->line = (int)n->line;
	w->column = (int)n->col;
	if (!doc_fields(d, n, names, 3, v, k))
		return;
	if (v[0]) {
		w->days = 0;
		old = doc_push(d, "days");
		load_days(d, v[0], w);
		doc_pop(d, old);
	}
	if (v[1])
		load_time(d, v[1], "start", &w->start_min);
	if (v[2])
		load_time(d, v[2], "end", &w->end_min);
	if (w->start_min == w->end_min)
		DOC_ERR(d, n, "an empty window (start and end are the same)");
}

static void
load_events(struct doc *d, const struct ynode *n, struct stack_notify *nt)
{
	const char *v;
	size_t i, j, old;

	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n, "got %s (expected a list of events)",
		        doc_what(n));
		return;
	}
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		if (doc_string(d, n->kids[i], &v)) {
			for (j = 0; j < STACK_EVENT_COUNT &&
			            strcmp(v, event_names[j]) != 0;
			     j++)
				;
			if (j == STACK_EVENT_COUNT)
				DOC_ERR(d, n->kids[i],
				        "'%s' is not an event (expected "
				        "drift-detected, drift-corrected, "
				        "apply-failed, source-failed or "
				        "recovered)",
				        v);
			else
				nt->events |= 1u << j;
		}
		doc_pop(d, old);
	}
}

static void
load_notify_one(struct doc *d, const struct ynode *n, struct stack_notify *nt)
{
	static const char *const names[] = { "url", "format", "secretEnv",
		                             "events" };
	const struct ynode *v[4], *k[4];
	const char *s;
	size_t old;

	if (!doc_fields(d, n, names, 4, v, k))
		return;
	if (v[0] == NULL) {
		DOC_ERR(d, n,
		        "url: missing (expected an http:// or https:// "
		        "URL)");
		return;
	}
	old = doc_push(d, "url");
	if (doc_word(d, v[0], "an http:// or https:// URL", &nt->url) &&
	    strncmp(nt->url, "https://", 8) != 0 &&
	    strncmp(nt->url, "http://", 7) != 0)
		DOC_ERR(d, v[0], "'%s' is not an http:// or https:// URL",
		        nt->url);
	doc_pop(d, old);
	if (v[1]) {
		old = doc_push(d, "format");
		if (doc_string(d, v[1], &s)) {
			if (strcmp(s, "slack") == 0)
				nt->slack = true;
			else if (strcmp(s, "json") != 0)
				DOC_ERR(d, v[1],
				        "'%s' is not a format (expected json "
				        "or "
				        "slack)",
				        s);
		}
		doc_pop(d, old);
	}
	if (v[2]) {
		old = doc_push(d, "secretEnv");
		doc_word(d, v[2], "an environment variable's name",
		         &nt->secret_env);
		doc_pop(d, old);
	}
	if (v[3]) {
		old = doc_push(d, "events");
		load_events(d, v[3], nt);
		doc_pop(d, old);
	}
}

/* load_list: each element of the list n by fn into a new array. */
static void *
load_list(struct doc *d, const struct ynode *n, size_t size, size_t *count,
          void (*fn)(struct doc *, const struct ynode *, void *))
{
	char *v;
	size_t i, old;

	*count = 0;
	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n, "got %s (expected a list)", doc_what(n));
		return NULL;
	}
	v = xcalloc(n->n + 1, size);
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		fn(d, n->kids[i], v + i * size);
		doc_pop(d, old);
	}
	*count = n->n;
	return v;
}

static void
window_fn(struct doc *d, const struct ynode *n, void *out)
{
	load_window(d, n, out);
}

static void
notify_fn(struct doc *d, const struct ynode *n, void *out)
{
	load_notify_one(d, n, out);
}

void
stack_load_watch(struct doc *d, const struct ynode *n, struct stack_watch *w)
{
	static const char *const names[] = { "interval", "mode", "suspend",
		                             "denyWindows", "notify" };
	const struct ynode *v[5], *k[5];
	const char *s;
	long long ms;
	bool b;
	size_t old;

	if (!doc_fields(d, n, names, 5, v, k))
		return;
	if (v[0]) {
		old = doc_push(d, "interval");
		if (doc_word(d, v[0], "a duration like 30s or 5m",
		             &w->interval) &&
		    (strnum_duration_ms(w->interval, &ms) < 0 || ms < 100))
			DOC_ERR(d, v[0],
			        "'%s' is not a duration of 100ms or more "
			        "(expected e.g. 30s, 5m)",
			        w->interval);
		doc_pop(d, old);
	}
	if (v[1]) {
		old = doc_push(d, "mode");
		if (doc_string(d, v[1], &s)) {
			w->has_detect = true;
			w->detect = strcmp(s, "detect") == 0;
			if (!w->detect && strcmp(s, "apply") != 0)
				DOC_ERR(d, v[1],
				        "'%s' is not a mode (expected apply or "
				        "detect)",
				        s);
		}
		doc_pop(d, old);
	}
	if (v[2]) {
		old = doc_push(d, "suspend");
		if (doc_bool(d, v[2], &b))
			w->suspend = b;
		doc_pop(d, old);
	}
	if (v[3]) {
		old = doc_push(d, "denyWindows");
		w->windows = load_list(d, v[3], sizeof(*w->windows),
		                       &w->nwindows, window_fn);
		doc_pop(d, old);
	}
	if (v[4]) {
		old = doc_push(d, "notify");
		w->notify = load_list(d, v[4], sizeof(*w->notify), &w->nnotify,
		                      notify_fn);
		doc_pop(d, old);
	}
}

const struct stack_window *
stack_in_window(const struct stack_watch *w, long long t)
{
	long long day = t / 86400;
	int wday = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday */
	int min = (int)(t % 86400 / 60), yday = (wday + 6) % 7;
	size_t i;

	for (i = 0; w != NULL && i < w->nwindows; i++) {
		const struct stack_window *x = &w->windows[i];

		if (x->start_min < x->end_min) {
			if ((x->days >> wday & 1) && min >= x->start_min &&
			    min < x->end_min)
				return x;
		} else if (((x->days >> wday & 1) && min >= x->start_min) ||
		           ((x->days >> yday & 1) && min < x->end_min)) {
			return x; /* over midnight */
		}
	}
	return NULL;
}

void
stack_watch_clear(struct stack_watch *w)
{
	size_t i;

	free(w->interval);
	free(w->windows);
	for (i = 0; i < w->nnotify; i++) {
		free(w->notify[i].url);
		free(w->notify[i].secret_env);
	}
	free(w->notify);
	memset(w, 0, sizeof(*w));
}
