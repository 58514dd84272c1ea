/* rollup_store — see rollup_store.h; keys in docs/storage.md, the
 * definitions of the figures in docs/analytics.md.
 *
 * Keys of DB_ROLLUPS:
 *   tid | scope (1) | gran (1) | [dept] | [agent] | bucket (4)  → figures
 *   tid | 0xff | cid                                             → the conversation's state row
 * with ids big-endian 8 bytes, the bucket the UTC start divided by the
 * granularity, big-endian 4 bytes. Values: a version byte (1) then
 * (index, value) pairs of LEB128 varints for the nonzero entries only, so
 * a key with a handful of figures takes a dozen bytes and a newer
 * version's extra figures are skipped by an older reader.
 */
#include "storage/rollup_store.h"
#include "storage/conv_store.h"
#include "storage/db.h"
#include "storage/dept_store.h"

#include <stdlib.h>
#include <string.h>

#define Q_MS 900000LL
#define H_MS 3600000LL
#define D_MS 86400000LL
#define STATE_SCOPE 0xff
#define KEY_MAX 30

const uint32_t rollup_hist_bounds[ROLLUP_HIST_N - 1] = {
	10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400,
};

static const int64_t gran_ms[RG__COUNT] = { Q_MS, H_MS, D_MS };

/* ---------------------------------------------------------------- codec */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static int get_varint(const uint8_t *p, size_t len, size_t *at, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*at >= len)
			return -1;
		uint8_t b = p[(*at)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* n values into out (cap bytes: 1 + n * 20 is enough); the length. */
static size_t encode(const uint64_t *v, int n, uint8_t *out)
{
	size_t at = 0;
	out[at++] = 1;
	for (int i = 0; i < n; i++) {
		if (!v[i])
			continue;
		at += put_varint(out + at, (uint64_t)i);
		at += put_varint(out + at, v[i]);
	}
	return at;
}

static int decode(const uint8_t *p, size_t len, uint64_t *v, int n)
{
	memset(v, 0, (size_t)n * sizeof *v);
	if (len < 1 || p[0] < 1)
		return STORE_ECORRUPT;
	size_t at = 1;
	while (at < len) {
		uint64_t i, x;
		if (get_varint(p, len, &at, &i) || get_varint(p, len, &at, &x))
			return STORE_ECORRUPT;
		if (i < (uint64_t)n)
			v[i] = x;
	}
	return 0;
}

/* ---------------------------------------------------------------- keys */

static size_t key_of(uint8_t *k, uint64_t tid, int scope, int gran, uint64_t dept, uint64_t agent, uint32_t bucket)
{
	size_t n = 0;
	db_be64(k, tid);
	n += 8;
	k[n++] = (uint8_t)scope;
	k[n++] = (uint8_t)gran;
	if (scope == RS_DEPT || scope == RS_DEPT_AGENT) {
		db_be64(k + n, dept);
		n += 8;
	}
	if (scope == RS_AGENT || scope == RS_DEPT_AGENT) {
		db_be64(k + n, agent);
		n += 8;
	}
	k[n++] = (uint8_t)(bucket >> 24);
	k[n++] = (uint8_t)(bucket >> 16);
	k[n++] = (uint8_t)(bucket >> 8);
	k[n++] = (uint8_t)bucket;
	return n;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---------------------------------------------------------------- adding */

/* The figures one change adds at one (quarter, dept, agent). */
typedef struct {
	int64_t q;               /* quarter index */
	uint64_t dept, agent;
	rollup_vec d;
} delta;

typedef struct {
	delta *v;                /* local, or allocated past it */
	int n, cap;
	delta local[2];
} deltas;

static void deltas_init(deltas *ds)
{
	ds->v = ds->local;
	ds->n = 0;
	ds->cap = 2;
}

static void deltas_free(deltas *ds)
{
	if (ds->v != ds->local)
		free(ds->v);
}

static uint64_t *at_slot(deltas *ds, int64_t at_ms, uint64_t dept, uint64_t agent, int metric)
{
	int64_t q = at_ms >= 0 ? at_ms / Q_MS : 0;
	for (int i = 0; i < ds->n; i++)
		if (ds->v[i].q == q && ds->v[i].dept == dept && ds->v[i].agent == agent)
			return &ds->v[i].d.v[metric];
	if (ds->n == ds->cap) {
		int cap = ds->cap * 2;
		delta *n = ds->v == ds->local ? malloc((size_t)cap * sizeof *n) : realloc(ds->v, (size_t)cap * sizeof *n);
		if (!n)
			return NULL;
		if (ds->v == ds->local)
			memcpy(n, ds->local, sizeof ds->local);
		ds->v = n;
		ds->cap = cap;
	}
	delta *d = &ds->v[ds->n++];
	memset(d, 0, sizeof *d);
	d->q = q;
	d->dept = dept;
	d->agent = agent;
	return &d->d.v[metric];
}

static int add_to_key(store_txn *t, const uint8_t *k, size_t kn, const rollup_vec *d)
{
	rollup_vec cur;
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_ROLLUPS, k, kn, &v);
	if (rc == STORE_ENOTFOUND)
		memset(&cur, 0, sizeof cur);
	else if (rc)
		return rc;
	else if ((rc = decode(v.mv_data, v.mv_size, cur.v, RM__COUNT)))
		return rc;
	bool any = false;
	for (int i = 0; i < RM__COUNT; i++) {
		cur.v[i] += d->v[i];
		any |= cur.v[i] != 0;
	}
	if (!any)
		return db_del(t->db, t->txn, DB_ROLLUPS, k, kn);
	uint8_t out[1 + RM__COUNT * 20];
	return db_put(t->db, t->txn, DB_ROLLUPS, k, kn, out, encode(cur.v, RM__COUNT, out));
}

/* ---------------------------------------------------------------- deferred */

typedef struct {
	uint8_t key[KEY_MAX];
	uint8_t klen;          /* 0: free */
	rollup_vec d;
} pend;

struct rollup_batch {
	pend *v;
	size_t cap, n;
};

int rollup_defer(struct db *d, bool on)
{
	struct rollup_batch **b = db_rollup_batch(d);
	if (!on) {
		rollup_batch_free(b);
		return 0;
	}
	if (!*b && !(*b = calloc(1, sizeof **b)))
		return STORE_ENOMEM;
	return 0;
}

void rollup_batch_free(struct rollup_batch **b)
{
	if (!*b)
		return;
	free((*b)->v);
	free(*b);
	*b = NULL;
}

static uint64_t key_hash(const uint8_t *k, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ull;
	return h;
}

static int pend_grow(struct rollup_batch *D)
{
	size_t cap = D->cap ? D->cap * 2 : 256;
	pend *n = calloc(cap, sizeof *n);
	if (!n)
		return STORE_ENOMEM;
	for (size_t i = 0; i < D->cap; i++) {
		if (!D->v[i].klen)
			continue;
		size_t j = key_hash(D->v[i].key, D->v[i].klen) & (cap - 1);
		while (n[j].klen)
			j = (j + 1) & (cap - 1);
		n[j] = D->v[i];
	}
	free(D->v);
	D->v = n;
	D->cap = cap;
	return 0;
}

static int pend_add(struct rollup_batch *D, const uint8_t *k, size_t kn, const rollup_vec *d)
{
	if ((D->n + 1) * 2 > D->cap && pend_grow(D))
		return STORE_ENOMEM;
	size_t j = key_hash(k, kn) & (D->cap - 1);
	while (D->v[j].klen && (D->v[j].klen != kn || memcmp(D->v[j].key, k, kn)))
		j = (j + 1) & (D->cap - 1);
	pend *p = &D->v[j];
	if (!p->klen) {
		memcpy(p->key, k, kn);
		p->klen = (uint8_t)kn;
		memset(&p->d, 0, sizeof p->d);
		D->n++;
	}
	for (int m = 0; m < RM__COUNT; m++)
		p->d.v[m] += d->v[m];
	return 0;
}

static int add_to_key(store_txn *t, const uint8_t *k, size_t kn, const rollup_vec *d);

int rollup_flush_deferred(store_txn *t)
{
	struct rollup_batch *D = *db_rollup_batch(t->db);
	int rc = 0;
	for (size_t i = 0; D && i < D->cap && D->n; i++) {
		if (!D->v[i].klen)
			continue;
		if (!rc)
			rc = add_to_key(t, D->v[i].key, D->v[i].klen, &D->v[i].d);
		D->v[i].klen = 0;
		D->n--;
	}
	return rc;
}

void rollup_drop_deferred(struct db *d)
{
	struct rollup_batch *D = *db_rollup_batch(d);
	for (size_t i = 0; D && i < D->cap && D->n; i++) {
		if (D->v[i].klen) {
			D->v[i].klen = 0;
			D->n--;
		}
	}
}

static int flush(store_txn *t, uint64_t tid, const deltas *ds)
{
	struct rollup_batch *D = *db_rollup_batch(t->db);   /* deferring: the batch's table */
	for (int i = 0; i < ds->n; i++) {
		const delta *d = &ds->v[i];
		bool any = false;
		for (int m = 0; m < RM__COUNT && !any; m++)
			any = d->d.v[m] != 0;
		if (!any)
			continue;
		for (int g = 0; g < RG__COUNT; g++) {
			uint32_t b = (uint32_t)(d->q * Q_MS / gran_ms[g]);
			for (int s = 0; s < RS__COUNT; s++) {
				uint8_t k[KEY_MAX];
				size_t kn = key_of(k, tid, s, g, d->dept, d->agent, b);
				int rc = D ? pend_add(D, k, kn, &d->d) : add_to_key(t, k, kn, &d->d);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- the state machine */

enum state_field {
	SS_LAST_SEQ = 0,    /* the last event counted */
	SS_STATUS,          /* enum conv_status seen */
	SS_DEPT,
	SS_AGENT,
	SS_CREATED,         /* ms */
	SS_AWAIT,           /* first response awaited since (ms), 0: not awaited */
	SS_QUEUED,          /* unassigned since (ms), 0: assigned */
	SS_AGENT_MSG,       /* an agent message since created or reopened */
	SS_VDEL, SS_VREAD, SS_ADEL, SS_AREAD,   /* receipt watermarks counted */
	SS_OFFLINE,         /* the record's offline flag seen */
	SS__COUNT
};

typedef struct {
	uint64_t s[SS__COUNT];
	bool found;
} conv_state;

static size_t state_key(uint8_t k[17], uint64_t tid, uint64_t cid)
{
	db_be64(k, tid);
	k[8] = STATE_SCOPE;
	db_be64(k + 9, cid);
	return 17;
}

static int state_load(store_txn *t, uint64_t tid, uint64_t cid, conv_state *st)
{
	uint8_t k[17];
	MDB_val v;
	int rc = db_get(t->db, t->txn, DB_ROLLUPS, k, state_key(k, tid, cid), &v);
	st->found = rc == 0;
	if (rc == STORE_ENOTFOUND) {
		memset(st->s, 0, sizeof st->s);
		return 0;
	}
	return rc ? rc : decode(v.mv_data, v.mv_size, st->s, SS__COUNT);
}

static int state_save(store_txn *t, uint64_t tid, uint64_t cid, const conv_state *st)
{
	uint8_t k[17], out[1 + SS__COUNT * 20];
	return db_put(t->db, t->txn, DB_ROLLUPS, k, state_key(k, tid, cid), out, encode(st->s, SS__COUNT, out));
}

static bool finished(uint64_t status)
{
	return status == CS_RESOLVED || status == CS_CLOSED;
}

static int hist_bucket(uint64_t s)
{
	int i = 0;
	while (i < ROLLUP_HIST_N - 1 && s >= rollup_hist_bounds[i])
		i++;
	return i;
}

static uint64_t secs_between(int64_t from_ms, int64_t to_ms)
{
	return to_ms > from_ms ? (uint64_t)(to_ms - from_ms) / 1000 : 0;
}

typedef struct {
	store_txn *t;
	conv_state *st;
	deltas *ds;
	const rec_conv *c;
	int err;
} replay;

#define ADD(at, dept, agent, m, n)                                              \
	do {                                                                    \
		uint64_t *p_ = at_slot(r->ds, (at), (dept), (agent), (m));       \
		if (!p_) {                                                      \
			r->err = STORE_ENOMEM;                                  \
			return false;                                           \
		}                                                               \
		*p_ += (n);                                                     \
	} while (0)

static bool on_event(void *ctx, uint64_t seq, const rec_event *e)
{
	replay *r = ctx;
	uint64_t *s = r->st->s;
	int64_t at = e->created_ms;
	uint64_t dept = s[SS_DEPT], agent = s[SS_AGENT];
	s[SS_LAST_SEQ] = seq;
	switch (e->kind) {
	case EK_CREATED:
		dept = e->dept_id ? e->dept_id : r->c->dept_id;
		if (!dept) {   /* the tenant's default department (records before departments) */
			rec_dept d;
			if (deptstore_default(r->t, r->c->tid, &d) == 0)
				dept = d.id;
		}
		s[SS_DEPT] = dept;
		s[SS_AGENT] = agent = e->assignee_id;
		s[SS_STATUS] = CS_OPEN;
		s[SS_CREATED] = (uint64_t)at;
		s[SS_AWAIT] = (uint64_t)at;
		s[SS_QUEUED] = agent ? 0 : (uint64_t)at;
		s[SS_AGENT_MSG] = 0;
		ADD(at, dept, agent, RM_CREATED, 1);
		break;
	case EK_MESSAGE:
	case EK_NOTE: {
		int st = e->sender_type < ST__COUNT ? e->sender_type : ST_SYSTEM;
		int k = e->kind == EK_NOTE ? RK_NOTE : st == ST_SYSTEM ? RK_SYSTEM : e->files.n ? RK_FILE : RK_TEXT;
		uint64_t who = st == ST_AGENT ? e->sender_id : agent;
		if (e->kind == EK_MESSAGE && st == ST_VISITOR && finished(s[SS_STATUS])) {
			/* a visitor writing into a finished conversation reopens it */
			ADD(at, dept, agent, RM_REOPENED, 1);
			s[SS_STATUS] = CS_OPEN;
			s[SS_AWAIT] = (uint64_t)at;
			s[SS_AGENT_MSG] = 0;
			if (!agent)
				s[SS_QUEUED] = (uint64_t)at;
		}
		ADD(at, dept, who, RM_MSG + st * RK__COUNT + k, 1);
		ADD(at, dept, who, RM_MSG_LEN + st * RK__COUNT + k, strnlen(e->text, sizeof e->text));
		if (e->kind == EK_MESSAGE && st == ST_AGENT) {
			s[SS_AGENT_MSG] = 1;
			if (s[SS_AWAIT]) {
				uint64_t sec = secs_between((int64_t)s[SS_AWAIT], at);
				ADD(at, dept, who, RM_FRT_SUM, sec);
				ADD(at, dept, who, RM_FRT_N, 1);
				ADD(at, dept, who, RM_FRT_HIST + hist_bucket(sec), 1);
				s[SS_AWAIT] = 0;
			}
		}
		break;
	}
	case EK_STATUS: {
		uint64_t was = s[SS_STATUS], now = e->status;
		if (finished(now) && !finished(was)) {
			uint64_t sec = secs_between((int64_t)s[SS_CREATED], at);
			ADD(at, dept, agent, now == CS_RESOLVED ? RM_RESOLVED : RM_CLOSED, 1);
			ADD(at, dept, agent, RM_RES_SUM, sec);
			ADD(at, dept, agent, RM_RES_N, 1);
			ADD(at, dept, agent, RM_RES_HIST + hist_bucket(sec), 1);
			if (!s[SS_AGENT_MSG])
				ADD(at, dept, agent, RM_MISSED, 1);
			s[SS_AWAIT] = 0;
		} else if (now == CS_CLOSED && was == CS_RESOLVED) {
			ADD(at, dept, agent, RM_CLOSED, 1);
		} else if (!finished(now) && finished(was)) {
			ADD(at, dept, agent, RM_REOPENED, 1);
			s[SS_AWAIT] = (uint64_t)at;
			s[SS_AGENT_MSG] = 0;
			if (!agent)
				s[SS_QUEUED] = (uint64_t)at;
		}
		s[SS_STATUS] = now;
		break;
	}
	case EK_ASSIGNED:
	case EK_TRANSFER: {
		uint64_t to = e->assignee_id;
		if (e->kind == EK_TRANSFER) {
			ADD(at, dept, agent, RM_TRANSFERRED, 1);
			if (e->dept_id)
				s[SS_DEPT] = e->dept_id;
		}
		if (to && to != agent) {
			ADD(at, s[SS_DEPT], to, RM_ASSIGNED, 1);
			if (s[SS_QUEUED]) {
				uint64_t sec = secs_between((int64_t)s[SS_QUEUED], at);
				ADD(at, s[SS_DEPT], to, RM_WAIT_SUM, sec);
				ADD(at, s[SS_DEPT], to, RM_WAIT_N, 1);
			}
			s[SS_QUEUED] = 0;
		} else if (!to && agent) {
			s[SS_QUEUED] = (uint64_t)at;
		}
		s[SS_AGENT] = to;
		break;
	}
	case EK_RATING:
		if (e->score >= 1 && e->score <= 5)
			ADD(at, dept, agent, RM_RATING + e->score - 1, 1);
		break;
	default:
		break;
	}
	return true;
}

/* Counts the other side's messages in (after, upto]. */
typedef struct {
	uint8_t sender;
	uint64_t n;
} side_count;

static bool count_side(void *ctx, uint64_t seq, const rec_event *e)
{
	(void)seq;
	side_count *sc = ctx;
	if (e->kind == EK_MESSAGE && e->sender_type == sc->sender)
		sc->n++;
	return true;
}

static int receipts(store_txn *t, const rec_conv *c, conv_state *st, deltas *ds, int64_t at_ms)
{
	static const struct {
		int field, metric;
		uint8_t sender;
	} sides[] = {
		{ SS_VDEL, RM_VDELIVERED, ST_AGENT },
		{ SS_VREAD, RM_VREAD, ST_AGENT },
		{ SS_ADEL, RM_ADELIVERED, ST_VISITOR },
		{ SS_AREAD, RM_AREAD, ST_VISITOR },
	};
	const uint64_t mark[] = { c->visitor_delivered_seq, c->visitor_read_seq, c->agent_delivered_seq,
				  c->agent_read_seq };
	for (int i = 0; i < 4; i++) {
		uint64_t upto = mark[i] < st->s[SS_LAST_SEQ] ? mark[i] : st->s[SS_LAST_SEQ];
		if (upto <= st->s[sides[i].field])
			continue;
		side_count sc = { .sender = sides[i].sender };
		int rc = convstore_each_event(t, c->tid, c->id, st->s[sides[i].field], upto, SIZE_MAX, count_side, &sc);
		if (rc)
			return rc;
		st->s[sides[i].field] = upto;
		if (sc.n) {
			uint64_t *p = at_slot(ds, at_ms, st->s[SS_DEPT], st->s[SS_AGENT], sides[i].metric);
			if (!p)
				return STORE_ENOMEM;
			*p += sc.n;
		}
	}
	return 0;
}

static int conv_catch_up(store_txn *t, const rec_conv *c, int64_t at_ms, bool count_receipts,
			 const rec_event *const *known, int nknown)
{
	conv_state st;
	deltas ds;
	int rc = state_load(t, c->tid, c->id, &st);
	if (rc)
		return rc;
	deltas_init(&ds);
	uint64_t before[SS__COUNT];
	memcpy(before, st.s, sizeof before);
	if (c->last_seq > st.s[SS_LAST_SEQ]) {
		replay r = { .t = t, .st = &st, .ds = &ds, .c = c };
		/* the write's own events, when they are exactly the ones to count */
		const rec_event *seqd[8] = { 0 };
		uint64_t want = c->last_seq - st.s[SS_LAST_SEQ];
		int have = 0;
		for (int i = 0; want <= 8 && i < nknown; i++) {
			const rec_event *e = known[i];
			if (e && e->seq > st.s[SS_LAST_SEQ] && e->seq <= c->last_seq && !seqd[e->seq - st.s[SS_LAST_SEQ] - 1]) {
				seqd[e->seq - st.s[SS_LAST_SEQ] - 1] = e;
				have++;
			}
		}
		if (want <= 8 && (uint64_t)have == want) {
			for (uint64_t i = 0; i < want && !r.err; i++)
				on_event(&r, seqd[i]->seq, seqd[i]);
		} else {
			rc = convstore_each_event(t, c->tid, c->id, st.s[SS_LAST_SEQ], c->last_seq, SIZE_MAX, on_event, &r);
		}
		if (!rc)
			rc = r.err;
	}
	if (!rc && count_receipts) {
		rc = receipts(t, c, &st, &ds, at_ms);
		if (!rc && c->offline && !st.s[SS_OFFLINE]) {   /* went offline (no event records it) */
			uint64_t *p = at_slot(&ds, at_ms, st.s[SS_DEPT], st.s[SS_AGENT], RM_OFFLINE);
			if (!p)
				rc = STORE_ENOMEM;
			else
				(*p)++;
		}
		st.s[SS_OFFLINE] = c->offline;
	} else if (!rc) {   /* the rebuild: the watermarks as they stand, not counted again */
		st.s[SS_OFFLINE] = c->offline;
		st.s[SS_VDEL] = c->visitor_delivered_seq;
		st.s[SS_VREAD] = c->visitor_read_seq;
		st.s[SS_ADEL] = c->agent_delivered_seq;
		st.s[SS_AREAD] = c->agent_read_seq;
	}
	if (!rc)
		rc = flush(t, c->tid, &ds);
	if (!rc && (!st.found || memcmp(before, st.s, sizeof before)))
		rc = state_save(t, c->tid, c->id, &st);
	deltas_free(&ds);
	return rc;
}

int rollup_conv_changed_with(store_txn *t, const rec_conv *c, int64_t at_ms, const rec_event *const *known,
			     int nknown)
{
	if (!db_rollups(t->db))
		return 0;
	return conv_catch_up(t, c, at_ms, true, known, nknown);
}

int rollup_conv_changed(store_txn *t, const rec_conv *c, int64_t at_ms)
{
	return rollup_conv_changed_with(t, c, at_ms, NULL, 0);
}

/* ---------------------------------------------------------------- reading */

static void vec_add(rollup_vec *to, const uint8_t *p, size_t len, int *err)
{
	rollup_vec v;
	if (decode(p, len, v.v, RM__COUNT)) {
		*err = STORE_ECORRUPT;
		return;
	}
	for (int i = 0; i < RM__COUNT; i++)
		to->v[i] += v.v[i];
}

/* A range [lo, hi) of buckets of one granularity. */
typedef struct {
	int gran;
	uint32_t lo, hi;
} span;

static int64_t ceil_to(int64_t x, int64_t m)
{
	return (x + m - 1) / m * m;
}

/* The spans covering [a, b) (multiples of 15 minutes, a >= 0): at most 5. */
static int cover(int64_t a, int64_t b, span *out)
{
	int n = 0;
	int64_t edges[2][2] = { { a, b }, { 0, 0 } };
	int nedges = 1;
	if (b - a >= D_MS) {
		int64_t d0 = ceil_to(a, D_MS), d1 = b / D_MS * D_MS;
		if (d1 > d0) {
			out[n++] = (span){ RG_DAY, (uint32_t)(d0 / D_MS), (uint32_t)(d1 / D_MS) };
			edges[0][0] = a, edges[0][1] = d0;
			edges[1][0] = d1, edges[1][1] = b;
			nedges = 2;
		}
	}
	for (int e = 0; e < nedges; e++) {
		int64_t x = edges[e][0], y = edges[e][1];
		if (y <= x)
			continue;
		int64_t h0 = ceil_to(x, H_MS), h1 = y / H_MS * H_MS;
		if (h1 > h0) {
			out[n++] = (span){ RG_HOUR, (uint32_t)(h0 / H_MS), (uint32_t)(h1 / H_MS) };
			if (h0 > x)
				out[n++] = (span){ RG_QUARTER, (uint32_t)(x / Q_MS), (uint32_t)(h0 / Q_MS) };
			if (y > h1)
				out[n++] = (span){ RG_QUARTER, (uint32_t)(h1 / Q_MS), (uint32_t)(y / Q_MS) };
		} else {
			out[n++] = (span){ RG_QUARTER, (uint32_t)(x / Q_MS), (uint32_t)(y / Q_MS) };
		}
	}
	return n;
}

typedef struct {
	uint64_t id;
	rollup_vec v;
} id_vec;

typedef struct {
	id_vec *v;
	int n, cap;
} id_vecs;

static rollup_vec *ids_get(id_vecs *iv, uint64_t id)
{
	int lo = 0, hi = iv->n;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (iv->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < iv->n && iv->v[lo].id == id)
		return &iv->v[lo].v;
	if (iv->n == iv->cap) {
		int cap = iv->cap ? iv->cap * 2 : 16;
		id_vec *n = realloc(iv->v, (size_t)cap * sizeof *n);
		if (!n)
			return NULL;
		iv->v = n;
		iv->cap = cap;
	}
	memmove(&iv->v[lo + 1], &iv->v[lo], (size_t)(iv->n - lo) * sizeof *iv->v);
	iv->n++;
	iv->v[lo].id = id;
	memset(&iv->v[lo].v, 0, sizeof iv->v[lo].v);
	return &iv->v[lo].v;
}

/* Adds the keys under prefix (plen bytes) with buckets in [lo, hi); with
 * free_id, the prefix is followed by an id (each id's figures go to
 * ids_get(iv, id)), else by the bucket (the figures go to one). */
static int scan(store_txn *t, const uint8_t *prefix, size_t plen, bool free_id, uint32_t lo, uint32_t hi,
		rollup_vec *one, id_vecs *iv)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_ROLLUPS), &cur))
		return STORE_EIO;
	uint8_t seek[KEY_MAX];
	memcpy(seek, prefix, plen);
	size_t klen = plen + (free_id ? 8 : 0) + 4;
	MDB_val k, v;
	if (free_id)
		db_be64(seek + plen, 0);
	uint8_t *bp = seek + klen - 4;
	bp[0] = (uint8_t)(lo >> 24), bp[1] = (uint8_t)(lo >> 16), bp[2] = (uint8_t)(lo >> 8), bp[3] = (uint8_t)lo;
	k.mv_size = klen;
	k.mv_data = seek;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), err = 0;
	while (rc == 0 && !err) {
		if (k.mv_size != klen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		const uint8_t *kp = k.mv_data;
		uint32_t b = get_be32(kp + klen - 4);
		if (!free_id) {
			if (b >= hi)
				break;
			vec_add(one, v.mv_data, v.mv_size, &err);
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		uint64_t id = db_get_be64(kp + plen);
		if (b < lo || b >= hi) {
			if (b >= hi) {
				if (id == UINT64_MAX)
					break;
				id++;
			}
			db_be64(seek + plen, id);
			bp[0] = (uint8_t)(lo >> 24), bp[1] = (uint8_t)(lo >> 16), bp[2] = (uint8_t)(lo >> 8),
			bp[3] = (uint8_t)lo;
			k.mv_size = klen;
			k.mv_data = seek;
			rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
			continue;
		}
		rollup_vec *to = ids_get(iv, id);
		if (!to) {
			err = STORE_ENOMEM;
			break;
		}
		vec_add(to, v.mv_data, v.mv_size, &err);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

static size_t prefix_of(uint8_t *p, uint64_t tid, int scope, int gran, const uint64_t *fixed, int nfixed)
{
	db_be64(p, tid);
	p[8] = (uint8_t)scope;
	p[9] = (uint8_t)gran;
	size_t n = 10;
	for (int i = 0; i < nfixed; i++, n += 8)
		db_be64(p + n, fixed[i]);
	return n;
}

static bool range_ok(int64_t from_ms, int64_t to_ms)
{
	return from_ms >= 0 && to_ms >= from_ms && from_ms % Q_MS == 0 && to_ms % Q_MS == 0 &&
	       to_ms / Q_MS < (int64_t)UINT32_MAX;
}

int rollup_sum(store_txn *t, uint64_t tid, uint64_t dept, uint64_t agent, int64_t from_ms, int64_t to_ms,
	       rollup_vec *out)
{
	memset(out, 0, sizeof *out);
	if (!range_ok(from_ms, to_ms))
		return STORE_ECONFLICT;
	int scope = dept && agent ? RS_DEPT_AGENT : dept ? RS_DEPT : agent ? RS_AGENT : RS_TENANT;
	uint64_t fixed[2];
	int nf = 0;
	if (dept)
		fixed[nf++] = dept;
	if (agent)
		fixed[nf++] = agent;
	span sp[6];
	int n = cover(from_ms, to_ms, sp);
	for (int i = 0; i < n; i++) {
		uint8_t p[KEY_MAX];
		int rc = scan(t, p, prefix_of(p, tid, scope, sp[i].gran, fixed, nf), false, sp[i].lo, sp[i].hi, out, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

int rollup_series(store_txn *t, uint64_t tid, uint64_t dept, uint64_t agent, int gran, int64_t from_ms,
		  int64_t to_ms, rollup_bucket_fn fn, void *ctx)
{
	if (!range_ok(from_ms, to_ms) || gran < 0 || gran >= RG__COUNT || from_ms % gran_ms[gran] ||
	    to_ms % gran_ms[gran])
		return STORE_ECONFLICT;
	int scope = dept && agent ? RS_DEPT_AGENT : dept ? RS_DEPT : agent ? RS_AGENT : RS_TENANT;
	uint64_t fixed[2];
	int nf = 0;
	if (dept)
		fixed[nf++] = dept;
	if (agent)
		fixed[nf++] = agent;
	uint8_t p[KEY_MAX], seek[KEY_MAX];
	size_t pl = prefix_of(p, tid, scope, gran, fixed, nf), klen = pl + 4;
	uint32_t lo = (uint32_t)(from_ms / gran_ms[gran]), hi = (uint32_t)(to_ms / gran_ms[gran]);
	memcpy(seek, p, pl);
	seek[pl] = (uint8_t)(lo >> 24), seek[pl + 1] = (uint8_t)(lo >> 16), seek[pl + 2] = (uint8_t)(lo >> 8);
	seek[pl + 3] = (uint8_t)lo;
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_ROLLUPS), &cur))
		return STORE_EIO;
	MDB_val k = { klen, seek }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), err = 0;
	while (rc == 0 && k.mv_size == klen && memcmp(k.mv_data, p, pl) == 0) {
		uint32_t b = get_be32((const uint8_t *)k.mv_data + pl);
		if (b >= hi)
			break;
		rollup_vec x;
		if ((err = decode(v.mv_data, v.mv_size, x.v, RM__COUNT)))
			break;
		if (!fn(ctx, (int64_t)b * gran_ms[gran], &x))
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

int rollup_each(store_txn *t, uint64_t tid, bool by_agent, uint64_t dept, uint64_t agent, int64_t from_ms,
		int64_t to_ms, rollup_each_fn fn, void *ctx)
{
	if (!range_ok(from_ms, to_ms))
		return STORE_ECONFLICT;
	id_vecs iv = { 0 };
	span sp[6];
	int n = cover(from_ms, to_ms, sp), rc = 0;
	uint64_t want = by_agent ? agent : dept;   /* the listed kind's own filter */
	for (int i = 0; i < n && !rc; i++) {
		uint8_t p[KEY_MAX];
		size_t pl;
		if (by_agent && dept) {         /* tid|DA|g|dept|agent */
			uint64_t f[2] = { dept, agent };
			pl = prefix_of(p, tid, RS_DEPT_AGENT, sp[i].gran, f, agent ? 2 : 1);
		} else if (by_agent) {
			pl = prefix_of(p, tid, RS_AGENT, sp[i].gran, &agent, agent ? 1 : 0);
		} else if (agent) {             /* departments of one agent: tid|DA|g|dept|agent */
			uint64_t f[2] = { dept, agent };
			if (dept) {
				pl = prefix_of(p, tid, RS_DEPT_AGENT, sp[i].gran, f, 2);
			} else {
				/* every department, then this agent: walk the departments */
				id_vecs depts = { 0 };
				pl = prefix_of(p, tid, RS_DEPT, sp[i].gran, NULL, 0);
				rc = scan(t, p, pl, true, sp[i].lo, sp[i].hi, NULL, &depts);
				for (int j = 0; j < depts.n && !rc; j++) {
					f[0] = depts.v[j].id;
					uint8_t q[KEY_MAX];
					rollup_vec one = { 0 };
					rc = scan(t, q, prefix_of(q, tid, RS_DEPT_AGENT, sp[i].gran, f, 2), false,
						  sp[i].lo, sp[i].hi, &one, NULL);
					rollup_vec *to = rc ? NULL : ids_get(&iv, f[0]);
					if (!rc && !to)
						rc = STORE_ENOMEM;
					for (int m = 0; !rc && m < RM__COUNT; m++)
						to->v[m] += one.v[m];
				}
				free(depts.v);
				continue;
			}
		} else {
			pl = prefix_of(p, tid, RS_DEPT, sp[i].gran, &dept, dept ? 1 : 0);
		}
		if (want) {
			rollup_vec *to = ids_get(&iv, want);
			rc = to ? scan(t, p, pl, false, sp[i].lo, sp[i].hi, to, NULL) : STORE_ENOMEM;
		} else {
			rc = scan(t, p, pl, true, sp[i].lo, sp[i].hi, NULL, &iv);
		}
	}
	for (int i = 0; i < iv.n && !rc; i++)
		if (!fn(ctx, iv.v[i].id, &iv.v[i].v))
			break;
	free(iv.v);
	return rc;
}

double rollup_percentile(const uint64_t *hist, double p)
{
	uint64_t total = 0;
	for (int i = 0; i < ROLLUP_HIST_N; i++)
		total += hist[i];
	if (!total)
		return 0;
	double want = p / 100.0 * (double)total, seen = 0;
	for (int i = 0; i < ROLLUP_HIST_N; i++) {
		if (!hist[i])
			continue;
		if (seen + (double)hist[i] >= want) {
			double lo = i ? rollup_hist_bounds[i - 1] : 0;
			double hi = i < ROLLUP_HIST_N - 1 ? rollup_hist_bounds[i] : lo * 2;
			double f = ((want - seen) / (double)hist[i]);
			return lo + (hi - lo) * (f < 0 ? 0 : f);
		}
		seen += (double)hist[i];
	}
	return rollup_hist_bounds[ROLLUP_HIST_N - 2];
}

/* ---------------------------------------------------------------- rebuild, dump */

int rollup_dump(store_txn *t, rollup_dump_fn fn, void *ctx)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_ROLLUPS), &cur))
		return STORE_EIO;
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST), err = 0;
	while (rc == 0) {
		if (k.mv_size > 8 && ((const uint8_t *)k.mv_data)[8] != STATE_SCOPE) {
			rollup_vec x;
			if ((err = decode(v.mv_data, v.mv_size, x.v, RM__COUNT)))
				break;
			if (!fn(ctx, k.mv_data, k.mv_size, &x))
				break;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

/* The figures no stored event records: kept by the rebuild. */
static bool is_receipt_metric(int m)
{
	return m == RM_VDELIVERED || m == RM_VREAD || m == RM_ADELIVERED || m == RM_AREAD || m == RM_OFFLINE;
}

/* Every key: state rows deleted, figures other than receipts' zeroed. */
static int strip(store_txn *t)
{
	MDB_cursor *cur;
	if (mdb_cursor_open(t->txn, db_dbi(t->db, DB_ROLLUPS), &cur))
		return STORE_EIO;
	MDB_val k, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST), err = 0;
	while (rc == 0 && !err) {
		bool keep = false;
		rollup_vec x;
		if (k.mv_size > 8 && ((const uint8_t *)k.mv_data)[8] != STATE_SCOPE &&
		    decode(v.mv_data, v.mv_size, x.v, RM__COUNT) == 0) {
			for (int m = 0; m < RM__COUNT; m++) {
				if (!is_receipt_metric(m))
					x.v[m] = 0;
				keep |= x.v[m] != 0;
			}
		}
		if (keep) {
			/* (the key copied: the put may move the page it points into) */
			uint8_t out[1 + RM__COUNT * 20], kc[KEY_MAX];
			MDB_val nv = { encode(x.v, RM__COUNT, out), out };
			if (k.mv_size > sizeof kc) {
				err = STORE_ECORRUPT;
				break;
			}
			memcpy(kc, k.mv_data, k.mv_size);
			k.mv_data = kc;
			if ((rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT)))
				break;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		} else {
			if ((rc = mdb_cursor_del(cur, 0)))
				break;
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);   /* (after a delete: the key that followed) */
		}
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc && rc != MDB_NOTFOUND ? db_rc(rc) : 0;
}

typedef struct {
	uint64_t *ids;   /* tid, cid pairs */
	size_t n, cap;
} conv_list;

static int collect(void *arg, const MDB_val *k, const MDB_val *v)
{
	(void)v;
	conv_list *l = arg;
	if (k->mv_size != 16)
		return 0;
	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint64_t *n = realloc(l->ids, cap * sizeof *n);
		if (!n)
			return STORE_ENOMEM;
		l->ids = n;
		l->cap = cap;
	}
	l->ids[l->n++] = db_get_be64(k->mv_data);
	l->ids[l->n++] = db_get_be64((const uint8_t *)k->mv_data + 8);
	return 0;
}

long rollup_rebuild(store_txn *t)
{
	int rc = strip(t);
	if (rc)
		return rc;
	conv_list l = { 0 };
	rc = db_each_under(t->db, t->txn, DB_CONVS, NULL, 0, NULL, 0, collect, &l);
	long n = 0;
	for (size_t i = 0; !rc && i < l.n; i += 2) {
		rec_conv c;
		rc = convstore_get(t, l.ids[i], l.ids[i + 1], &c);
		if (rc == 0 && (rc = conv_catch_up(t, &c, 0, false, NULL, 0)) == 0)
			n++;
	}
	free(l.ids);
	return rc ? rc : n;
}

