#include "actors/cidset.h"

#include <stdlib.h>

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

static int grow(cidset *c)
{
	size_t cap = c->cap ? c->cap * 2 : 16;
	uint64_t *h = calloc(cap, sizeof *h), *s = calloc(cap, sizeof *s);
	if (!h || !s) {
		free(h);
		free(s);
		return -1;
	}
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->hashes[i])
			continue;
		size_t j = c->hashes[i] & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = c->hashes[i];
		s[j] = c->seqs[i];
	}
	free(c->hashes);
	free(c->seqs);
	c->hashes = h;
	c->seqs = s;
	c->cap = cap;
	return 0;
}

int cidset_add(cidset *c, uint64_t hash, uint64_t seq)
{
	if ((c->n + 1) * 2 > c->cap && grow(c) < 0)
		return -1;
	size_t j = hash & (c->cap - 1);
	while (c->hashes[j])
		j = (j + 1) & (c->cap - 1);
	c->hashes[j] = hash;
	c->seqs[j] = seq;
	c->n++;
	return 0;
}

size_t cidset_find(const cidset *c, uint64_t hash, uint64_t *out, size_t max)
{
	size_t n = 0;
	if (!c->cap)
		return 0;
	for (size_t j = hash & (c->cap - 1); c->hashes[j]; j = (j + 1) & (c->cap - 1))
		if (c->hashes[j] == hash && n < max)
			out[n++] = c->seqs[j];
	return n;
}

void cidset_clear(cidset *c)
{
	free(c->hashes);
	free(c->seqs);
	c->hashes = c->seqs = NULL;
	c->cap = c->n = 0;
}
