/* actor — worker pool and mailboxes.
 *
 * Why this shape: Parley's state (a conversation's sequence counter, its
 * subscribers, an inbox cursor) must be touched by one thread at a time, but
 * thousands of such objects exist and most are idle. A thread per object
 * wastes memory; a lock per object invites lock-ordering bugs and holds
 * threads while waiting. Actors give single-threaded state for free: an
 * actor is only ever run by the one worker that dequeued it.
 *
 * Mailboxes are Vyukov MPSC queues (lock-free push: one atomic exchange).
 * The run queue is a mutex-protected FIFO of actors, taken once per actor
 * turn (not per message), so its cost is amortised over a batch of up to
 * `batch` messages; a lock-free MPMC run queue was not worth its complexity
 * at 2-8 workers. Workers sleep on a condition variable when idle.
 *
 * The `scheduled` flag is the only coordination between senders and
 * workers: a sender that flips it 0→1 owns the duty to enqueue the actor; a
 * worker that finishes a turn clears it and re-checks `pending`, taking the
 * duty back if messages arrived meanwhile. So an actor is never in the run
 * queue twice and never run on two workers.
 */
#include "core/actor.h"

#include <pthread.h>
#include <stdlib.h>

struct actor_rt {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	actor *head, *tail;       /* run queue */
	int queued;
	bool stopping;
	int nworkers;
	int batch;
	pthread_t *threads;
	atomic_uint_fast64_t turns, messages, refused;
};

static void enqueue(actor_rt *rt, actor *a)
{
	pthread_mutex_lock(&rt->lock);
	a->run_next = NULL;
	if (rt->tail)
		rt->tail->run_next = a;
	else
		rt->head = a;
	rt->tail = a;
	rt->queued++;
	pthread_cond_signal(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
}

static actor *dequeue(actor_rt *rt)
{
	pthread_mutex_lock(&rt->lock);
	while (!rt->head && !rt->stopping)
		pthread_cond_wait(&rt->cond, &rt->lock);
	actor *a = rt->head;
	if (a) {
		rt->head = a->run_next;
		if (!rt->head)
			rt->tail = NULL;
		rt->queued--;
	}
	pthread_mutex_unlock(&rt->lock);
	return a;   /* NULL only when stopping and the queue is empty */
}

static void run_turn(actor_rt *rt, actor *a)
{
	int n = 0;
	while (n < rt->batch) {
		mpsc_node *node = mpsc_pop(&a->mbox);
		if (!node)
			break;
		atomic_fetch_sub_explicit(&a->pending, 1, memory_order_relaxed);
		a->handle(a, (actor_msg *)node);  /* node is the first field */
		n++;
	}
	atomic_fetch_add_explicit(&rt->turns, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rt->messages, (uint64_t)n, memory_order_relaxed);
	void (*idle)(actor *) = a->on_idle;
	atomic_store_explicit(&a->scheduled, 0, memory_order_seq_cst);
	/* A sender may have pushed after our last pop but seen scheduled == 1. */
	if (atomic_load_explicit(&a->pending, memory_order_seq_cst) > 0) {
		if (atomic_exchange_explicit(&a->scheduled, 1, memory_order_seq_cst) == 0)
			enqueue(rt, a);
	} else if (idle) {
		idle(a);   /* last use of a by this worker: it may be freed here */
	}
}

static void *worker_main(void *arg)
{
	actor_rt *rt = arg;
	actor *a;
	pthread_setname_np(pthread_self(), "worker");
	while ((a = dequeue(rt)))
		run_turn(rt, a);
	return NULL;
}

actor_rt *actor_rt_start(const actor_rt_opts *opts)
{
	actor_rt *rt = calloc(1, sizeof *rt);
	if (!rt)
		return NULL;
	rt->nworkers = opts && opts->workers > 0 ? opts->workers : 2;
	rt->batch = opts && opts->batch > 0 ? opts->batch : 64;
	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->cond, NULL);
	rt->threads = calloc((size_t)rt->nworkers, sizeof(pthread_t));
	if (!rt->threads)
		goto out_free_rt;
	for (int i = 0; i < rt->nworkers; i++) {
		if (pthread_create(&rt->threads[i], NULL, worker_main, rt) != 0) {
			rt->nworkers = i;
			actor_rt_stop(&rt);
			return NULL;
		}
	}
	return rt;

out_free_rt:
	free(rt);
	return NULL;
}

void actor_rt_stop(actor_rt **rt_p)
{
	actor_rt *rt = *rt_p;
	if (!rt)
		return;
	pthread_mutex_lock(&rt->lock);
	rt->stopping = true;   /* workers exit once the run queue is empty */
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
	for (int i = 0; i < rt->nworkers; i++)
		pthread_join(rt->threads[i], NULL);
	pthread_mutex_destroy(&rt->lock);
	pthread_cond_destroy(&rt->cond);
	free(rt->threads);
	free(rt);
	*rt_p = NULL;
}

void actor_init(actor *a, actor_rt *rt, actor_fn fn, int limit)
{
	a->handle = fn;
	a->rt = rt;
	mpsc_init(&a->mbox);
	atomic_init(&a->pending, 0);
	atomic_init(&a->scheduled, 0);
	a->limit = limit;
	a->run_next = NULL;
	a->on_idle = NULL;
}

void actor_send_force(actor *a, actor_msg *msg)
{
	atomic_fetch_add_explicit(&a->pending, 1, memory_order_seq_cst);
	mpsc_push(&a->mbox, &msg->node);
	if (atomic_exchange_explicit(&a->scheduled, 1, memory_order_seq_cst) == 0)
		enqueue(a->rt, a);
}

int actor_send(actor *a, actor_msg *msg)
{
	if (a->limit > 0 && atomic_load_explicit(&a->pending, memory_order_relaxed) >= a->limit) {
		atomic_fetch_add_explicit(&a->rt->refused, 1, memory_order_relaxed);
		return ACTOR_EFULL;
	}
	actor_send_force(a, msg);
	return ACTOR_OK;
}

void actor_rt_get_stats(actor_rt *rt, actor_rt_stats *out)
{
	out->turns = atomic_load(&rt->turns);
	out->messages = atomic_load(&rt->messages);
	out->refused = atomic_load(&rt->refused);
	pthread_mutex_lock(&rt->lock);
	out->run_queue = rt->queued;
	pthread_mutex_unlock(&rt->lock);
}
