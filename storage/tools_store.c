/* tools_store — see tools_store.h; keys in docs/storage.md. */
#include "storage/tools_store.h"
#include "storage/db.h"

#include <stdlib.h>
#include <string.h>

/* Counts the keys under a tenant up to max (stops there); 0 or STORE_EIO. */
static int count_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	(void)k;
	(void)v;
	uint32_t *n = arg;
	return ++n[0] >= n[1] ? 1 : 0;
}

static int tenant_full(store_txn *t, enum db_table tab, uint64_t tid, uint32_t max)
{
	if (!max)
		return 0;
	uint8_t p[8];
	uint32_t n[2] = { 0, max };
	int rc = db_each_under(t->db, t->txn, tab, p, rec_key1(p, tid), NULL, 0, count_one, n);
	if (rc < 0)
		return rc;
	return n[0] >= max ? STORE_ELIMIT : 0;
}

/* Keys to delete after a walk (a cursor walk does not delete under itself). */
typedef struct {
	uint8_t (*k)[32];
	size_t n, cap;
	size_t klen;
	bool failed;
} keylist;

static int keylist_add(keylist *l, const void *k, size_t klen)
{
	if (klen > 32)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->k, cap * sizeof *l->k);
		if (!p) {
			l->failed = true;
			return 1;
		}
		l->k = p;
		l->cap = cap;
	}
	memcpy(l->k[l->n++], k, klen);
	l->klen = klen;
	return 0;
}

static int keylist_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	(void)v;
	return keylist_add(arg, k->mv_data, k->mv_size);
}

static int del_under(store_txn *t, enum db_table tab, const uint8_t *p, size_t plen, size_t *count)
{
	keylist l = { 0 };
	int rc = db_each_under(t->db, t->txn, tab, p, plen, NULL, 0, keylist_each, &l);
	if (rc > 0 || l.failed)
		rc = STORE_ENOMEM;
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		rc = db_del(t->db, t->txn, tab, l.k[i], l.klen);
	if (count)
		*count = rc ? 0 : l.n;
	free(l.k);
	return rc;
}

/* ------------------------------------------------------------ canned */

bool canned_code_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > REC_SHORTCODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static size_t code_key(uint8_t k[16 + REC_SHORTCODE_MAX], uint64_t tid, uint64_t owner, const char *code)
{
	size_t n = strlen(code);
	rec_key2(k, tid, owner);
	memcpy(k + 16, code, n);
	return 16 + n;
}

static bool canned_valid(const rec_canned *c)
{
	return c->tid && c->id && canned_code_ok(c->shortcode) && c->title[0] && c->body[0];
}

static int put_canned(store_txn *t, const rec_canned *c)
{
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_CANNED, k, rec_key2(k, c->tid, c->id), rec_canned_encode(c, &b), &b);
}

static int put_code(store_txn *t, const rec_canned *c)
{
	uint8_t k[16 + REC_SHORTCODE_MAX], v[8];
	db_be64(v, c->id);
	return db_put(t->db, t->txn, DB_CANNED_CODE, k, code_key(k, c->tid, c->owner_id, c->shortcode), v, 8);
}

int canned_create(store_txn *t, const rec_canned *c, uint32_t max)
{
	if (!canned_valid(c))
		return STORE_ECONFLICT;
	uint8_t k[16], ck[16 + REC_SHORTCODE_MAX];
	int rc;
	if ((rc = db_absent(t->db, t->txn, DB_CANNED, k, rec_key2(k, c->tid, c->id))) ||
	    (rc = db_absent(t->db, t->txn, DB_CANNED_CODE, ck, code_key(ck, c->tid, c->owner_id, c->shortcode))) ||
	    (rc = tenant_full(t, DB_CANNED, c->tid, max)) || (rc = put_canned(t, c)))
		return rc;
	return put_code(t, c);
}

int canned_get(store_txn *t, uint64_t tid, uint64_t id, rec_canned *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_CANNED, k, rec_key2(k, tid, id), &v);
	return rc ? rc : rec_canned_decode(v.mv_data, v.mv_size, out);
}

int canned_update(store_txn *t, const rec_canned *c)
{
	if (!canned_valid(c))
		return STORE_ECONFLICT;
	rec_canned *old = malloc(sizeof *old);
	if (!old)
		return STORE_ENOMEM;
	int rc = canned_get(t, c->tid, c->id, old);
	if (rc == 0 && old->owner_id != c->owner_id)
		rc = STORE_ECONFLICT;
	if (rc == 0 && strcmp(old->shortcode, c->shortcode) != 0) {
		uint8_t ok[16 + REC_SHORTCODE_MAX], nk[16 + REC_SHORTCODE_MAX];
		if (!(rc = db_absent(t->db, t->txn, DB_CANNED_CODE, nk, code_key(nk, c->tid, c->owner_id, c->shortcode))) &&
		    !(rc = db_del(t->db, t->txn, DB_CANNED_CODE, ok, code_key(ok, old->tid, old->owner_id, old->shortcode))))
			rc = put_code(t, c);
	}
	free(old);
	return rc ? rc : put_canned(t, c);
}

int canned_delete(store_txn *t, uint64_t tid, uint64_t id)
{
	rec_canned *old = malloc(sizeof *old);
	if (!old)
		return STORE_ENOMEM;
	int rc = canned_get(t, tid, id, old);
	if (rc == STORE_ECORRUPT)
		rc = 0;   /* an undecodable record goes; its shortcode entry, if any, stays unreachable */
	else if (rc == 0) {
		uint8_t ck[16 + REC_SHORTCODE_MAX];
		rc = db_del(t->db, t->txn, DB_CANNED_CODE, ck, code_key(ck, tid, old->owner_id, old->shortcode));
	}
	free(old);
	uint8_t k[16];
	return rc ? rc : db_del(t->db, t->txn, DB_CANNED, k, rec_key2(k, tid, id));
}

int canned_by_code(store_txn *t, uint64_t tid, uint64_t owner, const char *code, uint64_t *id)
{
	if (!canned_code_ok(code))
		return STORE_ENOTFOUND;
	uint8_t ck[16 + REC_SHORTCODE_MAX];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_CANNED_CODE, ck, code_key(ck, tid, owner, code), &v);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return STORE_ECORRUPT;
	*id = db_get_be64(v.mv_data);
	return 0;
}

typedef struct {
	canned_fn fn;
	void *ctx;
	rec_canned c;
} canned_scan;

static int canned_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	canned_scan *s = arg;
	if (k->mv_size != 16 || rec_canned_decode(v->mv_data, v->mv_size, &s->c))
		return 0;
	return s->fn(s->ctx, &s->c) ? 0 : 1;
}

int canned_each(store_txn *t, uint64_t tid, canned_fn fn, void *ctx)
{
	canned_scan *s = malloc(sizeof *s);
	if (!s)
		return STORE_ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	uint8_t p[8];
	int rc = db_each_under(t->db, t->txn, DB_CANNED, p, rec_key1(p, tid), NULL, 0, canned_one, s);
	free(s);
	return rc > 0 ? 0 : rc;
}

/* ------------------------------------------------------------ tags */

bool tag_color_ok(const char *s)
{
	if (strlen(s) != 7 || s[0] != '#')
		return false;
	for (int i = 1; i < 7; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static size_t name_key(uint8_t k[8 + REC_NAME_MAX], uint64_t tid, const char *name)
{
	size_t n = strnlen(name, REC_NAME_MAX);
	rec_key1(k, tid);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		k[8 + i] = (uint8_t)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return 8 + n;
}

static bool tag_valid(const rec_tag *g)
{
	return g->tid && g->id && g->name[0] && tag_color_ok(g->color);
}

static int put_tag(store_txn *t, const rec_tag *g)
{
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_TAGS, k, rec_key2(k, g->tid, g->id), rec_tag_encode(g, &b), &b);
}

static int put_tag_name(store_txn *t, const rec_tag *g)
{
	uint8_t k[8 + REC_NAME_MAX], v[8];
	db_be64(v, g->id);
	return db_put(t->db, t->txn, DB_TAG_NAME, k, name_key(k, g->tid, g->name), v, 8);
}

int tag_create(store_txn *t, const rec_tag *g, uint32_t max)
{
	if (!tag_valid(g))
		return STORE_ECONFLICT;
	uint8_t k[16], nk[8 + REC_NAME_MAX];
	int rc;
	if ((rc = db_absent(t->db, t->txn, DB_TAGS, k, rec_key2(k, g->tid, g->id))) ||
	    (rc = db_absent(t->db, t->txn, DB_TAG_NAME, nk, name_key(nk, g->tid, g->name))) ||
	    (rc = tenant_full(t, DB_TAGS, g->tid, max)) || (rc = put_tag(t, g)))
		return rc;
	return put_tag_name(t, g);
}

int tag_get(store_txn *t, uint64_t tid, uint64_t id, rec_tag *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_TAGS, k, rec_key2(k, tid, id), &v);
	return rc ? rc : rec_tag_decode(v.mv_data, v.mv_size, out);
}

int tag_update(store_txn *t, const rec_tag *g)
{
	if (!tag_valid(g))
		return STORE_ECONFLICT;
	rec_tag old;
	int rc = tag_get(t, g->tid, g->id, &old);
	if (rc)
		return rc;
	uint8_t ok[8 + REC_NAME_MAX], nk[8 + REC_NAME_MAX];
	size_t okl = name_key(ok, old.tid, old.name), nkl = name_key(nk, g->tid, g->name);
	if (okl != nkl || memcmp(ok, nk, okl) != 0) {
		if ((rc = db_absent(t->db, t->txn, DB_TAG_NAME, nk, nkl)) ||
		    (rc = db_del(t->db, t->txn, DB_TAG_NAME, ok, okl)) || (rc = put_tag_name(t, g)))
			return rc;
	}
	return put_tag(t, g);
}

int tag_delete(store_txn *t, uint64_t tid, uint64_t id, size_t *convs)
{
	rec_tag old;
	uint8_t k[16];
	int rc = tag_get(t, tid, id, &old);
	if (rc == 0) {
		uint8_t nk[8 + REC_NAME_MAX];
		rc = db_del(t->db, t->txn, DB_TAG_NAME, nk, name_key(nk, tid, old.name));
	} else if (rc == STORE_ECORRUPT) {
		rc = 0;
	}
	if (rc || (rc = db_del(t->db, t->txn, DB_TAGS, k, rec_key2(k, tid, id))))
		return rc;
	return del_under(t, DB_TAG_CONVS, k, 16, convs);
}

typedef struct {
	tag_fn fn;
	void *ctx;
	rec_tag g;
} tag_scan;

static int tag_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	tag_scan *s = arg;
	if (k->mv_size != 16 || rec_tag_decode(v->mv_data, v->mv_size, &s->g))
		return 0;
	return s->fn(s->ctx, &s->g) ? 0 : 1;
}

int tag_each(store_txn *t, uint64_t tid, tag_fn fn, void *ctx)
{
	tag_scan s = { .fn = fn, .ctx = ctx };
	uint8_t p[8];
	int rc = db_each_under(t->db, t->txn, DB_TAGS, p, rec_key1(p, tid), NULL, 0, tag_one, &s);
	return rc > 0 ? 0 : rc;
}

int tag_conv_add(store_txn *t, uint64_t tid, uint64_t tag, uint64_t cid)
{
	uint8_t k[24];
	return db_put(t->db, t->txn, DB_TAG_CONVS, k, rec_key3(k, tid, tag, cid), "", 0);
}

int tag_conv_del(store_txn *t, uint64_t tid, uint64_t tag, uint64_t cid)
{
	uint8_t k[24];
	return db_del(t->db, t->txn, DB_TAG_CONVS, k, rec_key3(k, tid, tag, cid));
}

typedef struct {
	bool (*fn)(void *ctx, uint64_t cid);
	void *ctx;
} cid_scan;

static int cid_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	(void)v;
	cid_scan *s = arg;
	if (k->mv_size != 24)
		return 0;
	return s->fn(s->ctx, db_get_be64((const uint8_t *)k->mv_data + 16)) ? 0 : 1;
}

int tag_conv_each(store_txn *t, uint64_t tid, uint64_t tag, bool (*fn)(void *ctx, uint64_t cid), void *ctx)
{
	cid_scan s = { fn, ctx };
	uint8_t p[16];
	int rc = db_each_under(t->db, t->txn, DB_TAG_CONVS, p, rec_key2(p, tid, tag), NULL, 0, cid_one, &s);
	return rc > 0 ? 0 : rc;
}

/* ------------------------------------------------------------ attribute definitions */

bool attrdef_key_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > REC_ATTRKEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static bool attrdef_valid(const rec_attrdef *d)
{
	return d->tid && d->id && d->owner < AO__COUNT && d->type < AT__COUNT && attrdef_key_ok(d->key) &&
	       d->label[0];
}

static int put_attrdef(store_txn *t, const rec_attrdef *d)
{
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_ATTR_DEFS, k, rec_key2(k, d->tid, d->id), rec_attrdef_encode(d, &b),
			      &b);
}

typedef struct {
	attrdef_fn fn;
	void *ctx;
	int owner;
	rec_attrdef d;
} def_scan;

static int def_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	def_scan *s = arg;
	if (k->mv_size != 16 || rec_attrdef_decode(v->mv_data, v->mv_size, &s->d))
		return 0;
	if (s->owner >= 0 && s->d.owner != s->owner)
		return 0;
	return s->fn(s->ctx, &s->d) ? 0 : 1;
}

int attrdef_each(store_txn *t, uint64_t tid, int owner, attrdef_fn fn, void *ctx)
{
	def_scan s = { .fn = fn, .ctx = ctx, .owner = owner };
	uint8_t p[8];
	int rc = db_each_under(t->db, t->txn, DB_ATTR_DEFS, p, rec_key1(p, tid), NULL, 0, def_one, &s);
	return rc > 0 ? 0 : rc;
}

typedef struct {
	const char *key;
	rec_attrdef *out;
	bool found;
} def_find;

static bool find_one(void *ctx, const rec_attrdef *d)
{
	def_find *f = ctx;
	if (strcmp(d->key, f->key) != 0)
		return true;
	*f->out = *d;
	f->found = true;
	return false;
}

int attrdef_find(store_txn *t, uint64_t tid, int owner, const char *key, rec_attrdef *out)
{
	def_find f = { key, out, false };
	int rc = attrdef_each(t, tid, owner, find_one, &f);
	return rc ? rc : f.found ? 0 : STORE_ENOTFOUND;
}

int attrdef_create(store_txn *t, const rec_attrdef *d, uint32_t max)
{
	if (!attrdef_valid(d))
		return STORE_ECONFLICT;
	rec_attrdef other;
	uint8_t k[16];
	int rc = attrdef_find(t, d->tid, d->owner, d->key, &other);
	if (rc == 0)
		return STORE_EEXISTS;
	if (rc != STORE_ENOTFOUND || (rc = db_absent(t->db, t->txn, DB_ATTR_DEFS, k, rec_key2(k, d->tid, d->id))) ||
	    (rc = tenant_full(t, DB_ATTR_DEFS, d->tid, max)))
		return rc;
	return put_attrdef(t, d);
}

int attrdef_get(store_txn *t, uint64_t tid, uint64_t id, rec_attrdef *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_ATTR_DEFS, k, rec_key2(k, tid, id), &v);
	return rc ? rc : rec_attrdef_decode(v.mv_data, v.mv_size, out);
}

int attrdef_update(store_txn *t, const rec_attrdef *d)
{
	if (!attrdef_valid(d))
		return STORE_ECONFLICT;
	rec_attrdef old;
	int rc = attrdef_get(t, d->tid, d->id, &old);
	if (rc)
		return rc;
	if (old.owner != d->owner || strcmp(old.key, d->key) != 0)
		return STORE_ECONFLICT;
	return put_attrdef(t, d);
}

int attrdef_delete(store_txn *t, uint64_t tid, uint64_t id)
{
	uint8_t k[16];
	int rc = db_absent(t->db, t->txn, DB_ATTR_DEFS, k, rec_key2(k, tid, id));
	if (rc == 0)
		return STORE_ENOTFOUND;
	return rc == STORE_EEXISTS ? db_del(t->db, t->txn, DB_ATTR_DEFS, k, 16) : rc;
}

/* ------------------------------------------------------------ attribute values */

int attrs_get(store_txn *t, uint64_t tid, int owner, uint64_t id, rec_attrs *out)
{
	uint8_t k[24];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_ATTRS, k, rec_key3(k, tid, (uint64_t)owner, id), &v);
	return rc ? rc : rec_attrs_decode(v.mv_data, v.mv_size, out);
}

int attrs_put(store_txn *t, const rec_attrs *a)
{
	if (!a->tid || !a->id || a->owner >= AO__COUNT)
		return STORE_ECONFLICT;
	uint8_t k[24];
	size_t kl = rec_key3(k, a->tid, a->owner, a->id);
	if (a->json.n == 0 || (a->json.n == 2 && memcmp(a->json.p, "{}", 2) == 0))
		return db_del(t->db, t->txn, DB_ATTRS, k, kl);
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_ATTRS, k, kl, rec_attrs_encode(a, &b), &b);
}

typedef struct {
	attrs_fn fn;
	void *ctx;
	rec_attrs a;
} attrs_scan;

static int attrs_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	attrs_scan *s = arg;
	if (k->mv_size != 24 || rec_attrs_decode(v->mv_data, v->mv_size, &s->a))
		return 0;
	return s->fn(s->ctx, &s->a) ? 0 : 1;
}

int attrs_each(store_txn *t, uint64_t tid, int owner, attrs_fn fn, void *ctx)
{
	attrs_scan s = { .fn = fn, .ctx = ctx };
	uint8_t p[16];
	int rc = db_each_under(t->db, t->txn, DB_ATTRS, p, rec_key2(p, tid, (uint64_t)owner), NULL, 0, attrs_one, &s);
	return rc > 0 ? 0 : rc;
}

/* ------------------------------------------------------------ mentions */

int mention_add(store_txn *t, uint64_t tid, uint64_t uid, uint64_t cid, uint64_t seq, uint64_t by, int64_t at_ms)
{
	uint8_t k[32], v[16];
	rec_key3(k, tid, uid, cid);
	db_be64(k + 24, seq);
	db_be64(v, by);
	db_be64(v + 8, (uint64_t)at_ms);
	return db_put(t->db, t->txn, DB_MENTIONS, k, 32, v, 16);
}

int mention_clear(store_txn *t, uint64_t tid, uint64_t uid, uint64_t cid, size_t *n)
{
	uint8_t p[24];
	return del_under(t, DB_MENTIONS, p, rec_key3(p, tid, uid, cid), n);
}

typedef struct {
	mention_fn fn;
	void *ctx;
} mention_scan;

static int mention_one(void *arg, const MDB_val *k, const MDB_val *v)
{
	mention_scan *s = arg;
	if (k->mv_size != 32 || v->mv_size != 16)
		return 0;
	const uint8_t *kp = k->mv_data, *vp = v->mv_data;
	return s->fn(s->ctx, db_get_be64(kp + 16), db_get_be64(kp + 24), db_get_be64(vp),
		     (int64_t)db_get_be64(vp + 8)) ? 0 : 1;
}

int mention_each(store_txn *t, uint64_t tid, uint64_t uid, mention_fn fn, void *ctx)
{
	mention_scan s = { fn, ctx };
	uint8_t p[16];
	int rc = db_each_under(t->db, t->txn, DB_MENTIONS, p, rec_key2(p, tid, uid), NULL, 0, mention_one, &s);
	return rc > 0 ? 0 : rc;
}
