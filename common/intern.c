/*
 * intern: see intern.h. An open-addressing table (at most half full) of
 * pointers into one static buffer; static memory costs nothing until used.
 */
#include "common/base.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/intern.h"
#include "common/xalloc.h"

#define INTERN_BYTES (256 * 1024)
#define INTERN_SLOTS 8192 /* a power of two */

static char buf[INTERN_BYTES];
static size_t used, count;
static const char *slot[INTERN_SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

int
intern_owns(const void *p)
{
	const char *c = p;

	return c >= buf && c < buf + sizeof(buf);
}

const char *
intern_str(const char *s, size_t len)
{
	uint64_t h;
	const char *hit = NULL;
	size_t i;

	if (len > INTERN_MAX_LEN)
		return NULL;
	h = hash_words(0, s, len);
	pthread_mutex_lock(&mu);
	for (i = h & (INTERN_SLOTS - 1); slot[i] != NULL;
	     i = (i + 1) & (INTERN_SLOTS - 1))
		if (strncmp(slot[i], s, len) == 0 && slot[i][len] == '\0') {
			hit = slot[i];
			break;
		}
	if (hit == NULL && count < INTERN_SLOTS / 2 &&
	    used + len + 1 <= sizeof(buf)) {
		char *p = buf + used;

		memcpy(p, s, len);
		p[len] = '\0';
		used += len + 1;
		slot[i] = p;
		count++;
		hit = p;
	}
	pthread_mutex_unlock(&mu);
	return hit;
}

char *
intern_dup(const char *s)
{
	const char *in;

	if (s == NULL)
		return NULL;
	in = intern_str(s, strlen(s));
	return in ? (char *)in : xstrdup(s);
}

void
intern_free(void *p)
{
	if (p != NULL && !intern_owns(p))
		free(p);
}
