/* writer — the single LMDB writer with group commit.
 *
 * Requesters submit wr_req objects from any thread. The writer thread takes
 * every request queued (up to max_batch), applies each in ONE write
 * transaction, commits once (one fsync for the whole batch), and only then
 * calls each request's done() with its result, in submission order. done()
 * runs on the writer thread and must only hand off (post to an actor or an
 * I/O loop), never block.
 *
 * apply() contract: check everything first, then write, so a refused request
 * (it returns a negative code, e.g. STORE_ECONFLICT) leaves nothing behind in
 * the shared transaction. An LMDB failure while writing aborts the whole
 * batch: every request in it gets STORE_EIO.
 */
#ifndef PARLEY_WRITER_H
#define PARLEY_WRITER_H

#include <stdint.h>
#include "storage/store.h"

typedef struct db db;

typedef struct wr_req wr_req;

struct wr_req {
	wr_req *next;                                  /* private: queue link */
	int (*apply)(wr_req *r, store_txn *tx);         /* writer thread, inside the txn: store calls only */
	void (*done)(wr_req *r, int rc);               /* writer thread, after commit/abort */
};

typedef struct writer writer;

/* A transaction that takes longer than this (apply + commit) is counted and
 * logged (writer.slow_commit, at most one line a second) with its parts. */
#define WRITER_SLOW_MS 50

typedef struct {
	uint64_t batches;          /* committed transactions */
	uint64_t requests;         /* requests applied */
	uint64_t failures;         /* requests refused or aborted */
	uint64_t commit_ns_total;  /* time in mdb_txn_commit */
	uint64_t apply_ns_total;   /* time applying requests inside transactions */
	uint64_t max_batch_seen;
	uint64_t commit_ns_max;    /* slowest mdb_txn_commit */
	uint64_t slow_commits;     /* commits (apply + commit) over WRITER_SLOW_MS */
	int queued;                /* waiting now */
} writer_stats;

/* Hooks for work an apply() stages that must wait for its commit (the
 * outbox wakes its delivery thread only once the entries it would read are
 * committed). after_batch runs on the writer thread after every batch,
 * before the requests' done(): rc 0 when the transaction committed, else
 * the failure every request of it gets. on_exit runs on the writer thread
 * as it ends, after its last batch: nothing is applied after it. Either
 * may be NULL. */
typedef struct {
	void (*after_batch)(void *ctx, int rc);
	void (*on_exit)(void *ctx);
	void *ctx;
	/* Optional: on the writer thread, after every request of a batch has
	 * been applied and before the commit, inside the transaction (work
	 * the applies gathered, written once per batch); nonzero fails the
	 * batch (every request gets STORE_EIO; after_batch sees the failure). */
	int (*before_commit)(void *ctx, store_txn *tx);
} writer_hook;

#define WRITER_MAX_HOOKS 4

/* Adds a hook (before the requests whose work it finishes are submitted);
 * 0, or -1 when WRITER_MAX_HOOKS are taken or the writer is stopping. */
int writer_add_hook(writer *w, const writer_hook *h);

/* Starts the writer thread over d; NULL on failure. */
writer *writer_start(db *d, int max_batch);

/* Queues a request (any thread). After writer_stop has begun, the request
 * is completed at once with STORE_EIO. */
void writer_submit(writer *w, wr_req *r);

/* Applies and commits everything queued, then stops the thread; later
 * submits complete at once with STORE_EIO. The struct stays valid. */
void writer_shutdown(writer *w);

/* writer_shutdown if not yet done, then frees the writer and nulls the pointer. */
void writer_stop(writer **w_p);

/* Counters for /metrics. */
void writer_get_stats(writer *w, writer_stats *out);

#endif
