/*
 * strnum: bounded number parsing (strtonum-style); never use atoi.
 */
#ifndef SF_COMMON_STRNUM_H
#define SF_COMMON_STRNUM_H

/*
 * strnum_parse: parse all of s as a base-10 integer in [min, max].
 * Returns 0 and sets *out, or -1 with *errstr set to "invalid",
 * "too small" or "too large" (static strings).
 */
int strnum_parse(const char *s, long long min, long long max, long long *out,
                 const char **errstr);

/*
 * strnum_duration_ms: parse "500ms", "30s", "5m", "2h" or a plain number of
 * seconds into milliseconds. The number may have a decimal fraction ("0.1s",
 * "1.5m", "2.5") as long as the result is a whole number of milliseconds
 * ("0.5ms" and "0.0001s" are refused). Returns 0 or -1.
 */
int strnum_duration_ms(const char *s, long long *out_ms);

#endif
