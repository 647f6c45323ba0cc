/*
 * labels: see labels.h.
 */
#include "common/base.h"

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/jsonutil.h"
#include "reconciler/labels.h"

/* owned_keys_text: LABEL_OWNED's value for s (s->labels.n > 0) into b */
static void
owned_keys_text(const struct spec *s, struct buf *b)
{
	size_t i;

	buf_addch(b, '[');
	for (i = 0; i < s->labels.n; i++) {
		if (i)
			buf_addch(b, ',');
		json_put_string(b, s->labels.v[i].key);
	}
	buf_addch(b, ']');
}

void
labels_owned(const struct spec *s, const char *stack, struct strmap *out)
{
	strmap_copy(out, &s->labels);
	strmap_set(out, LABEL_STACK, stack);
	if (s->hash[0])
		strmap_set(out, LABEL_SPEC, s->hash);
	if (s->prevent_destroy)
		strmap_set(out, LABEL_PREVENT_DESTROY, "true");
	if (s->labels.n) {
		/* the declared keys, so the merge still knows them after the
		 * state is lost (a JSON array, as cJSON prints it) */
		struct buf b = BUF_INIT;

		owned_keys_text(s, &b);
		strmap_set(out, LABEL_OWNED, buf_cstr(&b));
		buf_free(&b);
	}
}

/* Keys the live LABEL_OWNED label lists (malformed: none). */
static void
live_owned_keys(const struct strmap *live, struct strmap *out)
{
	const char *v = live ? strmap_get(live, LABEL_OWNED) : NULL;
	cJSON *a = v ? cJSON_Parse(v) : NULL, *it;

	if (cJSON_IsArray(a)) {
		cJSON_ArrayForEach(it, a)
		{
			if (cJSON_IsString(it) && *it->valuestring)
				strmap_set(out, it->valuestring, "");
		}
	}
	cJSON_Delete(a);
}

void
labels_merge(const struct spec *s, const char *stack, const struct strmap *live,
             const struct strmap *prev_owned, struct strmap *out)
{
	struct strmap owned = { NULL, 0 }, before = { NULL, 0 };
	const char *lv = live ? strmap_get(live, LABEL_OWNED) : NULL, *ov;
	size_t i;

	strmap_copy(out, live);
	labels_owned(s, stack, &owned);
	/* keys sandform set before (the state's record, and the list in
	 * the live label) and no longer owns go away; a live list equal to
	 * the one owned now names only owned keys (nothing to parse) */
	ov = strmap_get(&owned, LABEL_OWNED);
	if (lv == NULL || ov == NULL || strcmp(lv, ov) != 0)
		live_owned_keys(live, &before);
	for (i = 0; prev_owned && i < prev_owned->n; i++)
		strmap_set(&before, prev_owned->v[i].key, "");
	for (i = 0; i < before.n; i++)
		if (strmap_get(&owned, before.v[i].key) == NULL)
			strmap_del(out, before.v[i].key);
	strmap_clear(&before);
	/* sandform's own namespace is always exactly what it owns now */
	for (i = 0; i < out->n;) {
		if (strncmp(out->v[i].key, LABEL_PREFIX,
		            strlen(LABEL_PREFIX)) == 0 &&
		    strmap_get(&owned, out->v[i].key) == NULL) {
			strmap_del(out, out->v[i].key);
			continue;
		}
		i++;
	}
	for (i = 0; i < owned.n; i++)
		strmap_set(out, owned.v[i].key, owned.v[i].value);
	strmap_clear(&owned);
}

/* sandform_value: the value labels_owned() gives key when it is one of
 * sandform's own labels (they win over a declared label of that key),
 * else NULL. list: LABEL_OWNED's value, or NULL. */
static const char *
sandform_value(const struct spec *s, const char *stack, const char *list,
               const char *key)
{
	if (strncmp(key, LABEL_PREFIX, sizeof(LABEL_PREFIX) - 1) != 0)
		return NULL;
	if (strcmp(key, LABEL_STACK) == 0)
		return stack;
	if (s->hash[0] && strcmp(key, LABEL_SPEC) == 0)
		return s->hash;
	if (s->prevent_destroy && strcmp(key, LABEL_PREVENT_DESTROY) == 0)
		return "true";
	if (list != NULL && strcmp(key, LABEL_OWNED) == 0)
		return list;
	return NULL;
}

/* live_is: live has key with value */
static int
live_is(const struct strmap *live, const char *key, const char *value)
{
	const char *v = strmap_get(live, key);

	return v != NULL && strcmp(v, value) == 0;
}

/*
 * labels_merge_is_live reads what labels_owned() would make without
 * making it: a map per sandbox, interned pair by pair, was 3% of a big
 * plan.
 */
int
labels_merge_is_live(const struct spec *s, const char *stack,
                     const struct strmap *live, const struct strmap *prev_owned)
{
	struct buf list = BUF_INIT;
	const char *lv = strmap_get(live, LABEL_OWNED), *ov = NULL, *k;
	size_t i;
	int same = 1;

	if (s->labels.n) {
		owned_keys_text(s, &list);
		ov = buf_cstr(&list);
	}
	/* a live list of other keys: the merge reads it (no shortcut) */
	if (lv != NULL && (ov == NULL || strcmp(lv, ov) != 0))
		same = 0;
	/* every owned label is live with its value: the declared ones, */
	for (i = 0; same && i < s->labels.n; i++) {
		k = s->labels.v[i].key;
		if (sandform_value(s, stack, ov, k) == NULL)
			same = live_is(live, k, s->labels.v[i].value);
	}
	/* and sandform's own */
	if (same)
		same = live_is(live, LABEL_STACK, stack) &&
		       (!s->hash[0] || live_is(live, LABEL_SPEC, s->hash)) &&
		       (!s->prevent_destroy ||
		        live_is(live, LABEL_PREVENT_DESTROY, "true")) &&
		       (ov == NULL || live_is(live, LABEL_OWNED, ov));
	/* and no live label the merge would remove: one in sandform's
	 * namespace or owned before, and not owned now */
	for (i = 0; same && i < live->n; i++) {
		k = live->v[i].key;
		if (sandform_value(s, stack, ov, k) != NULL ||
		    strmap_get(&s->labels, k) != NULL)
			continue;
		same = strncmp(k, LABEL_PREFIX, sizeof(LABEL_PREFIX) - 1) !=
		               0 &&
		       !(prev_owned && strmap_get(prev_owned, k) != NULL);
	}
	buf_free(&list);
	return same;
}
