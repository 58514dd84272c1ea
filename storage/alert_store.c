/* alert_store — see alert_store.h; keys in docs/storage.md. */
#include "storage/alert_store.h"
#include "storage/db.h"

#include <string.h>

static size_t marker_key(uint8_t k[33], uint64_t tid, int kind, uint64_t subject, int64_t breach)
{
	db_be64(k, tid);
	k[8] = (uint8_t)kind;
	db_be64(k + 9, subject);
	db_be64(k + 17, (uint64_t)breach);
	return 25;
}

int alertstore_raise(store_txn *t, rec_alert *a, bool marked, uint64_t subject, int64_t breach)
{
	if (!a->tid || a->kind >= ALERT__COUNT || strnlen(a->message, sizeof a->message) == sizeof a->message)
		return STORE_ECONFLICT;
	uint8_t mk[33];
	size_t mn = 0;
	int rc;
	if (marked) {
		mn = marker_key(mk, a->tid, a->kind, subject, breach);
		if ((rc = db_absent(t->db, t->txn, DB_ALERTS, mk, mn)))
			return rc == STORE_EEXISTS ? 1 : rc;
	}
	/* the id: above the tenant's last (the markers' keys are longer: skipped) */
	uint64_t id = a->at_ms > 0 ? (uint64_t)a->at_ms << 16 : 1;
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_ALERTS), &cur))
		return STORE_EIO;
	uint8_t seek[16];
	MDB_val k = { rec_key2(seek, a->tid, UINT64_MAX), seek }, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	while (rc == 0 && k.mv_size != 16 && k.mv_size >= 8 && db_get_be64(k.mv_data) == a->tid)
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	if (rc == 0 && k.mv_size == 16 && db_get_be64(k.mv_data) == a->tid) {
		uint64_t last = db_get_be64((const uint8_t *)k.mv_data + 8);
		if (id <= last)
			id = last + 1;
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return db_rc(rc);
	a->id = id;
	uint8_t key[16];
	buf b = { 0 };
	rc = db_put_encoded(t->db, t->txn, DB_ALERTS, key, rec_key2(key, a->tid, id), rec_alert_encode(a, &b), &b);
	if (rc == 0 && marked)
		rc = db_put(t->db, t->txn, DB_ALERTS, mk, mn, "", 0);
	return rc;
}

static bool passes(const alertstore_filter *f, const rec_alert *a)
{
	return (f->kind < 0 || a->kind == f->kind) && (!f->dept_id || a->dept_id == f->dept_id) &&
	       (!f->agent_id || a->agent_id == f->agent_id) && (!f->cid || a->cid == f->cid) &&
	       (!f->to_ms || a->at_ms <= f->to_ms);
}

int alertstore_each(store_txn *t, uint64_t tid, const alertstore_filter *f, alertstore_fn fn, void *ctx,
		    uint64_t *next)
{
	*next = 0;
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_ALERTS), &cur))
		return STORE_EIO;
	uint8_t seek[16];
	MDB_val k = { rec_key2(seek, tid, f->before ? f->before : UINT64_MAX), seek }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	size_t scanned = 0;
	int out = 0;
	uint64_t last = 0;
	while (rc == 0 && k.mv_size >= 8 && db_get_be64(k.mv_data) == tid) {
		if (k.mv_size != 16) {   /* a marker */
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
			continue;
		}
		rec_alert a;
		if (rec_alert_decode(v.mv_data, v.mv_size, &a)) {
			out = STORE_ECORRUPT;
			break;
		}
		a.tid = tid;
		a.id = db_get_be64((const uint8_t *)k.mv_data + 8);
		if (f->from_ms && a.at_ms < f->from_ms)
			break;
		if (f->max_scan && scanned++ == f->max_scan) {
			*next = last;
			break;
		}
		last = a.id;
		if (passes(f, &a) && !fn(ctx, &a)) {
			*next = a.id;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (out)
		return out;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}
