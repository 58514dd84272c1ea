/* auth — see auth.h. The rate limiter is a fixed table of 8,192 slots keyed
 * by a hash of the key (email or IP): bounded memory whatever an attacker
 * sends; a collision can only make two keys share a budget (stricter, never
 * looser). */
#include "actors/kit/auth.h"
#include "actors/kit/app.h"
#include "actors/kit/apikey.h"
#include "actors/kit/jwt.h"
#include "actors/kit/tokmemo.h"
#include "storage/account_store.h"
#include "core/clock.h"
#include "core/id.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int claims_u64(json_t *claims, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(claims, name);
	return json_is_string(v) && id_parse(json_string_value(v), json_string_length(v), out) ? 0 : -1;
}

static int verify(app *a, const char *tok, size_t len, const char *aud, json_t **claims)
{
	if (len == 0 || len > JWT_MAX_LEN)
		return -1;
	int rc = jwt_verify(tok, len, a->jwt_key, sizeof a->jwt_key, AUTH_ISS, aud,
			    clock_now_ms() / 1000, claims);
	return rc == JWT_OK ? 0 : -1;
}

int auth_current(app *a, principal *p)
{
	/* the user must still exist, be active, and not have changed password
	 * since the token was issued */
	store_txn txn;
	if (store_read(a->db, &txn))
		return -1;
	rec_user u;
	int rc = -1;
	if (account_user_get(&txn, p->tid, p->id, &u) == 0 && u.active && p->issued_ms > u.pw_changed_ms) {
		strcpy(p->role, u.role);
		strcpy(p->name, u.name);
		rc = 0;
	}
	store_done(&txn);
	return rc;
}

enum { TAG_API = 1, TAG_WIDGET = 2 };

/* The token's claims: from the thread's memo of verified tokens when it is
 * there (thread >= 0), else verified and remembered. 0 or -1. */
static int claims_of(app *a, int thread, const char *tok, size_t len, bool widget, tm_claims *out)
{
	uint8_t tag = widget ? TAG_WIDGET : TAG_API;
	if (thread >= 0 && tm_get(a->tokens, thread, tok, len, tag, clock_now_ms() / 1000, JWT_IAT_SKEW_S, out))
		return 0;
	json_t *claims = NULL;
	if (verify(a, tok, len, widget ? AUTH_AUD_WIDGET : AUTH_AUD_API, &claims) < 0)
		return -1;
	memset(out, 0, sizeof *out);
	int rc = -1;
	json_t *iat = json_object_get(claims, "iat"), *iat_ms = json_object_get(claims, "iat_ms");
	/* issue time in ms (tokens without iat_ms: the start of their iat second) */
	out->issued_ms = json_is_integer(iat_ms) ? json_integer_value(iat_ms) : json_integer_value(iat) * 1000;
	out->exp_s = json_integer_value(json_object_get(claims, "exp"));
	out->iat_s = json_integer_value(iat);
	out->aud = tag;
	if (claims_u64(claims, "sub", &out->sub) == 0 && claims_u64(claims, "tid", &out->tid) == 0) {
		rc = 0;
		if (thread >= 0)
			tm_put(a->tokens, thread, tok, len, out);
	}
	json_decref(claims);
	return rc;
}

/* The caller named by the token (id, tenant, issue time); 0 or -1. */
static int principal_of(app *a, int thread, const char *tok, size_t len, bool widget, principal *out)
{
	tm_claims c;
	if (claims_of(a, thread, tok, len, widget, &c) < 0)
		return -1;
	memset(out, 0, sizeof *out);
	out->id = c.sub;
	out->tid = c.tid;
	out->issued_ms = c.issued_ms;
	return 0;
}

static int access_at(app *a, int thread, const char *tok, size_t len, principal *out)
{
	if (principal_of(a, thread, tok, len, false, out) < 0 || auth_current(a, out) < 0)
		return -1;
	out->kind = P_AGENT;
	return 0;
}

static int visitor_at(app *a, int thread, const char *tok, size_t len, principal *out)
{
	if (principal_of(a, thread, tok, len, true, out) < 0)
		return -1;
	out->issued_ms = 0;
	store_txn txn;
	if (store_read(a->db, &txn))
		return -1;
	rec_visitor vis;
	int rc = -1;
	if (account_visitor_get(&txn, out->tid, out->id, &vis) == 0) {
		out->kind = P_VISITOR;
		strcpy(out->role, "visitor");
		strcpy(out->name, vis.name[0] ? vis.name : "Visitor");
		rc = 0;
	}
	store_done(&txn);
	return rc;
}

int auth_access(app *a, const char *tok, size_t len, principal *out)
{
	return access_at(a, -1, tok, len, out);
}

int auth_visitor(app *a, const char *tok, size_t len, principal *out)
{
	return visitor_at(a, -1, tok, len, out);
}

static int require(app *a, http_req *req, principal *out, bool visitor)
{
	hp_str t = http_bearer(req);
	if (t.len == 0) {
		http_respond_error(req, 401, "unauthenticated", "missing bearer token", NULL);
		return -1;
	}
	int thread = http_req_loop(req);
	if (!visitor && apikey_is_secret(t.p, t.len)) {
		if (apikey_principal(a, t.p, t.len, out) < 0) {
			http_respond_error(req, 401, "unauthenticated", "invalid, revoked or expired API key", NULL);
			return -1;
		}
		return 0;
	}
	int rc = visitor ? visitor_at(a, thread, t.p, t.len, out) : access_at(a, thread, t.p, t.len, out);
	if (rc < 0) {
		http_respond_error(req, 401, "unauthenticated", "invalid or expired token", NULL);
		return -1;
	}
	return 0;
}

int auth_require_agent(app *a, http_req *req, principal *out)
{
	return require(a, req, out, false);
}

int auth_require_visitor(app *a, http_req *req, principal *out)
{
	return require(a, req, out, true);
}

static char *issue(app *a, uint64_t tid, uint64_t sub, const char *role, const char *aud, int64_t ttl,
		   int64_t after_ms)
{
	char ts[24], ss[24];
	int64_t now = clock_now_ms();
	if (now <= after_ms)   /* never in the millisecond of the password change it follows */
		now = after_ms + 1;
	/* iat_ms: iat has whole seconds, too coarse to tell a token issued just
	 * before a password change from one issued just after it */
	json_t *claims = json_pack("{s:s,s:s,s:s,s:I}", "sub", id_str(sub, ss), "tid", id_str(tid, ts),
				   "role", role, "iat_ms", (json_int_t)now);
	char *tok = jwt_sign(claims, a->jwt_key, sizeof a->jwt_key, AUTH_ISS, aud, now / 1000, ttl);
	json_decref(claims);
	return tok;
}

char *auth_issue_access(app *a, const rec_user *u)
{
	return issue(a, u->tid, u->id, u->role, AUTH_AUD_API, a->cfg.access_ttl_s, u->pw_changed_ms);
}

char *auth_issue_visitor(app *a, uint64_t tid, uint64_t vid)
{
	return issue(a, tid, vid, "visitor", AUTH_AUD_WIDGET, a->cfg.visitor_ttl_s, 0);
}

/* ---------- rate limiting ---------- */

#define RL_SLOTS 8192

typedef struct {
	uint64_t key;
	int64_t window_start;
	int failures;
} rl_slot;

struct ratelimit {
	pthread_mutex_t lock;
	int max;
	int64_t window_ms;
	rl_slot slots[RL_SLOTS];
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h | 1;
}

ratelimit *ratelimit_new(int max_failures, int window_s)
{
	ratelimit *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->max = max_failures;
	r->window_ms = (int64_t)window_s * 1000;
	return r;
}

void ratelimit_free(ratelimit **r_p)
{
	if (*r_p) {
		pthread_mutex_destroy(&(*r_p)->lock);
		free(*r_p);
	}
	*r_p = NULL;
}

int ratelimit_check(ratelimit *r, const char *key, int64_t now)
{
	uint64_t h = fnv(key);
	pthread_mutex_lock(&r->lock);
	rl_slot *s = &r->slots[h % RL_SLOTS];
	int wait = 0;
	if (s->key == h && now - s->window_start < r->window_ms && s->failures >= r->max)
		wait = (int)((s->window_start + r->window_ms - now + 999) / 1000);
	pthread_mutex_unlock(&r->lock);
	return wait;
}

void ratelimit_fail(ratelimit *r, const char *key, int64_t now)
{
	uint64_t h = fnv(key);
	pthread_mutex_lock(&r->lock);
	rl_slot *s = &r->slots[h % RL_SLOTS];
	if (s->key != h || now - s->window_start >= r->window_ms) {
		s->key = h;
		s->window_start = now;
		s->failures = 0;
	}
	s->failures++;
	pthread_mutex_unlock(&r->lock);
}

void ratelimit_clear(ratelimit *r, const char *key)
{
	uint64_t h = fnv(key);
	pthread_mutex_lock(&r->lock);
	rl_slot *s = &r->slots[h % RL_SLOTS];
	if (s->key == h)
		s->failures = 0;
	pthread_mutex_unlock(&r->lock);
}
