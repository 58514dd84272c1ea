/* conv_store_test — storage/conv_store.c: a conversation write (create,
 * update with the seq check, refused changes writing nothing), the indexes
 * following status, assignee and visitor, inbox cursors per tenant, event
 * walks forwards and backwards with their bounds and limits, tenant lists
 * newest first below a cursor, a visitor's list, tenants never seeing each
 * other's records, and undecodable records reported as STORE_ECORRUPT.
 *
 * Each test gets its own mkdtemp directory, removed afterwards. Neighbouring
 * keys (tenant ± 1, conversation ± 1) are stored on purpose so that a walk
 * that strays past its prefix is caught.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/records.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAXEV 32

enum { T1 = 1000, T2 = 1001, T0 = 999, V1 = 70, V2 = 71 };

/* ---- fixture: a temp directory with an open db ---------------------------- */

typedef struct {
	char dir[64];
	db *d;
} fix;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	fix *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/parley-convstore-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	int err = 0;
	db_opts o = { .map_size = (size_t)256 << 20 };
	f->d = db_open(f->dir, &o, &err);
	*state = f;
	return f->d ? 0 : -1;
}

static int teardown(void **state)
{
	fix *f = *state;
	db_close(&f->d);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- building changes ------------------------------------------------------- */

/* A change under construction: the record after it and its events. */
typedef struct {
	rec_conv conv;
	rec_event *ev[MAXEV];
	int nev;
	uint64_t prev_seq;
	uint8_t kind;
	bool inbox;
	uint64_t cursor;
} change;

static void begin_create(change *c, uint64_t tid, uint64_t cid, uint64_t vid)
{
	memset(c, 0, sizeof *c);
	c->kind = CONVSTORE_CREATE;
	c->conv.tid = tid;
	c->conv.id = cid;
	c->conv.visitor_id = vid;
	c->conv.status = CS_OPEN;
	c->conv.created_ms = c->conv.updated_ms = 1000;
}

static void begin_update(change *c, const rec_conv *stored)
{
	memset(c, 0, sizeof *c);
	c->kind = CONVSTORE_UPDATE;
	c->conv = *stored;
	c->prev_seq = stored->last_seq;
}

/* Appends the next event (a message carrying client_id when given). */
static rec_event *add_event(change *c, int kind, const char *client_id)
{
	assert_true(c->nev < MAXEV);
	rec_event *e = calloc(1, sizeof *e);
	assert_non_null(e);
	e->tid = c->conv.tid;
	e->cid = c->conv.id;
	e->seq = ++c->conv.last_seq;
	e->kind = (uint8_t)kind;
	e->created_ms = 1000 + (int64_t)e->seq;
	if (client_id)
		snprintf(e->client_id, sizeof e->client_id, "%s", client_id);
	snprintf(e->text, sizeof e->text, "text %llu", (unsigned long long)e->seq);
	c->ev[c->nev++] = e;
	return e;
}

static void free_change(change *c)
{
	for (int i = 0; i < c->nev; i++)
		free(c->ev[i]);
	c->nev = 0;
}

static int apply_in(store_txn *t, change *c)
{
	convstore_change ch = {
		.kind = c->kind, .prev_seq = c->prev_seq, .conv = &c->conv, .ev = c->ev, .nev = c->nev,
		.inbox_type = IB_UPDATED, .inbox_cursor = c->inbox ? &c->cursor : NULL,
	};
	return convstore_write(t, &ch);
}

/* Applies c in a transaction of its own, committed when the write succeeds. */
static int apply_one(db *d, change *c)
{
	store_txn t;
	assert_int_equal(store_write(d, &t), 0);
	int rc = apply_in(&t, c);
	if (rc == 0)
		assert_int_equal(store_commit(&t), 0);
	else
		store_done(&t);
	return rc;
}

/* Stores conversation (tid, cid) of vid with a created event and nmsg
 * messages; returns the stored record. */
static rec_conv seed(db *d, uint64_t tid, uint64_t cid, uint64_t vid, int nmsg)
{
	change c;
	begin_create(&c, tid, cid, vid);
	add_event(&c, EK_CREATED, NULL);
	for (int i = 0; i < nmsg; i++) {
		char id[32];
		snprintf(id, sizeof id, "c-%d", i);
		add_event(&c, EK_MESSAGE, id);
	}
	assert_int_equal(apply_one(d, &c), 0);
	rec_conv r = c.conv;
	free_change(&c);
	return r;
}

/* ---- walks collected into arrays -------------------------------------------- */

typedef struct {
	uint64_t n[64];
	bool null[64];
	size_t count;
	size_t stop_after;         /* 0: never stop */
} seen;

static bool see(seen *s, uint64_t n, bool is_null)
{
	assert_true(s->count < NELEM(s->n));
	s->null[s->count] = is_null;
	s->n[s->count++] = n;
	return !(s->stop_after && s->count == s->stop_after);
}

static bool see_event(void *ctx, uint64_t seq, const rec_event *e)
{
	if (e)
		assert_int_equal(e->seq, seq);
	return see(ctx, seq, !e);
}

static bool see_conv(void *ctx, uint64_t cid, const rec_conv *c)
{
	if (c)
		assert_int_equal(c->id, cid);
	return see(ctx, cid, !c);
}

static bool see_inbox(void *ctx, uint64_t cursor, const rec_inbox *ie)
{
	if (ie)
		assert_int_equal(ie->cursor, cursor);
	return see(ctx, cursor, !ie);
}

static void assert_seen(const seen *s, const uint64_t *want, size_t n)
{
	assert_int_equal(s->count, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->n[i], want[i]);
}

static seen list(db *d, uint64_t tid, int by, uint64_t key, uint64_t below)
{
	seen s = { 0 };
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	assert_int_equal(convstore_each_conv(&t, tid, by, key, below, see_conv, &s), 0);
	store_done(&t);
	return s;
}

static seen visitor_list(db *d, uint64_t tid, uint64_t vid)
{
	seen s = { 0 };
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	assert_int_equal(convstore_each_of_visitor(&t, tid, vid, see_conv, &s), 0);
	store_done(&t);
	return s;
}

static seen events(db *d, uint64_t tid, uint64_t cid, uint64_t after, uint64_t upto, size_t limit, int want_rc)
{
	seen s = { 0 };
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	assert_int_equal(convstore_each_event(&t, tid, cid, after, upto, limit, see_event, &s), want_rc);
	store_done(&t);
	return s;
}

static seen inbox(db *d, uint64_t tid, uint64_t after, uint64_t upto, size_t limit, int want_rc)
{
	seen s = { 0 };
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	assert_int_equal(convstore_each_inbox(&t, tid, after, upto, limit, see_inbox, &s), want_rc);
	store_done(&t);
	return s;
}

static uint64_t inbox_last(db *d, uint64_t tid)
{
	uint64_t c = 99;
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	assert_int_equal(convstore_inbox_last(&t, tid, &c), 0);
	store_done(&t);
	return c;
}

static int get(db *d, uint64_t tid, uint64_t cid, rec_conv *out)
{
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	int rc = convstore_get(&t, tid, cid, out);
	store_done(&t);
	return rc;
}

/* Reads one event in a snapshot of its own; out may be NULL. */
static int event_at(db *d, uint64_t tid, uint64_t cid, uint64_t seq, rec_event *out)
{
	rec_event *e = out ? out : malloc(sizeof *e);
	assert_non_null(e);
	store_txn t;
	assert_int_equal(store_read(d, &t), 0);
	int rc = convstore_event(&t, tid, cid, seq, e);
	store_done(&t);
	if (!out)
		free(e);
	return rc;
}

static void put_raw(db *d, enum db_table tb, const uint8_t *k, size_t kl, const void *v, size_t vl)
{
	store_txn t;
	assert_int_equal(store_write(d, &t), 0);
	assert_int_equal(db_put(d, t.txn, tb, k, kl, v, vl), 0);
	assert_int_equal(store_commit(&t), 0);
}

/* ---- create ----------------------------------------------------------------- */

static void test_create_stores_record_events_indexes_inbox(void **state)
{
	fix *f = *state;
	change c;
	begin_create(&c, T1, 500, V1);
	add_event(&c, EK_CREATED, NULL);
	add_event(&c, EK_MESSAGE, "first");
	c.inbox = true;
	assert_int_equal(apply_one(f->d, &c), 0);
	assert_int_equal(c.cursor, 1);

	rec_conv r;
	assert_int_equal(get(f->d, T1, 500, &r), 0);
	assert_int_equal(r.visitor_id, V1);
	assert_int_equal(r.last_seq, 2);

	rec_event *e = malloc(sizeof *e);
	assert_non_null(e);
	assert_int_equal(event_at(f->d, T1, 500, 2, e), 0);
	assert_string_equal(e->client_id, "first");
	assert_int_equal(e->kind, EK_MESSAGE);
	free(e);
	assert_int_equal(event_at(f->d, T1, 500, 3, NULL), STORE_ENOTFOUND);

	const uint64_t one[] = { 500 };
	seen s = list(f->d, T1, CONVSTORE_ALL, 0, 0);
	assert_seen(&s, one, 1);
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_OPEN, 0);
	assert_seen(&s, one, 1);
	s = list(f->d, T1, CONVSTORE_BY_ASSIGNEE, 0, 0);
	assert_seen(&s, one, 1);
	s = visitor_list(f->d, T1, V1);
	assert_seen(&s, one, 1);
	assert_int_equal(inbox_last(f->d, T1), 1);

	/* the same conversation again: refused, nothing more written */
	free_change(&c);
	begin_create(&c, T1, 500, V2);
	add_event(&c, EK_CREATED, NULL);
	c.inbox = true;
	assert_int_equal(apply_one(f->d, &c), STORE_EEXISTS);
	assert_int_equal(inbox_last(f->d, T1), 1);
	s = visitor_list(f->d, T1, V2);
	assert_int_equal(s.count, 0);
	assert_int_equal(get(f->d, T1, 500, &r), 0);
	assert_int_equal(r.visitor_id, V1);
	free_change(&c);
}

/* ---- update: the seq check ---------------------------------------------------- */

static void test_update_checks_seq_and_writes_nothing_when_refused(void **state)
{
	fix *f = *state;
	rec_conv stored = seed(f->d, T1, 500, V1, 2);   /* last_seq 3 */
	assert_int_equal(stored.last_seq, 3);

	store_txn t;
	change c;
	assert_int_equal(store_write(f->d, &t), 0);

	/* the stored last_seq is not the one the change follows (a gap) */
	rec_conv behind = stored;
	behind.last_seq = 4;
	begin_update(&c, &behind);
	add_event(&c, EK_MESSAGE, "gap");
	c.inbox = true;
	c.conv.status = CS_RESOLVED;
	assert_int_equal(apply_in(&t, &c), STORE_ECONFLICT);
	free_change(&c);

	/* events that do not continue prev_seq one by one */
	begin_update(&c, &stored);
	add_event(&c, EK_MESSAGE, "a");
	c.ev[0]->seq = 5;
	c.conv.last_seq = 5;
	c.prev_seq = 3;
	assert_int_equal(apply_in(&t, &c), STORE_ECONFLICT);
	free_change(&c);

	/* last_seq that does not match the events appended */
	begin_update(&c, &stored);
	add_event(&c, EK_MESSAGE, "b");
	c.conv.last_seq = 9;
	assert_int_equal(apply_in(&t, &c), STORE_ECONFLICT);
	free_change(&c);

	/* an event of another conversation */
	begin_update(&c, &stored);
	add_event(&c, EK_MESSAGE, "c")->cid = 501;
	assert_int_equal(apply_in(&t, &c), STORE_ECONFLICT);
	free_change(&c);

	/* an update of a conversation that is not stored */
	rec_conv ghost = stored;
	ghost.id = 777;
	begin_update(&c, &ghost);
	add_event(&c, EK_MESSAGE, "d");
	assert_int_equal(apply_in(&t, &c), STORE_ECONFLICT);
	free_change(&c);

	/* a create claiming to follow a seq */
	begin_create(&c, T1, 778, V1);
	c.prev_seq = 1;
	c.conv.last_seq = 1;
	assert_int_equal(apply_in(&t, &c), STORE_ECONFLICT);
	free_change(&c);

	/* nothing of the refused changes is in the transaction */
	rec_conv r;
	rec_event *e = malloc(sizeof *e);
	assert_non_null(e);
	assert_int_equal(convstore_get(&t, T1, 500, &r), 0);
	assert_int_equal(r.last_seq, 3);
	assert_int_equal(r.status, CS_OPEN);
	assert_int_equal(convstore_event(&t, T1, 500, 4, e), STORE_ENOTFOUND);
	assert_int_equal(convstore_event(&t, T1, 500, 5, e), STORE_ENOTFOUND);
	assert_int_equal(convstore_get(&t, T1, 777, &r), STORE_ENOTFOUND);
	assert_int_equal(convstore_get(&t, T1, 778, &r), STORE_ENOTFOUND);
	uint64_t last = 99;
	assert_int_equal(convstore_inbox_last(&t, T1, &last), 0);
	assert_int_equal(last, 0);

	/* the right change goes through in the same transaction */
	begin_update(&c, &stored);
	add_event(&c, EK_MESSAGE, "ok");
	add_event(&c, EK_NOTE, NULL);
	assert_int_equal(apply_in(&t, &c), 0);
	free_change(&c);
	assert_int_equal(store_commit(&t), 0);

	assert_int_equal(get(f->d, T1, 500, &r), 0);
	assert_int_equal(r.last_seq, 5);
	const uint64_t all[] = { 1, 2, 3, 4, 5 };
	seen s = events(f->d, T1, 500, 0, UINT64_MAX, SIZE_MAX, 0);
	assert_seen(&s, all, 5);
	const uint64_t resolved_none[] = { 0 };
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_RESOLVED, 0);
	assert_seen(&s, resolved_none, 0);

	/* a receipt-like update: no events, same seq */
	begin_update(&c, &r);
	c.conv.agent_read_seq = 5;
	assert_int_equal(apply_one(f->d, &c), 0);
	assert_int_equal(get(f->d, T1, 500, &r), 0);
	assert_int_equal(r.agent_read_seq, 5);
	/* and again from a stale view of the record */
	c.conv.agent_read_seq = 4;
	c.conv.last_seq = 4;
	c.prev_seq = 4;
	assert_int_equal(apply_one(f->d, &c), STORE_ECONFLICT);
	free(e);
}

/* ---- indexes ------------------------------------------------------------------ */

static void test_indexes_follow_status_and_assignee(void **state)
{
	fix *f = *state;
	rec_conv a = seed(f->d, T1, 500, V1, 0);
	seed(f->d, T1, 600, V1, 0);
	const uint64_t both[] = { 600, 500 }, only600[] = { 600 }, only500[] = { 500 };

	change c;
	begin_update(&c, &a);
	add_event(&c, EK_STATUS, NULL);
	c.conv.status = CS_RESOLVED;
	add_event(&c, EK_ASSIGNED, NULL);
	c.conv.assignee_id = 42;
	assert_int_equal(apply_one(f->d, &c), 0);
	a = c.conv;
	free_change(&c);

	seen s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_OPEN, 0);
	assert_seen(&s, only600, 1);
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_RESOLVED, 0);
	assert_seen(&s, only500, 1);
	s = list(f->d, T1, CONVSTORE_BY_ASSIGNEE, 0, 0);
	assert_seen(&s, only600, 1);
	s = list(f->d, T1, CONVSTORE_BY_ASSIGNEE, 42, 0);
	assert_seen(&s, only500, 1);
	s = list(f->d, T1, CONVSTORE_ALL, 0, 0);
	assert_seen(&s, both, 2);
	s = visitor_list(f->d, T1, V1);
	const uint64_t oldest_first[] = { 500, 600 };
	assert_seen(&s, oldest_first, 2);

	/* back again, and to another assignee */
	begin_update(&c, &a);
	c.conv.status = CS_OPEN;
	c.conv.assignee_id = 43;
	assert_int_equal(apply_one(f->d, &c), 0);
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_OPEN, 0);
	assert_seen(&s, both, 2);
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_RESOLVED, 0);
	assert_int_equal(s.count, 0);
	s = list(f->d, T1, CONVSTORE_BY_ASSIGNEE, 42, 0);
	assert_int_equal(s.count, 0);
	s = list(f->d, T1, CONVSTORE_BY_ASSIGNEE, 43, 0);
	assert_seen(&s, only500, 1);

	/* an unknown list kind */
	store_txn t;
	assert_int_equal(store_read(f->d, &t), 0);
	assert_int_equal(convstore_each_conv(&t, T1, 9, 0, 0, see_conv, &s), STORE_ECONFLICT);
	store_done(&t);
}

/* ---- inbox -------------------------------------------------------------------- */

static void test_inbox_cursors_ascend_per_tenant(void **state)
{
	fix *f = *state;
	rec_conv a = seed(f->d, T1, 500, V1, 0);
	rec_conv b = seed(f->d, T2, 500, V1, 0);
	assert_int_equal(inbox_last(f->d, T1), 0);

	/* several in one transaction, interleaved over two tenants */
	store_txn t;
	assert_int_equal(store_write(f->d, &t), 0);
	uint64_t got[5];
	const uint64_t tids[5] = { T1, T2, T1, T1, T2 };
	for (int i = 0; i < 5; i++) {
		change c;
		rec_conv *r = tids[i] == T1 ? &a : &b;
		begin_update(&c, r);
		add_event(&c, EK_STATUS, NULL);
		c.inbox = true;
		assert_int_equal(apply_in(&t, &c), 0);
		got[i] = c.cursor;
		*r = c.conv;
		free_change(&c);
	}
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(got[0], 1);
	assert_int_equal(got[1], 1);
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], 3);
	assert_int_equal(got[4], 2);

	/* and in a later one */
	change c;
	begin_update(&c, &a);
	c.inbox = true;
	assert_int_equal(apply_one(f->d, &c), 0);
	assert_int_equal(c.cursor, 4);
	assert_int_equal(inbox_last(f->d, T1), 4);
	assert_int_equal(inbox_last(f->d, T2), 2);
	assert_int_equal(inbox_last(f->d, T0), 0);

	const uint64_t all[] = { 1, 2, 3, 4 }, mid[] = { 2, 3 };
	seen s = inbox(f->d, T1, 0, UINT64_MAX, SIZE_MAX, 0);
	assert_seen(&s, all, 4);
	s = inbox(f->d, T1, 1, 3, SIZE_MAX, 0);
	assert_seen(&s, mid, 2);
	s = inbox(f->d, T1, 1, UINT64_MAX, 2, STORE_ELIMIT);
	assert_seen(&s, mid, 2);
	s = inbox(f->d, T1, 1, 3, 2, 0);   /* the limit is exactly what lies in range */
	assert_seen(&s, mid, 2);
	s = inbox(f->d, T1, 4, UINT64_MAX, SIZE_MAX, 0);
	assert_int_equal(s.count, 0);
	s = inbox(f->d, T2, 0, UINT64_MAX, SIZE_MAX, 0);
	assert_int_equal(s.count, 2);
	s = inbox(f->d, T1, 0, 4, 1, STORE_ELIMIT);
	assert_seen(&s, all, 1);
}

/* ---- events ------------------------------------------------------------------- */

static void test_event_walks_bounds_and_limits(void **state)
{
	fix *f = *state;
	seed(f->d, T1, 499, V1, 3);   /* neighbours on both sides */
	seed(f->d, T1, 500, V1, 9);   /* seqs 1..10 */
	seed(f->d, T1, 501, V1, 3);
	seed(f->d, T2, 500, V1, 3);

	const uint64_t r4_7[] = { 4, 5, 6, 7 }, all[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	seen s = events(f->d, T1, 500, 3, 7, SIZE_MAX, 0);
	assert_seen(&s, r4_7, 4);
	s = events(f->d, T1, 500, 3, 7, 2, STORE_ELIMIT);
	assert_seen(&s, r4_7, 2);
	s = events(f->d, T1, 500, 3, 7, 4, 0);
	assert_seen(&s, r4_7, 4);
	s = events(f->d, T1, 500, 3, 7, 0, STORE_ELIMIT);
	assert_int_equal(s.count, 0);
	s = events(f->d, T1, 500, 0, UINT64_MAX, SIZE_MAX, 0);
	assert_seen(&s, all, 10);
	s = events(f->d, T1, 500, 10, UINT64_MAX, 0, 0);   /* nothing after the last */
	assert_int_equal(s.count, 0);
	s = events(f->d, T1, 500, 7, 7, SIZE_MAX, 0);
	assert_int_equal(s.count, 0);
	s = events(f->d, T1, 500, 9, 3, SIZE_MAX, 0);
	assert_int_equal(s.count, 0);
	s = events(f->d, T1, 502, 0, UINT64_MAX, SIZE_MAX, 0);
	assert_int_equal(s.count, 0);

	/* the callback stops the walk */
	store_txn t;
	assert_int_equal(store_read(f->d, &t), 0);
	s = (seen){ .stop_after = 3 };
	assert_int_equal(convstore_each_event(&t, T1, 500, 0, UINT64_MAX, 5, see_event, &s), 0);
	assert_seen(&s, all, 3);

	/* backwards: newest first, until the callback stops */
	const uint64_t back[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	s = (seen){ 0 };
	assert_int_equal(convstore_each_event_back(&t, T1, 500, see_event, &s), 0);
	assert_seen(&s, back, 10);
	s = (seen){ .stop_after = 3 };
	assert_int_equal(convstore_each_event_back(&t, T1, 500, see_event, &s), 0);
	assert_seen(&s, back, 3);
	const uint64_t back4[] = { 4, 3, 2, 1 };
	s = (seen){ 0 };
	assert_int_equal(convstore_each_event_back(&t, T1, 501, see_event, &s), 0);   /* the last conversation of the tenant's range */
	assert_seen(&s, back4, 4);
	s = (seen){ 0 };
	assert_int_equal(convstore_each_event_back(&t, T1, 502, see_event, &s), 0);
	assert_int_equal(s.count, 0);
	s = (seen){ 0 };
	assert_int_equal(convstore_each_event_back(&t, T2, 500, see_event, &s), 0);   /* the last key of the table */
	assert_seen(&s, back4, 4);
	s = (seen){ 0 };
	assert_int_equal(convstore_each_event_back(&t, T2 + 1, 500, see_event, &s), 0);
	assert_int_equal(s.count, 0);
	store_done(&t);
}

/* ---- lists -------------------------------------------------------------------- */

static void test_list_newest_first_below(void **state)
{
	fix *f = *state;
	for (uint64_t id = 10; id <= 50; id += 10)
		seed(f->d, T1, id, id == 30 ? V2 : V1, 0);
	seed(f->d, T0, 45, V1, 0);
	seed(f->d, T2, 5, V1, 0);
	seed(f->d, T2, 55, V1, 0);

	const uint64_t all[] = { 50, 40, 30, 20, 10 }, low[] = { 20, 10 };
	seen s = list(f->d, T1, CONVSTORE_ALL, 0, 0);
	assert_seen(&s, all, 5);
	s = list(f->d, T1, CONVSTORE_ALL, 0, 30);
	assert_seen(&s, low, 2);
	s = list(f->d, T1, CONVSTORE_ALL, 0, 31);
	assert_seen(&s, all + 2, 3);
	s = list(f->d, T1, CONVSTORE_ALL, 0, 10);
	assert_int_equal(s.count, 0);
	s = list(f->d, T1, CONVSTORE_ALL, 0, UINT64_MAX);
	assert_seen(&s, all, 5);
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_OPEN, 40);
	assert_seen(&s, all + 2, 3);
	s = list(f->d, T1, CONVSTORE_BY_ASSIGNEE, 0, 50);
	assert_seen(&s, all + 1, 4);

	store_txn t;
	assert_int_equal(store_read(f->d, &t), 0);
	s = (seen){ .stop_after = 2 };
	assert_int_equal(convstore_each_conv(&t, T1, CONVSTORE_ALL, 0, 0, see_conv, &s), 0);
	assert_seen(&s, all, 2);
	store_done(&t);
}

static void test_visitor_list(void **state)
{
	fix *f = *state;
	seed(f->d, T1, 10, V1, 0);
	seed(f->d, T1, 20, V2, 0);
	seed(f->d, T1, 30, V1, 0);
	seed(f->d, T2, 40, V1, 0);   /* the same visitor id under another tenant */
	seed(f->d, T0, 50, V1, 0);

	const uint64_t v1[] = { 10, 30 }, v2[] = { 20 };
	seen s = visitor_list(f->d, T1, V1);
	assert_seen(&s, v1, 2);
	s = visitor_list(f->d, T1, V2);
	assert_seen(&s, v2, 1);
	s = visitor_list(f->d, T1, V2 + 1);
	assert_int_equal(s.count, 0);
	const uint64_t t2[] = { 40 };
	s = visitor_list(f->d, T2, V1);
	assert_seen(&s, t2, 1);
}

/* ---- tenants -------------------------------------------------------------------- */

static void test_other_tenant_never_seen(void **state)
{
	fix *f = *state;
	seed(f->d, T1, 500, V1, 2);
	change c;
	begin_create(&c, T1, 600, V1);
	add_event(&c, EK_CREATED, NULL);
	c.inbox = true;
	assert_int_equal(apply_one(f->d, &c), 0);
	free_change(&c);

	rec_conv r;
	assert_int_equal(get(f->d, T2, 500, &r), STORE_ENOTFOUND);
	assert_int_equal(get(f->d, T0, 500, &r), STORE_ENOTFOUND);
	assert_int_equal(event_at(f->d, T2, 500, 1, NULL), STORE_ENOTFOUND);
	for (uint64_t tid = T0; tid <= T2; tid += 2) {
		seen s = list(f->d, tid, CONVSTORE_ALL, 0, 0);
		assert_int_equal(s.count, 0);
		s = list(f->d, tid, CONVSTORE_BY_STATUS, CS_OPEN, 0);
		assert_int_equal(s.count, 0);
		s = list(f->d, tid, CONVSTORE_BY_ASSIGNEE, 0, 0);
		assert_int_equal(s.count, 0);
		s = visitor_list(f->d, tid, V1);
		assert_int_equal(s.count, 0);
		s = events(f->d, tid, 500, 0, UINT64_MAX, SIZE_MAX, 0);
		assert_int_equal(s.count, 0);
		s = inbox(f->d, tid, 0, UINT64_MAX, SIZE_MAX, 0);
		assert_int_equal(s.count, 0);
		assert_int_equal(inbox_last(f->d, tid), 0);
	}
	/* an update naming another tenant does not reach T1's record */
	assert_int_equal(get(f->d, T1, 500, &r), 0);
	r.tid = T2;
	begin_update(&c, &r);
	assert_int_equal(apply_one(f->d, &c), STORE_ECONFLICT);
}

/* ---- undecodable records -------------------------------------------------------- */

static void test_corrupt_records(void **state)
{
	fix *f = *state;
	rec_conv good = seed(f->d, T1, 500, V1, 2);
	uint8_t k[24];
	put_raw(f->d, DB_CONVS, k, rec_key2(k, T1, 500), "\xc1 not msgpack", 14);
	put_raw(f->d, DB_EVENTS, k, rec_key3(k, T1, 500, 2), "\xc1", 1);
	rec_inbox ie = { .tid = T1, .cursor = 1, .type = IB_UPDATED, .cid = 500 };
	buf b = { 0 };
	assert_int_equal(rec_inbox_encode(&ie, &b), 0);
	put_raw(f->d, DB_INBOX, k, rec_key2(k, T1, 1), b.data, b.len);
	buf_free(&b);
	put_raw(f->d, DB_INBOX, k, rec_key2(k, T1, 2), "junk", 4);

	rec_conv r;
	assert_int_equal(get(f->d, T1, 500, &r), STORE_ECORRUPT);

	assert_int_equal(event_at(f->d, T1, 500, 2, NULL), STORE_ECORRUPT);
	assert_int_equal(event_at(f->d, T1, 500, 3, NULL), 0);

	/* walks hand the undecodable record over as NULL, with its key */
	seen s = events(f->d, T1, 500, 0, UINT64_MAX, SIZE_MAX, 0);
	const uint64_t seqs[] = { 1, 2, 3 };
	assert_seen(&s, seqs, 3);
	assert_false(s.null[0]);
	assert_true(s.null[1]);
	assert_false(s.null[2]);
	s = list(f->d, T1, CONVSTORE_ALL, 0, 0);
	const uint64_t one[] = { 500 };
	assert_seen(&s, one, 1);
	assert_true(s.null[0]);
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_OPEN, 0);
	assert_seen(&s, one, 1);
	assert_true(s.null[0]);
	s = visitor_list(f->d, T1, V1);
	assert_seen(&s, one, 1);
	assert_true(s.null[0]);
	s = inbox(f->d, T1, 0, UINT64_MAX, SIZE_MAX, 0);
	const uint64_t cursors[] = { 1, 2 };
	assert_seen(&s, cursors, 2);
	assert_false(s.null[0]);
	assert_true(s.null[1]);

	/* an update over an undecodable record is refused, nothing written */
	change c;
	begin_update(&c, &good);
	add_event(&c, EK_MESSAGE, "x");
	c.inbox = true;
	assert_int_equal(apply_one(f->d, &c), STORE_ECORRUPT);
	free_change(&c);
	assert_int_equal(inbox_last(f->d, T1), 2);
	s = events(f->d, T1, 500, 3, UINT64_MAX, SIZE_MAX, 0);
	assert_int_equal(s.count, 0);

	/* an index entry whose record is gone */
	put_raw(f->d, DB_CONV_STATUS, k, rec_key3(k, T1, CS_PENDING, 900), "", 0);
	const uint64_t ghost[] = { 900 };
	s = list(f->d, T1, CONVSTORE_BY_STATUS, CS_PENDING, 0);
	assert_seen(&s, ghost, 1);
	assert_true(s.null[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_stores_record_events_indexes_inbox, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_checks_seq_and_writes_nothing_when_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indexes_follow_status_and_assignee, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inbox_cursors_ascend_per_tenant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_walks_bounds_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_newest_first_below, setup, teardown),
		cmocka_unit_test_setup_teardown(test_visitor_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_tenant_never_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
