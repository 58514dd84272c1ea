#include "actors/team/accounts.h"
#include "core/clock.h"
#include "core/crypto.h"

#include <ctype.h>
#include <string.h>

bool accounts_valid_role(const char *role)
{
	return strcmp(role, "owner") == 0 || strcmp(role, "admin") == 0 || strcmp(role, "supervisor") == 0 ||
	       strcmp(role, "agent") == 0;
}

static bool valid_slug(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > REC_SLUG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
	return true;
}

static int put(db *d, MDB_txn *txn, enum db_table t, const void *k, size_t kl, buf *b)
{
	return db_put(d, txn, t, k, kl, b->data, b->len);
}

int accounts_create_tenant(db *d, MDB_txn *txn, id_gen *ids, const char *name, const char *slug,
			   const char *origins, rec_tenant *out)
{
	if (!valid_slug(slug) || !name[0] || strlen(name) > REC_NAME_MAX ||
	    (origins && strlen(origins) > REC_ORIGINS_MAX))
		return STORE_ECONFLICT;
	MDB_val v;
	int rc = db_get(d, txn, DB_TENANT_SLUG, slug, strlen(slug), &v);
	if (rc == 0)
		return STORE_EEXISTS;
	if (rc != STORE_ENOTFOUND)
		return rc;
	memset(out, 0, sizeof *out);
	out->id = id_next(ids);
	strcpy(out->name, name);
	strcpy(out->slug, slug);
	if (origins)
		strcpy(out->origins, origins);
	out->created_ms = clock_now_ms();
	uint8_t raw[18];
	if (crypto_random(raw, sizeof raw))
		return STORE_EIO;
	strcpy(out->widget_key, "wk_");
	crypto_b64url_encode(raw, sizeof raw, out->widget_key + 3);
	uint8_t k[8], tv[8];
	buf b = { 0 };
	db_be64(tv, out->id);
	rc = STORE_EIO;
	if (rec_tenant_encode(out, &b) || put(d, txn, DB_TENANTS, k, rec_key1(k, out->id), &b) ||
	    db_put(d, txn, DB_TENANT_SLUG, slug, strlen(slug), tv, 8) ||
	    db_put(d, txn, DB_WIDGET_KEYS, out->widget_key, strlen(out->widget_key), tv, 8))
		goto out;
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

static size_t email_key(uint8_t *k, const char *email, uint64_t tid)
{
	size_t n = strlen(email);
	memcpy(k, email, n);
	k[n] = 0;
	db_be64(k + n + 1, tid);
	return n + 9;
}

int accounts_create_user(db *d, MDB_txn *txn, id_gen *ids, uint64_t tid, const char *email,
			 const char *pw_hash, const char *role, const char *name, rec_user *out)
{
	if (!email[0] || strlen(email) > REC_EMAIL_MAX || !strchr(email, '@') || !accounts_valid_role(role) ||
	    strlen(pw_hash) > REC_HASH_MAX || strlen(name) > REC_NAME_MAX)
		return STORE_ECONFLICT;
	memset(out, 0, sizeof *out);
	for (size_t i = 0; email[i]; i++)
		out->email[i] = (char)tolower((unsigned char)email[i]);
	uint8_t ek[REC_EMAIL_MAX + 10];
	size_t ekl = email_key(ek, out->email, tid);
	MDB_val v;
	uint8_t tk[8];
	int rc = db_get(d, txn, DB_TENANTS, tk, rec_key1(tk, tid), &v);
	if (rc)
		return rc == STORE_ENOTFOUND ? STORE_ECONFLICT : rc;
	rc = db_get(d, txn, DB_USER_EMAIL, ek, ekl, &v);
	if (rc == 0)
		return STORE_EEXISTS;
	if (rc != STORE_ENOTFOUND)
		return rc;
	out->tid = tid;
	out->id = id_next(ids);
	strcpy(out->name, name[0] ? name : out->email);
	strcpy(out->role, role);
	strcpy(out->pw_hash, pw_hash);
	out->active = true;
	out->created_ms = out->pw_changed_ms = clock_now_ms();
	uint8_t k[16], uv[8];
	db_be64(uv, out->id);
	buf b = { 0 };
	rc = STORE_EIO;
	if (rec_user_encode(out, &b) || put(d, txn, DB_USERS, k, rec_key2(k, tid, out->id), &b) ||
	    db_put(d, txn, DB_USER_EMAIL, ek, ekl, uv, 8))
		goto out;
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

int accounts_find_tenant(db *d, MDB_txn *txn, const char *slug, rec_tenant *out)
{
	MDB_val v;
	uint8_t k[8];
	int rc = db_get(d, txn, DB_TENANT_SLUG, slug, strlen(slug), &v);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	rc = db_get(d, txn, DB_TENANTS, k, rec_key1(k, db_get_be64(v.mv_data)), &v);
	if (rc)
		return rc;
	return rec_tenant_decode(v.mv_data, v.mv_size, out);
}

int accounts_find_user(db *d, MDB_txn *txn, uint64_t tid, const char *email, rec_user *out)
{
	char low[REC_EMAIL_MAX + 1];
	size_t n = strlen(email);
	if (n > REC_EMAIL_MAX)
		return STORE_ENOTFOUND;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)email[i]);
	uint8_t ek[REC_EMAIL_MAX + 10], k[16];
	MDB_val v;
	int rc = db_get(d, txn, DB_USER_EMAIL, ek, email_key(ek, low, tid), &v);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	rc = db_get(d, txn, DB_USERS, k, rec_key2(k, tid, db_get_be64(v.mv_data)), &v);
	if (rc)
		return rc;
	return rec_user_decode(v.mv_data, v.mv_size, out);
}

int accounts_set_password(db *d, MDB_txn *txn, rec_user *u, const char *pw_hash)
{
	if (strlen(pw_hash) > REC_HASH_MAX)
		return STORE_ECONFLICT;
	strcpy(u->pw_hash, pw_hash);
	u->pw_changed_ms = clock_now_ms();
	uint8_t k[16];
	buf b = { 0 };
	int rc = rec_user_encode(u, &b) ? STORE_EIO : put(d, txn, DB_USERS, k, rec_key2(k, u->tid, u->id), &b);
	buf_free(&b);
	return rc;
}

bool accounts_any_tenant(db *d, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;
	if (mdb_cursor_open(txn, db_dbi(d, DB_TENANTS), &cur))
		return false;
	bool any = mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0;
	mdb_cursor_close(cur);
	return any;
}
