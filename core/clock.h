/* clock — wall-clock and monotonic time in the units Parley uses. */
#ifndef PARLEY_CLOCK_H
#define PARLEY_CLOCK_H

#include <stdint.h>
#include <stddef.h>

/* Milliseconds since the Unix epoch (wall clock), shifted by the offset
 * set below. */
int64_t clock_now_ms(void);

/* Shifts clock_now_ms by off ms (may be negative; 0 = the real clock):
 * the test clock (parleyd --clock-offset-ms), set before threads start. */
void clock_set_offset_ms(int64_t off);

/* Tests only (parleyd --test-clock): from now on clock_now_ms reads
 * now_ms, advancing with the system clock. Any thread. */
void clock_set_now_ms(int64_t now_ms);

/* Monotonic nanoseconds (for latencies and time-outs). */
int64_t clock_mono_ns(void);

/* Formats epoch ms as ISO-8601 UTC "2026-11-22T10:00:00.000Z" into out
 * (at least 25 bytes); returns out. */
char *clock_iso8601(int64_t ms, char out[32]);

/* Parses an ISO-8601 UTC time "YYYY-MM-DDTHH:MM:SS[.f…]Z" (years 1970 to
 * 9999, a real calendar date, fractions cut to milliseconds) into epoch ms;
 * 0, or -1 when s (of len bytes) is anything else. */
int clock_parse_iso8601(const char *s, size_t len, int64_t *ms);

#endif
