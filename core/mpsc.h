/* mpsc — intrusive lock-free multi-producer single-consumer queue.
 *
 * Dmitry Vyukov's non-intrusive-stub design: producers do one atomic
 * exchange on the head; the single consumer walks from the tail. A push
 * never blocks and never allocates (the node is embedded in the message).
 * The consumer may briefly see the queue as empty while a producer is
 * between its exchange and its link store; mpsc_pop() then returns NULL and
 * the producer's wake-up (ev_async / run-queue push) brings the consumer
 * back, so no message is lost.
 */
#ifndef PARLEY_MPSC_H
#define PARLEY_MPSC_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct mpsc_node {
	_Atomic(struct mpsc_node *) next;
} mpsc_node;

typedef struct {
	_Atomic(mpsc_node *) head;  /* producers push here */
	mpsc_node *tail;            /* consumer pops here (consumer-private) */
	mpsc_node stub;
} mpsc_queue;

/* Initialises an empty queue. */
static inline void mpsc_init(mpsc_queue *q)
{
	atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
	atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
	q->tail = &q->stub;
}

/* Pushes n (any thread). */
static inline void mpsc_push(mpsc_queue *q, mpsc_node *n)
{
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	mpsc_node *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

/* Pops the oldest node or returns NULL (consumer thread only). */
static inline mpsc_node *mpsc_pop(mpsc_queue *q)
{
	mpsc_node *tail = q->tail;
	mpsc_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (tail == &q->stub) {
		if (!next)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next) {
		q->tail = next;
		return tail;
	}
	mpsc_node *head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (tail != head)
		return NULL;  /* a producer is mid-push; it will wake us */
	mpsc_push(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next) {
		q->tail = next;
		return tail;
	}
	return NULL;
}

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
