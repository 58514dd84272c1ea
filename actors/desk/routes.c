/* routes — the desk's REST routes and frames (docs/openapi.yaml,
 * docs/realtime.md): presence, capacity, the waiting queue.
 *
 * Permissions (kit/perm.h):
 *   POST /v1/presence/heartbeat    self         a signed-in user keeps themself online
 *   PUT  /v1/presence              self         away / online by hand (also the frame presence.set)
 *   GET  /v1/presence              team.read    every department's members: state, load, capacity
 *   PUT  /v1/agents/{id}/capacity  team.manage  admins set an agent's max concurrent chats
 *   GET  /v1/queue                 conv         supervisors and up: every department's queue;
 *                                               agents: the queues of their own departments
 *                                               (another department by id: 403 not_a_member;
 *                                               a read API key, acting as an agent, is no member)
 * Picking up a waiting conversation is the assignment to oneself
 * (POST /v1/conversations/{id}/assign), which takes it out of its queue.
 */
#include "net/ws.h"
#include "actors/desk/desk.h"
#include "actors/conversations/inbox.h"
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/session.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/dept_store.h"

#include <stdlib.h>
#include <string.h>

void desk_announce(app *a, uint64_t tid, uint64_t uid, json_t *frame)
{
	if (frame)
		inbox_broadcast_to(a, tid, frame, ROLE_SUPERVISOR, uid);
}

/* ---------- presence ---------- */

static void presence_to_agent(http_req *req, const principal *p, int event)
{
	app *a = api_app(req);
	desk_msg *m = desk_msg_new(DK_PRESENCE);
	if (!m) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	m->state = (uint8_t)event;
	reply_to r;
	reply_begin_http(a, &r, req);
	m->reply = r;
	if (desk_to_agent(a, p->tid, p->id, m) < 0)
		reply_error(a, &r, 500, "internal", "the desk is not running");
}

static void heartbeat(http_req *req, const principal *p)
{
	presence_to_agent(req, p, DPE_HEARTBEAT);
}

/* "online" | "away" → the event; -1 otherwise. */
static int set_event(const char *state)
{
	if (strcmp(state, "online") == 0)
		return DPE_SET_ONLINE;
	if (strcmp(state, "away") == 0)
		return DPE_SET_AWAY;
	return -1;
}

static void presence_put(http_req *req, const principal *p)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	static const char *const allowed[] = { "state", NULL };
	const char *state;
	int ev = -1;
	if (api_only(req, body, allowed) == 0 && api_str(req, body, "state", true, 1, 16, &state) == 0) {
		ev = set_event(state);
		if (ev < 0)
			api_bad_field(req, "state", "state must be online or away");
	}
	json_decref(body);
	if (ev >= 0)
		presence_to_agent(req, p, ev);
}

static void frame_presence_set(rt_session *s, const char *id, json_t *f)
{
	const char *state;
	if (rt_str_field(s->c, id, f, "state", 1, 16, &state) < 0)
		return;
	int ev = set_event(state);
	if (ev < 0) {
		rt_error(s->c, id, "invalid_field", "state must be online or away", "state");
		return;
	}
	desk_msg *m = desk_msg_new(DK_PRESENCE);
	if (!m) {
		rt_error(s->c, id, "internal", "out of memory", NULL);
		return;
	}
	m->state = (uint8_t)ev;
	reply_to r;
	reply_begin_ws(s->app, &r, ws_ref(s->c), id);
	m->reply = r;
	if (desk_to_agent(s->app, s->who.tid, s->who.id, m) < 0)
		reply_error(s->app, &r, 500, "internal", "the desk is not running");
}

/* GET /v1/presence */
typedef struct {
	store_txn *t;
	app *a;
	uint64_t tid;
	json_t *out;
	json_t *members;
	size_t online;
	bool failed;
} presence_walk;

static bool presence_member(void *ctx, uint64_t uid)
{
	presence_walk *w = ctx;
	rec_user u;
	if (account_user_get(w->t, w->tid, uid, &u) != 0)
		return true;
	desk_agent_view v;
	desk_board_agent_get(w->a, w->tid, uid, &v);
	if (!v.capacity)
		v.capacity = u.active ? desk_capacity(w->a, u.max_chats) : 0;
	if (v.state == PR_ONLINE)
		w->online++;
	json_t *m = json_pack("{s:o,s:s,s:s,s:s,s:I,s:I,s:I,s:o}", "user_id", view_id(uid), "name", u.name, "role",
			      u.role, "state", rec_presence_name(v.state), "load", (json_int_t)v.load, "open",
			      (json_int_t)v.load, "capacity", (json_int_t)v.capacity, "since",
			      v.since_ms ? view_time(v.since_ms) : json_null());
	if (!m || json_array_append_new(w->members, m) < 0)
		w->failed = true;
	return !w->failed;
}

static bool presence_dept(void *ctx, const rec_dept *d)
{
	presence_walk *w = ctx;
	w->members = json_array();
	w->online = 0;
	if (!w->members || deptstore_each_member(w->t, w->tid, d->id, presence_member, w) != 0)
		w->failed = true;
	desk_entry_view *q;
	size_t waiting = desk_board_queue_get(w->a, w->tid, d->id, &q);
	free(q);
	json_t *o = json_pack("{s:o,s:s,s:b,s:o,s:I,s:I}", "department_id", view_id(d->id), "name", d->name, "active",
			      d->active, "members", w->members, "online", (json_int_t)w->online, "waiting",
			      (json_int_t)waiting);
	if (!o || json_array_append_new(w->out, o) < 0)
		w->failed = true;
	return !w->failed;
}

static void presence_get(http_req *req, const principal *p)
{
	app *a = api_app(req);
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	presence_walk w = { .t = &t, .a = a, .tid = p->tid, .out = json_array() };
	int rc = w.out ? deptstore_each(&t, p->tid, presence_dept, &w) : STORE_ENOMEM;
	store_done(&t);
	if (rc || w.failed) {
		json_decref(w.out);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o}", "departments", w.out));
}

/* ---------- capacity ---------- */

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	principal who;
	uint64_t tid, uid, max_chats;
	rec_user user;
	int status;
} cap_op;

static int cap_apply(wr_req *w, store_txn *t)
{
	cap_op *op = container_of(w, cap_op, w);
	rec_user u;
	int rc = account_user_get(t, op->tid, op->uid, &u);
	if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT) {
		op->status = 404;
		return 0;
	}
	if (rc)
		return rc;
	uint64_t before = u.max_chats;
	if ((rc = account_user_set_max_chats(t, op->tid, op->uid, op->max_chats, &op->user)))
		return rc;
	/* the audit row, in the change's transaction */
	return audit_json(op->app, t, op->tid, &op->who, "user.capacity", "user", op->uid,
			  json_pack("{s:I,s:I}", "from", (json_int_t)before, "to", (json_int_t)op->max_chats));
}

static void cap_done(wr_req *w, int rc)
{
	cap_op *op = container_of(w, cap_op, w);
	app *a = op->app;
	if (rc) {
		log_error("desk.capacity", "err=\"%s\"", store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->status == 404) {
		reply_error(a, &op->reply, 404, "not_found", "no such user");
	} else {
		desk_msg *m = desk_msg_new(DK_AGENT_RELOAD);
		if (m)
			desk_to_agent(a, op->tid, op->uid, m);
		reply_json(a, &op->reply, 200,
			   json_pack("{s:o,s:I,s:I}", "user_id", view_id(op->uid), "max_chats",
				     (json_int_t)op->user.max_chats, "capacity",
				     (json_int_t)desk_capacity(a, op->user.max_chats)));
	}
	free(op);
}

static void capacity_put(http_req *req, const principal *p)
{
	app *a = api_app(req);
	uint64_t uid;
	if (api_id_param(req, 0, &uid) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	static const char *const allowed[] = { "max_chats", NULL };
	if (api_only(req, body, allowed) < 0) {
		json_decref(body);
		return;
	}
	json_t *v = json_object_get(body, "max_chats");
	if (!v || !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > ACCOUNT_MAX_CHATS) {
		json_decref(body);
		http_respond_error(req, 400, "invalid_capacity", "max_chats must be an integer from 0 to 100", "max_chats");
		return;
	}
	uint64_t n = (uint64_t)json_integer_value(v);
	json_decref(body);
	cap_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	op->app = a;
	op->who = *p;
	op->tid = p->tid;
	op->uid = uid;
	op->max_chats = n;
	op->w.apply = cap_apply;
	op->w.done = cap_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
}

/* ---------- the queue ---------- */

static json_t *queue_view(app *a, const rec_dept *d, int64_t now)
{
	desk_entry_view *q;
	size_t n = desk_board_queue_get(a, d->tid, d->id, &q);
	json_t *list = json_array();
	char ids[24];
	for (size_t i = 0; list && i < n; i++) {
		int eff = desk_effective_priority(q[i].priority, q[i].since_ms, now, d->sla_medium_s, d->sla_high_s);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o,s:I,s:b,s:I}", "conversation_id",
						      id_str(q[i].cid, ids), "priority", rec_priority_name(q[i].priority),
						      "effective_priority", rec_priority_name(eff), "waiting_since",
						      view_time(q[i].since_ms), "wait_s",
						      (json_int_t)(now > q[i].since_ms ? (now - q[i].since_ms) / 1000 : 0),
						      "offline", q[i].offline, "position", (json_int_t)(i + 1)));
	}
	free(q);
	return json_pack("{s:o,s:s,s:I,s:o}", "department_id", view_id(d->id), "name", d->name, "count",
			 (json_int_t)n, "waiting", list);
}

typedef struct {
	app *a;
	store_txn *t;
	const principal *p;
	bool all;
	json_t *out;
	int64_t now;
} queue_walk;

static bool queue_dept(void *ctx, const rec_dept *d)
{
	queue_walk *w = ctx;
	if (!w->all && deptstore_is_member(w->t, d->tid, d->id, w->p->id) != 0)
		return true;
	json_array_append_new(w->out, queue_view(w->a, d, w->now));
	return true;
}

static void queue_get(http_req *req, const principal *p)
{
	app *a = api_app(req);
	char q[32];
	int qn = http_query(req, "department_id", q, sizeof q);
	uint64_t did = 0;
	if (qn != -1 && (qn <= 0 || !id_parse(q, (size_t)qn, &did))) {
		http_respond_error(req, 400, "invalid_field", "department_id must be a department's id", "department_id");
		return;
	}
	/* supervisors and up (and keys that act as one) see every queue;
	 * agents their departments' (a read key, acting as an agent, is
	 * nobody's member: none) */
	bool all = role_parse(p->role) >= ROLE_SUPERVISOR;
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	queue_walk w = { a, &t, p, all, json_array(), clock_now_ms() };
	int rc = 0;
	if (did) {
		rec_dept d;
		rc = deptstore_get(&t, p->tid, did, &d);
		if (rc == 0 && !all && deptstore_is_member(&t, p->tid, did, p->id) != 0) {
			store_done(&t);
			json_decref(w.out);
			http_respond_error(req, 403, "not_a_member", "you are not a member of this department", NULL);
			return;
		}
		if (rc == 0)
			queue_dept(&w, &d);
	} else {
		rc = deptstore_each(&t, p->tid, queue_dept, &w);
	}
	store_done(&t);
	if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT) {
		json_decref(w.out);
		http_respond_error(req, 404, "not_found", "no such department", NULL);
		return;
	}
	if (rc) {
		json_decref(w.out);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o}", "departments", w.out));
}

/* ---------- the feature ---------- */

static int start(app *a)
{
	if (desk_runtime_start(a) < 0)
		return -1;
	return desk_rebuild(a);
}

static void stop(app *a)
{
	desk_runtime_stop(a);
}

static void release(app *a)
{
	desk_runtime_free(a);
}

static const route_def routes[] = {
	{ "POST", "/v1/presence/heartbeat", PERM_SELF, heartbeat },
	{ "PUT", "/v1/presence", PERM_SELF, presence_put },
	{ "GET", "/v1/presence", PERM_TEAM_READ, presence_get },
	{ "PUT", "/v1/agents/{id}/capacity", PERM_TEAM_MANAGE, capacity_put },
	{ "GET", "/v1/queue", PERM_CONV, queue_get },
	{ 0 },
};

static const frame_def frames[] = {
	{ "presence.set", PERM_SELF, FRAME_AGENTS, frame_presence_set },
	{ 0 },
};

const feature feature_desk = {
	.name = "desk", .routes = routes, .frames = frames, .start = start, .stop = stop, .release = release
};
