/* rt — the realtime protocol over WebSocket (docs/realtime.md).
 *
 * Frames are parsed and validated here on the I/O thread; anything that
 * touches a conversation becomes a message to its actor, which answers
 * through reply_to. A connection's session holds its principal and the
 * conversations it subscribed to (so closing it unsubscribes them, and so
 * later frames about those conversations skip the access check).
 */
#include "net/ws.h"
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/inbox.h"
#include "actors/conversations/view.h"
#include "storage/account_store.h"
#include "core/id.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RT_MAX_SUBS 1000

typedef struct {
	app *app;
	conn *c;
	bool widget;              /* the visitor endpoint */
	uint64_t widget_tid;      /* its tenant */
	bool authed;
	bool inbox;               /* subscribed to the tenant inbox */
	principal who;
	uint64_t *subs;
	int nsubs, capsubs;
	uint64_t checked[8];      /* conversations recently found accessible (a
				   * conversation never changes tenant or visitor) */
	unsigned nchecked;
} rt_session;

/* ---------- replies from the I/O thread ---------- */

static void send_json(conn *c, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s) {
		ws_send(c, s, strlen(s));
		free(s);
	}
}

static void send_error(conn *c, const char *id, const char *code, const char *msg, const char *field)
{
	json_t *v = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", code, "message", msg);
	if (field)
		json_object_set_new(json_object_get(v, "error"), "field", json_string(field));
	if (id)
		json_object_set_new(v, "id", json_string(id));
	send_json(c, v);
}

static void send_ack(conn *c, const char *id, json_t *fields)
{
	if (!id) {
		json_decref(fields);
		return;
	}
	json_t *v = fields ? fields : json_object();
	json_object_set_new(v, "type", json_string("ack"));
	json_object_set_new(v, "id", json_string(id));
	send_json(c, v);
}

/* ---------- field validation ---------- */

static int get_id_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(f, name);
	if (!json_is_string(v) || !id_parse(json_string_value(v), json_string_length(v), out)) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be an id string", name);
		send_error(c, id, "invalid_field", msg, name);
		return -1;
	}
	return 0;
}

static int get_uint_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(f, name);
	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be an integer >= 0", name);
		send_error(c, id, "invalid_field", msg, name);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_str_field(conn *c, const char *id, json_t *f, const char *name, size_t min,
			 size_t max, const char **out)
{
	json_t *v = json_object_get(f, name);
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	if (!json_is_string(v) || n < min || n > max || strlen(json_string_value(v)) != n) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be a string of %zu to %zu bytes", name, min, max);
		send_error(c, id, "invalid_field", msg, name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* ---------- sessions ---------- */

static bool has_sub(rt_session *s, uint64_t cid)
{
	for (int i = 0; i < s->nsubs; i++)
		if (s->subs[i] == cid)
			return true;
	return false;
}

static int add_sub(rt_session *s, uint64_t cid)
{
	if (has_sub(s, cid))
		return 0;
	if (s->nsubs == RT_MAX_SUBS)
		return -1;
	if (s->nsubs == s->capsubs) {
		int cap = s->capsubs ? s->capsubs * 2 : 2;
		uint64_t *n = realloc(s->subs, (size_t)cap * sizeof *n);
		if (!n)
			return -1;
		s->subs = n;
		s->capsubs = cap;
	}
	s->subs[s->nsubs++] = cid;
	return 0;
}

static void remove_sub(rt_session *s, uint64_t cid)
{
	for (int i = 0; i < s->nsubs; i++)
		if (s->subs[i] == cid) {
			s->subs[i] = s->subs[--s->nsubs];
			return;
		}
}

/* May this session act on conversation cid? Answers not_found itself. */
static bool can_access(rt_session *s, const char *id, uint64_t cid)
{
	if (has_sub(s, cid))
		return true;
	for (unsigned i = 0; i < 8 && i < s->nchecked; i++)
		if (s->checked[i] == cid)
			return true;
	rec_conv c;
	int rc = api_load_conv(s->app, s->who.tid, cid, &c);
	if (rc == 0 && (s->who.kind == P_AGENT || c.visitor_id == s->who.id)) {
		s->checked[s->nchecked++ % 8] = cid;
		return true;
	}
	if (rc && rc != STORE_ENOTFOUND)
		send_error(s->c, id, "internal", "storage unavailable", NULL);
	else
		send_error(s->c, id, "not_found", "no such conversation", "conversation_id");
	return false;
}

static conv_msg *new_msg(rt_session *s, int type, const char *id)
{
	conv_msg *m = conv_msg_new(type);
	if (!m) {
		send_error(s->c, id, "internal", "out of memory", NULL);
		return NULL;
	}
	m->who = s->who;
	m->conn = ws_ref(s->c);
	m->audience = s->who.kind == P_VISITOR ? AUD_VISITOR : AUD_AGENT;
	reply_begin_ws(s->app, &m->reply, m->conn, id);
	return m;
}

/* ---------- frame handlers ---------- */

static void do_auth(rt_session *s, const char *id, json_t *f)
{
	const char *tok;
	if (get_str_field(s->c, id, f, "token", 1, 4096, &tok) < 0)
		return;
	if (s->authed) {
		send_error(s->c, id, "invalid_frame", "already authenticated", NULL);
		return;
	}
	principal p;
	int rc = s->widget ? auth_visitor(s->app, tok, strlen(tok), &p) : auth_access(s->app, tok, strlen(tok), &p);
	if (rc < 0 || (s->widget && p.tid != s->widget_tid)) {
		send_error(s->c, id, "unauthenticated", "invalid or expired token", "token");
		return;
	}
	s->who = p;
	s->authed = true;
	ws_set_ready(s->c);
	json_t *me = json_pack("{s:o,s:o,s:s,s:s}", "id", view_id(p.id), "tenant_id", view_id(p.tid),
			       "name", p.name, "role", p.role);
	send_ack(s->c, id, json_pack("{s:o}", p.kind == P_VISITOR ? "visitor" : "user", me));
}

static void do_subscribe(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid, after;
	if (get_id_field(s->c, id, f, "conversation_id", &cid) < 0 ||
	    get_uint_field(s->c, id, f, "after_seq", &after) < 0 || !can_access(s, id, cid))
		return;
	if (add_sub(s, cid) < 0) {
		send_error(s->c, id, "too_large", "too many subscriptions on this connection", NULL);
		return;
	}
	conv_msg *m = new_msg(s, CM_SUBSCRIBE, id);
	if (!m)
		return;
	m->seq = after;
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_unsubscribe(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	if (get_id_field(s->c, id, f, "conversation_id", &cid) < 0)
		return;
	if (has_sub(s, cid)) {
		conv_msg *m = conv_msg_new(CM_UNSUBSCRIBE);
		if (m) {
			m->conn = ws_ref(s->c);
			conv_send(s->app, s->who.tid, cid, m);
		}
		remove_sub(s, cid);
	}
	send_ack(s->c, id, NULL);
}

static void do_send(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	const char *client_id, *text;
	if (get_id_field(s->c, id, f, "conversation_id", &cid) < 0 ||
	    get_str_field(s->c, id, f, "client_id", 1, REC_CLIENT_ID_MAX, &client_id) < 0 ||
	    get_str_field(s->c, id, f, "text", 1, REC_TEXT_MAX, &text) < 0)
		return;
	json_t *pv = json_object_get(f, "private");
	if (pv && !json_is_boolean(pv)) {
		send_error(s->c, id, "invalid_field", "private must be a boolean", "private");
		return;
	}
	bool priv = json_is_true(pv);
	if (priv && s->who.kind != P_AGENT) {
		send_error(s->c, id, "forbidden", "visitors cannot send private notes", "private");
		return;
	}
	if (!can_access(s, id, cid))
		return;
	conv_msg *m = new_msg(s, CM_SEND, id);
	if (!m)
		return;
	m->text = strdup(text);
	m->text_len = strlen(text);
	strcpy(m->client_id, client_id);
	m->flag = priv;
	if (!m->text) {
		reply_error(s->app, &m->reply, 500, "internal", "out of memory");
		conv_msg_free(m);
		return;
	}
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_typing(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid;
	json_t *st = json_object_get(f, "state");
	if (get_id_field(s->c, id, f, "conversation_id", &cid) < 0)
		return;
	if (!json_is_boolean(st)) {
		send_error(s->c, id, "invalid_field", "state must be a boolean", "state");
		return;
	}
	if (!can_access(s, id, cid))
		return;
	conv_msg *m = new_msg(s, CM_TYPING, id);
	if (!m)
		return;
	m->flag = json_is_true(st);
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_receipt(rt_session *s, const char *id, json_t *f, bool read)
{
	uint64_t cid, seq;
	if (get_id_field(s->c, id, f, "conversation_id", &cid) < 0)
		return;
	json_t *sv = json_object_get(f, "seq");
	if (!json_is_integer(sv) || json_integer_value(sv) < 0) {
		send_error(s->c, id, "invalid_field", "seq must be an integer >= 0", "seq");
		return;
	}
	seq = (uint64_t)json_integer_value(sv);
	if (!can_access(s, id, cid))
		return;
	conv_msg *m = new_msg(s, CM_RECEIPT, id);
	if (!m)
		return;
	m->seq = seq;
	m->flag = read;
	conv_send(s->app, s->who.tid, cid, m);
}

static void do_inbox(rt_session *s, const char *id, json_t *f)
{
	uint64_t after;
	if (s->who.kind != P_AGENT) {
		send_error(s->c, id, "forbidden", "the inbox is for agents", NULL);
		return;
	}
	if (get_uint_field(s->c, id, f, "after", &after) < 0)
		return;
	inbox_msg *m = inbox_msg_new(IM_SUBSCRIBE);
	if (!m) {
		send_error(s->c, id, "internal", "out of memory", NULL);
		return;
	}
	m->conn = ws_ref(s->c);
	m->after = after;
	reply_begin_ws(s->app, &m->reply, m->conn, id);
	s->inbox = true;
	inbox_send(s->app, s->who.tid, m);
}

static void on_message(conn *c, void *user, const char *data, size_t len)
{
	rt_session *s = user;
	json_error_t err;
	/* any JSON value parses (a scalar is then an invalid_frame); strings may
	 * hold \u0000 (each field check rejects it, answering with the frame's id) */
	json_t *f = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!f) {
		send_error(c, NULL, "invalid_json", err.text, NULL);
		return;
	}
	if (!json_is_object(f)) {
		send_error(c, NULL, "invalid_frame", "a frame must be a JSON object", NULL);
		goto out;
	}
	json_t *idv = json_object_get(f, "id");
	const char *id = NULL;
	if (idv) {
		if (!json_is_string(idv) || json_string_length(idv) < 1 || json_string_length(idv) > 64 ||
		    strlen(json_string_value(idv)) != json_string_length(idv)) {
			send_error(c, NULL, "invalid_field", "id must be a string of 1 to 64 bytes", "id");
			goto out;
		}
		id = json_string_value(idv);
	}
	json_t *tv = json_object_get(f, "type");
	if (!json_is_string(tv)) {
		send_error(c, id, "invalid_frame", "type must be a string", "type");
		goto out;
	}
	const char *type = strlen(json_string_value(tv)) == json_string_length(tv) ? json_string_value(tv) : "";
	if (strcmp(type, "auth") == 0) {
		do_auth(s, id, f);
		goto out;
	}
	static const char *known[] = { "ping", "subscribe", "unsubscribe", "send", "typing", "delivered",
				       "read", "subscribe_inbox" };
	bool is_known = false;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		is_known |= strcmp(type, known[i]) == 0;
	if (!is_known) {
		send_error(c, id, "unknown_type", "unknown frame type", "type");
		goto out;
	}
	if (!s->authed) {   /* docs/realtime.md: anything but auth before auth, ping included */
		send_error(c, id, "unauthenticated", "send auth first", NULL);
		goto out;
	}
	/* an agent's session ends with a password change (or removal): every
	 * request re-checks the user, so an open console cannot outlive it */
	if (s->who.kind == P_AGENT && auth_current(s->app, &s->who) < 0) {
		send_error(c, id, "unauthenticated", "session revoked; log in again", NULL);
		/* closed through the loop's queue, so the error frame above (a data
		 * frame) leaves before the close (a control frame, sent first) */
		ws_post_close(s->app->http, ws_ref(c), 1008);
		goto out;
	}
	if (strcmp(type, "ping") == 0)
		send_ack(c, id, NULL);
	else if (strcmp(type, "subscribe") == 0)
		do_subscribe(s, id, f);
	else if (strcmp(type, "unsubscribe") == 0)
		do_unsubscribe(s, id, f);
	else if (strcmp(type, "send") == 0)
		do_send(s, id, f);
	else if (strcmp(type, "typing") == 0)
		do_typing(s, id, f);
	else if (strcmp(type, "delivered") == 0)
		do_receipt(s, id, f, false);
	else if (strcmp(type, "read") == 0)
		do_receipt(s, id, f, true);
	else
		do_inbox(s, id, f);
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
	if (ws_accept(req, &handlers, s) < 0)
		free(s);
}

static void agent_ws(http_req *req)
{
	upgrade(req, false);
}

static void widget_ws(http_req *req)
{
	upgrade(req, true);
}

void rt_register(app *a)
{
	http_route(a->http, "GET", "/v1/ws", 0, agent_ws, a);
	http_route(a->http, "GET", "/v1/widget/ws", 0, widget_ws, a);
}
