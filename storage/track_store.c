/* track_store — see track_store.h; keys in docs/storage.md ("Visitor tracking"):
 *
 *   pageviews  tid · 'p' · id                          → page view
 *              tid · 'c' · dim (1) · day (4) · h (16)  → counter (h: the first 16
 *                                                        bytes of sha256(name); the
 *                                                        name is in the value)
 *   vsessions  tid · 's' · sid                         → visitor session
 *              tid · 'v' · vid · sid                   → "" (a visitor's sessions)
 *              tid · 'l' · last_ms · vid               → "" (live: one row a visitor)
 *
 * A day's counter with h all zero counts the day's distinct names of its
 * dimension (its name is empty); h all 0xff is the row of the names past
 * TRACK_DISTINCT_MAX.
 */
#include "storage/track_store.h"
#include "storage/db.h"
#include "core/buf.h"
#include "core/crypto.h"

#include <string.h>

enum { T_PV = 'p', T_COUNT = 'c', T_SESSION = 's', T_VISITOR = 'v', T_LIVE = 'l' };

#define CKEY_LEN (8 + 1 + 1 + 4 + 16)

static size_t key_tag(uint8_t *k, uint64_t tid, uint8_t tag)
{
	db_be64(k, tid);
	k[8] = tag;
	return 9;
}

static size_t key_tag1(uint8_t *k, uint64_t tid, uint8_t tag, uint64_t a)
{
	key_tag(k, tid, tag);
	db_be64(k + 9, a);
	return 17;
}

static size_t key_tag2(uint8_t *k, uint64_t tid, uint8_t tag, uint64_t a, uint64_t b)
{
	key_tag1(k, tid, tag, a);
	db_be64(k + 17, b);
	return 25;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t count_key(uint8_t k[CKEY_LEN], uint64_t tid, int dim, uint32_t day, const uint8_t h[16])
{
	key_tag(k, tid, T_COUNT);
	k[9] = (uint8_t)dim;
	be32(k + 10, day);
	memcpy(k + 14, h, 16);
	return CKEY_LEN;
}

static int put_rec(store_txn *t, enum db_table tb, const uint8_t *k, size_t kl, int enc_rc, buf *b)
{
	return db_put_encoded(t->db, t->txn, tb, k, kl, enc_rc, b);
}

static int session_get(store_txn *t, uint64_t tid, uint64_t sid, rec_vsession *out)
{
	uint8_t k[17];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_VSESSIONS, k, key_tag1(k, tid, T_SESSION, sid), &v);
	if (rc)
		return rc;
	if ((rc = rec_vsession_decode(v.mv_data, v.mv_size, out)))
		return rc;
	out->tid = tid;
	out->id = sid;
	return 0;
}

static int session_put(store_txn *t, const rec_vsession *s)
{
	uint8_t k[17];
	buf b = { 0 };
	return put_rec(t, DB_VSESSIONS, k, key_tag1(k, s->tid, T_SESSION, s->id), rec_vsession_encode(s, &b), &b);
}

/* The visitor's latest session id, or 0. */
static int latest_sid(store_txn *t, uint64_t tid, uint64_t vid, uint64_t *sid)
{
	uint8_t p[17];
	MDB_val k, v;
	*sid = 0;
	int rc = db_last_under(t->db, t->txn, DB_VSESSIONS, p, key_tag1(p, tid, T_VISITOR, vid), &k, &v);
	if (rc == STORE_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (k.mv_size == 25)
		*sid = db_get_be64((const uint8_t *)k.mv_data + 17);
	return 0;
}

/* Adds n to the day's counter of name in dim. */
static int count_add(store_txn *t, uint64_t tid, int dim, uint32_t day, const char *name, uint64_t n)
{
	uint8_t h[32], k[CKEY_LEN];
	crypto_sha256(name, strlen(name), h);
	if (!memcmp(h, (uint8_t[16]){ 0 }, 16))
		h[0] = 1;   /* the distinct row's key stays its own */
	MDB_val v;
	rec_vcount c;
	size_t kl = count_key(k, tid, dim, day, h);
	int rc = db_get(t->db, t->txn, DB_PAGEVIEWS, k, kl, &v);
	if (rc == 0) {
		if ((rc = rec_vcount_decode(v.mv_data, v.mv_size, &c)))
			return rc;
	} else if (rc == STORE_ENOTFOUND) {
		/* a new name of the day: counted among the distinct ones, or with the rest */
		uint8_t dk[CKEY_LEN];
		rec_vcount d = { 0 };
		size_t dkl = count_key(dk, tid, dim, day, (uint8_t[16]){ 0 });
		rc = db_get(t->db, t->txn, DB_PAGEVIEWS, dk, dkl, &v);
		if (rc == 0 && (rc = rec_vcount_decode(v.mv_data, v.mv_size, &d)))
			return rc;
		if (rc && rc != STORE_ENOTFOUND)
			return rc;
		memset(&c, 0, sizeof c);
		if (d.count >= TRACK_DISTINCT_MAX) {
			memset(h, 0xff, 16);
			kl = count_key(k, tid, dim, day, h);
			rc = db_get(t->db, t->txn, DB_PAGEVIEWS, k, kl, &v);
			if (rc == 0 && (rc = rec_vcount_decode(v.mv_data, v.mv_size, &c)))
				return rc;
			if (rc && rc != STORE_ENOTFOUND)
				return rc;
			c.name[0] = 0;
		} else {
			d.count++;
			buf b = { 0 };
			if ((rc = put_rec(t, DB_PAGEVIEWS, dk, dkl, rec_vcount_encode(&d, &b), &b)))
				return rc;
			rec_strcpy(c.name, sizeof c.name, name, strlen(name));
		}
	} else {
		return rc;
	}
	c.count += n;
	buf b = { 0 };
	return put_rec(t, DB_PAGEVIEWS, k, kl, rec_vcount_encode(&c, &b), &b);
}

uint64_t trackstore_keep_days(const rec_tenant *tn)
{
	return tn->pageview_keep_days ? tn->pageview_keep_days : 90;
}

static uint32_t day_of(int64_t ms)
{
	return ms > 0 ? (uint32_t)(ms / TRACK_DAY_MS) : 0;
}

int trackstore_pageview(store_txn *t, const trackstore_view *in, rec_vsession *out, bool *stored, bool *fresh)
{
	uint64_t sid;
	int rc = latest_sid(t, in->tid, in->vid, &sid);
	if (rc)
		return rc;
	rec_vsession *s = out;
	bool had = false;
	int64_t old_last = 0;
	if (sid) {
		rc = session_get(t, in->tid, sid, s);
		if (rc && rc != STORE_ENOTFOUND)
			return rc;
		had = rc == 0;
	}
	if (had)
		old_last = s->last_ms;
	*fresh = !had || in->now_ms - s->last_ms >= TRACK_SESSION_GAP_MS;
	uint32_t day = in->day;
	uint8_t k[25];
	if (*fresh) {
		memset(s, 0, sizeof *s);
		s->tid = in->tid;
		s->id = in->session_id;
		s->visitor_id = in->vid;
		s->started_ms = in->now_ms;
		rec_strcpy(s->referrer, sizeof s->referrer, in->referrer, strlen(in->referrer));
		s->device = in->device;
		rec_strcpy(s->browser, sizeof s->browser, in->browser, strlen(in->browser));
		s->browser_major = in->browser_major;
		rec_strcpy(s->os, sizeof s->os, in->os, strlen(in->os));
		if ((rc = db_put(t->db, t->txn, DB_VSESSIONS, k, key_tag2(k, in->tid, T_VISITOR, in->vid, s->id), "", 0)))
			return rc;
		static const char *const devices[] = { "unknown", "desktop", "mobile", "tablet", "bot" };
		if ((rc = count_add(t, in->tid, TD_TOTAL, day, "sessions", 1)) ||
		    (rc = count_add(t, in->tid, TD_REFERRER, day, in->referrer_host, 1)) ||
		    (rc = count_add(t, in->tid, TD_DEVICE, day, devices[in->device < 5 ? in->device : 0], 1)) ||
		    (rc = count_add(t, in->tid, TD_BROWSER, day, in->browser, 1)) ||
		    (rc = count_add(t, in->tid, TD_OS, day, in->os, 1)))
			return rc;
	}
	if (in->lang[0])
		rec_strcpy(s->lang, sizeof s->lang, in->lang, strlen(in->lang));
	if (in->screen[0])
		rec_strcpy(s->screen, sizeof s->screen, in->screen, strlen(in->screen));
	rec_strcpy(s->url, sizeof s->url, in->url, strlen(in->url));
	rec_strcpy(s->title, sizeof s->title, in->title, strlen(in->title));
	s->pages++;
	*stored = s->stored < TRACK_SESSION_PAGES_MAX;
	if (*stored) {
		s->stored++;
		rec_pageview pv;
		memset(&pv, 0, sizeof pv);
		pv.tid = in->tid;
		pv.id = in->pageview_id;
		pv.visitor_id = in->vid;
		pv.session_id = s->id;
		pv.at_ms = in->now_ms;
		rec_strcpy(pv.url, sizeof pv.url, in->url, strlen(in->url));
		rec_strcpy(pv.title, sizeof pv.title, in->title, strlen(in->title));
		rec_strcpy(pv.referrer, sizeof pv.referrer, in->referrer, strlen(in->referrer));
		buf b = { 0 };
		if ((rc = put_rec(t, DB_PAGEVIEWS, k, key_tag1(k, in->tid, T_PV, pv.id), rec_pageview_encode(&pv, &b), &b)) ||
		    (rc = count_add(t, in->tid, TD_TOTAL, day, "pageviews", 1)) ||
		    (rc = count_add(t, in->tid, TD_PAGE, day, in->url, 1)))
			return rc;
	}
	/* the live row follows the latest activity */
	if (had && (rc = db_del(t->db, t->txn, DB_VSESSIONS, k,
				 key_tag2(k, in->tid, T_LIVE, (uint64_t)(old_last > 0 ? old_last : 0), in->vid))))
		return rc;
	s->last_ms = in->now_ms > old_last ? in->now_ms : old_last;
	if ((rc = db_put(t->db, t->txn, DB_VSESSIONS, k, key_tag2(k, in->tid, T_LIVE, (uint64_t)s->last_ms, in->vid),
			 "", 0)))
		return rc;
	return session_put(t, s);
}

/* ---------------------------------------------------------------- reading */

/* Walks the 25-byte keys under the first plen bytes of seek backwards
 * from seek (tid · tag · a · UINT64_MAX): step finds each key's session
 * (0 and *s filled; STORE_ENOTFOUND: step over; 1: stop; else an error),
 * fn gets it, at most max. */
typedef int (*back_step)(store_txn *t, uint64_t tid, const uint8_t *key, int64_t since, rec_vsession *s);

static int walk_back(store_txn *t, uint64_t tid, const uint8_t seek[25], size_t plen, size_t max, back_step step,
		     int64_t since, trackstore_session_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_VSESSIONS), &cur))
		return STORE_EIO;
	MDB_val k = { 25, (void *)seek }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &k, &v, MDB_LAST) : mdb_cursor_get(cur, &k, &v, MDB_PREV);
	int out = 0;
	size_t n = 0;
	while (rc == 0 && n < max) {
		if (k.mv_size != 25 || memcmp(k.mv_data, seek, plen))
			break;
		rec_vsession s;
		out = step(t, tid, k.mv_data, since, &s);
		if (out == 1) {
			out = 0;
			break;
		}
		if (out == 0) {
			n++;
			if (!fn(ctx, &s))
				break;
		} else if (out != STORE_ENOTFOUND) {
			break;
		}
		out = 0;
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (out)
		return out;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

/* tid · 'l' · last_ms · vid: the visitor's latest session; 1 past since. */
static int live_step(store_txn *t, uint64_t tid, const uint8_t *kp, int64_t since, rec_vsession *s)
{
	if ((int64_t)db_get_be64(kp + 9) < since)
		return 1;
	uint64_t sid;
	int rc = latest_sid(t, tid, db_get_be64(kp + 17), &sid);
	if (rc)
		return rc;
	return sid ? session_get(t, tid, sid, s) : STORE_ENOTFOUND;
}

/* tid · 'v' · vid · sid: that session. */
static int visitor_step(store_txn *t, uint64_t tid, const uint8_t *kp, int64_t since, rec_vsession *s)
{
	(void)since;
	return session_get(t, tid, db_get_be64(kp + 17), s);
}

int trackstore_live(store_txn *t, uint64_t tid, int64_t since_ms, size_t max, trackstore_session_fn fn, void *ctx)
{
	uint8_t seek[25];
	key_tag2(seek, tid, T_LIVE, UINT64_MAX, UINT64_MAX);
	return walk_back(t, tid, seek, 9, max, live_step, since_ms, fn, ctx);
}

int trackstore_sessions(store_txn *t, uint64_t tid, uint64_t vid, size_t max, trackstore_session_fn fn, void *ctx)
{
	uint8_t seek[25];
	key_tag2(seek, tid, T_VISITOR, vid, UINT64_MAX);
	return walk_back(t, tid, seek, 17, max, visitor_step, 0, fn, ctx);
}

typedef struct {
	uint32_t to_day;
	size_t left;
	trackstore_count_fn fn;
	void *ctx;
	int rc;
} count_walk;

static int count_each(void *arg, const MDB_val *k, const MDB_val *v)
{
	count_walk *w = arg;
	if (k->mv_size != CKEY_LEN)
		return 0;
	const uint8_t *kp = k->mv_data;
	uint32_t day = get_be32(kp + 10);
	if (day > w->to_day)
		return 1;
	static const uint8_t zero[16];
	if (!memcmp(kp + 14, zero, 16))
		return 0;   /* the day's distinct count */
	if (!w->left) {
		w->rc = STORE_ELIMIT;
		return 1;
	}
	w->left--;
	rec_vcount c;
	if (rec_vcount_decode(v->mv_data, v->mv_size, &c)) {
		w->rc = STORE_ECORRUPT;
		return 1;
	}
	return w->fn(w->ctx, day, c.name, c.count) ? 0 : 1;
}

int trackstore_counts(store_txn *t, uint64_t tid, int dim, uint32_t from_day, uint32_t to_day, size_t max_rows,
		      trackstore_count_fn fn, void *ctx)
{
	uint8_t p[10], start[14];
	key_tag(p, tid, T_COUNT);
	p[9] = (uint8_t)dim;
	memcpy(start, p, 10);
	be32(start + 10, from_day);
	count_walk w = { to_day, max_rows, fn, ctx, 0 };
	int rc = db_each_under(t->db, t->txn, DB_PAGEVIEWS, p, sizeof p, start, sizeof start, count_each, &w);
	if (w.rc)
		return w.rc;
	return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- retention */

typedef struct {
	store_txn *t;
	size_t n, max;
	int rc;
} prune_state;

/* Deletes the rows of table tb under prefix whose key sorts before bound
 * (the same length as prefix + the compared part). */
static int prune_before(prune_state *ps, enum db_table tb, const uint8_t *prefix, size_t plen, const uint8_t *bound,
			size_t blen)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(ps->t->txn, db_dbi(ps->t->db, tb), &cur))
		return STORE_EIO;
	MDB_val k = { plen, (void *)prefix }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && ps->n < ps->max) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen))
			break;
		size_t cl = k.mv_size < blen ? k.mv_size : blen;
		int c = memcmp(k.mv_data, bound, cl);
		if (c > 0 || (c == 0 && k.mv_size >= blen))
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
		ps->n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);   /* after a delete: the row that followed */
	}
	mdb_cursor_close(cur);
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

/* Sessions that started before the cutoff and ended before it, with
 * their visitor rows. Those started before it and still going are kept
 * (stepped over). */
static int prune_sessions(prune_state *ps, uint64_t tid, int64_t cutoff)
{
	uint8_t p[9], k[25];
	key_tag(p, tid, T_SESSION);
	uint64_t bound = (uint64_t)cutoff << 16;
	uint64_t after = 0;
	while (ps->n < ps->max) {
		MDB_cursor *cur;
		if (mdb_cursor_open(ps->t->txn, db_dbi(ps->t->db, DB_VSESSIONS), &cur))
			return STORE_EIO;
		MDB_val kv = { key_tag1(k, tid, T_SESSION, after), k }, v;
		int rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
		uint64_t sid = 0, vid = 0;
		bool del = false, done = true;
		if (rc == 0 && kv.mv_size == 17 && !memcmp(kv.mv_data, p, 9)) {
			sid = db_get_be64((const uint8_t *)kv.mv_data + 9);
			if (sid < bound) {
				done = false;
				rec_vsession s;
				memset(&s, 0, sizeof s);
				if (rec_vsession_decode(v.mv_data, v.mv_size, &s) == 0 && s.last_ms >= cutoff) {
					after = sid + 1;   /* still going: kept */
				} else {
					vid = s.visitor_id;
					del = true;
					rc = mdb_cursor_del(cur, 0);
				}
			}
		}
		mdb_cursor_close(cur);
		if (rc && rc != MDB_NOTFOUND)
			return db_rc(rc);
		if (done)
			return 0;
		if (del) {
			ps->n++;
			if ((rc = db_del(ps->t->db, ps->t->txn, DB_VSESSIONS, k, key_tag2(k, tid, T_VISITOR, vid, sid))))
				return rc;
			after = sid + 1;
		}
	}
	return 0;
}

int trackstore_prune(store_txn *t, int64_t now_ms, size_t max_rows)
{
	prune_state ps = { t, 0, max_rows, 0 };
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_TENANTS), &cur))
		return STORE_EIO;
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && ps.n < ps.max) {
		rec_tenant tn;
		if (k.mv_size != 8 || rec_tenant_decode(v.mv_data, v.mv_size, &tn)) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		uint64_t tid = db_get_be64(k.mv_data);
		int64_t cutoff = now_ms - (int64_t)trackstore_keep_days(&tn) * TRACK_DAY_MS;
		if (cutoff > 0) {
			uint8_t p[10], b[25];
			int r = 0;
			/* page views: ids before the cutoff's */
			key_tag(p, tid, T_PV);
			if (!r)
				r = prune_before(&ps, DB_PAGEVIEWS, p, 9, b, key_tag1(b, tid, T_PV, (uint64_t)cutoff << 16));
			/* counters of days before the cutoff's, per dimension */
			for (int dim = 0; !r && dim < TD__COUNT; dim++) {
				key_tag(p, tid, T_COUNT);
				p[9] = (uint8_t)dim;
				memcpy(b, p, 10);
				be32(b + 10, day_of(cutoff));
				r = prune_before(&ps, DB_PAGEVIEWS, p, 10, b, 14);
			}
			/* live rows of visitors last seen before it */
			key_tag(p, tid, T_LIVE);
			if (!r)
				r = prune_before(&ps, DB_VSESSIONS, p, 9, b, key_tag1(b, tid, T_LIVE, (uint64_t)cutoff));
			if (!r)
				r = prune_sessions(&ps, tid, cutoff);
			if (r) {
				mdb_cursor_close(cur);
				return r;
			}
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return db_rc(rc);
	return (int)ps.n;
}
