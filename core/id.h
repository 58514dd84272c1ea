/* id — 64-bit, time-ordered, unique ids for records.
 *
 * id = milliseconds since the epoch << 16 | a counter, made strictly
 * increasing within a generator (a later id is always greater), so keys
 * built from ids sort by creation time. 65,536 ids per millisecond before
 * the generator borrows from the next millisecond. Shown to clients as
 * decimal strings.
 */
#ifndef PARLEY_ID_H
#define PARLEY_ID_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	atomic_uint_fast64_t last;
	uint64_t salt;     /* random high bits of the counter, set on first use, so
			    * two processes (server, CLI) rarely start at the same id */
} id_gen;

/* Next id (thread-safe). */
uint64_t id_next(id_gen *g);

/* Decimal text of id into out (≥ 21 bytes); returns out. */
char *id_str(uint64_t id, char out[24]);

/* Parses a decimal id (1..2^64-1, no sign, no spaces); false if invalid. */
bool id_parse(const char *s, size_t len, uint64_t *out);

#endif
