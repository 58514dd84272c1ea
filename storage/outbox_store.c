/* outbox_store — the outbox tables' keys, codecs and figures (outbox_store.h).
 *
 * Keys: webhooks tid · endpoint id, outbox tid · entry id, outbox_log
 * tid · row id, outbox_counts tid. Ids are time-ordered (core/id.h), so a
 * tenant's entries walk oldest first and its log newest first by key. The
 * count record is read and rewritten in the transaction of every entry
 * added or removed and every log row appended: the quota check and the log
 * pruning never scan.
 */
#include "storage/outbox_store.h"
#include "storage/db.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

/* ---------- walks ---------- */

/* Called with the key and value of each record under a prefix. */
typedef bool (*kv_fn)(void *ctx, const MDB_val *k, const MDB_val *v);

/* Keys under prefix (plen 0: the whole table) in ascending order; 0 or STORE_EIO. */
static int walk_up(store_txn *t, enum db_table tb, const uint8_t *prefix, size_t plen, kv_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, tb), &cur))
		return STORE_EIO;
	MDB_val key = { plen, (void *)prefix }, v;
	int rc = mdb_cursor_get(cur, &key, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && key.mv_size >= plen && memcmp(key.mv_data, prefix, plen) == 0 && fn(ctx, &key, &v))
		rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : STORE_EIO;
}

/* Keys tid · n with n < below (0: any) in descending order; 0 or STORE_EIO. */
static int walk_down(store_txn *t, enum db_table tb, uint64_t tid, uint64_t below, kv_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, tb), &cur))
		return STORE_EIO;
	/* the first key at or past tid · below (tid + 1 for "any"), then the
	 * one before it, or the table's last when none lies past */
	uint8_t k[16];
	size_t klen = below ? rec_key2(k, tid, below) : rec_key1(k, tid + 1);
	MDB_val key = { klen, k }, v;
	int rc = tid == UINT64_MAX && !below ? MDB_NOTFOUND : mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &key, &v, MDB_LAST);
	while (rc == 0 && key.mv_size == 16 && db_get_be64(key.mv_data) == tid && fn(ctx, &key, &v))
		rc = mdb_cursor_get(cur, &key, &v, MDB_PREV);
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : STORE_EIO;
}

/* ---------- figures ---------- */

int outbox_count(store_txn *t, uint64_t tid, rec_outbox_count *out)
{
	uint8_t k[8];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_OUTBOX_COUNTS, k, rec_key1(k, tid), &v);
	if (rc == STORE_ENOTFOUND) {
		memset(out, 0, sizeof *out);
		out->tid = tid;
		return 0;
	}
	if (rc == 0 && rec_outbox_count_decode(v.mv_data, v.mv_size, out))
		return STORE_ECORRUPT;
	out->tid = tid;
	return rc;
}

static int count_put(store_txn *t, const rec_outbox_count *c)
{
	uint8_t k[8];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_OUTBOX_COUNTS, k, rec_key1(k, c->tid), rec_outbox_count_encode(c, &b), &b);
}

int outbox_note_drop(store_txn *t, uint64_t tid, int64_t now, int64_t alert_every_ms, bool *alert)
{
	rec_outbox_count c;
	int rc = outbox_count(t, tid, &c);
	if (rc)
		return rc;
	c.dropped++;
	*alert = !c.last_alert_ms || now - c.last_alert_ms >= alert_every_ms || now < c.last_alert_ms;
	if (*alert)
		c.last_alert_ms = now;
	return count_put(t, &c);
}

/* ---------- webhook endpoints ---------- */

int outbox_webhook_put(store_txn *t, const rec_webhook *w)
{
	if (!w->tid || !w->id || !w->url[0])
		return STORE_ECONFLICT;
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_WEBHOOKS, k, rec_key2(k, w->tid, w->id), rec_webhook_encode(w, &b), &b);
}

int outbox_webhook_get(store_txn *t, uint64_t tid, uint64_t id, rec_webhook *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_WEBHOOKS, k, rec_key2(k, tid, id), &v);
	if (rc == 0 && rec_webhook_decode(v.mv_data, v.mv_size, out))
		rc = STORE_ECORRUPT;
	return rc;
}

typedef struct {
	outbox_webhook_fn fn;
	void *ctx;
} webhook_walk;

static bool webhook_step(void *arg, const MDB_val *k, const MDB_val *v)
{
	webhook_walk *w = arg;
	if (k->mv_size != 16)
		return true;
	rec_webhook r;
	int rc = rec_webhook_decode(v->mv_data, v->mv_size, &r);
	return w->fn(w->ctx, db_get_be64(k->mv_data), db_get_be64((const uint8_t *)k->mv_data + 8), rc ? NULL : &r);
}

int outbox_webhook_each(store_txn *t, uint64_t tid, outbox_webhook_fn fn, void *ctx)
{
	uint8_t p[8];
	webhook_walk w = { fn, ctx };
	return walk_up(t, DB_WEBHOOKS, p, tid ? rec_key1(p, tid) : 0, webhook_step, &w);
}

/* The ids of a tenant's webhook entries for one endpoint. */
typedef struct {
	uint64_t target;
	uint64_t *ids;
	size_t n, cap;
	bool oom;
} target_walk;

static bool target_step(void *arg, const MDB_val *k, const MDB_val *v)
{
	target_walk *w = arg;
	rec_outbox e;
	if (k->mv_size != 16 || rec_outbox_decode(v->mv_data, v->mv_size, &e) || e.kind != OBK_WEBHOOK ||
	    e.target != w->target)
		return true;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		uint64_t *n = realloc(w->ids, cap * sizeof *n);
		if (!n) {
			w->oom = true;
			return false;
		}
		w->ids = n;
		w->cap = cap;
	}
	w->ids[w->n++] = db_get_be64((const uint8_t *)k->mv_data + 8);
	return true;
}

int outbox_webhook_del(store_txn *t, uint64_t tid, uint64_t id, uint64_t *removed)
{
	uint8_t k[16], p[8];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_WEBHOOKS, k, rec_key2(k, tid, id), &v);
	if (rc)
		return rc;
	rec_outbox_count c;
	if ((rc = outbox_count(t, tid, &c)))
		return rc;
	target_walk w = { .target = id };
	rc = walk_up(t, DB_OUTBOX, p, rec_key1(p, tid), target_step, &w);
	if (rc == 0 && w.oom)
		rc = STORE_ENOMEM;
	/* checked: from here on everything writes */
	for (size_t i = 0; rc == 0 && i < w.n; i++)
		rc = db_del(t->db, t->txn, DB_OUTBOX, k, rec_key2(k, tid, w.ids[i]));
	if (rc == 0 && w.n) {
		c.pending = c.pending > w.n ? c.pending - w.n : 0;
		rc = count_put(t, &c);
	}
	if (rc == 0)
		rc = db_del(t->db, t->txn, DB_WEBHOOKS, k, rec_key2(k, tid, id));
	if (rc == 0 && removed)
		*removed = w.n;
	free(w.ids);
	return rc;
}

/* ---------- entries ---------- */

int outbox_add(store_txn *t, const rec_outbox *e, uint64_t quota)
{
	if (!e->tid || !e->id)
		return STORE_ECONFLICT;
	uint8_t k[16];
	size_t klen = rec_key2(k, e->tid, e->id);
	rec_outbox_count c;
	int rc = outbox_count(t, e->tid, &c);
	if (rc)
		return rc;
	if (quota && c.pending >= quota)
		return STORE_ELIMIT;
	/* ids grow with time: usually the table's last key, appended (full
	 * pages instead of pages split in half) */
	buf b = { 0 };
	if (rec_outbox_encode(e, &b)) {
		buf_free(&b);
		return STORE_ENOMEM;
	}
	rc = db_put_last(t->db, t->txn, DB_OUTBOX, k, klen, b.data, b.len);
	buf_free(&b);
	if (rc)
		return rc;
	c.pending++;
	return count_put(t, &c);
}

int outbox_get(store_txn *t, uint64_t tid, uint64_t id, rec_outbox *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_OUTBOX, k, rec_key2(k, tid, id), &v);
	if (rc == 0 && rec_outbox_decode(v.mv_data, v.mv_size, out))
		rc = STORE_ECORRUPT;
	return rc;
}

int outbox_retry(store_txn *t, const rec_outbox *e)
{
	rec_outbox cur;
	int rc = outbox_get(t, e->tid, e->id, &cur);
	if (rc)
		return rc;
	cur.attempts = e->attempts;
	cur.next_attempt_ms = e->next_attempt_ms;
	cur.last_status = e->last_status;
	memcpy(cur.last_error, e->last_error, sizeof cur.last_error);
	/* encoded (a copy, payload included) before the put replaces the
	 * stored value the payload view points into */
	uint8_t k[16];
	buf b = { 0 };
	return db_put_encoded(t->db, t->txn, DB_OUTBOX, k, rec_key2(k, e->tid, e->id), rec_outbox_encode(&cur, &b), &b);
}

int outbox_remove(store_txn *t, uint64_t tid, uint64_t id)
{
	uint8_t k[16];
	size_t klen = rec_key2(k, tid, id);
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_OUTBOX, k, klen, &v);
	rec_outbox_count c;
	if (rc || (rc = outbox_count(t, tid, &c)))
		return rc;
	if ((rc = db_del(t->db, t->txn, DB_OUTBOX, k, klen)))
		return rc;
	c.pending = c.pending ? c.pending - 1 : 0;
	return count_put(t, &c);
}

typedef struct {
	outbox_entry_fn fn;
	void *ctx;
} entry_walk;

static bool entry_step(void *arg, const MDB_val *k, const MDB_val *v)
{
	entry_walk *w = arg;
	if (k->mv_size != 16)
		return true;
	rec_outbox e;
	int rc = rec_outbox_decode(v->mv_data, v->mv_size, &e);
	return w->fn(w->ctx, db_get_be64(k->mv_data), db_get_be64((const uint8_t *)k->mv_data + 8), rc ? NULL : &e);
}

int outbox_each(store_txn *t, uint64_t tid, outbox_entry_fn fn, void *ctx)
{
	uint8_t p[8];
	entry_walk w = { fn, ctx };
	return walk_up(t, DB_OUTBOX, p, tid ? rec_key1(p, tid) : 0, entry_step, &w);
}

int outbox_each_back(store_txn *t, uint64_t tid, uint64_t below, outbox_entry_fn fn, void *ctx)
{
	entry_walk w = { fn, ctx };
	return walk_down(t, DB_OUTBOX, tid, below, entry_step, &w);
}

/* ---------- the delivery log ---------- */

static bool first_key(void *arg, const MDB_val *k, const MDB_val *v)
{
	uint64_t *id = arg;
	if (k->mv_size == 16)
		*id = db_get_be64((const uint8_t *)k->mv_data + 8);
	return k->mv_size != 16;
}

int outbox_log_append(store_txn *t, const rec_outbox_log *r, uint64_t keep)
{
	if (!r->tid || !r->id)
		return STORE_ECONFLICT;
	rec_outbox_count c;
	int rc = outbox_count(t, r->tid, &c);
	if (rc)
		return rc;
	uint8_t k[16], p[8];
	buf b = { 0 };
	if (rec_outbox_log_encode(r, &b)) {
		buf_free(&b);
		return STORE_ENOMEM;
	}
	rc = db_put_last(t->db, t->txn, DB_OUTBOX_LOG, k, rec_key2(k, r->tid, r->id), b.data, b.len);
	buf_free(&b);
	if (rc)
		return rc;
	c.log_rows++;
	/* the oldest rows go: one per row added once the log is full */
	while (keep && c.log_rows > keep) {
		uint64_t oldest = 0;
		if ((rc = walk_up(t, DB_OUTBOX_LOG, p, rec_key1(p, r->tid), first_key, &oldest)))
			return rc;
		if (!oldest) {   /* fewer rows than counted */
			c.log_rows = 0;
			break;
		}
		if ((rc = db_del(t->db, t->txn, DB_OUTBOX_LOG, k, rec_key2(k, r->tid, oldest))))
			return rc;
		c.log_rows--;
	}
	return count_put(t, &c);
}

int outbox_log_get(store_txn *t, uint64_t tid, uint64_t id, rec_outbox_log *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_OUTBOX_LOG, k, rec_key2(k, tid, id), &v);
	if (rc == 0 && rec_outbox_log_decode(v.mv_data, v.mv_size, out))
		rc = STORE_ECORRUPT;
	return rc;
}

typedef struct {
	outbox_log_fn fn;
	void *ctx;
} log_walk;

static bool log_step(void *arg, const MDB_val *k, const MDB_val *v)
{
	log_walk *w = arg;
	rec_outbox_log r;
	int rc = rec_outbox_log_decode(v->mv_data, v->mv_size, &r);
	return w->fn(w->ctx, db_get_be64((const uint8_t *)k->mv_data + 8), rc ? NULL : &r);
}

int outbox_log_each(store_txn *t, uint64_t tid, uint64_t below, outbox_log_fn fn, void *ctx)
{
	log_walk w = { fn, ctx };
	return walk_down(t, DB_OUTBOX_LOG, tid, below, log_step, &w);
}
