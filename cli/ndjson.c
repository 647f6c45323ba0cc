/*
 * ndjson: apply's events as JSON lines. The field names are an interface
 * (scripts and the e2e tests read them): keep them stable.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/timeutil.h"
#include "cli/ndjson.h"

int
ndjson_plan(FILE *fp, const struct plan *p)
{
	int rc;

	/* written as it is made: a large plan is never whole as JSON */
	fputs("{\"event\":\"plan\",\"plan\":", fp);
	if ((rc = plan_write_json_shown(fp, p)) < 0)
		return rc;
	fputs("}\n", fp);
	fflush(fp);
	return 0;
}

static void
line(FILE *fp, const char *event, const struct apply_event *ev, const char *key,
     const char *val)
{
	struct buf b = BUF_INIT;
	char ts[SF_ISO8601_LEN + 1];

	time_format_iso(ev->time_ms, ts);
	buf_addstr(&b, "{\"event\":");
	buf_add_json_string(&b, event);
	buf_addstr(&b, ",\"time\":");
	buf_add_json_string(&b, ts);
	buf_addstr(&b, ",\"name\":");
	buf_add_json_string(&b, ev->action->name);
	buf_addstr(&b, ",\"action\":");
	buf_add_json_string(&b, plan_kind_name(ev->action->kind));
	if (ev->sandbox_id) {
		buf_addstr(&b, ",\"sandbox_id\":");
		buf_add_json_string(&b, ev->sandbox_id);
	}
	buf_addf(&b, ",\"elapsed_ms\":%lld", (long long)ev->elapsed_ms);
	if (key) {
		buf_addch(&b, ',');
		buf_add_json_string(&b, key);
		buf_addch(&b, ':');
		buf_add_json_string(&b, val ? val : "");
	}
	buf_addstr(&b, "}\n");
	fputs(buf_cstr(&b), fp);
	fflush(fp);
	buf_free(&b);
}

void
ndjson_event(FILE *fp, const struct apply_event *ev)
{
	if (ev->action == NULL)
		return;
	switch (ev->kind) {
	case APPLY_EV_STARTED:
		line(fp, "start", ev, NULL, NULL);
		break;
	case APPLY_EV_STEP:
	case APPLY_EV_WAITING:
		line(fp, "progress", ev, "step", ev->step);
		break;
	case APPLY_EV_DONE:
		if (ev->message)
			line(fp, "done", ev, "note", ev->message);
		else
			line(fp, "done", ev, NULL, NULL);
		break;
	case APPLY_EV_FAILED:
		line(fp, "error", ev, "message", ev->message);
		break;
	case APPLY_EV_LEFT:
		line(fp, "left", ev, "step",
		     ev->started ? ev->step : "not started");
		break;
	default:
		break;
	}
}

void
ndjson_summary(FILE *fp, const struct apply_event *ev)
{
	const struct apply_stats *st = ev->stats;

	fprintf(fp,
	        "{\"event\":\"summary\",\"command\":\"%s\",\"total\":%zu,"
	        "\"done\":%zu,\"failed\":%zu,\"left\":%zu,\"unwaited\":%zu,"
	        "\"recovered\":%zu,\"interrupted\":%s,\"elapsed_ms\":%lld,"
	        "\"requests\":%llu,\"retries\":%llu,\"throttled\":%llu}\n",
	        ev->command, st->total, st->done, st->failed, st->left,
	        st->unwaited, ev->recovered, ev->interrupted ? "true" : "false",
	        (long long)st->elapsed_ms,
	        (unsigned long long)st->http.requests,
	        (unsigned long long)st->http.retries,
	        (unsigned long long)st->http.throttled);
	fflush(fp);
}
