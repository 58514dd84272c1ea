/* store — shared transactions and error names (see store.h). */
#include "storage/store.h"
#include "storage/db.h"
#include "core/log.h"

#include <errno.h>
#include <lmdb.h>

int store_rc(int rc)
{
	switch (rc) {
	case 0: return STORE_OK;
	case MDB_NOTFOUND: return STORE_ENOTFOUND;
	case MDB_KEYEXIST: return STORE_EEXISTS;
	case MDB_MAP_FULL: return STORE_EFULL;
	case ENOMEM: return STORE_ENOMEM;
	default: return rc < 0 && rc >= STORE_ELIMIT && rc <= STORE_ENOTFOUND ? rc : STORE_EIO;
	}
}

const char *store_strerror(int rc)
{
	switch (rc) {
	case STORE_OK: return "ok";
	case STORE_ENOTFOUND: return "not found";
	case STORE_EIO: return "storage failure";
	case STORE_ECONFLICT: return "conflicting or invalid value";
	case STORE_ECORRUPT: return "corrupt record";
	case STORE_EEXISTS: return "already exists";
	case STORE_EFULL: return "storage full";
	case STORE_ENOMEM: return "out of memory";
	case STORE_ELIMIT: return "limit reached";
	default: return mdb_strerror(rc);
	}
}

int store_read(db *d, store_txn *t)
{
	MDB_txn *txn = NULL;
	int rc = db_read(d, &txn);
	*t = (store_txn){ .db = d, .txn = rc ? NULL : txn, .write = false };
	return rc;
}

int store_write(db *d, store_txn *t)
{
	MDB_txn *txn = NULL;
	int rc = db_write(d, &txn);
	*t = (store_txn){ .db = d, .txn = rc ? NULL : txn, .write = true };
	return rc;
}

int store_commit(store_txn *t)
{
	if (!t->txn)
		return STORE_EIO;
	int rc = mdb_txn_commit(t->txn);
	t->txn = NULL;
	if (rc)
		log_error("store.commit", "err=\"%s\"", mdb_strerror(rc));
	return store_rc(rc);
}

void store_done(store_txn *t)
{
	if (t->txn)
		mdb_txn_abort(t->txn);
	t->txn = NULL;
}

uint64_t store_txn_id(const store_txn *t)
{
	return t->txn ? (uint64_t)mdb_txn_id(t->txn) : 0;
}
