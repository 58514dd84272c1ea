/* lcache — see lcache.h. */
#include "actors/conversations/lcache.h"
#include "net/http.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define LC_MARKS 4096   /* tenant mark slots (power of two) */

/* one per I/O thread, on its own cache line: only that thread writes its
 * counters (plain load + store), /metrics only reads them */
typedef struct {
	alignas(64) lc_entry *e;   /* slots entries */
	atomic_uint_fast64_t hits, misses, stores;
} lc_table;

static void bump(atomic_uint_fast64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

struct lcache {
	size_t mask;            /* slots - 1 */
	size_t max_body;
	int nthreads;
	lc_table *t;
	atomic_uint_fast64_t marks[LC_MARKS];
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t key_hash(const lc_key *k)
{
	uint64_t h = mix(k->tid);
	h = mix(h ^ k->assignee);
	h = mix(h ^ k->below);
	h = mix(h ^ ((uint64_t)(uint32_t)k->status << 32 | k->limit));
	return mix(h ^ k->by_assignee);
}

lcache *lc_new(int nthreads, size_t slots, size_t max_body)
{
	size_t n = 1;
	while (n < slots)
		n <<= 1;
	lcache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->mask = n - 1;
	c->max_body = max_body;
	c->nthreads = nthreads;
	c->t = aligned_alloc(64, (size_t)nthreads * sizeof *c->t);   /* sizeof is a multiple of 64 */
	if (!c->t) {
		free(c);
		return NULL;
	}
	memset(c->t, 0, (size_t)nthreads * sizeof *c->t);
	for (int i = 0; i < nthreads; i++) {
		if (!(c->t[i].e = calloc(n, sizeof(lc_entry)))) {
			lc_free(&c);
			return NULL;
		}
	}
	for (size_t i = 0; i < LC_MARKS; i++)
		atomic_init(&c->marks[i], 0);
	return c;
}

void lc_free(lcache **c_p)
{
	lcache *c = *c_p;
	if (!c)
		return;
	for (int i = 0; i < c->nthreads; i++) {
		if (!c->t[i].e)
			continue;
		for (size_t j = 0; j <= c->mask; j++)
			free(c->t[i].e[j].body);
		free(c->t[i].e);
	}
	free(c->t);
	free(c);
	*c_p = NULL;
}

static atomic_uint_fast64_t *mark_of(const lcache *c, uint64_t tid)
{
	return (atomic_uint_fast64_t *)&c->marks[mix(tid) & (LC_MARKS - 1)];
}

void lc_touch(lcache *c, uint64_t tid, uint64_t txn_id)
{
	atomic_uint_fast64_t *m = mark_of(c, tid);
	uint64_t cur = atomic_load_explicit(m, memory_order_relaxed);
	while (cur < txn_id &&
	       !atomic_compare_exchange_weak_explicit(m, &cur, txn_id, memory_order_release,
						      memory_order_relaxed))
		;
}

uint64_t lc_mark(const lcache *c, uint64_t tid)
{
	return atomic_load_explicit(mark_of(c, tid), memory_order_acquire);
}

static lc_entry *slot(lcache *c, int thread, const lc_key *k)
{
	return &c->t[thread].e[key_hash(k) & c->mask];
}

const lc_entry *lc_get(lcache *c, int thread, const lc_key *k)
{
	lc_table *t = &c->t[thread];
	lc_entry *e = slot(c, thread, k);
	if (e->body && memcmp(&e->key, k, sizeof *k) == 0 && e->snap >= lc_mark(c, k->tid)) {
		bump(&t->hits);
		return e;
	}
	bump(&t->misses);
	return NULL;
}

const lc_entry *lc_put(lcache *c, int thread, const lc_key *k, uint64_t snap, const char *body,
		       size_t len)
{
	if (len > c->max_body || snap < lc_mark(c, k->tid))
		return NULL;
	char *copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, body, len);
	copy[len] = 0;
	lc_entry *e = slot(c, thread, k);
	free(e->body);
	e->key = *k;
	e->snap = snap;
	e->body = copy;
	e->len = len;
	http_etag(copy, len, e->etag);
	bump(&c->t[thread].stores);
	return e;
}

void lc_get_stats(lcache *c, lc_stats *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < c->nthreads; i++) {
		out->hits += atomic_load_explicit(&c->t[i].hits, memory_order_relaxed);
		out->misses += atomic_load_explicit(&c->t[i].misses, memory_order_relaxed);
		out->stores += atomic_load_explicit(&c->t[i].stores, memory_order_relaxed);
	}
}
