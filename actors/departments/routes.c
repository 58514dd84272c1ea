/* departments — a tenant's departments over the API (docs/openapi.yaml, tag
 * departments): list and read (team.read: everyone signed in), create,
 * change, reorder, set members and delete (settings: owners and admins).
 *
 * Checks that need only the request (field forms, business hours, the time
 * zone, the routing policy) run here on the I/O thread; checks against
 * what is stored (the department exists, the slug is free, the SLA order
 * after a partial change, the members are active users of the tenant, no
 * open conversation is left in a department being deleted) run in the
 * writer request's apply, in the transaction that writes the change and
 * its audit row, so nothing can slip in between. After a change the
 * department's actor is told to read its settings again (DK_RELOAD,
 * kit/desk.h).
 *
 * The default department takes new conversations without a choice and
 * every conversation written before departments existed (dept_id 0): it
 * cannot be deactivated or deleted; another department becomes the
 * default by PATCH {"is_default": true}. Deleting a department that still
 * has open conversations (any status but resolved and closed) is refused
 * with 409 department_not_empty: transfer them first.
 */
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/desk.h"
#include "actors/kit/view.h"
#include "actors/departments/view.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/dept_store.h"
#include "core/clock.h"
#include "core/hours.h"
#include "core/id.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE, OP_REORDER, OP_MEMBERS };

/* The fields a create or a PATCH gives (has: F_* bits). */
enum {
	F_NAME = 1 << 0, F_SLUG = 1 << 1, F_DESC = 1 << 2, F_EMAIL = 1 << 3, F_ACTIVE = 1 << 4, F_TZ = 1 << 5,
	F_HOURS = 1 << 6, F_ROUTING = 1 << 7, F_SLA_MED = 1 << 8, F_SLA_HIGH = 1 << 9, F_DEFAULT = 1 << 10,
};

static const char *const field_names[] = { "name", "slug", "description", "notify_email", "active", "timezone",
					   "hours", "routing", "sla_medium_s", "sla_high_s", "is_default", NULL };

#define SLA_MAX (7 * 86400)

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	int kind;
	principal who;
	uint64_t did;
	unsigned has;
	rec_dept v;                  /* CREATE/UPDATE: the values given */
	uint64_t *ids;               /* REORDER: department ids; MEMBERS: user ids */
	size_t nids;
	/* the outcome */
	int status;                  /* 0: done; else the refusal's HTTP status */
	const char *code, *field;
	char msg[200];
	json_t *view;                /* the answer */
	bool reload_all;             /* tell every department (reorder, a new default) */
	uint64_t reload[2];          /* or these (0: none) */
} dept_op;

static void op_free(dept_op *op)
{
	if (op) {
		json_decref(op->view);
		free(op->ids);
		free(op);
	}
}

__attribute__((format(printf, 5, 6)))
static int refuse(dept_op *op, int status, const char *code, const char *field, const char *fmt, ...)
{
	op->status = status;
	op->code = code;
	op->field = field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->msg, sizeof op->msg, fmt, ap);
	va_end(ap);
	return 0;
}

/* ------------------------------------------------------------- the view */

static bool add_member(void *ctx, uint64_t id)
{
	return json_array_append_new(ctx, view_id(id)) == 0;
}

json_t *dept_view(store_txn *t, const rec_dept *d)
{
	hours h;
	json_t *hj = hours_parse(d->hours, &h) == HOURS_OK ? hours_to_json(&h) : json_null();
	json_t *members = json_array();
	if (members && deptstore_each_member(t, d->tid, d->id, add_member, members)) {
		json_decref(members);
		members = NULL;
	}
	return json_pack("{s:o,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:s,s:o*,s:s,s:I,s:I,s:o*,s:o,s:o}", "id", view_id(d->id),
			 "name", d->name, "slug", d->slug, "description", d->description, "notify_email", d->notify_email,
			 "active", d->active, "is_default", d->is_default, "sort_order", (json_int_t)d->sort_order,
			 "timezone", d->timezone, "hours", hj, "routing", rec_routing_name(d->routing), "sla_medium_s",
			 (json_int_t)d->sla_medium_s, "sla_high_s", (json_int_t)d->sla_high_s, "members", members,
			 "created_at", view_time(d->created_ms), "updated_at", view_time(d->updated_ms));
}

uint64_t dept_shown_id(store_txn *t, uint64_t tid, uint64_t dept_id)
{
	return deptstore_resolve(t, tid, dept_id);
}

/* ---------------------------------------------------------------- apply */

typedef struct {
	rec_dept *d;
	size_t n, cap;
	bool nomem;
} dept_all;

static bool collect(void *ctx, const rec_dept *d)
{
	dept_all *l = ctx;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		rec_dept *x = realloc(l->d, cap * sizeof *x);
		if (!x) {
			l->nomem = true;
			return false;
		}
		l->d = x;
		l->cap = cap;
	}
	l->d[l->n++] = *d;
	return true;
}

/* The tenant's departments in order (l->d freed by the caller). */
static int load_all(store_txn *t, uint64_t tid, dept_all *l)
{
	memset(l, 0, sizeof *l);
	int rc = deptstore_each(t, tid, collect, l);
	return rc ? rc : l->nomem ? STORE_ENOMEM : 0;
}

/* Makes did the tenant's only default (the others lose the flag). */
static int move_default(store_txn *t, dept_all *all, uint64_t did, int64_t now)
{
	for (size_t i = 0; i < all->n; i++)
		if (all->d[i].is_default && all->d[i].id != did) {
			all->d[i].is_default = false;
			all->d[i].updated_ms = now;
			int rc = deptstore_put(t, &all->d[i]);
			if (rc)
				return rc;
		}
	return 0;
}

static void merge(rec_dept *d, const dept_op *op)
{
	const rec_dept *v = &op->v;
	if (op->has & F_NAME)
		memcpy(d->name, v->name, sizeof d->name);
	if (op->has & F_SLUG)
		memcpy(d->slug, v->slug, sizeof d->slug);
	if (op->has & F_DESC)
		memcpy(d->description, v->description, sizeof d->description);
	if (op->has & F_EMAIL)
		memcpy(d->notify_email, v->notify_email, sizeof d->notify_email);
	if (op->has & F_ACTIVE)
		d->active = v->active;
	if (op->has & F_TZ)
		memcpy(d->timezone, v->timezone, sizeof d->timezone);
	if (op->has & F_HOURS)
		memcpy(d->hours, v->hours, sizeof d->hours);
	if (op->has & F_ROUTING)
		d->routing = v->routing;
	if (op->has & F_SLA_MED)
		d->sla_medium_s = v->sla_medium_s;
	if (op->has & F_SLA_HIGH)
		d->sla_high_s = v->sla_high_s;
	if (op->has & F_DEFAULT)
		d->is_default = true;
}

static json_t *changed_fields(unsigned has)
{
	json_t *a = json_array();
	for (int i = 0; a && field_names[i]; i++)
		if (has & (1u << i))
			json_array_append_new(a, json_string(field_names[i]));
	return a;
}

static int apply_save(dept_op *op, store_txn *t)
{
	int64_t now = clock_now_ms();
	dept_all all;
	int rc = load_all(t, op->who.tid, &all);
	if (rc)
		return rc;
	rec_dept d;
	bool found = false;
	uint64_t max_order = 0;
	for (size_t i = 0; i < all.n; i++) {
		if (all.d[i].sort_order >= max_order)
			max_order = all.d[i].sort_order + 1;
		if (all.d[i].id == op->did) {
			d = all.d[i];
			found = true;
		}
	}
	if (op->kind == OP_CREATE) {
		if (found) {   /* the new id is taken (ids are unique: not expected) */
			free(all.d);
			return refuse(op, 409, "conflict", NULL, "try again");
		}
		if (all.n >= DEPTSTORE_MAX) {
			free(all.d);
			return refuse(op, 409, "limit_reached", NULL, "a tenant has at most %d departments", DEPTSTORE_MAX);
		}
		memset(&d, 0, sizeof d);
		d.tid = op->who.tid;
		d.id = op->did;
		d.active = true;
		d.sort_order = max_order;
		d.routing = RP_ROUND_ROBIN;
		d.sla_medium_s = 60;
		d.sla_high_s = 180;
		d.created_ms = now;
		rec_tenant ten;
		const char *zone = account_tenant_get(t, op->who.tid, &ten) == 0 && ten.timezone[0] ? ten.timezone : "UTC";
		rec_strcpy(d.timezone, sizeof d.timezone, zone, strlen(zone));
	} else if (!found) {
		free(all.d);
		return refuse(op, 404, "not_found", NULL, "no such department");
	} else if (!op->has) {   /* an empty PATCH: nothing written, nothing logged */
		free(all.d);
		op->view = dept_view(t, &d);
		return 0;
	}
	bool was_default = d.is_default;
	merge(&d, op);
	d.updated_ms = now;
	const char *why = NULL, *field = NULL;
	if (d.sla_high_s < d.sla_medium_s)
		why = "sla_high_s must be at least sla_medium_s", field = "sla_high_s";
	for (size_t i = 0; !why && i < all.n; i++)
		if (all.d[i].id != d.id && strcmp(all.d[i].slug, d.slug) == 0)
			why = "slug";
	if (why && strcmp(why, "slug") == 0) {
		free(all.d);
		return refuse(op, 409, "slug_taken", "slug", "another department has the slug %s", d.slug);
	}
	if (why) {
		free(all.d);
		return refuse(op, 400, "invalid_field", field, "%s", why);
	}
	if (d.is_default && !d.active) {
		free(all.d);
		return refuse(op, 409, "department_is_default", "active",
			      was_default ? "the default department cannot be deactivated (make another the default first)"
					  : "an inactive department cannot be the default");
	}
	if (!was_default && d.is_default && (rc = move_default(t, &all, d.id, now))) {
		free(all.d);
		return rc;
	}
	op->reload_all = !was_default && d.is_default;
	free(all.d);
	if ((rc = deptstore_put(t, &d)))
		return rc == STORE_EEXISTS ? refuse(op, 409, "slug_taken", "slug", "another department has the slug %s", d.slug)
					   : rc;
	json_t *det = json_pack("{s:s,s:s}", "name", d.name, "slug", d.slug);
	if (det && op->kind == OP_UPDATE)
		json_object_set_new(det, "fields", changed_fields(op->has));
	if ((rc = audit_json(op->app, t, op->who.tid, &op->who, op->kind == OP_CREATE ? "department.create" : "department.update",
			     "department", d.id, det)))
		return rc;
	op->reload[0] = d.id;
	op->view = dept_view(t, &d);
	return 0;
}

typedef struct {
	uint64_t did;
	size_t n;
} open_count;

static bool count_open(void *ctx, uint64_t cid, const rec_conv *c)
{
	(void)cid;
	open_count *oc = ctx;
	if (c->dept_id == oc->did)
		oc->n++;
	return true;
}

static int apply_delete(dept_op *op, store_txn *t)
{
	rec_dept d;
	int rc = deptstore_get(t, op->who.tid, op->did, &d);
	if (rc == STORE_ENOTFOUND)
		return refuse(op, 404, "not_found", NULL, "no such department");
	if (rc)
		return rc;
	if (d.is_default)
		return refuse(op, 409, "department_is_default", NULL,
			      "the default department cannot be deleted (make another the default first)");
	open_count oc = { .did = d.id };
	static const int open_states[] = { CS_OPEN, CS_WAITING, CS_PENDING, CS_SNOOZED };
	for (size_t i = 0; i < sizeof open_states / sizeof *open_states; i++)
		if ((rc = convstore_each_conv(t, op->who.tid, CONVSTORE_BY_STATUS, (uint64_t)open_states[i], 0, count_open, &oc)))
			return rc;
	if (oc.n)
		return refuse(op, 409, "department_not_empty", NULL,
			      "the department has %zu open conversation%s: transfer %s to another department first", oc.n,
			      oc.n == 1 ? "" : "s", oc.n == 1 ? "it" : "them");
	if ((rc = deptstore_del(t, op->who.tid, d.id)))
		return rc;
	if ((rc = audit_json(op->app, t, op->who.tid, &op->who, "department.delete", "department", d.id,
			     json_pack("{s:s,s:s}", "name", d.name, "slug", d.slug))))
		return rc;
	op->reload[0] = d.id;
	op->view = json_pack("{s:o}", "id", view_id(d.id));
	return 0;
}

static json_t *some_ids(const uint64_t *ids, size_t n);

static int apply_reorder(dept_op *op, store_txn *t)
{
	dept_all all;
	int rc = load_all(t, op->who.tid, &all);
	if (rc)
		return rc;
	/* the ids must be exactly the tenant's departments, each once */
	bool ok = all.n == op->nids;
	bool *seen = calloc(all.n + 1, sizeof *seen);
	if (!seen) {
		free(all.d);
		return STORE_ENOMEM;
	}
	for (size_t i = 0; ok && i < op->nids; i++) {
		size_t k = 0;
		while (k < all.n && all.d[k].id != op->ids[i])
			k++;
		ok = k < all.n && !seen[k];
		if (ok)
			seen[k] = true;
	}
	free(seen);
	if (!ok) {
		free(all.d);
		return refuse(op, 400, "invalid_field", "ids", "ids must list each of the tenant's %zu departments once", all.n);
	}
	int64_t now = clock_now_ms();
	for (size_t i = 0; i < op->nids && !rc; i++)
		for (size_t k = 0; k < all.n; k++)
			if (all.d[k].id == op->ids[i] && all.d[k].sort_order != i) {
				all.d[k].sort_order = i;
				all.d[k].updated_ms = now;
				rc = deptstore_put(t, &all.d[k]);
			}
	free(all.d);
	if (rc || (rc = audit_json(op->app, t, op->who.tid, &op->who, "department.reorder", "department", 0,
				   json_pack("{s:o,s:I}", "ids", some_ids(op->ids, op->nids), "count", (json_int_t)op->nids))))
		return rc;
	op->reload_all = true;
	dept_all again;
	if ((rc = load_all(t, op->who.tid, &again)))
		return rc;
	api_list l;
	api_list_init(&l);
	for (size_t i = 0; !l.failed && i < again.n; i++)
		api_list_add(&l, dept_view(t, &again.d[i]));
	free(again.d);
	op->view = l.failed ? NULL : json_pack("{s:o}", "data", l.data);
	if (l.failed)
		json_decref(l.data);
	return 0;
}

/* Up to 20 ids of a list, for an audit row. */
static json_t *some_ids(const uint64_t *ids, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n && i < 20; i++)
		json_array_append_new(a, view_id(ids[i]));
	return a;
}

typedef struct {
	uint64_t *ids;
	size_t n, cap;
} id_vec;

static bool push_id(void *ctx, uint64_t id)
{
	id_vec *v = ctx;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		uint64_t *x = realloc(v->ids, cap * sizeof *x);
		if (!x)
			return false;
		v->ids = x;
		v->cap = cap;
	}
	v->ids[v->n++] = id;
	return true;
}

static bool has_id(const uint64_t *ids, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static int apply_members(dept_op *op, store_txn *t)
{
	rec_dept d;
	int rc = deptstore_get(t, op->who.tid, op->did, &d);
	if (rc == STORE_ENOTFOUND)
		return refuse(op, 404, "not_found", NULL, "no such department");
	if (rc)
		return rc;
	for (size_t i = 0; i < op->nids; i++) {
		rec_user u;
		char s[24];
		rc = account_user_get(t, op->who.tid, op->ids[i], &u);
		if (rc == STORE_ENOTFOUND)
			return refuse(op, 400, "invalid_member", "agent_ids", "no user %s in this tenant", id_str(op->ids[i], s));
		if (rc)
			return rc;
		if (!u.active)
			return refuse(op, 400, "invalid_member", "agent_ids", "user %s is deactivated", id_str(op->ids[i], s));
	}
	id_vec before = { 0 };
	if ((rc = deptstore_each_member(t, op->who.tid, d.id, push_id, &before))) {
		free(before.ids);
		return rc;
	}
	id_vec added = { 0 }, removed = { 0 };
	for (size_t i = 0; i < op->nids; i++)
		if (!has_id(before.ids, before.n, op->ids[i]) && !has_id(added.ids, added.n, op->ids[i]))
			push_id(&added, op->ids[i]);
	for (size_t i = 0; i < before.n; i++)
		if (!has_id(op->ids, op->nids, before.ids[i]))
			push_id(&removed, before.ids[i]);
	rc = deptstore_set_members(t, op->who.tid, d.id, op->ids, op->nids);
	if (rc == 0)
		rc = audit_json(op->app, t, op->who.tid, &op->who, "department.members", "department", d.id,
				json_pack("{s:s,s:o,s:o,s:I,s:I}", "name", d.name, "added", some_ids(added.ids, added.n),
					  "removed", some_ids(removed.ids, removed.n), "added_count", (json_int_t)added.n,
					  "removed_count", (json_int_t)removed.n));
	free(before.ids);
	free(added.ids);
	free(removed.ids);
	if (rc)
		return rc;
	op->reload[0] = d.id;
	op->view = dept_view(t, &d);
	return 0;
}

static int op_apply(wr_req *w, store_txn *t)
{
	dept_op *op = container_of(w, dept_op, w);
	switch (op->kind) {
	case OP_CREATE:
	case OP_UPDATE: return apply_save(op, t);
	case OP_DELETE: return apply_delete(op, t);
	case OP_REORDER: return apply_reorder(op, t);
	default: return apply_members(op, t);
	}
}

static bool reload_one(void *ctx, const rec_dept *d)
{
	dept_op *op = ctx;
	desk_msg *m = desk_msg_new(DK_RELOAD);
	if (m)
		desk_to_dept(op->app, d->tid, d->id, m);   /* -1 when no department actors run: fine */
	return true;
}

static void reload(dept_op *op)
{
	if (op->reload_all) {
		store_txn t;
		if (store_read(op->app->db, &t) == 0) {
			deptstore_each(&t, op->who.tid, reload_one, op);
			store_done(&t);
		}
	}
	for (int i = 0; i < 2; i++)
		if (op->reload[i]) {
			rec_dept d = { .tid = op->who.tid, .id = op->reload[i] };
			if (!op->reload_all || op->kind == OP_DELETE)
				reload_one(op, &d);
		}
}

static const char *const op_names[] = { "", "create", "update", "delete", "reorder", "members" };

static void op_done(wr_req *w, int rc)
{
	dept_op *op = container_of(w, dept_op, w);
	app *a = op->app;
	if (rc) {
		log_error("departments.write", "op=%s err=\"%s\"", op_names[op->kind], store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->status) {
		if (op->field) {
			/* reply_error has no field: answer with the full error object */
			json_t *e = json_pack("{s:{s:s,s:s,s:s}}", "error", "code", op->code, "message", op->msg, "field",
					      op->field);
			if (e)
				reply_json(a, &op->reply, op->status, e);
			else
				reply_error(a, &op->reply, op->status, op->code, op->msg);
		} else {
			reply_error(a, &op->reply, op->status, op->code, op->msg);
		}
	} else if (!op->view) {
		reply_error(a, &op->reply, 500, "internal", "out of memory");
	} else {
		log_info("departments.changed", "tid=%llu op=%s id=%llu by=%llu", (unsigned long long)op->who.tid,
			 op_names[op->kind], (unsigned long long)op->did, (unsigned long long)op->who.id);
		reply_json(a, &op->reply, op->kind == OP_CREATE ? 201 : 200, op->view);
		op->view = NULL;
		reload(op);
	}
	op_free(op);
}

static dept_op *op_new(http_req *req, const principal *p, int kind)
{
	dept_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	op->app = api_app(req);
	op->kind = kind;
	op->who = *p;
	op->w.apply = op_apply;
	op->w.done = op_done;
	return op;
}

static void submit(http_req *req, dept_op *op)
{
	reply_begin_http(op->app, &op->reply, req);
	writer_submit(op->app->wr, &op->w);
}

/* ---------------------------------------------------------------- reads */

static void list_depts(http_req *req, const principal *p)
{
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	dept_all all;
	api_list l;
	api_list_init(&l);
	int rc = l.failed ? STORE_ENOMEM : load_all(&t, p->tid, &all);
	for (size_t i = 0; rc == 0 && i < all.n; i++)
		if (!api_list_add(&l, dept_view(&t, &all.d[i])))
			break;
	if (rc == 0)
		free(all.d);
	store_done(&t);
	api_list_answer(req, &l, rc);
}

static void get_dept(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_dept d;
	int rc = deptstore_get(&t, p->tid, id, &d);
	json_t *v = rc == 0 ? dept_view(&t, &d) : NULL;
	store_done(&t);
	if (rc == STORE_ENOTFOUND)
		http_respond_error(req, 404, "not_found", "no such department", NULL);
	else if (!v)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else
		http_respond_json(req, 200, v);
}

/* --------------------------------------------------------------- writes */

bool dept_slug_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > REC_SLUG_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int read_bool(http_req *req, json_t *body, const char *name, bool *out, bool *present)
{
	json_t *v = json_object_get(body, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		char m[64];
		snprintf(m, sizeof m, "%s must be true or false", name);
		return api_bad_field(req, name, m);
	}
	*out = json_is_true(v);
	return 0;
}

static int read_sla(http_req *req, json_t *body, const char *name, uint64_t *out, bool *present)
{
	json_t *v = json_object_get(body, name);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > SLA_MAX) {
		char m[80];
		snprintf(m, sizeof m, "%s must be a number of seconds from 1 to %d", name, SLA_MAX);
		return api_bad_field(req, name, m);
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Reads the fields of a create or a PATCH into op (has, v); answers and
 * returns -1 on a bad one. */
static int read_fields(http_req *req, json_t *body, dept_op *op, bool create)
{
	const char *name, *slug, *desc, *email, *zone, *routing;
	rec_dept *v = &op->v;
	bool present;
	if (api_only(req, body, field_names) < 0 ||
	    api_str(req, body, "name", create, 1, REC_NAME_MAX, &name) < 0 ||
	    api_str(req, body, "slug", create, 1, REC_SLUG_MAX, &slug) < 0 ||
	    api_opt_str(req, body, "description", 0, REC_DESC_MAX, &desc) < 0 ||
	    api_opt_str(req, body, "notify_email", 0, REC_EMAIL_MAX, &email) < 0 ||
	    api_opt_str(req, body, "timezone", 1, REC_TZ_MAX, &zone) < 0 ||
	    api_opt_str(req, body, "routing", 1, 32, &routing) < 0)
		return -1;
	if (name) {
		op->has |= F_NAME;
		snprintf(v->name, sizeof v->name, "%s", name);
	}
	if (slug) {
		if (!dept_slug_ok(slug))
			return api_bad_field(req, "slug", "slug must be 1 to 48 of a-z, 0-9 and -, not starting or ending with -");
		op->has |= F_SLUG;
		snprintf(v->slug, sizeof v->slug, "%s", slug);
	}
	if (desc) {
		op->has |= F_DESC;
		snprintf(v->description, sizeof v->description, "%s", desc);
	}
	if (email) {
		if (email[0] && !account_email_address_ok(email))
			return api_bad_field(req, "notify_email", "notify_email must be an email address or empty");
		op->has |= F_EMAIL;
		snprintf(v->notify_email, sizeof v->notify_email, "%s", email);
	}
	if (zone) {
		int err;
		if (!hours_zone_valid(api_app(req)->zones, zone, &err)) {
			http_respond_error(req, 400, "invalid_timezone", "timezone must be an IANA time zone such as Europe/Berlin",
					   "timezone");
			return -1;
		}
		op->has |= F_TZ;
		snprintf(v->timezone, sizeof v->timezone, "%s", zone);
	}
	if (routing) {
		int r = rec_routing_parse(routing);
		if (r < 0)
			return api_bad_field(req, "routing", "routing must be round_robin, least_busy or off");
		op->has |= F_ROUTING;
		v->routing = (uint8_t)r;
	}
	json_t *hj = json_object_get(body, "hours");
	if (hj) {
		hours h;
		char why[160];
		if (hours_from_json(hj, &h, why, sizeof why) != HOURS_OK) {
			http_respond_error(req, 400, "invalid_hours", why, "hours");
			return -1;
		}
		hours_format(&h, v->hours, sizeof v->hours);
		op->has |= F_HOURS;
	}
	if (read_bool(req, body, "active", &v->active, &present) < 0)
		return -1;
	op->has |= present ? F_ACTIVE : 0;
	bool def = false;
	if (read_bool(req, body, "is_default", &def, &present) < 0)
		return -1;
	if (present && !def)
		return api_bad_field(req, "is_default", "is_default can only be set to true (on the new default)");
	op->has |= present ? F_DEFAULT : 0;
	if (read_sla(req, body, "sla_medium_s", &v->sla_medium_s, &present) < 0)
		return -1;
	op->has |= present ? F_SLA_MED : 0;
	if (read_sla(req, body, "sla_high_s", &v->sla_high_s, &present) < 0)
		return -1;
	op->has |= present ? F_SLA_HIGH : 0;
	return 0;
}

static void create_dept(http_req *req, const principal *p)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	dept_op *op = op_new(req, p, OP_CREATE);
	if (op && read_fields(req, body, op, true) == 0) {
		op->did = id_next(&op->app->ids);
		submit(req, op);
		op = NULL;
	}
	op_free(op);
	json_decref(body);
}

static void update_dept(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	dept_op *op = op_new(req, p, OP_UPDATE);
	if (op && read_fields(req, body, op, false) == 0) {
		op->did = id;
		submit(req, op);
		op = NULL;
	}
	op_free(op);
	json_decref(body);
}

static void delete_dept(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	char mv[32];
	if (http_query(req, "move_to", mv, sizeof mv) != -1) {
		api_bad_field(req, "move_to",
			      "moving open conversations on delete is not supported: transfer them, then delete");
		return;
	}
	dept_op *op = op_new(req, p, OP_DELETE);
	if (op) {
		op->did = id;
		submit(req, op);
	}
}

/* A body {"<name>": ["id", …]} of at most max distinct ids into op. */
static int read_ids(http_req *req, json_t *body, const char *name, size_t max, dept_op *op)
{
	const char *const fields[] = { name, NULL };
	if (api_only(req, body, fields) < 0)
		return -1;
	json_t *a = json_object_get(body, name);
	char m[120];
	snprintf(m, sizeof m, "%s must be an array of at most %zu distinct ids", name, max);
	if (!json_is_array(a) || json_array_size(a) > max)
		return api_bad_field(req, name, m);
	op->ids = calloc(json_array_size(a) + 1, sizeof *op->ids);
	if (!op->ids) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		uint64_t id;
		if (!json_is_string(e) || !id_parse(json_string_value(e), json_string_length(e), &id) ||
		    has_id(op->ids, op->nids, id))
			return api_bad_field(req, name, m);
		op->ids[op->nids++] = id;
	}
	return 0;
}

static void reorder_depts(http_req *req, const principal *p)
{
	json_t *body = api_body(req);
	if (!body)
		return;
	dept_op *op = op_new(req, p, OP_REORDER);
	if (op && read_ids(req, body, "ids", DEPTSTORE_MAX, op) == 0) {
		submit(req, op);
		op = NULL;
	}
	op_free(op);
	json_decref(body);
}

static void set_members(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	dept_op *op = op_new(req, p, OP_MEMBERS);
	if (op && read_ids(req, body, "agent_ids", DEPTSTORE_MEMBERS_MAX, op) == 0) {
		op->did = id;
		submit(req, op);
		op = NULL;
	}
	op_free(op);
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/v1/departments", PERM_TEAM_READ, list_depts },
	{ "POST", "/v1/departments", PERM_SETTINGS, create_dept },
	{ "POST", "/v1/departments/reorder", PERM_SETTINGS, reorder_depts },
	{ "GET", "/v1/departments/{id}", PERM_TEAM_READ, get_dept },
	{ "PATCH", "/v1/departments/{id}", PERM_SETTINGS, update_dept },
	{ "DELETE", "/v1/departments/{id}", PERM_SETTINGS, delete_dept },
	{ "PUT", "/v1/departments/{id}/members", PERM_SETTINGS, set_members },
	{ 0 },
};

const feature feature_departments = { .name = "departments", .routes = routes };
