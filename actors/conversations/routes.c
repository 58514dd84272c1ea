/* api_conv — the agents' conversation endpoints. Reads are served on the
 * I/O thread from LMDB read transactions (index scans, newest first);
 * changes go to the conversation's actor. Every lookup is keyed by the
 * caller's tenant, so another tenant's ids are simply not found. */
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/due.h"
#include "actors/conversations/lcache.h"
#include "actors/conversations/rating.h"
#include "actors/conversations/view.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/jw.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int role;              /* the caller's: agents see their scope only */
	uint64_t uid;
	int status;            /* -1 any */
	bool by_assignee;
	uint64_t assignee;
	size_t limit;
	buf out;               /* the "data" array being written */
	size_t count;
	int wrc;               /* nonzero after a failed write */
	uint64_t last;
	bool full;
} list_ctx;

static bool list_one(void *arg, uint64_t cid, const rec_conv *c)
{
	list_ctx *l = arg;
	if (l->count == l->limit) {
		l->full = true;
		return false;
	}
	if (!c)
		return true;
	if (l->status >= 0 && c->status != l->status)
		return true;
	if (l->by_assignee && c->assignee_id != l->assignee)
		return true;
	if (!perm_conv_visible(l->role, l->uid, c))
		return true;
	if (l->count++)
		l->wrc |= buf_puts(&l->out, ",");
	l->wrc |= view_conv_write(c, &l->out);
	l->last = cid;
	return true;
}

/* 200 with the list, or 304 when the client holds this version; lists are
 * private to the agent and revalidated on every use */
static void respond_list(http_req *req, const char *body, size_t len, const char *etag)
{
	char extra[96];
	snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: private, no-cache\r\n", etag);
	if (http_etag_match(req, etag))
		http_respond(req, 304, NULL, NULL, 0, extra);
	else
		http_respond(req, 200, "application/json", body, len, extra);
}

static void list(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	list_ctx l = { .status = -1, .role = role_parse(p.role), .uid = p.id };
	char s[32];
	int n = http_query(req, "status", s, sizeof s);
	if (n != -1 && (n < 0 || (l.status = rec_status_parse(s)) < 0)) {
		http_respond_error(req, 400, "invalid_field",
				   "status must be open, waiting, pending, snoozed, resolved or closed", "status");
		return;
	}
	n = http_query(req, "assignee", s, sizeof s);
	if (n != -1) {
		l.by_assignee = true;
		if (n >= 0 && strcmp(s, "me") == 0 && p.kind == P_APIKEY) {
			http_respond_error(req, 400, "invalid_field", "assignee=me names a user; an API key is none",
					   "assignee");
			return;
		} else if (n >= 0 && strcmp(s, "me") == 0)
			l.assignee = p.id;
		else if (n >= 0 && strcmp(s, "none") == 0)
			l.assignee = 0;
		else if (n < 0 || !id_parse(s, (size_t)n, &l.assignee)) {
			http_respond_error(req, 400, "invalid_field", "assignee must be me, none or a user id", "assignee");
			return;
		}
	}
	int64_t limit;
	if (api_query_int(req, "limit", 25, 1, 100, &limit) < 0)
		return;
	l.limit = (size_t)limit;
	uint64_t below = 0;
	n = http_query(req, "cursor", s, sizeof s);
	if (n != -1 && (n < 0 || !id_parse(s, (size_t)n, &below))) {
		http_respond_error(req, 400, "invalid_field", "cursor is not valid", "cursor");
		return;
	}
	/* the same list rendered since the tenant's last conversation change
	 * is served as it was (lcache.h) */
	lc_key key;
	memset(&key, 0, sizeof key);
	key.tid = p.tid;
	key.status = l.status;
	key.by_assignee = l.by_assignee;
	key.assignee = l.assignee;
	key.limit = (uint32_t)l.limit;
	key.below = below;
	key.scope = l.role >= ROLE_SUPERVISOR ? 0 : p.id;
	int thread = http_req_loop(req);
	const lc_entry *e = lc_get(a->lists, thread, &key);
	if (e) {
		respond_list(req, e->body, e->len, e->etag);
		return;
	}
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	uint64_t snap = store_txn_id(&t);
	l.wrc = buf_puts(&l.out, "{\"data\":[");
	int by = l.by_assignee ? CONVSTORE_BY_ASSIGNEE : l.status >= 0 ? CONVSTORE_BY_STATUS : CONVSTORE_ALL;
	uint64_t by_key = l.by_assignee ? l.assignee : l.status >= 0 ? (uint64_t)l.status : 0;
	int rc = convstore_each_conv(&t, p.tid, by, by_key, below, list_one, &l);
	store_done(&t);
	l.wrc |= buf_puts(&l.out, "],\"next_cursor\":");
	if (l.full) {
		l.wrc |= buf_puts(&l.out, "\"");
		l.wrc |= jw_u64(&l.out, l.last);
		l.wrc |= buf_puts(&l.out, "\"}");
	} else {
		l.wrc |= buf_puts(&l.out, "null}");
	}
	if (rc) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
	} else if (l.wrc) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	} else if ((e = lc_put(a->lists, thread, &key, snap, l.out.data, l.out.len))) {
		respond_list(req, e->body, e->len, e->etag);
	} else {   /* not kept (too large, or a write already overtook it) */
		char etag[HTTP_ETAG_SIZE];
		http_etag(l.out.data, l.out.len, etag);
		respond_list(req, l.out.data, l.out.len, etag);
	}
	buf_free(&l.out);
}

static void get_one(http_req *req, const principal *pp)
{
	principal p = *pp;
	rec_conv c;
	if (api_route_conv(req, &p, &c) < 0)
		return;
	json_t *v = view_conv(&c);
	if (v)   /* the visitor's rating with its comment and who had it then */
		json_object_set_new(v, "rating_details", rating_load_view(api_app(req), &c));
	http_respond_json(req, 200, v);
}

int conv_parse_update(json_t *body, conv_msg *m, const char **code, const char **msg, const char **field)
{
	*code = "invalid_field";
	json_t *sv = json_object_get(body, "status"), *pv = json_object_get(body, "priority"),
	       *uv = json_object_get(body, "snooze_until");
	if (!json_is_object(body) || (!sv && !pv)) {
		*msg = "give status and/or priority";
		*field = "status";
		return -1;
	}
	if (sv) {
		int st = json_is_string(sv) ? rec_status_parse(json_string_value(sv)) : -1;
		*field = "status";
		if (st < 0) {
			*msg = "status must be open, pending, snoozed, resolved or closed";
			return -1;
		}
		if (st == CS_WAITING) {
			*code = "invalid_status";
			*msg = "waiting is set by the server only";
			return -1;
		}
		m->status = (uint8_t)st;
	}
	if (pv) {
		int pr = json_is_string(pv) ? rec_priority_parse(json_string_value(pv)) : -1;
		if (pr < 0) {
			*msg = "priority must be low, medium, high or urgent";
			*field = "priority";
			return -1;
		}
		m->priority = (uint8_t)pr;
	}
	*field = "snooze_until";
	if (m->status == CS_SNOOZED && !uv) {
		*msg = "snoozed needs snooze_until";
		return -1;
	}
	if (uv && m->status != CS_SNOOZED) {
		*msg = "snooze_until goes with status snoozed";
		return -1;
	}
	if (uv && (!json_is_string(uv) ||
		   clock_parse_iso8601(json_string_value(uv), json_string_length(uv), &m->until_ms) < 0)) {
		*msg = "snooze_until must be a time as 2026-11-22T10:00:00Z";
		return -1;
	}
	if (uv && m->until_ms <= clock_now_ms()) {
		*code = "snooze_in_past";
		*msg = "snooze_until must be in the future";
		return -1;
	}
	return 0;
}

/* PATCH {status?, priority?, snooze_until?} */
static void patch(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	rec_conv c;
	if (api_route_conv(req, &p, &c) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	conv_msg *m = conv_msg_new(CM_STATUS);
	const char *code, *msg, *field;
	if (!m) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	} else if (conv_parse_update(body, m, &code, &msg, &field) < 0) {
		http_respond_error(req, 400, code, msg, field);
		conv_msg_free(m);
	} else {
		m->who = p;
		reply_begin_http(a, &m->reply, req);
		conv_send(a, p.tid, c.id, m);
	}
	json_decref(body);
}

/* POST .../assign {"assignee_id": id | null}: to that user, or to nobody;
 * without the field (or a body), to the caller — a user: an API key must
 * name the assignee. */
static void assign(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	rec_conv c;
	if (api_route_conv(req, &p, &c) < 0)
		return;
	principal target = p;
	bool named = false;
	if (req->body_len) {
		json_t *body = api_body(req);
		if (!body)
			return;
		json_t *v = json_object_get(body, "assignee_id");
		named = v != NULL;
		if (json_is_null(v)) {
			memset(&target, 0, sizeof target);
		} else if (v) {
			uint64_t uid;
			if (!json_is_string(v) || !id_parse(json_string_value(v), json_string_length(v), &uid)) {
				json_decref(body);
				http_respond_error(req, 400, "invalid_field", "assignee_id must be a user id or null",
						   "assignee_id");
				return;
			}
			/* an active user of this tenant (auth_current: as for a token
			 * issued now) */
			memset(&target, 0, sizeof target);
			target.tid = p.tid;
			target.id = uid;
			target.issued_ms = INT64_MAX;
			if (auth_current(a, &target) < 0) {
				json_decref(body);
				http_respond_error(req, 404, "not_found", "no such active user", "assignee_id");
				return;
			}
		}
		json_decref(body);
	}
	if (!named && p.kind == P_APIKEY) {
		http_respond_error(req, 400, "invalid_field", "an API key is no assignee: give assignee_id (a user id or null)",
				   "assignee_id");
		return;
	}
	conv_msg *m = conv_msg_new(CM_ASSIGN);
	if (!m) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	m->who = p;
	m->target = target.id;
	strcpy(m->target_name, target.name);
	reply_begin_http(a, &m->reply, req);
	conv_send(a, p.tid, c.id, m);
}

/* An optional id field: absent or null → 0; -1 when it is not an id. */
static int opt_id(json_t *body, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(body, name);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	return json_is_string(v) && id_parse(json_string_value(v), json_string_length(v), out) && *out ? 0 : -1;
}

static int bad(conv_err *e, int status, const char *code, const char *msg, const char *field)
{
	*e = (conv_err){ status, code, msg, field };
	return -1;
}

int conv_parse_transfer(app *a, const principal *p, const rec_conv *c, json_t *body, conv_msg *m, conv_err *e)
{
	uint64_t uid, did;
	json_t *rv = json_object_get(body, "reason");
	if (opt_id(body, "agent_id", &uid) < 0)
		return bad(e, 400, "invalid_field", "agent_id must be a user id or null", "agent_id");
	if (opt_id(body, "department_id", &did) < 0)
		return bad(e, 400, "invalid_field", "department_id must be a department id or null", "department_id");
	if (!uid && !did)
		return bad(e, 400, "invalid_field", "give agent_id and/or department_id", "agent_id");
	if (!json_is_string(rv) || json_string_length(rv) < 1 || json_string_length(rv) > REC_REASON_MAX)
		return bad(e, 400, "invalid_field", "reason must be 1 to 500 bytes", "reason");
	store_txn t;
	if (store_read(a->db, &t))
		return bad(e, 500, "internal", "storage unavailable", NULL);
	rec_dept *d = malloc(sizeof *d);
	rec_user *u = malloc(sizeof *u);
	int rc = d && u ? 0 : bad(e, 500, "internal", "out of memory", NULL);
	/* the department after the transfer: the named one, else the current */
	uint64_t after = did ? did : c->dept_id;
	int drc = rc == 0 ? (after ? deptstore_get(&t, p->tid, after, d) : deptstore_default(&t, p->tid, d)) : 0;
	if (rc == 0 && did && drc == STORE_ENOTFOUND)
		rc = bad(e, 404, "not_found", "no such department", "department_id");
	else if (rc == 0 && drc && drc != STORE_ENOTFOUND)
		rc = bad(e, 500, "internal", "storage unavailable", NULL);
	else if (rc == 0 && did && !d->active)
		rc = bad(e, 400, "invalid_department", "the department is not active", "department_id");
	bool has_dept = rc == 0 && drc == 0;
	if (rc == 0 && uid) {
		int urc = account_user_get(&t, p->tid, uid, u);
		int mrc = urc == 0 && has_dept ? deptstore_is_member(&t, p->tid, d->id, uid) : 0;
		if (urc == STORE_ENOTFOUND)
			rc = bad(e, 404, "not_found", "no such agent", "agent_id");
		else if (urc || (mrc && mrc != STORE_ENOTFOUND))
			rc = bad(e, 500, "internal", "storage unavailable", NULL);
		else if (!u->active)
			rc = bad(e, 400, "agent_inactive", "the agent is deactivated", "agent_id");
		else if (mrc == STORE_ENOTFOUND)
			rc = bad(e, 400, "agent_not_in_department", "the agent is not a member of the department", "agent_id");
		else
			strcpy(m->target_name, u->name);
	}
	store_done(&t);
	if (rc == 0) {
		m->target = uid;
		m->dept = did;
		if (has_dept)
			strcpy(m->dept_name, d->name);
		m->text = strndup(json_string_value(rv), json_string_length(rv));
		m->text_len = json_string_length(rv);
		if (!m->text)
			rc = bad(e, 500, "internal", "out of memory", NULL);
	}
	free(d);
	free(u);
	return rc;
}

/* POST .../transfer {agent_id?, department_id?, reason} */
static void transfer(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	rec_conv c;
	if (api_route_conv(req, &p, &c) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	static const char *const fields[] = { "agent_id", "department_id", "reason", NULL };
	conv_msg *m = NULL;
	conv_err e;
	if (api_only(req, body, fields) < 0)
		goto out;
	m = conv_msg_new(CM_TRANSFER);
	if (!m) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
	} else if (conv_parse_transfer(a, &p, &c, body, m, &e) < 0) {
		http_respond_error(req, e.status, e.code, e.msg, e.field);
	} else {
		m->who = p;
		reply_begin_http(a, &m->reply, req);
		conv_send(a, p.tid, c.id, m);
		m = NULL;
	}
out:
	conv_msg_free(m);
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/v1/conversations", PERM_CONV, list },
	{ "GET", "/v1/conversations/{id}", PERM_CONV, get_one },
	{ "PATCH", "/v1/conversations/{id}", PERM_CONV, patch },
	{ "POST", "/v1/conversations/{id}/assign", PERM_CONV_ASSIGN, assign },
	{ "POST", "/v1/conversations/{id}/transfer", PERM_CONV_ASSIGN, transfer },
	{ "GET", "/v1/conversations/{id}/messages", PERM_CONV, api_messages_route },
	{ "POST", "/v1/conversations/{id}/messages", PERM_CONV, api_send_route },
	{ 0 },
};

const feature feature_conversations = {
	.name = "conversations",
	.routes = routes,
	.frames = conv_frames,
	.start = due_start,
	.stop = due_stop,
};
