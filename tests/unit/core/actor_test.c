/* actor_test — the actor runtime under load and at its edges:
 *  (a) 4 sender threads x 8 actors x 100,000 messages: an actor never runs on
 *      two workers at once, per-sender order holds, totals match;
 *  (b) bounded mailbox: ACTOR_EFULL at the bound, actor_send_force still
 *      accepted, everything delivered after the handler is released, the
 *      refused counter counts refusals;
 *  (c) batch fairness: 1 worker, batch 4, two busy actors alternate;
 *  (d) actor_rt_stop drains mailboxes (including messages sent by handlers
 *      while draining).
 * Every wait has a deadline; no sleeps are used as synchronisation. Handlers
 * never call cmocka asserts (they run on worker threads): they count
 * violations and the test thread asserts on the counts. */
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

#include "core/actor.h"

#define WAIT_S 30.0   /* generous deadline for any single wait */

/* ---- timing helpers --------------------------------------------------- */

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

/* ---- countdown: the handler that brings count to target wakes the test --- */

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

/* True when the target was reached before the deadline. */
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

/* ---- gate: a handler that blocks until the test releases it ------------- */

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered;
	bool released;
	bool timed_out;
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

/* Called from a handler: announce entry, then wait for release (bounded). */
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

/* ---- messages ------------------------------------------------------------ */

enum { MSG_GATE = 1, MSG_DATA = 2 };

typedef struct {
	actor_msg base;     /* must be first */
	int sender;
	int n;
} test_msg;

static test_msg *msg_new(int type, int sender, int n)
{
	test_msg *m = calloc(1, sizeof *m);
	if (m) {
		m->base.type = type;
		m->sender = sender;
		m->n = n;
	}
	return m;
}

/* actor_rt_stop with a deadline: run it on a helper thread and join with a
 * timeout. On timeout the helper is detached (the test then fails). */
static void *stop_main(void *arg)
{
	actor_rt_stop((actor_rt **)arg);
	return NULL;
}

static bool stop_with_deadline(actor_rt **rt_p, double secs)
{
	pthread_t t;
	if (pthread_create(&t, NULL, stop_main, rt_p) != 0)
		return false;
	struct timespec dl = abs_deadline(CLOCK_REALTIME, secs);
	if (pthread_timedjoin_np(t, NULL, &dl) != 0) {
		pthread_detach(t);
		return false;
	}
	return true;
}

/* ---- (a) load from several threads --------------------------------------- */

enum { LOAD_SENDERS = 4, LOAD_ACTORS = 8, LOAD_PER = 100000 };

typedef struct load_ctx load_ctx;

typedef struct {
	actor a;
	load_ctx *ctx;
	atomic_int inside;            /* set while the handler runs */
	int last[LOAD_SENDERS];       /* actor-private: last n per sender */
	long handled;                 /* actor-private */
} load_actor;

struct load_ctx {
	load_actor actors[LOAD_ACTORS];
	atomic_int go;
	atomic_long overlaps;         /* handler entered while "inside" set */
	atomic_long order_errors;
	atomic_long bad_msgs;
	atomic_long send_errors;
	countdown done;
};

static void load_handle(actor *self, actor_msg *m)
{
	load_actor *la = container_of(self, load_actor, a);
	load_ctx *c = la->ctx;
	test_msg *msg = (test_msg *)m;

	if (atomic_exchange_explicit(&la->inside, 1, memory_order_acq_rel) != 0)
		atomic_fetch_add(&c->overlaps, 1);
	if (m->type != MSG_DATA || msg->sender < 0 || msg->sender >= LOAD_SENDERS) {
		atomic_fetch_add(&c->bad_msgs, 1);
	} else {
		if (msg->n != la->last[msg->sender] + 1)
			atomic_fetch_add(&c->order_errors, 1);
		la->last[msg->sender] = msg->n;
	}
	la->handled++;
	free(msg);
	atomic_store_explicit(&la->inside, 0, memory_order_release);
	countdown_hit(&c->done);
}

typedef struct {
	load_ctx *ctx;
	int id;
} sender_arg;

static void *load_sender(void *arg)
{
	sender_arg *sa = arg;
	load_ctx *c = sa->ctx;
	while (!atomic_load_explicit(&c->go, memory_order_acquire))
		sched_yield();
	for (int n = 1; n <= LOAD_PER; n++) {
		for (int i = 0; i < LOAD_ACTORS; i++) {
			test_msg *m = msg_new(MSG_DATA, sa->id, n);
			if (!m) {
				atomic_fetch_add(&c->send_errors, 1);
				continue;
			}
			if (actor_send(&c->actors[i].a, &m->base) != ACTOR_OK) {
				atomic_fetch_add(&c->send_errors, 1);
				free(m);
			}
		}
	}
	return NULL;
}

static void test_load_many_senders(void **state)
{
	(void)state;
	load_ctx *c = calloc(1, sizeof *c);   /* heap: outlives a failed test */
	assert_non_null(c);
	countdown_init(&c->done, (long)LOAD_SENDERS * LOAD_ACTORS * LOAD_PER);

	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 4, .batch = 64 });
	assert_non_null(rt);
	for (int i = 0; i < LOAD_ACTORS; i++) {
		c->actors[i].ctx = c;
		atomic_init(&c->actors[i].inside, 0);
		actor_init(&c->actors[i].a, rt, load_handle, 0);
	}

	pthread_t th[LOAD_SENDERS];
	sender_arg args[LOAD_SENDERS];
	for (int s = 0; s < LOAD_SENDERS; s++) {
		args[s] = (sender_arg){ .ctx = c, .id = s };
		assert_int_equal(pthread_create(&th[s], NULL, load_sender, &args[s]), 0);
	}
	atomic_store_explicit(&c->go, 1, memory_order_release);
	for (int s = 0; s < LOAD_SENDERS; s++)
		pthread_join(th[s], NULL);   /* senders never block (unbounded) */

	if (!countdown_wait(&c->done, WAIT_S))
		fail_msg("timed out: %ld of %ld messages handled",
		         atomic_load(&c->done.count), c->done.target);
	assert_true(stop_with_deadline(&rt, WAIT_S));
	assert_null(rt);

	assert_int_equal(atomic_load(&c->send_errors), 0);
	assert_int_equal(atomic_load(&c->bad_msgs), 0);
	assert_int_equal(atomic_load(&c->overlaps), 0);
	assert_int_equal(atomic_load(&c->order_errors), 0);
	assert_int_equal(atomic_load(&c->done.count), c->done.target);
	for (int i = 0; i < LOAD_ACTORS; i++) {
		assert_int_equal(c->actors[i].handled, (long)LOAD_SENDERS * LOAD_PER);
		for (int s = 0; s < LOAD_SENDERS; s++)
			assert_int_equal(c->actors[i].last[s], LOAD_PER);
		assert_int_equal(actor_pending(&c->actors[i].a), 0);
	}
	countdown_destroy(&c->done);
	free(c);
}

/* ---- (b) bounded mailbox ------------------------------------------------- */

enum { BOUND = 10 };

typedef struct {
	actor a;
	gate g;
	int last_n;          /* actor-private */
	int data_seen;       /* actor-private */
	atomic_int order_errors;
	countdown done;      /* counts DATA messages */
} bounded_actor;

static void bounded_handle(actor *self, actor_msg *m)
{
	bounded_actor *ba = container_of(self, bounded_actor, a);
	test_msg *msg = (test_msg *)m;
	if (m->type == MSG_GATE) {
		free(msg);
		gate_block(&ba->g);
		return;
	}
	if (msg->n != ba->last_n + 1)
		atomic_fetch_add(&ba->order_errors, 1);
	ba->last_n = msg->n;
	ba->data_seen++;
	free(msg);
	countdown_hit(&ba->done);
}

static void test_bounded_mailbox(void **state)
{
	(void)state;
	bounded_actor *ba = calloc(1, sizeof *ba);
	assert_non_null(ba);
	gate_init(&ba->g);
	atomic_init(&ba->order_errors, 0);
	countdown_init(&ba->done, BOUND + 1);   /* BOUND accepted + 1 forced */

	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 2 });
	assert_non_null(rt);
	actor_init(&ba->a, rt, bounded_handle, BOUND);
	assert_int_equal(ba->a.limit, BOUND);

	/* Occupy the actor: its handler is now blocked, its mailbox empty. */
	assert_int_equal(actor_send(&ba->a, &msg_new(MSG_GATE, 0, 0)->base), ACTOR_OK);
	assert_true(gate_wait_entered(&ba->g, WAIT_S));
	assert_int_equal(actor_pending(&ba->a), 0);

	for (int n = 1; n <= BOUND; n++) {
		test_msg *m = msg_new(MSG_DATA, 0, n);
		assert_non_null(m);
		assert_int_equal(actor_send(&ba->a, &m->base), ACTOR_OK);
		assert_int_equal(actor_pending(&ba->a), n);
	}

	actor_rt_stats st;
	actor_rt_get_stats(rt, &st);
	assert_int_equal(st.refused, 0);

	/* At the bound: refused, message not taken (we still own it). */
	for (int k = 1; k <= 3; k++) {
		test_msg *extra = msg_new(MSG_DATA, 0, 999);
		assert_non_null(extra);
		assert_int_equal(actor_send(&ba->a, &extra->base), ACTOR_EFULL);
		free(extra);
		assert_int_equal(actor_pending(&ba->a), BOUND);
		actor_rt_get_stats(rt, &st);
		assert_int_equal(st.refused, k);
	}

	/* Forced sends ignore the bound. */
	test_msg *forced = msg_new(MSG_DATA, 0, BOUND + 1);
	assert_non_null(forced);
	actor_send_force(&ba->a, &forced->base);
	assert_int_equal(actor_pending(&ba->a), BOUND + 1);

	gate_release(&ba->g);
	if (!countdown_wait(&ba->done, WAIT_S))
		fail_msg("timed out: %ld of %d delivered", atomic_load(&ba->done.count), BOUND + 1);

	actor_rt_get_stats(rt, &st);
	assert_int_equal(st.refused, 3);
	assert_true(stop_with_deadline(&rt, WAIT_S));

	assert_false(ba->g.timed_out);
	assert_int_equal(ba->data_seen, BOUND + 1);
	assert_int_equal(ba->last_n, BOUND + 1);
	assert_int_equal(atomic_load(&ba->order_errors), 0);
	assert_int_equal(actor_pending(&ba->a), 0);
	gate_destroy(&ba->g);
	countdown_destroy(&ba->done);
	free(ba);
}

/* ---- shared by (c) and (d): a gate actor to hold the single worker ------- */

typedef struct {
	actor a;
	gate g;
} gate_actor;

static void gate_handle(actor *self, actor_msg *m)
{
	gate_actor *ga = container_of(self, gate_actor, a);
	free(m);
	gate_block(&ga->g);
}

/* ---- (c) batch fairness ---------------------------------------------------- */

enum { FAIR_BATCH = 4, FAIR_PER = 100 };

typedef struct fair_ctx fair_ctx;

typedef struct {
	actor a;
	int id;
	fair_ctx *ctx;
} fair_actor;

struct fair_ctx {
	gate_actor gate;
	fair_actor fa[2];
	int log[2 * FAIR_PER];   /* written only by the single worker */
	int nlog;
	countdown done;
};

static void fair_handle(actor *self, actor_msg *m)
{
	fair_actor *fa = container_of(self, fair_actor, a);
	fair_ctx *c = fa->ctx;
	if (c->nlog < 2 * FAIR_PER)
		c->log[c->nlog] = fa->id;
	c->nlog++;
	free(m);
	countdown_hit(&c->done);
}

static void test_batch_fairness(void **state)
{
	(void)state;
	fair_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	gate_init(&c->gate.g);
	countdown_init(&c->done, 2 * FAIR_PER);

	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 1, .batch = FAIR_BATCH });
	assert_non_null(rt);
	actor_init(&c->gate.a, rt, gate_handle, 0);
	for (int i = 0; i < 2; i++) {
		c->fa[i].id = i;
		c->fa[i].ctx = c;
		actor_init(&c->fa[i].a, rt, fair_handle, 0);
	}

	/* Hold the only worker so both mailboxes fill before either runs. */
	assert_int_equal(actor_send(&c->gate.a, &msg_new(MSG_GATE, 0, 0)->base), ACTOR_OK);
	assert_true(gate_wait_entered(&c->gate.g, WAIT_S));
	/* Worst case for fairness: all of actor 0's messages first. */
	for (int i = 0; i < 2; i++) {
		for (int n = 1; n <= FAIR_PER; n++) {
			test_msg *m = msg_new(MSG_DATA, 0, n);
			assert_non_null(m);
			assert_int_equal(actor_send(&c->fa[i].a, &m->base), ACTOR_OK);
		}
		assert_int_equal(actor_pending(&c->fa[i].a), FAIR_PER);
	}
	actor_rt_stats st;
	actor_rt_get_stats(rt, &st);
	assert_int_equal(st.run_queue, 2);   /* both queued behind the gate */

	gate_release(&c->gate.g);
	if (!countdown_wait(&c->done, WAIT_S))
		fail_msg("timed out: %ld of %d handled", atomic_load(&c->done.count), 2 * FAIR_PER);

	/* Turn counters are bumped after the last handler returns: poll them
	 * (bounded) rather than race the worker. */
	struct timespec dl = abs_deadline(CLOCK_MONOTONIC, WAIT_S);
	do {
		actor_rt_get_stats(rt, &st);
		if (st.messages == 2 * FAIR_PER + 1)
			break;
		sched_yield();
	} while (!past(&dl));
	assert_int_equal(st.messages, 2 * FAIR_PER + 1);
	/* 1 gate turn + 100/4 turns per actor. */
	assert_int_equal(st.turns, 1 + 2 * (FAIR_PER / FAIR_BATCH));
	assert_true(stop_with_deadline(&rt, WAIT_S));

	assert_false(c->gate.g.timed_out);
	assert_int_equal(c->nlog, 2 * FAIR_PER);

	/* Neither actor runs more than `batch` messages in a row while the
	 * other still has messages waiting. */
	int remaining[2] = { FAIR_PER, FAIR_PER };
	int run = 0, prev = -1, max_run = 0;
	for (int i = 0; i < 2 * FAIR_PER; i++) {
		int id = c->log[i];
		assert_true(id == 0 || id == 1);
		run = id == prev ? run + 1 : 1;
		prev = id;
		if (remaining[1 - id] > 0 && run > FAIR_BATCH)
			fail_msg("actor %d ran %d messages in a row at log[%d] while actor %d had %d waiting",
			         id, run, i, 1 - id, remaining[1 - id]);
		if (run > max_run)
			max_run = run;
		remaining[id]--;
	}
	assert_int_equal(remaining[0], 0);
	assert_int_equal(remaining[1], 0);
	assert_int_equal(max_run, FAIR_BATCH);
	/* Strict alternation in blocks of 4: actor 0 was queued first. */
	for (int i = 0; i < 2 * FAIR_PER; i++)
		assert_int_equal(c->log[i], (i / FAIR_BATCH) % 2);

	gate_destroy(&c->gate.g);
	countdown_destroy(&c->done);
	free(c);
}

/* ---- (d) stop drains -------------------------------------------------------- */

enum { DRAIN_ACTORS = 8, DRAIN_PER = 2000, RELAY_HOPS = 50 };

typedef struct drain_ctx drain_ctx;

typedef struct {
	actor a;
	int idx;
	drain_ctx *ctx;
	long handled;        /* actor-private */
} drain_actor;

struct drain_ctx {
	gate_actor gate;
	drain_actor da[DRAIN_ACTORS];
	atomic_long total;
	atomic_long order_errors;
	int last[DRAIN_ACTORS][LOAD_SENDERS];   /* per receiving actor, per sender */
};

static void drain_handle(actor *self, actor_msg *m)
{
	drain_actor *da = container_of(self, drain_actor, a);
	drain_ctx *c = da->ctx;
	test_msg *msg = (test_msg *)m;
	da->handled++;
	atomic_fetch_add(&c->total, 1);
	if (msg->sender >= 0 && msg->sender < LOAD_SENDERS) {
		if (msg->n != c->last[da->idx][msg->sender] + 1)
			atomic_fetch_add(&c->order_errors, 1);
		c->last[da->idx][msg->sender] = msg->n;
	}
	free(msg);
}

static void test_stop_drains_single_worker(void **state)
{
	(void)state;
	drain_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	gate_init(&c->gate.g);

	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 1, .batch = 16 });
	assert_non_null(rt);
	actor_init(&c->gate.a, rt, gate_handle, 0);
	for (int i = 0; i < DRAIN_ACTORS; i++) {
		c->da[i].idx = i;
		c->da[i].ctx = c;
		actor_init(&c->da[i].a, rt, drain_handle, 0);
	}

	/* With the worker held, every message below is still queued when the
	 * gate opens; stop is requested right after. */
	assert_int_equal(actor_send(&c->gate.a, &msg_new(MSG_GATE, 0, 0)->base), ACTOR_OK);
	assert_true(gate_wait_entered(&c->gate.g, WAIT_S));
	for (int n = 1; n <= DRAIN_PER; n++) {
		for (int i = 0; i < DRAIN_ACTORS; i++) {
			test_msg *m = msg_new(MSG_DATA, 0, n);
			assert_non_null(m);
			assert_int_equal(actor_send(&c->da[i].a, &m->base), ACTOR_OK);
		}
	}
	gate_release(&c->gate.g);
	assert_true(stop_with_deadline(&rt, WAIT_S));
	assert_null(rt);

	assert_false(c->gate.g.timed_out);
	assert_int_equal(atomic_load(&c->total), (long)DRAIN_ACTORS * DRAIN_PER);
	assert_int_equal(atomic_load(&c->order_errors), 0);
	for (int i = 0; i < DRAIN_ACTORS; i++) {
		assert_int_equal(c->da[i].handled, DRAIN_PER);
		assert_int_equal(actor_pending(&c->da[i].a), 0);
	}
	gate_destroy(&c->gate.g);
	free(c);
}

/* Several senders, several workers, stop right after the senders return. */
typedef struct {
	drain_ctx *ctx;
	int id;
} drain_sender_arg;

static void *drain_sender(void *arg)
{
	drain_sender_arg *sa = arg;
	for (int n = 1; n <= DRAIN_PER; n++) {
		for (int i = 0; i < DRAIN_ACTORS; i++) {
			test_msg *m = msg_new(MSG_DATA, sa->id, n);
			if (m && actor_send(&sa->ctx->da[i].a, &m->base) != ACTOR_OK)
				free(m);
		}
	}
	return NULL;
}

static void test_stop_drains_many_workers(void **state)
{
	(void)state;
	drain_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);

	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 3, .batch = 8 });
	assert_non_null(rt);
	for (int i = 0; i < DRAIN_ACTORS; i++) {
		c->da[i].idx = i;
		c->da[i].ctx = c;
		actor_init(&c->da[i].a, rt, drain_handle, 0);
	}
	pthread_t th[LOAD_SENDERS];
	drain_sender_arg args[LOAD_SENDERS];
	for (int s = 0; s < LOAD_SENDERS; s++) {
		args[s] = (drain_sender_arg){ .ctx = c, .id = s };
		assert_int_equal(pthread_create(&th[s], NULL, drain_sender, &args[s]), 0);
	}
	for (int s = 0; s < LOAD_SENDERS; s++)
		pthread_join(th[s], NULL);
	assert_true(stop_with_deadline(&rt, WAIT_S));

	assert_int_equal(atomic_load(&c->total), (long)LOAD_SENDERS * DRAIN_ACTORS * DRAIN_PER);
	assert_int_equal(atomic_load(&c->order_errors), 0);
	for (int i = 0; i < DRAIN_ACTORS; i++) {
		assert_int_equal(c->da[i].handled, (long)LOAD_SENDERS * DRAIN_PER);
		for (int s = 0; s < LOAD_SENDERS; s++)
			assert_int_equal(c->last[i][s], DRAIN_PER);
	}
	free(c);
}

/* Messages that handlers send while the runtime drains are drained too:
 * each token hops RELAY_HOPS times around a ring of actors. */
typedef struct relay_ctx relay_ctx;

typedef struct {
	actor a;
	int idx;
	relay_ctx *ctx;
} relay_actor;

struct relay_ctx {
	relay_actor ra[DRAIN_ACTORS];
	atomic_long hops;
	atomic_long finished;
};

static void relay_handle(actor *self, actor_msg *m)
{
	relay_actor *ra = container_of(self, relay_actor, a);
	relay_ctx *c = ra->ctx;
	test_msg *msg = (test_msg *)m;
	atomic_fetch_add(&c->hops, 1);
	if (++msg->n >= RELAY_HOPS) {
		atomic_fetch_add(&c->finished, 1);
		free(msg);
		return;
	}
	actor_send_force(&c->ra[(ra->idx + 1) % DRAIN_ACTORS].a, &msg->base);
}

static void test_stop_drains_relayed_messages(void **state)
{
	(void)state;
	enum { TOKENS = 200 };
	relay_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	actor_rt *rt = actor_rt_start(&(actor_rt_opts){ .workers = 2, .batch = 4 });
	assert_non_null(rt);
	for (int i = 0; i < DRAIN_ACTORS; i++) {
		c->ra[i].idx = i;
		c->ra[i].ctx = c;
		actor_init(&c->ra[i].a, rt, relay_handle, 0);
	}
	for (int t = 0; t < TOKENS; t++) {
		test_msg *m = msg_new(MSG_DATA, -1, 0);
		assert_non_null(m);
		assert_int_equal(actor_send(&c->ra[t % DRAIN_ACTORS].a, &m->base), ACTOR_OK);
	}
	assert_true(stop_with_deadline(&rt, WAIT_S));
	assert_int_equal(atomic_load(&c->finished), TOKENS);
	assert_int_equal(atomic_load(&c->hops), (long)TOKENS * RELAY_HOPS);
	free(c);
}

/* ---- defaults and stats ------------------------------------------------------ */

static void test_start_defaults_and_stats(void **state)
{
	(void)state;
	actor_rt *rt = actor_rt_start(NULL);
	assert_non_null(rt);
	actor_rt_stats st;
	memset(&st, 0xff, sizeof st);
	actor_rt_get_stats(rt, &st);
	assert_int_equal(st.turns, 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.run_queue, 0);
	assert_true(stop_with_deadline(&rt, WAIT_S));
	assert_null(rt);
	actor_rt_stop(&rt);   /* NULL is a no-op */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_defaults_and_stats),
		cmocka_unit_test(test_load_many_senders),
		cmocka_unit_test(test_bounded_mailbox),
		cmocka_unit_test(test_batch_fairness),
		cmocka_unit_test(test_stop_drains_single_worker),
		cmocka_unit_test(test_stop_drains_many_workers),
		cmocka_unit_test(test_stop_drains_relayed_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
