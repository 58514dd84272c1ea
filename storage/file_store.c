/* file_store — see file_store.h; keys in docs/storage.md. */
#include "storage/file_store.h"
#include "storage/db.h"

#include <string.h>

static size_t blob_key(uint8_t k[40], uint64_t tid, const uint8_t sha[32])
{
	rec_key1(k, tid);
	memcpy(k + 8, sha, 32);
	return 40;
}

int filestore_get(store_txn *t, uint64_t tid, uint64_t fid, rec_file *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_FILES, k, rec_key2(k, tid, fid), &v);
	if (rc)
		return rc;
	rc = rec_file_decode(v.mv_data, v.mv_size, out);
	if (rc == 0) {
		out->tid = tid;
		out->id = fid;
	}
	return rc;
}

int filestore_usage(store_txn *t, uint64_t tid, rec_usage *out)
{
	uint8_t k[8];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_USAGE, k, rec_key1(k, tid), &v);
	if (rc == STORE_ENOTFOUND) {
		memset(out, 0, sizeof *out);
		out->tid = tid;
		return 0;
	}
	if (rc)
		return rc;
	rc = rec_usage_decode(v.mv_data, v.mv_size, out);
	out->tid = tid;
	return rc;
}

int filestore_blob_exists(store_txn *t, uint64_t tid, const uint8_t sha256[32])
{
	uint8_t k[40];
	MDB_val v;
	return db_get(t->db, t->txn, DB_BLOBS, k, blob_key(k, tid, sha256), &v);
}

int filestore_put(store_txn *t, const rec_file *f, uint64_t quota, bool *blob_new)
{
	uint8_t fk[16], bk[40], uk[8];
	rec_usage u;
	int rc;
	*blob_new = false;
	if ((rc = db_absent(t->db, t->txn, DB_FILES, fk, rec_key2(fk, f->tid, f->id))) ||
	    (rc = filestore_usage(t, f->tid, &u)))
		return rc;
	rc = filestore_blob_exists(t, f->tid, f->sha256);
	if (rc && rc != STORE_ENOTFOUND)
		return rc;
	bool fresh = rc == STORE_ENOTFOUND;
	if (fresh && quota && (u.bytes > quota || f->size > quota - u.bytes))
		return STORE_ELIMIT;
	/* checked: now write */
	buf b = { 0 };
	if ((rc = db_put_encoded(t->db, t->txn, DB_FILES, fk, sizeof fk, rec_file_encode(f, &b), &b)))
		return rc;
	if (fresh) {
		rec_blob bl = { .tid = f->tid, .size = f->size, .created_ms = f->created_ms };
		memcpy(bl.sha256, f->sha256, 32);
		if ((rc = db_put_encoded(t->db, t->txn, DB_BLOBS, bk, blob_key(bk, f->tid, f->sha256),
					 rec_blob_encode(&bl, &b), &b)))
			return rc;
		u.bytes += f->size;
		u.blobs++;
	}
	u.files++;
	if ((rc = db_put_encoded(t->db, t->txn, DB_USAGE, uk, rec_key1(uk, f->tid), rec_usage_encode(&u, &b),
				 &b)))
		return rc;
	*blob_new = fresh;
	return 0;
}
