/* dept — the department actor (AK_DEPT, tenant, department id): its
 * waiting queue and whom to offer the head of it to (the protocol:
 * actors/kit/desk.h).
 *
 * Order, one everywhere (offers, positions, the waiting list): effective
 * priority (the priority as set, raised by the wait past the
 * department's SLA thresholds: desk_effective_priority), then the longest
 * wait, then the conversation id.
 *
 * Offers: while the routing policy is not off and the hours are open, the
 * first entries not on offer go, one agent at a time per conversation, to
 * an eligible member — online (not away), not refused since its last
 * state, load + offers of ours it has not answered < capacity — chosen by
 * the policy: round_robin takes the next eligible member after the last
 * one chosen (members in id order), least_busy the lowest load (ties by
 * the same rotation). A refusal lets the next one be tried; with nobody
 * eligible the entry waits. Nothing routes on a clock: every offer is the
 * answer to a message (an enqueue, an agent's state, an offer's end, a
 * reload) — except that hours opening is a timer (DT_HOURS).
 *
 * Offline: an entry enqueued while no member is online or outside the
 * hours is offline: its conversation hears so (CM_QUEUE offline), and it
 * joins the department's offline email, one per window
 * (app_config.offline_email_window_ms) listing all of the window's. When
 * a member comes online (in hours) the offline entries become ordinary
 * again and their visitors hear that an agent is available.
 *
 * Positions and events: after a change, at most every DESK_FLUSH_MS, each
 * waiting conversation whose position, estimate or offline flag changed
 * gets CM_QUEUE, supervisors a `queue` event, and the board the queue.
 * The estimate is position × the department's average time from arrival
 * to assignment (an average over the recent assignments, 60 s until one
 * is known).
 */
#include "actors/desk/desk.h"
#include "actors/desk/offline.h"
#include "actors/conversations/conv.h"
#include "actors/kit/perm.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/hours.h"
#include "core/log.h"
#include "storage/dept_store.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	uint64_t uid;
	uint8_t state;
	uint32_t load, cap;
	uint32_t pending;              /* our offers it has not answered */
	bool blocked;                  /* refused an offer since its last state */
} member;

typedef struct {
	uint64_t cid;
	uint8_t prio;
	int64_t since;
	uint64_t offered_to;
	bool offline;
	bool sent;                     /* a CM_QUEUE went out */
	bool sent_offline;
	uint32_t sent_pos, sent_wait;
	int eff;                       /* effective priority, while sorting */
} qent;

typedef struct {
	actor a;
	app *app;
	uint64_t tid, did;
	bool loaded, exists;
	rec_dept d;
	hours h;
	bool hours_ok;
	member *m;
	int nm;
	qent *q;
	int nq, capq;
	uint64_t rr_last;              /* the member chosen last */
	int64_t avg_ms;                /* recent arrival→assignment, 0 = none yet */
	/* the offline email */
	uint64_t *ob;
	int nob, capob;
	bool ob_armed;
	/* flushes */
	bool dirty, flush_armed;
	int64_t last_flush;            /* monotonic ms */
	bool hours_armed;
	uint64_t tag;
	desk_entry_view *view;         /* the queue as flush publishes it (kept: no allocation per flush) */
	size_t capview;
} dept_actor;

static void handle(actor *self, actor_msg *msg);

actor *desk_dept_new(void *ctx, uint64_t tid, uint64_t did)
{
	app *a = ctx;
	dept_actor *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->app = a;
	d->tid = tid;
	d->did = did;
	actor_init(&d->a, a->rt, handle, 0);
	return &d->a;
}

void desk_dept_free(actor *act)
{
	dept_actor *d = container_of(act, dept_actor, a);
	free(d->m);
	free(d->q);
	free(d->ob);
	free(d->view);
	free(d);
}

/* ---------- state ---------- */

typedef struct {
	member *m;
	int n, cap;
} mlist;

static bool add_member(void *ctx, uint64_t uid)
{
	mlist *l = ctx;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		member *n = realloc(l->m, (size_t)cap * sizeof *n);
		if (!n)
			return false;
		l->m = n;
		l->cap = cap;
	}
	l->m[l->n++] = (member){ .uid = uid };
	return true;
}

static member *find_member(dept_actor *d, uint64_t uid)
{
	for (int i = 0; i < d->nm; i++)
		if (d->m[i].uid == uid)
			return &d->m[i];
	return NULL;
}

/* Reads the department and its members; members keep what we knew of
 * them, new ones start from the board. */
static void load(dept_actor *d)
{
	store_txn t;
	if (store_read(d->app->db, &t))
		return;
	rec_dept rd;
	int rc = deptstore_get(&t, d->tid, d->did, &rd);
	mlist l = { 0 };
	if (rc == 0 && deptstore_each_member(&t, d->tid, d->did, add_member, &l) != 0)
		rc = -1;
	store_done(&t);
	if (rc && rc != STORE_ENOTFOUND) {
		free(l.m);
		return;
	}
	d->exists = rc == 0;
	if (d->exists) {
		d->d = rd;
		d->hours_ok = hours_parse(rd.hours, &d->h) == HOURS_OK;
	}
	for (int i = 0; i < l.n; i++) {
		member *old = find_member(d, l.m[i].uid);
		if (old) {
			l.m[i] = *old;
			continue;
		}
		desk_agent_view v;
		if (desk_board_agent_get(d->app, d->tid, l.m[i].uid, &v)) {
			l.m[i].state = v.state;
			l.m[i].load = v.load;
			l.m[i].cap = v.capacity;
		}
	}
	free(d->m);
	d->m = l.m;
	d->nm = l.n;
	d->loaded = true;
}

static int64_t now_ms(void)
{
	return clock_now_ms();
}

/* Whether the hours are open now (always when they do not parse: a
 * department is never closed by a record we cannot read). */
static bool open_now(dept_actor *d)
{
	if (!d->exists || !d->hours_ok)
		return true;
	int rc = hours_is_open(d->app->zones, &d->h, d->d.timezone[0] ? d->d.timezone : "UTC", now_ms());
	return rc != 0;   /* 1 open; a zone that does not load: open */
}

static bool anyone_online(dept_actor *d)
{
	for (int i = 0; i < d->nm; i++)
		if (d->m[i].state == PR_ONLINE)
			return true;
	return false;
}

static qent *find_entry(dept_actor *d, uint64_t cid, int *idx)
{
	for (int i = 0; i < d->nq; i++)
		if (d->q[i].cid == cid) {
			if (idx)
				*idx = i;
			return &d->q[i];
		}
	return NULL;
}

static void remove_entry(dept_actor *d, int i)
{
	memmove(&d->q[i], &d->q[i + 1], (size_t)(d->nq - i - 1) * sizeof *d->q);
	d->nq--;
	d->dirty = true;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const qent *a = pa, *b = pb;
	if (a->eff != b->eff)
		return b->eff - a->eff;
	if (a->since != b->since)
		return a->since < b->since ? -1 : 1;
	return a->cid < b->cid ? -1 : a->cid > b->cid;
}

static void sort_queue(dept_actor *d)
{
	int64_t now = now_ms();
	for (int i = 0; i < d->nq; i++)
		d->q[i].eff = desk_effective_priority(d->q[i].prio, d->q[i].since, now, d->d.sla_medium_s, d->d.sla_high_s);
	if (d->nq > 1)   /* (qsort of a NULL array is undefined) */
		qsort(d->q, (size_t)d->nq, sizeof *d->q, cmp_entry);
}

/* ---------- flush: positions, events, the board ---------- */

static void flush(dept_actor *d)
{
	d->dirty = false;
	d->last_flush = desk_mono_ms();
	sort_queue(d);
	int64_t avg = d->avg_ms ? d->avg_ms : 60000;
	if ((size_t)d->nq > d->capview) {
		size_t cap = d->capview ? d->capview : 16;
		while (cap < (size_t)d->nq)
			cap *= 2;
		desk_entry_view *n = realloc(d->view, cap * sizeof *n);
		if (n) {
			d->view = n;
			d->capview = cap;
		}
	}
	desk_entry_view *v = (size_t)d->nq <= d->capview ? d->view : NULL;
	json_t *list = json_array();
	char ids[24];
	for (int i = 0; i < d->nq; i++) {
		qent *e = &d->q[i];
		uint32_t pos = (uint32_t)i + 1;
		uint32_t wait = (uint32_t)((int64_t)pos * avg / 1000);
		if (v)
			v[i] = (desk_entry_view){ e->cid, e->prio, e->since, e->offline };
		if (list && i < DESK_EVENT_MAX)
			json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o,s:b,s:I}", "conversation_id",
							      id_str(e->cid, ids), "priority", rec_priority_name(e->prio),
							      "effective_priority", rec_priority_name(e->eff),
							      "waiting_since", view_time(e->since), "offline", e->offline,
							      "position", (json_int_t)pos));
		if (e->sent && e->sent_pos == pos && e->sent_wait == wait && e->sent_offline == e->offline)
			continue;
		conv_msg *c = conv_msg_new(CM_QUEUE);
		if (!c)
			continue;
		c->seq = pos;
		c->wait_s = wait;
		c->flag = e->offline;
		c->dept = d->did;
		if (conv_send(d->app, d->tid, e->cid, c) == 0) {
			e->sent = true;
			e->sent_pos = pos;
			e->sent_wait = wait;
			e->sent_offline = e->offline;
		}
	}
	if (v || !d->nq)
		desk_board_queue_set(d->app, d->tid, d->did, v, (size_t)d->nq);
	if (list)
		desk_announce(d->app, d->tid, 0,
			      json_pack("{s:s,s:s,s:I,s:o}", "type", "queue", "department_id", id_str(d->did, ids),
					"count", (json_int_t)d->nq, "waiting", list));
}

static void maybe_flush(dept_actor *d)
{
	if (!d->dirty || d->flush_armed)
		return;
	int64_t now = desk_mono_ms();
	if (now - d->last_flush >= DESK_FLUSH_MS) {
		flush(d);
		return;
	}
	if (desk_timer_at(d->app, AK_DEPT, d->tid, d->did, d->last_flush + DESK_FLUSH_MS, false, DT_FLUSH, 0) == 0)
		d->flush_armed = true;
	else
		flush(d);
}

/* ---------- offers ---------- */

static bool eligible(const member *m)
{
	return m->state == PR_ONLINE && !m->blocked && m->load + m->pending < m->cap;
}

/* The member to offer to next by the policy; NULL if none. */
static member *choose(dept_actor *d)
{
	if (!d->nm)
		return NULL;
	/* rotation: members in id order starting after the last chosen */
	int start = 0;
	for (int i = 0; i < d->nm; i++)
		if (d->m[i].uid > d->rr_last) {
			start = i;
			break;
		} else if (i == d->nm - 1) {
			start = 0;
		}
	member *best = NULL;
	for (int k = 0; k < d->nm; k++) {
		member *m = &d->m[(start + k) % d->nm];
		if (!eligible(m))
			continue;
		if (d->d.routing != RP_LEAST_BUSY)
			return m;
		if (!best || m->load + m->pending < best->load + best->pending)
			best = m;
	}
	return best;
}

static int cmp_member(const void *pa, const void *pb)
{
	const member *a = pa, *b = pb;
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

static void pump(dept_actor *d)
{
	if (!d->exists || !d->d.active || d->d.routing == RP_OFF || !d->nq)
		return;
	if (!open_now(d)) {
		/* hours opening is the one thing no message announces */
		if (!d->hours_armed &&
		    desk_timer_at(d->app, AK_DEPT, d->tid, d->did, now_ms() + 60000, true, DT_HOURS, 0) == 0)
			d->hours_armed = true;
		return;
	}
	if (d->nm > 1)
		qsort(d->m, (size_t)d->nm, sizeof *d->m, cmp_member);
	sort_queue(d);
	for (int i = 0; i < d->nq; i++) {
		qent *e = &d->q[i];
		if (e->offered_to)
			continue;
		member *m = choose(d);
		if (!m)
			break;
		desk_msg *o = desk_msg_new(DK_OFFER);
		if (!o)
			break;
		o->cid = e->cid;
		o->dept = d->did;
		if (desk_to_agent(d->app, d->tid, m->uid, o) < 0)
			break;
		e->offered_to = m->uid;
		m->pending++;
		d->rr_last = m->uid;
	}
}

/* A member came online (in hours): the offline entries are ordinary again. */
static void back_online(dept_actor *d)
{
	if (!anyone_online(d) || !open_now(d))
		return;
	for (int i = 0; i < d->nq; i++)
		if (d->q[i].offline) {
			d->q[i].offline = false;
			d->dirty = true;
		}
}

/* The settings or members changed: read them again; agents who joined
 * or left read their departments again (so that their states reach the
 * departments they are in now). */
static void reload(dept_actor *d)
{
	/* a first activation by a reload: every member hears of it (agents
	 * active before they joined know only their old departments) */
	int nold = d->loaded ? d->nm : 0;
	uint64_t *old = nold ? malloc((size_t)nold * sizeof *old) : NULL;
	for (int i = 0; old && i < nold; i++)
		old[i] = d->m[i].uid;
	load(d);
	for (int i = 0; old && i < nold; i++)
		if (!find_member(d, old[i])) {
			desk_msg *m = desk_msg_new(DK_AGENT_RELOAD);
			if (m)
				desk_to_agent(d->app, d->tid, old[i], m);
		}
	for (int i = 0; i < d->nm; i++) {
		bool was = false;
		for (int k = 0; old && k < nold && !was; k++)
			was = old[k] == d->m[i].uid;
		if (!was) {
			desk_msg *m = desk_msg_new(DK_AGENT_RELOAD);
			if (m)
				desk_to_agent(d->app, d->tid, d->m[i].uid, m);
		}
	}
	free(old);
	back_online(d);
	d->dirty = true;
}

/* ---------- messages ---------- */

static void on_enqueue(dept_actor *d, desk_msg *m)
{
	qent *e = find_entry(d, m->cid, NULL);
	if (e) {
		/* a new priority, or a visitor who subscribed: its place goes
		 * out again */
		e->prio = m->priority;
		if (m->since_ms)
			e->since = m->since_ms;
		e->sent = false;
		d->dirty = true;
		return;
	}
	if (d->nq == d->capq) {
		int cap = d->capq ? d->capq * 2 : 16;
		qent *n = realloc(d->q, (size_t)cap * sizeof *n);
		if (!n)
			return;
		d->q = n;
		d->capq = cap;
	}
	e = &d->q[d->nq++];
	*e = (qent){ .cid = m->cid, .prio = m->priority, .since = m->since_ms ? m->since_ms : now_ms() };
	d->dirty = true;
	bool offline = !anyone_online(d) || !open_now(d);
	if (m->state == 1) {
		/* rebuilt at start: offline as stored, and its email went before */
		e->offline = offline && m->ok;
		return;
	}
	if (offline) {
		e->offline = true;
		if (d->nob == d->capob) {
			int cap = d->capob ? d->capob * 2 : 16;
			uint64_t *n = realloc(d->ob, (size_t)cap * sizeof *n);
			if (!n)
				return;
			d->ob = n;
			d->capob = cap;
		}
		d->ob[d->nob++] = m->cid;
		if (!d->ob_armed &&
		    desk_timer_at(d->app, AK_DEPT, d->tid, d->did, desk_mono_ms() + d->app->cfg.offline_email_window_ms,
				  false, DT_OFFLINE_EMAIL, 0) == 0)
			d->ob_armed = true;
	}
}

static void on_offer_done(dept_actor *d, desk_msg *m)
{
	member *mb = find_member(d, m->uid);
	if (mb) {
		if (mb->pending)
			mb->pending--;
		mb->state = m->state;
		mb->load = m->load;
		mb->cap = m->capacity;
		if (!m->ok && !m->delta)
			mb->blocked = true;
	}
	int i;
	qent *e = find_entry(d, m->cid, &i);
	if (!e)
		return;
	if (m->ok) {
		int64_t took = now_ms() - e->since;
		if (took < 0)
			took = 0;
		d->avg_ms = d->avg_ms ? (d->avg_ms * 4 + took) / 5 : (took ? took : 1);
		remove_entry(d, i);
	} else if (m->delta) {
		remove_entry(d, i);   /* it no longer waits here */
	} else {
		e->offered_to = 0;
	}
}

static void on_agent_state(dept_actor *d, desk_msg *m)
{
	member *mb = find_member(d, m->uid);
	if (!mb)
		return;
	bool was = mb->state == PR_ONLINE;
	mb->state = m->state;
	mb->load = m->load;
	mb->cap = m->capacity;
	mb->blocked = false;
	if (!was && mb->state == PR_ONLINE)
		back_online(d);
}

static void on_timer(dept_actor *d, desk_msg *m)
{
	switch (m->state) {
	case DT_FLUSH:
		d->flush_armed = false;
		if (d->dirty)
			flush(d);
		break;
	case DT_OFFLINE_EMAIL:
		d->ob_armed = false;
		if (d->nob) {
			desk_offline_email(d->app, d->tid, d->did, d->ob, (size_t)d->nob);
			d->nob = 0;
		}
		break;
	case DT_HOURS:
		d->hours_armed = false;
		back_online(d);
		break;
	}
}

static void handle(actor *self, actor_msg *msg)
{
	dept_actor *d = container_of(self, dept_actor, a);
	desk_msg *m = (desk_msg *)msg;
	if (d->did == 0 && m->hdr.type != DK_TIMER) {
		/* department 0 is the tenant's default: forwarded there */
		store_txn t;
		uint64_t to = 0;
		if (store_read(d->app->db, &t) == 0) {
			to = deptstore_resolve(&t, d->tid, 0);
			store_done(&t);
		}
		if (to) {
			if (m->hdr.type == DK_OFFER_DONE || m->hdr.type == DK_ENQUEUE || m->hdr.type == DK_DEQUEUE)
				m->dept = to;
			desk_to_dept(d->app, d->tid, to, m);
		} else {
			if (m->reply.kind != REPLY_NONE)
				reply_error(d->app, &m->reply, 404, "not_found", "no such department");
			desk_msg_free(m);
		}
		return;
	}
	bool fresh = !d->loaded;
	if (fresh && m->hdr.type != DK_RELOAD)
		load(d);
	switch (m->hdr.type) {
	case DK_ENQUEUE:
		on_enqueue(d, m);
		break;
	case DK_DEQUEUE: {
		int i;
		if (find_entry(d, m->cid, &i))
			remove_entry(d, i);
		break;
	}
	case DK_OFFER_DONE:
		on_offer_done(d, m);
		break;
	case DK_AGENT_STATE:
		on_agent_state(d, m);
		break;
	case DK_RELOAD:
		reload(d);
		break;
	case DK_INIT:
		break;
	case DK_TIMER:
		on_timer(d, m);
		break;
	default:
		break;
	}
	pump(d);
	maybe_flush(d);
	if (m->reply.kind != REPLY_NONE)
		reply_ack(d->app, &m->reply, NULL);
	desk_msg_free(m);
}
