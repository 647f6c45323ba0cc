/*
 * watch-metrics: see watch-metrics.h. Label values are escaped as the
 * Prometheus text format asks (backslash, double quote, newline).
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fileutil.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "cli/watch-metrics.h"

static const char *const result_names[WATCH_RESULT_COUNT] = {
	"converged", "applied", "detected", "failed", "locked",
};

static const double bucket_le[WATCH_BUCKETS] = {
	0.1, 0.5, 1, 5, 15, 60, 300, 1800,
};

const char *
watch_result_name(enum watch_result r)
{
	return r < WATCH_RESULT_COUNT ? result_names[r] : "?";
}

void
watch_metrics_init(struct watch_metrics *m, const char *stack)
{
	memset(m, 0, sizeof(*m));
	m->stack = xstrdup(stack ? stack : "default");
	m->reload_ok = 1;
}

void
watch_metrics_free(struct watch_metrics *m)
{
	free(m->stack);
	free(m->revision);
	memset(m, 0, sizeof(*m));
}

void
watch_metrics_plan(struct watch_metrics *m, const struct plan *p)
{
	size_t i, j;

	memset(m->drift_by_cat, 0, sizeof(m->drift_by_cat));
	m->drift = 0;
	for (i = 0; i < p->nactions; i++) {
		int seen[PLAN_CAT_COUNT] = { 0 }, any = 0;

		for (j = 0; j < p->actions[i].nreasons; j++) {
			const struct plan_reason *r = &p->actions[i].reasons[j];

			if (r->origin != PLAN_ORIGIN_OUT_OF_BAND)
				continue;
			if (!seen[r->category]++)
				m->drift_by_cat[r->category]++;
			any = 1;
		}
		m->drift += any;
	}
	m->managed = p->managed;
	memcpy(m->by_state, p->managed_by_state, sizeof(m->by_state));
	m->changes = p->nactions;
}

void
watch_metrics_source(struct watch_metrics *m, int ok)
{
	if (!ok)
		m->source_failures++;
}

void
watch_metrics_cycle(struct watch_metrics *m, enum watch_result res, int64_t ms,
                    const char *revision)
{
	double s = (double)ms / 1000.0;
	size_t i;

	m->total[res]++;
	m->count++;
	m->sum_s += s;
	for (i = 0; i < WATCH_BUCKETS && s > bucket_le[i]; i++)
		;
	m->le[i]++;
	if (res == WATCH_CONVERGED || res == WATCH_APPLIED) {
		m->last_success_s = time_now_ms() / 1000;
		m->ready = 1;
	}
	if (revision && (!m->revision || strcmp(m->revision, revision))) {
		free(m->revision);
		m->revision = xstrdup(revision);
	}
}

/* label: a label value, escaped for the text format. */
static void
label(struct buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_addch(b, '\\');
		if (*v == '\n')
			buf_addstr(b, "\\n");
		else
			buf_addch(b, *v);
	}
}

static void
header(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
stack_line(struct buf *b, const struct watch_metrics *m, const char *name,
           const char *extra, double v)
{
	buf_addf(b, "%s{stack=\"", name);
	label(b, m->stack);
	buf_addf(b, "\"%s} %.17g\n", extra ? extra : "", v);
}

static void
write_totals(struct buf *b, const struct watch_metrics *const *ms, size_t n)
{
	char extra[64];
	uint64_t cum;
	size_t i, k;

	header(b, "sandform_reconcile_total", "counter",
	       "Reconcile cycles by result.");
	for (k = 0; k < n; k++)
		for (i = 0; i < WATCH_RESULT_COUNT; i++) {
			snprintf(extra, sizeof(extra), ",result=\"%s\"",
			         result_names[i]);
			stack_line(b, ms[k], "sandform_reconcile_total", extra,
			           (double)ms[k]->total[i]);
		}
	header(b, "sandform_reconcile_duration_seconds", "histogram",
	       "Duration of reconcile cycles.");
	for (k = 0; k < n; k++) {
		const struct watch_metrics *m = ms[k];

		for (cum = 0, i = 0; i <= WATCH_BUCKETS; i++) {
			cum += m->le[i];
			if (i < WATCH_BUCKETS)
				snprintf(extra, sizeof(extra), ",le=\"%g\"",
				         bucket_le[i]);
			else
				snprintf(extra, sizeof(extra), ",le=\"+Inf\"");
			stack_line(b, m,
			           "sandform_reconcile_duration_seconds_bucket",
			           extra, (double)cum);
		}
		stack_line(b, m, "sandform_reconcile_duration_seconds_sum",
		           NULL, m->sum_s);
		stack_line(b, m, "sandform_reconcile_duration_seconds_count",
		           NULL, (double)m->count);
	}
}

/* gauge: one family with a plain value per stack. */
static void
gauge(struct buf *b, const struct watch_metrics *const *ms, size_t n,
      const char *name, const char *type, const char *help,
      double (*get)(const struct watch_metrics *))
{
	size_t k;

	header(b, name, type, help);
	for (k = 0; k < n; k++)
		stack_line(b, ms[k], name, NULL, get(ms[k]));
}

static double
get_changes(const struct watch_metrics *m)
{
	return (double)m->changes;
}

static double
get_last_success(const struct watch_metrics *m)
{
	return (double)m->last_success_s;
}

static double
get_source_failures(const struct watch_metrics *m)
{
	return (double)m->source_failures;
}

static void
write_drift(struct buf *b, const struct watch_metrics *const *ms, size_t n)
{
	char extra[64];
	size_t i, k;

	header(b, "sandform_drift_sandboxes", "gauge",
	       "Sandboxes changed outside sandform, by category, at the "
	       "last cycle.");
	for (k = 0; k < n; k++)
		for (i = 0; i < PLAN_CAT_COUNT; i++) {
			if (i == PLAN_CAT_REMOVED || i == PLAN_CAT_UNMANAGED)
				continue;
			snprintf(extra, sizeof(extra), ",category=\"%s\"",
			         plan_category_name((enum plan_category)i));
			stack_line(b, ms[k], "sandform_drift_sandboxes", extra,
			           (double)ms[k]->drift_by_cat[i]);
		}
}

/* write_states: sandform_sandboxes{stack,state}: started, stopped and
 * archived always, any other state Daytona listed when there are some. */
static void
write_states(struct buf *b, const struct watch_metrics *const *ms, size_t n)
{
	char extra[64];
	size_t k, i, v;

	header(b, "sandform_sandboxes", "gauge",
	       "Sandboxes of the stack at the last cycle, by the state "
	       "Daytona listed them in.");
	for (k = 0; k < n; k++)
		for (i = 1; i < DT_STATE_COUNT; i++) {
			v = ms[k]->by_state[i];
			if (i == DT_STATE_UNKNOWN) /* and unparsed ones */
				v += ms[k]->by_state[DT_STATE_NONE];
			if (v == 0 && i != DT_STATE_STARTED &&
			    i != DT_STATE_STOPPED && i != DT_STATE_ARCHIVED)
				continue;
			snprintf(extra, sizeof(extra), ",state=\"%s\"",
			         dt_state_name((enum dt_state)i));
			stack_line(b, ms[k], "sandform_sandboxes", extra,
			           (double)v);
		}
}

void
watch_api_count(struct watch_api *a, enum dt_bucket bucket, int code)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		struct watch_api_pair *p = &a->v[i];

		if (p->bucket == (int)bucket && p->code == code) {
			p->n++;
			return;
		}
		if (p->bucket > (int)bucket ||
		    (p->bucket == (int)bucket && p->code > code))
			break;
	}
	if (a->n == WATCH_API_PAIRS) {
		if ((unsigned)bucket < DT_BUCKET_COUNT)
			a->other[bucket]++;
		return;
	}
	memmove(&a->v[i + 1], &a->v[i], (a->n - i) * sizeof(a->v[0]));
	a->v[i].bucket = (int)bucket;
	a->v[i].code = code;
	a->v[i].n = 1;
	a->n++;
}

static void
write_api(struct buf *b, const struct watch_api *a)
{
	size_t i;

	header(b, "sandform_api_requests_total", "counter",
	       "HTTP requests to the Daytona API, by rate-limit bucket and "
	       "status (0: no answer).");
	for (i = 0; i < a->n; i++)
		buf_addf(b,
		         "sandform_api_requests_total{bucket=\"%s\","
		         "code=\"%d\"} %llu\n",
		         dt_bucket_name((enum dt_bucket)a->v[i].bucket),
		         a->v[i].code, (unsigned long long)a->v[i].n);
	for (i = 0; i < DT_BUCKET_COUNT; i++)
		if (a->other[i])
			buf_addf(b,
			         "sandform_api_requests_total{bucket=\"%s\","
			         "code=\"other\"} %llu\n",
			         dt_bucket_name((enum dt_bucket)i),
			         (unsigned long long)a->other[i]);
}

static void
write_revisions(struct buf *b, const struct watch_metrics *const *ms, size_t n)
{
	size_t k;
	int any = 0;

	for (k = 0; k < n; k++) {
		if (ms[k]->revision == NULL)
			continue;
		if (!any++)
			header(b, "sandform_source_revision_info", "gauge",
			       "The revision of the sources enforced.");
		buf_addstr(b, "sandform_source_revision_info{stack=\"");
		label(b, ms[k]->stack);
		buf_addstr(b, "\",revision=\"");
		label(b, ms[k]->revision);
		buf_addstr(b, "\"} 1\n");
	}
}

static double
get_reload_ok(const struct watch_metrics *m)
{
	return (double)m->reload_ok;
}

static double
get_reload_failures(const struct watch_metrics *m)
{
	return (double)m->reload_failures;
}

static void
write_gauges(struct buf *b, const struct watch_metrics *const *ms, size_t n)
{
	write_drift(b, ms, n);
	write_states(b, ms, n);
	gauge(b, ms, n, "sandform_pending_changes", "gauge",
	      "Actions the last cycle's plan had.", get_changes);
	gauge(b, ms, n, "sandform_last_success_timestamp_seconds", "gauge",
	      "When a cycle last converged or applied (Unix time).",
	      get_last_success);
	gauge(b, ms, n, "sandform_source_failures_total", "counter",
	      "Cycles whose sources failed to load (the last good revision "
	      "was enforced).",
	      get_source_failures);
	write_revisions(b, ms, n);
	gauge(b, ms, n, "sandform_config_last_reload_successful", "gauge",
	      "Whether the last SIGHUP reload of the stack file worked (1 "
	      "before any).",
	      get_reload_ok);
	gauge(b, ms, n, "sandform_config_reload_failures_total", "counter",
	      "SIGHUP reloads that kept the configuration read before.",
	      get_reload_failures);
}

void
watch_metrics_render(const struct watch_metrics *const *ms, size_t n,
                     const struct watch_api *api, struct buf *b)
{
	write_totals(b, ms, n);
	write_gauges(b, ms, n);
	if (api != NULL)
		write_api(b, api);
}

int
watch_metrics_write(const struct watch_metrics *const *ms, size_t n,
                    const struct watch_api *api, const char *path)
{
	struct buf b = BUF_INIT;
	int rc;

	watch_metrics_render(ms, n, api, &b);
	rc = file_write_atomic(path, b.data, b.len, 0644);
	buf_free(&b);
	return rc;
}
