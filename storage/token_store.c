/* token_store — see token_store.h; keys in docs/storage.md. */
#include "storage/token_store.h"
#include "storage/db.h"

#include <string.h>

static int put_refresh(store_txn *t, const rec_refresh *r)
{
	uint8_t k[40];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_REFRESH, k, rec_key_hash(k, r->tid, r->hash),
			      rec_refresh_encode(r, &b), &b);
}

static int put_family(store_txn *t, const rec_family *f)
{
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_FAMILIES, k, rec_key2(k, f->tid, f->id),
			      rec_family_encode(f, &b), &b);
}

static int get_family(store_txn *t, uint64_t tid, uint64_t id, rec_family *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_FAMILIES, k, rec_key2(k, tid, id), &v);
	return rc ? rc : rec_family_decode(v.mv_data, v.mv_size, out);
}

/* ---- refresh tokens and their families ---- */

int token_session_start(store_txn *t, uint64_t tid, uint64_t uid, uint64_t family,
			const uint8_t hash[32], int64_t now, int64_t expires_ms)
{
	rec_family f = { .tid = tid, .id = family, .uid = uid, .created_ms = now };
	rec_refresh r = { .tid = tid, .uid = uid, .family = family, .expires_ms = expires_ms };
	memcpy(r.hash, hash, 32);
	uint8_t fk[16], rk[40];
	int rc;
	if ((rc = db_absent(t->db, t->txn, DB_FAMILIES, fk, rec_key2(fk, tid, family))) ||
	    (rc = db_absent(t->db, t->txn, DB_REFRESH, rk, rec_key_hash(rk, tid, hash))) ||
	    (rc = put_family(t, &f)))
		return rc;
	return put_refresh(t, &r);
}

int token_refresh_get(store_txn *t, uint64_t tid, const uint8_t hash[32], rec_refresh *r,
		      rec_family *f)
{
	uint8_t k[40];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_REFRESH, k, rec_key_hash(k, tid, hash), &v);
	if (rc || (rc = rec_refresh_decode(v.mv_data, v.mv_size, r)))
		return rc;
	return get_family(t, tid, r->family, f);
}

int token_refresh_rotate(store_txn *t, uint64_t tid, const uint8_t old[32], const uint8_t next[32],
			 int64_t now, int64_t expires_ms)
{
	rec_refresh r;
	rec_family f;
	int rc = token_refresh_get(t, tid, old, &r, &f);
	if (rc)
		return rc;
	if (r.used || r.expires_ms <= now || f.revoked)
		return STORE_ECONFLICT;
	uint8_t nk[40];
	if ((rc = db_absent(t->db, t->txn, DB_REFRESH, nk, rec_key_hash(nk, tid, next))))
		return rc;
	r.used = true;
	if ((rc = put_refresh(t, &r)))
		return rc;
	rec_refresh n = { .tid = tid, .uid = r.uid, .family = r.family, .expires_ms = expires_ms };
	memcpy(n.hash, next, 32);
	return put_refresh(t, &n);
}

int token_family_revoke(store_txn *t, uint64_t tid, uint64_t family)
{
	rec_family f;
	int rc = get_family(t, tid, family, &f);
	if (rc || f.revoked)
		return rc;
	f.revoked = true;
	return put_family(t, &f);
}

typedef struct {
	uint64_t uid;
	buf live;             /* ids of the user's live families */
} revoke_scan;

static int family_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	revoke_scan *s = arg;
	rec_family f;
	if (rec_family_decode(v->mv_data, v->mv_size, &f) || f.uid != s->uid || f.revoked)
		return 0;
	return buf_append(&s->live, &f.id, sizeof f.id) ? STORE_ENOMEM : 0;
}

int token_revoke_user(store_txn *t, uint64_t tid, uint64_t uid)
{
	/* collect first, then write: no put under an open cursor of the same table */
	revoke_scan s = { .uid = uid };
	uint8_t p[8];
	int rc = db_each_under(t->db, t->txn, DB_FAMILIES, p, rec_key1(p, tid), NULL, 0, family_each, &s);
	size_t n = s.live.len / sizeof(uint64_t);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t id;
		memcpy(&id, s.live.data + i * sizeof id, sizeof id);
		rc = token_family_revoke(t, tid, id);
	}
	buf_free(&s.live);
	return rc ? rc : (int)n;
}

/* ---- invite and password-reset tokens ---- */

static int put_invite(store_txn *t, const rec_invite *inv)
{
	uint8_t k[40];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_INVITES, k, rec_key_hash(k, inv->tid, inv->hash),
			      rec_invite_encode(inv, &b), &b);
}

int token_invite_put(store_txn *t, const rec_invite *inv)
{
	if (!inv->tid || !inv->uid || inv->purpose >= INV__COUNT)
		return STORE_ECONFLICT;
	uint8_t k[40];
	int rc = db_absent(t->db, t->txn, DB_INVITES, k, rec_key_hash(k, inv->tid, inv->hash));
	if (rc)
		return rc;
	rec_invite r = *inv;
	r.used = false;
	return put_invite(t, &r);
}

int token_invite_get(store_txn *t, uint64_t tid, const uint8_t hash[32], rec_invite *out)
{
	uint8_t k[40];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_INVITES, k, rec_key_hash(k, tid, hash), &v);
	return rc ? rc : rec_invite_decode(v.mv_data, v.mv_size, out);
}

int token_invite_spend(store_txn *t, uint64_t tid, const uint8_t hash[32], int64_t now,
		       rec_invite *out)
{
	int rc = token_invite_get(t, tid, hash, out);
	if (rc)
		return rc;
	if (out->used || out->expires_ms <= now)
		return STORE_ECONFLICT;
	out->used = true;
	return put_invite(t, out);
}

typedef struct {
	uint64_t uid;
	buf hashes;           /* hashes of the user's unused tokens */
} invite_scan;

static int invite_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	invite_scan *s = arg;
	rec_invite r;
	if (k->mv_size != 40 || rec_invite_decode(v->mv_data, v->mv_size, &r) || r.uid != s->uid || r.used)
		return 0;
	return buf_append(&s->hashes, (const uint8_t *)k->mv_data + 8, 32) ? STORE_ENOMEM : 0;
}

int token_invite_revoke_user(store_txn *t, uint64_t tid, uint64_t uid)
{
	/* collect first, then write: no put under an open cursor of the same table */
	invite_scan s = { .uid = uid };
	uint8_t p[8];
	int rc = db_each_under(t->db, t->txn, DB_INVITES, p, rec_key1(p, tid), NULL, 0, invite_each, &s);
	size_t n = s.hashes.len / 32;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rec_invite r;
		if ((rc = token_invite_get(t, tid, (const uint8_t *)s.hashes.data + i * 32, &r)) == 0) {
			r.used = true;
			rc = put_invite(t, &r);
		}
	}
	buf_free(&s.hashes);
	return rc ? rc : (int)n;
}

/* ---- the prune ---- */

static bool expired(int table, const MDB_val *v, int64_t now)
{
	if (table == 0) {
		rec_refresh r;
		return rec_refresh_decode(v->mv_data, v->mv_size, &r) == 0 && r.expires_ms <= now;
	}
	rec_invite r;
	return rec_invite_decode(v->mv_data, v->mv_size, &r) == 0 && r.expires_ms <= now;
}

int token_prune(store_txn *t, int64_t now, uint8_t cursor[TOKEN_PRUNE_CURSOR], size_t *cursor_len, int max,
		bool *more)
{
	static const enum db_table tables[2] = { DB_REFRESH, DB_INVITES };
	int table = *cursor_len ? cursor[0] : 0, deleted = 0, seen = 0;
	*more = false;
	for (; table < 2; table++) {
		MDB_cursor *c;
		if (mdb_cursor_open(t->txn, db_dbi(t->db, tables[table]), &c))
			return STORE_EIO;
		MDB_val k = { 0 }, v;
		int rc;
		if (*cursor_len > 1 && cursor[0] == table) {   /* go on from the key where the last call stopped */
			k.mv_size = *cursor_len - 1;
			k.mv_data = cursor + 1;
			rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		} else {
			rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		}
		for (; rc == 0 && seen < max; seen++) {
			if (expired(table, &v, now)) {
				if (mdb_cursor_del(c, 0)) {
					mdb_cursor_close(c);
					return STORE_EIO;
				}
				deleted++;
			}
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		if (rc == 0 && k.mv_size < TOKEN_PRUNE_CURSOR) {   /* max rows looked at: k is the next */
			cursor[0] = (uint8_t)table;
			memcpy(cursor + 1, k.mv_data, k.mv_size);
			*cursor_len = 1 + k.mv_size;
			*more = true;
			mdb_cursor_close(c);
			return deleted;
		}
		mdb_cursor_close(c);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return STORE_EIO;
		*cursor_len = 0;
	}
	return deleted;
}
