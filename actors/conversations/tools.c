/* tools — see tools.h. */
#include "actors/conversations/tools.h"
#include "actors/attributes/attrs.h"
#include "actors/canned/canned.h"
#include "actors/conversations/access.h"
#include "actors/conversations/conv.h"
#include "actors/conversations/inbox.h"
#include "actors/conversations/view.h"
#include "actors/kit/api.h"
#include "actors/kit/perm.h"
#include "actors/kit/session.h"
#include "actors/kit/view.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/tools_store.h"
#include "core/id.h"
#include "net/ws.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(tool_err *e, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(tool_err *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->status = status;
	e->code = code;
	e->field = field;
	return -1;
}

/* ------------------------------------------------------------------ sending */

static int read_mentions(json_t *v, rec_ids *out, tool_err *e)
{
	if (!json_is_array(v) || json_array_size(v) > REC_IDS_MAX)
		return fail(e, 400, "invalid_field", "mentions", "mentions is an array of at most %d user ids",
			    REC_IDS_MAX);
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		uint64_t id;
		if (!json_is_string(x) || !id_parse(json_string_value(x), json_string_length(x), &id))
			return fail(e, 400, "invalid_mention", "mentions", "mentions[%zu] is not a user id", i);
		bool dup = false;
		for (int k = 0; k < out->n; k++)
			dup |= out->v[k] == id;
		if (!dup)
			out->v[out->n++] = id;
	}
	return 0;
}

static int canned_text(app *a, const principal *who, uint64_t cid, json_t *v, char **text, tool_err *e)
{
	uint64_t id;
	if (!json_is_string(v) || !id_parse(json_string_value(v), json_string_length(v), &id))
		return fail(e, 400, "invalid_field", "canned_id", "canned_id is a canned response id");
	if (!principal_is_staff(who))
		return fail(e, 403, "forbidden", "canned_id", "visitors send no canned responses");
	store_txn t;
	if (store_read(a->db, &t))
		return fail(e, 500, "internal", NULL, "storage unavailable");
	rec_canned *c = malloc(sizeof *c);
	rec_conv *conv = malloc(sizeof *conv);
	int rc = c && conv ? canned_usable(&t, who->tid, who->kind == P_AGENT ? who->id : 0, id, c) : STORE_ENOMEM;
	if (rc == 0)
		rc = convstore_get(&t, who->tid, cid, conv);
	store_done(&t);
	if (rc == 0) {
		canned_vars vars = { conv->visitor_name, conv->visitor_email, who->name, cid };
		size_t n = 0;
		*text = canned_expand(c->body, &vars, &n);
		if (!*text)
			rc = STORE_ENOMEM;
		else if (n > REC_TEXT_MAX) {
			free(*text);
			*text = NULL;
			rc = -1;
		}
	}
	free(c);
	free(conv);
	if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT)
		return fail(e, 404, "not_found", "canned_id", "no such canned response");
	if (rc == -1)
		return fail(e, 400, "invalid_field", "canned_id", "the expanded text is over %d bytes", REC_TEXT_MAX);
	if (rc)
		return fail(e, 500, "internal", NULL, "storage unavailable");
	return 0;
}

int conv_tools_send(app *a, const principal *who, uint64_t cid, json_t *obj, bool priv, char **text,
		    rec_ids *mentions, tool_err *e)
{
	*text = NULL;
	mentions->n = 0;
	json_t *mv = json_object_get(obj, "mentions");
	if (mv && !json_is_null(mv)) {
		if (!priv)
			return fail(e, 400, "invalid_field", "mentions", "only a private note mentions agents");
		if (read_mentions(mv, mentions, e) < 0)
			return -1;
	}
	json_t *cv = json_object_get(obj, "canned_id");
	if (!cv || json_is_null(cv))
		return 0;
	if (json_object_get(obj, "text"))
		return fail(e, 400, "invalid_field", "text", "a message has text or canned_id, not both");
	return canned_text(a, who, cid, cv, text, e);
}

bool conv_tools_mentions_ok(app *a, const rec_conv *c, const rec_ids *mentions, tool_err *e)
{
	if (!mentions->n)
		return true;
	store_txn t;
	if (store_read(a->db, &t)) {
		fail(e, 500, "internal", NULL, "storage unavailable");
		return false;
	}
	rec_user *u = malloc(sizeof *u);
	int bad = -1, rc = u ? 0 : STORE_ENOMEM;
	for (int i = 0; rc == 0 && bad < 0 && i < mentions->n; i++) {
		rc = account_user_get(&t, c->tid, mentions->v[i], u);
		if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT) {
			rc = 0;
			bad = i;
		} else if (rc == 0 && (!u->active || !perm_conv_visible(role_parse(u->role), u->id, c))) {
			bad = i;
		}
	}
	store_done(&t);
	free(u);
	if (rc) {
		fail(e, 500, "internal", NULL, "storage unavailable");
		return false;
	}
	if (bad >= 0) {
		char ids[24];
		fail(e, 400, "invalid_mention", "mentions",
		     "user %s is not an active agent of this tenant who may read this conversation",
		     id_str(mentions->v[bad], ids));
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ tags and attributes */

int conv_tools_tags(app *a, const rec_conv *c, uint64_t tag_id, bool add, rec_ids *out, bool *changed,
		    tool_err *e)
{
	store_txn t;
	if (store_read(a->db, &t))
		return fail(e, 500, "internal", NULL, "storage unavailable");
	rec_tag g;
	int rc = tag_get(&t, c->tid, tag_id, &g);
	bool known = rc == 0;
	if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT)
		rc = 0;
	/* the current tags, without those deleted from the list since */
	out->n = 0;
	bool had = false;
	for (int i = 0; rc == 0 && i < c->tags.n; i++) {
		if (c->tags.v[i] == tag_id) {
			had = true;
			if (add && known)
				out->v[out->n++] = tag_id;
			continue;
		}
		int r = tag_get(&t, c->tid, c->tags.v[i], &g);
		if (r == 0)
			out->v[out->n++] = c->tags.v[i];
		else if (r != STORE_ENOTFOUND && r != STORE_ECORRUPT)
			rc = r;
	}
	store_done(&t);
	if (rc)
		return fail(e, 500, "internal", NULL, "storage unavailable");
	if (add && !known)
		return fail(e, 404, "not_found", "tag_id", "no such tag");
	if (add && !had) {
		if (out->n >= CONV_TAGS_MAX)
			return fail(e, 409, "too_many_tags", "tag_id", "a conversation carries at most %d tags",
				    CONV_TAGS_MAX);
		out->v[out->n++] = tag_id;
	}
	*changed = add != had;
	return 0;
}

int conv_tools_attrs_check(app *a, uint64_t tid, json_t *patch, tool_err *e)
{
	store_txn t;
	if (store_read(a->db, &t))
		return fail(e, 500, "internal", NULL, "storage unavailable");
	attrs_result r;
	int rc = attrs_check(&t, tid, AO_CONVERSATION, patch, &r);
	store_done(&t);
	if (rc)
		return fail(e, 500, "internal", NULL, "storage unavailable");
	if (r.error)
		return fail(e, 400, attrs_error_code(r.error), NULL, "%s: %s", r.key,
			    r.error == ATTRS_UNKNOWN ? "no such conversation attribute" : "not a valid value of its type");
	return 0;
}

int conv_tools_apply(store_txn *t, const rec_event *e)
{
	switch (e->kind) {
	case EK_TAG:
		return e->flag ? tag_conv_add(t, e->tid, e->tag_id, e->cid) : tag_conv_del(t, e->tid, e->tag_id, e->cid);
	case EK_NOTE:
		for (int i = 0; i < e->mentions.n; i++) {
			int rc = mention_add(t, e->tid, e->mentions.v[i], e->cid, e->seq, e->sender_id, e->created_ms);
			if (rc)
				return rc;
		}
		return 0;
	case EK_ATTRS: {
		/* checked before it was queued; a definition changed since is
		 * decided here again: a key no longer valid is not stored */
		json_t *patch = json_loads(e->text, 0, NULL);
		if (!json_is_object(patch)) {
			json_decref(patch);
			return 0;
		}
		attrs_result r;
		int rc = attrs_validate(t, e->tid, AO_CONVERSATION, e->cid, patch, e->created_ms, &r);
		attrs_result_free(&r);
		json_decref(patch);
		return rc;
	}
	default:
		return 0;
	}
}

json_t *conv_tools_attrs_answer(app *a, const rec_conv *c)
{
	store_txn t;
	if (store_read(a->db, &t))
		return NULL;
	json_t *o = attrs_view(&t, c->tid, AO_CONVERSATION, c->id);
	store_done(&t);
	return o ? json_pack("{s:o}", "attributes", o) : NULL;
}

void conv_tools_published(app *a, const rec_event *e)
{
	if (e->kind != EK_NOTE)
		return;
	for (int i = 0; i < e->mentions.n; i++) {
		char cid[24], by[24];
		inbox_broadcast_to(a, e->tid,
			     json_pack("{s:s,s:s,s:I,s:{s:s,s:s}}", "type", "mention", "conversation_id", id_str(e->cid, cid),
				       "seq", (json_int_t)e->seq, "by", "id", id_str(e->sender_id, by), "name",
				       e->sender_name), 0, e->mentions.v[i]);
	}
}

/* ------------------------------------------------------------------ routes and frames */

static void answer_err(http_req *req, const tool_err *e)
{
	http_respond_error(req, e->status, e->code, e->msg, e->field);
}

static void tag_route(http_req *req, const principal *p, bool add)
{
	rec_conv c;
	uint64_t tag_id;
	if (api_route_conv(req, p, &c) < 0 || api_id_param(req, 1, &tag_id) < 0)
		return;
	conv_msg *m = conv_msg_new(CM_TAG);
	if (!m) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	m->who = *p;
	m->target = tag_id;
	m->flag = add;
	reply_begin_http(api_app(req), &m->reply, req);
	conv_send(api_app(req), p->tid, c.id, m);
}

static void add_tag(http_req *req, const principal *p)
{
	tag_route(req, p, true);
}

static void remove_tag(http_req *req, const principal *p)
{
	tag_route(req, p, false);
}

static void get_attrs(http_req *req, const principal *p)
{
	rec_conv c;
	if (api_route_conv(req, p, &c) < 0)
		return;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	json_t *o = attrs_view(&t, p->tid, AO_CONVERSATION, c.id);
	store_done(&t);
	if (!o)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else
		http_respond_json(req, 200, json_pack("{s:o}", "attributes", o));
}

static void set_attrs(http_req *req, const principal *p)
{
	rec_conv c;
	if (api_route_conv(req, p, &c) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	tool_err e;
	char *js = NULL;
	conv_msg *m = NULL;
	if (json_object_size(body) == 0) {   /* nothing to change: the values as they are */
		json_t *v = conv_tools_attrs_answer(api_app(req), &c);
		if (v)
			http_respond_json(req, 200, v);
		else
			http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	if (conv_tools_attrs_check(api_app(req), p->tid, body, &e) < 0) {
		answer_err(req, &e);
		goto out;
	}
	js = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	if (js && strlen(js) > REC_TEXT_MAX) {
		http_respond_error(req, 400, "too_large", "one attribute write holds at most 8000 bytes of JSON", NULL);
		goto out;
	}
	if (!js || !(m = conv_msg_new(CM_ATTRS))) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	m->who = *p;
	m->text = js;
	m->text_len = strlen(js);
	js = NULL;
	reply_begin_http(api_app(req), &m->reply, req);
	conv_send(api_app(req), p->tid, c.id, m);
out:
	free(js);
	json_decref(body);
}

/* {"type":"tag","conversation_id","tag_id","add":bool} */
static void tag_frame(rt_session *s, const char *id, json_t *f)
{
	uint64_t cid, tag_id;
	if (rt_id_field(s->c, id, f, "conversation_id", &cid) < 0 || rt_id_field(s->c, id, f, "tag_id", &tag_id) < 0)
		return;
	json_t *add = json_object_get(f, "add");
	if (!json_is_boolean(add)) {
		rt_error(s->c, id, "invalid_field", "add must be true or false", "add");
		return;
	}
	rec_conv c;
	int rc = api_load_conv(s->app, s->who.tid, cid, &c);
	if (rc == 0 && !api_conv_visible(&s->who, &c))
		rc = STORE_ENOTFOUND;
	if (rc) {
		rt_error(s->c, id, rc == STORE_ENOTFOUND ? "not_found" : "internal",
			 rc == STORE_ENOTFOUND ? "no such conversation" : "storage unavailable", "conversation_id");
		return;
	}
	conv_msg *m = conv_msg_new(CM_TAG);
	if (!m) {
		rt_error(s->c, id, "internal", "out of memory", NULL);
		return;
	}
	m->who = s->who;
	m->target = tag_id;
	m->flag = json_is_true(add);
	reply_begin_ws(s->app, &m->reply, ws_ref(s->c), id);
	conv_send(s->app, s->who.tid, cid, m);
}

static const route_def routes[] = {
	{ "POST", "/v1/conversations/{id}/tags/{tag_id}", PERM_CONV, add_tag },
	{ "DELETE", "/v1/conversations/{id}/tags/{tag_id}", PERM_CONV, remove_tag },
	{ "GET", "/v1/conversations/{id}/attributes", PERM_CONV, get_attrs },
	{ "PATCH", "/v1/conversations/{id}/attributes", PERM_CONV, set_attrs },
	{ 0 },
};

static const frame_def frames[] = {
	{ "tag", PERM_CONV, FRAME_AGENTS, tag_frame },
	{ 0 },
};

const feature feature_conv_tools = { .name = "conversation tools", .routes = routes, .frames = frames };
