#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"

void
buf_init_max(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static int
grow(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > (size_t)-1 - b->len - 1)
		return -1;
	need = b->len + extra + 1;
	if (b->max && b->len + extra > b->max)
		return -1;
	if (need <= b->cap)
		return 0;
	if (b->cap < 64)
		b->cap = 64;
	while (b->cap < need)
		b->cap = b->cap * 2 > b->cap ? b->cap * 2 : need;
	b->data = xrealloc(b->data, b->cap);
	return 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	return grow(b, extra);
}

int
buf_add_grow(struct buf *b, const void *data, size_t len)
{
	if (grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int
buf_add_json_string(struct buf *b, const char *s)
{
	const unsigned char *p;
	int rc = buf_addch(b, '"');

	for (p = (const unsigned char *)s; rc == 0 && *p; p++) {
		switch (*p) {
		case '"':
			rc = buf_addstr(b, "\\\"");
			break;
		case '\\':
			rc = buf_addstr(b, "\\\\");
			break;
		case '\n':
			rc = buf_addstr(b, "\\n");
			break;
		case '\r':
			rc = buf_addstr(b, "\\r");
			break;
		case '\t':
			rc = buf_addstr(b, "\\t");
			break;
		default:
			if (*p < 0x20)
				rc = buf_addf(b, "\\u%04x", *p);
			else
				rc = buf_addch(b, (char)*p);
		}
	}
	return rc ? rc : buf_addch(b, '"');
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

void
buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *s = b->data ? b->data : xstrdup("");

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
