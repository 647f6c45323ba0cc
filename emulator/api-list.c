/*
 * api-list: GET /sandbox (0.218 has no /sandbox/paginated).
 *
 * The query string is read parameter by parameter against a table of the
 * parameters the ListSandboxesQuery DTO knows; the first bad one answers
 * 400 with its validators' messages. Numbers are read as the server reads
 * them (jsnum.h): limit=1e2 is 100. Unknown parameters are ignored, as
 * the DTO is not whitelisted. Array parameters may repeat and may be
 * spelled KEY[] (qs's bracket style).
 */
#include "common/base.h"

#include <limits.h>
#include <stddef.h>

#include "common/timeutil.h"
#include "common/xalloc.h"
#include "emulator/api.h"
#include "emulator/internal.h"
#include "emulator/jsnum.h"

/* a list query being read */
struct lq_read {
	struct route_call *c;
	struct emudb_query *lq;
};

/* reads one parameter into r->lq: 0, or -1 with the answer set */
typedef int lq_fn(struct lq_read *r, const char *key, const char *v,
                  size_t off);

static const char *const sort_names[] = {
	[SORT_LAST_ACTIVITY] = "lastActivityAt",
	[SORT_CREATED] = "createdAt",
	[SORT_NAME] = "name",
	[SORT_CPU] = "cpu",
	[SORT_MEMORY] = "memoryGib",
	[SORT_DISK] = "diskGib",
};

/*
 * number_param: a numeric parameter as the DTO reads it: Number(v) (with
 * @Type(() => Number)), then its validators in the order they were
 * declared — `order` spells them: 'i' @IsInt, 'm' @Min(min), 'x'
 * @Max(max) — and every one that fails adds its message, as
 * class-validator reports them. 0 with *out set, or -1 with a 400.
 */
static int
number_param(struct lq_read *r, const char *key, const char *v,
             const char *order, double min, double max, double *out)
{
	struct buf msg = BUF_INIT;
	double n = jsnum_parse(v);
	bool failed;

	for (const char *o = order; *o; o++) {
		if (*o == 'i' && !jsnum_is_integer(n))
			buf_addf(&msg, "%s%s must be an integer number",
			         msg.len ? ", " : "", key);
		else if (*o == 'm' && !(n >= min))
			buf_addf(&msg, "%s%s must not be less than %g",
			         msg.len ? ", " : "", key, min);
		else if (*o == 'x' && !(n <= max))
			buf_addf(&msg, "%s%s must not be greater than %g",
			         msg.len ? ", " : "", key, max);
	}
	failed = msg.len > 0;
	if (failed)
		route_error(r->c, 400, msg.data);
	buf_free(&msg);
	*out = n;
	return failed ? -1 : 0;
}

static int
bool_param(const char *v)
{
	if (strcmp(v, "true") == 0)
		return 1;
	if (strcmp(v, "false") == 0)
		return 0;
	return -1;
}

static int
bad(struct lq_read *r, const char *msg)
{
	route_error(r->c, 400, msg);
	return -1;
}

/* limit: @PageLimit's @IsInt @Min(1) @Max(200) */
static int
lq_limit(struct lq_read *r, const char *key, const char *v, size_t off)
{
	double n;

	(void)off;
	if (number_param(r, key, v, "imx", 1, EMU_LIST_LIMIT_MAX, &n) < 0)
		return -1;
	r->lq->limit = (int)n;
	return 0;
}

static int
lq_cursor(struct lq_read *r, const char *key, const char *v, size_t off)
{
	(void)key;
	(void)off;
	r->lq->cursor = *v ? v : NULL; /* "" is no cursor */
	return 0;
}

/* id and name: prefixes, the string at off */
static int
lq_prefix(struct lq_read *r, const char *key, const char *v, size_t off)
{
	(void)key;
	*(const char **)((char *)r->lq + off) = v;
	return 0;
}

/* labels: a JSON object; non-string values match their JSON text */
static int
lq_labels(struct lq_read *r, const char *key, const char *v, size_t off)
{
	cJSON *j = cJSON_Parse(v), *it;
	bool ok = cJSON_IsObject(j);
	cJSON *src = ok ? j : NULL;

	(void)key;
	(void)off;
	cJSON_ArrayForEach(it, src)
	{
		if (cJSON_IsString(it)) {
			kvmap_set(&r->lq->labels, it->string, it->valuestring);
		} else {
			char *s = cJSON_PrintUnformatted(it);

			kvmap_set(&r->lq->labels, it->string, s ? s : "");
			free(s);
		}
	}
	cJSON_Delete(j);
	if (!ok)
		return bad(r, "Invalid labels JSON format");
	r->lq->has_labels = true;
	return 0;
}

static int
lq_states(struct lq_read *r, const char *key, const char *v, size_t off)
{
	int s = sb_state_parse(v);

	(void)key;
	(void)off;
	if (s < 0 || s == ST_DESTROYED)
		return bad(r, "each value in states must be one of the "
		              "following values: creating, restoring, "
		              "destroying, started, stopped, starting, "
		              "stopping, error, build_failed, pending_build, "
		              "building_snapshot, unknown, pulling_snapshot, "
		              "archived, archiving, resizing, snapshotting, "
		              "forking, pausing, paused, resuming");
	r->lq->states |= 1u << s;
	return 0;
}

static void
add_string(char ***v, int *n, const char *s)
{
	*v = xreallocarray(*v, (size_t)*n + 1, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
}

static int
lq_snapshots(struct lq_read *r, const char *key, const char *v, size_t off)
{
	(void)key;
	(void)off;
	add_string(&r->lq->snapshots, &r->lq->n_snapshots, v);
	return 0;
}

static int
lq_regions(struct lq_read *r, const char *key, const char *v, size_t off)
{
	(void)key;
	(void)off;
	add_string(&r->lq->regions, &r->lq->n_regions, v);
	return 0;
}

/* sandboxClasses: a bit per class */
static int
lq_classes(struct lq_read *r, const char *key, const char *v, size_t off)
{
	int cl = sb_class_parse(v);

	(void)key;
	(void)off;
	if (cl < 0)
		return bad(r, "each value in sandboxClasses must be one of the "
		              "following values: container, linux-vm, "
		              "android, windows");
	r->lq->classes |= 1u << cl;
	return 0;
}

/*
 * minCpu, maxDiskGiB, ...: @IsInt @Min(1), declared in that order and so
 * reported the other way round; into the int at off (no sandbox comes
 * near INT_MAX, so larger bounds are clamped to it)
 */
static int
lq_resource(struct lq_read *r, const char *key, const char *v, size_t off)
{
	double n;

	if (number_param(r, key, v, "mi", 1, 0, &n) < 0)
		return -1;
	*(int *)((char *)r->lq + off) = n > INT_MAX ? INT_MAX : (int)n;
	return 0;
}

/* isPublic, isRecoverable: into the int at off (-1 any) */
static int
lq_bool(struct lq_read *r, const char *key, const char *v, size_t off)
{
	int b = bool_param(v);

	if (b < 0) {
		route_errorf(r->c, 400, "%s must be a boolean value", key);
		return -1;
	}
	*(int *)((char *)r->lq + off) = b;
	return 0;
}

static int
lq_errored(struct lq_read *r, const char *key, const char *v, size_t off)
{
	int b = bool_param(v);

	(void)off;
	if (b < 0) {
		route_errorf(r->c, 400, "%s must be a boolean value", key);
		return -1;
	}
	r->lq->include_errored_deleted = b;
	return 0;
}

/* createdAtAfter, ...: an ISO 8601 date into the int64_t at off */
static int
lq_date(struct lq_read *r, const char *key, const char *v, size_t off)
{
	if (time_parse_iso(v, (int64_t *)((char *)r->lq + off)) < 0) {
		route_errorf(r->c, 400,
		             "%s must be a valid ISO 8601 date string", key);
		return -1;
	}
	return 0;
}

static int
lq_sort(struct lq_read *r, const char *key, const char *v, size_t off)
{
	(void)key;
	(void)off;
	for (size_t i = 0; i < sizeof(sort_names) / sizeof(char *); i++)
		if (strcmp(v, sort_names[i]) == 0) {
			r->lq->sort = (enum list_sort)i;
			return 0;
		}
	return bad(r, "sort must be one of the following values: name, cpu, "
	              "memoryGib, diskGib, lastActivityAt, createdAt");
}

static int
lq_order(struct lq_read *r, const char *key, const char *v, size_t off)
{
	(void)key;
	(void)off;
	if (strcmp(v, "asc") == 0)
		r->lq->desc = false;
	else if (strcmp(v, "desc") == 0)
		r->lq->desc = true;
	else
		return bad(r, "order must be one of the following values: asc, "
		              "desc");
	return 0;
}

#define AT(field) offsetof(struct emudb_query, field)

static const struct lq_param {
	const char *key;
	bool array; /* also KEY[] */
	lq_fn *fn;
	size_t off;
} lq_params[] = {
	{ "limit", false, lq_limit, 0 },
	{ "cursor", false, lq_cursor, 0 },
	{ "id", false, lq_prefix, AT(id_prefix) },
	{ "name", false, lq_prefix, AT(name_prefix) },
	{ "labels", false, lq_labels, 0 },
	{ "includeErroredDeleted", false, lq_errored, 0 },
	{ "states", true, lq_states, 0 },
	{ "snapshots", true, lq_snapshots, 0 },
	{ "regionIds", true, lq_regions, 0 },
	{ "sandboxClasses", true, lq_classes, 0 },
	{ "minCpu", false, lq_resource, AT(min_cpu) },
	{ "maxCpu", false, lq_resource, AT(max_cpu) },
	{ "minMemoryGiB", false, lq_resource, AT(min_mem) },
	{ "maxMemoryGiB", false, lq_resource, AT(max_mem) },
	{ "minDiskGiB", false, lq_resource, AT(min_disk) },
	{ "maxDiskGiB", false, lq_resource, AT(max_disk) },
	{ "isPublic", false, lq_bool, AT(is_public) },
	{ "isRecoverable", false, lq_bool, AT(is_recoverable) },
	{ "createdAtAfter", false, lq_date, AT(created_after) },
	{ "createdAtBefore", false, lq_date, AT(created_before) },
	{ "lastEventAfter", false, lq_date, AT(activity_after) },
	{ "lastEventBefore", false, lq_date, AT(activity_before) },
	{ "sort", false, lq_sort, 0 },
	{ "order", false, lq_order, 0 },
};

static const struct lq_param *
lq_param_find(const char *key)
{
	for (size_t i = 0; i < sizeof(lq_params) / sizeof(lq_params[0]); i++) {
		const struct lq_param *p = &lq_params[i];
		size_t n = strlen(p->key);

		if (strncmp(key, p->key, n) != 0)
			continue;
		if (key[n] == '\0' || (p->array && strcmp(key + n, "[]") == 0))
			return p;
	}
	return NULL;
}

void
api_list(struct route_call *c)
{
	struct emudb_query lq;
	struct lq_read r = { c, &lq };

	emudb_query_init(&lq);
	for (int i = 0; i < c->qp->n; i++) {
		const char *k = c->qp->v[i].key;
		const struct lq_param *p = lq_param_find(k);

		if (p && p->fn(&r, k, c->qp->v[i].value, p->off) < 0)
			goto out;
	}
	c->r->status = 200;
	if (emudb_list(c->srv->db, c->o, &lq, &c->r->body) < 0)
		route_errorf(c, 400, "Invalid cursor provided: %s", lq.cursor);
out:
	emudb_query_clear(&lq);
}
