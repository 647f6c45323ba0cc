/*
 * escape: making text from servers and manifests safe to print on a
 * terminal or in a log line.
 *
 * A sandbox name, a label value or an API error message may carry control
 * characters (an ANSI sequence that clears the screen or sets the window
 * title, a carriage return that overwrites the line) or Unicode that
 * reorders or hides text (bidirectional overrides, zero-width characters),
 * which would let a hostile server or manifest make output lie. esc_text()
 * writes those as visible escapes instead; ordinary text, UTF-8 letters
 * included, is unchanged.
 */
#ifndef SF_COMMON_ESCAPE_H
#define SF_COMMON_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * esc_text: a copy of s (NULL: "") where C0 controls and DEL are "\xNN"
 * (with \t, \n and \r spelled so), the C1 controls U+0080..U+009F and the
 * invisible or reordering code points of esc_invisible() are "\u{XXXX}", and
 * a byte that is not valid UTF-8 is "\xNN". A backslash stays a backslash.
 * The caller frees the result.
 */
char *esc_text(const char *s);
/* esc_needed: whether esc_text() would change s. */
bool esc_needed(const char *s);
/*
 * esc_invisible: the code points refused in names and labels and escaped in
 * output: the bidirectional embeddings, overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069, U+061C), zero-width and direction marks
 * (U+200B..U+200F), the line and paragraph separators (U+2028, U+2029),
 * the word joiner and invisible operators (U+2060..U+2064), and U+FEFF.
 */
bool esc_invisible(unsigned cp);
/*
 * esc_utf8_next: decode one UTF-8 sequence at s (at most n bytes): its
 * length and *cp, or 0 when it is not valid UTF-8 (overlong, surrogate,
 * above U+10FFFF, truncated).
 */
size_t esc_utf8_next(const unsigned char *s, size_t n, unsigned *cp);

#endif
