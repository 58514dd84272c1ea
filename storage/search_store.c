/* search_store — the search index (search_store.h). */
#include "storage/search_store.h"
#include "storage/db.h"

#include <stdlib.h>
#include <string.h>

void searchstore_set_enabled(db *d, bool on)
{
	db_set_search_index(d, on);
}

bool searchstore_enabled(db *d)
{
	return db_search_index(d);
}

bool searchstore_term(search_list *l, uint8_t field, const char *t, size_t len)
{
	if (len == 0 || len > TEXT_TERM_MAX)
		return false;
	memset(l, 0, sizeof *l);
	l->kind = SL_TERM;
	l->field = field;
	l->len = (uint8_t)len;
	memcpy(l->t, t, len);
	return true;
}

/* tid · [field] · term · 0 (the prefix of a term's postings); its length */
static size_t term_prefix(uint8_t *k, uint64_t tid, uint8_t field, const char *t, size_t len)
{
	size_t n = rec_key1(k, tid);
	if (field != SF_TEXT)
		k[n++] = field;
	memcpy(k + n, t, len);
	n += len;
	k[n++] = 0;
	return n;
}

#define KEY_MAX (8 + 1 + TEXT_TERM_MAX + 1 + 8)

int searchstore_known(store_txn *t, uint64_t tid, int what, uint64_t id)
{
	if (what != SK_TAG)
		return STORE_ECONFLICT;
	uint8_t k[16];
	int rc = db_absent(t->db, t->txn, DB_TAGS, k, rec_key2(k, tid, id));
	return rc == STORE_EEXISTS ? 0 : rc == 0 ? STORE_ENOTFOUND : rc;
}

/* ---------- writing ---------- */

/* The distinct terms of one text. */
typedef struct {
	char (*t)[TEXT_TERM_MAX];
	uint8_t *len;
	size_t n, cap;
} term_set;

static bool collect(void *ctx, const char *t, size_t len)
{
	term_set *s = ctx;
	if (s->n < s->cap) {
		memcpy(s->t[s->n], t, len);
		s->len[s->n++] = (uint8_t)len;
	}
	return true;
}

static int cmp_term(const term_set *s, size_t a, size_t b)
{
	size_t m = s->len[a] < s->len[b] ? s->len[a] : s->len[b];
	int c = memcmp(s->t[a], s->t[b], m);
	return c ? c : (int)s->len[a] - (int)s->len[b];
}

/* Sorts (insertion sort over an index: texts are short) and drops repeats;
 * the order of puts then follows the keys, which keeps the B-tree walk local. */
static void dedupe(term_set *s, size_t *order, size_t *out_n)
{
	for (size_t i = 0; i < s->n; i++) {
		size_t j = i;
		order[j] = i;
		while (j > 0 && cmp_term(s, order[j - 1], i) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	size_t m = 0;
	for (size_t i = 0; i < s->n; i++)
		if (m == 0 || cmp_term(s, order[m - 1], order[i]) != 0)
			order[m++] = order[i];
	*out_n = m;
}

/* Term scratch: a small one on the stack covers a chat message; a long
 * text (up to TEXT_TERMS_MAX terms) gets a heap one sized to it. */
#define SCRATCH_SMALL 64

typedef struct {
	term_set s;
	size_t *order;
	char small_t[SCRATCH_SMALL][TEXT_TERM_MAX];
	uint8_t small_len[SCRATCH_SMALL];
	size_t small_order[SCRATCH_SMALL];
	bool heap;
} scratch;

static void scratch_init(scratch *x)
{
	x->s.t = x->small_t;
	x->s.len = x->small_len;
	x->order = x->small_order;
	x->s.cap = SCRATCH_SMALL;
	x->s.n = 0;
	x->heap = false;
}

static void scratch_free(scratch *x)
{
	if (x->heap) {
		free(x->s.t);
		free(x->s.len);
		free(x->order);
	}
	scratch_init(x);
}

/* Room for the terms of a text of len bytes (a term takes a byte at least). */
static int scratch_fit(scratch *x, size_t len)
{
	size_t want = len < TEXT_TERMS_MAX ? len + 1 : TEXT_TERMS_MAX;
	if (want <= x->s.cap)
		return 0;
	scratch_free(x);
	x->s.t = malloc(sizeof *x->s.t * want);
	x->s.len = malloc(want);
	x->order = malloc(sizeof *x->order * want);
	x->heap = true;
	x->s.cap = want;
	if (x->s.t && x->s.len && x->order)
		return 0;
	scratch_free(x);
	return STORE_ENOMEM;
}

static uint64_t leb128(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0, sh = 0; i < n && i < 10; i++, sh += 7) {
		v |= (uint64_t)(p[i] & 0x7f) << sh;
		if (!(p[i] & 0x80))
			break;
	}
	return v;
}

/* ---------- the cache of known postings (search_store.h) ---------- */

#define CACHE_WAYS 4
#define CACHE_KEY_MAX 59           /* KEY_MAX: a slot is 64 bytes */

typedef struct {
	uint32_t hash;             /* 0: empty */
	uint8_t len;
	uint8_t key[CACHE_KEY_MAX];
} cache_slot;

struct search_cache {
	uint64_t aborts;           /* db_aborts when the cache was last emptied or valid */
	uint32_t next;             /* round-robin victim within a full set */
	cache_slot slot[SEARCH_CACHE_SLOTS];
};

_Static_assert(sizeof(cache_slot) == 64, "a cache slot is 64 bytes");
_Static_assert(KEY_MAX <= CACHE_KEY_MAX, "a posting key fits a slot");

void searchstore_cache_free(struct search_cache **c)
{
	free(*c);
	*c = NULL;
}

/* The database's cache, made on first use, emptied when a write
 * transaction failed since it was last used; NULL without memory. */
static struct search_cache *cache_of(db *d)
{
	struct search_cache **cp = db_search_cache(d);
	if (!*cp) {
		/* every page touched now, not one by one as keys come */
		*cp = malloc(sizeof **cp);
		if (!*cp)
			return NULL;
		memset(*cp, 0, sizeof **cp);
		(*cp)->aborts = db_aborts(d);
	} else if ((*cp)->aborts != db_aborts(d)) {
		memset((*cp)->slot, 0, sizeof (*cp)->slot);
		(*cp)->aborts = db_aborts(d);
	}
	return *cp;
}

static uint32_t key_hash(const uint8_t *k, size_t n)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h ? h : 1;
}

static cache_slot *cache_find(struct search_cache *c, const uint8_t *k, size_t n, uint32_t h)
{
	cache_slot *set = &c->slot[(h % (SEARCH_CACHE_SLOTS / CACHE_WAYS)) * CACHE_WAYS];
	for (int i = 0; i < CACHE_WAYS; i++)
		if (set[i].hash == h && set[i].len == n && memcmp(set[i].key, k, n) == 0)
			return &set[i];
	return NULL;
}

static void cache_add(struct search_cache *c, const uint8_t *k, size_t n, uint32_t h)
{
	cache_slot *set = &c->slot[(h % (SEARCH_CACHE_SLOTS / CACHE_WAYS)) * CACHE_WAYS], *s = NULL;
	for (int i = 0; i < CACHE_WAYS && !s; i++)
		if (!set[i].hash)
			s = &set[i];
	if (!s)
		s = &set[c->next++ % CACHE_WAYS];
	s->hash = h;
	s->len = (uint8_t)n;
	memcpy(s->key, k, n);
}

/* What to do with each distinct term of a text. */
enum term_op { OP_ADD, OP_DEL };

/* OP_ADD puts each (term, conversation) posting that is not there yet,
 * with seq: one descent, and a posting already there is left as it is
 * (its page stays clean) — no descent at all when the cache c (NULL:
 * none) knows it; OP_DEL removes them. */
static int each_term(store_txn *t, struct search_cache *c, scratch *x, uint64_t tid, uint64_t cid, uint8_t field,
		     const char *text, int op, uint64_t seq)
{
	size_t tl = strlen(text);
	int rc = scratch_fit(x, tl);
	if (rc)
		return rc;
	x->s.n = 0;
	if (text_terms(text, tl, x->s.cap, collect, &x->s) < 0)
		return STORE_ENOMEM;
	size_t m;
	dedupe(&x->s, x->order, &m);
	uint8_t k[KEY_MAX], v[10];
	size_t vl = 0;
	for (uint64_t rest = seq; vl == 0 || rest; rest >>= 7)   /* LEB128: 1-3 bytes for real seqs */
		v[vl++] = (uint8_t)((rest & 0x7f) | (rest >> 7 ? 0x80 : 0));
	for (size_t i = 0; i < m; i++) {
		size_t j = x->order[i];
		size_t n = term_prefix(k, tid, field, x->s.t[j], x->s.len[j]);
		db_be64(k + n, cid);
		n += 8;
		uint32_t h = c ? key_hash(k, n) : 0;
		cache_slot *known = c ? cache_find(c, k, n, h) : NULL;
		if (op == OP_DEL) {
			if (known)
				known->hash = 0;
			rc = db_del(t->db, t->txn, DB_SEARCH, k, n);
		} else if (known) {
			rc = 0;
		} else if ((rc = db_put_new(t->db, t->txn, DB_SEARCH, k, n, v, vl)) == 0 || rc == STORE_EEXISTS) {
			rc = 0;
			if (c)
				cache_add(c, k, n, h);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int index_visitor(store_txn *t, struct search_cache *k, scratch *x, const rec_conv *old, const rec_conv *c)
{
	int rc = 0;
	bool name_new = !old || strcmp(old->visitor_name, c->visitor_name) != 0;
	bool email_new = !old || strcmp(old->visitor_email, c->visitor_email) != 0;
	if (old && name_new)
		rc = each_term(t, k, x, c->tid, c->id, SF_NAME, old->visitor_name, OP_DEL, 0);
	if (rc == 0 && old && email_new)
		rc = each_term(t, k, x, c->tid, c->id, SF_EMAIL, old->visitor_email, OP_DEL, 0);
	if (rc == 0 && name_new)
		rc = each_term(t, k, x, c->tid, c->id, SF_NAME, c->visitor_name, OP_ADD, 0);
	if (rc == 0 && name_new)
		rc = each_term(t, k, x, c->tid, c->id, SF_TEXT, c->visitor_name, OP_ADD, 0);
	if (rc == 0 && email_new)
		rc = each_term(t, k, x, c->tid, c->id, SF_EMAIL, c->visitor_email, OP_ADD, 0);
	return rc;
}

int searchstore_index(store_txn *t, const rec_conv *old, const rec_conv *c, rec_event *const *ev, int nev)
{
	if (!searchstore_enabled(t->db))
		return 0;
	bool visitor = !old || strcmp(old->visitor_name, c->visitor_name) != 0 ||
		       strcmp(old->visitor_email, c->visitor_email) != 0;
	bool texts = false;
	for (int i = 0; i < nev && !texts; i++)
		texts = (ev[i]->kind == EK_MESSAGE || ev[i]->kind == EK_NOTE) && ev[i]->text[0];
	if (!visitor && !texts)
		return 0;
	scratch x;
	scratch_init(&x);
	struct search_cache *k = cache_of(t->db);
	int rc = 0;
	if (visitor)
		rc = index_visitor(t, k, &x, old, c);
	for (int i = 0; rc == 0 && i < nev; i++) {
		const rec_event *e = ev[i];
		if ((e->kind == EK_MESSAGE || e->kind == EK_NOTE) && e->text[0])
			rc = each_term(t, k, &x, c->tid, c->id, SF_TEXT, e->text, OP_ADD, e->seq);
	}
	scratch_free(&x);
	return rc;
}

/* ---------- the backfill ---------- */

/* DB_META "search": 1 byte 1 when done, else the 16-byte tid · cid of the
 * last conversation indexed so far. */
#define MARK "search"

int searchstore_backfill(store_txn *t, int convs)
{
	scratch x;
	rec_conv *c = malloc(sizeof *c);
	rec_event *e = malloc(sizeof *e);
	MDB_cursor *cc = NULL, *ec = NULL;
	scratch_init(&x);
	int rc = !c || !e ? STORE_ENOMEM : 0;
	if (rc == 0 && (mdb_cursor_open(t->txn, db_dbi(t->db, DB_CONVS), &cc) ||
			mdb_cursor_open(t->txn, db_dbi(t->db, DB_EVENTS), &ec)))
		rc = STORE_EIO;
	int n = 0, mrc = MDB_NOTFOUND;
	uint8_t last[16];
	MDB_val k, cv;
	bool before = false;   /* the walk was done before this call */
	if (rc == 0 && (rc = db_walk_begin(t->db, t->txn, MARK, cc, &k, &cv, &mrc)) == 1) {
		rc = 0;
		before = true;
	}
	while (!before && rc == 0 && mrc == 0 && n < convs) {
		memcpy(last, k.mv_data, k.mv_size == 16 ? 16 : 0);
		if (k.mv_size == 16 && rec_conv_decode(cv.mv_data, cv.mv_size, c) == 0) {
			rc = index_visitor(t, NULL, &x, NULL, c);
			/* its events: tid · cid · seq */
			uint8_t ek[24];
			memcpy(ek, k.mv_data, 16);
			db_be64(ek + 16, 0);
			MDB_val key = { 24, ek }, ev;
			int erc = rc ? MDB_NOTFOUND : mdb_cursor_get(ec, &key, &ev, MDB_SET_RANGE);
			while (rc == 0 && erc == 0 && key.mv_size == 24 && memcmp(key.mv_data, last, 16) == 0) {
				if (rec_event_decode(ev.mv_data, ev.mv_size, e) == 0 &&
				    (e->kind == EK_MESSAGE || e->kind == EK_NOTE) && e->text[0])
					rc = each_term(t, NULL, &x, c->tid, c->id, SF_TEXT, e->text, OP_ADD, e->seq);
				erc = rc ? MDB_NOTFOUND : mdb_cursor_get(ec, &key, &ev, MDB_NEXT);
			}
			if (rc == 0 && erc != 0 && erc != MDB_NOTFOUND)
				rc = STORE_EIO;
			n++;
		}
		mrc = rc ? MDB_NOTFOUND : mdb_cursor_get(cc, &k, &cv, MDB_NEXT);
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = STORE_EIO;
	if (cc)
		mdb_cursor_close(cc);
	if (ec)
		mdb_cursor_close(ec);
	scratch_free(&x);
	free(c);
	free(e);
	if (rc || before)
		return rc;
	/* the end reached: done from now on */
	rc = db_walk_end(t->db, t->txn, MARK, n < convs || mrc == MDB_NOTFOUND ? NULL : last);
	return rc ? rc : n;
}

/* ---------- the query ---------- */

typedef struct {
	MDB_cursor *cur;
	uint8_t prefix[KEY_MAX];
	size_t plen;
	bool term;                 /* the value is a seq */
} list_cursor;

/* The greatest id <= cand in the list: 1 (in *cid, *seq), 0 none, or STORE_EIO. */
static int seek(list_cursor *l, uint64_t cand, uint64_t *cid, uint64_t *seq)
{
	uint8_t k[KEY_MAX];
	memcpy(k, l->prefix, l->plen);
	db_be64(k + l->plen, cand);
	MDB_val key = { l->plen + 8, k }, v;
	int rc = mdb_cursor_get(l->cur, &key, &v, MDB_SET_RANGE);
	if (rc == 0 && !(key.mv_size == l->plen + 8 && memcmp(key.mv_data, k, l->plen + 8) == 0))
		rc = mdb_cursor_get(l->cur, &key, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(l->cur, &key, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return STORE_EIO;
	if (key.mv_size != l->plen + 8 || memcmp(key.mv_data, l->prefix, l->plen) != 0)
		return 0;
	*cid = db_get_be64((const uint8_t *)key.mv_data + l->plen);
	*seq = l->term ? leb128(v.mv_data, v.mv_size) : 0;   /* LEB128 (search_store.h) */
	return 1;
}

static int open_list(store_txn *t, uint64_t tid, const search_list *s, list_cursor *l)
{
	enum db_table tb;
	l->term = false;
	switch (s->kind) {
	case SL_TERM:
		if (s->len == 0 || s->len > TEXT_TERM_MAX)
			return STORE_ECONFLICT;
		tb = DB_SEARCH;
		l->term = true;
		l->plen = term_prefix(l->prefix, tid, s->field, s->t, s->len);
		break;
	case SL_TAG:
	case SL_STATUS:
	case SL_ASSIGNEE:
		tb = s->kind == SL_TAG ? DB_TAG_CONVS : s->kind == SL_STATUS ? DB_CONV_STATUS : DB_CONV_ASSIGNEE;
		l->plen = rec_key2(l->prefix, tid, s->key);
		break;
	case SL_ALL:
		tb = DB_CONVS;
		l->plen = rec_key1(l->prefix, tid);
		break;
	default:
		return STORE_ECONFLICT;
	}
	return mdb_cursor_open(t->txn, db_dbi(t->db, tb), &l->cur) ? STORE_EIO : 0;
}

int searchstore_query(store_txn *t, uint64_t tid, const search_list *lists, int n, uint64_t from,
		      uint64_t upto, searchstore_hit_fn fn, void *ctx)
{
	if (n < 1 || n > SEARCH_LISTS_MAX)
		return STORE_ECONFLICT;
	list_cursor *l = calloc((size_t)n, sizeof *l);
	if (!l)
		return STORE_ENOMEM;
	int rc = 0, opened = 0;
	for (; opened < n && rc == 0; opened++)
		if ((rc = open_list(t, tid, &lists[opened], &l[opened])) != 0)
			break;
	uint64_t seqs[SEARCH_LISTS_MAX] = { 0 };
	uint64_t cand = upto;
	int agree = 0, i = 0;
	while (rc == 0 && cand >= from) {
		uint64_t cid, seq;
		int r = seek(&l[i], cand, &cid, &seq);
		if (r <= 0) {
			rc = r;
			break;
		}
		if (cid < from)
			break;
		if (cid == cand) {
			agree++;
		} else {
			cand = cid;
			agree = 1;
		}
		seqs[i] = seq;
		if (agree == n) {
			if (!fn(ctx, cand, seqs) || cand == 0)
				break;
			cand--;
			agree = 0;
		}
		i = (i + 1) % n;
	}
	for (int j = 0; j < opened && j < n; j++)
		if (l[j].cur)
			mdb_cursor_close(l[j].cur);
	free(l);
	return rc;
}
