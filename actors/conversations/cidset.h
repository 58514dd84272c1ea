/* cidset — the client ids of a conversation's latest messages, in memory,
 * for idempotent sends.
 *
 * Holds at most `window` ids: those of the last `window` messages of the
 * conversation that carried one, in the order they were added (seq order).
 * Adding to a full set forgets the oldest id. A resend is therefore
 * recognised as long as its original is among the last `window` messages
 * of its conversation (docs/realtime.md); an older one is stored again.
 *
 * Each id is kept as a 32-bit fingerprint of its hash and the seq of the
 * event that carries it (a multimap: two ids may share a fingerprint). A
 * lookup returns candidate seqs; the caller confirms by reading those
 * events, so a collision costs one read, never a wrong answer. The
 * conversation actor builds the set from its latest events when it loads
 * and adds each id when its event commits. Keeping this in memory instead
 * of an LMDB index halves the pages each message dirties
 * (docs/performance.md).
 *
 * Memory: a ring of 8 bytes per id plus an index of 4-byte slots at most
 * 3/4 full, both growing with the ids held (never beyond the window): about
 * 14 bytes per id, ≤ 15 KiB at the default window of 1,000.
 */
#ifndef PARLEY_CIDSET_H
#define PARLEY_CIDSET_H

#include <stddef.h>
#include <stdint.h>

#define CIDSET_WINDOW_DEFAULT 1000
#define CIDSET_WINDOW_MAX (1u << 24)

typedef struct {
	uint32_t fp;        /* fingerprint: low 32 bits of the hash */
	uint32_t dseq;      /* seq - base */
} cidset_ent;

typedef struct {
	cidset_ent *ring;   /* ids in the order added; the oldest at `head` */
	uint32_t *index;    /* open addressing by fp: ring position + 1, 0 = empty */
	size_t cap;         /* ring capacity, <= window */
	size_t icap;        /* index slots, a power of two (0 when empty) */
	size_t n;           /* ids held */
	size_t head;        /* position of the oldest id */
	size_t window;      /* most ids held (1..CIDSET_WINDOW_MAX) */
	uint64_t base;      /* seqs are stored relative to this */
} cidset;

/* An empty set keeping at most `window` ids (clamped to
 * 1..CIDSET_WINDOW_MAX). Allocates nothing. */
void cidset_init(cidset *c, size_t window);

/* Hash of a client id (never 0). */
uint64_t cidset_hash(const char *s, size_t len);

/* Adds (hash, seq), seq not below any seq already held; a full set first
 * forgets its oldest id. 0, or -1 on OOM (the set is then unchanged). */
int cidset_add(cidset *c, uint64_t hash, uint64_t seq);

/* Writes up to max seqs whose fingerprint matches hash into out; returns
 * how many. */
size_t cidset_find(const cidset *c, uint64_t hash, uint64_t *out, size_t max);

/* The seq of the oldest id held (0 when empty). */
uint64_t cidset_oldest(const cidset *c);

/* Bytes allocated for the set. */
size_t cidset_bytes(const cidset *c);

/* Frees the storage and empties the set (its window stays). */
void cidset_clear(cidset *c);

#endif
