/*
 * redact: values are bucketed by their first byte, so a text is scanned once
 * and only the values that start with the byte at hand are compared: an
 * answer of a list walk costs one pass whatever the number of secrets.
 * Registration copies the value (and its JSON-escaped form when it differs)
 * under a mutex; masking takes the same mutex (masking is rare next to the
 * network calls it follows).
 */
#include "common/base.h"

#include <pthread.h>

#include "common/buf.h"
#include "common/redact.h"
#include "common/xalloc.h"

struct value {
	char *s;
	size_t len;
};

struct bucket {
	struct value *v;
	size_t n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[256];
static size_t nvalues;

/* add: v (len bytes) into its bucket unless present; with mu held. */
static void
add(const char *v, size_t len)
{
	struct bucket *b = &buckets[(unsigned char)v[0]];
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->v[i].len == len && memcmp(b->v[i].s, v, len) == 0)
			return;
	b->v = xreallocarray(b->v, b->n + 1, sizeof(*b->v));
	b->v[b->n].s = xstrndup(v, len);
	b->v[b->n].len = len;
	b->n++;
	nvalues++;
}

/* json_escaped: v as it appears inside a JSON string (caller frees). */
static char *
json_escaped(const char *v)
{
	struct buf b = BUF_INIT;
	size_t len;
	char *s;

	buf_add_json_string(&b, v);
	s = buf_detach(&b, &len);
	/* without the quotes */
	memmove(s, s + 1, len - 2);
	s[len - 2] = '\0';
	return s;
}

int
redact_register(const char *value)
{
	char *esc;

	if (value == NULL || strlen(value) < REDACT_MIN_LEN)
		return -1;
	esc = json_escaped(value);
	pthread_mutex_lock(&mu);
	add(value, strlen(value));
	if (strcmp(esc, value) != 0)
		add(esc, strlen(esc));
	pthread_mutex_unlock(&mu);
	wipe(esc, strlen(esc));
	free(esc);
	return 0;
}

/* match: the longest registered value at s[i..len), or NULL; mu held. */
static const struct value *
match(const char *s, size_t i, size_t len)
{
	const struct bucket *b = &buckets[(unsigned char)s[i]];
	const struct value *best = NULL;
	size_t k;

	for (k = 0; k < b->n; k++)
		if (b->v[k].len <= len - i &&
		    memcmp(s + i, b->v[k].s, b->v[k].len) == 0 &&
		    (best == NULL || b->v[k].len > best->len))
			best = &b->v[k];
	return best;
}

size_t
redact_text(char *s, size_t len)
{
	static const size_t mlen = sizeof(REDACT_MASK) - 1;
	size_t i = 0, o = 0, j;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&mu);
	while (nvalues > 0 && i < len) {
		const struct value *m;

		/* skip to the next byte that starts some value; what lies
		 * between moves as one block, and not at all before a match */
		for (j = i; j < len && buckets[(unsigned char)s[j]].n == 0; j++)
			;
		if (o != i)
			memmove(s + o, s + i, j - i);
		o += j - i;
		i = j;
		if (i == len)
			break;
		if ((m = match(s, i, len)) != NULL) {
			/* mlen < REDACT_MIN_LEN: the text never grows */
			memcpy(s + o, REDACT_MASK, mlen);
			o += mlen;
			i += m->len;
		} else {
			s[o++] = s[i++];
		}
	}
	pthread_mutex_unlock(&mu);
	return i == 0 ? len : o;
}

void
redact_str(char *s)
{
	size_t len, n;

	if (s == NULL)
		return;
	len = strlen(s);
	n = redact_text(s, len);
	s[n] = '\0';
}

size_t
redact_count(void)
{
	size_t n;

	pthread_mutex_lock(&mu);
	n = nvalues;
	pthread_mutex_unlock(&mu);
	return n;
}

void
redact_reset(void)
{
	size_t i, k;

	pthread_mutex_lock(&mu);
	for (i = 0; i < 256; i++) {
		for (k = 0; k < buckets[i].n; k++) {
			wipe(buckets[i].v[k].s, buckets[i].v[k].len);
			free(buckets[i].v[k].s);
		}
		free(buckets[i].v);
		buckets[i].v = NULL;
		buckets[i].n = 0;
	}
	nvalues = 0;
	pthread_mutex_unlock(&mu);
}

char *
redact_url_userinfo(const char *url)
{
	const char *scheme, *host, *at = NULL;
	size_t i, end;

	if (url == NULL)
		return NULL;
	scheme = strstr(url, "://");
	host = scheme ? scheme + 3 : url;
	/* only an '@' in the authority (before any path, query or fragment)
	 * ends userinfo; the last one, as a password may hold '@' */
	end = strcspn(host, "/?#");
	for (i = 0; i < end; i++)
		if (host[i] == '@')
			at = host + i;
	if (at == NULL)
		return xstrdup(url);
	return xasprintf("%.*s" REDACT_MASK "%s", (int)(host - url), url, at);
}
