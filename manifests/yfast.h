/*
 * yfast: the events libyaml gives for the YAML manifests are nearly always
 * written in, read in one pass without libyaml.
 *
 * It reads a strict subset, one document at a time: printable ASCII and LF
 * only; block mappings and lists; one-line flow mappings and lists; plain
 * scalars and one-line quoted scalars without escapes. A document with
 * anything else (a tag, an anchor, a block scalar, a value over two lines,
 * an empty value, a tab, CR, a byte past ASCII, ...) is left, whole, to
 * libyaml: yfast_next() says where it starts, and ytree hands libyaml the
 * rest of the file from there. So every answer outside the subset, errors
 * included, is libyaml's own; inside it, the events are the ones libyaml
 * gives (type, scalar style and value, start line and column), which
 * tests/unit/test_yfast.c and the fuzz-yaml target hold it to.
 */
#ifndef SF_MANIFESTS_YFAST_H
#define SF_MANIFESTS_YFAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

/* One event, as ytree reads it from libyaml or yfast. */
struct yev {
	yaml_event_type_t type;
	yaml_scalar_style_t style;
	size_t line, col;   /* 0-based start, libyaml's mark */
	const char *tag;    /* NULL: none (always, from yfast) */
	const char *anchor; /* an alias's anchor */
	const char *value;  /* scalar text, not NUL-terminated */
	size_t len;
};

struct yfast {
	const char *s;
	size_t len; /* the data */
	size_t end; /* the first byte yfast does not take (len: none) */
	size_t i;   /* cursor */
	size_t ls;  /* start of the cursor's line */
	size_t line;
	size_t depth;
	size_t doc_off, doc_line; /* where the last document began */
	struct yev *ev;           /* the last document's events */
	size_t nev, cap;
};

/* yfast_word_taken: the 8 bytes at p are printable ASCII (0x20 to 0x7e),
 * all taken by yfast: the fast step of the scans of a whole text. LF is
 * taken too, but sent to the byte-by-byte step. */
static inline bool
yfast_word_taken(const char *p)
{
	uint64_t w, lo, hi;

	memcpy(&w, p, 8);
	/* the high bit of a byte below 0x20 (lo) or from 0x7f up (hi) */
	lo = (w - 0x2020202020202020ULL) & ~w;
	hi = (w + 0x0101010101010101ULL) | w;
	return ((lo | hi) & 0x8080808080808080ULL) == 0;
}

/* yfast_untaken: the offset of the first byte yfast does not read (it
 * reads LF and printable ASCII), or len. ytree has it from its check of
 * the whole text (utf8_check). */
size_t yfast_untaken(const char *data, size_t len);
/* yfast_init: read data (len bytes) up to untaken. */
void yfast_init(struct yfast *f, const char *data, size_t len, size_t untaken);
void yfast_free(struct yfast *f);

/*
 * yfast_next: 1 with the next document's events in f->ev[0..f->nev)
 * (DOCUMENT-START to DOCUMENT-END); 0 at the end of the stream; -1 when
 * the document starting at f->doc_off (line f->doc_line) is not one yfast
 * reads: parse the data from there on with libyaml.
 */
int yfast_next(struct yfast *f);

#endif
