/*
 * timeutil: clocks and ISO-8601 timestamps ("2025-01-01T00:00:00.000Z", the
 * form Daytona's toISOString() produces).
 */
#ifndef SF_COMMON_TIMEUTIL_H
#define SF_COMMON_TIMEUTIL_H

#include <stdint.h>

#define SF_ISO8601_LEN 24

/* Wall clock, milliseconds since the epoch. */
int64_t time_now_ms(void);
/* Monotonic clock, milliseconds. */
int64_t time_mono_ms(void);
void time_sleep_ms(int64_t ms);
/* time_format_iso: UTC with milliseconds and 'Z'. */
void time_format_iso(int64_t ms, char out[SF_ISO8601_LEN + 1]);
/* time_parse_iso: accepts "YYYY-MM-DDTHH:MM:SS[.fff]Z"; 0 or -1. */
int time_parse_iso(const char *s, int64_t *out_ms);

#endif
