/* store — what every store shares: result codes, transactions, errors.
 *
 * The stores (storage/<name>_store.h) own the key layout and the record codecs;
 * everything above storage/ says what it wants kept or read and never sees
 * a key, a cursor or an LMDB call. A store function runs inside a
 * store_txn: a read snapshot (store_read, any thread) or the one write
 * transaction (the writer thread, which hands it to each request's apply,
 * or the offline CLI through store_write).
 *
 * Every call that can fail returns 0 or one of the codes below; LMDB's own
 * codes are mapped in one place (store_rc) and named in one place
 * (store_strerror).
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stdbool.h>
#include <stdint.h>

enum store_rc {
	STORE_OK        = 0,
	STORE_ENOTFOUND = -301,   /* no such record */
	STORE_EIO       = -302,   /* LMDB failed (logged); the write transaction is unusable */
	STORE_ECONFLICT = -303,   /* a check inside a write failed (seq gap, invalid value) */
	STORE_ECORRUPT  = -304,   /* undecodable record */
	STORE_EEXISTS   = -305,   /* unique key taken */
	STORE_EFULL     = -306,   /* the map is full */
	STORE_ENOMEM    = -307,   /* out of memory */
	STORE_ELIMIT    = -308,   /* a limit was reached (e.g. last owner) */
};

struct db;

/* A transaction: opaque to callers (txn is an MDB_txn). */
typedef struct store_txn {
	struct db *db;
	void *txn;
	bool write;
} store_txn;

/* Begins a read snapshot (any thread); 0 or STORE_EIO. */
int store_read(struct db *d, store_txn *t);

/* Begins a write transaction (offline CLI and first-run seed only; the
 * server's writes go through storage/writer.h); 0 or STORE_EIO. */
int store_write(struct db *d, store_txn *t);

/* Commits a write transaction; 0, STORE_EFULL or STORE_EIO. t ends either way. */
int store_commit(store_txn *t);

/* Ends a read snapshot, or aborts a write transaction (no-op if ended). */
void store_done(store_txn *t);

/* The snapshot's transaction id (commit order), for caches keyed by it. */
uint64_t store_txn_id(const store_txn *t);

/* Maps an LMDB return code to a store code. */
int store_rc(int mdb_rc);

/* A short name for a store code or an LMDB code ("not found", ...). */
const char *store_strerror(int rc);

#endif
