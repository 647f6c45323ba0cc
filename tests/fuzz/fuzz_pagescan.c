/*
 * libFuzzer target for the list page scanner (dt_page_scan, common/
 * jsonscan.h) and strmap_scan_json: whatever they read, cJSON must read
 * to the same sandboxes and labels; what they do not read, they must
 * leave empty. An answer that differs aborts. Built with
 * --enable-fuzzing; run with tests/fuzz/run-fuzz.sh SECONDS BUILDDIR
 * fuzz-pagescan.
 */
#include "common/base.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/strmap.h"
#include "common/xalloc.h"
#include "daytona/call.h"
#include "daytona/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* page_text: the page's sandboxes and cursor as one text */
static void
page_text(const struct dt_page *p, struct buf *b)
{
	size_t i;

	buf_addstr(b, p->next_cursor ? p->next_cursor : "(none)");
	for (i = 0; i < p->items.n; i++) {
		const struct dt_sandbox *sb = p->items.items[i];

		buf_addf(b, "\n%u %d %d %lld %lld %lld ", sb->present,
		         (int)sb->state, (int)sb->desired_state,
		         (long long)sb->created_at_ms,
		         (long long)sb->updated_at_ms,
		         (long long)sb->last_activity_at_ms);
		dt_sandbox_print(sb, 0, b);
	}
}

static void
check_page(const char *text, size_t len)
{
	struct dt_page got = DT_PAGE_INIT, want = DT_PAGE_INIT;
	struct buf a = BUF_INIT, b = BUF_INIT;
	cJSON *j, *items, *e, *next;
	int rc = 0;

	if (dt_page_scan(text, len, &got) != 0) {
		if (got.items.n != 0 || got.next_cursor != NULL)
			abort(); /* gave up, but kept something */
		return;
	}
	/* the reference: cJSON's tree, read as dt_list reads it */
	j = cJSON_ParseWithLength(text, len);
	items = cJSON_GetObjectItemCaseSensitive(j, "items");
	if (!cJSON_IsArray(items))
		abort(); /* scanned what is not a page */
	for (e = items->child; e != NULL && rc == 0; e = e->next) {
		struct dt_sandbox *sb;

		if ((rc = dt_sandbox_from_json(e, 0, &sb)) == 0)
			dt_sandbox_list_add(&want.items, sb);
	}
	if (rc != 0)
		abort(); /* scanned what cJSON refuses */
	next = cJSON_GetObjectItemCaseSensitive(j, "nextCursor");
	if (cJSON_IsString(next) && *next->valuestring)
		want.next_cursor = xstrdup(next->valuestring);
	page_text(&got, &a);
	page_text(&want, &b);
	if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0)
		abort();
	buf_free(&a);
	buf_free(&b);
	cJSON_Delete(j);
	dt_page_clear(&got);
	dt_page_clear(&want);
}

static void
check_labels(const char *text, size_t len)
{
	struct strmap got = STRMAP_INIT, want = STRMAP_INIT;
	cJSON *j;

	if (strmap_scan_json(text, len, &got) != 0) {
		if (got.n != 0)
			abort();
		return;
	}
	j = cJSON_ParseWithLength(text, len);
	if (strmap_from_json(j, "labels", &want) != 0 ||
	    !strmap_equal(&got, &want))
		abort();
	cJSON_Delete(j);
	strmap_clear(&got);
	strmap_clear(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_page((const char *)data, size);
	check_labels((const char *)data, size);
	return 0;
}
