/* ioloop_test — tasks posted to an I/O loop from several threads run on the
 * loop's own thread, in each producer's order; ioloop_join returns; tasks
 * posted before join run (the header: "tasks still queued run first").
 * Task functions never call cmocka asserts (they run on the loop thread):
 * they count violations and the test thread asserts on the counts. Every
 * wait has a deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ioloop.h"

#define WAIT_S 30.0

/* ---- timing / sync helpers ------------------------------------------------ */

static struct timespec abs_deadline(clockid_t clk, double secs)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	long long ns = ts.tv_nsec + (long long)((secs - (double)(long long)secs) * 1e9);
	ts.tv_sec += (time_t)secs + (time_t)(ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	return ts;
}

static bool past(const struct timespec *dl)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > dl->tv_sec ||
	       (now.tv_sec == dl->tv_sec && now.tv_nsec >= dl->tv_nsec);
}

static void cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

typedef struct {
	atomic_long count;
	long target;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
} countdown;

static void countdown_init(countdown *c, long target)
{
	atomic_init(&c->count, 0);
	c->target = target;
	pthread_mutex_init(&c->mu, NULL);
	cond_init_mono(&c->cv);
	c->done = false;
}

static void countdown_destroy(countdown *c)
{
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
}

static void countdown_hit(countdown *c)
{
	if (atomic_fetch_add_explicit(&c->count, 1, memory_order_acq_rel) + 1 == c->target) {
		pthread_mutex_lock(&c->mu);
		c->done = true;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
}

static bool countdown_wait(countdown *c, double secs)
{
	struct timespec dl = abs_deadline(CLOCK_MONOTONIC, secs);
	pthread_mutex_lock(&c->mu);
	while (!c->done) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT)
			break;
	}
	bool ok = c->done;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, released, timed_out;
} gate;

static void gate_init(gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	cond_init_mono(&g->cv);
	g->entered = g->released = g->timed_out = false;
}

static void gate_destroy(gate *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

static void gate_block(gate *g)
{
	struct timespec dl = abs_deadline(CLOCK_MONOTONIC, WAIT_S);
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->released) {
		if (pthread_cond_timedwait(&g->cv, &g->mu, &dl) == ETIMEDOUT) {
			g->timed_out = true;
			break;
		}
	}
	pthread_mutex_unlock(&g->mu);
}

static bool gate_wait_entered(gate *g, double secs)
{
	struct timespec dl = abs_deadline(CLOCK_MONOTONIC, secs);
	pthread_mutex_lock(&g->mu);
	while (!g->entered) {
		if (pthread_cond_timedwait(&g->cv, &g->mu, &dl) == ETIMEDOUT)
			break;
	}
	bool ok = g->entered;
	pthread_mutex_unlock(&g->mu);
	return ok;
}

static void gate_release(gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->released = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* ioloop_join with a deadline (helper thread + timed join). */
static void *join_main(void *arg)
{
	ioloop_join(arg);
	return NULL;
}

static bool start_join(ioloop *l, pthread_t *t)
{
	return pthread_create(t, NULL, join_main, l) == 0;
}

static bool finish_join(pthread_t t, double secs)
{
	struct timespec dl = abs_deadline(CLOCK_REALTIME, secs);
	if (pthread_timedjoin_np(t, NULL, &dl) != 0) {
		pthread_detach(t);
		return false;
	}
	return true;
}

static bool join_with_deadline(ioloop *l, double secs)
{
	pthread_t t;
	return start_join(l, &t) && finish_join(t, secs);
}

/* ---- tasks ---------------------------------------------------------------- */

enum { PRODUCERS = 4, PER_PRODUCER = 50000 };

typedef struct io_ctx {
	ioloop *loop;
	atomic_long off_thread;      /* ran with ioloop_on_thread false / wrong loop */
	atomic_long order_errors;
	atomic_long on_thread_outside;  /* ioloop_on_thread true off the loop */
	atomic_int go;
	int last[PRODUCERS];         /* loop-thread private */
	long ran;                    /* loop-thread private */
	gate g;
	countdown done;
} io_ctx;

typedef struct {
	ioloop_task base;
	io_ctx *ctx;
	int producer;                /* -1: unordered */
	int n;
} io_task;

static void io_run(ioloop *l, ioloop_task *t)
{
	io_task *it = container_of(t, io_task, base);
	io_ctx *c = it->ctx;
	if (l != c->loop || !ioloop_on_thread(l))
		atomic_fetch_add(&c->off_thread, 1);
	if (it->producer >= 0 && it->producer < PRODUCERS) {
		if (it->n != c->last[it->producer] + 1)
			atomic_fetch_add(&c->order_errors, 1);
		c->last[it->producer] = it->n;
	}
	c->ran++;
	free(it);
	countdown_hit(&c->done);
}

static void gate_run(ioloop *l, ioloop_task *t)
{
	io_task *it = container_of(t, io_task, base);
	io_ctx *c = it->ctx;
	if (!ioloop_on_thread(l))
		atomic_fetch_add(&c->off_thread, 1);
	free(it);
	gate_block(&c->g);
}

static io_task *task_new(io_ctx *c, ioloop_fn fn, int producer, int n)
{
	io_task *t = calloc(1, sizeof *t);
	if (t) {
		t->base.run = fn;
		t->ctx = c;
		t->producer = producer;
		t->n = n;
	}
	return t;
}

static io_ctx *ctx_new(long target)
{
	io_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	gate_init(&c->g);
	countdown_init(&c->done, target);
	return c;
}

static void ctx_free(io_ctx *c)
{
	gate_destroy(&c->g);
	countdown_destroy(&c->done);
	free(c);
}

/* ---- posts from 4 threads ---------------------------------------------------- */

typedef struct {
	io_ctx *ctx;
	int id;
} producer_arg;

static void *producer_main(void *arg)
{
	producer_arg *pa = arg;
	io_ctx *c = pa->ctx;
	while (!atomic_load_explicit(&c->go, memory_order_acquire))
		sched_yield();
	if (ioloop_on_thread(c->loop))
		atomic_fetch_add(&c->on_thread_outside, 1);
	for (int n = 1; n <= PER_PRODUCER; n++) {
		io_task *t = task_new(c, io_run, pa->id, n);
		if (t)
			ioloop_post(c->loop, &t->base);
	}
	return NULL;
}

static void test_posts_from_four_threads(void **state)
{
	(void)state;
	io_ctx *c = ctx_new((long)PRODUCERS * PER_PRODUCER);
	assert_non_null(c);
	ioloop *l = ioloop_new(3);
	assert_non_null(l);
	assert_int_equal(l->index, 3);
	c->loop = l;
	assert_false(ioloop_on_thread(l));   /* not started */
	assert_int_equal(ioloop_start(l), 0);
	assert_false(ioloop_on_thread(l));   /* we are not the loop thread */

	pthread_t th[PRODUCERS];
	producer_arg args[PRODUCERS];
	for (int p = 0; p < PRODUCERS; p++) {
		args[p] = (producer_arg){ .ctx = c, .id = p };
		assert_int_equal(pthread_create(&th[p], NULL, producer_main, &args[p]), 0);
	}
	atomic_store_explicit(&c->go, 1, memory_order_release);
	for (int p = 0; p < PRODUCERS; p++)
		pthread_join(th[p], NULL);

	if (!countdown_wait(&c->done, WAIT_S))
		fail_msg("timed out: %ld of %ld tasks ran", atomic_load(&c->done.count), c->done.target);
	assert_true(join_with_deadline(l, WAIT_S));
	assert_false(ioloop_on_thread(l));

	assert_int_equal(atomic_load(&c->off_thread), 0);
	assert_int_equal(atomic_load(&c->order_errors), 0);
	assert_int_equal(atomic_load(&c->on_thread_outside), 0);
	assert_int_equal(c->ran, (long)PRODUCERS * PER_PRODUCER);
	for (int p = 0; p < PRODUCERS; p++)
		assert_int_equal(c->last[p], PER_PRODUCER);
	assert_int_equal(atomic_load(&l->posted), (uint64_t)PRODUCERS * PER_PRODUCER);

	ioloop_destroy(&l);
	assert_null(l);
	ioloop_destroy(&l);   /* NULL is a no-op */
	ctx_free(c);
}

/* ---- join ----------------------------------------------------------------------- */

static void test_join_idle_loop(void **state)
{
	(void)state;
	ioloop *l = ioloop_new(0);
	assert_non_null(l);
	ioloop_join(l);       /* never started: returns at once */
	assert_int_equal(ioloop_start(l), 0);
	assert_true(join_with_deadline(l, WAIT_S));
	ioloop_join(l);       /* second join: no-op */
	ioloop_destroy(&l);
	assert_null(l);
}

/* A handful of tasks posted immediately before join all run on the loop. */
static void test_join_runs_tasks_posted_before(void **state)
{
	(void)state;
	enum { N = 100 };
	io_ctx *c = ctx_new(N);
	assert_non_null(c);
	ioloop *l = ioloop_new(0);
	assert_non_null(l);
	c->loop = l;
	assert_int_equal(ioloop_start(l), 0);
	for (int n = 1; n <= N; n++) {
		io_task *t = task_new(c, io_run, 0, n);
		assert_non_null(t);
		ioloop_post(l, &t->base);
	}
	assert_true(join_with_deadline(l, WAIT_S));
	long ran = c->ran;
	ioloop_drain(l);      /* loop thread is gone: free anything left */
	ioloop_destroy(&l);

	assert_int_equal(ran, N);
	assert_int_equal(atomic_load(&c->off_thread), 0);
	assert_int_equal(atomic_load(&c->order_errors), 0);
	ctx_free(c);
}

/* Many tasks queued when the stop request arrives: the loop is held in a
 * task, M tasks are queued behind it, join is called, and only once the stop
 * request is pending (ev_async_pending on the loop's stop watcher, read-only)
 * is the held task released. All M must still run before join returns. */
static void test_join_runs_many_queued_tasks(void **state)
{
	(void)state;
	enum { M = 2000 };
	io_ctx *c = ctx_new(M);
	assert_non_null(c);
	ioloop *l = ioloop_new(0);
	assert_non_null(l);
	c->loop = l;
	assert_int_equal(ioloop_start(l), 0);

	io_task *g = task_new(c, gate_run, -1, 0);
	assert_non_null(g);
	ioloop_post(l, &g->base);
	assert_true(gate_wait_entered(&c->g, WAIT_S));
	for (int n = 1; n <= M; n++) {
		io_task *t = task_new(c, io_run, 0, n);
		assert_non_null(t);
		ioloop_post(l, &t->base);
	}

	pthread_t joiner;
	assert_true(start_join(l, &joiner));
	struct timespec dl = abs_deadline(CLOCK_MONOTONIC, WAIT_S);
	while (!ev_async_pending(&l->stop) && !past(&dl))
		sched_yield();
	bool stop_seen = ev_async_pending(&l->stop);
	gate_release(&c->g);
	bool joined = finish_join(joiner, WAIT_S);

	assert_true(joined);   /* else the loop is stuck: leave it alone */
	long ran = c->ran;
	long off_thread = atomic_load(&c->off_thread);
	ioloop_drain(l);   /* loop thread gone: run (and free) what join left */
	ioloop_destroy(&l);
	bool gate_timed_out = c->g.timed_out;
	long order_errors = atomic_load(&c->order_errors);
	ctx_free(c);
	assert_true(stop_seen);
	assert_false(gate_timed_out);
	assert_int_equal(order_errors, 0);
	if (ran != M)
		fail_msg("ioloop_join returned with %ld of %d queued tasks run "
		         "(the rest were still queued)", ran, M);
	assert_int_equal(off_thread, 0);
}

/* Tasks posted before ioloop_start run on the loop thread once it starts,
 * and see ioloop_on_thread() true. */
static void test_posts_before_start(void **state)
{
	(void)state;
	enum { N = 16 };
	io_ctx *c = ctx_new(N);
	assert_non_null(c);
	ioloop *l = ioloop_new(0);
	assert_non_null(l);
	c->loop = l;
	for (int n = 1; n <= N; n++) {
		io_task *t = task_new(c, io_run, 0, n);
		assert_non_null(t);
		ioloop_post(l, &t->base);
	}
	assert_int_equal(ioloop_start(l), 0);
	if (!countdown_wait(&c->done, WAIT_S))
		fail_msg("timed out: %ld of %d tasks ran", atomic_load(&c->done.count), N);
	assert_true(join_with_deadline(l, WAIT_S));
	ioloop_destroy(&l);

	long ran = c->ran;
	long order_errors = atomic_load(&c->order_errors);
	long off_thread = atomic_load(&c->off_thread);
	ctx_free(c);
	assert_int_equal(ran, N);
	assert_int_equal(order_errors, 0);
	if (off_thread != 0)
		fail_msg("%ld of %d tasks posted before ioloop_start saw "
		         "ioloop_on_thread() false on the loop thread", off_thread, N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_idle_loop),
		cmocka_unit_test(test_posts_from_four_threads),
		cmocka_unit_test(test_join_runs_tasks_posted_before),
		cmocka_unit_test(test_join_runs_many_queued_tasks),
		cmocka_unit_test(test_posts_before_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
