/* presence_store — agents' presence history.
 *
 * Owns the table `presence` (tid · uid · at_ms → presence change,
 * docs/storage.md): one row per change of an agent's state (online, away,
 * offline), written by the agent's actor (actors/desk/) through the
 * writer, read by reports of time online. Rows are never rewritten; a
 * second change within the same millisecond replaces the first.
 *
 * Calls run inside a store_txn as described in storage/account_store.h.
 */
#ifndef PARLEY_PRESENCE_STORE_H
#define PARLEY_PRESENCE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Stores a change; 0, STORE_ECONFLICT (no tid or uid, unknown state),
 * STORE_EIO. */
int presencestore_put(store_txn *t, const rec_presence *p);

/* Walk callback: true to go on. */
typedef bool (*presencestore_fn)(void *ctx, const rec_presence *p);

/* Calls fn for user uid's changes with from_ms <= at_ms < to_ms (to_ms 0:
 * no end), oldest first; undecodable rows are skipped. 0 or STORE_EIO. */
int presencestore_each(store_txn *t, uint64_t tid, uint64_t uid, int64_t from_ms, int64_t to_ms,
		       presencestore_fn fn, void *ctx);

/* The user's latest change into *out; 0, STORE_ENOTFOUND, STORE_ECORRUPT,
 * STORE_EIO. */
int presencestore_last(store_txn *t, uint64_t tid, uint64_t uid, rec_presence *out);

/* Milliseconds user uid was online within [from_ms, to_ms): the state at
 * from_ms (the last change before it) and the changes inside the range.
 * 0 or a store code. */
int presencestore_online_ms(store_txn *t, uint64_t tid, uint64_t uid, int64_t from_ms, int64_t to_ms, int64_t *out);

#endif
