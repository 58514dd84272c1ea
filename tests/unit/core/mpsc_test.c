/* mpsc_test — the Vyukov MPSC queue: FIFO order on one thread, and under
 * four concurrent producers every node arrives exactly once with each
 * producer's order preserved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mpsc.h"

typedef struct {
	mpsc_node node;
	uint32_t producer;
	uint32_t seq;       /* 1-based, per producer */
} item;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static item *pop_item(mpsc_queue *q)
{
	mpsc_node *n = mpsc_pop(q);
	return n ? container_of(n, item, node) : NULL;
}

/* ---- single thread ---------------------------------------------------- */

static void test_empty_pop_returns_null(void **state)
{
	(void)state;
	mpsc_queue q;
	mpsc_init(&q);
	assert_null(mpsc_pop(&q));
	assert_null(mpsc_pop(&q));
}

static void test_single_thread_fifo(void **state)
{
	(void)state;
	enum { N = 1000 };
	static item items[N];
	mpsc_queue q;
	mpsc_init(&q);

	for (uint32_t i = 0; i < N; i++) {
		items[i].seq = i;
		mpsc_push(&q, &items[i].node);
	}
	for (uint32_t i = 0; i < N; i++) {
		item *it = pop_item(&q);
		assert_non_null(it);
		assert_ptr_equal(it, &items[i]);
		assert_int_equal(it->seq, i);
	}
	assert_null(mpsc_pop(&q));
}

/* One node in, one node out, repeatedly: exercises the stub re-push path
 * every time, and nodes are reused once popped. */
static void test_single_node_cycles(void **state)
{
	(void)state;
	item a = { .seq = 1 }, b = { .seq = 2 };
	mpsc_queue q;
	mpsc_init(&q);

	for (int round = 0; round < 100; round++) {
		item *x = (round & 1) ? &a : &b;
		mpsc_push(&q, &x->node);
		assert_ptr_equal(pop_item(&q), x);
		assert_null(mpsc_pop(&q));
	}
}

/* Interleaved pushes and pops keep global FIFO order. */
static void test_interleaved_fifo(void **state)
{
	(void)state;
	enum { N = 4096 };
	static item items[N];
	mpsc_queue q;
	mpsc_init(&q);

	uint32_t pushed = 0, popped = 0;
	for (uint32_t round = 0; popped < N; round++) {
		/* push 0..3 items, then pop 0..2 items, in a fixed pattern */
		uint32_t np = (round * 7u + 3u) % 4u;
		for (uint32_t k = 0; k < np && pushed < N; k++) {
			items[pushed].seq = pushed;
			mpsc_push(&q, &items[pushed].node);
			pushed++;
		}
		uint32_t nc = pushed == N ? N : (round * 5u + 1u) % 3u;
		for (uint32_t k = 0; k < nc && popped < pushed; k++) {
			item *it = pop_item(&q);
			assert_non_null(it);
			assert_int_equal(it->seq, popped);
			popped++;
		}
	}
	assert_int_equal(pushed, N);
	assert_null(mpsc_pop(&q));
}

/* ---- 4 producers, 1 consumer ------------------------------------------ */

enum { PRODUCERS = 4, PER_PRODUCER = 200000, TOTAL = PRODUCERS * PER_PRODUCER };

typedef struct {
	mpsc_queue q;
	item *items;                    /* TOTAL nodes, producer p owns a slice */
	uint8_t *seen;                  /* per node, written by the consumer */
	atomic_int go;                  /* producers start together */
	/* consumer results (read after join) */
	uint32_t received;
	uint32_t duplicates;
	uint32_t order_errors;
	uint32_t bad_nodes;
	bool timed_out;
} mp_ctx;

typedef struct {
	mp_ctx *ctx;
	uint32_t id;
} producer_arg;

static void *producer_main(void *arg)
{
	producer_arg *pa = arg;
	mp_ctx *c = pa->ctx;
	item *mine = c->items + (size_t)pa->id * PER_PRODUCER;
	while (!atomic_load_explicit(&c->go, memory_order_acquire))
		sched_yield();
	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		mine[i].producer = pa->id;
		mine[i].seq = i + 1;
		mpsc_push(&c->q, &mine[i].node);
	}
	return NULL;
}

static void *consumer_main(void *arg)
{
	mp_ctx *c = arg;
	uint32_t last[PRODUCERS] = { 0 };
	double deadline = now_s() + 30.0;
	unsigned idle = 0;

	while (c->received < TOTAL) {
		item *it = pop_item(&c->q);
		if (!it) {
			/* Empty, or a producer is between its exchange and its link
			 * store: poll again, but never past the deadline. */
			if ((++idle & 1023u) == 0 && now_s() > deadline) {
				c->timed_out = true;
				break;
			}
			sched_yield();
			continue;
		}
		idle = 0;
		size_t idx = (size_t)(it - c->items);
		if (it < c->items || idx >= TOTAL || it->producer >= PRODUCERS) {
			c->bad_nodes++;
			continue;
		}
		if (c->seen[idx]++)
			c->duplicates++;
		if (it->seq != last[it->producer] + 1)
			c->order_errors++;
		last[it->producer] = it->seq;
		c->received++;
	}
	return NULL;
}

static void test_four_producers_one_consumer(void **state)
{
	(void)state;
	mp_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->items = calloc(TOTAL, sizeof *c->items);
	c->seen = calloc(TOTAL, 1);
	assert_non_null(c->items);
	assert_non_null(c->seen);
	mpsc_init(&c->q);

	pthread_t cons, prod[PRODUCERS];
	producer_arg args[PRODUCERS];
	assert_int_equal(pthread_create(&cons, NULL, consumer_main, c), 0);
	for (uint32_t p = 0; p < PRODUCERS; p++) {
		args[p] = (producer_arg){ .ctx = c, .id = p };
		assert_int_equal(pthread_create(&prod[p], NULL, producer_main, &args[p]), 0);
	}
	atomic_store_explicit(&c->go, 1, memory_order_release);
	for (int p = 0; p < PRODUCERS; p++)
		pthread_join(prod[p], NULL);
	pthread_join(cons, NULL);   /* bounded: the consumer has a deadline */

	assert_false(c->timed_out);
	assert_int_equal(c->bad_nodes, 0);
	assert_int_equal(c->duplicates, 0);
	assert_int_equal(c->order_errors, 0);
	assert_int_equal(c->received, TOTAL);
	for (size_t i = 0; i < TOTAL; i++) {
		if (c->seen[i] != 1)
			fail_msg("node %zu received %u times", i, (unsigned)c->seen[i]);
	}
	/* All producers are done: the queue is now really empty. */
	assert_null(mpsc_pop(&c->q));

	free(c->seen);
	free(c->items);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_pop_returns_null),
		cmocka_unit_test(test_single_thread_fifo),
		cmocka_unit_test(test_single_node_cycles),
		cmocka_unit_test(test_interleaved_fifo),
		cmocka_unit_test(test_four_producers_one_consumer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
