/* dept_store — see dept_store.h; keys in docs/storage.md. */
#include "storage/dept_store.h"
#include "storage/account_store.h"
#include "storage/db.h"

#include <stdlib.h>
#include <string.h>

int deptstore_get(store_txn *t, uint64_t tid, uint64_t did, rec_dept *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_DEPTS, k, rec_key2(k, tid, did), &v);
	if (rc)
		return rc;
	if ((rc = rec_dept_decode(v.mv_data, v.mv_size, out)))
		return rc;
	out->tid = tid;
	out->id = did;
	return 0;
}

/* All of a tenant's departments, in key (id) order. */
typedef struct {
	rec_dept *d;
	size_t n, cap;
	int err;
} dept_list;

static int list_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	dept_list *l = arg;
	if (k->mv_size != 16)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		rec_dept *d = realloc(l->d, cap * sizeof *d);
		if (!d) {
			l->err = STORE_ENOMEM;
			return 1;
		}
		l->d = d;
		l->cap = cap;
	}
	rec_dept *r = &l->d[l->n];
	if (rec_dept_decode(v->mv_data, v->mv_size, r)) {
		l->err = STORE_ECORRUPT;
		return 1;
	}
	r->tid = db_get_be64(k->mv_data);
	r->id = db_get_be64((const uint8_t *)k->mv_data + 8);
	l->n++;
	return 0;
}

static int list_load(store_txn *t, uint64_t tid, dept_list *l)
{
	uint8_t p[8];
	memset(l, 0, sizeof *l);
	int rc = db_each_under(t->db, t->txn, DB_DEPTS, p, rec_key1(p, tid), NULL, 0, list_each, l);
	if (rc > 0)
		rc = l->err;
	if (rc) {
		free(l->d);
		l->d = NULL;
		l->n = 0;
	}
	return rc;
}

int deptstore_default(store_txn *t, uint64_t tid, rec_dept *out)
{
	dept_list l;
	int rc = list_load(t, tid, &l);
	if (rc)
		return rc;
	rc = STORE_ENOTFOUND;
	for (size_t i = 0; i < l.n; i++)
		if (l.d[i].is_default) {
			*out = l.d[i];
			rc = 0;
			break;
		}
	free(l.d);
	return rc;
}

static int by_order(const void *a, const void *b)
{
	const rec_dept *x = a, *y = b;
	if (x->sort_order != y->sort_order)
		return x->sort_order < y->sort_order ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int deptstore_each(store_txn *t, uint64_t tid, deptstore_fn fn, void *ctx)
{
	dept_list l;
	int rc = list_load(t, tid, &l);
	if (rc)
		return rc;
	if (l.n > 1)
		qsort(l.d, l.n, sizeof *l.d, by_order);
	for (size_t i = 0; i < l.n; i++)
		if (!fn(ctx, &l.d[i]))
			break;
	free(l.d);
	return 0;
}

static bool field_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	return n > 0 && n < cap;
}

int deptstore_put(store_txn *t, const rec_dept *d)
{
	if (!d->tid || !d->id || !field_ok(d->name, sizeof d->name) || !field_ok(d->slug, sizeof d->slug) ||
	    strnlen(d->hours, sizeof d->hours) == sizeof d->hours ||
	    strnlen(d->timezone, sizeof d->timezone) == sizeof d->timezone)
		return STORE_ECONFLICT;
	dept_list l;
	int rc = list_load(t, d->tid, &l);
	if (rc)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (l.d[i].id != d->id && strcmp(l.d[i].slug, d->slug) == 0) {
			rc = STORE_EEXISTS;
			break;
		}
	free(l.d);
	if (rc)
		return rc;
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_DEPTS, k, rec_key2(k, d->tid, d->id), rec_dept_encode(d, &b), &b);
}

/* The ids found under a prefix whose last 8 key bytes are the id. */
typedef struct {
	uint64_t *ids;
	size_t n, cap;
	size_t klen;
	bool nomem;
} id_list;

static int ids_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	(void)v;
	id_list *l = arg;
	if (k->mv_size != l->klen)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		uint64_t *ids = realloc(l->ids, cap * sizeof *ids);
		if (!ids) {
			l->nomem = true;
			return 1;
		}
		l->ids = ids;
		l->cap = cap;
	}
	l->ids[l->n++] = db_get_be64((const uint8_t *)k->mv_data + l->klen - 8);
	return 0;
}

/* The ids under tid|a in table tb (a member table). */
static int ids_load(store_txn *t, enum db_table tb, uint64_t tid, uint64_t a, id_list *l)
{
	uint8_t p[16];
	memset(l, 0, sizeof *l);
	l->klen = 24;
	int rc = db_each_under(t->db, t->txn, tb, p, rec_key2(p, tid, a), NULL, 0, ids_each, l);
	if (rc > 0)
		rc = l->nomem ? STORE_ENOMEM : 0;
	if (rc) {
		free(l->ids);
		l->ids = NULL;
		l->n = 0;
	}
	return rc;
}

/* Removes the pair (did, uid) from both member tables. */
static int pair_del(store_txn *t, uint64_t tid, uint64_t did, uint64_t uid)
{
	uint8_t k[24];
	int rc = db_del(t->db, t->txn, DB_DEPT_MEMBERS, k, rec_key3(k, tid, did, uid));
	return rc ? rc : db_del(t->db, t->txn, DB_AGENT_DEPTS, k, rec_key3(k, tid, uid, did));
}

static int pair_put(store_txn *t, uint64_t tid, uint64_t did, uint64_t uid)
{
	uint8_t k[24];
	int rc = db_put(t->db, t->txn, DB_DEPT_MEMBERS, k, rec_key3(k, tid, did, uid), "", 0);
	return rc ? rc : db_put(t->db, t->txn, DB_AGENT_DEPTS, k, rec_key3(k, tid, uid, did), "", 0);
}

int deptstore_del(store_txn *t, uint64_t tid, uint64_t did)
{
	uint8_t k[16];
	int rc = db_absent(t->db, t->txn, DB_DEPTS, k, rec_key2(k, tid, did));
	if (rc == 0)
		return STORE_ENOTFOUND;
	if (rc != STORE_EEXISTS)
		return rc;
	id_list l;
	if ((rc = ids_load(t, DB_DEPT_MEMBERS, tid, did, &l)))
		return rc;
	for (size_t i = 0; i < l.n && !rc; i++)
		rc = pair_del(t, tid, did, l.ids[i]);
	free(l.ids);
	return rc ? rc : db_del(t->db, t->txn, DB_DEPTS, k, 16);
}

int deptstore_is_member(store_txn *t, uint64_t tid, uint64_t did, uint64_t uid)
{
	uint8_t k[24];
	int rc = db_absent(t->db, t->txn, DB_DEPT_MEMBERS, k, rec_key3(k, tid, did, uid));
	return rc == STORE_EEXISTS ? 0 : rc == 0 ? STORE_ENOTFOUND : rc;
}

static int each_id(store_txn *t, enum db_table tb, uint64_t tid, uint64_t a, deptstore_id_fn fn, void *ctx)
{
	id_list l;
	int rc = ids_load(t, tb, tid, a, &l);
	if (rc)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (!fn(ctx, l.ids[i]))
			break;
	free(l.ids);
	return 0;
}

int deptstore_each_member(store_txn *t, uint64_t tid, uint64_t did, deptstore_id_fn fn, void *ctx)
{
	return each_id(t, DB_DEPT_MEMBERS, tid, did, fn, ctx);
}

int deptstore_each_of_agent(store_txn *t, uint64_t tid, uint64_t uid, deptstore_id_fn fn, void *ctx)
{
	return each_id(t, DB_AGENT_DEPTS, tid, uid, fn, ctx);
}

static bool listed(const uint64_t *uids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (uids[i] == id)
			return true;
	return false;
}

int deptstore_set_members(store_txn *t, uint64_t tid, uint64_t did, const uint64_t *uids, size_t n)
{
	if (n > DEPTSTORE_MEMBERS_MAX)
		return STORE_ELIMIT;
	uint8_t k[16];
	int rc = db_absent(t->db, t->txn, DB_DEPTS, k, rec_key2(k, tid, did));
	if (rc == 0)
		return STORE_ENOTFOUND;
	if (rc != STORE_EEXISTS)
		return rc;
	id_list l;
	if ((rc = ids_load(t, DB_DEPT_MEMBERS, tid, did, &l)))
		return rc;
	rc = 0;
	for (size_t i = 0; i < l.n && !rc; i++)
		if (!listed(uids, n, l.ids[i]))
			rc = pair_del(t, tid, did, l.ids[i]);
	for (size_t i = 0; i < n && !rc; i++)
		if (uids[i] && !listed(l.ids, l.n, uids[i]))
			rc = pair_put(t, tid, did, uids[i]);
	free(l.ids);
	return rc;
}

int deptstore_drop_agent(store_txn *t, uint64_t tid, uint64_t uid)
{
	id_list l;
	int rc = ids_load(t, DB_AGENT_DEPTS, tid, uid, &l);
	if (rc)
		return rc;
	for (size_t i = 0; i < l.n && !rc; i++)
		rc = pair_del(t, tid, l.ids[i], uid);
	free(l.ids);
	return rc;
}

static const struct {
	const char *slug, *name, *desc;
} seeds[] = {
	{ "general", "General", "Questions of any kind" },
	{ "sales", "Sales", "Plans, prices and buying" },
	{ "technical", "Technical", "Technical support" },
	{ "billing", "Billing", "Invoices and payments" },
};

int deptstore_seed(store_txn *t, uint64_t tid, int64_t now_ms)
{
	uint8_t p[8];
	MDB_val k, v;
	int rc = db_last_under(t->db, t->txn, DB_DEPTS, p, rec_key1(p, tid), &k, &v);
	if (rc == 0)
		return 0;
	if (rc != STORE_ENOTFOUND)
		return rc;
	rec_tenant ten;
	const char *zone = "UTC";
	if (account_tenant_get(t, tid, &ten) == 0 && ten.timezone[0])
		zone = ten.timezone;
	for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
		rec_dept d;
		memset(&d, 0, sizeof d);
		d.tid = tid;
		d.id = (uint64_t)now_ms << 16 | (i + 1);
		strcpy(d.name, seeds[i].name);
		strcpy(d.slug, seeds[i].slug);
		strcpy(d.description, seeds[i].desc);
		d.active = true;
		d.is_default = i == 0;
		d.sort_order = i;
		rec_strcpy(d.timezone, sizeof d.timezone, zone, strlen(zone));
		d.routing = RP_ROUND_ROBIN;
		d.sla_medium_s = 60;
		d.sla_high_s = 180;
		d.created_ms = d.updated_ms = now_ms;
		if ((rc = deptstore_put(t, &d)))
			return rc;
	}
	return 1;
}

int deptstore_seed_all(store_txn *t, int64_t now_ms)
{
	id_list l = { .klen = 8 };   /* tenants: the key is the tid */
	int rc = db_each_under(t->db, t->txn, DB_TENANTS, "", 0, NULL, 0, ids_each, &l);
	if (rc > 0)
		rc = STORE_ENOMEM;
	int seeded = 0;
	for (size_t i = 0; i < l.n && rc >= 0; i++) {
		rc = deptstore_seed(t, l.ids[i], now_ms);
		seeded += rc > 0;
	}
	free(l.ids);
	return rc < 0 ? rc : seeded;
}

uint64_t deptstore_resolve(store_txn *t, uint64_t tid, uint64_t did)
{
	if (did)
		return did;
	rec_dept d;
	return deptstore_default(t, tid, &d) == 0 ? d.id : 0;
}

int deptstore_upgrade(store_txn *t, int64_t now_ms)
{
	int rc = db_absent(t->db, t->txn, DB_META, "depts", 5);
	if (rc == STORE_EEXISTS)
		return 0;
	if (rc)
		return rc;
	int n = deptstore_seed_all(t, now_ms);
	if (n < 0)
		return n;
	uint8_t one = 1;
	return (rc = db_put(t->db, t->txn, DB_META, "depts", 5, &one, 1)) ? rc : n;
}
