#include "actors/kit/registry.h"

#include <pthread.h>
#include <stdlib.h>

#define REGISTRY_MIN_CAP 1024

typedef struct {
	uint64_t a, b;
	actor *act;
	int borrows;      /* registry_get without registry_put yet */
} entry;

struct registry {
	pthread_mutex_t lock;
	entry *tab;
	size_t cap, n;
	registry_ctor ctor;
	registry_dtor dtor;
	void *ctx;
};

static size_t hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xC2B2AE3D27D4EB4Full;
	return (size_t)(h ^ h >> 29);
}

registry *registry_new(registry_ctor ctor, registry_dtor dtor, void *ctx)
{
	registry *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->cap = REGISTRY_MIN_CAP;
	r->tab = calloc(r->cap, sizeof *r->tab);
	if (!r->tab) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->ctor = ctor;
	r->dtor = dtor;
	r->ctx = ctx;
	return r;
}

void registry_free(registry **r_p)
{
	registry *r = *r_p;
	if (!r)
		return;
	for (size_t i = 0; i < r->cap; i++)
		if (r->tab[i].act)
			r->dtor(r->tab[i].act);
	free(r->tab);
	pthread_mutex_destroy(&r->lock);
	free(r);
	*r_p = NULL;
}

/* Rehashes into cap slots; lock held. */
static int resize(registry *r, size_t cap)
{
	entry *t = calloc(cap, sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < r->cap; i++) {
		if (!r->tab[i].act)
			continue;
		size_t j = hash(r->tab[i].a, r->tab[i].b) & (cap - 1);
		while (t[j].act)
			j = (j + 1) & (cap - 1);
		t[j] = r->tab[i];
	}
	free(r->tab);
	r->tab = t;
	r->cap = cap;
	return 0;
}

actor *registry_get(registry *r, uint64_t a, uint64_t b)
{
	pthread_mutex_lock(&r->lock);
	size_t j = hash(a, b) & (r->cap - 1);
	while (r->tab[j].act) {
		if (r->tab[j].a == a && r->tab[j].b == b) {
			actor *act = r->tab[j].act;
			r->tab[j].borrows++;
			pthread_mutex_unlock(&r->lock);
			return act;
		}
		j = (j + 1) & (r->cap - 1);
	}
	actor *act = NULL;
	if (r->n * 2 >= r->cap && resize(r, r->cap * 2) < 0)
		goto out;
	act = r->ctor(r->ctx, a, b);
	if (!act)
		goto out;
	j = hash(a, b) & (r->cap - 1);
	while (r->tab[j].act)
		j = (j + 1) & (r->cap - 1);
	r->tab[j] = (entry){ a, b, act, 1 };
	r->n++;
out:
	pthread_mutex_unlock(&r->lock);
	return act;
}

size_t registry_capacity(registry *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->cap;
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t registry_count(registry *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* Slot of (a, b) or -1; lock held. */
static long find(registry *r, uint64_t a, uint64_t b)
{
	size_t j = hash(a, b) & (r->cap - 1);
	while (r->tab[j].act) {
		if (r->tab[j].a == a && r->tab[j].b == b)
			return (long)j;
		j = (j + 1) & (r->cap - 1);
	}
	return -1;
}

void registry_put(registry *r, uint64_t a, uint64_t b)
{
	pthread_mutex_lock(&r->lock);
	long j = find(r, a, b);
	if (j >= 0 && r->tab[j].borrows > 0)
		r->tab[j].borrows--;
	pthread_mutex_unlock(&r->lock);
}

bool registry_retire(registry *r, uint64_t a, uint64_t b, actor *act)
{
	pthread_mutex_lock(&r->lock);
	long j = find(r, a, b);
	if (j < 0 || r->tab[j].act != act || r->tab[j].borrows > 0 || actor_pending(act) > 0 ||
	    actor_scheduled(act)) {
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	/* backward-shift deletion keeps every probe chain intact */
	size_t mask = r->cap - 1, hole = (size_t)j, k = (size_t)j;
	for (;;) {
		k = (k + 1) & mask;
		if (!r->tab[k].act)
			break;
		size_t home = hash(r->tab[k].a, r->tab[k].b) & mask;
		/* move k into the hole unless its home lies cyclically in (hole, k] */
		bool stays = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
		if (stays)
			continue;
		r->tab[hole] = r->tab[k];
		hole = k;
	}
	r->tab[hole] = (entry){ 0 };
	r->n--;
	/* the table follows the live actors down as well as up: after a burst
	 * of conversations has retired it shrinks (at 1/8 full, to 1/4), so
	 * its memory follows the conversations in use too */
	if (r->cap > REGISTRY_MIN_CAP && r->n * 8 < r->cap) {
		size_t cap = REGISTRY_MIN_CAP;
		while (cap < r->n * 4)
			cap *= 2;
		resize(r, cap);   /* on OOM the table just stays larger */
	}
	pthread_mutex_unlock(&r->lock);
	r->dtor(act);
	return true;
}

void registry_each(registry *r, void (*fn)(actor *act, void *arg), void *arg)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->cap; i++)
		if (r->tab[i].act)
			fn(r->tab[i].act, arg);
	pthread_mutex_unlock(&r->lock);
}
