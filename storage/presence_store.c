/* presence_store — see presence_store.h; keys in docs/storage.md. */
#include "storage/presence_store.h"
#include "storage/db.h"

#include <string.h>

int presencestore_put(store_txn *t, const rec_presence *p)
{
	if (!p->tid || !p->uid || p->state >= PR__COUNT || p->at_ms < 0)
		return STORE_ECONFLICT;
	uint8_t k[24];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_PRESENCE, k, rec_key3(k, p->tid, p->uid, (uint64_t)p->at_ms),
			      rec_presence_encode(p, &b), &b);
}

typedef struct {
	presencestore_fn fn;
	void *ctx;
	int64_t to_ms;
} each_walk;

static int each_step(void *arg, const MDB_val *k, const MDB_val *v)
{
	each_walk *w = arg;
	int64_t at = (int64_t)db_get_be64((const uint8_t *)k->mv_data + 16);
	if (w->to_ms && at >= w->to_ms)
		return 1;
	rec_presence p;
	if (rec_presence_decode(v->mv_data, v->mv_size, &p) != 0)
		return 0;
	return w->fn(w->ctx, &p) ? 0 : 1;
}

int presencestore_each(store_txn *t, uint64_t tid, uint64_t uid, int64_t from_ms, int64_t to_ms,
		       presencestore_fn fn, void *ctx)
{
	uint8_t pre[16], start[24];
	each_walk w = { fn, ctx, to_ms };
	int rc = db_each_under(t->db, t->txn, DB_PRESENCE, pre, rec_key2(pre, tid, uid), start,
			       rec_key3(start, tid, uid, (uint64_t)(from_ms > 0 ? from_ms : 0)), each_step, &w);
	return rc < 0 ? rc : 0;
}

int presencestore_last(store_txn *t, uint64_t tid, uint64_t uid, rec_presence *out)
{
	uint8_t pre[16];
	MDB_val k, v;
	int rc = db_last_under(t->db, t->txn, DB_PRESENCE, pre, rec_key2(pre, tid, uid), &k, &v);
	if (rc)
		return rc;
	return rec_presence_decode(v.mv_data, v.mv_size, out) ? STORE_ECORRUPT : 0;
}


int presencestore_online_ms(store_txn *t, uint64_t tid, uint64_t uid, int64_t from_ms, int64_t to_ms, int64_t *out)
{
	*out = 0;
	uint8_t p[16], k0[24];
	size_t pl = rec_key2(p, tid, uid);
	MDB_val k, v;
	int state = PR_OFFLINE;
	/* the state at from_ms: the last change before it */
	rec_key3(k0, tid, uid, from_ms > 0 ? (uint64_t)from_ms : 0);
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_PRESENCE), &cur))
		return STORE_EIO;
	k.mv_size = 24;
	k.mv_data = k0;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	int back = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (back == 0 && k.mv_size == 24 && memcmp(k.mv_data, p, pl) == 0) {
		rec_presence r;
		if (rec_presence_decode(v.mv_data, v.mv_size, &r) == 0)
			state = r.state;
	}
	k.mv_size = 24;
	k.mv_data = k0;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	int64_t since = from_ms;
	while (rc == 0 && k.mv_size == 24 && memcmp(k.mv_data, p, pl) == 0) {
		int64_t at = (int64_t)db_get_be64((const uint8_t *)k.mv_data + 16);
		if (at >= to_ms)
			break;
		rec_presence r;
		if (rec_presence_decode(v.mv_data, v.mv_size, &r) == 0) {
			if (state == PR_ONLINE)
				*out += at - since;
			state = r.state;
			since = at;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return db_rc(rc);
	if (state == PR_ONLINE && to_ms > since)
		*out += to_ms - since;
	return 0;
}
