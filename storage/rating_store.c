/* rating_store — ratings of conversations (see rating_store.h). */
#include "storage/rating_store.h"
#include "storage/db.h"
#include "core/buf.h"

#include <string.h>

#define TIME_KEY 24   /* tid · created_ms · cid */
#define TIME_VAL 17   /* agent · department · commented */
#define MARK "rating_time"

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

static int put_time(store_txn *t, const rec_rating *r)
{
	uint8_t k[TIME_KEY], v[TIME_VAL];
	rec_key3(k, r->tid, r->created_ms > 0 ? (uint64_t)r->created_ms : 0, r->cid);
	db_be64(v, r->agent_id);
	db_be64(v + 8, r->dept_id);
	v[16] = r->comment[0] != 0;
	return db_put(t->db, t->txn, DB_RATING_TIME, k, sizeof k, v, sizeof v);
}

int rating_put(store_txn *t, const rec_rating *r)
{
	uint8_t k[16];
	size_t kn = rec_key2(k, r->tid, r->cid);
	int rc = db_absent(t->db, t->txn, DB_RATINGS, k, kn);
	if (rc)
		return rc;
	buf b = { 0 };
	rc = db_put_encoded(t->db, t->txn, DB_RATINGS, k, kn, rec_rating_encode(r, &b), &b);
	return rc ? rc : put_time(t, r);
}

int rating_each_recent(store_txn *t, uint64_t tid, const rating_filter *f, rating_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_RATING_TIME), &cur))
		return STORE_EIO;
	/* the last row before (tid, to_ms) */
	uint8_t seek[TIME_KEY];
	MDB_val k = { rec_key3(seek, tid, f->to_ms > 0 ? (uint64_t)f->to_ms : 0, 0), seek }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	int out = 0;
	while (rc == 0 && k.mv_size == TIME_KEY && db_get_be64(k.mv_data) == tid) {
		const uint8_t *kp = k.mv_data, *vp = v.mv_data;
		if ((int64_t)db_get_be64(kp + 8) < f->from_ms)
			break;
		if (v.mv_size != TIME_VAL) {
			out = STORE_ECORRUPT;
			break;
		}
		if ((!f->agent_id || db_get_be64(vp) == f->agent_id) &&
		    (!f->dept_id || db_get_be64(vp + 8) == f->dept_id) && (!f->commented || vp[16])) {
			rec_rating r;
			if ((out = rating_get(t, tid, db_get_be64(kp + 16), &r)))
				break;
			if (!fn(ctx, &r))
				break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (out)
		return out == STORE_ENOTFOUND ? STORE_ECORRUPT : out;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

int rating_backfill(store_txn *t, int n)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_RATINGS), &cur))
		return STORE_EIO;
	MDB_val k, v;
	int mrc, rc = db_walk_begin(t->db, t->txn, MARK, cur, &k, &v, &mrc);
	if (rc) {
		mdb_cursor_close(cur);
		return rc == 1 ? 0 : rc;   /* 1: done before */
	}
	int done = 0;
	uint8_t last[16];
	rc = 0;
	while (rc == 0 && mrc == 0 && done < n) {
		if (k.mv_size == 16) {
			memcpy(last, k.mv_data, 16);
			rec_rating r;
			if (rec_rating_decode(v.mv_data, v.mv_size, &r) == 0) {
				r.tid = db_get_be64(last);
				r.cid = db_get_be64(last + 8);
				rc = put_time(t, &r);
			}
			done++;
		}
		mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = STORE_EIO;
	if (rc)
		return rc;
	/* the end reached: done from now on */
	rc = db_walk_end(t->db, t->txn, MARK, done < n || mrc == MDB_NOTFOUND ? NULL : last);
	return rc ? rc : done;
}

long rating_reindex(store_txn *t)
{
	if (mdb_drop(t->txn, db_dbi(t->db, DB_RATING_TIME), 0))
		return STORE_EIO;
	int rc = db_del(t->db, t->txn, DB_META, MARK, sizeof MARK - 1);
	long total = 0;
	while (rc == 0) {
		int n = rating_backfill(t, 1000);
		if (n <= 0) {
			rc = n;
			break;
		}
		total += n;
	}
	return rc ? rc : total;
}
