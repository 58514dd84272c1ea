/* tokmemo — see tokmemo.h. */
#include "actors/kit/tokmemo.h"
#include "core/crypto.h"

#include <stdlib.h>
#include <string.h>

/* Entries are stored inline, `stride` bytes each: the header, then the
 * token's bytes. One allocation per thread for the life of the memo: a
 * token per malloc would scatter ~300-byte blocks over the heap, and each
 * one would keep a page resident after the memory around it was freed. */
typedef struct {
	size_t len;               /* 0 = empty */
	tm_claims c;
	char tok[];
} tm_entry;

struct tokmemo {
	size_t mask;
	size_t max_tok;
	size_t stride;
	int nthreads;
	char **t;
};

tokmemo *tm_new(int nthreads, size_t slots, size_t max_tok)
{
	size_t n = 1;
	while (n < slots)
		n <<= 1;
	tokmemo *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->mask = n - 1;
	m->max_tok = max_tok;
	m->stride = (sizeof(tm_entry) + max_tok + 15) & ~(size_t)15;
	m->nthreads = nthreads;
	if (!(m->t = calloc((size_t)nthreads, sizeof *m->t))) {
		free(m);
		return NULL;
	}
	for (int i = 0; i < nthreads; i++) {
		if (!(m->t[i] = calloc(n, m->stride))) {
			tm_free(&m);
			return NULL;
		}
	}
	return m;
}

void tm_free(tokmemo **m_p)
{
	tokmemo *m = *m_p;
	if (!m)
		return;
	for (int i = 0; i < m->nthreads; i++)
		free(m->t[i]);
	free(m->t);
	free(m);
	*m_p = NULL;
}

/* FNV-1a over the last 32 bytes (the signature: as good as random) */
static tm_entry *slot_of(const tokmemo *m, int thread, const char *tok, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = len > 32 ? len - 32 : 0; i < len; i++)
		h = (h ^ (uint8_t)tok[i]) * 0x100000001b3ULL;
	size_t i = (size_t)(h ^ (h >> 29)) & m->mask;
	return (tm_entry *)(m->t[thread] + i * m->stride);
}

bool tm_get(tokmemo *m, int thread, const char *tok, size_t len, uint8_t aud, int64_t now_s,
	    int64_t max_skew_s, tm_claims *out)
{
	const tm_entry *e = slot_of(m, thread, tok, len);
	if (!e->len || !crypto_ct_equal(e->tok, e->len, tok, len) || e->c.aud != aud || now_s >= e->c.exp_s ||
	    e->c.iat_s - now_s > max_skew_s)
		return false;
	*out = e->c;
	return true;
}

void tm_put(tokmemo *m, int thread, const char *tok, size_t len, const tm_claims *c)
{
	if (!len || len > m->max_tok)
		return;
	tm_entry *e = slot_of(m, thread, tok, len);
	memcpy(e->tok, tok, len);
	e->len = len;
	e->c = *c;
}
