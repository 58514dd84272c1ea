/* audit_store — see audit_store.h; keys in docs/storage.md. The walks go
 * backwards and the prune deletes under its cursor, which db.h's forward
 * walk does not offer: both use an LMDB cursor here. */
#include "storage/audit_store.h"
#include "storage/db.h"

#include <string.h>

static bool str_ok(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

int auditstore_append(store_txn *t, rec_audit *row)
{
	if (!row->tid || !row->action[0] || !str_ok(row->action, sizeof row->action) ||
	    !str_ok(row->actor_name, sizeof row->actor_name) || !str_ok(row->record_type, sizeof row->record_type) ||
	    !str_ok(row->addr, sizeof row->addr) || !str_ok(row->details, sizeof row->details))
		return STORE_ECONFLICT;
	uint8_t p[8];
	MDB_val k, v;
	uint64_t id = row->at_ms > 0 ? (uint64_t)row->at_ms << 16 : 1;
	int rc = db_last_under(t->db, t->txn, DB_AUDIT, p, rec_key1(p, row->tid), &k, &v);
	if (rc == 0 && k.mv_size == 16) {
		uint64_t last = db_get_be64((const uint8_t *)k.mv_data + 8);
		if (id <= last)
			id = last + 1;
	} else if (rc && rc != STORE_ENOTFOUND) {
		return rc;
	}
	row->id = id;
	uint8_t key[16];
	buf b = { 0 };
	rc = db_put_encoded(t->db, t->txn, DB_AUDIT, key, rec_key2(key, row->tid, id), rec_audit_encode(row, &b), &b);
	return rc;
}

static bool passes(const auditstore_filter *f, const rec_audit *r)
{
	if (f->actor_id && r->actor_id != f->actor_id)
		return false;
	if (f->action && f->action[0] && strcmp(r->action, f->action) != 0)
		return false;
	if (f->record_type && f->record_type[0] && strcmp(r->record_type, f->record_type) != 0)
		return false;
	if (f->record_id && r->record_id != f->record_id)
		return false;
	if (f->from_ms && r->at_ms < f->from_ms)
		return false;
	if (f->to_ms && r->at_ms > f->to_ms)
		return false;
	return true;
}

int auditstore_each(store_txn *t, uint64_t tid, const auditstore_filter *f, auditstore_fn fn, void *ctx,
		    uint64_t *next)
{
	if (next)
		*next = 0;
	/* the first id not to return: the cursor, or the end of to_ms */
	uint64_t bound = f->before ? f->before : UINT64_MAX;
	if (f->to_ms > 0 && (uint64_t)f->to_ms < (UINT64_MAX >> 16) && ((uint64_t)f->to_ms + 1) << 16 < bound)
		bound = ((uint64_t)f->to_ms + 1) << 16;
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_AUDIT), &cur))
		return STORE_EIO;
	uint8_t seek[16];
	MDB_val k = { 16, seek }, v;
	int rc;
	if (bound == UINT64_MAX) {
		if (tid == UINT64_MAX) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		} else {
			rec_key2(seek, tid + 1, 0);
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
				     : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : rc;
		}
	} else {
		rec_key2(seek, tid, bound);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
			     : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : rc;
	}
	size_t scanned = 0;
	int out = 0;
	uint64_t last = 0;
	bool stopped = false;
	while (rc == 0) {
		if (k.mv_size != 16 || db_get_be64(k.mv_data) != tid)
			break;
		uint64_t id = db_get_be64((const uint8_t *)k.mv_data + 8);
		if (id >= bound) {          /* (bound == UINT64_MAX: none) */
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
			continue;
		}
		if (f->from_ms > 0 && (int64_t)(id >> 16) < f->from_ms)
			break;              /* this and every older row is before from_ms */
		if (f->max_scan && scanned == f->max_scan) {
			stopped = true;
			break;
		}
		scanned++;
		last = id;
		rec_audit r;
		if (rec_audit_decode(v.mv_data, v.mv_size, &r)) {
			out = STORE_ECORRUPT;
			break;
		}
		r.tid = tid;
		r.id = id;
		if (passes(f, &r) && !fn(ctx, &r)) {
			stopped = true;
			break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (out)
		return out;
	if (rc && rc != MDB_NOTFOUND)
		return db_rc(rc);
	if (next && stopped && last)
		*next = last;
	return 0;
}

int auditstore_prune(store_txn *t, int64_t before_ms, size_t max_rows)
{
	if (before_ms <= 0 || max_rows == 0)
		return 0;
	uint64_t bound = (uint64_t)before_ms << 16;
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_AUDIT), &cur))
		return STORE_EIO;
	MDB_val k, v;
	uint8_t seek[16];
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	size_t n = 0;
	while (rc == 0 && n < max_rows) {
		if (k.mv_size != 16) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		uint64_t tid = db_get_be64(k.mv_data), id = db_get_be64((const uint8_t *)k.mv_data + 8);
		if (id < bound) {
			if ((rc = mdb_cursor_del(cur, 0)))
				break;
			n++;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		if (tid == UINT64_MAX)
			break;
		/* the rest of this tenant's log is newer: on to the next tenant */
		k.mv_size = rec_key2(seek, tid + 1, 0);
		k.mv_data = seek;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return db_rc(rc);
	return (int)n;
}
