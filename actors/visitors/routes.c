/* visitors — the visitor profile for agents: GET/PATCH /v1/visitors/{id}
 * (name, email, phone, notes).
 *
 * An agent sees a visitor when they may read one of the visitor's
 * conversations (kit/perm.h), an API key likewise; anyone else, and any
 * other tenant, gets 404. A change is validated here, written over the
 * stored visitor (record v2, updated_ms) by one writer request, which also
 * collects the visitor's conversations (the newest VISITOR_CONVS_MAX);
 * after its commit each of them hears of it through its actor (conv.h
 * CM_PROFILE): every one takes the new name and email into its record, and
 * the open ones (not resolved or closed; the newest one when none is
 * open) store a profile event, which only agents see. The answer comes
 * with the visitor's commit; the conversations follow through their
 * actors. */
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

static json_t *view_profile(const rec_visitor *v)
{
	return json_pack("{s:o,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:o}", "id", view_id(v->id), "name", v->name, "email",
			 v->email, "phone", v->phone, "notes", v->notes, "external_id", v->external_id, "verified",
			 v->verified, "created_at", view_time(v->created_ms), "updated_at", view_time(v->updated_ms));
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

/* Reads visitor route parameter 0 for p; answers 404/500 and returns -1. */
static int load(http_req *req, const principal *p, rec_visitor *v)
{
	uint64_t vid;
	if (api_id_param(req, 0, &vid) < 0)
		return -1;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return -1;
	}
	seen_ctx s = { .p = p };
	int rc = account_visitor_get(&t, p->tid, vid, v);
	if (rc == 0)
		rc = convstore_each_of_visitor(&t, p->tid, vid, seen_step, &s);
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
	if (load(req, p, &v) == 0)
		http_respond_json(req, 200, view_profile(&v));
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
	rec_visitor v;             /* after the change */
	bool changed;              /* anything differs from what was stored */
	char change[1024];         /* the event's text: JSON of the change (no notes) */
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

static int change_json(profile_op *op, const rec_visitor *old)
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
	json_object_set_new(ch, "changed", fields);
	fields = NULL;
	char *s = json_dumps(ch, JSON_COMPACT);
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
	op->v = old;
#define TAKE(field, v) \
	if (v) \
		snprintf(field, sizeof field, "%s", v)
	TAKE(op->v.name, op->name);
	TAKE(op->v.email, op->email);
	TAKE(op->v.phone, op->phone);
	TAKE(op->v.notes, op->notes);
#undef TAKE
	op->changed = strcmp(old.name, op->v.name) || strcmp(old.email, op->v.email) ||
		      strcmp(old.phone, op->v.phone) || strcmp(old.notes, op->v.notes);
	if (!op->changed)
		return 0;
	if (change_json(op, &old) < 0)
		return STORE_ENOMEM;
	op->v.updated_ms = clock_now_ms();
	rc = account_visitor_put(t, &op->v);
	if (rc == 0)
		rc = convstore_each_of_visitor(t, op->tid, op->vid, conv_step, op);
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

static void op_done(wr_req *w, int rc)
{
	profile_op *op = container_of(w, profile_op, w);
	app *a = op->app;
	if (rc) {
		reply_error(a, &op->reply, rc == STORE_ENOTFOUND ? 404 : 500, rc == STORE_ENOTFOUND ? "not_found" : "internal",
			    rc == STORE_ENOTFOUND ? "no such visitor" : "storage failure");
	} else {
		if (op->changed)
			tell_convs(op);
		reply_json(a, &op->reply, 200, view_profile(&op->v));
	}
	free(op);
}

static void patch_visitor(http_req *req, const principal *p)
{
	static const char *const fields[] = { "name", "email", "phone", "notes", NULL };
	app *a = api_app(req);
	rec_visitor v;
	if (load(req, p, &v) < 0)
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
	if (name)
		op->name = strcpy(op->name_s, name);
	if (email)
		op->email = strcpy(op->email_s, email);
	if (phone)
		op->phone = strcpy(op->phone_s, phone);
	if (notes)
		op->notes = strcpy(op->notes_s, notes);
	op->app = a;
	op->who = *p;
	op->tid = p->tid;
	op->vid = v.id;
	op->w.apply = op_apply;
	op->w.done = op_done;
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/v1/visitors/{id}", PERM_CONV, get_visitor },
	{ "PATCH", "/v1/visitors/{id}", PERM_CONV, patch_visitor },
	{ 0 },
};

const feature feature_visitors = { .name = "visitors", .routes = routes };
