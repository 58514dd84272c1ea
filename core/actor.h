/* actor — actors on a pool of worker threads.
 *
 * Contract (see actor.c for the why):
 *  - An actor is a struct that embeds `actor` (any position) and a handler.
 *    Messages embed `actor_msg` as their FIRST field and are heap objects the
 *    handler owns once delivered (it frees or reuses them).
 *  - An actor is scheduled when its mailbox goes from empty to non-empty, runs
 *    on one worker at a time, and handles at most `batch` messages per turn
 *    before yielding its worker (fairness), then is re-queued if more remain.
 *  - Mailboxes are lock-free (mpsc) and bounded: actor_send() refuses with
 *    ACTOR_EFULL when `limit` messages are pending (backpressure to the
 *    caller, who answers "busy"); actor_send_force() ignores the bound and
 *    is for replies the system must not drop (commit results, unsubscribes).
 *  - Start: actor_init() before the first send. Stop: the owner stops sending
 *    and calls actor_rt_stop(), which lets workers drain every mailbox.
 *  - Idle hook: when a turn leaves the mailbox empty, the worker calls
 *    on_idle (if set) as the very last thing it does with the actor, so the
 *    owner may free it there — provided nobody can send to it any more and
 *    it is not scheduled again (see actors/registry.h).
 */
#ifndef PARLEY_ACTOR_H
#define PARLEY_ACTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "core/mpsc.h"

enum {
	ACTOR_OK     = 0,
	ACTOR_EFULL  = -201,  /* mailbox at its bound */
	ACTOR_ESTOP  = -202,  /* runtime stopping */
};

typedef struct actor_msg {
	mpsc_node node;       /* private: mailbox link */
	int type;             /* the receiving actor's message kind */
} actor_msg;

typedef struct actor actor;
typedef struct actor_rt actor_rt;

/* Handles one message; owns msg from here on. */
typedef void (*actor_fn)(actor *self, actor_msg *msg);

struct actor {
	actor_fn handle;          /* public: set by actor_init */
	actor_rt *rt;             /* read-only */
	mpsc_queue mbox;          /* private */
	atomic_int pending;       /* private: messages in mailbox */
	atomic_int scheduled;     /* private: 1 while queued or running */
	int limit;                /* read-only: mailbox bound */
	actor *run_next;          /* private: run-queue link */
	void (*on_idle)(actor *a);/* public: optional, see the contract above */
};

typedef struct {
	int workers;              /* worker threads (default 2) */
	int batch;                /* messages per turn (default 64) */
} actor_rt_opts;

/* Starts a runtime with its worker threads; NULL on failure. */
actor_rt *actor_rt_start(const actor_rt_opts *opts);

/* Drains every mailbox, joins the workers and frees the runtime. */
void actor_rt_stop(actor_rt **rt_p);

/* Prepares an actor; limit = mailbox bound (0 = unbounded). */
void actor_init(actor *a, actor_rt *rt, actor_fn fn, int limit);

/* Sends a message; ACTOR_EFULL when the mailbox is at its bound (msg not taken). */
int actor_send(actor *a, actor_msg *msg);

/* Sends regardless of the bound (always taken). */
void actor_send_force(actor *a, actor_msg *msg);

/* Messages waiting in the mailbox (approximate). */
static inline int actor_pending(actor *a)
{
	return atomic_load_explicit(&a->pending, memory_order_seq_cst);
}

/* True while the actor is queued or running. */
static inline bool actor_scheduled(actor *a)
{
	return atomic_load_explicit(&a->scheduled, memory_order_seq_cst) != 0;
}

/* Runtime counters for /metrics. */
typedef struct {
	uint64_t turns;           /* actor turns run */
	uint64_t messages;        /* messages handled */
	uint64_t refused;         /* sends refused with ACTOR_EFULL */
	int run_queue;            /* actors waiting for a worker now */
} actor_rt_stats;
void actor_rt_get_stats(actor_rt *rt, actor_rt_stats *out);

#endif
