/* api_widget — endpoints the chat widget calls for visitors.
 *
 * A visitor starts with the tenant's public widget key and gets a visitor
 * token (a JWT with audience "parley-widget") that brings them back to their
 * conversations. The widget runs on customers' sites, so these endpoints
 * answer CORS requests from any origin (they use bearer tokens, never
 * cookies, so a foreign page gains nothing it could not do itself).
 */
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/view.h"
#include "actors/kit/prechat.h"
#include "actors/tracking/tracking.h"
#include "storage/account_store.h"
#include "core/clock.h"
#include "core/id.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	rec_visitor v;
	rec_tenant t;
	bool is_new;               /* a new visitor (else a returning one's changed details) */
} visitor_op;

static int visitor_apply(wr_req *w, store_txn *tx)
{
	visitor_op *op = container_of(w, visitor_op, w);
	int rc = account_visitor_put(tx, &op->v);
	if (rc || !op->is_new || !op->app->nsinks)
		return rc;
	/* visitor.created to the sinks (kit/emit.h), in this transaction */
	app_event ev = { .type = EV_VISITOR_CREATED, .tid = op->v.tid, .at_ms = op->v.created_ms, .visitor = &op->v };
	rc = emit_in_txn(op->app, tx, &ev);
	return rc == 0 || rc == STORE_EFULL || rc == STORE_ENOMEM ? rc : STORE_EIO;
}

static json_t *session_body(app *a, const rec_visitor *v, const rec_tenant *t, const char *token)
{
	json_t *vv = view_visitor(v);
	if (vv) {   /* the site's id, when it came signed (actors/tracking) */
		json_object_set_new(vv, "external_id", v->verified ? json_string(v->external_id) : json_null());
		json_object_set_new(vv, "verified", json_boolean(v->verified));
	}
	return json_pack("{s:s,s:o,s:{s:o,s:s,s:o}}", "visitor_token", token, "visitor", vv,
			 "tenant", "id", view_id(t->id), "name", t->name, "prechat", view_prechat(t));
}

/* The signed site user id of a session call (user_id with user_hash,
 * HMAC-SHA256 under the tenant's identity secret: tracking.h): 1 when
 * given and valid, 0 when not given, -1 after answering 400 (half given,
 * no secret set) or 401 invalid_identity (a wrong signature). */
static int read_identity(http_req *req, app *a, const rec_tenant *t, const char *uid, const char *hash)
{
	if (!uid && !hash)
		return 0;
	if (!uid || !hash) {
		http_respond_error(req, 400, "invalid_field", "user_id and user_hash go together",
				   uid ? "user_hash" : "user_id");
		return -1;
	}
	switch (tracking_identity_check(a, t, uid, hash)) {
	case TI_OK:
		return 1;
	case TI_NO_SECRET:
		http_respond_error(req, 400, "invalid_identity", "identity verification is not set up for this site",
				   "user_hash");
		return -1;
	case TI_FORGED:
		http_respond_error(req, 401, "invalid_identity", "user_hash does not match user_id", "user_hash");
		return -1;
	default:
		http_respond_error(req, 500, "internal", "the identity secret cannot be read", NULL);
		return -1;
	}
}

static void visitor_done(wr_req *w, int rc)
{
	visitor_op *op = container_of(w, visitor_op, w);
	app *a = op->app;
	char *tok = rc ? NULL : auth_issue_visitor(a, op->v.tid, op->v.id);
	if (tok)
		reply_json(a, &op->reply, 201, session_body(a, &op->v, &op->t, tok));
	else
		reply_error(a, &op->reply, 500, "internal", "could not create the visitor");
	free(tok);
	free(op);
}

static int load_tenant_by_key(app *a, const char *key, rec_tenant *t)
{
	store_txn txn;
	int rc = store_read(a->db, &txn);
	if (rc == 0)
		rc = account_tenant_by_key(&txn, key, t);
	store_done(&txn);
	return rc;
}

static int load_tenant(app *a, uint64_t tid, rec_tenant *t)
{
	store_txn txn;
	int rc = store_read(a->db, &txn);
	if (rc == 0)
		rc = account_tenant_get(&txn, tid, t);
	store_done(&txn);
	return rc;
}

static int load_visitor(app *a, uint64_t tid, uint64_t vid, rec_visitor *v)
{
	store_txn txn;
	int rc = store_read(a->db, &txn);
	if (rc == 0)
		rc = account_visitor_get(&txn, tid, vid, v);
	store_done(&txn);
	return rc;
}

static void session(http_req *req, const principal *unused)
{
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *key, *vtok, *name, *email, *user_id, *user_hash;
	if (api_str(req, body, "user_id", false, 1, REC_EXTID_MAX, &user_id) < 0 ||
	    api_str(req, body, "user_hash", false, 1, 128, &user_hash) < 0 ||
	    api_str(req, body, "widget_key", true, 1, REC_KEY_MAX, &key) < 0 ||
	    api_str(req, body, "visitor_token", false, 1, 4096, &vtok) < 0 ||
	    api_str(req, body, "name", false, 1, REC_NAME_MAX, &name) < 0 ||
	    api_str(req, body, "email", false, 3, REC_EMAIL_MAX, &email) < 0)
		goto out;
	if (email && !strchr(email, '@')) {
		http_respond_error(req, 400, "invalid_field", "email is not an address", "email");
		goto out;
	}
	visitor_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	int rc = load_tenant_by_key(a, key, &op->t);
	if (rc) {
		free(op);
		if (rc == STORE_ENOTFOUND)
			http_respond_error(req, 404, "not_found", "unknown widget key", "widget_key");
		else
			http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	int signed_id = read_identity(req, a, &op->t, user_id, user_hash);
	if (signed_id < 0) {
		free(op);
		goto out;
	}
	principal p;
	if (vtok && auth_visitor(a, vtok, strlen(vtok), &p) == 0 && p.tid == op->t.id) {
		/* a returning visitor: same identity, fresh token */
		rc = load_visitor(a, p.tid, p.id, &op->v);
		bool changed = (name && strcmp(name, op->v.name)) || (email && strcmp(email, op->v.email)) ||
			       (signed_id && (!op->v.verified || strcmp(user_id, op->v.external_id)));
		if (rc == 0 && !changed) {
			char *tok = auth_issue_visitor(a, p.tid, p.id);
			if (tok)
				http_respond_json(req, 200, session_body(a, &op->v, &op->t, tok));
			else
				http_respond_error(req, 500, "internal", "token signing failed", NULL);
			free(tok);
			free(op);
			goto out;
		}
		/* another signed-in user on this browser: never the first one's
		 * visitor (their conversations); a new visitor */
		if (rc || (signed_id && op->v.verified && strcmp(user_id, op->v.external_id))) {
			memset(&op->v, 0, sizeof op->v);
		}
	}
	if (!op->v.id) {
		op->v.tid = op->t.id;
		op->v.id = id_next(&a->ids);
		op->v.created_ms = clock_now_ms();
		op->is_new = true;
	}
	if (name)
		rec_strcpy(op->v.name, sizeof op->v.name, name, strlen(name));
	if (email)
		rec_strcpy(op->v.email, sizeof op->v.email, email, strlen(email));
	if (signed_id) {
		rec_strcpy(op->v.external_id, sizeof op->v.external_id, user_id, strlen(user_id));
		op->v.verified = true;
		op->v.updated_ms = clock_now_ms();
	}
	op->app = a;
	op->w.apply = visitor_apply;
	op->w.done = visitor_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
out:
	json_decref(body);
}

/* Puts a visitor's conversation in front of the list (the walk goes
 * oldest first; the list is newest first); stops at 100. */
static bool list_one(void *arg, uint64_t cid, const rec_conv *c)
{
	json_t *data = arg;
	(void)cid;
	if (c)
		json_array_insert_new(data, 0, view_conv(c));
	return json_array_size(data) < 100;
}

static void list(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	json_t *data = json_array();
	int rc = convstore_each_of_visitor(&t, p.tid, p.id, list_one, data);
	store_done(&t);
	if (rc) {
		json_decref(data);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	http_respond_json(req, 200, json_pack("{s:o,s:n}", "data", data, "next_cursor"));
}

/* The department a visitor chose (department_id, optional): an active
 * department of the visitor's tenant; 0 when none was chosen (the
 * default); -1 after answering 400 invalid_department. */
static int read_department(http_req *req, app *a, const principal *p, json_t *body, uint64_t *out)
{
	json_t *v = json_object_get(body, "department_id");
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	uint64_t id;
	if (!json_is_string(v) || !id_parse(json_string_value(v), json_string_length(v), &id)) {
		http_respond_error(req, 400, "invalid_department", "department_id must be a department id", "department_id");
		return -1;
	}
	store_txn t;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	rec_dept d;
	int rc = deptstore_get(&t, p->tid, id, &d);
	store_done(&t);
	if (rc == 0 && d.active) {
		*out = id;
		return 0;
	}
	if (rc && rc != STORE_ENOTFOUND) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	http_respond_error(req, 400, "invalid_department", "no such active department", "department_id");
	return -1;
}

static bool add_dept(void *ctx, const rec_dept *d)
{
	if (!d->active)
		return true;
	return api_list_add(ctx, json_pack("{s:o,s:s,s:s,s:s,s:b}", "id", view_id(d->id), "name", d->name, "slug",
					   d->slug, "description", d->description, "is_default", d->is_default));
}

/* GET /v1/widget/departments: the active departments a visitor may choose,
 * in the tenant's order (whether anyone is online is the routing's to
 * say, and not told here yet). */
static int each_dept(store_txn *t, uint64_t tid, api_list *l, void *arg)
{
	(void)arg;
	return deptstore_each(t, tid, add_dept, l);
}

static void departments(http_req *req, const principal *p)
{
	api_list_read(req, p->tid, each_dept, NULL);
}

/* The visitor's pre-chat answers, written to their record before the
 * conversation starts (then the creation goes to the conversation's actor
 * with the record as written). */
typedef struct {
	wr_req w;
	app *app;
	conv_msg *m;
	uint64_t cid;
	rec_visitor v;
} prechat_op;

static int prechat_apply_visitor(wr_req *w, store_txn *tx)
{
	prechat_op *op = container_of(w, prechat_op, w);
	rec_visitor cur;
	int rc = account_visitor_get(tx, op->v.tid, op->v.id, &cur);
	if (rc)
		return rc;
	/* only the answered fields, over what is stored now */
	snprintf(cur.name, sizeof cur.name, "%s", op->v.name);
	snprintf(cur.email, sizeof cur.email, "%s", op->v.email);
	snprintf(cur.phone, sizeof cur.phone, "%s", op->v.phone);
	cur.updated_ms = clock_now_ms();
	op->v = cur;
	return account_visitor_put(tx, &cur);
}

static void prechat_done(wr_req *w, int rc)
{
	prechat_op *op = container_of(w, prechat_op, w);
	if (rc) {
		reply_error(op->app, &op->m->reply, 500, "internal", "could not store the visitor's details");
		conv_msg_free(op->m);
	} else {
		op->m->visitor = op->v;
		conv_send(op->app, op->v.tid, op->cid, op->m);
	}
	free(op);
}

static void create(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	json_t *body = req->body_len ? api_body(req) : json_object();
	if (!body)
		return;
	const char *text, *client_id;
	prechat_answers ans;
	uint64_t dept = 0;
	if (api_str(req, body, "text", false, 1, REC_TEXT_MAX, &text) < 0 ||
	    api_str(req, body, "client_id", false, 1, REC_CLIENT_ID_MAX, &client_id) < 0 ||
	    api_str(req, body, "name", false, 0, REC_NAME_MAX, &ans.name) < 0 ||
	    api_str(req, body, "email", false, 0, REC_EMAIL_MAX, &ans.email) < 0 ||
	    api_str(req, body, "phone", false, 0, REC_PHONE_MAX, &ans.phone) < 0 ||
	    api_str(req, body, "question", false, 0, REC_TEXT_MAX, &ans.question) < 0 ||
	    read_department(req, a, &p, body, &dept) < 0)
		goto out;
	if (text && ans.question) {
		api_bad_field(req, "question", "give the first message as text or as question, not both");
		goto out;
	}
	conv_msg *m = conv_msg_new(CM_CREATE);
	if (!m) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	rec_tenant t;
	int rc = load_visitor(a, p.tid, p.id, &m->visitor);
	if (rc) {
		conv_msg_free(m);
		http_respond_error(req, 401, "unauthenticated", "unknown visitor", NULL);
		goto out;
	}
	if (load_tenant(a, p.tid, &t)) {
		conv_msg_free(m);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	if (!ans.question && t.prechat_question != PRE_OFF)
		ans.question = text;   /* a first message answers the form's question */
	if (prechat_check(req, &t, &ans, &m->visitor) < 0) {
		conv_msg_free(m);
		goto out;
	}
	if (ans.question)
		text = ans.question[0] ? ans.question : NULL;
	if (text) {
		m->text = strdup(text);
		m->text_len = strlen(text);
		if (client_id)
			strcpy(m->client_id, client_id);
		else
			id_str(id_next(&a->ids), m->client_id);
	}
	m->who = p;
	m->dept = dept;
	reply_begin_http(a, &m->reply, req);
	uint64_t cid = id_next(&a->ids);
	rec_visitor v = m->visitor;
	if (ans.name && ans.name[0])
		rec_strcpy(v.name, sizeof v.name, ans.name, strlen(ans.name));
	if (ans.email && ans.email[0])
		rec_strcpy(v.email, sizeof v.email, ans.email, strlen(ans.email));
	if (ans.phone && ans.phone[0])
		rec_strcpy(v.phone, sizeof v.phone, ans.phone, strlen(ans.phone));
	if (strcmp(v.name, m->visitor.name) == 0 && strcmp(v.email, m->visitor.email) == 0 &&
	    strcmp(v.phone, m->visitor.phone) == 0) {
		conv_send(a, p.tid, cid, m);
		goto out;
	}
	prechat_op *op = calloc(1, sizeof *op);
	if (!op) {
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		conv_msg_free(m);
		goto out;
	}
	op->app = a;
	op->m = m;
	op->cid = cid;
	op->v = v;
	op->w.apply = prechat_apply_visitor;
	op->w.done = prechat_done;
	writer_submit(a->wr, &op->w);
out:
	json_decref(body);
}

static const route_def routes[] = {
	{ "POST", "/v1/widget/session", PERM_PUBLIC, session },
	{ "GET", "/v1/widget/conversations", PERM_VISITOR, list },
	{ "GET", "/v1/widget/departments", PERM_VISITOR, departments },
	{ "POST", "/v1/widget/conversations", PERM_VISITOR, create },
	{ "GET", "/v1/widget/conversations/{id}/messages", PERM_VISITOR, api_messages_route },
	{ "POST", "/v1/widget/conversations/{id}/messages", PERM_VISITOR, api_send_route },
	{ 0 },
};

const feature feature_widget = { .name = "widget", .routes = routes };
