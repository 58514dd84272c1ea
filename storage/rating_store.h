/* rating_store — visitors' ratings of conversations (table ratings,
 * docs/storage.md): one per conversation, key tid|cid, written in the
 * transaction of the conversation write that records the rating event.
 * Every function runs inside a store_txn (storage/store.h). */
#ifndef PARLEY_RATING_STORE_H
#define PARLEY_RATING_STORE_H

#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Reads the rating of conversation (tid, cid); 0, STORE_ENOTFOUND,
 * STORE_ECORRUPT or STORE_EIO. */
int rating_get(store_txn *t, uint64_t tid, uint64_t cid, rec_rating *out);

/* Stores r (write transaction); STORE_EEXISTS when the conversation is
 * already rated (nothing written), 0, STORE_ENOMEM or STORE_EIO. */
int rating_put(store_txn *t, const rec_rating *r);

#endif
