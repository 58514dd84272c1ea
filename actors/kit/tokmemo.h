/* tokmemo — verified bearer tokens, remembered per I/O thread.
 *
 * Verifying an HS256 token costs a SHA-256 HMAC, base64 decoding and a JSON
 * parse, and clients send the same token with every request. A token whose
 * bytes equal those of one verified earlier carries the same claims, so they
 * are reused until the token's expiry. Only the signature and claim checks
 * are skipped: the checks against stored state (the user still active and
 * without a password change, the visitor still existing) run on every
 * request. Tokens are compared in constant time.
 *
 * One direct-mapped table per I/O thread (no locks); a colliding token
 * replaces the entry. Tokens are kept inline in the table, so a memo
 * holds slots × (max_tok + ~64) bytes per thread, allocated once. The signing key must not change while a memo lives.
 */
#ifndef PARLEY_TOKMEMO_H
#define PARLEY_TOKMEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint64_t tid, sub;
	int64_t issued_ms;        /* iat_ms, or iat * 1000 */
	int64_t iat_s, exp_s;
	uint8_t aud;              /* caller's audience tag */
} tm_claims;

typedef struct tokmemo tokmemo;

/* nthreads tables of `slots` entries (rounded up to a power of two);
 * tokens longer than max_tok are not kept. NULL on allocation failure. */
tokmemo *tm_new(int nthreads, size_t slots, size_t max_tok);
void tm_free(tokmemo **m_p);

/* The claims of tok when it was verified before for audience aud, has not
 * expired at now_s and was not issued more than max_skew_s after now_s (the
 * wall clock may have stepped back since); thread only. */
bool tm_get(tokmemo *m, int thread, const char *tok, size_t len, uint8_t aud, int64_t now_s,
	    int64_t max_skew_s, tm_claims *out);

/* Remembers the claims of a verified token (thread only). */
void tm_put(tokmemo *m, int thread, const char *tok, size_t len, const tm_claims *c);

#endif
