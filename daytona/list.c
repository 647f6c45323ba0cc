/*
 * list: the list routes of the client (GET /sandbox): one page, read by
 * the scanner of sandbox.c (cJSON for anything else), and the walk of
 * every page with its guards against a cursor or a sandbox met twice.
 * Split from client.c, whose call machinery (daytona/call.h) it uses.
 */
#include "common/base.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "daytona/call.h"
#include "daytona/client.h"
#include "daytona/reply.h"
#include "daytona/transport.h"

static void
query_sep(struct buf *p)
{
	buf_addch(p, strchr(buf_cstr(p), '?') ? '&' : '?');
}

static void
query_add(struct buf *p, const char *name, const char *value)
{
	query_sep(p);
	buf_addstr(p, name);
	buf_addch(p, '=');
	dt_url_escape(p, value);
}

int
dt_list(struct dt_client *c, const struct dt_list_query *q, struct dt_page *out,
        struct dt_result *res)
{
	struct dt_http_response resp = DT_HTTP_RESPONSE_INIT;
	struct dt_page page = DT_PAGE_INIT;
	struct dt_call k;
	struct json_arena arena;
	const cJSON *items, *e, *next;
	cJSON *j;
	char num[32];
	size_t i;
	int rc;

	dt_call_init(&k, "GET", DT_BUCKET_AUTHENTICATED, 1);
	k.page = 1;
	buf_addstr(&k.path, "/sandbox");
	if (q != NULL) {
		if (q->labels != NULL && q->labels->n > 0) {
			cJSON *lj = strmap_to_json(q->labels);
			char *s = cJSON_PrintUnformatted(lj);

			cJSON_Delete(lj);
			if (s == NULL) {
				rc = sf_error_set(SF_ERROR, "daytona: cannot "
				                            "encode labels");
				goto out;
			}
			query_add(&k.path, "labels", s);
			cJSON_free(s);
		}
		if (q->name_prefix != NULL)
			query_add(&k.path, "name", q->name_prefix);
		for (i = 0; i < q->n_states; i++)
			query_add(&k.path, "states",
			          dt_state_name(q->states[i]));
		if (q->include_errored_deleted)
			query_add(&k.path, "includeErroredDeleted", "true");
		if (q->last_event_after != NULL)
			query_add(&k.path, "lastEventAfter",
			          q->last_event_after);
		if (q->sort != NULL)
			query_add(&k.path, "sort", q->sort);
		if (q->order != NULL)
			query_add(&k.path, "order", q->order);
		if (q->limit > 0) {
			snprintf(num, sizeof(num), "%d",
			         q->limit > DT_LIST_LIMIT_MAX
			                 ? DT_LIST_LIMIT_MAX
			                 : q->limit);
			query_add(&k.path, "limit", num);
		}
		if (q->cursor != NULL)
			query_add(&k.path, "cursor", q->cursor);
	}
	if ((rc = dt_call_run(c, &k, &resp, res)) < 0)
		goto out;
	/* the scanner reads a usual page; anything else is read by cJSON */
	if (dt_page_scan(buf_cstr(&resp.body), resp.body.len, &page) == 0)
		goto scanned;
	/* the page's tree lives in an arena: everything kept is copied */
	json_arena_begin(&arena);
	j = dt_call_parse(&resp);
	items = cJSON_GetObjectItemCaseSensitive(j, "items");
	rc = cJSON_IsArray(items) ? 0 : 1;
	for (e = rc == 0 ? items->child : NULL; e != NULL; e = e->next) {
		struct dt_sandbox *sb;

		if ((rc = dt_sandbox_from_json(e, 0, &sb)) < 0)
			break;
		dt_sandbox_list_add(&page.items, sb);
	}
	next = cJSON_GetObjectItemCaseSensitive(j, "nextCursor");
	if (rc == 0 && cJSON_IsString(next) && next->valuestring &&
	    *next->valuestring)
		page.next_cursor = xstrdup(next->valuestring);
	/* no cJSON_Delete(j): the arena's end frees the whole tree at once,
	 * where a walk of its nodes cost a tenth of a big plan's refresh */
	json_arena_end(&arena);
	if (rc > 0)
		rc = dt_reply_unexpected("GET", buf_cstr(&k.path), &resp,
		                         "a page of sandboxes");
	if (rc < 0)
		goto out;
scanned:
	*out = page;
	page = (struct dt_page)DT_PAGE_INIT;
out:
	dt_page_clear(&page);
	dt_http_response_clear(&resp);
	dt_call_clear(&k);
	return rc;
}

/*
 * A set of 64-bit hashes (id_hash of cursors or sandbox ids), open
 * addressing: what a walk has seen, 8 bytes each (a hash collision can
 * only end a walk early, with the message naming the repeat).
 */
struct seen {
	uint64_t *v;
	size_t n, cap;
};

static uint64_t
id_hash(const char *s)
{
	/* eight bytes a step: FNV-1a a byte at a time over 100,000 ids was
	 * 1% of a big plan */
	uint64_t h = hash_words(1469598103934665603ULL, s, strlen(s));

	return h ? h : 1; /* 0 marks an empty slot */
}

/* seen_add: 1 when s was in the set already, else adds it and 0. */
static int
seen_add(struct seen *set, const char *s)
{
	uint64_t h = id_hash(s);
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		struct seen bigger = { NULL, 0, set->cap ? 2 * set->cap : 512 };

		bigger.v = xcalloc(bigger.cap, sizeof(*bigger.v));
		for (i = 0; i < set->cap; i++)
			if (set->v[i]) {
				size_t j = set->v[i] & (bigger.cap - 1);

				while (bigger.v[j])
					j = (j + 1) & (bigger.cap - 1);
				bigger.v[j] = set->v[i];
			}
		bigger.n = set->n;
		free(set->v);
		*set = bigger;
	}
	for (i = h & (set->cap - 1); set->v[i]; i = (i + 1) & (set->cap - 1))
		if (set->v[i] == h)
			return 1;
	set->v[i] = h;
	set->n++;
	return 0;
}

/* walk_page: the checks of one page and the items handed to cb. */
static int
walk_page(struct dt_page *page, int limit, struct seen *ids, dt_list_cb cb,
          void *arg, size_t n)
{
	size_t i;
	int rc;

	if (page->items.n > (size_t)limit)
		return sf_error_set(
		        SF_EINVALID,
		        "daytona: list: page %zu has %zu items, "
		        "more than the %d asked for; the server does "
		        "not page as the API does",
		        n, page->items.n, limit);
	for (i = 0; i < page->items.n; i++) {
		struct dt_sandbox *sb = page->items.items[i];

		if (sb->id && seen_add(ids, sb->id))
			return sf_error_set(
			        SF_EINVALID,
			        "daytona: list: page %zu repeats "
			        "sandbox %s of an earlier page; the "
			        "server's cursors do not advance the "
			        "walk",
			        n, sb->id);
		page->items.items[i] = NULL;
		if ((rc = cb(arg, sb)) != 0)
			return rc;
	}
	return 0;
}

int
dt_list_all(struct dt_client *c, const struct dt_list_query *q, dt_list_cb cb,
            void *arg, size_t *pages)
{
	struct dt_list_query qq;
	struct dt_page page = DT_PAGE_INIT;
	struct seen cursors = { NULL, 0, 0 }, ids = { NULL, 0, 0 };
	char *cursor = NULL;
	size_t n = 0;
	int rc = 0;

	if (q != NULL)
		qq = *q;
	else
		memset(&qq, 0, sizeof(qq));
	if (qq.limit <= 0)
		qq.limit = DT_LIST_LIMIT_MAX;
	if (qq.cursor != NULL) {
		cursor = xstrdup(qq.cursor);
		seen_add(&cursors, cursor);
	}
	for (;;) {
		if (n >= DT_LIST_MAX_PAGES) {
			rc = sf_error_set(
			        SF_EINVALID,
			        "daytona: list: more than %d pages; the "
			        "server never ends the walk",
			        DT_LIST_MAX_PAGES);
			goto out;
		}
		qq.cursor = cursor;
		if ((rc = dt_list(c, &qq, &page, NULL)) < 0)
			goto out;
		n++;
		if ((rc = walk_page(&page, qq.limit, &ids, cb, arg, n)) != 0)
			goto out;
		if (page.next_cursor == NULL)
			break;
		if (seen_add(&cursors, page.next_cursor)) {
			rc = sf_error_set(
			        SF_EINVALID,
			        "daytona: list: page %zu gives a cursor "
			        "the walk had before; the server's "
			        "cursors loop",
			        n);
			goto out;
		}
		free(cursor);
		cursor = page.next_cursor;
		page.next_cursor = NULL;
		dt_page_clear(&page);
	}
out:
	if (pages != NULL)
		*pages = n;
	dt_page_clear(&page);
	free(cursor);
	free(cursors.v);
	free(ids.v);
	return rc;
}

static int
collect(void *arg, struct dt_sandbox *sb)
{
	dt_sandbox_list_add(arg, sb);
	return 0;
}

int
dt_list_all_into(struct dt_client *c, const struct dt_list_query *q,
                 struct dt_sandbox_list *out, size_t *pages)
{
	struct dt_sandbox_list got = DT_SANDBOX_LIST_INIT;
	size_t i;
	int rc;

	if ((rc = dt_list_all(c, q, collect, &got, pages)) < 0)
		goto out;
	for (i = 0; i < got.n; i++) {
		dt_sandbox_list_add(out, got.items[i]);
		got.items[i] = NULL;
	}
out:
	dt_sandbox_list_free(&got);
	return rc;
}
