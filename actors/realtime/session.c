/* session — the realtime endpoints (docs/realtime.md): the WebSocket
 * upgrades, authentication, and the dispatch of every other frame through
 * the features' frame tables (kit/feature.h) with its permission. Closing
 * a connection ends its subscriptions. */
#include "net/ws.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/inbox.h"
#include "actors/kit/api.h"
#include "actors/kit/desk.h"
#include "actors/kit/session.h"
#include "actors/kit/view.h"
#include "storage/account_store.h"
#include "core/id.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An agent socket opened or closed: the agent's actor counts them
 * (actors/kit/desk.h). */
static void presence(rt_session *s, int event)
{
	desk_msg *m = desk_msg_new(DK_PRESENCE);
	if (!m)
		return;
	m->state = (uint8_t)event;
	m->conn = ws_ref(s->c);
	desk_to_agent(s->app, s->who.tid, s->who.id, m);
}

static void do_auth(rt_session *s, const char *id, json_t *f)
{
	const char *tok;
	if (rt_str_field(s->c, id, f, "token", 1, 4096, &tok) < 0)
		return;
	if (s->authed) {
		rt_error(s->c, id, "invalid_frame", "already authenticated", NULL);
		return;
	}
	principal p;
	int rc = s->widget ? auth_visitor(s->app, tok, strlen(tok), &p) : auth_access(s->app, tok, strlen(tok), &p);
	if (rc < 0 || (s->widget && p.tid != s->widget_tid)) {
		rt_error(s->c, id, "unauthenticated", "invalid or expired token", "token");
		return;
	}
	memcpy(p.addr, s->who.addr, sizeof p.addr);   /* taken at the upgrade (audit log) */
	s->who = p;
	s->authed = true;
	if (p.kind == P_AGENT) {
		rt_list(s);
		presence(s, DPE_SOCKET_OPEN);
	}
	ws_set_ready(s->c);
	json_t *me = json_pack("{s:o,s:o,s:s,s:s}", "id", view_id(p.id), "tenant_id", view_id(p.tid),
			       "name", p.name, "role", p.role);
	rt_ack(s->c, id, json_pack("{s:o}", p.kind == P_VISITOR ? "visitor" : "user", me));
}

static void do_ping(rt_session *s, const char *id, json_t *f)
{
	rt_ack(s->c, id, NULL);
}

static void on_message(conn *c, void *user, const char *data, size_t len)
{
	rt_session *s = user;
	rt_frame fr;
	rt_err e;
	json_t *f = NULL;
	if (rt_parse(data, len, &fr, &e) < 0) {
		/* an invalid id is not echoed; a type error carries a valid one */
		rt_error(c, e.field && strcmp(e.field, "type") == 0 ? fr.id : NULL, e.code, e.message, e.field);
		json_decref(fr.root);
		return;
	}
	f = fr.root;
	const char *id = fr.id, *type = fr.type;
	const frame_def *def = feature_frame(s->app, type);
	if (!def) {
		rt_error(c, id, "unknown_type", "unknown frame type", "type");
		goto out;
	}
	if (def->perm == PERM_PUBLIC) {   /* auth */
		def->fn(s, id, f);
		goto out;
	}
	if (!s->authed) {   /* docs/realtime.md: anything but auth before auth, ping included */
		rt_error(c, id, "unauthenticated", "send auth first", NULL);
		goto out;
	}
	/* the role is the stored one, read again for every frame: a password
	 * change, a deactivation or a removal ends the session, a demotion
	 * takes the permission away at once */
	if (s->who.kind == P_AGENT && auth_current(s->app, &s->who) < 0) {
		rt_error(c, id, "unauthenticated", "session revoked; log in again", NULL);
		/* closed through the loop's queue, so the error frame above (a data
		 * frame) leaves before the close (a control frame, sent first) */
		ws_post_close(s->app->http, ws_ref(c), 1008);
		goto out;
	}
	bool allowed = s->who.kind == P_VISITOR ? (def->flags & FRAME_VISITORS) != 0
						: (def->flags & FRAME_AGENTS) && perm_allows(role_parse(s->who.role), def->perm);
	if (!allowed) {
		rt_error(c, id, "forbidden", s->who.kind == P_VISITOR ? "not for visitors" : "your role does not allow this",
			 NULL);
		goto out;
	}
	def->fn(s, id, f);
out:
	json_decref(f);
}

static void on_close(conn *c, void *user)
{
	rt_session *s = user;
	conn_ref ref = ws_ref(c);
	/* While the server stops (app_stop), the actor runtime may already be
	 * freed when the last connections close; the subscriptions end with
	 * the process anyway, so the actors are not told. */
	bool live = atomic_load(&s->app->ready);
	for (int i = 0; live && i < s->nsubs; i++) {
		conv_msg *m = conv_msg_new(CM_UNSUBSCRIBE);
		if (m) {
			m->conn = ref;
			conv_send(s->app, s->who.tid, s->subs[i], m);
		}
	}
	if (live && s->inbox) {
		inbox_msg *m = inbox_msg_new(IM_UNSUBSCRIBE);
		if (m) {
			m->conn = ref;
			inbox_send(s->app, s->who.tid, m);
		}
	}
	if (live && s->authed && s->who.kind == P_AGENT)
		presence(s, DPE_SOCKET_CLOSE);
	rt_unlist(s);
	free(s->subs);
	free(s);
}

static const ws_handlers handlers = { on_message, on_close };

/* ---------- upgrades ---------- */

/* True when origin (scheme://host[:port]) is the request's own host. */
static bool same_host(http_req *req, const hp_str *origin)
{
	hp_str h = req->head.host;
	const char *schemes[] = { "http://", "https://" };
	for (int i = 0; i < 2; i++) {
		size_t sl = strlen(schemes[i]);
		if (origin->len == sl + h.len && strncasecmp(origin->p, schemes[i], sl) == 0 &&
		    strncasecmp(origin->p + sl, h.p, h.len) == 0)
			return true;
	}
	return false;
}

/* True when origin is listed in a comma-separated list ("*" = any). */
static bool listed(const char *list, const hp_str *origin)
{
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t n = (size_t)(e - p);
		while (n && p[n - 1] == ' ')
			n--;
		if ((n == 1 && *p == '*') || (n == origin->len && strncasecmp(p, origin->p, n) == 0))
			return true;
		p = e;
	}
	return false;
}

static void upgrade(http_req *req, bool widget)
{
	app *a = api_app(req);
	const hp_str *origin = http_header(req, "Origin");
	rt_session *s = calloc(1, sizeof *s);
	if (!s) {
		http_respond_error(req, 503, "busy", "out of memory", NULL);
		return;
	}
	s->app = a;
	s->widget = widget;
	s->loop = -1;
	if (widget) {
		char key[REC_KEY_MAX + 1];
		store_txn txn;
		rec_tenant t;
		int n = http_query(req, "key", key, sizeof key);
		bool ok = n > 0 && strlen(key) == (size_t)n;   /* no NUL inside */
		int rc = ok ? store_read(a->db, &txn) : STORE_ENOTFOUND;
		if (ok && rc == 0) {
			rc = account_tenant_by_key(&txn, key, &t);
			store_done(&txn);
		}
		if (rc) {
			free(s);
			http_respond_error(req, 404, "not_found", "unknown widget key", "key");
			return;
		}
		s->widget_tid = t.id;
		if (origin && !same_host(req, origin) && !listed(t.origins, origin)) {
			free(s);
			http_respond_error(req, 403, "forbidden", "origin not allowed for this widget", NULL);
			return;
		}
	} else if (origin && !same_host(req, origin) && !listed(a->cfg.allowed_origins, origin)) {
		free(s);
		http_respond_error(req, 403, "forbidden", "origin not allowed", NULL);
		return;
	}
	s->c = req->conn;
	auth_peer_addr(a, req, s->who.addr);   /* where the session's frames come from (audit log) */
	if (ws_accept(req, &handlers, s) < 0)
		free(s);
}

static void agent_ws(http_req *req, const principal *unused)
{
	upgrade(req, false);
}

static void widget_ws(http_req *req, const principal *unused)
{
	upgrade(req, true);
}

static const route_def routes[] = {
	{ "GET", "/v1/ws", PERM_PUBLIC, agent_ws },   /* authenticated in-band (auth frame) */
	{ "GET", "/v1/widget/ws", PERM_PUBLIC, widget_ws },
	{ 0 },
};

static const frame_def frames[] = {
	{ "auth", PERM_PUBLIC, FRAME_AGENTS | FRAME_VISITORS, do_auth },
	{ "ping", PERM_SIGNED_IN, FRAME_AGENTS | FRAME_VISITORS, do_ping },
	{ 0 },
};

const feature feature_realtime = { .name = "realtime", .routes = routes, .frames = frames };
