/* registry — actors by key, created on first use.
 *
 * A mutex-protected open hash table (the lock is held for a lookup only,
 * never across I/O or a handler). Actors live until the registry is freed
 * at shutdown. (Passivating idle conversation actors is future work; see
 * docs/architecture.md.)
 */
#ifndef PARLEY_REGISTRY_H
#define PARLEY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include "core/actor.h"

typedef struct registry registry;

/* Creates an actor for key (a, b); called with the registry lock held. */
typedef actor *(*registry_ctor)(void *ctx, uint64_t a, uint64_t b);
typedef void (*registry_dtor)(actor *act);

registry *registry_new(registry_ctor ctor, registry_dtor dtor, void *ctx);

/* Frees every actor (after the runtime stopped) and the registry. */
void registry_free(registry **r_p);

/* The actor for (a, b), created if absent; NULL on OOM. */
actor *registry_get(registry *r, uint64_t a, uint64_t b);

/* Number of live actors. */
size_t registry_count(registry *r);

#endif
