/*
 * suggest: edit distances for "did you mean" (suggest.h).
 *
 * The optimal string alignment distance (Damerau-Levenshtein without
 * edits of a swapped pair), in three rows of a dynamic programme: words
 * here are keys and option names, so the O(len(a) * len(b)) cost is
 * small; a long word first has its length difference checked against the
 * limit and is given up on before any table is built.
 */
#include "common/base.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/suggest.h"
#include "common/xalloc.h"

static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

static int
same(char x, char y)
{
	return tolower((unsigned char)x) == tolower((unsigned char)y);
}

/* osa: the distance ignoring case. */
static size_t
osa(const char *a, size_t la, const char *b, size_t lb)
{
	size_t *prev2 = xcalloc(lb + 1, sizeof(size_t));
	size_t *prev = xcalloc(lb + 1, sizeof(size_t));
	size_t *cur = xcalloc(lb + 1, sizeof(size_t));
	size_t i, j, d, *t;

	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;

			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
			              prev[j - 1] + cost);
			if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) &&
			    same(a[i - 2], b[j - 1]) &&
			    prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(prev2);
	free(prev);
	free(cur);
	return d;
}

size_t
suggest_distance(const char *a, const char *b)
{
	size_t d = osa(a, strlen(a), b, strlen(b));

	return d == 0 && strcmp(a, b) != 0 ? 1 : d;
}

static size_t
limit(size_t len)
{
	return len <= 4 ? 1 : len <= 8 ? 2 : 3;
}

const char *
suggest_closest(const char *word, const char *const *cands, size_t n)
{
	size_t i, len = strlen(word), best_d = (size_t)-1, max = limit(len);
	const char *best = NULL;

	if (max >= len)
		max = len - (len > 0);
	for (i = 0; i < n; i++) {
		size_t lc, d;

		if (cands[i] == NULL)
			continue;
		if (strcmp(word, cands[i]) == 0)
			return NULL;
		lc = strlen(cands[i]);
		if ((lc > len ? lc - len : len - lc) > max)
			continue;
		d = suggest_distance(word, cands[i]);
		if (d <= max && d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}
