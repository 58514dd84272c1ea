/* tags routes — the tenant's tag list over the API (docs/openapi.yaml,
 * tag tags): everyone reads it, owners, admins and admin keys manage it.
 *
 * A tag has a name (1..128 bytes, unique in the tenant compared with
 * ASCII letters folded: "Billing" and "billing" are one name: 409
 * tag_exists) and a colour "#rrggbb" (default #6e7781). The tenant's limit
 * (--max-tags): 409 limit_reached. Deleting a tag removes it from the list
 * and from the index of conversations by tag in the same transaction (the
 * answer counts them); each conversation's history keeps its tag events,
 * and its tags field drops the id at its next tag change — until then the
 * conversation views leave out ids that are not in the list.
 */
#include "actors/kit/api.h"
#include "actors/kit/view.h"
#include "actors/kit/wrop.h"
#include "storage/tools_store.h"
#include "core/clock.h"
#include "core/id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_COLOR_DEFAULT "#6e7781"

enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE };

typedef struct {
	wrop op;
	int kind;
	rec_tag g;
	bool set_name, set_color;
	size_t convs;
} tag_op;

static json_t *view_tag(const rec_tag *g)
{
	return json_pack("{s:o,s:s,s:s,s:o}", "id", view_id(g->id), "name", g->name, "color", g->color, "created_at",
			 view_time(g->created_ms));
}

static bool add_tag(void *ctx, const rec_tag *g)
{
	return api_list_add(ctx, view_tag(g));
}

static int each_tag(store_txn *t, uint64_t tid, api_list *l, void *arg)
{
	(void)arg;
	return tag_each(t, tid, add_tag, l);
}

static void list_tags(http_req *req, const principal *p)
{
	api_list_read(req, p->tid, each_tag, NULL);
}

static int apply(wrop *w, store_txn *t)
{
	tag_op *op = (tag_op *)w;
	unsigned max = w->app->cfg.max_tags;
	int rc;
	if (op->kind == OP_CREATE) {
		rc = tag_create(t, &op->g, max);
		if (rc == STORE_EEXISTS)
			return wrop_refuse(w, 409, "tag_exists", "a tag named %s exists already", op->g.name);
		if (rc == STORE_ELIMIT)
			return wrop_refuse(w, 409, "limit_reached", "a tenant holds at most %u tags", max);
		return rc;
	}
	rec_tag cur;
	rc = tag_get(t, op->g.tid, op->g.id, &cur);
	if (rc == STORE_ENOTFOUND)
		return wrop_refuse(w, 404, "not_found", "no such tag");
	if (rc)
		return rc;
	if (op->kind == OP_DELETE) {
		op->g = cur;
		return tag_delete(t, cur.tid, cur.id, &op->convs);
	}
	if (op->set_name)
		snprintf(cur.name, sizeof cur.name, "%s", op->g.name);
	if (op->set_color)
		snprintf(cur.color, sizeof cur.color, "%s", op->g.color);
	rc = tag_update(t, &cur);
	if (rc == STORE_EEXISTS)
		return wrop_refuse(w, 409, "tag_exists", "a tag named %s exists already", cur.name);
	op->g = cur;
	return rc;
}

static json_t *answer(wrop *w)
{
	tag_op *op = (tag_op *)w;
	json_t *v = view_tag(&op->g);
	if (v && op->kind == OP_DELETE)
		json_object_set_new(v, "conversations", json_integer((json_int_t)op->convs));
	return v;
}

static tag_op *new_op(http_req *req, const principal *p, int kind)
{
	tag_op *op = wrop_new(req, sizeof *op);
	if (!op)
		return NULL;
	op->op.apply = apply;
	op->op.answer = answer;
	op->kind = kind;
	op->g.tid = p->tid;
	return op;
}

static int read_fields(http_req *req, json_t *body, bool create, tag_op *op)
{
	const char *name, *color;
	if (api_str(req, body, "name", create, 1, REC_NAME_MAX, &name) < 0 ||
	    api_str(req, body, "color", false, 1, 16, &color) < 0)
		return -1;
	if (color && !tag_color_ok(color))
		return api_bad_field(req, "color", "color is #rrggbb");
	if (name) {
		snprintf(op->g.name, sizeof op->g.name, "%s", name);
		op->set_name = true;
	}
	if (color || create) {
		snprintf(op->g.color, sizeof op->g.color, "%s", color ? color : TAG_COLOR_DEFAULT);
		op->set_color = true;
	}
	return 0;
}

static void create_tag(http_req *req, const principal *p)
{
	static const char *const fields[] = { "name", "color", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	tag_op *op = NULL;
	if (api_only(req, body, fields) < 0 || !(op = new_op(req, p, OP_CREATE)) ||
	    read_fields(req, body, true, op) < 0)
		goto out;
	op->g.id = id_next(&op->op.app->ids);
	op->g.created_ms = clock_now_ms();
	op->op.ok_status = 201;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void update_tag(http_req *req, const principal *p)
{
	static const char *const fields[] = { "name", "color", NULL };
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	tag_op *op = NULL;
	if (api_only(req, body, fields) < 0 || !(op = new_op(req, p, OP_UPDATE)) ||
	    read_fields(req, body, false, op) < 0)
		goto out;
	op->g.id = id;
	wrop_submit_http(req, &op->op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void delete_tag(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	tag_op *op = new_op(req, p, OP_DELETE);
	if (!op)
		return;
	op->g.id = id;
	wrop_submit_http(req, &op->op);
}

static const route_def routes[] = {
	{ "GET", "/v1/tags", PERM_CONV, list_tags },
	{ "POST", "/v1/tags", PERM_SETTINGS, create_tag },
	{ "PATCH", "/v1/tags/{id}", PERM_SETTINGS, update_tag },
	{ "DELETE", "/v1/tags/{id}", PERM_SETTINGS, delete_tag },
	{ 0 },
};

const feature feature_tags = { .name = "tags", .routes = routes };
