/* cidset — see cidset.h.
 *
 * The ring is circular with the oldest id at `head`; while it holds fewer
 * ids than the window it grows (doubling) when full, and at the window size
 * every add replaces the oldest id in place and `head` moves on. The index is a linear-probing
 * table of ring positions keyed by fingerprint, with backward-shift
 * deletion when an id is forgotten (no tombstones, so probe chains stay
 * short however long the conversation runs).
 */
#include "actors/conversations/cidset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RING_MIN 16

void cidset_init(cidset *c, size_t window)
{
	memset(c, 0, sizeof *c);
	c->window = window < 1 ? 1 : window > CIDSET_WINDOW_MAX ? CIDSET_WINDOW_MAX : window;
}

uint64_t cidset_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a, then a murmur3 finaliser */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h ? h : 1;
}

/* Index slots for a ring of cap ids: at most 3/4 full. */
static size_t index_cap(size_t cap)
{
	size_t n = 16;
	while (n * 3 < cap * 4)
		n <<= 1;
	return n;
}

static void index_insert(uint32_t *index, size_t icap, uint32_t fp, size_t pos)
{
	size_t j = fp & (icap - 1);
	while (index[j])
		j = (j + 1) & (icap - 1);
	index[j] = (uint32_t)(pos + 1);
}

/* Removes ring position pos from the index (backward-shift deletion). */
static void index_remove(cidset *c, size_t pos)
{
	size_t mask = c->icap - 1, j = c->ring[pos].fp & mask;
	while (c->index[j] != pos + 1)
		j = (j + 1) & mask;
	size_t hole = j, k = j;
	for (;;) {
		k = (k + 1) & mask;
		if (!c->index[k])
			break;
		size_t home = c->ring[c->index[k] - 1].fp & mask;
		/* k stays unless its home lies cyclically in (hole, k] */
		bool stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
		if (stays)
			continue;
		c->index[hole] = c->index[k];
		hole = k;
	}
	c->index[hole] = 0;
}

/* Grows the ring, oldest id first at position 0, and rebuilds the index. */
static int grow(cidset *c)
{
	size_t cap = c->cap ? c->cap * 2 : RING_MIN;
	if (cap > c->window)
		cap = c->window;
	size_t icap = index_cap(cap);
	uint32_t *index = calloc(icap, sizeof *index);
	cidset_ent *ring = malloc(cap * sizeof *ring);
	if (!index || !ring) {
		free(index);
		free(ring);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++) {
		ring[i] = c->ring[(c->head + i) % c->cap];
		index_insert(index, icap, ring[i].fp, i);
	}
	free(c->ring);
	free(c->index);
	c->ring = ring;
	c->index = index;
	c->cap = cap;
	c->icap = icap;
	c->head = 0;
	return 0;
}

/* Forgets the oldest id. */
static void forget_oldest(cidset *c)
{
	index_remove(c, c->head);
	c->head = (c->head + 1) % c->cap;
	c->n--;
}

/* Makes seq fit in 32 bits above the base: forgets the ids more than 2^32
 * seqs older than seq, then moves the base up to the oldest one left. */
static void rebase(cidset *c, uint64_t seq)
{
	while (c->n && seq - (c->base + c->ring[c->head].dseq) > UINT32_MAX)
		forget_oldest(c);
	if (!c->n) {
		c->base = seq;
		return;
	}
	uint32_t d = c->ring[c->head].dseq;
	for (size_t i = 0; i < c->n; i++)
		c->ring[(c->head + i) % c->cap].dseq -= d;
	c->base += d;
}

int cidset_add(cidset *c, uint64_t hash, uint64_t seq)
{
	if (!c->window)
		cidset_init(c, CIDSET_WINDOW_DEFAULT);
	if (c->n == c->cap) {
		if (c->cap < c->window) {
			if (grow(c) < 0)
				return -1;
		} else {
			forget_oldest(c);
		}
	}
	if (!c->n)
		c->base = seq;
	else if (seq - c->base > UINT32_MAX)
		rebase(c, seq);
	size_t pos = (c->head + c->n) % c->cap;
	c->ring[pos].fp = (uint32_t)hash;
	c->ring[pos].dseq = (uint32_t)(seq - c->base);
	index_insert(c->index, c->icap, (uint32_t)hash, pos);
	c->n++;
	return 0;
}

size_t cidset_find(const cidset *c, uint64_t hash, uint64_t *out, size_t max)
{
	size_t n = 0;
	if (!c->n)
		return 0;
	uint32_t fp = (uint32_t)hash;
	size_t mask = c->icap - 1;
	for (size_t j = fp & mask; c->index[j]; j = (j + 1) & mask) {
		const cidset_ent *e = &c->ring[c->index[j] - 1];
		if (e->fp == fp && n < max)
			out[n++] = c->base + e->dseq;
	}
	return n;
}

uint64_t cidset_oldest(const cidset *c)
{
	return c->n ? c->base + c->ring[c->head].dseq : 0;
}

size_t cidset_bytes(const cidset *c)
{
	return c->cap * sizeof *c->ring + c->icap * sizeof *c->index;
}

void cidset_clear(cidset *c)
{
	size_t window = c->window;
	free(c->ring);
	free(c->index);
	memset(c, 0, sizeof *c);
	c->window = window;
}
