/* api_auth — login, refresh, logout, me, password change.
 *
 * Login runs Argon2id verification on a worker (jobs.h), never on an I/O
 * thread. Unknown emails still pay for one verification against a fixed
 * dummy hash so response time does not reveal which emails exist. Refresh
 * and logout decide inside a write transaction, so two concurrent uses of
 * one refresh token cannot both succeed: the second sees it spent and
 * revokes the whole family (reuse detection).
 */
#include "actors/kit/api.h"
#include "actors/kit/daily.h"
#include "actors/kit/jobs.h"
#include "actors/kit/session.h"
#include "actors/auth/password.h"
#include "actors/kit/view.h"
#include "storage/account_store.h"
#include "storage/token_store.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/id.h"
#include "core/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_RAW 32

/* ---------- refresh tokens ---------- */

typedef struct {
	wr_req w;
	app *app;
	reply_to reply;
	int kind;                 /* 0 issue (login), 1 rotate (refresh), 2 revoke (logout) */
	uint64_t tid;
	uint8_t hash[32];         /* presented token (rotate/revoke) */
	char new_token[24 + CRYPTO_B64URL_LEN(REFRESH_RAW) + 2];
	uint8_t new_hash[32];
	rec_user user;            /* issue: the user; rotate: loaded in the txn */
	char pw_hash[PASSWORD_HASH_MAX];  /* password change: the new hash */
	int outcome;              /* 0 ok, 401 invalid, 4011 reuse */
} tok_op;

enum { TOK_LOGIN = 0, TOK_REFRESH, TOK_LOGOUT, TOK_PASSWORD };

static void new_refresh(tok_op *op)
{
	uint8_t raw[REFRESH_RAW];
	crypto_random(raw, sizeof raw);
	char ts[24];
	int n = snprintf(op->new_token, sizeof op->new_token, "%s.", id_str(op->tid, ts));
	crypto_b64url_encode(raw, sizeof raw, op->new_token + n);
	crypto_sha256(op->new_token, strlen(op->new_token), op->new_hash);
}

/* Splits "<tid>.<random>" and hashes it; -1 if malformed. */
static int parse_refresh(const char *tok, uint64_t *tid, uint8_t hash[32])
{
	const char *dot = strchr(tok, '.');
	if (!dot || !id_parse(tok, (size_t)(dot - tok), tid) || strlen(dot + 1) != CRYPTO_B64URL_LEN(REFRESH_RAW))
		return -1;
	crypto_sha256(tok, strlen(tok), hash);
	return 0;
}

static int tok_apply(wr_req *w, store_txn *tx)
{
	tok_op *op = container_of(w, tok_op, w);
	int64_t now = clock_now_ms();
	int64_t expires = now + op->app->cfg.refresh_ttl_s * 1000;
	if (op->kind == TOK_PASSWORD) {
		/* a new password, every session of the user ended, a new one for the caller */
		int rc = account_user_get(tx, op->tid, op->user.id, &op->user);
		if (rc == STORE_ENOTFOUND || (rc == 0 && !op->user.active)) {
			op->outcome = 401;
			return 0;
		}
		if (rc || (rc = account_user_set_password(tx, &op->user, op->pw_hash)) ||
		    (rc = token_revoke_user(tx, op->tid, op->user.id)) < 0)
			return rc < 0 ? STORE_EIO : rc;
	}
	if (op->kind == TOK_LOGIN || op->kind == TOK_PASSWORD) {
		/* a session starts after the password change it may follow */
		if (now <= op->user.pw_changed_ms)
			now = op->user.pw_changed_ms + 1;
		return token_session_start(tx, op->tid, op->user.id, id_next(&op->app->ids), op->new_hash,
					   now, expires);
	}
	rec_refresh r;
	rec_family f;
	op->outcome = 401;
	int rc = token_refresh_get(tx, op->tid, op->hash, &r, &f);
	if (rc == STORE_EIO)
		return rc;
	if (rc || f.revoked)
		return 0;
	if (op->kind == 2 || r.used) {
		/* logout, or a spent token presented again: revoke the family */
		if ((rc = token_family_revoke(tx, op->tid, r.family)))
			return rc;
		op->outcome = op->kind == 2 ? 0 : 4011;
		return 0;
	}
	if (r.expires_ms <= now)
		return 0;
	if (account_user_get(tx, op->tid, r.uid, &op->user) || !op->user.active)
		return 0;
	if (f.created_ms <= op->user.pw_changed_ms)   /* a session from before a password change */
		return 0;
	if ((rc = token_refresh_rotate(tx, op->tid, op->hash, op->new_hash, now, expires)))
		return rc;
	op->outcome = 0;
	return 0;
}

static json_t *token_body(app *a, const rec_user *u, const char *refresh)
{
	char *access = auth_issue_access(a, u);
	if (!access)
		return NULL;
	json_t *v = json_pack("{s:s,s:s,s:I,s:s,s:o}", "access_token", access, "token_type", "Bearer",
			      "expires_in", (json_int_t)a->cfg.access_ttl_s, "refresh_token", refresh,
			      "user", view_user(u));
	free(access);
	return v;
}

static void tok_done(wr_req *w, int rc)
{
	tok_op *op = container_of(w, tok_op, w);
	app *a = op->app;
	if (rc) {
		reply_error(a, &op->reply, 500, "internal", "storage failure");
	} else if (op->outcome == 4011) {
		log_warn("auth.refresh_reuse", "tid=%llu uid=%llu", (unsigned long long)op->tid,
			 (unsigned long long)op->user.id);
		reply_error(a, &op->reply, 401, "invalid_token", "refresh token already used; session revoked");
	} else if (op->outcome && op->kind == TOK_PASSWORD) {
		reply_error(a, &op->reply, 401, "unauthenticated", "user no longer active");
	} else if (op->outcome) {
		reply_error(a, &op->reply, 401, "invalid_token", "invalid or expired refresh token");
	} else if (op->kind == 2) {
		http_post_response(a->http, op->reply.ref, 204, NULL, NULL, 0, NULL);
		atomic_fetch_sub(&a->inflight, 1);
	} else {
		if (op->kind == TOK_PASSWORD)
			rt_end_user_sessions(a, op->tid, op->user.id, "password changed; log in again");
		json_t *body = token_body(a, &op->user, op->new_token);
		if (body)
			reply_json(a, &op->reply, 200, body);
		else
			reply_error(a, &op->reply, 500, "internal", "token signing failed");
	}
	memset(op->pw_hash, 0, sizeof op->pw_hash);
	free(op);
}

static tok_op *tok_new(app *a, int kind)
{
	tok_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->app = a;
	op->kind = kind;
	op->w.apply = tok_apply;
	op->w.done = tok_done;
	return op;
}

/* ---------- login ---------- */

typedef struct {
	app *app;
	reply_to reply;
	char email[REC_EMAIL_MAX + 1];
	char password[PASSWORD_MAX_LEN + 1];
	char tenant[REC_SLUG_MAX + 1];
	char ip[64];
} login_job;

static const char *dummy_hash(void)
{
	/* a valid Argon2id hash of a random string: unknown users cost the same */
	return "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	       "7WBmcx8Hw0l/3tyI4KIRZ9gW9s0rdt6d8dQ0Q6mV9eU";
}

/* A failed password check counts against the email and the address. */
static void count_failure(app *a, const char *email, const char *ip)
{
	char key[REC_EMAIL_MAX + 8];
	snprintf(key, sizeof key, "e:%s", email);
	int64_t now = clock_now_ms();
	ratelimit_fail(a->login_rl, key, now);
	snprintf(key, sizeof key, "i:%s", ip);
	ratelimit_fail(a->login_rl_ip, key, now);
	atomic_fetch_add(&a->logins_failed, 1);
}

/* While the email or the address is limited: answers 429 and returns -1. */
static int check_limit(app *a, http_req *req, const char *email, const char *ip)
{
	char key[REC_EMAIL_MAX + 8];
	int64_t now = clock_now_ms();
	snprintf(key, sizeof key, "e:%s", email);
	int wait = ratelimit_check(a->login_rl, key, now);
	snprintf(key, sizeof key, "i:%s", ip);
	/* the per-IP budget is 4x the per-email one (shared offices, NAT) */
	int wait_ip = ratelimit_check(a->login_rl_ip, key, now);
	if (wait_ip > wait)
		wait = wait_ip;
	if (!wait)
		return 0;
	atomic_fetch_add(&a->logins_rate_limited, 1);
	char extra[64];
	snprintf(extra, sizeof extra, "Retry-After: %d\r\n", wait);
	const char *msg = "{\"error\":{\"code\":\"rate_limited\",\"message\":\"too many failed logins; retry later\"}}";
	http_respond(req, 429, "application/json", msg, strlen(msg), extra);
	return -1;
}

static void login_fail(login_job *j, const char *why)
{
	app *a = j->app;
	count_failure(a, j->email, j->ip);
	log_info("auth.login_failed", "ip=%s reason=%s", j->ip, why);
	reply_error(a, &j->reply, 401, "invalid_credentials", "email or password is wrong");
}

static void login_run(void *arg)
{
	login_job *j = arg;
	app *a = j->app;
	rec_user users[8];
	int nusers = 0;
	store_txn txn;
	if (store_read(a->db, &txn)) {
		reply_error(a, &j->reply, 500, "internal", "storage unavailable");
		goto out;
	}
	rec_tenant t;
	if (!j->tenant[0])
		nusers = account_users_by_email(&txn, j->email, 0, users, 8);
	else if (account_tenant_by_slug(&txn, j->tenant, &t) == 0)
		nusers = account_users_by_email(&txn, j->email, t.id, users, 8);
	/* an unknown tenant: no user matches */
	store_done(&txn);
	if (nusers < 0)
		nusers = 0;

	size_t pl = strlen(j->password);
	const rec_user *ok = NULL;
	for (int i = 0; i < nusers && !ok; i++)
		if (password_verify(users[i].pw_hash, j->password, pl) && users[i].active)
			ok = &users[i];
	if (!nusers)
		(void)password_verify(dummy_hash(), j->password, pl);
	if (!ok) {
		login_fail(j, nusers ? "password" : "unknown_email");
		goto out;
	}
	char key2[REC_EMAIL_MAX + 8];
	snprintf(key2, sizeof key2, "e:%s", j->email);
	ratelimit_clear(a->login_rl, key2);
	tok_op *op = tok_new(a, 0);
	if (!op) {
		reply_error(a, &j->reply, 500, "internal", "out of memory");
		goto out;
	}
	op->tid = ok->tid;
	op->user = *ok;
	op->reply = j->reply;
	new_refresh(op);
	writer_submit(a->wr, &op->w);
out:
	memset(j->password, 0, sizeof j->password);
	free(j);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void login(http_req *req, const principal *unused)
{
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *email, *password, *tenant;
	if (api_str(req, body, "email", true, 3, REC_EMAIL_MAX, &email) < 0 ||
	    api_str(req, body, "password", true, 1, PASSWORD_MAX_LEN, &password) < 0 ||
	    api_str(req, body, "tenant", false, 1, REC_SLUG_MAX, &tenant) < 0)
		goto out;
	login_job *j = calloc(1, sizeof *j);
	if (!j) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	j->app = a;
	strcpy(j->email, email);
	lower(j->email);
	strcpy(j->password, password);
	if (tenant)
		strcpy(j->tenant, tenant);
	conn_peer_ip(req->conn, j->ip);
	if (check_limit(a, req, j->email, j->ip) < 0) {
		memset(j->password, 0, sizeof j->password);
		free(j);
		goto out;
	}
	reply_begin_http(a, &j->reply, req);
	if (jobs_run(a->jobs, login_run, j) < 0) {
		reply_error(a, &j->reply, 503, "busy", "server busy, retry");
		free(j);
	}
out:
	json_decref(body);
}

/* ---------- refresh / logout / me ---------- */

static void refresh_or_logout(http_req *req, int kind)
{
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *tok;
	if (api_str(req, body, "refresh_token", true, 1, 200, &tok) < 0)
		goto out;
	tok_op *op = tok_new(a, kind);
	if (!op) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	if (parse_refresh(tok, &op->tid, op->hash) < 0) {
		free(op);
		http_respond_error(req, 401, "invalid_token", "invalid or expired refresh token", NULL);
		goto out;
	}
	if (kind == 1)
		new_refresh(op);
	reply_begin_http(a, &op->reply, req);
	writer_submit(a->wr, &op->w);
out:
	json_decref(body);
}

static void refresh(http_req *req, const principal *unused)
{
	refresh_or_logout(req, 1);
}

static void logout(http_req *req, const principal *unused)
{
	refresh_or_logout(req, 2);
}

static void me(http_req *req, const principal *pp)
{
	app *a = api_app(req);
	principal p = *pp;
	store_txn txn;
	if (store_read(a->db, &txn)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		return;
	}
	rec_user u;
	if (account_user_get(&txn, p.tid, p.id, &u) == 0)
		http_respond_json(req, 200, view_user(&u));
	else
		http_respond_error(req, 401, "unauthenticated", "user no longer exists", NULL);
	store_done(&txn);
}

/* ---------- password change ---------- */

typedef struct {
	app *app;
	reply_to reply;
	uint64_t tid, uid;
	char email[REC_EMAIL_MAX + 1];
	char ip[64];
	char stored[REC_HASH_MAX + 1];   /* the hash the current password is checked against */
	char current[PASSWORD_MAX_LEN + 1], next[PASSWORD_MAX_LEN + 1];
} pw_job;

static void pw_job_free(pw_job *j)
{
	memset(j, 0, sizeof *j);
	free(j);
}

/* On a job thread: check the current password, hash the new one, then the
 * writer stores it, ends the user's sessions and starts one for the caller. */
static void password_run(void *arg)
{
	pw_job *j = arg;
	app *a = j->app;
	if (!password_verify(j->stored, j->current, strlen(j->current))) {
		count_failure(a, j->email, j->ip);
		log_info("auth.password_change_failed", "ip=%s", j->ip);
		reply_error(a, &j->reply, 403, "forbidden", "the current password is wrong");
		pw_job_free(j);
		return;
	}
	tok_op *op = tok_new(a, TOK_PASSWORD);
	if (!op || password_hash(j->next, strlen(j->next), op->pw_hash) < 0) {
		reply_error(a, &j->reply, 500, "internal", op ? "password hashing failed" : "out of memory");
		free(op);
		pw_job_free(j);
		return;
	}
	op->tid = j->tid;
	op->user.id = j->uid;
	op->reply = j->reply;
	new_refresh(op);
	pw_job_free(j);
	writer_submit(a->wr, &op->w);
}

static void change_password(http_req *req, const principal *p)
{
	app *a = api_app(req);
	json_t *body = api_body(req);
	if (!body)
		return;
	const char *current, *next;
	pw_job *j = NULL;
	if (api_str(req, body, "current_password", true, 1, PASSWORD_MAX_LEN, &current) < 0 ||
	    api_str(req, body, "new_password", true, PASSWORD_MIN_LEN, PASSWORD_MAX_LEN, &next) < 0)
		goto out;
	store_txn t;
	rec_user u;
	if (store_read(a->db, &t)) {
		http_respond_error(req, 500, "internal", "storage unavailable", NULL);
		goto out;
	}
	int rc = account_user_get(&t, p->tid, p->id, &u);
	store_done(&t);
	if (rc) {
		http_respond_error(req, rc == STORE_ENOTFOUND ? 401 : 500, rc == STORE_ENOTFOUND ? "unauthenticated" : "internal",
				   rc == STORE_ENOTFOUND ? "user no longer exists" : "storage failure", NULL);
		goto out;
	}
	if (!(j = calloc(1, sizeof *j))) {
		http_respond_error(req, 500, "internal", "out of memory", NULL);
		goto out;
	}
	j->app = a;
	j->tid = p->tid;
	j->uid = p->id;
	strcpy(j->email, u.email);
	strcpy(j->stored, u.pw_hash);
	strcpy(j->current, current);
	strcpy(j->next, next);
	conn_peer_ip(req->conn, j->ip);
	if (check_limit(a, req, j->email, j->ip) < 0)
		goto out;
	reply_begin_http(a, &j->reply, req);
	if (jobs_run(a->jobs, password_run, j) < 0) {
		reply_error(a, &j->reply, 503, "busy", "server busy, retry");
		goto out;
	}
	j = NULL;
out:
	if (j)
		pw_job_free(j);
	json_decref(body);
}

static const route_def routes[] = {
	{ "POST", "/v1/auth/login", PERM_PUBLIC, login },
	{ "POST", "/v1/auth/refresh", PERM_PUBLIC, refresh },
	{ "POST", "/v1/auth/logout", PERM_PUBLIC, logout },
	{ "GET", "/v1/auth/me", PERM_SELF, me },
	{ "POST", "/v1/auth/password", PERM_SELF, change_password },
	{ 0 },
};

/* ---------- expired tokens ---------- */

#define TOKEN_PRUNE_ROWS 2000      /* rows a batch looks at */

/* A batch of the token prune (kit/daily.h): the walk's place is kept in
 * the job between batches. */
static int token_prune_batch(store_txn *t, daily_prune *p, bool *more)
{
	_Static_assert(sizeof p->cursor >= TOKEN_PRUNE_CURSOR, "the prune cursor fits the job");
	return token_prune(t, p->now_ms, p->cursor, &p->cursor_len, TOKEN_PRUNE_ROWS, more);
}

/* At start a run that deletes expired refresh, invite and reset tokens
 * (not waited for), then one a day. */
static int auth_start(app *a)
{
	return (a->token_prune = daily_prune_start(a, "tokens", token_prune_batch)) ? 0 : -1;
}

static void auth_stop(app *a)
{
	daily_prune_stop(a, &a->token_prune);
}

const feature feature_auth = { .name = "auth", .routes = routes, .start = auth_start, .stop = auth_stop };
