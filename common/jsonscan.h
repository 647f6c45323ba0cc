/*
 * jsonscan: a pull reader of JSON text that builds no tree, for the one
 * hot document of sandform: a page of the sandbox list (200 sandboxes,
 * read 500 times for a plan of 100,000). cJSON built ~60 nodes a sandbox
 * only for the reader to copy out of them and throw them away.
 *
 * It reads a strict subset of JSON and says so (-1) for anything outside
 * it, so that the caller can read the same text again with cJSON, whose
 * answer is the reference: strings without \u escapes or raw control
 * bytes, integers of at most 15 digits (no fraction, no exponent), depth
 * at most JSCAN_MAX_DEPTH. What it accepts, cJSON reads to the same
 * values.
 *
 *	char *scratch = xmalloc(len + 1);
 *	struct jscan s;
 *	jscan_init(&s, text, len, scratch, len + 1);
 *	if (jscan_expect(&s, '{') < 0) ... fall back
 *
 * Decoded strings go to scratch, which the caller provides and resets
 * (jscan_scratch_reset) between the parts it keeps apart; scratch of the
 * text's length plus one holds every string of the text at once.
 */
#ifndef SF_COMMON_JSONSCAN_H
#define SF_COMMON_JSONSCAN_H

#include <stddef.h>

#define JSCAN_MAX_DEPTH 64

/* The bytes a JSON string's text stops at: '"', '\\' and the controls
 * (NUL included); 1 for those, 0 else. json_put_string() shares it. */
extern const unsigned char jscan_stop[256];

struct jscan {
	const char *p, *end;
	char *scratch;
	size_t scratch_used, scratch_cap;
};

void jscan_init(struct jscan *s, const char *text, size_t len, char *scratch,
                size_t scratch_cap);
/* jscan_scratch_reset: the strings decoded so far are no longer needed. */
void jscan_scratch_reset(struct jscan *s);
/* jscan_peek: the next byte after whitespace (not consumed), -1 at the end. */
int jscan_peek(struct jscan *s);
/* jscan_expect: consume c after whitespace; -1 when something else is there. */
int jscan_expect(struct jscan *s, char c);
/*
 * jscan_more: after the first member or element of an object or array
 * (close is '}' or ']'): 1 when a ',' and another follows, 0 at the
 * closing byte (consumed), -1 for anything else.
 */
int jscan_more(struct jscan *s, char close);
/*
 * jscan_string: a string (after whitespace). *out points at its text,
 * *len bytes, no NUL among them: into the input when it has no escapes
 * (not NUL-terminated), else into scratch (NUL-terminated).
 */
int jscan_string(struct jscan *s, const char **out, size_t *len);
/* jscan_string_z: the same, always a NUL-terminated copy in scratch. */
int jscan_string_z(struct jscan *s, const char **out, size_t *len);
/* jscan_int: an integer of at most 15 digits, exact in a double. */
int jscan_int(struct jscan *s, double *out);
/* jscan_literal: true, false or null: 1, 0 or 2 (JSCAN_NULL). */
#define JSCAN_NULL 2
int jscan_literal(struct jscan *s);
/* jscan_skip: one value of any kind, checked; *from (may be NULL) is
 * where it starts. */
int jscan_skip(struct jscan *s, const char **from);

#endif
