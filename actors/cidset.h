/* cidset — a conversation's client ids, in memory, for idempotent sends.
 *
 * Maps a 64-bit hash of each client_id to the seq of the event that carries
 * it (a multimap: two ids may share a hash). A lookup returns candidate
 * seqs; the caller confirms by reading those events, so a hash collision
 * costs one read, never a wrong answer. The conversation actor builds the
 * set from its events when it loads and adds each id when its event
 * commits. Keeping this in memory instead of an LMDB index halves the pages
 * each message dirties (docs/performance.md).
 */
#ifndef PARLEY_CIDSET_H
#define PARLEY_CIDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t *hashes;   /* 0 = empty slot */
	uint64_t *seqs;
	size_t cap;         /* power of two, or 0 */
	size_t n;
} cidset;

/* Hash of a client id (never 0). */
uint64_t cidset_hash(const char *s, size_t len);

/* Adds (hash, seq); 0 or -1 on OOM. */
int cidset_add(cidset *c, uint64_t hash, uint64_t seq);

/* Writes up to max seqs stored under hash into out; returns how many. */
size_t cidset_find(const cidset *c, uint64_t hash, uint64_t *out, size_t max);

/* Frees the storage and empties the set. */
void cidset_clear(cidset *c);

#endif
