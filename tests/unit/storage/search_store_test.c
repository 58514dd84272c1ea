/* search_store_test — storage/search_store.c: the words of messages and
 * notes indexed per conversation with the newest seq, other events not;
 * visitor name and email as fields, moved when they change; the key
 * layout; the intersection of term, tag, status, assignee and "all" lists
 * newest first within id bounds, paging by stopping and resuming below
 * the last id; a term never matching a longer term it prefixes; tenants
 * apart (neighbouring tenants are written on purpose); indexing off. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/records.h"
#include "storage/search_store.h"
#include "tmpdb.h"

enum { T1 = 1000, T2 = 1001, T0 = 999 };

static rec_event *mk_event(uint64_t tid, uint64_t cid, uint64_t seq, int kind, const char *text)
{
	static rec_event evs[16];
	static int next;
	rec_event *e = &evs[next++ % 16];
	memset(e, 0, sizeof *e);
	e->tid = tid;
	e->cid = cid;
	e->seq = seq;
	e->kind = (uint8_t)kind;
	snprintf(e->text, sizeof e->text, "%s", text);
	return e;
}

static void mk_conv(rec_conv *c, uint64_t tid, uint64_t cid, const char *name, const char *email)
{
	memset(c, 0, sizeof *c);
	c->tid = tid;
	c->id = cid;
	snprintf(c->visitor_name, sizeof c->visitor_name, "%s", name);
	snprintf(c->visitor_email, sizeof c->visitor_email, "%s", email);
}

/* Indexes one text event of a new (or existing: old) conversation, committed. */
static void index_one(tmpdb *f, const rec_conv *old, const rec_conv *c, uint64_t seq, int kind, const char *text)
{
	store_txn *t = tmpdb_write(f);
	rec_event *e = mk_event(c->tid, c->id, seq, kind, text);
	assert_int_equal(searchstore_index(t, old, c, &e, text ? 1 : 0), 0);
	assert_int_equal(store_commit(t), 0);
}

typedef struct {
	uint64_t cid[64], seq[64][4];
	int n, nlists, stop_after;
} hits;

static bool on_hit(void *ctx, uint64_t cid, const uint64_t *seq)
{
	hits *h = ctx;
	assert_true(h->n < 64);
	h->cid[h->n] = cid;
	for (int i = 0; i < h->nlists && i < 4; i++)
		h->seq[h->n][i] = seq[i];
	h->n++;
	return !(h->stop_after && h->n == h->stop_after);
}

/* Runs a query of the words of q (text field) plus extra lists. */
static hits run(tmpdb *f, uint64_t tid, uint8_t field, const char *q, const search_list *extra, int nextra,
		uint64_t from, uint64_t upto, int stop_after)
{
	search_list l[SEARCH_LISTS_MAX];
	int n = 0;
	char qb[256];
	snprintf(qb, sizeof qb, "%s", q ? q : "");
	for (char *w = strtok(qb, " "); w; w = strtok(NULL, " "))
		assert_true(searchstore_term(&l[n++], field, w, strlen(w)));
	for (int i = 0; i < nextra; i++)
		l[n++] = extra[i];
	hits h = { .nlists = n, .stop_after = stop_after };
	store_txn t;
	assert_int_equal(store_read(f->d, &t), 0);
	assert_int_equal(searchstore_query(&t, tid, l, n, from, upto, on_hit, &h), 0);
	store_done(&t);
	return h;
}

static hits words(tmpdb *f, uint64_t tid, const char *q)
{
	return run(f, tid, SF_TEXT, q, NULL, 0, 0, UINT64_MAX, 0);
}

static void seed_three(tmpdb *f)
{
	rec_conv a, b, c, x0, x2;
	mk_conv(&a, T1, 10, "Alice Martin", "alice@example.com");
	mk_conv(&b, T1, 20, "Bob", "bob@example.org");
	mk_conv(&c, T1, 30, "Élodie", "");
	mk_conv(&x0, T0, 25, "Alice", "alice@example.com");
	mk_conv(&x2, T2, 15, "Alice", "alice@example.com");
	index_one(f, NULL, &a, 2, EK_MESSAGE, "My order has not arrived");
	index_one(f, &a, &a, 3, EK_MESSAGE, "Order 1234, please refund");
	index_one(f, NULL, &b, 2, EK_MESSAGE, "Refund my order please");
	index_one(f, NULL, &c, 2, EK_NOTE, "VIP customer, refund approved");
	index_one(f, &c, &c, 3, EK_STATUS, "order");            /* not a text event: not indexed */
	index_one(f, NULL, &x0, 2, EK_MESSAGE, "order refund");
	index_one(f, NULL, &x2, 2, EK_MESSAGE, "order refund");
}

static void test_words_newest_first(void **state)
{
	tmpdb *f = *state;
	seed_three(f);
	hits h = words(f, T1, "refund");
	assert_int_equal(h.n, 3);
	assert_int_equal(h.cid[0], 30);
	assert_int_equal(h.cid[1], 20);
	assert_int_equal(h.cid[2], 10);
	h = words(f, T1, "order");
	assert_int_equal(h.n, 2);           /* 30's "order" was a status event */
	assert_int_equal(h.cid[0], 20);
	assert_int_equal(h.cid[1], 10);
	assert_int_equal(h.seq[1][0], 2);   /* its first message with it, not 3 */
	h = words(f, T1, "arrived");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.seq[0][0], 2);
	rec_conv big;
	mk_conv(&big, T1, 40, "", "");
	index_one(f, NULL, &big, 300000, EK_MESSAGE, "multibyte seq");   /* 3 LEB128 bytes */
	h = words(f, T1, "multibyte");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.seq[0][0], 300000);
	h = words(f, T1, "nothing");
	assert_int_equal(h.n, 0);
}

static void test_and(void **state)
{
	tmpdb *f = *state;
	seed_three(f);
	hits h = words(f, T1, "order refund");
	assert_int_equal(h.n, 2);
	assert_int_equal(h.cid[0], 20);
	assert_int_equal(h.cid[1], 10);
	assert_int_equal(h.seq[1][0], 2);   /* "order" first at 2, not 3 */
	assert_int_equal(h.seq[1][1], 3);   /* "refund" only at 3 */
	h = words(f, T1, "arrived refund");  /* in two messages of one conversation */
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 10);
	assert_int_equal(h.seq[0][0], 2);
	assert_int_equal(h.seq[0][1], 3);
	h = words(f, T1, "vip order");
	assert_int_equal(h.n, 0);
}

static void test_tenants_apart(void **state)
{
	tmpdb *f = *state;
	seed_three(f);
	hits h = words(f, T2, "order refund");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 15);
	h = words(f, T0, "refund");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 25);
	h = words(f, 5, "refund");
	assert_int_equal(h.n, 0);
}

static void test_fields(void **state)
{
	tmpdb *f = *state;
	seed_three(f);
	hits h = run(f, T1, SF_NAME, "alice", NULL, 0, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 10);
	h = run(f, T1, SF_EMAIL, "example", NULL, 0, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 2);
	h = run(f, T1, SF_EMAIL, "alice example com", NULL, 0, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 1);
	h = run(f, T1, SF_NAME, "elodie", NULL, 0, 0, UINT64_MAX, 0);   /* accents folded */
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 30);
	/* name words are text terms too (seq 0 when no message has them) */
	h = words(f, T1, "martin");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.seq[0][0], 0);
	/* an email word is not a text term */
	h = words(f, T1, "example");
	assert_int_equal(h.n, 0);
	/* a name change moves the name and email terms */
	rec_conv a, a2;
	mk_conv(&a, T1, 10, "Alice Martin", "alice@example.com");
	mk_conv(&a2, T1, 10, "Alicia Keys", "ak@example.net");
	index_one(f, &a, &a2, 4, EK_MESSAGE, NULL);
	assert_int_equal(run(f, T1, SF_NAME, "alice", NULL, 0, 0, UINT64_MAX, 0).n, 0);
	assert_int_equal(run(f, T1, SF_NAME, "keys", NULL, 0, 0, UINT64_MAX, 0).n, 1);
	assert_int_equal(run(f, T1, SF_EMAIL, "alice", NULL, 0, 0, UINT64_MAX, 0).n, 0);
	assert_int_equal(run(f, T1, SF_EMAIL, "ak", NULL, 0, 0, UINT64_MAX, 0).n, 1);
	/* a message that has the old name's word keeps its text posting */
	h = words(f, T1, "order refund");
	assert_int_equal(h.n, 2);
}

static void test_key_layout(void **state)
{
	tmpdb *f = *state;
	rec_conv c;
	mk_conv(&c, T1, 0x0102030405060708ull, "", "");
	index_one(f, NULL, &c, 7, EK_MESSAGE, "Café");
	uint8_t k[8 + 4 + 1 + 8];
	db_be64(k, T1);
	memcpy(k + 8, "cafe", 4);
	k[12] = 0;
	db_be64(k + 13, c.id);
	store_txn t;
	assert_int_equal(store_read(f->d, &t), 0);
	MDB_val v;
	assert_int_equal(db_get(f->d, t.txn, DB_SEARCH, k, sizeof k, &v), 0);
	assert_int_equal(v.mv_size, 1);
	assert_int_equal(((const uint8_t *)v.mv_data)[0], 7);
	store_done(&t);
}

static void test_prefix_terms(void **state)
{
	tmpdb *f = *state;
	rec_conv a, b;
	mk_conv(&a, T1, 10, "", "");
	mk_conv(&b, T1, 11, "", "");
	index_one(f, NULL, &a, 1, EK_MESSAGE, "ab");
	index_one(f, NULL, &b, 1, EK_MESSAGE, "abc");
	hits h = words(f, T1, "ab");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 10);
	h = words(f, T1, "abc");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 11);
}

/* puts tid · key · cid → "" in an index table (what the other stores keep) */
static void put_index(tmpdb *f, enum db_table tb, uint64_t tid, uint64_t key, uint64_t cid)
{
	store_txn *t = tmpdb_write(f);
	uint8_t k[24];
	assert_int_equal(db_put(f->d, t->txn, tb, k, rec_key3(k, tid, key, cid), "", 0), 0);
	assert_int_equal(store_commit(t), 0);
}

static void test_filters(void **state)
{
	tmpdb *f = *state;
	seed_three(f);
	put_index(f, DB_TAG_CONVS, T1, 7, 10);
	put_index(f, DB_TAG_CONVS, T1, 7, 30);
	put_index(f, DB_TAG_CONVS, T2, 7, 15);
	put_index(f, DB_CONV_STATUS, T1, CS_OPEN, 10);
	put_index(f, DB_CONV_STATUS, T1, CS_OPEN, 20);
	put_index(f, DB_CONV_STATUS, T1, CS_RESOLVED, 30);
	put_index(f, DB_CONV_ASSIGNEE, T1, 0, 10);
	put_index(f, DB_CONV_ASSIGNEE, T1, 99, 20);
	put_index(f, DB_CONV_ASSIGNEE, T1, 99, 30);
	search_list tag = { .kind = SL_TAG, .key = 7 }, open = { .kind = SL_STATUS, .key = CS_OPEN },
		    mine = { .kind = SL_ASSIGNEE, .key = 99 }, none = { .kind = SL_ASSIGNEE, .key = 0 };
	hits h = run(f, T1, SF_TEXT, "refund", &tag, 1, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.cid[0], 30);
	assert_int_equal(h.cid[1], 10);
	h = run(f, T1, SF_TEXT, NULL, &tag, 1, 0, UINT64_MAX, 0);      /* the tag alone */
	assert_int_equal(h.n, 2);
	search_list two[] = { tag, open };
	h = run(f, T1, SF_TEXT, "refund", two, 2, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 10);
	search_list m2[] = { mine, open };
	h = run(f, T1, SF_TEXT, "order", m2, 2, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 20);
	h = run(f, T1, SF_TEXT, NULL, &none, 1, 0, UINT64_MAX, 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.cid[0], 10);
	/* the "all" list: every conversation (DB_CONVS keys) */
	store_txn *t = tmpdb_write(f);
	uint8_t k[16];
	for (uint64_t cid = 10; cid <= 30; cid += 10)
		assert_int_equal(db_put(f->d, t->txn, DB_CONVS, k, rec_key2(k, T1, cid), "x", 1), 0);
	assert_int_equal(db_put(f->d, t->txn, DB_CONVS, k, rec_key2(k, T2, 12), "x", 1), 0);
	assert_int_equal(store_commit(t), 0);
	search_list all = { .kind = SL_ALL };
	h = run(f, T1, SF_TEXT, NULL, &all, 1, 15, 30, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.cid[0], 30);
	assert_int_equal(h.cid[1], 20);
}

static void test_bounds_and_paging(void **state)
{
	tmpdb *f = *state;
	for (uint64_t cid = 100; cid < 140; cid++) {
		rec_conv c;
		mk_conv(&c, T1, cid, "", "");
		index_one(f, NULL, &c, 1, EK_MESSAGE, cid % 2 ? "odd shipping" : "even shipping");
	}
	hits h = words(f, T1, "shipping");
	assert_int_equal(h.n, 40);
	/* pages of 7, each below the last id seen */
	uint64_t upto = UINT64_MAX;
	int total = 0;
	uint64_t prev = UINT64_MAX;
	for (;;) {
		h = run(f, T1, SF_TEXT, "odd shipping", NULL, 0, 0, upto, 7);
		for (int i = 0; i < h.n; i++) {
			assert_true(h.cid[i] < prev && h.cid[i] % 2 == 1);
			prev = h.cid[i];
		}
		total += h.n;
		if (h.n < 7)
			break;
		upto = h.cid[h.n - 1] - 1;
	}
	assert_int_equal(total, 20);
	h = run(f, T1, SF_TEXT, "even", NULL, 0, 110, 119, 0);
	assert_int_equal(h.n, 5);
	assert_int_equal(h.cid[0], 118);
	assert_int_equal(h.cid[4], 110);
}

/* A posting keeps the first event with its term: later messages with the
 * word leave it as it is (no rewrite), and a new word of a later message
 * gets that message's seq. */
static void test_first_seq(void **state)
{
	tmpdb *f = *state;
	rec_conv c;
	mk_conv(&c, T1, 10, "", "");
	for (uint64_t seq = 1; seq <= 40; seq++) {
		index_one(f, seq == 1 ? NULL : &c, &c, seq, EK_MESSAGE, seq == 25 ? "again late" : "again");
		hits h = words(f, T1, "again");
		assert_int_equal(h.n, 1);
		assert_int_equal(h.seq[0][0], 1);
	}
	hits h = words(f, T1, "late");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.seq[0][0], 25);
}

/* A text of more distinct words than the small scratch holds: every word
 * is indexed, up to the last. */
static void test_long_text(void **state)
{
	tmpdb *f = *state;
	static char text[8192];
	size_t o = 0;
	for (int i = 0; i < 600; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "w%dx ", i);
	rec_conv c;
	mk_conv(&c, T1, 10, "", "");
	index_one(f, NULL, &c, 1, EK_MESSAGE, text);
	assert_int_equal(words(f, T1, "w0x").n, 1);
	assert_int_equal(words(f, T1, "w63x").n, 1);
	assert_int_equal(words(f, T1, "w64x").n, 1);
	assert_int_equal(words(f, T1, "w599x").n, 1);
	assert_int_equal(words(f, T1, "w600x").n, 0);
	/* then a short one again: the small scratch */
	index_one(f, &c, &c, 2, EK_MESSAGE, "short again");
	assert_int_equal(words(f, T1, "short").n, 1);
}

/* The cache of known postings: a removed posting is forgotten (a name
 * changed away and back is findable again), and what a transaction that
 * did not commit taught it is dropped (the words are written again). */
static void test_cache(void **state)
{
	tmpdb *f = *state;
	rec_conv a, b;
	mk_conv(&a, T1, 10, "Olga", "");
	mk_conv(&b, T1, 10, "Irina", "");
	index_one(f, NULL, &a, 1, EK_MESSAGE, "hello");
	index_one(f, &a, &b, 2, EK_MESSAGE, NULL);
	index_one(f, &b, &a, 3, EK_MESSAGE, NULL);
	assert_int_equal(run(f, T1, SF_NAME, "olga", NULL, 0, 0, UINT64_MAX, 0).n, 1);
	assert_int_equal(run(f, T1, SF_NAME, "irina", NULL, 0, 0, UINT64_MAX, 0).n, 0);
	/* a write the cache sees, then not committed */
	rec_conv c;
	mk_conv(&c, T1, 20, "", "");
	store_txn *t = tmpdb_write(f);
	rec_event *e = mk_event(T1, 20, 1, EK_MESSAGE, "walnut");
	assert_int_equal(searchstore_index(t, NULL, &c, &e, 1), 0);
	store_done(t);
	db_note_abort(f->d);
	assert_int_equal(words(f, T1, "walnut").n, 0);
	index_one(f, &c, &c, 1, EK_MESSAGE, "walnut");
	assert_int_equal(words(f, T1, "walnut").n, 1);
	/* more words than the cache holds (evictions), each message twice:
	 * every word found, once */
	rec_conv d;
	mk_conv(&d, T1, 30, "", "");
	static char text[REC_TEXT_MAX + 1];
	for (int round = 0; round < 2; round++)
		for (int m = 0; m < 70; m++) {
			size_t o = 0;
			for (int i = 0; i < 1000; i++)
				o += (size_t)snprintf(text + o, sizeof text - o, "q%dx ", m * 1000 + i);
			index_one(f, m || round ? &d : NULL, &d, (uint64_t)(round * 70 + m + 1), EK_MESSAGE, text);
		}
	assert_true(70000 > SEARCH_CACHE_SLOTS);
	for (int i = 0; i < 70000; i += 997) {
		char w[16];
		snprintf(w, sizeof w, "q%dx", i);
		hits h = words(f, T1, w);
		assert_int_equal(h.n, 1);
		assert_int_equal(h.cid[0], 30);
		assert_int_equal(h.seq[0][0], (uint64_t)(i / 1000 + 1));   /* the first message: not rewritten */
	}
}

static void test_off(void **state)
{
	tmpdb *f = *state;
	searchstore_set_enabled(f->d, false);
	rec_conv c;
	mk_conv(&c, T1, 10, "Alice", "a@b.c");
	index_one(f, NULL, &c, 1, EK_MESSAGE, "refund");
	searchstore_set_enabled(f->d, true);
	assert_int_equal(words(f, T1, "refund").n, 0);
	assert_int_equal(words(f, T1, "alice").n, 0);
}

/* Stores conversation cid of tenant tid with messages, unindexed (as an
 * earlier release did): the real conversation write with indexing off. */
static void store_old(tmpdb *f, uint64_t tid, uint64_t cid, const char *name, const char *const *texts, int n)
{
	rec_conv c;
	mk_conv(&c, tid, cid, name, "");
	rec_event *ev[8];
	for (int i = 0; i < n; i++)
		ev[i] = calloc(1, sizeof(rec_event));
	for (int i = 0; i < n; i++) {
		ev[i]->tid = tid;
		ev[i]->cid = cid;
		ev[i]->seq = (uint64_t)i + 1;
		ev[i]->kind = i == 0 ? EK_CREATED : EK_MESSAGE;
		snprintf(ev[i]->text, sizeof ev[i]->text, "%s", texts[i]);
	}
	c.last_seq = (uint64_t)n;
	convstore_change ch = { .kind = CONVSTORE_CREATE, .conv = &c, .ev = ev, .nev = n };
	searchstore_set_enabled(f->d, false);
	store_txn *t = tmpdb_write(f);
	assert_int_equal(convstore_write(t, &ch), 0);
	assert_int_equal(store_commit(t), 0);
	searchstore_set_enabled(f->d, true);
	for (int i = 0; i < n; i++)
		free(ev[i]);
}

static int backfill(tmpdb *f, int convs)
{
	store_txn *t = tmpdb_write(f);
	int n = searchstore_backfill(t, convs);
	assert_true(n >= 0);
	assert_int_equal(store_commit(t), 0);
	return n;
}

static void test_backfill(void **state)
{
	tmpdb *f = *state;
	const char *a[] = { "created, not a message", "where is my parcel", "the parcel arrived" };
	const char *b[] = { "", "refund please" };
	const char *c[] = { "", "parcel refund" };
	store_old(f, T1, 10, "Olga", a, 3);
	store_old(f, T1, 11, "Ivan", b, 2);
	store_old(f, T2, 12, "Olga", c, 2);
	assert_int_equal(words(f, T1, "parcel").n, 0);      /* not indexed when stored */
	/* two conversations a call: three calls, the last finds nothing left */
	assert_int_equal(backfill(f, 2), 2);
	assert_int_equal(words(f, T1, "parcel").n, 1);
	assert_int_equal(words(f, T2, "parcel").n, 0);      /* not reached yet */
	assert_int_equal(backfill(f, 2), 1);
	assert_int_equal(backfill(f, 2), 0);
	assert_int_equal(backfill(f, 2), 0);                /* done: the mark says so */
	hits h = words(f, T1, "parcel");
	assert_int_equal(h.n, 1);
	assert_int_equal(h.seq[0][0], 2);                   /* the first, not 3 */
	assert_int_equal(words(f, T1, "created").n, 0);     /* not a message */
	assert_int_equal(words(f, T1, "refund").n, 1);
	assert_int_equal(words(f, T2, "parcel refund").n, 1);
	assert_int_equal(run(f, T1, SF_NAME, "olga", NULL, 0, 0, UINT64_MAX, 0).n, 1);
	/* a conversation stored after the backfill is not walked again */
	store_old(f, T1, 13, "Late", b, 2);
	assert_int_equal(backfill(f, 10), 0);
	assert_int_equal(words(f, T1, "refund").n, 1);
}

static void test_backfill_empty(void **state)
{
	tmpdb *f = *state;
	assert_int_equal(backfill(f, 1000), 0);             /* a new data directory */
	const char *b[] = { "", "refund please" };
	store_old(f, T1, 11, "Ivan", b, 2);
	assert_int_equal(backfill(f, 1000), 0);
}

static void test_bad_lists(void **state)
{
	tmpdb *f = *state;
	store_txn t;
	assert_int_equal(store_read(f->d, &t), 0);
	search_list l = { .kind = 99 };
	hits h = { 0 };
	assert_int_equal(searchstore_query(&t, T1, &l, 1, 0, UINT64_MAX, on_hit, &h), STORE_ECONFLICT);
	assert_int_equal(searchstore_query(&t, T1, &l, 0, 0, UINT64_MAX, on_hit, &h), STORE_ECONFLICT);
	l.kind = SL_TERM;
	assert_int_equal(searchstore_query(&t, T1, &l, 1, 0, UINT64_MAX, on_hit, &h), STORE_ECONFLICT);
	store_done(&t);
	store_txn *w = tmpdb_write(f);
	uint8_t k[16];
	assert_int_equal(db_put(f->d, w->txn, DB_TAGS, k, rec_key2(k, T1, 5), "x", 1), 0);
	assert_int_equal(searchstore_known(w, T1, SK_TAG, 5), 0);
	assert_int_equal(searchstore_known(w, T2, SK_TAG, 5), STORE_ENOTFOUND);
	assert_int_equal(searchstore_known(w, T1, SK_TAG, 6), STORE_ENOTFOUND);
	assert_int_equal(searchstore_known(w, T1, 9, 6), STORE_ECONFLICT);
	store_done(w);
	assert_false(searchstore_term(&l, SF_TEXT, "x", 0));
	assert_false(searchstore_term(&l, SF_TEXT, "x", TEXT_TERM_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_words_newest_first, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_and, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_tenants_apart, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_fields, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_key_layout, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_prefix_terms, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_filters, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_bounds_and_paging, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_first_seq, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_long_text, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_cache, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_off, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_bad_lists, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_backfill, tmpdb_setup, tmpdb_teardown),
		cmocka_unit_test_setup_teardown(test_backfill_empty, tmpdb_setup, tmpdb_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
