#include "actors/registry.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
	uint64_t a, b;
	actor *act;
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
	r->cap = 1024;
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

static int grow(registry *r)
{
	size_t cap = r->cap * 2;
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
			pthread_mutex_unlock(&r->lock);
			return act;
		}
		j = (j + 1) & (r->cap - 1);
	}
	actor *act = NULL;
	if (r->n * 2 >= r->cap && grow(r) < 0)
		goto out;
	act = r->ctor(r->ctx, a, b);
	if (!act)
		goto out;
	j = hash(a, b) & (r->cap - 1);
	while (r->tab[j].act)
		j = (j + 1) & (r->cap - 1);
	r->tab[j] = (entry){ a, b, act };
	r->n++;
out:
	pthread_mutex_unlock(&r->lock);
	return act;
}

size_t registry_count(registry *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}
