/*
 * labels: see labels.h.
 */
#include "common/base.h"

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/jsonutil.h"
#include "reconciler/labels.h"

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
		size_t i;

		buf_addch(&b, '[');
		for (i = 0; i < s->labels.n; i++) {
			if (i)
				buf_addch(&b, ',');
			json_put_string(&b, s->labels.v[i].key);
		}
		buf_addch(&b, ']');
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

int
labels_merge_is_live(const struct spec *s, const char *stack,
                     const struct strmap *live, const struct strmap *prev_owned)
{
	struct strmap owned = { NULL, 0 };
	const char *lv = strmap_get(live, LABEL_OWNED), *ov, *v;
	size_t i;
	int same = 1;

	labels_owned(s, stack, &owned);
	ov = strmap_get(&owned, LABEL_OWNED);
	/* a live list of other keys: the merge reads it (no shortcut) */
	if (lv != NULL && (ov == NULL || strcmp(lv, ov) != 0))
		same = 0;
	/* every owned label is live with its value */
	for (i = 0; same && i < owned.n; i++)
		same = (v = strmap_get(live, owned.v[i].key)) != NULL &&
		       strcmp(v, owned.v[i].value) == 0;
	/* and no live label the merge would remove: one in sandform's
	 * namespace or owned before, and not owned now */
	for (i = 0; same && i < live->n; i++) {
		const char *k = live->v[i].key;

		if (strmap_get(&owned, k) != NULL)
			continue;
		same = strncmp(k, LABEL_PREFIX, strlen(LABEL_PREFIX)) != 0 &&
		       !(prev_owned && strmap_get(prev_owned, k) != NULL);
	}
	strmap_clear(&owned);
	return same;
}
