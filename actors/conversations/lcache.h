/* lcache — rendered conversation lists, served again until the tenant's
 * conversations change.
 *
 * Validity is tied to LMDB transaction ids. The conversation writer marks a
 * tenant with the id of every write transaction that changes one of its
 * conversation records or indexes (lc_touch, inside the transaction, before
 * the commit). A list rendered from a read snapshot S (store_txn_id of the read
 * transaction) stays valid while the tenant's mark is <= S: no write newer
 * than the snapshot has touched it. Marking before the commit means that a
 * list which misses a commit can never be accepted once that commit is
 * visible, and a hit always reflects every commit completed before the
 * lookup. A read snapshot that lags behind a finished commit has a smaller
 * id, so it is simply not reused.
 *
 * Marks live in a fixed table of atomics indexed by a hash of the tenant id
 * (two tenants sharing a slot only cost each other misses). Entries live in
 * one direct-mapped table per I/O thread, so lookups take no lock; each entry
 * holds one response body and its ETag.
 */
#ifndef PARLEY_LCACHE_H
#define PARLEY_LCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/http.h"

/* What a list request asked for (zero it before filling: it is hashed and
 * compared as bytes). */
typedef struct {
	uint64_t tid;
	uint64_t assignee;        /* when by_assignee */
	uint64_t below;           /* cursor, 0 = first page */
	uint64_t scope;           /* an agent's id: only what they may read (kit/perm.h); 0 = all */
	int32_t status;           /* -1 = any */
	uint32_t limit;
	uint32_t by_assignee;
	uint32_t pad;
} lc_key;

typedef struct {
	lc_key key;
	uint64_t snap;            /* read snapshot the body was rendered from */
	char *body;
	size_t len;
	char etag[HTTP_ETAG_SIZE];  /* http_etag() of body */
} lc_entry;

typedef struct lcache lcache;

typedef struct {
	uint64_t hits, misses, stores;
} lc_stats;

/* nthreads tables of `slots` entries (rounded up to a power of two); bodies
 * longer than max_body are not kept. NULL on allocation failure. */
lcache *lc_new(int nthreads, size_t slots, size_t max_body);
void lc_free(lcache **c_p);

/* Marks tenant tid as changed by write transaction txn_id (any thread). */
void lc_touch(lcache *c, uint64_t tid, uint64_t txn_id);

/* The current mark of tid's slot (any thread). */
uint64_t lc_mark(const lcache *c, uint64_t tid);

/* The valid entry for k in thread's table, or NULL (thread only). The
 * pointer is good until the next lc_put on that thread. */
const lc_entry *lc_get(lcache *c, int thread, const lc_key *k);

/* Keeps body (copied) rendered from snapshot snap; does nothing when the
 * snapshot is already stale or the body too large. Returns the stored
 * entry or NULL (thread only). */
const lc_entry *lc_put(lcache *c, int thread, const lc_key *k, uint64_t snap, const char *body,
		       size_t len);

/* Totals over all threads (racy snapshot, for /metrics). */
void lc_get_stats(lcache *c, lc_stats *out);

#endif
