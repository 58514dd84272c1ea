/* tokmemo — see tokmemo.h. */
#include "actors/tokmemo.h"
#include "core/crypto.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	char *tok;                /* NULL = empty */
	size_t len;
	tm_claims c;
} tm_entry;

struct tokmemo {
	size_t mask;
	size_t max_tok;
	int nthreads;
	tm_entry **t;
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
	m->nthreads = nthreads;
	if (!(m->t = calloc((size_t)nthreads, sizeof *m->t))) {
		free(m);
		return NULL;
	}
	for (int i = 0; i < nthreads; i++) {
		if (!(m->t[i] = calloc(n, sizeof(tm_entry)))) {
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
	for (int i = 0; i < m->nthreads; i++) {
		for (size_t j = 0; m->t[i] && j <= m->mask; j++)
			free(m->t[i][j].tok);
		free(m->t[i]);
	}
	free(m->t);
	free(m);
	*m_p = NULL;
}

/* FNV-1a over the last 32 bytes (the signature: as good as random) */
static size_t slot_of(const tokmemo *m, const char *tok, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = len > 32 ? len - 32 : 0; i < len; i++)
		h = (h ^ (uint8_t)tok[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 29)) & m->mask;
}

bool tm_get(tokmemo *m, int thread, const char *tok, size_t len, uint8_t aud, int64_t now_s,
	    int64_t max_skew_s, tm_claims *out)
{
	const tm_entry *e = &m->t[thread][slot_of(m, tok, len)];
	if (!e->tok || !crypto_ct_equal(e->tok, e->len, tok, len) || e->c.aud != aud || now_s >= e->c.exp_s ||
	    e->c.iat_s - now_s > max_skew_s)
		return false;
	*out = e->c;
	return true;
}

void tm_put(tokmemo *m, int thread, const char *tok, size_t len, const tm_claims *c)
{
	if (len > m->max_tok)
		return;
	char *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, tok, len);
	tm_entry *e = &m->t[thread][slot_of(m, tok, len)];
	free(e->tok);
	e->tok = copy;
	e->len = len;
	e->c = *c;
}
