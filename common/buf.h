/*
 * buf: the one growable string builder.
 *
 *	struct buf b = BUF_INIT;
 *	buf_addf(&b, "%d sandboxes", n);
 *	char *s = buf_detach(&b);	// caller frees s; b is empty again
 *
 * The contents are always NUL-terminated (b.data is "" when empty, never
 * NULL once anything was added; use buf_cstr() to read safely). A buffer may
 * carry a size cap (b.max, 0 = none): an append that would pass it fails
 * with -1 and leaves the buffer unchanged, which is how HTTP bodies and
 * manifest files are bounded. Appends without a cap cannot fail.
 */
#ifndef SF_COMMON_BUF_H
#define SF_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0: unbounded */
};

#define BUF_INIT              \
	{                     \
		NULL, 0, 0, 0 \
	}

void buf_init_max(struct buf *b, size_t max);
/* buf_add_grow: buf_add() when the room may be missing (call buf_add) */
int buf_add_grow(struct buf *b, const void *data, size_t len);

/* buf_add: inline when the room is there (the printers of a big plan
 * append a few bytes at a time, millions of times) */
static inline int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (len < b->cap - b->len && b->max == 0 && len > 0) {
		memcpy(b->data + b->len, data, len);
		b->len += len;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_add_grow(b, data, len);
}
/* buf_reserve: room for extra more bytes without growing again; -1 (the
 * buffer unchanged) when that would pass the cap. */
int buf_reserve(struct buf *b, size_t extra);
int buf_addstr(struct buf *b, const char *s);
/* buf_addch: inline, for the printers that write a byte at a time: the
 * room is there nearly always, and a call per byte was 2% of a big plan */
static inline int
buf_addch(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap && (b->max == 0 || b->len < b->max)) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_add_grow(b, &c, 1);
}
int buf_addf(struct buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
        __attribute__((format(printf, 2, 0)));
/* buf_add_json_string: append s as a quoted, escaped JSON string. */
int buf_add_json_string(struct buf *b, const char *s);
const char *buf_cstr(const struct buf *b);
void buf_reset(struct buf *b);
void buf_truncate(struct buf *b, size_t len);
/* buf_detach: hand the string to the caller (never NULL) and empty b. */
char *buf_detach(struct buf *b, size_t *len);
void buf_free(struct buf *b);

#endif
