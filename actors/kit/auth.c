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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
	if (require(a, req, out, false) < 0)
		return -1;
	auth_peer_addr(a, req, out->addr);
	return 0;
}

int auth_require_visitor(app *a, http_req *req, principal *out)
{
	if (require(a, req, out, true) < 0)
		return -1;
	auth_peer_addr(a, req, out->addr);
	return 0;
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

/* ---------- the caller's address ---------- */

typedef struct {
	int family;              /* AF_INET, AF_INET6 */
	uint8_t addr[16];
	int bits;
} cidr;

struct auth_proxies {
	size_t n;
	cidr c[];
};

/* An address without brackets or port into (family, bytes); false if none. */
static bool addr_parse(const char *s, size_t len, int *family, uint8_t out[16])
{
	char tmp[64];
	if (len == 0 || len >= sizeof tmp)
		return false;
	memcpy(tmp, s, len);
	tmp[len] = 0;
	if (inet_pton(AF_INET, tmp, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, tmp, out) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

auth_proxies *auth_proxies_new(const char *list, char *why, size_t why_len)
{
	size_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	auth_proxies *ps = calloc(1, sizeof *ps + n * sizeof(cidr));
	if (!ps) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		while (len && (*s == ' ' || *s == '\t'))
			s++, len--;
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len) {
			cidr *c = &ps->c[ps->n];
			const char *slash = memchr(s, '/', len);
			size_t alen = slash ? (size_t)(slash - s) : len;
			bool ok = addr_parse(s, alen, &c->family, c->addr);
			int max = c->family == AF_INET ? 32 : 128;
			c->bits = max;
			if (ok && slash) {
				char *e;
				char num[8] = "";
				size_t nl = len - alen - 1;
				ok = nl > 0 && nl < sizeof num;
				if (ok) {
					memcpy(num, slash + 1, nl);
					long b = strtol(num, &e, 10);
					ok = *e == 0 && b >= 0 && b <= max && num[0] >= '0' && num[0] <= '9';
					c->bits = (int)b;
				}
			}
			if (!ok) {
				snprintf(why, why_len, "\"%.*s\" is not an IP address or CIDR", (int)(len > 60 ? 60 : len), s);
				free(ps);
				return NULL;
			}
			ps->n++;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return ps;
}

void auth_proxies_free(auth_proxies **p)
{
	if (p && *p) {
		free(*p);
		*p = NULL;
	}
}

static bool in_cidr(const cidr *c, int family, const uint8_t *a)
{
	if (c->family != family)
		return false;
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, a, (size_t)full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (a[full] & mask);
}

static bool trusted(const auth_proxies *p, int family, const uint8_t *a)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (in_cidr(&p->c[i], family, a))
			return true;
	return false;
}

bool auth_proxy_trusted(const auth_proxies *p, const char *addr)
{
	int family;
	uint8_t a[16];
	return addr_parse(addr, strlen(addr), &family, a) && trusted(p, family, a);
}

/* One X-Forwarded-For entry: "1.2.3.4", "1.2.3.4:80", "2001:db8::1",
 * "[2001:db8::1]:80". */
static bool xff_entry(const char *s, size_t len, int *family, uint8_t out[16])
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 2 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		return close && addr_parse(s + 1, (size_t)(close - s - 1), family, out) && *family == AF_INET6;
	}
	if (addr_parse(s, len, family, out))
		return true;
	const char *colon = memchr(s, ':', len);   /* IPv4 with a port */
	return colon && !memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) &&
	       addr_parse(s, (size_t)(colon - s), family, out) && *family == AF_INET;
}

void auth_peer_addr(app *a, http_req *req, char out[REC_ADDR_MAX + 1])
{
	out[0] = 0;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (!req->conn || getpeername(req->conn->fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	int family = ss.ss_family;
	uint8_t cur[16];
	if (family == AF_INET) {
		memcpy(cur, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (family == AF_INET6) {
		memcpy(cur, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)cur)) {
			memmove(cur, cur + 12, 4);
			family = AF_INET;
		}
	} else {
		return;
	}
	const hp_str *xff = a->proxies && a->proxies->n ? http_header(req, "X-Forwarded-For") : NULL;
	if (xff) {
		const char *s = xff->p;
		size_t end = xff->len;
		while (end > 0 && trusted(a->proxies, family, cur)) {
			size_t start = end;
			while (start > 0 && s[start - 1] != ',')
				start--;
			int f;
			uint8_t next[16];
			if (!xff_entry(s + start, end - start, &f, next))
				break;   /* malformed: the last proxy that vouched for it is what is known */
			family = f;
			memcpy(cur, next, 16);
			end = start ? start - 1 : 0;
			if (!start)
				break;
		}
	}
	char text[INET6_ADDRSTRLEN];
	if (inet_ntop(family, cur, text, sizeof text))
		snprintf(out, REC_ADDR_MAX + 1, "%s", text);
}
