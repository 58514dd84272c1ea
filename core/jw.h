/* jw — a minimal streaming JSON writer into a buf, for hot paths.
 *
 * Building a jansson tree and dumping it costs an allocation per value; the
 * event frames every chat message fans out are written directly instead
 * (measured in docs/performance.md). The caller is responsible for commas
 * and structure: jw is just correct escaping and number formatting.
 */
#ifndef PARLEY_JW_H
#define PARLEY_JW_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

/* Appends s (len bytes, UTF-8) as a quoted, escaped JSON string. */
int jw_str(buf *b, const char *s, size_t len);

/* Appends a NUL-terminated string as a JSON string. */
int jw_cstr(buf *b, const char *s);

/* Appends "key": (key is trusted, not escaped) preceded by a comma unless
 * first. */
int jw_key(buf *b, const char *key, int first);

/* Appends an unsigned / signed integer. */
int jw_u64(buf *b, uint64_t v);
int jw_i64(buf *b, int64_t v);

/* Appends a decimal id as a JSON string ("123"), or null for 0. */
int jw_id(buf *b, uint64_t id);

/* Appends an ISO-8601 time string, or null for 0. */
int jw_time(buf *b, int64_t ms);

#endif
