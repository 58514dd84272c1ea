/* canned routes — canned responses over the API (docs/openapi.yaml, tag
 * canned): listing with a search, creating, changing, deleting.
 *
 * Two kinds: the tenant's (owner 0; every agent and key reads them;
 * /v1/canned, written by holders of PERM_SETTINGS — owners, admins, admin
 * keys) and a user's own (/v1/me/canned, PERM_SELF: any signed-in user,
 * no API key; nobody else sees or changes them). Each route reaches only
 * its kind: another agent's canned response, or one of the other kind, is
 * 404 like one that does not exist. GET /v1/canned lists the caller's own
 * and the tenant's; ?q= keeps those whose shortcode starts with q (a
 * leading "/" ignored, compared in lower case) or whose title or body has
 * a word starting with q (ASCII case-insensitive). Shortcodes are unique
 * per owner (409 shortcode_taken): an agent's /refund may exist beside the
 * tenant's. The tenant's limit (--max-canned) counts both kinds: 409
 * limit_reached.
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
	uint64_t owner;               /* the kind the route reaches: 0 tenant, else the caller's own */
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

static uint64_t user_of(const principal *p)
{
	return p->kind == P_AGENT ? p->id : 0;
}

/* ------------------------------------------------------------------ list */

typedef struct {
	api_list *l;               /* the answer's (api_list_read) */
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
	return api_list_add(x->l, view_canned(c));
}

static int each_canned(store_txn *t, uint64_t tid, api_list *l, void *ctx)
{
	list_ctx *x = ctx;
	x->l = l;
	return canned_each(t, tid, add_canned, x);
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
	api_list_read(req, p->tid, each_canned, x);
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
	rc = canned_get(t, op->c.tid, op->c.id, &cur);
	if (rc == STORE_ENOTFOUND || (rc == 0 && cur.owner_id != op->owner))
		return wrop_refuse(w, 404, "not_found", "no such canned response");
	if (rc)
		return rc;
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

static canned_op *new_op(http_req *req, const principal *p, int kind, bool personal)
{
	canned_op *op = wrop_new(req, sizeof *op);
	if (!op)
		return NULL;
	op->op.apply = apply;
	op->op.answer = answer;
	op->kind = kind;
	op->uid = user_of(p);
	op->owner = personal ? p->id : 0;
	op->c.tid = p->tid;
	op->c.updated_ms = clock_now_ms();
	return op;
}

static void create_canned(http_req *req, const principal *p, bool personal)
{
	static const char *const fields[] = { "shortcode", "title", "body", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	canned_op *op = NULL;
	if (api_only(req, body, fields) < 0 || !(op = new_op(req, p, OP_CREATE, personal)) ||
	    read_fields(req, body, true, op) < 0)
		goto out;
	op->c.id = id_next(&op->op.app->ids);
	op->c.owner_id = op->owner;
	op->c.created_ms = op->c.updated_ms;
	op->op.ok_status = 201;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void update_canned(http_req *req, const principal *p, bool personal)
{
	static const char *const fields[] = { "shortcode", "title", "body", NULL };
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	canned_op *op = NULL;
	if (api_only(req, body, fields) < 0 || !(op = new_op(req, p, OP_UPDATE, personal)) ||
	    read_fields(req, body, false, op) < 0)
		goto out;
	op->c.id = id;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void delete_canned(http_req *req, const principal *p, bool personal)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	canned_op *op = new_op(req, p, OP_DELETE, personal);
	if (!op)
		return;
	op->c.id = id;
	wrop_submit_http(req, &op->op);
}

#define BOTH(fn) \
	static void fn##_tenant(http_req *req, const principal *p) { fn(req, p, false); } \
	static void fn##_own(http_req *req, const principal *p) { fn(req, p, true); }
BOTH(create_canned)
BOTH(update_canned)
BOTH(delete_canned)

static const route_def routes[] = {
	{ "GET", "/v1/canned", PERM_CONV, list_canned },
	{ "POST", "/v1/canned", PERM_SETTINGS, create_canned_tenant },
	{ "PATCH", "/v1/canned/{id}", PERM_SETTINGS, update_canned_tenant },
	{ "DELETE", "/v1/canned/{id}", PERM_SETTINGS, delete_canned_tenant },
	{ "POST", "/v1/me/canned", PERM_SELF, create_canned_own },
	{ "PATCH", "/v1/me/canned/{id}", PERM_SELF, update_canned_own },
	{ "DELETE", "/v1/me/canned/{id}", PERM_SELF, delete_canned_own },
	{ 0 },
};

const feature feature_canned = { .name = "canned", .routes = routes };
