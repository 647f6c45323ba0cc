/*
 * jsnum: numbers as the Daytona server (Node.js) reads and prints them.
 *
 * The API's numeric path and query parameters reach its code through
 * JavaScript's Number(string) — the validation pipe's "+value" for
 * `@Param() n: number`, class-transformer's @Type(() => Number) for query
 * DTOs — so "1e3" is 1000, " 7 " is 7, "0x10" is 16, "" is 0 and "abc"
 * is NaN; what happens next is the server's own check of that number.
 * The emulator reads them the same way (jsnum_parse) and prints them back
 * as JavaScript does (jsnum_format), so that the answers match.
 */
#ifndef SF_EMULATOR_JSNUM_H
#define SF_EMULATOR_JSNUM_H

#include <stdbool.h>

#define JSNUM_FORMAT_MAX                                    \
	32 /* the longest jsnum_format() text, NUL included \
	    */

/*
 * jsnum_parse: StringToNumber of ECMA-262 over the UTF-8 string s:
 * surrounding white space (its Unicode set) trimmed, then a decimal
 * literal (sign, fraction, exponent), Infinity, or an unsigned 0x, 0o or
 * 0b literal; "" is 0, anything else NaN.
 */
double jsnum_parse(const char *s);

/* jsnum_is_int32: a finite integer in [-2^31, 2^31 - 1], what a Postgres
 * int column takes. */
bool jsnum_is_int32(double v);
/* jsnum_is_integer: Number.isInteger(v). */
bool jsnum_is_integer(double v);

/* jsnum_format: String(v) — shortest round-trip digits, exponent form
 * outside [1e-6, 1e21), "NaN", "Infinity". */
void jsnum_format(double v, char out[JSNUM_FORMAT_MAX]);

#endif
