/* auth — who is calling: token issue/verify, principals, login rate limits.
 *
 * Access tokens (agents) and visitor tokens are HS256 JWTs signed with the
 * server key (meta table). Audiences keep them apart: "parley-api" for
 * access tokens, "parley-widget" for visitor tokens; issuer "parley".
 * Refresh tokens are opaque ("<tenant>.<random>"), stored hashed
 * (SHA-256) with a family id: refreshing spends the old token and issues a
 * new one in the same family; presenting a spent token revokes the family.
 * REST requests reuse the claims of a token verified before on the same I/O
 * thread (actors/kit/tokmemo.h); the stored-state checks run every time.
 * REST routes also take API keys (kit/apikey.h) where access tokens go;
 * the WebSocket's auth frame does not (auth_access takes tokens only).
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "net/http.h"

struct app;

#define AUTH_ISS "parley"
#define AUTH_AUD_API "parley-api"
#define AUTH_AUD_WIDGET "parley-widget"

/* P_APIKEY: an API key of the tenant (kit/apikey.h), acting with the role
 * of its scope; id and name are the key's, not a user's. */
enum principal_kind { P_NONE = 0, P_AGENT, P_VISITOR, P_APIKEY };

typedef struct {
	uint8_t kind;                    /* enum principal_kind */
	uint8_t scope;                   /* API keys: enum apikey_scope */
	uint64_t tid, id;
	char role[REC_ROLE_MAX + 1];     /* agents: owner | admin | supervisor | agent; keys: their scope's role */
	char name[REC_NAME_MAX + 1];
	int64_t issued_ms;               /* agents: when their access token was issued */
	char addr[REC_ADDR_MAX + 1];     /* where the call came from: the peer, or X-Forwarded-For
					  * from a trusted proxy (audit log); "" if unknown */
} principal;

/* True for a caller on the tenant's side of a conversation: a user, or an
 * API key (whose messages are sent as an agent with the key's name). */
static inline bool principal_is_staff(const principal *p)
{
	return p->kind == P_AGENT || p->kind == P_APIKEY;
}

/* Verifies an access token (checking the user still exists and is active);
 * 0 or -1. */
int auth_access(struct app *a, const char *tok, size_t len, principal *out);

/* Re-checks an agent principal against the stored user (exists, active, no
 * password change since issued_ms) and refreshes role and name; 0 or -1. */
int auth_current(struct app *a, principal *p);

/* Verifies a visitor token; 0 or -1. */
int auth_visitor(struct app *a, const char *tok, size_t len, principal *out);

/* From "Authorization: Bearer": answers 401 itself and returns -1 on
 * failure. For agents the bearer is an access token, or the secret of a
 * live API key (kit/apikey.h), which gives a P_APIKEY principal. */
int auth_require_agent(struct app *a, http_req *req, principal *out);
int auth_require_visitor(struct app *a, http_req *req, principal *out);

/* Issues tokens (malloc'ed strings; NULL on failure). */
char *auth_issue_access(struct app *a, const rec_user *u);
char *auth_issue_visitor(struct app *a, uint64_t tid, uint64_t vid);

/* ---- the caller's address ---- */

/* The proxies whose X-Forwarded-For is believed (--trusted-proxies). */
typedef struct auth_proxies auth_proxies;

/* Parses a comma-separated list of IP addresses and CIDRs
 * ("10.0.0.0/8, 2001:db8::1"; "" = none); NULL with a sentence in why on a
 * malformed entry. */
auth_proxies *auth_proxies_new(const char *list, char *why, size_t why_len);
void auth_proxies_free(auth_proxies **p);

/* True when the address text (IPv4 or IPv6) is in the list. */
bool auth_proxy_trusted(const auth_proxies *p, const char *addr);

/* Where a request came from, as text (at most REC_ADDR_MAX bytes; "" when
 * unknown, e.g. a Unix socket): the peer's address; when the peer is a
 * trusted proxy, X-Forwarded-For is read from its right end, each entry
 * added by a trusted proxy skipped, and the first address a trusted proxy
 * did not add is the caller (entries further left were written by the
 * client and prove nothing). Called for every authenticated request
 * (principal.addr). */
void auth_peer_addr(struct app *a, http_req *req, char out[REC_ADDR_MAX + 1]);

/* ---- login rate limiting (failures per key in a sliding window) ---- */

typedef struct ratelimit ratelimit;

ratelimit *ratelimit_new(int max_failures, int window_s);
void ratelimit_free(ratelimit **r_p);

/* Seconds until key may try again (0 = allowed now). */
int ratelimit_check(ratelimit *r, const char *key, int64_t now_ms);

/* Records a failure for key. */
void ratelimit_fail(ratelimit *r, const char *key, int64_t now_ms);

/* Clears key after a success. */
void ratelimit_clear(ratelimit *r, const char *key);

#endif
