/* apikeys — the tenant's API keys over the API (docs/openapi.yaml, tag
 * api-keys): listing, creating (the secret is in the answer, once) and
 * revoking. Owners and admins (settings), and admin keys.
 *
 * A key has a name, a scope (read, write, admin: the role it acts with,
 * kit/perm.h) and an optional expiry; nobody makes a key whose scope's
 * role is above their own. The secret is made here (kit/apikey.h) and
 * only its SHA-256 is stored (storage/apikey_store.h); the list shows its
 * last characters (hint) to tell keys apart. Revoking is one writer
 * request that sets the flag: the next request with the key is refused,
 * because every request reads the stored record (kit/apikey.c). Keys are
 * the tenant's, not their creator's: a key keeps working when the user
 * who made it leaves; revoking it is the admins' decision.
 */
#include "actors/kit/api.h"
#include "actors/kit/apikey.h"
#include "actors/kit/audit.h"
#include "actors/kit/view.h"
#include "storage/apikey_store.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_CREATE = 1, OP_REVOKE };

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	int kind;
	rec_apikey key;                  /* CREATE: the new key; REVOKE: the key after */
	char secret[APIKEY_SECRET_MAX];  /* CREATE: shown once, in the answer */
	bool missing;                    /* REVOKE: no such key */
	principal who;                   /* the caller (the audit row) */
} key_op;

static json_t *time_or_null(int64_t ms)
{
	return ms ? view_time(ms) : json_null();
}

static json_t *view_key(const rec_apikey *k)
{
	return json_pack("{s:o,s:s,s:s,s:s,s:{s:s,s:o,s:s},s:o,s:o,s:b,s:o,s:o}", "id", view_id(k->id), "name", k->name,
			 "scope", rec_scope_name(k->scope), "hint", k->hint, "created_by", "type",
			 k->created_by_key ? "api_key" : "user", "id", view_id(k->created_by), "name", k->created_by_name,
			 "created_at", view_time(k->created_ms), "expires_at", time_or_null(k->expires_ms), "revoked",
			 k->revoked, "revoked_at", time_or_null(k->revoked_ms), "last_used_at",
			 time_or_null(k->last_used_ms));
}

static void op_free(key_op *op)
{
	if (op) {
		memset(op->secret, 0, sizeof op->secret);
		free(op);
	}
}

static int op_apply(wr_req *w, store_txn *t)
{
	key_op *op = container_of(w, key_op, w);
	int rc;
	if (op->kind == OP_CREATE) {
		if ((rc = apikey_create(t, &op->key)))
			return rc;
	} else {
		bool was_revoked = false;
		rec_apikey before;
		if (apikey_get(t, op->key.tid, op->key.id, &before) == 0)
			was_revoked = before.revoked;
		rc = apikey_revoke(t, op->key.tid, op->key.id, clock_now_ms(), &op->key);
		if (rc == STORE_ENOTFOUND) {
			op->missing = true;
			return 0;
		}
		if (rc || was_revoked)
			return rc;
	}
	return audit_json(op->app, t, op->key.tid, &op->who, op->kind == OP_CREATE ? "api_key.create" : "api_key.revoke",
			  "api_key", op->key.id,
			  json_pack("{s:s,s:s}", "name", op->key.name, "scope", rec_scope_name(op->key.scope)))
		       ? STORE_EIO : 0;
}

static void op_done(wr_req *w, int rc)
{
	key_op *op = container_of(w, key_op, w);
	app *a = op->app;
	if (rc) {
		log_error("apikeys.write", "kind=%d err=\"%s\"", op->kind, store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->missing) {
		reply_error(a, &op->reply, 404, "not_found", "no such API key");
	} else {
		json_t *v = view_key(&op->key);
		if (v && op->kind == OP_CREATE) {
			v = json_pack("{s:o,s:s}", "key", v, "secret", op->secret);
			log_info("apikeys.created", "tid=%llu id=%llu scope=%s by=%llu", (unsigned long long)op->key.tid,
				 (unsigned long long)op->key.id, rec_scope_name(op->key.scope),
				 (unsigned long long)op->key.created_by);
		} else if (v) {
			log_info("apikeys.revoked", "tid=%llu id=%llu", (unsigned long long)op->key.tid,
				 (unsigned long long)op->key.id);
		}
		if (v)
			reply_json(a, &op->reply, op->kind == OP_CREATE ? 201 : 200, v);
		else
			reply_error(a, &op->reply, 500, "internal", "out of memory");
	}
	op_free(op);
}

static key_op *op_new(http_req *req, int kind, const principal *p)
{
	key_op *op = calloc(1, sizeof *op);
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

static void submit(http_req *req, key_op *op)
{
	reply_begin_http(op->app, &op->reply, req);
	writer_submit(op->app->wr, &op->w);
}

/* ------------------------------------------------------------------ routes */

static bool add_key(void *arg, uint64_t id, const rec_apikey *k)
{
	return !k || api_list_add(arg, view_key(k));   /* a record that does not decode is left out */
}

static int each_key(store_txn *t, uint64_t tid, api_list *l, void *arg)
{
	(void)arg;
	return apikey_list(t, tid, 0, add_key, l);
}

static void list_keys(http_req *req, const principal *p)
{
	api_list_read(req, p->tid, each_key, NULL);
}

/* expires_at: absent or null (never), or an ISO-8601 UTC time in the future. */
static int read_expiry(http_req *req, json_t *body, int64_t now, int64_t *out)
{
	json_t *v = json_object_get(body, "expires_at");
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || clock_parse_iso8601(json_string_value(v), json_string_length(v), out) < 0)
		return api_bad_field(req, "expires_at", "expires_at must be null or an ISO-8601 UTC time (2030-01-31T00:00:00Z)");
	if (*out <= now)
		return api_bad_field(req, "expires_at", "expires_at must be in the future");
	return 0;
}

static void create_key(http_req *req, const principal *p)
{
	static const char *const fields[] = { "name", "scope", "expires_at", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *name, *scope_s;
	key_op *op = NULL;
	int64_t now = clock_now_ms(), expires;
	if (api_only(req, body, fields) < 0 || api_str(req, body, "name", true, 1, REC_NAME_MAX, &name) < 0 ||
	    api_str(req, body, "scope", true, 1, 16, &scope_s) < 0)
		goto out;
	int scope = rec_scope_parse(scope_s);
	if (scope == KS_NONE) {
		api_bad_field(req, "scope", "scope must be read, write or admin");
		goto out;
	}
	if (read_expiry(req, body, now, &expires) < 0)
		goto out;
	if (perm_scope_role(scope) > role_parse(p->role)) {
		http_respond_error(req, 403, "forbidden", "nobody makes a key above their own role", "scope");
		goto out;
	}
	if (!(op = op_new(req, OP_CREATE, p)))
		goto out;
	rec_apikey *k = &op->key;
	k->tid = p->tid;
	k->id = id_next(&op->app->ids);
	snprintf(k->name, sizeof k->name, "%s", name);
	k->scope = (uint8_t)scope;
	k->created_by = p->id;
	snprintf(k->created_by_name, sizeof k->created_by_name, "%s", p->name);
	k->created_by_key = p->kind == P_APIKEY;
	k->created_ms = now;
	k->expires_ms = expires;
	if (apikey_new_secret(p->tid, op->secret, k->hash, k->hint) < 0) {
		http_respond_error(req, 500, "internal", "no randomness", NULL);
		goto out;
	}
	submit(req, op);
	op = NULL;
out:
	op_free(op);
	json_decref(body);
}

static void revoke_key(http_req *req, const principal *p)
{
	uint64_t id;
	if (api_id_param(req, 0, &id) < 0)
		return;
	key_op *op = op_new(req, OP_REVOKE, p);
	if (!op)
		return;
	op->key.tid = p->tid;
	op->key.id = id;
	submit(req, op);
}

static const route_def routes[] = {
	{ "GET", "/v1/api-keys", PERM_SETTINGS, list_keys },
	{ "POST", "/v1/api-keys", PERM_SETTINGS, create_key },
	{ "DELETE", "/v1/api-keys/{id}", PERM_SETTINGS, revoke_key },
	{ 0 },
};

const feature feature_apikeys = { .name = "apikeys", .routes = routes };
