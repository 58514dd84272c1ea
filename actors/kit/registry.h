/* registry — actors by key, created on first use, retired when idle.
 *
 * A mutex-protected open hash table (the lock is held for a lookup only,
 * never across I/O or a handler). Every registry_get is paired with a
 * registry_put once the caller has sent what it wanted: the count of such
 * borrowers, with the actor's mailbox and scheduled flag, tells
 * registry_retire when nobody can reach the actor any more, so an idle
 * actor can be removed and freed (its state is in LMDB) and a later get
 * creates a fresh one.
 */
#ifndef PARLEY_REGISTRY_H
#define PARLEY_REGISTRY_H

#include <stdbool.h>
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

/* The actor for (a, b), created if absent, borrowed until registry_put;
 * NULL on OOM. */
actor *registry_get(registry *r, uint64_t a, uint64_t b);

/* Ends a borrow from registry_get. */
void registry_put(registry *r, uint64_t a, uint64_t b);

/* Removes and frees act (the actor for (a, b)) if nobody borrows it, its
 * mailbox is empty and it is not scheduled; true if it did. Called from the
 * actor's on_idle hook. */
bool registry_retire(registry *r, uint64_t a, uint64_t b, actor *act);

/* Calls fn for every actor, under the registry lock (fn must not call back
 * into the registry). */
void registry_each(registry *r, void (*fn)(actor *act, void *arg), void *arg);

/* Number of live actors. */
size_t registry_count(registry *r);

/* Slots in the table: grows with the live actors (at most half full) and
 * shrinks when they retire (at 1/8 full, to 1/4; never below 1024). */
size_t registry_capacity(registry *r);

#endif
