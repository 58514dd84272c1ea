/* writer_test — storage/writer.c: group commit from many threads, results
 * reported only after the commit and in submission order, refused requests
 * inside a shared transaction, a failing request aborting its whole batch,
 * max_batch, writer_stop draining the queue, and the hooks (after every
 * batch, before done(), with its outcome; once as the thread ends).
 *
 * Requests are forced into one batch with a "gate": a first request whose
 * apply() blocks (on a condition variable, with a deadline) until the test
 * has queued the others behind it; the writer then takes all of them as the
 * next batch. No sleeps are used for synchronisation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/db.h"
#include "storage/records.h"
#include "storage/writer.h"

#define DEADLINE_S 60

/* ---- test requests ----------------------------------------------------------- */

enum behaviour {
	B_PUT,          /* put own key */
	B_CONFLICT,     /* check fails (a required key is missing): STORE_ECONFLICT, writes nothing */
	B_EIO,          /* put own key, then fail as LMDB would: STORE_EIO */
	B_GATE,         /* wait until ctx->gate_open, then put own key */
	B_GATE_SUBMITTED, /* wait until every producer request is submitted, then put */
	B_GATE_STOP,    /* wait until writer_stop is being called, then put */
};

struct ctx;

typedef struct treq {
	wr_req w;
	struct ctx *c;
	enum behaviour how;
	uint32_t thread, seq;      /* key = tid 1 | thread | seq */
	bool check_visible;        /* done(): own key visible iff rc == 0 */
	bool resubmit;             /* done(): submit the next request of a chain */
	/* results, written by done() on the writer thread under c->m */
	int calls;
	int rc;
	int done_order;            /* global completion index */
	int applied;               /* apply() calls (writer thread only) */
	pthread_t done_thread;
} treq;

enum { MAXT = 8 };

typedef struct ctx {
	char dir[64];
	db *d;
	writer *w;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int completed;             /* done() calls */
	int submitted;             /* producer submits */
	int submit_target;
	int gate_entered, gate_open;
	int stop_called, stop_returned;
	int completed_at_stop;
	uint32_t last_seq[MAXT];
	int order_errors, visible_errors, gate_timeouts, double_calls;
	treq *chain;               /* resubmit: the array and its length */
	int chain_len;
} ctx;

static treq *to_treq(wr_req *r)
{
	return (treq *)((char *)r - offsetof(treq, w));
}

static size_t req_key(uint8_t k[24], const treq *t)
{
	return rec_key3(k, 1, t->thread, t->seq);
}

/* Waits (c->m held) until *v >= target or the deadline passes. */
static bool wait_ge(ctx *c, const int *v, int target)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += DEADLINE_S;
	while (*v < target)
		if (pthread_cond_timedwait(&c->cv, &c->m, &dl) == ETIMEDOUT)
			return *v >= target;
	return true;
}

static int t_apply(wr_req *r, store_txn *tx)
{
	db *d = tx->db;
	MDB_txn *txn = tx->txn;
	treq *t = to_treq(r);
	ctx *c = t->c;
	uint8_t k[24], v[8];
	size_t kl = req_key(k, t);
	db_be64(v, t->seq);
	t->applied++;
	switch (t->how) {
	case B_CONFLICT: {
		MDB_val got;
		uint8_t need[8];
		if (db_get(d, txn, DB_META, need, rec_key1(need, 0xDEAD), &got) == STORE_ENOTFOUND)
			return STORE_ECONFLICT;
		break;
	}
	case B_EIO: {
		int rc = db_put(d, txn, DB_EVENTS, k, kl, v, 8);
		return rc ? rc : STORE_EIO;
	}
	case B_GATE:
	case B_GATE_SUBMITTED:
	case B_GATE_STOP: {
		pthread_mutex_lock(&c->m);
		c->gate_entered = 1;
		pthread_cond_broadcast(&c->cv);
		bool ok = t->how == B_GATE ? wait_ge(c, &c->gate_open, 1)
			: t->how == B_GATE_STOP ? wait_ge(c, &c->stop_called, 1)
			: wait_ge(c, &c->submitted, c->submit_target);
		if (!ok)
			c->gate_timeouts++;
		pthread_mutex_unlock(&c->m);
		break;
	}
	case B_PUT:
		break;
	}
	return db_put(d, txn, DB_EVENTS, k, kl, v, 8);
}

static void t_done(wr_req *r, int rc)
{
	treq *t = to_treq(r);
	ctx *c = t->c;
	int visible = -1;
	if (t->check_visible) {
		/* the batch is committed (or aborted) before done() runs */
		MDB_txn *txn;
		MDB_val v;
		uint8_t k[24];
		if (db_read(c->d, &txn) == 0) {
			int grc = db_get(c->d, txn, DB_EVENTS, k, req_key(k, t), &v);
			visible = grc == 0 && v.mv_size == 8 && db_get_be64(v.mv_data) == t->seq;
			mdb_txn_abort(txn);
		}
	}
	/* t may go out of scope as soon as c->m is released: read it first */
	wr_req *next = t->resubmit && (int)t->seq < c->chain_len ? &c->chain[t->seq].w : NULL;
	pthread_mutex_lock(&c->m);
	if (t->calls++)
		c->double_calls++;
	t->rc = rc;
	t->done_thread = pthread_self();
	t->done_order = c->completed;
	if (t->thread < MAXT) {
		if (t->seq != c->last_seq[t->thread] + 1)
			c->order_errors++;
		c->last_seq[t->thread] = t->seq;
	}
	if (t->check_visible && visible != (rc == 0))
		c->visible_errors++;
	c->completed++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
	if (next)
		writer_submit(c->w, next);   /* the next link of a chain */
}

static void init_req(treq *t, ctx *c, enum behaviour how, uint32_t thread, uint32_t seq)
{
	memset(t, 0, sizeof *t);
	t->w.apply = t_apply;
	t->w.done = t_done;
	t->c = c;
	t->how = how;
	t->thread = thread;
	t->seq = seq;
	t->check_visible = true;
}

/* ---- fixture ------------------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	snprintf(c->dir, sizeof c->dir, "/tmp/parley-wrtest-XXXXXX");
	if (!mkdtemp(c->dir)) {
		free(c);
		return -1;
	}
	int err = 0;
	db_opts o = { .map_size = (size_t)256 << 20 };
	c->d = db_open(c->dir, &o, &err);
	if (!c->d)
		return -1;
	pthread_mutex_init(&c->m, NULL);
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &a);
	pthread_condattr_destroy(&a);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	ctx *c = *state;
	if (c->w) {
		/* a failed test may have left a gate closed: open it */
		pthread_mutex_lock(&c->m);
		c->gate_open = 1;
		c->stop_called = 1;
		c->submitted = c->submit_target;
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->m);
		writer_stop(&c->w);
	}
	db_close(&c->d);
	nftw(c->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	int gone = access(c->dir, F_OK) != 0;
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->m);
	free(c);
	return gone ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------------ */

static void wait_completed(ctx *c, int n)
{
	pthread_mutex_lock(&c->m);
	bool ok = wait_ge(c, &c->completed, n);
	int got = c->completed;
	pthread_mutex_unlock(&c->m);
	if (!ok)
		fail_msg("only %d of %d requests completed within %d s", got, n, DEADLINE_S);
}

static void wait_gate_entered(ctx *c)
{
	pthread_mutex_lock(&c->m);
	bool ok = wait_ge(c, &c->gate_entered, 1);
	pthread_mutex_unlock(&c->m);
	assert_true(ok);
}

static void open_gate(ctx *c)
{
	pthread_mutex_lock(&c->m);
	c->gate_open = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
}

/* Reads a request's key from a fresh read txn: 1 present (with its value), 0 absent. */
static int key_present(db *d, const treq *t)
{
	MDB_txn *txn;
	MDB_val v;
	uint8_t k[24];
	assert_int_equal(db_read(d, &txn), 0);
	int rc = db_get(d, txn, DB_EVENTS, k, req_key(k, t), &v);
	int present = rc == 0;
	if (present) {
		assert_int_equal(v.mv_size, 8);
		assert_true(db_get_be64(v.mv_data) == t->seq);
	} else {
		assert_int_equal(rc, STORE_ENOTFOUND);
	}
	mdb_txn_abort(txn);
	return present;
}

static void assert_clean(ctx *c)
{
	pthread_mutex_lock(&c->m);
	int oe = c->order_errors, ve = c->visible_errors, gt = c->gate_timeouts, dc = c->double_calls;
	pthread_mutex_unlock(&c->m);
	if (oe || ve || gt || dc)
		fail_msg("order errors %d, visibility errors %d, gate time-outs %d, double done() %d",
			 oe, ve, gt, dc);
}

/* ---- group commit from many threads -------------------------------------------- */

enum { NTHREADS = 8, PER_THREAD = 2000, TOTAL = NTHREADS * PER_THREAD };

typedef struct {
	ctx *c;
	treq *reqs;               /* this thread's PER_THREAD requests */
	pthread_barrier_t *start;
} producer;

static void *produce(void *arg)
{
	producer *p = arg;
	pthread_barrier_wait(p->start);
	for (int i = 0; i < PER_THREAD; i++) {
		writer_submit(p->c->w, &p->reqs[i].w);
		pthread_mutex_lock(&p->c->m);
		if (++p->c->submitted == p->c->submit_target)
			pthread_cond_broadcast(&p->c->cv);
		pthread_mutex_unlock(&p->c->m);
	}
	return NULL;
}

static void test_group_commit_many_threads(void **state)
{
	ctx *c = *state;
	treq *reqs = calloc(TOTAL, sizeof *reqs);
	assert_non_null(reqs);
	for (uint32_t t = 0; t < NTHREADS; t++)
		for (uint32_t s = 1; s <= PER_THREAD; s++)
			init_req(&reqs[t * PER_THREAD + s - 1], c, B_PUT, t, s);
	/* Thread 0's first request holds the writer until all 16,000 are
	 * submitted, so batching is certain rather than likely. */
	reqs[0].how = B_GATE_SUBMITTED;
	c->submit_target = TOTAL;

	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, NTHREADS);
	pthread_t th[NTHREADS];
	producer p[NTHREADS];
	for (int t = 0; t < NTHREADS; t++) {
		p[t] = (producer){ c, &reqs[t * PER_THREAD], &start };
		assert_int_equal(pthread_create(&th[t], NULL, produce, &p[t]), 0);
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	wait_completed(c, TOTAL);

	writer_stats st;
	writer_get_stats(c->w, &st);
	assert_clean(c);
	pthread_mutex_lock(&c->m);
	pthread_t wt = reqs[0].done_thread;
	for (int i = 0; i < TOTAL; i++) {
		if (reqs[i].calls != 1 || reqs[i].rc != 0)
			fail_msg("request %d: %d done() calls, rc %d", i, reqs[i].calls, reqs[i].rc);
		assert_int_equal(reqs[i].applied, 1);
		/* done() runs on the writer thread, never on a submitter */
		assert_true(pthread_equal(reqs[i].done_thread, wt));
	}
	for (int t = 0; t < NTHREADS; t++) {
		assert_false(pthread_equal(wt, th[t]));
		assert_int_equal(c->last_seq[t], PER_THREAD);
	}
	pthread_mutex_unlock(&c->m);
	assert_false(pthread_equal(wt, pthread_self()));

	/* grouping happened, every request was counted once */
	assert_true(st.requests == TOTAL);
	assert_true(st.batches < TOTAL);
	assert_true(st.batches >= 2);
	assert_true(st.max_batch_seen > 1);
	assert_true(st.max_batch_seen <= 4096);   /* the default max_batch */
	assert_true(st.failures == 0);
	assert_int_equal(st.queued, 0);
	print_message("      %llu requests in %llu batches (largest %llu)\n",
		      (unsigned long long)st.requests, (unsigned long long)st.batches,
		      (unsigned long long)st.max_batch_seen);

	/* every key is readable, now and after a clean stop and reopen */
	for (int i = 0; i < TOTAL; i++)
		assert_int_equal(key_present(c->d, &reqs[i]), 1);
	writer_stop(&c->w);
	assert_null(c->w);
	db_close(&c->d);
	int err = 0;
	c->d = db_open(c->dir, NULL, &err);
	assert_non_null(c->d);
	for (int i = 0; i < TOTAL; i += 97)
		assert_int_equal(key_present(c->d, &reqs[i]), 1);
	free(reqs);
}

/* ---- completion after durability ---------------------------------------------- */

/* Unbatched, one at a time: each done() finds its own key committed (checked
 * inside done() with a read txn), and the submitter sees it too. */
static void test_done_after_commit(void **state)
{
	ctx *c = *state;
	enum { N = 20 };
	treq r[N];
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	for (uint32_t i = 0; i < N; i++) {
		init_req(&r[i], c, B_PUT, 0, i + 1);
		writer_submit(c->w, &r[i].w);
		wait_completed(c, (int)i + 1);
		assert_int_equal(key_present(c->d, &r[i]), 1);
	}
	assert_clean(c);
	for (int i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].rc, 0);
	}
	writer_stats st;
	writer_get_stats(c->w, &st);
	assert_true(st.requests == N);
	assert_true(st.batches == N);   /* each waited for: one per batch */
	assert_true(st.commit_ns_total > 0);
}

/* ---- refused requests ----------------------------------------------------------- */

/* [gate] then one batch [put, conflict, put, conflict, put]: the refused
 * ones get STORE_ECONFLICT and leave nothing; the others commit; results are
 * reported in order after the commit. */
static void test_refused_request_others_commit(void **state)
{
	ctx *c = *state;
	treq g, r[5];
	static const enum behaviour how[5] = { B_PUT, B_CONFLICT, B_PUT, B_CONFLICT, B_PUT };
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	init_req(&g, c, B_GATE, MAXT, 1);
	writer_submit(c->w, &g.w);
	wait_gate_entered(c);
	for (uint32_t i = 0; i < 5; i++) {
		init_req(&r[i], c, how[i], 0, i + 1);
		writer_submit(c->w, &r[i].w);
	}
	writer_stats st;
	writer_get_stats(c->w, &st);
	assert_int_equal(st.queued, 5);       /* all five wait behind the gate */
	open_gate(c);
	wait_completed(c, 6);
	assert_clean(c);

	assert_int_equal(g.rc, 0);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].applied, 1);
		assert_int_equal(r[i].rc, how[i] == B_CONFLICT ? STORE_ECONFLICT : 0);
		assert_int_equal(key_present(c->d, &r[i]), how[i] == B_CONFLICT ? 0 : 1);
		assert_int_equal(r[i].done_order, i + 1);   /* after the gate, in order */
	}
	assert_int_equal(key_present(c->d, &g), 1);

	writer_get_stats(c->w, &st);
	assert_true(st.batches == 2);          /* [gate], [the five] */
	assert_true(st.max_batch_seen == 5);
	assert_true(st.requests == 6);
	assert_true(st.failures == 2);
	assert_int_equal(st.queued, 0);
}

/* ---- fault injection: an LMDB failure mid-batch --------------------------------- */

/* Runs [gate] + batch, where batch[fail_at] writes its key and then returns
 * STORE_EIO; every request of the batch must get STORE_EIO and none of their keys
 * may exist; a request submitted afterwards still commits. */
static void run_eio_batch(ctx *c, int n, int fail_at, uint32_t thread)
{
	treq g, after, *r = calloc((size_t)n, sizeof *r);
	assert_non_null(r);
	pthread_mutex_lock(&c->m);
	c->gate_entered = c->gate_open = 0;
	int base = c->completed;
	pthread_mutex_unlock(&c->m);

	init_req(&g, c, B_GATE, MAXT, thread + 1);
	writer_submit(c->w, &g.w);
	wait_gate_entered(c);
	for (int i = 0; i < n; i++) {
		/* a refused request in the batch is aborted with the rest */
		enum behaviour how = i == fail_at ? B_EIO : (i % 3 == 2 ? B_CONFLICT : B_PUT);
		init_req(&r[i], c, how, thread, (uint32_t)i + 1);
		writer_submit(c->w, &r[i].w);
	}
	open_gate(c);
	wait_completed(c, base + 1 + n);
	assert_int_equal(g.rc, 0);
	assert_int_equal(key_present(c->d, &g), 1);
	for (int i = 0; i < n; i++) {
		if (r[i].calls != 1 || r[i].rc != STORE_EIO)
			fail_msg("batch of %d failing at %d: request %d: %d calls, rc %d, want STORE_EIO",
				 n, fail_at, i, r[i].calls, r[i].rc);
		if (key_present(c->d, &r[i]))
			fail_msg("batch of %d failing at %d: key of request %d exists", n, fail_at, i);
		assert_int_equal(r[i].done_order, base + 1 + i);
	}

	/* the writer keeps working */
	init_req(&after, c, B_PUT, thread, (uint32_t)n + 1);
	writer_submit(c->w, &after.w);
	wait_completed(c, base + 2 + n);
	assert_int_equal(after.rc, 0);
	assert_int_equal(key_present(c->d, &after), 1);
	assert_clean(c);
	free(r);
}

static void test_eio_aborts_whole_batch(void **state)
{
	ctx *c = *state;
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_stats before, st;
	writer_get_stats(c->w, &before);
	run_eio_batch(c, 5, 3, 0);   /* middle: earlier writes rolled back */
	run_eio_batch(c, 5, 0, 1);   /* first */
	run_eio_batch(c, 5, 4, 2);   /* last */
	run_eio_batch(c, 1, 0, 3);   /* alone */
	run_eio_batch(c, 300, 299, 4);   /* more than 256 results */
	writer_get_stats(c->w, &st);
	/* only the gates and the requests after each failure were committed */
	assert_true(st.batches - before.batches == 10);
	assert_true(st.requests - before.requests == 10);
	assert_int_equal(st.queued, 0);
}

/* writer.h: "failures — requests refused or aborted". An aborted batch of
 * five must add five. */
static void test_stats_count_aborted_requests_as_failures(void **state)
{
	ctx *c = *state;
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_stats before, st;
	writer_get_stats(c->w, &before);
	run_eio_batch(c, 5, 4, 0);   /* #2 refused, #4 fails: all 5 aborted */
	writer_get_stats(c->w, &st);
	if (st.failures - before.failures != 5)
		fail_msg("writer_stats.failures grew by %llu after a batch of 5 was aborted, want 5",
			 (unsigned long long)(st.failures - before.failures));
}

/* writer.h: a transaction over WRITER_SLOW_MS is counted in slow_commits;
 * commit_ns_max follows the slowest commit. The apply step takes the time
 * here (what is measured, not a wait for another thread). */
static int slow_apply(wr_req *r, store_txn *tx)
{
	(void)tx;
	struct timespec ts = { 0, (WRITER_SLOW_MS + 20) * 1000000L };
	nanosleep(&ts, NULL);
	return 0;
}

static void flag_done(wr_req *r, int rc)
{
	treq *t = to_treq(r);
	pthread_mutex_lock(&t->c->m);
	t->c->completed++;
	pthread_cond_broadcast(&t->c->cv);
	pthread_mutex_unlock(&t->c->m);
}

static void test_slow_commit_counted(void **state)
{
	ctx *c = *state;
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_stats before, st;
	writer_get_stats(c->w, &before);
	assert_int_equal(before.slow_commits, 0);
	treq t = { .c = c };
	t.w.apply = slow_apply;
	t.w.done = flag_done;
	writer_submit(c->w, &t.w);
	pthread_mutex_lock(&c->m);
	bool ok = wait_ge(c, &c->completed, 1);
	pthread_mutex_unlock(&c->m);
	assert_true(ok);
	writer_get_stats(c->w, &st);
	assert_int_equal(st.slow_commits, 1);
	assert_true(st.commit_ns_max > 0);
	assert_true(st.apply_ns_total >= (uint64_t)WRITER_SLOW_MS * 1000000);
}

/* ---- max_batch and large batches ------------------------------------------------- */

static void test_max_batch_respected(void **state)
{
	ctx *c = *state;
	enum { N = 23, MAXB = 5 };
	treq g, r[N];
	c->w = writer_start(c->d, MAXB);
	assert_non_null(c->w);
	init_req(&g, c, B_GATE, MAXT, 1);
	writer_submit(c->w, &g.w);
	wait_gate_entered(c);
	for (uint32_t i = 0; i < N; i++) {
		init_req(&r[i], c, B_PUT, 0, i + 1);
		writer_submit(c->w, &r[i].w);
	}
	open_gate(c);
	wait_completed(c, N + 1);
	assert_clean(c);
	for (int i = 0; i < N; i++)
		assert_int_equal(r[i].rc, 0);
	writer_stats st;
	writer_get_stats(c->w, &st);
	assert_true(st.max_batch_seen == MAXB);
	assert_true(st.batches == 1 + (N + MAXB - 1) / MAXB);
	assert_true(st.requests == N + 1);
}

/* 600 requests in one batch (past the 256-entry stack array of results),
 * every 7th refused: each gets its own result. */
static void test_large_batch_results(void **state)
{
	ctx *c = *state;
	enum { N = 600 };
	treq g, *r = calloc(N, sizeof *r);
	assert_non_null(r);
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	init_req(&g, c, B_GATE, MAXT, 1);
	writer_submit(c->w, &g.w);
	wait_gate_entered(c);
	int refused = 0;
	for (int i = 0; i < N; i++) {
		init_req(&r[i], c, i % 7 == 3 ? B_CONFLICT : B_PUT, 0, (uint32_t)i + 1);
		refused += i % 7 == 3;
		writer_submit(c->w, &r[i].w);
	}
	open_gate(c);
	wait_completed(c, N + 1);
	assert_clean(c);
	for (int i = 0; i < N; i++) {
		int refuse = i % 7 == 3;
		assert_int_equal(r[i].rc, refuse ? STORE_ECONFLICT : 0);
		assert_int_equal(key_present(c->d, &r[i]), !refuse);
	}
	writer_stats st;
	writer_get_stats(c->w, &st);
	assert_true(st.max_batch_seen == N);
	assert_true(st.batches == 2);
	assert_true(st.failures == (uint64_t)refused);
	free(r);
}

/* done() may submit (it hands off; the writer lock is not held). */
static void test_submit_from_done(void **state)
{
	ctx *c = *state;
	enum { N = 50 };
	treq r[N];
	for (uint32_t i = 0; i < N; i++) {
		init_req(&r[i], c, B_PUT, 0, i + 1);
		r[i].resubmit = true;
	}
	c->chain = r;
	c->chain_len = N;
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_submit(c->w, &r[0].w);
	wait_completed(c, N);
	assert_clean(c);
	for (int i = 0; i < N; i++) {
		assert_int_equal(r[i].rc, 0);
		assert_int_equal(key_present(c->d, &r[i]), 1);
	}
}

/* ---- writer_stop -------------------------------------------------------------------- */

static void *stopper(void *arg)
{
	ctx *c = arg;
	writer *w = c->w;
	pthread_mutex_lock(&c->m);
	c->stop_called = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
	writer_stop(&w);
	pthread_mutex_lock(&c->m);
	c->completed_at_stop = c->completed;
	c->stop_returned = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->m);
	return NULL;
}

/* Everything queued when writer_stop is called is applied, committed and
 * completed before it returns. */
static void test_stop_drains_queue(void **state)
{
	ctx *c = *state;
	enum { N = 300 };
	treq g, *r = calloc(N, sizeof *r);
	assert_non_null(r);
	c->w = writer_start(c->d, 64);
	assert_non_null(c->w);
	init_req(&g, c, B_GATE_STOP, MAXT, 1);
	writer_submit(c->w, &g.w);
	wait_gate_entered(c);
	for (int i = 0; i < N; i++) {
		init_req(&r[i], c, i == 10 ? B_CONFLICT : B_PUT, 0, (uint32_t)i + 1);
		writer_submit(c->w, &r[i].w);
	}
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stopper, c), 0);
	pthread_mutex_lock(&c->m);
	bool ok = wait_ge(c, &c->stop_returned, 1);
	int at_stop = c->completed_at_stop;
	pthread_mutex_unlock(&c->m);
	if (!ok)
		fail_msg("writer_stop did not return within %d s", DEADLINE_S);
	pthread_join(th, NULL);
	c->w = NULL;   /* freed by writer_stop */
	assert_int_equal(at_stop, N + 1);
	assert_clean(c);
	assert_int_equal(g.rc, 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].rc, i == 10 ? STORE_ECONFLICT : 0);
	}
	/* durable: visible after closing and reopening */
	db_close(&c->d);
	int err = 0;
	c->d = db_open(c->dir, NULL, &err);
	assert_non_null(c->d);
	for (int i = 0; i < N; i++)
		assert_int_equal(key_present(c->d, &r[i]), i == 10 ? 0 : 1);
	free(r);
}

/* writer.h: "After writer_stop has begun, the request is completed at once
 * with STORE_EIO." To submit at a known point inside writer_stop, this test
 * binary wraps pthread_join (writer_stop's only blocking call): when a hook
 * is armed, it runs right after the writer thread has been joined, while
 * writer_stop has begun and not yet freed the writer. */
static void (*_Atomic join_hook)(void);
static int (*real_join)(pthread_t, void **);
static pthread_once_t real_join_once = PTHREAD_ONCE_INIT;

static void find_real_join(void)
{
	real_join = (int (*)(pthread_t, void **))dlsym(RTLD_NEXT, "pthread_join");
}

int pthread_join(pthread_t t, void **ret)
{
	pthread_once(&real_join_once, find_real_join);
	int rc = real_join(t, ret);
	void (*h)(void) = atomic_exchange(&join_hook, NULL);
	if (h)
		h();
	return rc;
}

static writer *late_writer;
static treq late_req;

static void submit_late(void)
{
	writer_submit(late_writer, &late_req.w);
}

static void test_submit_during_stop_completed_with_eio(void **state)
{
	ctx *c = *state;
	treq r;
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	init_req(&r, c, B_PUT, 0, 1);
	writer_submit(c->w, &r.w);
	wait_completed(c, 1);
	assert_int_equal(r.rc, 0);

	late_writer = c->w;
	init_req(&late_req, c, B_PUT, MAXT + 1, 1);
	atomic_store(&join_hook, submit_late);
	writer_stop(&c->w);      /* submit_late() runs inside, after the join */
	assert_null(c->w);
	assert_null(atomic_load(&join_hook));   /* the hook did run */

	pthread_mutex_lock(&c->m);
	int calls = late_req.calls, rc = late_req.rc;
	pthread_mutex_unlock(&c->m);
	/* the writer is freed: if done() has not run by now it never will */
	if (calls != 1 || rc != STORE_EIO)
		fail_msg("request submitted while writer_stop was running: %d done() calls, rc %d; "
			 "want 1 call with STORE_EIO (%d)", calls, rc, STORE_EIO);
	assert_int_equal(key_present(c->d, &late_req), 0);
}

static void test_stop_idle_and_null(void **state)
{
	ctx *c = *state;
	writer *w = writer_start(c->d, 0);
	assert_non_null(w);
	writer_stats st;
	writer_get_stats(w, &st);
	assert_true(st.batches == 0 && st.requests == 0 && st.failures == 0);
	assert_int_equal(st.queued, 0);
	writer_stop(&w);
	assert_null(w);
	writer_stop(&w);   /* NULL: no-op */
	assert_null(w);
	/* a second writer over the same db works after the first stopped */
	treq r;
	init_req(&r, c, B_PUT, 0, 1);
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_submit(c->w, &r.w);
	wait_completed(c, 1);
	assert_int_equal(r.rc, 0);
	assert_int_equal(key_present(c->d, &r), 1);
}

/* ---- hooks ------------------------------------------------------------------- */

typedef struct {
	ctx *c;
	int batches, ok, failed, exits;
	int done_before_hook;      /* done() calls seen when the hook ran */
	int bad_order;             /* a hook ran after its batch's done() */
} hook_log;

static void h_after(void *arg, int rc)
{
	hook_log *h = arg;
	pthread_mutex_lock(&h->c->m);
	h->batches++;
	if (rc == 0)
		h->ok++;
	else
		h->failed++;
	if (h->c->completed != h->done_before_hook)
		h->bad_order++;
	pthread_mutex_unlock(&h->c->m);
}

static void h_exit(void *arg)
{
	hook_log *h = arg;
	h->exits++;
}

static void test_hooks(void **state)
{
	ctx *c = *state;
	hook_log h = { .c = c };
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_hook hk = { .after_batch = h_after, .on_exit = h_exit, .ctx = &h };
	assert_int_equal(writer_add_hook(c->w, &hk), 0);
	/* one committed batch: the hook runs before its done() */
	treq a;
	init_req(&a, c, B_PUT, 0, 1);
	writer_submit(c->w, &a.w);
	wait_completed(c, 1);
	/* one aborted batch */
	treq b;
	init_req(&b, c, B_EIO, 1, 1);
	pthread_mutex_lock(&c->m);
	h.done_before_hook = 1;
	pthread_mutex_unlock(&c->m);
	writer_submit(c->w, &b.w);
	wait_completed(c, 2);
	assert_int_equal(b.rc, STORE_EIO);
	pthread_mutex_lock(&c->m);
	assert_int_equal(h.batches, 2);
	assert_int_equal(h.ok, 1);
	assert_int_equal(h.failed, 1);
	assert_int_equal(h.bad_order, 0);
	pthread_mutex_unlock(&c->m);
	/* the table has room for WRITER_MAX_HOOKS */
	writer_hook none = { 0 };
	for (int i = 1; i < WRITER_MAX_HOOKS; i++)
		assert_int_equal(writer_add_hook(c->w, &none), 0);
	assert_int_equal(writer_add_hook(c->w, &none), -1);
	/* the thread ends: on_exit once; then no more hooks */
	writer_shutdown(c->w);
	assert_int_equal(h.exits, 1);
	assert_int_equal(writer_add_hook(c->w, &hk), -1);
	writer_stop(&c->w);
	assert_int_equal(h.exits, 1);
	assert_clean(c);
}

/* before_commit runs once per batch inside the transaction, after the
 * applies; a nonzero answer fails the whole batch (every request EIO). */
typedef struct {
	int calls;
	int fail;        /* answer STORE_EIO from the call with this number (1-based) */
} bc_log;

static int h_before(void *arg, store_txn *tx)
{
	bc_log *b = arg;
	assert_true(tx->write);
	return ++b->calls == b->fail ? STORE_EIO : 0;
}

static void test_before_commit(void **state)
{
	ctx *c = *state;
	bc_log b = { .fail = 2 };
	c->w = writer_start(c->d, 0);
	assert_non_null(c->w);
	writer_hook hk = { .before_commit = h_before, .ctx = &b };
	assert_int_equal(writer_add_hook(c->w, &hk), 0);
	treq a, f;
	init_req(&a, c, B_PUT, 0, 1);
	writer_submit(c->w, &a.w);
	wait_completed(c, 1);
	assert_int_equal(a.rc, 0);
	init_req(&f, c, B_PUT, 0, 2);
	writer_submit(c->w, &f.w);
	wait_completed(c, 2);
	assert_int_equal(f.rc, STORE_EIO);
	assert_int_equal(b.calls, 2);
	writer_shutdown(c->w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_commit_many_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_request_others_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eio_aborts_whole_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_count_aborted_requests_as_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_commit_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_batch_respected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_batch_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_from_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_drains_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_idle_and_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_during_stop_completed_with_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hooks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_before_commit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
