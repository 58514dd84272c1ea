/* attributes routes — custom attribute definitions and visitors' values
 * over the API (docs/openapi.yaml, tag attributes).
 *
 * Definitions (owners, admins, admin keys manage them; every agent reads
 * them): owner conversation or visitor, key [a-z0-9_]{1,64} unique per
 * owner kind and fixed once made, a label, a type (text, number, boolean,
 * date). Changing the type of a definition whose key has stored values is
 * refused (409 attribute_in_use, with the count) unless the request says
 * ?convert=drop: then the values that are valid under the new type stay
 * (a text "2026-01-31" becomes a date) and the others are removed, in the
 * same transaction, and the answer says how many (dropped). Deleting a
 * definition leaves the values stored but unseen; the next write of each
 * record removes them. The tenant's limit (--max-attribute-defs): 409
 * limit_reached.
 *
 * Visitors' values are part of the visitor profile (actors/visitors:
 * GET/PATCH /v1/visitors/{id} and /v1/visitors/{id}/attributes), which
 * also records their changes in the visitor's conversations.
 */
#include "actors/attributes/attrs.h"
#include "actors/kit/api.h"
#include "actors/kit/view.h"
#include "actors/kit/wrop.h"
#include "storage/tools_store.h"
#include "core/clock.h"
#include "core/id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE };

typedef struct {
	wrop op;
	int kind;
	rec_attrdef d;
	bool set_label, set_type, drop;
	size_t dropped, in_use;
} attr_op;

static const char *owner_name(int o)
{
	return o == AO_VISITOR ? "visitor" : "conversation";
}

static json_t *view_def(const rec_attrdef *d)
{
	return json_pack("{s:o,s:s,s:s,s:s,s:s,s:o,s:o}", "id", view_id(d->id), "owner", owner_name(d->owner), "key",
			 d->key, "label", d->label, "type", rec_attr_type_name(d->type), "created_at",
			 view_time(d->created_ms), "updated_at", view_time(d->updated_ms));
}

/* ------------------------------------------------------------------ definitions */

static bool add_def(void *ctx, const rec_attrdef *d)
{
	return api_list_add(ctx, view_def(d));
}

static int read_owner(http_req *req, const char *s, int *owner)
{
	if (strcmp(s, "conversation") == 0)
		*owner = AO_CONVERSATION;
	else if (strcmp(s, "visitor") == 0)
		*owner = AO_VISITOR;
	else
		return api_bad_field(req, "owner", "owner must be conversation or visitor");
	return 0;
}

static int each_def(store_txn *t, uint64_t tid, api_list *l, void *owner)
{
	return attrdef_each(t, tid, *(int *)owner, add_def, l);
}

static void list_defs(http_req *req, const principal *p)
{
	char os[16];
	int owner = -1;
	int n = http_query(req, "owner", os, sizeof os);
	if (n == -2 || (n >= 0 && read_owner(req, os, &owner) < 0)) {
		if (n == -2)
			api_bad_field(req, "owner", "owner must be conversation or visitor");
		return;
	}
	api_list_read(req, p->tid, each_def, &owner);
}

typedef struct {
	const rec_attrdef *d;
	size_t with, unfit;
} retype;

/* Counts the records holding the key (and those whose value does not fit
 * the new type); with drop, rewrites those. */
static bool retype_one(void *ctx, const rec_attrs *a)
{
	retype *r = ctx;
	json_t *o = a->json.n ? json_loadb((const char *)a->json.p, a->json.n, 0, NULL) : NULL;
	json_t *v = json_object_get(o, r->d->key);
	if (v) {
		r->with++;
		if (!attrs_value_fits(r->d->type, v))
			r->unfit++;
	}
	json_decref(o);
	return true;
}

typedef struct {
	uint64_t id[64];
	size_t n;
	bool more;
} idbatch;

static bool collect_unfit(void *ctx, const rec_attrs *a)
{
	retype *r = ctx;
	idbatch *b = (idbatch *)(r + 1);
	json_t *o = a->json.n ? json_loadb((const char *)a->json.p, a->json.n, 0, NULL) : NULL;
	json_t *v = json_object_get(o, r->d->key);
	bool unfit = v && !attrs_value_fits(r->d->type, v);
	json_decref(o);
	if (!unfit)
		return true;
	if (b->n == 64) {
		b->more = true;
		return false;
	}
	b->id[b->n++] = a->id;
	return true;
}

/* Removes the key from every record where its value does not fit. */
static int drop_unfit(store_txn *t, const rec_attrdef *d, int64_t now)
{
	struct {
		retype r;
		idbatch b;
	} *s = calloc(1, sizeof *s);
	if (!s)
		return STORE_ENOMEM;
	s->r.d = d;
	int rc;
	do {
		s->b.n = 0;
		s->b.more = false;
		if ((rc = attrs_each(t, d->tid, d->owner, collect_unfit, &s->r)))
			break;
		for (size_t i = 0; rc == 0 && i < s->b.n; i++) {
			rec_attrs a;
			if ((rc = attrs_get(t, d->tid, d->owner, s->b.id[i], &a)))
				break;
			json_t *o = json_loadb((const char *)a.json.p, a.json.n, 0, NULL);
			json_object_del(o, d->key);
			char *js = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
			json_decref(o);
			if (!js) {
				rc = STORE_ENOMEM;
				break;
			}
			rec_attrs w = { .tid = d->tid, .owner = d->owner, .id = s->b.id[i], .updated_ms = now };
			w.json.p = (const uint8_t *)js;
			w.json.n = strlen(js);
			rc = attrs_put(t, &w);
			free(js);
		}
	} while (rc == 0 && s->b.more);
	free(s);
	return rc;
}

static int apply_def(wrop *w, store_txn *t)
{
	attr_op *op = (attr_op *)w;
	unsigned max = w->app->cfg.max_attr_defs;
	int rc;
	if (op->kind == OP_CREATE) {
		rc = attrdef_create(t, &op->d, max);
		if (rc == STORE_EEXISTS)
			return wrop_refuse(w, 409, "attribute_exists", "the %s attribute %s is defined already",
					   owner_name(op->d.owner), op->d.key);
		if (rc == STORE_ELIMIT)
			return wrop_refuse(w, 409, "limit_reached", "a tenant holds at most %u attribute definitions", max);
		return rc;
	}
	rec_attrdef cur;
	rc = attrdef_get(t, op->d.tid, op->d.id, &cur);
	if (rc == STORE_ENOTFOUND)
		return wrop_refuse(w, 404, "not_found", "no such attribute definition");
	if (rc)
		return rc;
	if (op->kind == OP_DELETE) {
		op->d = cur;
		return attrdef_delete(t, cur.tid, cur.id);
	}
	if (op->set_label)
		snprintf(cur.label, sizeof cur.label, "%s", op->d.label);
	cur.updated_ms = op->d.updated_ms;
	if (op->set_type && op->d.type != cur.type) {
		cur.type = op->d.type;
		retype r = { .d = &cur };
		if ((rc = attrs_each(t, cur.tid, cur.owner, retype_one, &r)))
			return rc;
		if (r.with && !op->drop)
			return wrop_refuse(w, 409, "attribute_in_use",
					   "%zu records hold a value of %s; add ?convert=drop to keep the values valid "
					   "as %s and remove the %zu others",
					   r.with, cur.key, rec_attr_type_name(cur.type), r.unfit);
		if (r.unfit && (rc = drop_unfit(t, &cur, cur.updated_ms)))
			return rc;
		op->dropped = r.unfit;
	}
	op->d = cur;
	return attrdef_update(t, &cur);
}

static json_t *answer_def(wrop *w)
{
	attr_op *op = (attr_op *)w;
	json_t *v = view_def(&op->d);
	if (v && op->kind == OP_UPDATE && op->set_type)
		json_object_set_new(v, "dropped", json_integer((json_int_t)op->dropped));
	return v;
}

static attr_op *new_op(http_req *req, const principal *p, int kind)
{
	attr_op *op = wrop_new(req, sizeof *op);
	if (!op)
		return NULL;
	op->op.apply = apply_def;
	op->op.answer = answer_def;
	op->kind = kind;
	op->d.tid = p->tid;
	op->d.updated_ms = clock_now_ms();
	return op;
}

static int read_type(http_req *req, json_t *body, bool required, attr_op *op)
{
	const char *type;
	if (api_str(req, body, "type", required, 1, 16, &type) < 0)
		return -1;
	if (!type)
		return 0;
	int ty = rec_attr_type_parse(type);
	if (ty < 0)
		return api_bad_field(req, "type", "type must be text, number, boolean or date");
	op->d.type = (uint8_t)ty;
	op->set_type = true;
	return 0;
}

static void create_def(http_req *req, const principal *p)
{
	static const char *const fields[] = { "owner", "key", "label", "type", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *owner_s, *key, *label;
	int owner = AO_CONVERSATION;
	attr_op *op = NULL;
	if (api_only(req, body, fields) < 0 || api_str(req, body, "owner", true, 1, 16, &owner_s) < 0 ||
	    read_owner(req, owner_s, &owner) < 0 || api_str(req, body, "key", true, 1, REC_ATTRKEY_MAX, &key) < 0)
		goto out;
	if (!attrdef_key_ok(key)) {
		api_bad_field(req, "key", "key is 1 to 64 of a-z, 0-9 and _");
		goto out;
	}
	if (api_str(req, body, "label", false, 1, REC_NAME_MAX, &label) < 0 || !(op = new_op(req, p, OP_CREATE)) ||
	    read_type(req, body, true, op) < 0)
		goto out;
	op->d.id = id_next(&op->op.app->ids);
	op->d.owner = (uint8_t)owner;
	snprintf(op->d.key, sizeof op->d.key, "%s", key);
	snprintf(op->d.label, sizeof op->d.label, "%s", label ? label : key);
	op->d.created_ms = op->d.updated_ms;
	op->op.ok_status = 201;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void update_def(http_req *req, const principal *p)
{
	static const char *const fields[] = { "label", "type", NULL };
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	char conv[8];
	int cn = http_query(req, "convert", conv, sizeof conv);
	if (cn == -2 || (cn >= 0 && strcmp(conv, "drop") != 0)) {
		api_bad_field(req, "convert", "convert must be drop");
		return;
	}
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *label;
	attr_op *op = NULL;
	if (api_only(req, body, fields) < 0 || api_str(req, body, "label", false, 1, REC_NAME_MAX, &label) < 0 ||
	    !(op = new_op(req, p, OP_UPDATE)) || read_type(req, body, false, op) < 0)
		goto out;
	op->d.id = id;
	op->drop = cn >= 0;
	if (label) {
		snprintf(op->d.label, sizeof op->d.label, "%s", label);
		op->set_label = true;
	}
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void delete_def(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	attr_op *op = new_op(req, p, OP_DELETE);
	if (!op)
		return;
	op->d.id = id;
	wrop_submit_http(req, &op->op);
}

static const route_def routes[] = {
	{ "GET", "/v1/attributes", PERM_CONV, list_defs },
	{ "POST", "/v1/attributes", PERM_SETTINGS, create_def },
	{ "PATCH", "/v1/attributes/{id}", PERM_SETTINGS, update_def },
	{ "DELETE", "/v1/attributes/{id}", PERM_SETTINGS, delete_def },
	{ 0 },
};

const feature feature_attributes = { .name = "attributes", .routes = routes };
