/* team — the tenant's users over the API (docs/openapi.yaml, tag team):
 * listing, inviting with a set-password link, changing roles and
 * profiles, deactivating; the link's own route (set-password) and one's
 * own profile (PATCH /v1/auth/me).
 *
 * Reads run on the I/O thread in a read snapshot. Every change is one
 * writer request whose apply() decides on the stored records inside the
 * write transaction — the target's role (perm_may_manage), the last
 * active owner (STORE_ELIMIT), the link's state — and checks everything
 * before it writes. After the commit: the answer, a user.updated notice to
 * the tenant's open consoles (conversations/inbox.h), and for a role
 * change, a deactivation or a new password the end of that user's
 * realtime sessions (kit/session.h).
 *
 * Set-password links carry "<tenant id>.<32 random bytes, base64url>";
 * only its SHA-256 is stored (storage/token_store.h), valid --invite-ttl
 * seconds (72 h), spent once; a newer link for the same user spends the
 * older ones.
 */
#include "actors/email/queue.h"
#include "actors/kit/api.h"
#include "actors/kit/audit.h"
#include "actors/kit/jobs.h"
#include "actors/kit/session.h"
#include "actors/kit/view.h"
#include "actors/auth/password.h"
#include "actors/conversations/inbox.h"
#include "storage/account_store.h"
#include "storage/token_store.h"
#include "core/clock.h"
#include "actors/kit/desk.h"
#include "core/crypto.h"
#include "core/id.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_RAW 32
#define INVITE_TOKEN_MAX (24 + CRYPTO_B64URL_LEN(INVITE_RAW) + 2)
#define INVITE_PAGE "/agent/set-password.html#token="

enum team_op_kind { OP_CREATE = 1, OP_UPDATE, OP_SELF, OP_DEACTIVATE, OP_REACTIVATE, OP_REINVITE, OP_SET_PASSWORD };

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	int kind;                       /* enum team_op_kind */
	uint64_t tid, uid;              /* the user (SET_PASSWORD: found through the link) */
	int caller_role;                /* enum role, as stored when the request came */
	principal who;                  /* the caller (the audit row) */
	/* the change; NULL = unchanged (pointers into the strings below) */
	const char *role, *name, *title, *avatar;
	char role_s[REC_ROLE_MAX + 1], name_s[REC_NAME_MAX + 1], title_s[REC_NAME_MAX + 1];
	char avatar_s[REC_URL_MAX + 1], email[REC_EMAIL_MAX + 1];
	/* set-password links */
	char token[INVITE_TOKEN_MAX];
	uint8_t hash[32];
	int64_t expires_ms;
	char password[PASSWORD_MAX_LEN + 1];   /* SET_PASSWORD, until hashed */
	char pw_hash[PASSWORD_HASH_MAX];
	/* the outcome */
	rec_user user;
	rec_tenant tenant;              /* SET_PASSWORD: where to log in */
	bool end_sessions;              /* the user's sessions end (role, deactivation, password) */
	int status;                     /* 0: done; else the refusal below */
	const char *code, *msg, *field;
} team_op;

/* ------------------------------------------------------------------ answers */

static json_t *error_body(const char *code, const char *msg, const char *field)
{
	json_t *e = json_pack("{s:s,s:s}", "code", code, "message", msg);
	if (e && field)
		json_object_set_new(e, "field", json_string(field));
	return json_pack("{s:o}", "error", e);
}

static int refuse(team_op *op, int status, const char *code, const char *msg, const char *field)
{
	op->status = status;
	op->code = code;
	op->msg = msg;
	op->field = field;
	return 0;   /* nothing was written: the batch goes on */
}

static json_t *invitation(app *a, const team_op *op)
{
	char url[sizeof INVITE_PAGE + INVITE_TOKEN_MAX];
	snprintf(url, sizeof url, INVITE_PAGE "%s", op->token);
	return json_pack("{s:o,s:s,s:s,s:o}", "user", view_user(&op->user), "invite_token", op->token,
			 "invite_url", url, "invite_expires_at", view_time(op->expires_ms));
}

/* A live notice to the tenant's consoles (docs/realtime.md). */
static void announce(app *a, const rec_user *u)
{
	json_t *f = json_pack("{s:s,s:s,s:o}", "type", "inbox", "event", "user.updated", "user", view_user(u));
	if (f)
		inbox_broadcast(a, u->tid, f);
}

static void op_free(team_op *op)
{
	if (!op)
		return;
	memset(op->password, 0, sizeof op->password);
	memset(op->pw_hash, 0, sizeof op->pw_hash);
	free(op);
}

static void op_done(wr_req *w, int rc)
{
	team_op *op = container_of(w, team_op, w);
	app *a = op->app;
	if (rc) {
		log_error("team.write", "kind=%d err=\"%s\"", op->kind, store_strerror(rc));
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->status) {
		reply_json(a, &op->reply, op->status, error_body(op->code, op->msg, op->field));
	} else {
		json_t *body;
		int status = 200;
		switch (op->kind) {
		case OP_CREATE:
			status = 201;
			/* fall through */
		case OP_REINVITE:
			body = invitation(a, op);
			break;
		case OP_SET_PASSWORD:
			body = json_pack("{s:o,s:{s:o,s:s,s:s}}", "user", view_user(&op->user), "tenant", "id",
					 view_id(op->tenant.id), "name", op->tenant.name, "slug", op->tenant.slug);
			break;
		default:
			body = view_user(&op->user);
		}
		if (op->end_sessions)
			rt_end_user_sessions(a, op->tid, op->uid,
					     op->kind == OP_SET_PASSWORD ? "password changed; log in again"
					     : op->user.active ? "your role changed" : "account deactivated");
		if (op->kind != OP_SET_PASSWORD && op->kind != OP_REINVITE)
			announce(a, &op->user);
		if (op->kind == OP_UPDATE || op->kind == OP_DEACTIVATE || op->kind == OP_REACTIVATE) {
			/* the desk reads the agent again (role, active: kit/desk.h) */
			desk_msg *m = desk_msg_new(DK_AGENT_RELOAD);
			if (m)
				desk_to_agent(a, op->tid, op->uid, m);
		}
		if (body)
			reply_json(a, &op->reply, status, body);
		else
			reply_error(a, &op->reply, 500, "internal", "out of memory");
	}
	op_free(op);
}

/* ------------------------------------------------------------------ links */

static void new_link(team_op *op, int64_t now)
{
	uint8_t raw[INVITE_RAW];
	crypto_random(raw, sizeof raw);
	char ts[24];
	int n = snprintf(op->token, sizeof op->token, "%s.", id_str(op->tid, ts));
	crypto_b64url_encode(raw, sizeof raw, op->token + n);
	crypto_sha256(op->token, strlen(op->token), op->hash);
	op->expires_ms = now + op->app->cfg.invite_ttl_s * 1000;
}

/* Spends the user's older links and stores this one. */
static int put_link(team_op *op, store_txn *t, int64_t now)
{
	rec_invite inv = { .tid = op->tid, .uid = op->user.id, .purpose = op->user.pw_hash[0] ? INV_RESET : INV_INVITE,
			   .expires_ms = op->expires_ms, .created_ms = now };
	memcpy(inv.hash, op->hash, 32);
	int rc = token_invite_revoke_user(t, op->tid, op->user.id);
	return rc < 0 ? rc : token_invite_put(t, &inv);
}

/* Splits "<tid>.<random>" and hashes it; -1 if malformed. */
static int parse_link(const char *tok, uint64_t *tid, uint8_t hash[32])
{
	const char *dot = strchr(tok, '.');
	if (!dot || !id_parse(tok, (size_t)(dot - tok), tid) || strlen(dot + 1) != CRYPTO_B64URL_LEN(INVITE_RAW))
		return -1;
	crypto_sha256(tok, strlen(tok), hash);
	return 0;
}

/* ------------------------------------------------------------------ the writes */

static int apply_create(team_op *op, store_txn *t, int64_t now)
{
	rec_user u;
	int rc = account_user_by_email(t, op->tid, op->email, &u);
	if (rc == 0)
		return refuse(op, 409, "conflict", "a user with this email exists in this workspace", "email");
	if (rc != STORE_ENOTFOUND)
		return rc;
	rc = account_user_create(t, &op->app->ids, op->tid, op->email, "", op->role, op->name, &op->user);
	if (rc == STORE_EEXISTS)
		return refuse(op, 409, "conflict", "a user with this email exists in this workspace", "email");
	if (rc == STORE_ECONFLICT)   /* validated before: nothing was written */
		return refuse(op, 400, "invalid_field", "invalid user", "email");
	if (rc)
		return rc;
	op->uid = op->user.id;
	if (op->title && op->title[0]) {
		snprintf(op->user.title, sizeof op->user.title, "%s", op->title);
		if ((rc = account_user_update(t, &op->user)))
			return rc < 0 && rc != STORE_EIO ? STORE_EIO : rc;   /* after a write: abort the batch */
	}
	new_link(op, now);
	rc = put_link(op, t, now);
	if (rc == 0)
		rc = email_queue_invitation(op->app, t, &op->user, "", op->token, op->expires_ms);
	if (rc == 0)
		rc = audit_json(op->app, t, op->tid, &op->who, "user.invite", "user", op->uid,
				json_pack("{s:s,s:s,s:s}", "email", op->user.email, "role", op->user.role, "name",
					  op->user.name));
	return rc ? STORE_EIO : 0;
}

static int apply_set_password(team_op *op, store_txn *t, int64_t now)
{
	rec_invite inv;
	int rc = token_invite_get(t, op->tid, op->hash, &inv);
	if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT || (rc == 0 && (inv.used || inv.expires_ms <= now)))
		return refuse(op, 400, "invalid_token", "this link is unknown, used, expired or replaced", "token");
	if (rc)
		return rc;
	op->uid = inv.uid;
	rc = account_user_get(t, op->tid, inv.uid, &op->user);
	if (rc == STORE_ENOTFOUND || (rc == 0 && !op->user.active))
		return refuse(op, 400, "invalid_token", "this link is for an account that is not active", "token");
	if (rc)
		return rc;
	if ((rc = account_tenant_get(t, op->tid, &op->tenant)))
		return rc;
	/* checked: from here on everything writes */
	if ((rc = token_invite_spend(t, op->tid, op->hash, now, &inv)) ||
	    (rc = account_user_set_password(t, &op->user, op->pw_hash)) ||
	    (rc = token_revoke_user(t, op->tid, op->uid)) < 0)
		return STORE_EIO;
	op->end_sessions = true;
	return 0;
}

static int op_apply(wr_req *w, store_txn *t)
{
	team_op *op = container_of(w, team_op, w);
	int64_t now = clock_now_ms();
	if (op->kind == OP_CREATE)
		return apply_create(op, t, now);
	if (op->kind == OP_SET_PASSWORD)
		return apply_set_password(op, t, now);
	int rc = account_user_get(t, op->tid, op->uid, &op->user);
	if (rc == STORE_ENOTFOUND)
		return refuse(op, 404, "not_found", "no such user", NULL);
	if (rc)
		return rc;
	rec_user *u = &op->user;
	char old_role[REC_ROLE_MAX + 1] = "";
	bool profile = false;
	if (op->kind != OP_SELF) {
		if (!perm_may_manage(op->caller_role, role_parse(u->role)))
			return refuse(op, 403, "forbidden", "you may not change a user whose role is above yours", NULL);
		if (op->role && !perm_may_grant(op->caller_role, role_parse(op->role)))
			return refuse(op, 403, "forbidden", "nobody grants a role above their own", "role");
	}
	switch (op->kind) {
	case OP_REINVITE:
		if (!u->active)
			return refuse(op, 409, "conflict", "the user is deactivated; reactivate them first", NULL);
		new_link(op, now);
		if (put_link(op, t, now) || email_queue_invitation(op->app, t, u, "", op->token, op->expires_ms) ||
		    audit_json(op->app, t, op->tid, &op->who, "user.reinvite", "user", u->id,
			       json_pack("{s:s}", "email", u->email)))
			return STORE_EIO;
		return 0;
	case OP_DEACTIVATE:
		if (!u->active)
			return 0;
		u->active = false;
		u->pw_changed_ms = now;   /* tokens issued before stay refused after a reactivation */
		op->end_sessions = true;
		break;
	case OP_REACTIVATE:
		if (u->active)
			return 0;
		u->active = true;
		break;
	default:   /* OP_UPDATE, OP_SELF */
		if (op->role && strcmp(op->role, u->role) != 0) {
			snprintf(old_role, sizeof old_role, "%s", u->role);
			snprintf(u->role, sizeof u->role, "%s", op->role);
			op->end_sessions = true;
		}
		profile = (op->name && strcmp(op->name, u->name) != 0) || (op->title && strcmp(op->title, u->title) != 0) ||
			  (op->avatar && strcmp(op->avatar, u->avatar_url) != 0);
		if (op->name)
			snprintf(u->name, sizeof u->name, "%s", op->name);
		if (op->title)
			snprintf(u->title, sizeof u->title, "%s", op->title);
		if (op->avatar)
			snprintf(u->avatar_url, sizeof u->avatar_url, "%s", op->avatar);
	}
	rc = account_user_update(t, u);
	if (rc == STORE_ELIMIT) {
		op->end_sessions = false;
		return refuse(op, 409, "last_owner", "the workspace needs at least one active owner", NULL);
	}
	if (rc == STORE_ECONFLICT) {
		op->end_sessions = false;
		return refuse(op, 400, "invalid_field", "invalid value", NULL);
	}
	if (rc)
		return rc;
	if (op->kind == OP_DEACTIVATE && (rc = token_revoke_user(t, op->tid, op->uid)) < 0)
		return STORE_EIO;
	/* the audit log: what admins did (a user's edits of their own profile are not in it) */
	if ((op->kind == OP_DEACTIVATE || op->kind == OP_REACTIVATE) &&
	    audit_json(op->app, t, op->tid, &op->who, op->kind == OP_DEACTIVATE ? "user.deactivate" : "user.reactivate",
		       "user", u->id, json_pack("{s:s}", "email", u->email)))
		return STORE_EIO;
	if (op->kind == OP_UPDATE && old_role[0] &&
	    audit_json(op->app, t, op->tid, &op->who, "user.role", "user", u->id,
		       json_pack("{s:s,s:s,s:s}", "email", u->email, "from", old_role, "to", u->role)))
		return STORE_EIO;
	if (op->kind == OP_UPDATE && profile &&
	    audit_json(op->app, t, op->tid, &op->who, "user.update", "user", u->id,
		       json_pack("{s:s,s:s,s:s,s:s}", "email", u->email, "name", u->name, "title", u->title, "avatar_url",
				 u->avatar_url)))
		return STORE_EIO;
	/* user.updated to the sinks (kit/emit.h), in this transaction */
	app_event ev = { .type = EV_USER_UPDATED, .tid = op->tid, .at_ms = now, .user = u };
	rc = op->app->nsinks ? emit_in_txn(op->app, t, &ev) : 0;
	return rc == 0 || rc == STORE_EFULL || rc == STORE_ENOMEM ? rc : STORE_EIO;
}

static team_op *op_new(http_req *req, int kind, const principal *p)
{
	team_op *op = calloc(1, sizeof *op);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	op->app = api_app(req);
	op->kind = kind;
	op->tid = p ? p->tid : 0;
	op->caller_role = p ? role_parse(p->role) : ROLE_NONE;
	if (p)
		op->who = *p;
	op->w.apply = op_apply;
	op->w.done = op_done;
	return op;
}

static void submit(http_req *req, team_op *op)
{
	reply_begin_http(op->app, &op->reply, req);
	writer_submit(op->app->wr, &op->w);
}

/* ------------------------------------------------------------------ input */

/* One '@' with text on both sides, no white space or control characters. */
static bool valid_email(const char *e)
{
	const char *at = strchr(e, '@');
	if (!at || at == e || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *c = (const unsigned char *)e; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/* Empty, or http(s)://… without white space or control characters. */
static bool valid_url(const char *u)
{
	if (!u[0])
		return true;
	size_t skip = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
	if (!skip || !u[skip] || u[skip] == '/')
		return false;
	for (const unsigned char *c = (const unsigned char *)u; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/* The profile fields of a body (name, title, avatar_url), copied into op. */
static int read_profile(http_req *req, json_t *body, team_op *op)
{
	const char *name, *title, *avatar;
	if (api_opt_str(req, body, "name", 1, REC_NAME_MAX, &name) < 0 ||
	    api_opt_str(req, body, "title", 0, REC_NAME_MAX, &title) < 0 ||
	    api_opt_str(req, body, "avatar_url", 0, REC_URL_MAX, &avatar) < 0)
		return -1;
	if (avatar && !valid_url(avatar))
		return api_bad_field(req, "avatar_url", "avatar_url must be empty or an http(s) URL");
	if (name)
		op->name = strcpy(op->name_s, name);
	if (title)
		op->title = strcpy(op->title_s, title);
	if (avatar)
		op->avatar = strcpy(op->avatar_s, avatar);
	return 0;
}

static int read_role(http_req *req, json_t *body, bool required, team_op *op)
{
	const char *role;
	if ((required ? api_str(req, body, "role", true, 1, REC_ROLE_MAX, &role)
		      : api_opt_str(req, body, "role", 1, REC_ROLE_MAX, &role)) < 0)
		return -1;
	if (!role)
		return 0;
	if (role_parse(role) == ROLE_NONE)
		return api_bad_field(req, "role", "role must be owner, admin, supervisor or agent");
	op->role = strcpy(op->role_s, role);
	return 0;
}

/* ------------------------------------------------------------------ routes */

static bool add_user(void *arg, uint64_t uid, const rec_user *u)
{
	return !u || api_list_add(arg, view_user(u));   /* a record that does not decode is left out */
}

static int each_user(store_txn *t, uint64_t tid, api_list *l, void *arg)
{
	(void)arg;
	return account_user_list(t, tid, 0, add_user, l);
}

static void list_users(http_req *req, const principal *p)
{
	api_list_read(req, p->tid, each_user, NULL);
}

static void get_user(http_req *req, const principal *p)
{
	uint64_t uid;
	if (api_id_param(req, 0, &uid) < 0)
		return;
	store_txn t;
	if (store_read(api_app(req)->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_user u;
	int rc = account_user_get(&t, p->tid, uid, &u);
	store_done(&t);
	if (rc == STORE_ENOTFOUND)
		http_respond_error(req, 404, "not_found", "no such user", NULL);
	else if (rc)
		http_respond_error(req, 500, "internal", "storage failure", NULL);
	else
		http_respond_json(req, 200, view_user(&u));
}

static void create_user(http_req *req, const principal *p)
{
	static const char *const fields[] = { "email", "name", "role", "title", NULL };
	json_t *body = api_body(req);
	if (!body)
		return;
	team_op *op = NULL;
	const char *email;
	if (api_only(req, body, fields) < 0 || api_str(req, body, "email", true, 3, REC_EMAIL_MAX, &email) < 0)
		goto out;
	if (!valid_email(email)) {
		api_bad_field(req, "email", "email must be one address (name@domain)");
		goto out;
	}
	if (!(op = op_new(req, OP_CREATE, p)))
		goto out;
	strcpy(op->email, email);
	const char *name;
	if (read_role(req, body, true, op) < 0 || api_str(req, body, "name", true, 1, REC_NAME_MAX, &name) < 0 ||
	    read_profile(req, body, op) < 0)
		goto out;
	if (!perm_may_grant(op->caller_role, role_parse(op->role))) {
		http_respond_error(req, 403, "forbidden", "nobody grants a role above their own", "role");
		goto out;
	}
	submit(req, op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

/* PATCH /v1/users/{id} and PATCH /v1/auth/me. */
static void update(http_req *req, const principal *p, bool self)
{
	static const char *const manage_fields[] = { "role", "name", "title", "avatar_url", NULL };
	static const char *const self_fields[] = { "name", "title", "avatar_url", NULL };
	uint64_t uid = p->id;
	if (!self && api_id_param(req, 0, &uid) < 0)
		return;
	json_t *body = api_body(req);
	if (!body)
		return;
	team_op *op = NULL;
	if (api_only(req, body, self ? self_fields : manage_fields) < 0 || !(op = op_new(req, self ? OP_SELF : OP_UPDATE, p)))
		goto out;
	op->uid = uid;
	if ((!self && read_role(req, body, false, op) < 0) || read_profile(req, body, op) < 0)
		goto out;
	submit(req, op);
	op = NULL;
out:
	free(op);
	json_decref(body);
}

static void update_user(http_req *req, const principal *p)
{
	update(req, p, false);
}

static void update_me(http_req *req, const principal *p)
{
	update(req, p, true);
}

/* The POST /v1/users/{id}/… actions: an empty body or an empty object. */
static void action(http_req *req, const principal *p, int kind)
{
	static const char *const none[] = { NULL };
	uint64_t uid;
	if (api_id_param(req, 0, &uid) < 0)
		return;
	json_t *body = api_body_opt(req);
	if (!body)
		return;
	team_op *op;
	if (api_only(req, body, none) == 0 && (op = op_new(req, kind, p))) {
		op->uid = uid;
		submit(req, op);
	}
	json_decref(body);
}

static void deactivate_user(http_req *req, const principal *p)
{
	action(req, p, OP_DEACTIVATE);
}

static void reactivate_user(http_req *req, const principal *p)
{
	action(req, p, OP_REACTIVATE);
}

static void reinvite_user(http_req *req, const principal *p)
{
	action(req, p, OP_REINVITE);
}

/* set-password: the link is looked at first (a made-up one costs no hash),
 * the password hashed on a job thread, then the writer decides. */
static void hash_then_submit(void *arg)
{
	team_op *op = arg;
	int rc = password_hash(op->password, strlen(op->password), op->pw_hash);
	memset(op->password, 0, sizeof op->password);
	if (rc < 0) {
		reply_error(op->app, &op->reply, 500, "internal", "password hashing failed");
		op_free(op);
		return;
	}
	writer_submit(op->app->wr, &op->w);
}

static void set_password(http_req *req, const principal *unused)
{
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *token, *password;
	team_op *op = NULL;
	if (api_str(req, body, "token", true, 1, 200, &token) < 0 ||
	    api_str(req, body, "password", true, PASSWORD_MIN_LEN, PASSWORD_MAX_LEN, &password) < 0 ||
	    !(op = op_new(req, OP_SET_PASSWORD, NULL)))
		goto out;
	rec_invite inv;
	store_txn t;
	int rc = parse_link(token, &op->tid, op->hash) < 0 ? STORE_ENOTFOUND : store_read(a->db, &t);
	if (rc == 0) {
		rc = token_invite_get(&t, op->tid, op->hash, &inv);
		store_done(&t);
	}
	if (rc && rc != STORE_ENOTFOUND && rc != STORE_ECORRUPT) {
		http_respond_error(req, 500, "internal", "storage failure", NULL);
		goto out;
	}
	if (rc || inv.used || inv.expires_ms <= clock_now_ms()) {
		http_respond_error(req, 400, "invalid_token", "this link is unknown, used, expired or replaced", "token");
		goto out;
	}
	strcpy(op->password, password);
	reply_begin_http(a, &op->reply, req);
	if (jobs_run(a->jobs, hash_then_submit, op) < 0) {
		reply_error(a, &op->reply, 503, "busy", "server busy, retry");
		goto out;
	}
	op = NULL;
out:
	op_free(op);
	json_decref(body);
}

static const route_def routes[] = {
	{ "GET", "/v1/users", PERM_TEAM_READ, list_users },
	{ "POST", "/v1/users", PERM_TEAM_MANAGE, create_user },
	{ "GET", "/v1/users/{id}", PERM_TEAM_READ, get_user },
	{ "PATCH", "/v1/users/{id}", PERM_TEAM_MANAGE, update_user },
	{ "POST", "/v1/users/{id}/deactivate", PERM_TEAM_MANAGE, deactivate_user },
	{ "POST", "/v1/users/{id}/reactivate", PERM_TEAM_MANAGE, reactivate_user },
	{ "POST", "/v1/users/{id}/invite", PERM_TEAM_MANAGE, reinvite_user },
	{ "PATCH", "/v1/auth/me", PERM_SELF, update_me },
	{ "POST", "/v1/auth/set-password", PERM_PUBLIC, set_password },
	{ 0 },
};

const feature feature_team = { .name = "team", .routes = routes };
