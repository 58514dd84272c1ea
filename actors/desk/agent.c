/* agent — the agent actor (AK_AGENT, tenant, user id): the agent's
 * presence and load, so that an agent never goes over capacity (the
 * protocol: actors/kit/desk.h).
 *
 * Presence: online while a WebSocket of the agent is open or a heartbeat
 * came less than DESK_HEARTBEAT_MS ago (a timer per agent ends it), away
 * or online again by hand (REST or the presence.set frame; without an
 * open socket either also counts as a heartbeat). Going offline forgets a manual away. Every
 * change is stored (storage/presence_store.h) and announced as a
 * `presence` event to supervisors and up and to the agent's own sessions.
 *
 * Load = open conversations assigned to the agent (DK_INIT at start, then
 * DK_LOAD deltas and routed assignments) + offers accepted and not yet
 * answered by their conversation. An offer is accepted only while online
 * (not away) and load < capacity, first come first served whichever
 * department it comes from. After every change of state, load or capacity
 * each department of the agent gets DK_AGENT_STATE.
 */
#include "actors/desk/desk.h"
#include "actors/conversations/conv.h"
#include "actors/kit/perm.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/dept_store.h"
#include "storage/presence_store.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	uint64_t cid, dept;
} offer;

typedef struct {
	actor a;
	app *app;
	uint64_t tid, uid;
	bool loaded, exists, active;
	char name[REC_NAME_MAX + 1];
	uint64_t max_chats;
	int sockets;
	int64_t hb_until;              /* wall ms: a heartbeat keeps the agent online until */
	uint64_t hb_tag;               /* the heartbeat timer armed last */
	bool away;
	uint8_t state;
	int64_t since_ms;
	uint32_t load;                 /* open conversations assigned */
	offer *offers;                 /* accepted, not yet routed */
	int noffers, capoffers;
	uint64_t *depts;
	int ndepts;
} agent_actor;

static void handle(actor *self, actor_msg *msg);

actor *desk_agent_new(void *ctx, uint64_t tid, uint64_t uid)
{
	app *a = ctx;
	agent_actor *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->app = a;
	g->tid = tid;
	g->uid = uid;
	actor_init(&g->a, a->rt, handle, 0);
	return &g->a;
}

void desk_agent_free(actor *act)
{
	agent_actor *g = container_of(act, agent_actor, a);
	free(g->offers);
	free(g->depts);
	free(g);
}

static uint32_t capacity(agent_actor *g)
{
	return g->exists && g->active ? desk_capacity(g->app, g->max_chats) : 0;
}

static uint32_t load_all(agent_actor *g)
{
	return g->load + (uint32_t)g->noffers;
}

typedef struct {
	uint64_t *ids;
	int n, cap;
} idlist;

static bool add_id(void *ctx, uint64_t id)
{
	idlist *l = ctx;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		uint64_t *n = realloc(l->ids, (size_t)cap * sizeof *n);
		if (!n)
			return false;
		l->ids = n;
		l->cap = cap;
	}
	l->ids[l->n++] = id;
	return true;
}

/* Reads the user and its departments again. */
static void load(agent_actor *g)
{
	store_txn t;
	if (store_read(g->app->db, &t))
		return;
	rec_user u;
	int rc = account_user_get(&t, g->tid, g->uid, &u);
	g->exists = rc == 0;
	g->active = rc == 0 && u.active;
	g->max_chats = rc == 0 ? u.max_chats : 0;
	if (rc == 0)
		strcpy(g->name, u.name);
	idlist l = { 0 };
	if (deptstore_each_of_agent(&t, g->tid, g->uid, add_id, &l) == 0) {
		free(g->depts);
		g->depts = l.ids;
		g->ndepts = l.n;
	} else {
		free(l.ids);
	}
	store_done(&t);
	g->loaded = true;
}

static void publish(agent_actor *g)
{
	desk_agent_view v = { g->state, load_all(g), capacity(g), g->since_ms };
	desk_board_agent_set(g->app, g->tid, g->uid, &v);
}

static void fill(agent_actor *g, desk_msg *m)
{
	m->uid = g->uid;
	m->state = g->state;
	m->load = load_all(g);
	m->capacity = capacity(g);
}

/* DK_AGENT_STATE to the departments of ids (the agent's, or others it
 * just left). */
static void tell(agent_actor *g, const uint64_t *ids, int n)
{
	for (int i = 0; i < n; i++) {
		desk_msg *m = desk_msg_new(DK_AGENT_STATE);
		if (!m)
			return;
		fill(g, m);
		desk_to_dept(g->app, g->tid, ids[i], m);
	}
}

static void changed(agent_actor *g)
{
	publish(g);
	tell(g, g->depts, g->ndepts);
}

/* ---------- presence ---------- */

typedef struct {
	wr_req w;
	rec_presence p;
} presence_write;

static int presence_apply(wr_req *w, store_txn *t)
{
	presence_write *pw = container_of(w, presence_write, w);
	return presencestore_put(t, &pw->p);
}

static void presence_done(wr_req *w, int rc)
{
	presence_write *pw = container_of(w, presence_write, w);
	if (rc)
		log_warn("desk.presence", "tid=%llu uid=%llu err=\"%s\"", (unsigned long long)pw->p.tid,
			 (unsigned long long)pw->p.uid, store_strerror(rc));
	free(pw);
}

static json_t *presence_frame(agent_actor *g)
{
	char ids[24];
	return json_pack("{s:s,s:s,s:s,s:o,s:I,s:I}", "type", "presence", "user_id", id_str(g->uid, ids), "state",
			 rec_presence_name(g->state), "at", view_time(g->since_ms), "load", (json_int_t)load_all(g),
			 "capacity", (json_int_t)capacity(g));
}

static void set_state(agent_actor *g, uint8_t st)
{
	if (st == g->state)
		return;
	int64_t now = clock_now_ms();
	g->state = st;
	g->since_ms = now;
	if (st == PR_OFFLINE)
		g->away = false;
	presence_write *pw = calloc(1, sizeof *pw);
	if (pw) {
		pw->p = (rec_presence){ .tid = g->tid, .uid = g->uid, .at_ms = now, .state = st };
		pw->w.apply = presence_apply;
		pw->w.done = presence_done;
		writer_submit(g->app->wr, &pw->w);
	}
	desk_announce(g->app, g->tid, g->uid, presence_frame(g));
	changed(g);
}

static void recompute(agent_actor *g)
{
	bool present = g->exists && g->active && (g->sockets > 0 || g->hb_until > clock_now_ms());
	set_state(g, !present ? PR_OFFLINE : g->away ? PR_AWAY : PR_ONLINE);
}

static void heartbeat(agent_actor *g)
{
	int64_t now = clock_now_ms();
	g->hb_until = now + DESK_HEARTBEAT_MS;
	desk_timer_at(g->app, AK_AGENT, g->tid, g->uid, g->hb_until + 1, true, DT_HEARTBEAT, ++g->hb_tag);
}

static json_t *state_view(agent_actor *g)
{
	char ids[24];
	return json_pack("{s:s,s:s,s:o,s:I,s:I,s:b}", "user_id", id_str(g->uid, ids), "state",
			 rec_presence_name(g->state), "since", view_time(g->since_ms), "load", (json_int_t)load_all(g),
			 "capacity", (json_int_t)capacity(g), "socket", g->sockets > 0);
}

static void on_presence(agent_actor *g, desk_msg *m)
{
	switch (m->state) {
	case DPE_SOCKET_OPEN:
		g->sockets++;
		break;
	case DPE_SOCKET_CLOSE:
		if (g->sockets > 0)
			g->sockets--;
		break;
	case DPE_HEARTBEAT:
		heartbeat(g);
		break;
	case DPE_SET_AWAY:
	case DPE_SET_ONLINE:
		/* by hand, without a socket: counts as a heartbeat */
		if (g->sockets == 0)
			heartbeat(g);
		g->away = m->state == DPE_SET_AWAY;
		break;
	}
	recompute(g);
	if (m->reply.kind != REPLY_NONE)
		reply_json(g->app, &m->reply, 200, state_view(g));
}

/* ---------- offers ---------- */

static int find_offer(agent_actor *g, uint64_t cid)
{
	for (int i = 0; i < g->noffers; i++)
		if (g->offers[i].cid == cid)
			return i;
	return -1;
}

static void offer_done(agent_actor *g, uint64_t dept, uint64_t cid, bool ok, bool conv_refused)
{
	desk_msg *d = desk_msg_new(DK_OFFER_DONE);
	if (!d)
		return;
	fill(g, d);
	d->cid = cid;
	d->dept = dept;
	d->ok = ok;
	d->delta = conv_refused;   /* 1: the conversation refused (it no longer waits there) */
	desk_to_dept(g->app, g->tid, dept, d);
}

static void on_offer(agent_actor *g, desk_msg *m)
{
	if (g->state != PR_ONLINE || load_all(g) >= capacity(g) || find_offer(g, m->cid) >= 0) {
		offer_done(g, m->dept, m->cid, false, false);
		return;
	}
	if (g->noffers == g->capoffers) {
		int cap = g->capoffers ? g->capoffers * 2 : 4;
		offer *n = realloc(g->offers, (size_t)cap * sizeof *n);
		if (!n) {
			offer_done(g, m->dept, m->cid, false, false);
			return;
		}
		g->offers = n;
		g->capoffers = cap;
	}
	conv_msg *c = conv_msg_new(CM_ROUTE);
	if (!c) {
		offer_done(g, m->dept, m->cid, false, false);
		return;
	}
	g->offers[g->noffers++] = (offer){ m->cid, m->dept };
	c->target = g->uid;
	strcpy(c->target_name, g->name);
	c->dept = m->dept;
	if (conv_send(g->app, g->tid, m->cid, c) < 0) {
		g->offers[find_offer(g, m->cid)] = g->offers[--g->noffers];
		offer_done(g, m->dept, m->cid, false, false);
		return;
	}
	changed(g);
}

static void on_routed(agent_actor *g, desk_msg *m)
{
	int i = find_offer(g, m->cid);
	uint64_t dept = m->dept;
	if (i >= 0) {
		dept = g->offers[i].dept;
		g->offers[i] = g->offers[--g->noffers];
	}
	if (m->ok)
		g->load++;
	if (dept)
		offer_done(g, dept, m->cid, m->ok, !m->ok);
	changed(g);
}

static void handle(actor *self, actor_msg *msg)
{
	agent_actor *g = container_of(self, agent_actor, a);
	desk_msg *m = (desk_msg *)msg;
	if (!g->loaded)
		load(g);
	switch (m->hdr.type) {
	case DK_PRESENCE:
		on_presence(g, m);
		break;
	case DK_OFFER:
		on_offer(g, m);
		break;
	case DK_ROUTED:
		on_routed(g, m);
		break;
	case DK_LOAD:
		if (m->delta < 0 && (uint32_t)-m->delta > g->load)
			g->load = 0;
		else
			g->load = (uint32_t)((int64_t)g->load + m->delta);
		changed(g);
		break;
	case DK_INIT:
		g->load += m->load;
		changed(g);
		break;
	case DK_AGENT_RELOAD: {
		uint64_t *old = g->depts;
		int nold = g->ndepts;
		g->depts = NULL;
		g->ndepts = 0;
		load(g);
		if (!g->depts) {   /* the read failed: keep what was known */
			g->depts = old;
			g->ndepts = nold;
			old = NULL;
			nold = 0;
		}
		recompute(g);
		changed(g);
		/* departments it left hear of it too (they drop it on reload) */
		tell(g, old, nold);
		free(old);
		if (m->reply.kind != REPLY_NONE)
			reply_json(g->app, &m->reply, 200, state_view(g));
		break;
	}
	case DK_TIMER:
		if (m->state == DT_HEARTBEAT && m->cid == g->hb_tag)
			recompute(g);
		break;
	default:
		break;
	}
	if (m->reply.kind != REPLY_NONE)
		reply_json(g->app, &m->reply, 200, state_view(g));
	desk_msg_free(m);
}
