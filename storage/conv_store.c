/* conv_store — the conversation aggregate's keys and walks (conv_store.h).
 *
 * Every key is the tenant id, then fixed-width big-endian parts, the last
 * of them an id, seq or cursor (docs/storage.md), so each walk is a range
 * of keys "prefix · n" read with one cursor: upwards from a first n, or
 * downwards from the greatest key under the prefix at or below a last n.
 */
#include "storage/conv_store.h"
#include "storage/db.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

/* Called with the n of each key under the prefix and its value. */
typedef bool (*walk_fn)(void *ctx, uint64_t n, const MDB_val *v);

static bool under(const MDB_val *k, const uint8_t *prefix, size_t plen)
{
	return k->mv_size == plen + 8 && memcmp(k->mv_data, prefix, plen) == 0;
}

static uint64_t tail_n(const MDB_val *k, size_t plen)
{
	return db_get_be64((const uint8_t *)k->mv_data + plen);
}

/* Keys prefix · n with from <= n <= upto in ascending order, at most limit
 * of them; 0, STORE_ELIMIT (another lies in range) or STORE_EIO. */
static int walk_up(store_txn *t, enum db_table tb, const uint8_t *prefix, size_t plen, uint64_t from,
		   uint64_t upto, size_t limit, walk_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (from > upto)
		return STORE_OK;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, tb), &cur))
		return STORE_EIO;
	uint8_t k[24];
	memcpy(k, prefix, plen);
	db_be64(k + plen, from);
	MDB_val key = { plen + 8, k }, v;
	size_t n = 0;
	int rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	while (rc == 0 && under(&key, prefix, plen)) {
		uint64_t i = tail_n(&key, plen);
		if (i > upto)
			break;
		if (n == limit) {
			mdb_cursor_close(cur);
			return STORE_ELIMIT;
		}
		n++;
		if (!fn(ctx, i, &v))
			break;
		rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : STORE_EIO;
}

/* Keys prefix · n with n <= last in descending order; 0 or STORE_EIO. */
static int walk_down(store_txn *t, enum db_table tb, const uint8_t *prefix, size_t plen, uint64_t last,
		     walk_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, tb), &cur))
		return STORE_EIO;
	/* the first key at or past prefix · last; unless it is that key, the
	 * one before it (or the table's last key when none lies past) */
	uint8_t k[24];
	memcpy(k, prefix, plen);
	db_be64(k + plen, last);
	MDB_val key = { plen + 8, k }, v;
	int rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	if (rc == 0 && !(key.mv_size == plen + 8 && memcmp(key.mv_data, k, plen + 8) == 0))
		rc = mdb_cursor_get(cur, &key, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, &key, &v, MDB_LAST);
	while (rc == 0 && under(&key, prefix, plen) && fn(ctx, tail_n(&key, plen), &v))
		rc = mdb_cursor_get(cur, &key, &v, MDB_PREV);
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : STORE_EIO;
}

/* ---------- conversations ---------- */

int convstore_get(store_txn *t, uint64_t tid, uint64_t cid, rec_conv *out)
{
	uint8_t k[16];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_CONVS, k, rec_key2(k, tid, cid), &v);
	if (rc == 0 && rec_conv_decode(v.mv_data, v.mv_size, out))
		rc = STORE_ECORRUPT;
	return rc;
}

/* A list walk: each key names a conversation; over `convs` itself the
 * value is the record, over an index it is looked up. */
typedef struct {
	store_txn *t;
	uint64_t tid;
	bool is_record;
	convstore_conv_fn fn;
	void *ctx;
} conv_walk;

static bool conv_step(void *arg, uint64_t cid, const MDB_val *v)
{
	conv_walk *w = arg;
	rec_conv c;
	int rc = w->is_record ? rec_conv_decode(v->mv_data, v->mv_size, &c) : convstore_get(w->t, w->tid, cid, &c);
	return w->fn(w->ctx, cid, rc == 0 ? &c : NULL);
}

int convstore_each_conv(store_txn *t, uint64_t tid, int by, uint64_t key, uint64_t below,
			convstore_conv_fn fn, void *ctx)
{
	if (by != CONVSTORE_ALL && by != CONVSTORE_BY_STATUS && by != CONVSTORE_BY_ASSIGNEE)
		return STORE_ECONFLICT;
	conv_walk w = { t, tid, by == CONVSTORE_ALL, fn, ctx };
	uint8_t p[16];
	enum db_table tb = by == CONVSTORE_ALL ? DB_CONVS : by == CONVSTORE_BY_STATUS ? DB_CONV_STATUS
										    : DB_CONV_ASSIGNEE;
	size_t plen = by == CONVSTORE_ALL ? rec_key1(p, tid) : rec_key2(p, tid, key);
	return walk_down(t, tb, p, plen, below ? below - 1 : UINT64_MAX, conv_step, &w);
}

int convstore_each_of_visitor(store_txn *t, uint64_t tid, uint64_t vid, convstore_conv_fn fn,
			      void *ctx)
{
	conv_walk w = { t, tid, false, fn, ctx };
	uint8_t p[16];
	return walk_up(t, DB_VISITOR_CONVS, p, rec_key2(p, tid, vid), 0, UINT64_MAX, SIZE_MAX, conv_step, &w);
}

/* ---------- the due-time index ---------- */

static size_t due_key(uint8_t k[24], int64_t due_ms, uint64_t tid, uint64_t cid)
{
	db_be64(k, (uint64_t)due_ms);
	db_be64(k + 8, tid);
	db_be64(k + 16, cid);
	return 24;
}

int convstore_each_due(store_txn *t, int64_t from, int64_t upto, convstore_due_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (from < 0)
		from = 0;
	if (from > upto)
		return STORE_OK;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_DUE), &cur))
		return STORE_EIO;
	uint8_t k[24];
	MDB_val key = { due_key(k, from, 0, 0), k }, v;
	int rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	while (rc == 0) {
		if (key.mv_size != 24) {   /* not ours: step over */
			rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
			continue;
		}
		const uint8_t *p = key.mv_data;
		int64_t due = (int64_t)db_get_be64(p);
		if (due > upto)
			break;
		uint8_t kind = v.mv_size == 1 ? *(const uint8_t *)v.mv_data : DUE_NONE;
		if (!fn(ctx, due, db_get_be64(p + 8), db_get_be64(p + 16), kind))
			break;
		rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? STORE_OK : STORE_EIO;
}

/* Moves conversation c's entry in `due` from the old record's to the new
 * one's (had: an old record exists); 0 or a store code. */
static int due_move(store_txn *t, bool had, const rec_conv *old, const rec_conv *c)
{
	bool old_has = had && old->due_ms && old->due_kind != DUE_NONE;
	bool new_has = c->due_ms && c->due_kind != DUE_NONE;
	if (old_has && new_has && old->due_ms == c->due_ms && old->due_kind == c->due_kind)
		return STORE_OK;
	uint8_t k[24];
	int rc = STORE_OK;
	if (old_has) {
		rc = db_del(t->db, t->txn, DB_DUE, k, due_key(k, old->due_ms, c->tid, c->id));
		if (rc == STORE_ENOTFOUND)
			rc = STORE_OK;
	}
	if (rc == 0 && new_has)
		rc = db_put(t->db, t->txn, DB_DUE, k, due_key(k, c->due_ms, c->tid, c->id), &c->due_kind, 1);
	return rc;
}

/* ---------- events ---------- */

int convstore_event(store_txn *t, uint64_t tid, uint64_t cid, uint64_t seq, rec_event *out)
{
	uint8_t k[24];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_EVENTS, k, rec_key3(k, tid, cid, seq), &v);
	if (rc == 0 && rec_event_decode(v.mv_data, v.mv_size, out))
		rc = STORE_ECORRUPT;
	return rc;
}

typedef struct {
	rec_event *e;              /* one decode buffer for the walk */
	convstore_event_fn fn;
	void *ctx;
} event_walk;

static bool event_step(void *arg, uint64_t seq, const MDB_val *v)
{
	event_walk *w = arg;
	bool ok = rec_event_decode(v->mv_data, v->mv_size, w->e) == 0;
	return w->fn(w->ctx, seq, ok ? w->e : NULL);
}

int convstore_each_event(store_txn *t, uint64_t tid, uint64_t cid, uint64_t after, uint64_t upto,
			 size_t limit, convstore_event_fn fn, void *ctx)
{
	if (after >= upto)
		return STORE_OK;
	event_walk w = { malloc(sizeof *w.e), fn, ctx };
	if (!w.e)
		return STORE_ENOMEM;
	uint8_t p[16];
	int rc = walk_up(t, DB_EVENTS, p, rec_key2(p, tid, cid), after + 1, upto, limit, event_step, &w);
	free(w.e);
	return rc;
}

int convstore_each_event_back(store_txn *t, uint64_t tid, uint64_t cid, convstore_event_fn fn,
			      void *ctx)
{
	event_walk w = { malloc(sizeof *w.e), fn, ctx };
	if (!w.e)
		return STORE_ENOMEM;
	uint8_t p[16];
	int rc = walk_down(t, DB_EVENTS, p, rec_key2(p, tid, cid), UINT64_MAX, event_step, &w);
	free(w.e);
	return rc;
}

/* ---------- inbox ---------- */

static bool last_step(void *arg, uint64_t n, const MDB_val *v)
{
	(void)v;
	*(uint64_t *)arg = n;
	return false;
}

int convstore_inbox_last(store_txn *t, uint64_t tid, uint64_t *cursor)
{
	uint8_t p[8];
	*cursor = 0;
	return walk_down(t, DB_INBOX, p, rec_key1(p, tid), UINT64_MAX, last_step, cursor);
}

typedef struct {
	convstore_inbox_fn fn;
	void *ctx;
} inbox_walk;

static bool inbox_step(void *arg, uint64_t cursor, const MDB_val *v)
{
	inbox_walk *w = arg;
	rec_inbox ie;
	bool ok = rec_inbox_decode(v->mv_data, v->mv_size, &ie) == 0;
	return w->fn(w->ctx, cursor, ok ? &ie : NULL);
}

int convstore_each_inbox(store_txn *t, uint64_t tid, uint64_t after, uint64_t upto, size_t limit,
			 convstore_inbox_fn fn, void *ctx)
{
	if (after >= upto)
		return STORE_OK;
	inbox_walk w = { fn, ctx };
	uint8_t p[8];
	return walk_up(t, DB_INBOX, p, rec_key1(p, tid), after + 1, upto, limit, inbox_step, &w);
}

/* ---------- the write ---------- */

/* The events continue prev_seq one by one up to the record's last_seq,
 * all of this conversation. */
static bool events_continue(const convstore_change *ch)
{
	const rec_conv *c = ch->conv;
	if (ch->nev < 0 || c->last_seq != ch->prev_seq + (uint64_t)ch->nev)
		return false;
	for (int i = 0; i < ch->nev; i++) {
		const rec_event *e = ch->ev[i];
		if (e->tid != c->tid || e->cid != c->id || e->seq != ch->prev_seq + 1 + (uint64_t)i)
			return false;
	}
	return true;
}

static int put_value(store_txn *t, enum db_table tb, const uint8_t *k, size_t kl, const buf *b)
{
	return db_put(t->db, t->txn, tb, k, kl, b->data, b->len);
}

/* Moves conversation cid's entry in an index keyed tid · key · cid from
 * old_key to new_key (had: an old entry exists); 0 or a store code. */
static int index_move(store_txn *t, enum db_table tb, uint64_t tid, bool had, uint64_t old_key,
		      uint64_t new_key, uint64_t cid)
{
	uint8_t k[24];
	if (had && old_key == new_key)
		return STORE_OK;
	int rc = had ? db_del(t->db, t->txn, tb, k, rec_key3(k, tid, old_key, cid)) : STORE_OK;
	return rc ? rc : db_put(t->db, t->txn, tb, k, rec_key3(k, tid, new_key, cid), "", 0);
}

/* Appends the tenant's next inbox entry for conversation c; 0 or a store code. */
static int inbox_append(store_txn *t, const rec_conv *c, uint8_t type, buf *b, uint64_t *cursor)
{
	uint64_t last;
	int rc = convstore_inbox_last(t, c->tid, &last);
	if (rc)
		return rc;
	rec_inbox ie = { .tid = c->tid, .cursor = last + 1, .type = type, .cid = c->id,
			 .created_ms = c->updated_ms };
	uint8_t k[16];
	b->len = 0;
	if (rec_inbox_encode(&ie, b))
		return STORE_ENOMEM;
	rc = put_value(t, DB_INBOX, k, rec_key2(k, c->tid, ie.cursor), b);
	if (rc == 0)
		*cursor = ie.cursor;
	return rc;
}

int convstore_write(store_txn *t, const convstore_change *ch)
{
	const rec_conv *c = ch->conv;
	bool create = ch->kind == CONVSTORE_CREATE;
	rec_conv old;
	uint8_t k[24];
	MDB_val v;

	/* checks first: nothing is written unless all pass */
	if ((!create && ch->kind != CONVSTORE_UPDATE) || (create && ch->prev_seq) || !events_continue(ch))
		return STORE_ECONFLICT;
	int rc = db_get(t->db, t->txn, DB_CONVS, k, rec_key2(k, c->tid, c->id), &v);
	if (create) {
		if (rc == 0)
			return STORE_EEXISTS;
		if (rc != STORE_ENOTFOUND)
			return rc;
	} else {
		if (rc)
			return rc == STORE_ENOTFOUND ? STORE_ECONFLICT : rc;
		if (rec_conv_decode(v.mv_data, v.mv_size, &old))
			return STORE_ECORRUPT;
		if (old.last_seq != ch->prev_seq)
			return STORE_ECONFLICT;
	}

	/* writes: one buffer encodes every value in turn */
	buf b = { 0 };
	rc = rec_conv_encode(c, &b) ? STORE_ENOMEM : put_value(t, DB_CONVS, k, rec_key2(k, c->tid, c->id), &b);
	for (int i = 0; rc == 0 && i < ch->nev; i++) {
		const rec_event *e = ch->ev[i];
		b.len = 0;
		rc = rec_event_encode(e, &b) ? STORE_ENOMEM
					     : put_value(t, DB_EVENTS, k, rec_key3(k, c->tid, c->id, e->seq), &b);
	}
	if (rc == 0)
		rc = index_move(t, DB_VISITOR_CONVS, c->tid, !create, create ? 0 : old.visitor_id,
				c->visitor_id, c->id);
	if (rc == 0)
		rc = index_move(t, DB_CONV_STATUS, c->tid, !create, create ? 0 : old.status, c->status, c->id);
	if (rc == 0)
		rc = index_move(t, DB_CONV_ASSIGNEE, c->tid, !create, create ? 0 : old.assignee_id,
				c->assignee_id, c->id);
	if (rc == 0)
		rc = due_move(t, !create, &old, c);
	if (rc == 0 && ch->inbox_cursor)
		rc = inbox_append(t, c, ch->inbox_type, &b, ch->inbox_cursor);
	buf_free(&b);
	/* a failed write leaves a partial change: the transaction must not commit */
	return rc == 0 || rc == STORE_EFULL || rc == STORE_ENOMEM ? rc : STORE_EIO;
}
