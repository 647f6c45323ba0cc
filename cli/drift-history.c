/*
 * drift-history: `sandform drift --history`: what earlier drift runs of a
 * stack recorded (store_drift_list() per run), one line per difference:
 * when it was first and last seen, and when the first later drift run no
 * longer saw it (resolved), or that it is still open. A difference seen
 * again after it was resolved is open again. Nothing is sent to Daytona.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/error.h"
#include "common/escape.h"
#include "common/exitcodes.h"
#include "common/strmap.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/commands.h"
#include "state/store.h"

int drift_history_show(struct sf_ctx *ctx, const char *stack);

struct entry {
	char *name, *category, *field, *live, *expected;
	int64_t first, last, resolved; /* ms; resolved 0: open */
	size_t last_run;
};

struct history {
	struct entry *v;
	size_t n;
	struct strmap index; /* "name\x1fcategory\x1ffield" -> index */
};

static struct entry *
entry_for(struct history *h, const struct store_drift *d)
{
	char *key = xasprintf("%s\x1f%s\x1f%s", d->name, d->category,
	                      d->field ? d->field : "");
	const char *at = strmap_get(&h->index, key);
	struct entry *e;
	char num[24];

	if (at != NULL) {
		free(key);
		return &h->v[strtoul(at, NULL, 10)];
	}
	snprintf(num, sizeof(num), "%zu", h->n);
	strmap_set(&h->index, key, num);
	free(key);
	h->v = xreallocarray(h->v, h->n + 1, sizeof(*h->v));
	e = &h->v[h->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(d->name);
	e->category = xstrdup(d->category);
	e->field = xstrdup(d->field ? d->field : "");
	return e;
}

/* see: the findings of drift run k (started at ms). */
static void
see(struct history *h, const struct store_drift_list *dl, size_t k, int64_t ms)
{
	size_t i;

	for (i = 0; i < dl->n; i++) {
		struct entry *e = entry_for(h, &dl->v[i]);

		if (e->first == 0)
			e->first = ms;
		e->last = ms;
		e->last_run = k;
		e->resolved = 0;
		free(e->live);
		free(e->expected);
		e->live = xstrdup_or_null(dl->v[i].old_value);
		e->expected = xstrdup_or_null(dl->v[i].new_value);
	}
	for (i = 0; i < h->n; i++)
		if (h->v[i].last_run < k && h->v[i].resolved == 0)
			h->v[i].resolved = ms;
}

/* load: every finished drift run of stack, oldest first. */
static int
load(struct store *s, const char *stack, struct history *h, size_t *nruns)
{
	struct store_run_list runs = { NULL, 0 };
	struct store_drift_list dl = { NULL, 0 };
	size_t i, k = 0;
	int rc;

	if ((rc = store_run_list(s, stack, 0, &runs)) < 0)
		return rc;
	for (i = runs.n; i-- > 0;) {
		const struct store_run *r = &runs.v[i];

		if (strcmp(r->command, "drift") != 0 || r->finished_ms == 0 ||
		    r->outcome == NULL || strcmp(r->outcome, "failed") == 0)
			continue;
		if ((rc = store_drift_list(s, r->id, &dl)) < 0)
			break;
		see(h, &dl, ++k, r->started_ms);
		store_drift_list_free(&dl);
	}
	*nruns = k;
	store_run_list_free(&runs);
	return rc < 0 ? rc : 0;
}

static void
print_human(const char *stack, const struct history *h, size_t nruns)
{
	char a[SF_ISO8601_LEN + 1], b[SF_ISO8601_LEN + 1];
	char c[SF_ISO8601_LEN + 1];
	char *name, *field;
	size_t i;

	printf("Drift history of stack '%s': %zu drift run%s, %zu "
	       "difference%s\n",
	       stack, nruns, nruns == 1 ? "" : "s", h->n, h->n == 1 ? "" : "s");
	for (i = 0; i < h->n; i++) {
		const struct entry *e = &h->v[i];

		time_format_iso(e->first, a);
		time_format_iso(e->last, b);
		if (e->resolved)
			time_format_iso(e->resolved, c);
		name = esc_text(e->name);
		field = esc_text(e->field);
		printf("  %s (%s) %s: first seen %s, last seen %s, %s%s\n",
		       name, e->category, field, a, b,
		       e->resolved ? "resolved " : "open",
		       e->resolved ? c : "");
		free(name);
		free(field);
	}
}

static void
add_time(cJSON *o, const char *k, int64_t ms)
{
	char t[SF_ISO8601_LEN + 1];

	if (ms == 0) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	time_format_iso(ms, t);
	cJSON_AddStringToObject(o, k, t);
}

static void
print_json(const char *stack, const struct history *h, size_t nruns)
{
	cJSON *j = cJSON_CreateObject(), *arr, *x;
	char *text;
	size_t i;

	cJSON_AddStringToObject(j, "stack", stack);
	cJSON_AddNumberToObject(j, "runs", (double)nruns);
	arr = cJSON_AddArrayToObject(j, "findings");
	for (i = 0; i < h->n; i++) {
		const struct entry *e = &h->v[i];

		x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", e->name);
		cJSON_AddStringToObject(x, "category", e->category);
		cJSON_AddStringToObject(x, "field", e->field);
		if (e->live)
			cJSON_AddStringToObject(x, "live", e->live);
		else
			cJSON_AddNullToObject(x, "live");
		if (e->expected)
			cJSON_AddStringToObject(x, "expected", e->expected);
		else
			cJSON_AddNullToObject(x, "expected");
		add_time(x, "first_seen", e->first);
		add_time(x, "last_seen", e->last);
		add_time(x, "resolved_at", e->resolved);
		cJSON_AddItemToArray(arr, x);
	}
	text = cJSON_PrintUnformatted(j);
	printf("%s\n", text ? text : "{}");
	cJSON_free(text);
	cJSON_Delete(j);
}

static void
history_free(struct history *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].category);
		free(h->v[i].field);
		free(h->v[i].live);
		free(h->v[i].expected);
	}
	free(h->v);
	strmap_clear(&h->index);
}

int
drift_history_show(struct sf_ctx *ctx, const char *stack)
{
	struct history h;
	struct store *s = NULL;
	size_t nruns = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	if ((rc = store_exists(ctx->state_path)) > 0 &&
	    (rc = store_open(ctx->state_path, &s)) == 0)
		rc = load(s, stack, &h, &nruns);
	store_close(s);
	if (rc < 0) {
		fprintf(stderr, "sandform drift: %s\n", sf_error_last());
		history_free(&h);
		return SF_EXIT_ERROR;
	}
	if (ctx->json)
		print_json(stack, &h, nruns);
	else
		print_human(stack, &h, nruns);
	history_free(&h);
	return SF_EXIT_OK;
}
