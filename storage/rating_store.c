/* rating_store — ratings of conversations (see rating_store.h). */
#include "storage/rating_store.h"
#include "storage/db.h"
#include "core/buf.h"

int rating_get(store_txn *t, uint64_t tid, uint64_t cid, rec_rating *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_RATINGS, k, rec_key2(k, tid, cid), &v);
	if (rc)
		return rc;
	rc = rec_rating_decode(v.mv_data, v.mv_size, out);
	out->tid = tid;
	out->cid = cid;
	return rc;
}

int rating_put(store_txn *t, const rec_rating *r)
{
	uint8_t k[16];
	size_t kn = rec_key2(k, r->tid, r->cid);
	int rc = db_absent(t->db, t->txn, DB_RATINGS, k, kn);
	if (rc)
		return rc;
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_RATINGS, k, kn, rec_rating_encode(r, &b), &b);
}
