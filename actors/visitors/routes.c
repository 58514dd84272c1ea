/* visitors — the visitor profile for agents: GET/PATCH /v1/visitors/{id}
 * (name, email, phone, notes, and the custom attributes), and the
 * attributes alone: GET/PATCH /v1/visitors/{id}/attributes.
 *
 * A user sees a visitor's profile when they may read one of the visitor's
 * conversations (kit/perm.h), an API key likewise; anyone else, and any
 * other tenant, gets 404. The attributes routes keep their own older rule:
 * supervisors and up reach any visitor of the tenant there, one without a
 * conversation too (a visitor made by a page view, before any chat). A
 * change is validated here (the attributes by attrs_validate, against the
 * tenant's definitions), written over the stored visitor (record v2,
 * updated_ms) and its attribute values by one writer request, which also
 * collects the visitor's conversations (the newest VISITOR_CONVS_MAX);
 * after its commit each of them hears of it through its actor (conv.h
 * CM_PROFILE): every one takes the new name and email into its record, and
 * the open ones (not resolved or closed; the newest one when none is
 * open) store a profile event, which only agents see. The answer comes
 * with the visitor's commit; the conversations follow through their
 * actors. */
#include "actors/attributes/attrs.h"
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/kit/prechat.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The conversations of a visitor a profile change reaches. */
#define VISITOR_CONVS_MAX 100

/* The profile with attrs (stolen; an empty object when NULL). */
static json_t *view_profile(const rec_visitor *v, json_t *attrs)
{
	return json_pack("{s:o,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:o}", "id", view_id(v->id), "name", v->name, "email",
			 v->email, "phone", v->phone, "notes", v->notes, "external_id", v->external_id, "verified",
			 v->verified, "created_at", view_time(v->created_ms), "updated_at", view_time(v->updated_ms),
			 "attributes", attrs ? attrs : json_object());
}

typedef struct {
	const principal *p;
	bool visible;
} seen_ctx;

static bool seen_step(void *arg, uint64_t cid, const rec_conv *c)
{
	seen_ctx *s = arg;
	(void)cid;
	if (c && api_conv_visible(s->p, c))
		s->visible = true;
	return !s->visible;
}

/* Reads visitor route parameter 0 for p (with any_for_supervisors,
 * supervisors and up see every visitor of the tenant), and with attrs its
 * attribute values (a new reference); answers 404/500 and returns -1. */
static int load(http_req *req, const principal *p, rec_visitor *v, json_t **attrs, bool any_for_supervisors)
{
	uint64_t vid;
	if (api_id_param(req, 0, &vid) < 0)
		return -1;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	seen_ctx s = { .p = p,
		       .visible = any_for_supervisors && principal_is_staff(p) && role_parse(p->role) >= ROLE_SUPERVISOR };
	int rc = account_visitor_get(&t, p->tid, vid, v);
	if (rc == 0 && !s.visible)
		rc = convstore_each_of_visitor(&t, p->tid, vid, seen_step, &s);
	if (rc == 0 && s.visible && attrs && !(*attrs = attrs_view(&t, p->tid, AO_VISITOR, vid)))
		rc = STORE_ENOMEM;
	store_done(&t);
	if (rc == STORE_ENOTFOUND || (rc == 0 && !s.visible)) {
		http_respond_error(req, 404, "not_found", "no such visitor", NULL);
		return -1;
	}
	if (rc) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	return 0;
}

static void get_visitor(http_req *req, const principal *p)
{
	rec_visitor v;
	json_t *attrs = NULL;
	if (load(req, p, &v, &attrs, false) == 0)
		http_respond_json(req, 200, view_profile(&v, attrs));
}

static void get_visitor_attrs(http_req *req, const principal *p)
{
	rec_visitor v;
	json_t *attrs = NULL;
	if (load(req, p, &v, &attrs, true) == 0)
		http_respond_json(req, 200, json_pack("{s:o}", "attributes", attrs));
}

/* ------------------------------------------------------------------ the change */

typedef struct {
	uint64_t cid;
	uint8_t status;
} conv_ref;

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	principal who;
	uint64_t tid, vid;
	/* NULL = unchanged */
	const char *name, *email, *phone, *notes;
	char name_s[REC_NAME_MAX + 1], email_s[REC_EMAIL_MAX + 1], phone_s[REC_PHONE_MAX + 1];
	char notes_s[REC_NOTES_MAX + 1];
	json_t *attrs;             /* the attributes to set ({key: value}, null removes); NULL = none */
	attrs_result res;          /* what their write came to */
	json_t *attrs_after;       /* the values after the write (the answer's) */
	bool attrs_only;           /* PATCH .../attributes: the answer is {attributes} */
	int status;                /* a refusal (nothing written): status, code, message */
	const char *code;
	char msg[200];
	rec_visitor v;             /* after the change */
	bool changed;              /* anything differs from what was stored */
	char change[4096];         /* the event's text: JSON of the change (no notes) */
	conv_ref convs[VISITOR_CONVS_MAX];
	int nconvs, first;         /* a ring of the newest, oldest at `first` once full */
} profile_op;

static bool conv_step(void *arg, uint64_t cid, const rec_conv *c)
{
	profile_op *op = arg;
	conv_ref r = { .cid = cid, .status = c ? c->status : CS_CLOSED };
	if (op->nconvs < VISITOR_CONVS_MAX) {
		op->convs[op->nconvs++] = r;
	} else {   /* oldest first: keep the newest */
		op->convs[op->first] = r;
		op->first = (op->first + 1) % VISITOR_CONVS_MAX;
	}
	return true;
}

/* The keys of the attribute write whose value differs before and after:
 * {key: new value, or null when removed} (new reference; NULL on OOM). */
static json_t *attrs_diff(const json_t *patch, const json_t *before, const json_t *after)
{
	json_t *d = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)patch, k, v) {
		json_t *was = json_object_get(before, k), *now = json_object_get(after, k);
		if (d && !(was && now && json_equal(was, now)) && (was || now))
			json_object_set_new(d, k, now ? json_incref(now) : json_null());
	}
	return d;
}

/* The profile event's text: {"changed": [fields], field: new value...,
 * "attributes": {key: new value or null}} (notes named, not copied;
 * the attributes' values left out when the whole would not fit). */
static int change_json(profile_op *op, const rec_visitor *old, json_t *attrs)
{
	json_t *ch = json_object(), *fields = json_array();
	if (!ch || !fields)
		goto oom;
	const char *names[] = { "name", "email", "phone", "notes" };
	const char *was[] = { old->name, old->email, old->phone, old->notes };
	const char *now[] = { op->v.name, op->v.email, op->v.phone, op->v.notes };
	for (int i = 0; i < 4; i++) {
		if (strcmp(was[i], now[i]) == 0)
			continue;
		json_array_append_new(fields, json_string(names[i]));
		if (i < 3)   /* notes stay on the visitor, not copied into histories */
			json_object_set_new(ch, names[i], json_string(now[i]));
	}
	if (attrs && json_object_size(attrs))
		json_array_append_new(fields, json_string("attributes"));
	json_object_set_new(ch, "changed", fields);
	fields = NULL;
	if (attrs && json_object_size(attrs))
		json_object_set(ch, "attributes", attrs);
	char *s = json_dumps(ch, JSON_COMPACT);
	if (s && strlen(s) >= sizeof op->change) {
		free(s);
		json_object_del(ch, "attributes");
		s = json_dumps(ch, JSON_COMPACT);
	}
	json_decref(ch);
	if (!s)
		return -1;
	snprintf(op->change, sizeof op->change, "%s", s);
	free(s);
	return 0;
oom:
	json_decref(ch);
	json_decref(fields);
	return -1;
}

static int op_apply(wr_req *w, store_txn *t)
{
	profile_op *op = container_of(w, profile_op, w);
	rec_visitor old;
	int rc = account_visitor_get(t, op->tid, op->vid, &old);
	if (rc)
		return rc;
	int64_t now = clock_now_ms();
	json_t *before = NULL, *diff = NULL;
	if (op->attrs) {   /* checked first: a refusal writes nothing */
		if (!(before = attrs_view(t, op->tid, AO_VISITOR, op->vid)))
			return STORE_ENOMEM;
		if ((rc = attrs_validate(t, op->tid, AO_VISITOR, op->vid, op->attrs, now, &op->res)))
			goto out;
		if (op->res.error) {
			op->status = 400;
			op->code = attrs_error_code(op->res.error);
			snprintf(op->msg, sizeof op->msg, "%s: %s", op->res.key,
				 op->res.error == ATTRS_UNKNOWN ? "no such visitor attribute" : "not a valid value of its type");
			goto out;
		}
	}
	if (!(op->attrs_after = attrs_view(t, op->tid, AO_VISITOR, op->vid))) {
		rc = STORE_ENOMEM;
		goto out;
	}
	if (op->res.changed && !(diff = attrs_diff(op->attrs, before, op->attrs_after))) {
		rc = STORE_ENOMEM;
		goto out;
	}
	op->v = old;
#define TAKE(field, v) \
	if (v) \
		snprintf(field, sizeof field, "%s", v)
	TAKE(op->v.name, op->name);
	TAKE(op->v.email, op->email);
	TAKE(op->v.phone, op->phone);
	TAKE(op->v.notes, op->notes);
#undef TAKE
	bool fields = strcmp(old.name, op->v.name) || strcmp(old.email, op->v.email) ||
		      strcmp(old.phone, op->v.phone) || strcmp(old.notes, op->v.notes);
	op->changed = fields || (diff && json_object_size(diff));
	if (!op->changed)
		goto out;
	if (change_json(op, &old, diff) < 0) {
		rc = STORE_ENOMEM;
		goto out;
	}
	if (fields) {
		op->v.updated_ms = now;
		rc = account_visitor_put(t, &op->v);
	}
	if (rc == 0)
		rc = convstore_each_of_visitor(t, op->tid, op->vid, conv_step, op);
out:
	json_decref(before);
	json_decref(diff);
	return rc;
}

/* Tells the visitor's conversations (newest VISITOR_CONVS_MAX). */
static void tell_convs(profile_op *op)
{
	int open = 0;
	for (int i = 0; i < op->nconvs; i++)
		open += op->convs[i].status != CS_RESOLVED && op->convs[i].status != CS_CLOSED;
	int newest = (op->first + op->nconvs - 1) % (op->nconvs ? op->nconvs : 1);
	for (int i = 0; i < op->nconvs; i++) {
		const conv_ref *r = &op->convs[i];
		conv_msg *m = conv_msg_new(CM_PROFILE);
		if (!m || !(m->text = strdup(op->change))) {
			conv_msg_free(m);
			log_error("visitors.profile", "tid=%llu msg=\"out of memory; a conversation keeps the old name\"",
				  (unsigned long long)op->tid);
			continue;
		}
		m->text_len = strlen(m->text);
		m->visitor = op->v;
		m->who = op->who;
		m->flag = open ? r->status != CS_RESOLVED && r->status != CS_CLOSED : i == newest;
		conv_send(op->app, op->tid, r->cid, m);   /* no reply asked */
	}
}

static void op_free(profile_op *op)
{
	json_decref(op->attrs);
	json_decref(op->attrs_after);
	attrs_result_free(&op->res);
	free(op);
}

static void op_done(wr_req *w, int rc)
{
	profile_op *op = container_of(w, profile_op, w);
	app *a = op->app;
	if (rc) {
		reply_error(a, &op->reply, rc == STORE_ENOTFOUND ? 404 : 500, rc == STORE_ENOTFOUND ? "not_found" : "internal",
			    rc == STORE_ENOTFOUND ? "no such visitor" : "storage failure");
	} else if (op->status) {
		reply_error(a, &op->reply, op->status, op->code, op->msg);
	} else {
		if (op->changed)
			tell_convs(op);
		json_t *attrs = op->attrs_after;
		op->attrs_after = NULL;
		reply_json(a, &op->reply, 200,
			   op->attrs_only ? json_pack("{s:o}", "attributes", attrs) : view_profile(&op->v, attrs));
	}
	op_free(op);
}

static void submit(http_req *req, const principal *p, profile_op *op, uint64_t vid)
{
	app *a = api_app(req);
	op->app = a;
	op->who = *p;
	op->tid = p->tid;
	op->vid = vid;
	op->w.apply = op_apply;
	op->w.done = op_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
}

static void patch_visitor(http_req *req, const principal *p)
{
	static const char *const fields[] = { "name", "email", "phone", "notes", "attributes", NULL };
	rec_visitor v;
	if (load(req, p, &v, NULL, false) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	profile_op *op = calloc(1, sizeof *op);
	const char *name, *email, *phone, *notes;
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	if (api_only(req, body, fields) < 0 || api_opt_str(req, body, "name", 0, REC_NAME_MAX, &name) < 0 ||
	    api_opt_str(req, body, "email", 0, REC_EMAIL_MAX, &email) < 0 ||
	    api_opt_str(req, body, "phone", 0, REC_PHONE_MAX, &phone) < 0 ||
	    api_opt_str(req, body, "notes", 0, REC_NOTES_MAX, &notes) < 0)
		goto out;
	if (email && email[0] && !prechat_email_ok(email)) {
		api_bad_field(req, "email", "email is not an address");
		goto out;
	}
	if (phone && phone[0] && !prechat_phone_ok(phone)) {
		api_bad_field(req, "phone", "phone must be 3 to 32 of digits, spaces, +, (, ) and -");
		goto out;
	}
	json_t *attrs = json_object_get(body, "attributes");
	if (attrs && !json_is_object(attrs)) {
		api_bad_field(req, "attributes", "attributes must be an object of key: value");
		goto out;
	}
	if (name)
		op->name = strcpy(op->name_s, name);
	if (email)
		op->email = strcpy(op->email_s, email);
	if (phone)
		op->phone = strcpy(op->phone_s, phone);
	if (notes)
		op->notes = strcpy(op->notes_s, notes);
	op->attrs = json_incref(attrs);
	submit(req, p, op, v.id);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void patch_visitor_attrs(http_req *req, const principal *p)
{
	rec_visitor v;
	if (load(req, p, &v, NULL, true) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	profile_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		json_decref(body);
		return;
	}
	op->attrs = body;
	op->attrs_only = true;
	submit(req, p, op, v.id);
}

static const route_def routes[] = {
	{ "GET", "/v1/visitors/{id}", PERM_CONV, get_visitor },
	{ "PATCH", "/v1/visitors/{id}", PERM_CONV, patch_visitor },
	{ "GET", "/v1/visitors/{id}/attributes", PERM_CONV, get_visitor_attrs },
	{ "PATCH", "/v1/visitors/{id}/attributes", PERM_CONV, patch_visitor_attrs },
	{ 0 },
};

const feature feature_visitors = { .name = "visitors", .routes = routes };
