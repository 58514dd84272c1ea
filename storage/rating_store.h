/* rating_store — visitors' ratings of conversations (tables ratings and
 * rating_time, docs/storage.md): one per conversation, key tid|cid,
 * written in the transaction of the conversation write that records the
 * rating event, with its row in the time index (tid · created_ms · cid →
 * agent · department · whether it has a comment) in the same transaction.
 * Every function runs inside a store_txn (storage/store.h). */
#ifndef PARLEY_RATING_STORE_H
#define PARLEY_RATING_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Reads the rating of conversation (tid, cid); 0, STORE_ENOTFOUND,
 * STORE_ECORRUPT or STORE_EIO. */
int rating_get(store_txn *t, uint64_t tid, uint64_t cid, rec_rating *out);

/* Stores r and its time index row (write transaction); STORE_EEXISTS when
 * the conversation is already rated (nothing written), 0, STORE_ENOMEM or
 * STORE_EIO. */
int rating_put(store_txn *t, const rec_rating *r);

/* Which ratings rating_each_recent visits: from_ms <= created_ms < to_ms,
 * of the department and the agent (0: any), and with a comment only when
 * commented. */
typedef struct {
	int64_t from_ms, to_ms;
	uint64_t dept_id, agent_id;
	bool commented;
} rating_filter;

/* fn's answer: true for the next one, false to stop. */
typedef bool (*rating_fn)(void *ctx, const rec_rating *r);

/* Calls fn for the tenant's ratings that pass f, newest first, from the
 * time index: a rating record is read only for the rows that pass (the
 * filter fields are in the index row). 0, STORE_ECORRUPT or STORE_EIO. */
int rating_each_recent(store_txn *t, uint64_t tid, const rating_filter *f, rating_fn fn, void *ctx);

/* Ratings stored before the time index existed: indexes up to n of them
 * (write transaction) from where the last call stopped — the progress
 * (the last tid · cid done, or 1 byte when finished) is kept in DB_META
 * "rating_time". Returns the number indexed (0: nothing left; every later
 * call is 0 at once) or a store code. */
int rating_backfill(store_txn *t, int n);

/* Empties the time index and builds it again from every stored rating in
 * this write transaction (the analytics rebuild); the number of ratings,
 * or a store code. */
long rating_reindex(store_txn *t);

#endif
