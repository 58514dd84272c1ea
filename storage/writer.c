/* writer — group commit.
 *
 * Why: LMDB allows one write transaction at a time and a durable commit
 * costs an fsync (≈0.5–5 ms here). Committing per message caps throughput at
 * a few hundred messages/s; batching everything that queued up during the
 * previous fsync amortises it over the batch, so throughput grows with load
 * while latency stays about one fsync. The queue is a mutex-protected list:
 * it is taken once per batch by the writer (swap the whole list out), and
 * once per submit by producers for a few instructions; no lock is held
 * across I/O.
 */
#include "storage/writer.h"
#include "storage/db.h"
#include "core/clock.h"
#include "core/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct writer {
	db *db;
	int max_batch;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	wr_req *head, *tail;       /* guarded by lock */
	int queued;                /* guarded by lock */
	bool stopping;             /* guarded by lock */
	writer_stats stats;        /* guarded by lock when read; written by writer */
	int64_t last_slow_log;     /* writer thread only */
	writer_hook hooks[WRITER_MAX_HOOKS];   /* guarded by lock */
	int nhooks;                /* guarded by lock */
	writer_hook run_hooks[WRITER_MAX_HOOKS];  /* writer thread: the hooks of this batch */
	int nrun;
};

/* Tells the hooks how the batch ended (writer thread). */
static void batch_ended(writer *w, int rc)
{
	for (int i = 0; i < w->nrun; i++)
		if (w->run_hooks[i].after_batch)
			w->run_hooks[i].after_batch(w->run_hooks[i].ctx, rc);
}

static void complete_all(wr_req *list, int rc)
{
	while (list) {
		wr_req *next = list->next;
		list->done(list, rc);
		list = next;
	}
}

/* Completes every request of a failed batch with STORE_EIO and counts them. */
static void fail_batch(writer *w, wr_req *list, int n)
{
	pthread_mutex_lock(&w->lock);
	w->stats.failures += (uint64_t)n;
	pthread_mutex_unlock(&w->lock);
	batch_ended(w, STORE_EIO);
	complete_all(list, STORE_EIO);
}

static void run_batch(writer *w, wr_req *list, int n)
{
	MDB_txn *txn;
	int rc = db_write(w->db, &txn);
	if (rc) {
		fail_batch(w, list, n);
		return;
	}
	/* Results are kept in the request order; reuse a small stack array. */
	int local[256];
	int *res = n <= 256 ? local : malloc(sizeof(int) * (size_t)n);
	if (!res) {
		mdb_txn_abort(txn);
		db_note_abort(w->db);
		fail_batch(w, list, n);
		return;
	}
	int i = 0, failures = 0;
	int64_t ta = clock_mono_ns();
	store_txn tx = { .db = w->db, .txn = txn, .write = true };
	for (wr_req *r = list; r; r = r->next, i++) {
		res[i] = r->apply(r, &tx);
		if (res[i] == STORE_EIO || res[i] == STORE_EFULL || res[i] == STORE_ENOMEM)
			break;   /* the txn is unusable */
		if (res[i])
			failures++;
	}
	for (int h = 0; i == n && h < w->nrun; h++)
		if (w->run_hooks[h].before_commit && w->run_hooks[h].before_commit(w->run_hooks[h].ctx, &tx))
			i = -1;   /* the txn is not to be committed */
	if (i < n) {
		mdb_txn_abort(txn);
		db_note_abort(w->db);
		log_error("writer.abort", "batch=%d", n);
		fail_batch(w, list, n);
		goto out;
	}
	int64_t t0 = clock_mono_ns();
	int64_t applied = t0 - ta;
	int mrc = mdb_txn_commit(txn);
	int64_t dt = clock_mono_ns() - t0;
	if (mrc) {
		db_note_abort(w->db);
		log_error("writer.commit", "err=\"%s\" batch=%d", mdb_strerror(mrc), n);
		fail_batch(w, list, n);
		goto out;
	}
	pthread_mutex_lock(&w->lock);
	w->stats.batches++;
	w->stats.requests += (uint64_t)n;
	w->stats.failures += (uint64_t)failures;
	w->stats.commit_ns_total += (uint64_t)dt;
	w->stats.apply_ns_total += (uint64_t)applied;
	if ((uint64_t)n > w->stats.max_batch_seen)
		w->stats.max_batch_seen = (uint64_t)n;
	if ((uint64_t)dt > w->stats.commit_ns_max)
		w->stats.commit_ns_max = (uint64_t)dt;
	bool slow = dt + applied > (int64_t)WRITER_SLOW_MS * 1000000;
	if (slow)
		w->stats.slow_commits++;
	pthread_mutex_unlock(&w->lock);
	if (slow && t0 - w->last_slow_log >= 1000000000) {
		w->last_slow_log = t0;
		log_warn("writer.slow_commit", "apply_ms=%.1f commit_ms=%.1f batch=%d slow_total=%llu",
			 (double)applied / 1e6, (double)dt / 1e6, n, (unsigned long long)w->stats.slow_commits);
	}
	batch_ended(w, 0);
	i = 0;
	for (wr_req *r = list; r; i++) {
		wr_req *next = r->next;   /* done() may free r */
		r->done(r, res[i]);
		r = next;
	}
out:
	if (res != local)
		free(res);
}

static void *writer_main(void *arg)
{
	writer *w = arg;
	pthread_setname_np(pthread_self(), "writer");
	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->head && w->stopping) {
			w->nrun = w->nhooks;
			memcpy(w->run_hooks, w->hooks, sizeof w->hooks);
			pthread_mutex_unlock(&w->lock);
			for (int i = 0; i < w->nrun; i++)
				if (w->run_hooks[i].on_exit)
					w->run_hooks[i].on_exit(w->run_hooks[i].ctx);
			return NULL;
		}
		/* Take up to max_batch requests off the front. */
		wr_req *list = w->head, *last = list;
		int n = 1;
		while (last->next && n < w->max_batch) {
			last = last->next;
			n++;
		}
		w->head = last->next;
		if (!w->head)
			w->tail = NULL;
		last->next = NULL;
		w->queued -= n;
		w->nrun = w->nhooks;
		memcpy(w->run_hooks, w->hooks, sizeof w->hooks);
		pthread_mutex_unlock(&w->lock);
		run_batch(w, list, n);
	}
}

writer *writer_start(db *d, int max_batch)
{
	writer *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->db = d;
	w->max_batch = max_batch > 0 ? max_batch : 4096;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

int writer_add_hook(writer *w, const writer_hook *h)
{
	int rc = -1;
	pthread_mutex_lock(&w->lock);
	if (!w->stopping && w->nhooks < WRITER_MAX_HOOKS) {
		w->hooks[w->nhooks++] = *h;
		rc = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void writer_submit(writer *w, wr_req *r)
{
	r->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		r->done(r, STORE_EIO);
		return;
	}
	if (w->tail)
		w->tail->next = r;
	else
		w->head = r;
	w->tail = r;
	w->queued++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void writer_shutdown(writer *w)
{
	pthread_mutex_lock(&w->lock);
	bool was = w->stopping;
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (!was)
		pthread_join(w->thread, NULL);
}

void writer_stop(writer **w_p)
{
	writer *w = *w_p;
	if (!w)
		return;
	writer_shutdown(w);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	*w_p = NULL;
}

void writer_get_stats(writer *w, writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	out->queued = w->queued;
	pthread_mutex_unlock(&w->lock);
}
