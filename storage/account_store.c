/* account_store — see account_store.h; keys in docs/storage.md. */
#include "storage/account_store.h"
#include "storage/db.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/tz.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#define EMAIL_KEY_MAX (REC_EMAIL_MAX + 9)

/* ---- keys and record i/o ---- */

/* email \0 tid */
static size_t email_key(uint8_t k[EMAIL_KEY_MAX], const char *email, uint64_t tid)
{
	size_t n = strlen(email);
	memcpy(k, email, n);
	k[n] = 0;
	db_be64(k + n + 1, tid);
	return n + 9;
}

/* Lower-cases src into dst (REC_EMAIL_MAX + 1 bytes); false if too long. */
static bool lower_email(char dst[REC_EMAIL_MAX + 1], const char *src)
{
	size_t n = strlen(src);
	if (n > REC_EMAIL_MAX)
		return false;
	for (size_t i = 0; i <= n; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	return true;
}

static int put_tenant(store_txn *t, const rec_tenant *r)
{
	uint8_t k[8];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_TENANTS, k, rec_key1(k, r->id),
			      rec_tenant_encode(r, &b), &b);
}

static int put_user(store_txn *t, const rec_user *r)
{
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_USERS, k, rec_key2(k, r->tid, r->id),
			      rec_user_encode(r, &b), &b);
}

/* A global lookup table's value: the 8-byte id it leads to. */
static int get_id(store_txn *t, enum db_table tab, const void *k, size_t kl, uint64_t *id)
{
	MDB_val v;
	int rc = db_get(t->db, t->txn, tab, k, kl, &v);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	*id = db_get_be64(v.mv_data);
	return 0;
}

/* ---- meta ---- */

int account_signing_key(store_txn *t, uint8_t key[32])
{
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_META, "jwt_key", 7, &v);
	if (rc == 0) {
		if (v.mv_size != 32)
			return STORE_ECORRUPT;
		memcpy(key, v.mv_data, 32);
		return 0;
	}
	if (rc != STORE_ENOTFOUND || !t->write)
		return rc;
	uint8_t schema = DB_SCHEMA_VERSION;
	if (crypto_random(key, 32))
		return STORE_EIO;
	if ((rc = db_put(t->db, t->txn, DB_META, "jwt_key", 7, key, 32)))
		return rc;
	return db_put(t->db, t->txn, DB_META, "schema", 6, &schema, 1);
}

int account_schema_version(store_txn *t)
{
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_META, "schema", 6, &v);
	if (rc)
		return rc;
	if (v.mv_size != 1 || *(const uint8_t *)v.mv_data == 0)
		return STORE_ECORRUPT;
	return *(const uint8_t *)v.mv_data;
}

/* ---- tenants ---- */

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

static bool valid_color(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (int i = 1; i < 7; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The string field holds its NUL (a caller's struct may not). */
#define FITS(field) (strnlen(field, sizeof(field)) < sizeof(field))
/* ... and at least one byte before it. */
#define FILLED(field) (FITS(field) && (field)[0])
/* Sets a field to a string that fits, clearing the rest: the struct is
 * byte for byte what reading the record back gives. */
#define SET(field, s) (memset(field, 0, sizeof(field)), strcpy(field, s))

int account_tenant_create(store_txn *t, id_gen *ids, const char *name, const char *slug,
			  const char *origins, rec_tenant *out)
{
	if (!valid_slug(slug) || !name[0] || strlen(name) > REC_NAME_MAX ||
	    (origins && strlen(origins) > REC_ORIGINS_MAX))
		return STORE_ECONFLICT;
	int rc = db_absent(t->db, t->txn, DB_TENANT_SLUG, slug, strlen(slug));
	if (rc)
		return rc;
	rec_tenant_init(out);
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
	uint8_t tv[8];
	db_be64(tv, out->id);
	if ((rc = put_tenant(t, out)) ||
	    (rc = db_put(t->db, t->txn, DB_TENANT_SLUG, slug, strlen(slug), tv, 8)))
		return rc;
	return db_put(t->db, t->txn, DB_WIDGET_KEYS, out->widget_key, strlen(out->widget_key), tv, 8);
}

int account_tenant_get(store_txn *t, uint64_t tid, rec_tenant *out)
{
	uint8_t k[8];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_TENANTS, k, rec_key1(k, tid), &v);
	return rc ? rc : rec_tenant_decode(v.mv_data, v.mv_size, out);
}

/* The tenant a global lookup table leads to from handle (at most max bytes:
 * LMDB refuses empty and very long keys, and no stored handle is either). */
static int tenant_via(store_txn *t, enum db_table tab, const char *handle, size_t max, rec_tenant *out)
{
	size_t n = strnlen(handle, max + 1);
	if (n == 0 || n > max)
		return STORE_ENOTFOUND;
	uint64_t tid;
	int rc = get_id(t, tab, handle, n, &tid);
	return rc ? rc : account_tenant_get(t, tid, out);
}

int account_tenant_by_slug(store_txn *t, const char *slug, rec_tenant *out)
{
	return tenant_via(t, DB_TENANT_SLUG, slug, REC_SLUG_MAX, out);
}

int account_tenant_by_key(store_txn *t, const char *widget_key, rec_tenant *out)
{
	return tenant_via(t, DB_WIDGET_KEYS, widget_key, REC_KEY_MAX, out);
}

int account_tenant_update(store_txn *t, rec_tenant *r)
{
	if (!FILLED(r->name) || !FITS(r->origins) || !FITS(r->greeting) ||
	    !FITS(r->widget_color) || !valid_color(r->widget_color) ||
	    !FITS(r->widget_position) ||
	    (strcmp(r->widget_position, "right") != 0 && strcmp(r->widget_position, "left") != 0) ||
	    !FILLED(r->timezone) || !tz_name_valid(r->timezone) || r->prechat_name >= PRE__COUNT ||
	    r->prechat_email >= PRE__COUNT || r->prechat_phone >= PRE__COUNT || r->prechat_question >= PRE__COUNT)
		return STORE_ECONFLICT;
	rec_tenant cur;
	int rc = account_tenant_get(t, r->id, &cur);
	if (rc)
		return rc;
	SET(cur.name, r->name);
	SET(cur.origins, r->origins);
	SET(cur.widget_color, r->widget_color);
	SET(cur.greeting, r->greeting);
	SET(cur.widget_position, r->widget_position);
	SET(cur.timezone, r->timezone);
	cur.auto_close_s = r->auto_close_s;
	/* the pre-chat form, transcripts and the rating window */
	cur.prechat_name = r->prechat_name;
	cur.prechat_email = r->prechat_email;
	cur.prechat_phone = r->prechat_phone;
	cur.prechat_question = r->prechat_question;
	cur.transcript_on_close = r->transcript_on_close;
	cur.rating_window_s = r->rating_window_s;
	if ((rc = put_tenant(t, &cur)))
		return rc;
	*r = cur;
	return 0;
}

int account_tenant_tracking(store_txn *t, uint64_t tid, const rec_tenant *from, rec_tenant *out)
{
	if (!memchr(from->identity_secret, 0, sizeof from->identity_secret))
		return STORE_ECONFLICT;
	int rc = account_tenant_get(t, tid, out);
	if (rc)
		return rc;
	out->tracking_off = from->tracking_off;
	out->keep_query = from->keep_query;
	out->pageview_keep_days = from->pageview_keep_days;
	memcpy(out->identity_secret, from->identity_secret, sizeof out->identity_secret);
	return put_tenant(t, out);
}

static int stop_at_first(void *arg, const MDB_val *k, const MDB_val *v)
{
	return 1;
}

int account_tenant_any(store_txn *t)
{
	return db_each_under(t->db, t->txn, DB_TENANTS, "", 0, NULL, 0, stop_at_first, NULL);
}

typedef struct {
	account_tenant_fn fn;
	void *ctx;
} tenant_walk;

static int tenant_step(void *arg, const MDB_val *k, const MDB_val *v)
{
	tenant_walk *w = arg;
	if (k->mv_size != 8)
		return 0;
	return w->fn(w->ctx, db_get_be64(k->mv_data)) ? 0 : 1;
}

int account_tenant_each(store_txn *t, account_tenant_fn fn, void *ctx)
{
	tenant_walk w = { fn, ctx };
	int rc = db_each_under(t->db, t->txn, DB_TENANTS, "", 0, NULL, 0, tenant_step, &w);
	return rc < 0 ? rc : 0;
}

/* ---- users ---- */

bool account_valid_role(const char *role)
{
	static const char *roles[] = { "owner", "admin", "supervisor", "agent" };
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

static bool valid_email(const char *email)
{
	return email[0] && strlen(email) <= REC_EMAIL_MAX && strchr(email, '@');
}

int account_user_create(store_txn *t, id_gen *ids, uint64_t tid, const char *email,
			const char *pw_hash, const char *role, const char *name, rec_user *out)
{
	if (!valid_email(email) || !account_valid_role(role) || strlen(pw_hash) > REC_HASH_MAX ||
	    strlen(name) > REC_NAME_MAX)
		return STORE_ECONFLICT;
	rec_user_init(out);
	lower_email(out->email, email);
	uint8_t ek[EMAIL_KEY_MAX], tk[8];
	size_t ekl = email_key(ek, out->email, tid);
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_TENANTS, tk, rec_key1(tk, tid), &v);
	if (rc)
		return rc == STORE_ENOTFOUND ? STORE_ECONFLICT : rc;
	if ((rc = db_absent(t->db, t->txn, DB_USER_EMAIL, ek, ekl)))
		return rc;
	out->tid = tid;
	out->id = id_next(ids);
	strcpy(out->name, name[0] ? name : out->email);
	strcpy(out->role, role);
	strcpy(out->pw_hash, pw_hash);
	out->active = true;
	out->created_ms = out->pw_changed_ms = clock_now_ms();
	uint8_t uv[8];
	db_be64(uv, out->id);
	if ((rc = put_user(t, out)))
		return rc;
	return db_put(t->db, t->txn, DB_USER_EMAIL, ek, ekl, uv, 8);
}

int account_user_get(store_txn *t, uint64_t tid, uint64_t uid, rec_user *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_USERS, k, rec_key2(k, tid, uid), &v);
	return rc ? rc : rec_user_decode(v.mv_data, v.mv_size, out);
}

int account_user_by_email(store_txn *t, uint64_t tid, const char *email, rec_user *out)
{
	char low[REC_EMAIL_MAX + 1];
	if (!lower_email(low, email))
		return STORE_ENOTFOUND;
	uint8_t ek[EMAIL_KEY_MAX];
	uint64_t uid;
	int rc = get_id(t, DB_USER_EMAIL, ek, email_key(ek, low, tid), &uid);
	return rc ? rc : account_user_get(t, tid, uid, out);
}

typedef struct {
	store_txn *t;
	size_t plen;          /* email + NUL */
	uint64_t tid;         /* 0 = any */
	rec_user *out;
	int n, max;
} email_scan;

static int email_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	email_scan *s = arg;
	if (s->n >= s->max)
		return 1;
	if (k->mv_size != s->plen + 8 || v->mv_size != 8)
		return 0;
	uint64_t tid = db_get_be64((const uint8_t *)k->mv_data + s->plen);
	if ((!s->tid || tid == s->tid) &&
	    account_user_get(s->t, tid, db_get_be64(v->mv_data), &s->out[s->n]) == 0)
		s->n++;
	return 0;
}

int account_users_by_email(store_txn *t, const char *email, uint64_t tid, rec_user *out, int max)
{
	char low[REC_EMAIL_MAX + 1];
	if (!lower_email(low, email))
		return 0;
	email_scan s = { .t = t, .plen = strlen(low) + 1, .tid = tid, .out = out, .max = max };
	int rc = db_each_under(t->db, t->txn, DB_USER_EMAIL, low, s.plen, NULL, 0, email_each, &s);
	return rc < 0 ? rc : s.n;
}

typedef struct {
	account_user_fn fn;
	void *ctx;
	rec_user u;
} user_scan;

static int user_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	user_scan *s = arg;
	if (k->mv_size != 16)
		return 0;
	bool ok = rec_user_decode(v->mv_data, v->mv_size, &s->u) == 0;
	return s->fn(s->ctx, db_get_be64((const uint8_t *)k->mv_data + 8), ok ? &s->u : NULL) ? 0 : 1;
}

int account_user_list(store_txn *t, uint64_t tid, uint64_t after, account_user_fn fn, void *ctx)
{
	if (after == UINT64_MAX)
		return 0;
	uint8_t p[8], start[16];
	user_scan s = { .fn = fn, .ctx = ctx };
	int rc = db_each_under(t->db, t->txn, DB_USERS, p, rec_key1(p, tid), start,
			       rec_key2(start, tid, after + 1), user_each, &s);
	return rc > 0 ? 0 : rc;   /* 1: fn stopped */
}

static bool active_owner(const rec_user *u)
{
	return u->active && strcmp(u->role, "owner") == 0;
}

static bool count_owner(void *ctx, uint64_t uid, const rec_user *u)
{
	if (u && active_owner(u))
		(*(int *)ctx)++;
	return true;
}

int account_owner_count(store_txn *t, uint64_t tid)
{
	int n = 0;
	int rc = account_user_list(t, tid, 0, count_owner, &n);
	return rc < 0 ? rc : n;
}

static bool valid_avatar(const char *url)
{
	return !url[0] || strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0;
}

int account_user_update(store_txn *t, rec_user *u)
{
	char email[REC_EMAIL_MAX + 1];
	if (!FILLED(u->email) || !valid_email(u->email) || !FILLED(u->name) ||
	    !FILLED(u->role) || !account_valid_role(u->role) || !FITS(u->pw_hash) ||
	    !FITS(u->title) || !FITS(u->avatar_url) || !valid_avatar(u->avatar_url))
		return STORE_ECONFLICT;
	lower_email(email, u->email);
	rec_user cur;
	int rc = account_user_get(t, u->tid, u->id, &cur);
	if (rc)
		return rc;
	if (active_owner(&cur) && !(u->active && strcmp(u->role, "owner") == 0)) {
		if ((rc = account_owner_count(t, u->tid)) < 0)
			return rc;
		if (rc <= 1)
			return STORE_ELIMIT;
	}
	uint8_t old_k[EMAIL_KEY_MAX], new_k[EMAIL_KEY_MAX];
	size_t old_kl = email_key(old_k, cur.email, cur.tid), new_kl = email_key(new_k, email, cur.tid);
	bool moved = strcmp(email, cur.email) != 0;
	if (moved && (rc = db_absent(t->db, t->txn, DB_USER_EMAIL, new_k, new_kl)))
		return rc;
	int64_t now = clock_now_ms();
	if (u->pw_changed_ms > cur.pw_changed_ms)
		cur.pw_changed_ms = u->pw_changed_ms;
	if (strcmp(u->pw_hash, cur.pw_hash) != 0 && cur.pw_changed_ms < now)
		cur.pw_changed_ms = now;
	if (cur.active && !u->active)
		cur.deactivated_ms = now;
	else if (u->active)
		cur.deactivated_ms = 0;
	SET(cur.email, email);
	SET(cur.name, u->name);
	SET(cur.role, u->role);
	SET(cur.pw_hash, u->pw_hash);
	SET(cur.title, u->title);
	SET(cur.avatar_url, u->avatar_url);
	cur.active = u->active;
	if ((rc = put_user(t, &cur)))
		return rc;
	if (moved) {
		uint8_t uv[8];
		db_be64(uv, cur.id);
		if ((rc = db_del(t->db, t->txn, DB_USER_EMAIL, old_k, old_kl)) ||
		    (rc = db_put(t->db, t->txn, DB_USER_EMAIL, new_k, new_kl, uv, 8)))
			return rc;
	}
	*u = cur;
	return 0;
}

int account_user_set_password(store_txn *t, rec_user *u, const char *pw_hash)
{
	if (strlen(pw_hash) > REC_HASH_MAX)
		return STORE_ECONFLICT;
	rec_user cur;
	int rc = account_user_get(t, u->tid, u->id, &cur);
	if (rc)
		return rc;
	SET(cur.pw_hash, pw_hash);
	cur.pw_changed_ms = clock_now_ms();
	if ((rc = put_user(t, &cur)))
		return rc;
	*u = cur;
	return 0;
}

int account_user_set_max_chats(store_txn *t, uint64_t tid, uint64_t uid, uint64_t max_chats, rec_user *out)
{
	if (max_chats > ACCOUNT_MAX_CHATS)
		return STORE_ECONFLICT;
	rec_user cur;
	int rc = account_user_get(t, tid, uid, &cur);
	if (rc)
		return rc;
	cur.max_chats = max_chats;
	if ((rc = put_user(t, &cur)))
		return rc;
	if (out)
		*out = cur;
	return 0;
}

/* ---- email settings ---- */

bool account_email_host_ok(const char *host)
{
	size_t n = strlen(host);
	if (n == 0 || n > REC_HOST_MAX)
		return false;
	if (strchr(host, ':')) {
		struct in6_addr a6;
		return inet_pton(AF_INET6, host, &a6) == 1;
	}
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)host[i];
		if (c == '.' || c == 0) {
			if (label == 0 || label > 63 || host[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(c) || (c == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

bool account_email_address_ok(const char *addr)
{
	size_t n = strlen(addr);
	const char *at = strchr(addr, '@');
	if (n > REC_EMAIL_MAX || !at || at == addr || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *c = (const unsigned char *)addr; c < (const unsigned char *)at; c++)
		if (*c <= ' ' || *c == 0x7f || strchr("<>()[],;:\\\"", *c))
			return false;
	return !strchr(at + 1, ':') && account_email_host_ok(at + 1);
}

int account_email_get(store_txn *t, uint64_t tid, rec_email *out)
{
	uint8_t k[8];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_EMAIL, k, rec_key1(k, tid), &v);
	if (rc)
		return rc;
	rc = rec_email_decode(v.mv_data, v.mv_size, out);
	if (rc == 0)
		out->tid = tid;
	return rc;
}

int account_email_put(store_txn *t, rec_email *r)
{
	if (!FITS(r->host) || (r->host[0] && !account_email_host_ok(r->host)) || r->port < 1 || r->port > 65535 ||
	    r->security >= SMTP__COUNT || !FITS(r->username) || !FITS(r->password) || !FITS(r->from) ||
	    !FITS(r->notify) || (r->from[0] && !account_email_address_ok(r->from)) ||
	    (r->notify[0] && !account_email_address_ok(r->notify)))
		return STORE_ECONFLICT;
	for (const unsigned char *c = (const unsigned char *)r->username; *c; c++)
		if (*c < ' ' || *c == 0x7f)
			return STORE_ECONFLICT;
	rec_tenant tenant;
	int rc = account_tenant_get(t, r->tid, &tenant);
	if (rc)
		return rc == STORE_ENOTFOUND ? STORE_ECONFLICT : rc;
	r->updated_ms = clock_now_ms();
	uint8_t k[8];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_EMAIL, k, rec_key1(k, r->tid), rec_email_encode(r, &b), &b);
}

/* ---- visitors ---- */

int account_visitor_put(store_txn *t, const rec_visitor *v)
{
	if (!v->tid || !v->id)
		return STORE_ECONFLICT;
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_VISITORS, k, rec_key2(k, v->tid, v->id),
			      rec_visitor_encode(v, &b), &b);
}

int account_visitor_get(store_txn *t, uint64_t tid, uint64_t vid, rec_visitor *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_VISITORS, k, rec_key2(k, tid, vid), &v);
	return rc ? rc : rec_visitor_decode(v.mv_data, v.mv_size, out);
}
