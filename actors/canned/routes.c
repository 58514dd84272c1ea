/* canned routes — canned responses over the API (docs/openapi.yaml, tag
 * canned): listing with a search, creating, changing, deleting.
 *
 * Two kinds, told by scope: "tenant" (owner 0; everyone reads them, only
 * holders of PERM_SETTINGS — owners, admins, admin keys — write them) and
 * "personal" (a signed-in user's own; nobody else sees or changes them,
 * an API key has none). A personal canned response of another agent is
 * answered 404 like one that does not exist. The list shows the caller's
 * own and the tenant's; ?q= keeps those whose shortcode starts with q
 * (a leading "/" is ignored) or whose title or body has a word starting
 * with q (ASCII case-insensitive). The tenant's limit (--max-canned)
 * counts both kinds: 409 limit_reached.
 */
#include "actors/canned/canned.h"
#include "actors/kit/api.h"
#include "actors/kit/view.h"
#include "actors/kit/wrop.h"
#include "storage/tools_store.h"
#include "core/clock.h"
#include "core/id.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	wrop op;
	int kind;                     /* OP_* */
	uint64_t uid;                 /* the caller (0: an API key) */
	bool admin;                   /* may write tenant-wide ones */
	rec_canned c;                 /* CREATE: the new one; UPDATE: the fields given; after: the record */
	const char *set[3];           /* UPDATE: which of shortcode, title, body were given */
	unsigned max;
} canned_op;

enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE };

static json_t *view_canned(const rec_canned *c)
{
	return json_pack("{s:o,s:s,s:o,s:s,s:s,s:s,s:o,s:o}", "id", view_id(c->id), "scope",
			 c->owner_id ? "personal" : "tenant", "owner_id", c->owner_id ? view_id(c->owner_id) : json_null(),
			 "shortcode", c->shortcode, "title", c->title, "body", c->body, "created_at",
			 view_time(c->created_ms), "updated_at", view_time(c->updated_ms));
}

static bool is_admin(const principal *p)
{
	return perm_allows(role_parse(p->role), PERM_SETTINGS);
}

static uint64_t user_of(const principal *p)
{
	return p->kind == P_AGENT ? p->id : 0;
}

/* ------------------------------------------------------------------ list */

typedef struct {
	api_list l;
	uint64_t uid;
	char q[REC_NAME_MAX + 1];
	size_t qn;
} list_ctx;

static bool word_prefix(const char *text, const char *q, size_t qn)
{
	for (const char *s = text; *s; s++) {
		if (s != text && isalnum((unsigned char)s[-1]))
			continue;
		if (strncasecmp(s, q, qn) == 0)
			return true;
	}
	return false;
}

static bool add_canned(void *ctx, const rec_canned *c)
{
	list_ctx *x = ctx;
	if (c->owner_id && c->owner_id != x->uid)
		return true;
	if (x->qn && strncmp(c->shortcode, x->q, x->qn) != 0 && !word_prefix(c->title, x->q, x->qn) &&
	    !word_prefix(c->body, x->q, x->qn))
		return true;
	return api_list_add(&x->l, view_canned(c));
}

static void list_canned(http_req *req, const principal *p)
{
	list_ctx *x = calloc(1, sizeof *x);
	if (!x) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	int qn = http_query(req, "q", x->q, sizeof x->q);
	if (qn == -2) {
		free(x);
		api_bad_field(req, "q", "q is at most 128 bytes");
		return;
	}
	const char *q = x->q;
	if (qn > 0 && q[0] == '/')
		memmove(x->q, x->q + 1, strlen(x->q));
	for (char *s = x->q; *s; s++)   /* shortcodes are lower-case */
		*s = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
	x->qn = qn > 0 ? strlen(x->q) : 0;
	x->uid = user_of(p);
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		free(x);
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	api_list_init(&x->l);
	int rc = x->l.failed ? STORE_ENOMEM : canned_each(&t, p->tid, add_canned, x);
	store_done(&t);
	api_list_answer(req, &x->l, rc);
	free(x);
}

/* ------------------------------------------------------------------ writes */

static json_t *answer(wrop *w)
{
	canned_op *op = (canned_op *)w;
	return view_canned(&op->c);
}

static int apply(wrop *w, store_txn *t)
{
	canned_op *op = (canned_op *)w;
	unsigned max = op->op.app->cfg.max_canned;
	int rc;
	if (op->kind == OP_CREATE) {
		rc = canned_create(t, &op->c, max);
		if (rc == STORE_EEXISTS)
			return wrop_refuse(w, 409, "shortcode_taken", "the shortcode /%s is taken", op->c.shortcode);
		if (rc == STORE_ELIMIT)
			return wrop_refuse(w, 409, "limit_reached", "a tenant holds at most %u canned responses", max);
		return rc;
	}
	rec_canned cur;
	rc = canned_usable(t, op->c.tid, op->uid, op->c.id, &cur);
	if (rc == STORE_ENOTFOUND)
		return wrop_refuse(w, 404, "not_found", "no such canned response");
	if (rc)
		return rc;
	if (!cur.owner_id && !op->admin)
		return wrop_refuse(w, 403, "forbidden", "tenant-wide canned responses are managed by admins");
	if (op->kind == OP_DELETE) {
		op->c = cur;
		return canned_delete(t, cur.tid, cur.id);
	}
	if (op->set[0])
		snprintf(cur.shortcode, sizeof cur.shortcode, "%s", op->c.shortcode);
	if (op->set[1])
		snprintf(cur.title, sizeof cur.title, "%s", op->c.title);
	if (op->set[2])
		snprintf(cur.body, sizeof cur.body, "%s", op->c.body);
	cur.updated_ms = op->c.updated_ms;
	rc = canned_update(t, &cur);
	if (rc == STORE_EEXISTS)
		return wrop_refuse(w, 409, "shortcode_taken", "the shortcode /%s is taken", cur.shortcode);
	op->c = cur;
	return rc;
}

/* Reads shortcode, title and body (required or not); -1 after answering. */
static int read_fields(http_req *req, json_t *body, bool required, canned_op *op)
{
	const char *code, *title, *text;
	if (api_str(req, body, "shortcode", required, 1, REC_SHORTCODE_MAX, &code) < 0 ||
	    api_str(req, body, "title", required, 1, REC_NAME_MAX, &title) < 0 ||
	    api_str(req, body, "body", required, 1, REC_CANNED_MAX, &text) < 0)
		return -1;
	if (code && !canned_code_ok(code))
		return api_bad_field(req, "shortcode",
				     "shortcode is 1 to 32 of a-z, 0-9, _ and - (without the leading /)");
	if (code)
		snprintf(op->c.shortcode, sizeof op->c.shortcode, "%s", code);
	if (title)
		snprintf(op->c.title, sizeof op->c.title, "%s", title);
	if (text)
		snprintf(op->c.body, sizeof op->c.body, "%s", text);
	op->set[0] = code;
	op->set[1] = title;
	op->set[2] = text;
	return 0;
}

static canned_op *new_op(http_req *req, const principal *p, int kind)
{
	canned_op *op = wrop_new(req, sizeof *op);
	if (!op)
		return NULL;
	op->op.apply = apply;
	op->op.answer = answer;
	op->kind = kind;
	op->uid = user_of(p);
	op->admin = is_admin(p);
	op->c.tid = p->tid;
	op->c.updated_ms = clock_now_ms();
	return op;
}

static void create_canned(http_req *req, const principal *p)
{
	static const char *const fields[] = { "shortcode", "title", "body", "scope", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *scope;
	canned_op *op = NULL;
	if (api_only(req, body, fields) < 0 || api_str(req, body, "scope", false, 1, 16, &scope) < 0)
		goto out;
	bool tenant = scope && strcmp(scope, "tenant") == 0;
	if (scope && !tenant && strcmp(scope, "personal") != 0) {
		api_bad_field(req, "scope", "scope must be personal or tenant");
		goto out;
	}
	if (tenant && !is_admin(p)) {
		http_respond_error(req, 403, "forbidden", "tenant-wide canned responses are managed by admins", "scope");
		goto out;
	}
	if (!tenant && p->kind != P_AGENT) {
		api_bad_field(req, "scope", "an API key has no personal canned responses: use scope tenant");
		goto out;
	}
	if (!(op = new_op(req, p, OP_CREATE)) || read_fields(req, body, true, op) < 0)
		goto out;
	op->c.id = id_next(&op->op.app->ids);
	op->c.owner_id = tenant ? 0 : p->id;
	op->c.created_ms = op->c.updated_ms;
	op->op.ok_status = 201;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void update_canned(http_req *req, const principal *p)
{
	static const char *const fields[] = { "shortcode", "title", "body", NULL };
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	canned_op *op = NULL;
	if (api_only(req, body, fields) < 0 || !(op = new_op(req, p, OP_UPDATE)) ||
	    read_fields(req, body, false, op) < 0)
		goto out;
	op->c.id = id;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void delete_canned(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	canned_op *op = new_op(req, p, OP_DELETE);
	if (!op)
		return;
	op->c.id = id;
	wrop_submit_http(req, &op->op);
}

static const route_def routes[] = {
	{ "GET", "/v1/canned", PERM_CONV, list_canned },
	{ "POST", "/v1/canned", PERM_CONV, create_canned },
	{ "PATCH", "/v1/canned/{id}", PERM_CONV, update_canned },
	{ "DELETE", "/v1/canned/{id}", PERM_CONV, delete_canned },
	{ 0 },
};

const feature feature_canned = { .name = "canned", .routes = routes };
