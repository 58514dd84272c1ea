/* apikey_store — see apikey_store.h; keys in docs/storage.md. */
#include "storage/apikey_store.h"
#include "storage/db.h"

#include <string.h>

static int put_key(store_txn *t, const rec_apikey *r)
{
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_API_KEYS, k, rec_key2(k, r->tid, r->id),
			      rec_apikey_encode(r, &b), &b);
}

int apikey_create(store_txn *t, const rec_apikey *k)
{
	size_t nl = strnlen(k->name, sizeof k->name);
	if (!k->tid || !k->id || nl == 0 || nl > REC_NAME_MAX || k->scope <= KS_NONE || k->scope >= KS__COUNT)
		return STORE_ECONFLICT;
	uint8_t kk[16], hk[40], idv[8];
	int rc;
	if ((rc = db_absent(t->db, t->txn, DB_API_KEYS, kk, rec_key2(kk, k->tid, k->id))) ||
	    (rc = db_absent(t->db, t->txn, DB_API_KEY_HASH, hk, rec_key_hash(hk, k->tid, k->hash))))
		return rc;
	rec_apikey r = *k;
	r.revoked = false;
	r.revoked_ms = 0;
	r.last_used_ms = 0;
	if ((rc = put_key(t, &r)))
		return rc;
	db_be64(idv, k->id);
	return db_put(t->db, t->txn, DB_API_KEY_HASH, hk, sizeof hk, idv, sizeof idv);
}

int apikey_get(store_txn *t, uint64_t tid, uint64_t id, rec_apikey *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_API_KEYS, k, rec_key2(k, tid, id), &v);
	return rc ? rc : rec_apikey_decode(v.mv_data, v.mv_size, out);
}

int apikey_by_hash(store_txn *t, uint64_t tid, const uint8_t hash[32], rec_apikey *out)
{
	uint8_t k[40];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_API_KEY_HASH, k, rec_key_hash(k, tid, hash), &v);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	rc = apikey_get(t, tid, db_get_be64(v.mv_data), out);
	if (rc == STORE_ENOTFOUND)
		return STORE_ECORRUPT;
	if (rc == 0 && (out->tid != tid || memcmp(out->hash, hash, 32) != 0))
		return STORE_ECORRUPT;
	return rc;
}

typedef struct {
	apikey_fn fn;
	void *ctx;
	rec_apikey k;
} key_scan;

static int key_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	key_scan *s = arg;
	if (k->mv_size != 16)
		return 0;
	bool ok = rec_apikey_decode(v->mv_data, v->mv_size, &s->k) == 0;
	return s->fn(s->ctx, db_get_be64((const uint8_t *)k->mv_data + 8), ok ? &s->k : NULL) ? 0 : 1;
}

int apikey_list(store_txn *t, uint64_t tid, uint64_t after, apikey_fn fn, void *ctx)
{
	if (after == UINT64_MAX)
		return 0;
	uint8_t p[8], start[16];
	key_scan s = { .fn = fn, .ctx = ctx };
	int rc = db_each_under(t->db, t->txn, DB_API_KEYS, p, rec_key1(p, tid), start,
			       rec_key2(start, tid, after + 1), key_each, &s);
	return rc > 0 ? 0 : rc;   /* 1: fn stopped */
}

int apikey_revoke(store_txn *t, uint64_t tid, uint64_t id, int64_t now, rec_apikey *out)
{
	int rc = apikey_get(t, tid, id, out);
	if (rc || out->revoked)
		return rc;
	out->revoked = true;
	out->revoked_ms = now;
	return put_key(t, out);
}

int apikey_touch(store_txn *t, uint64_t tid, uint64_t id, int64_t now, int64_t min_interval_ms)
{
	rec_apikey r;
	int rc = apikey_get(t, tid, id, &r);
	if (rc)
		return rc;
	if (r.revoked || (r.last_used_ms && now - r.last_used_ms < min_interval_ms))
		return 0;
	r.last_used_ms = now;
	return (rc = put_key(t, &r)) ? rc : 1;
}
