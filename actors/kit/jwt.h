/* jwt — HS256 JSON Web Tokens for access tokens and visitor tokens.
 *
 * Only HS256 is accepted: the header's "alg" must be exactly "HS256" (so
 * "none", "HS512", "RS256"... are refused) and "typ", when present, "JWT".
 * Signatures are compared in constant time. Claims checked on verify: exp
 * (required, must be in the future), iat (required, not in the future beyond
 * 60 s of skew), iss (must equal the expected issuer), aud (must equal the
 * expected audience). Tokens longer than JWT_MAX_LEN are refused.
 */
#ifndef PARLEY_JWT_H
#define PARLEY_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define JWT_MAX_LEN 4096
/* tokens issued further than this in the future are refused (clock skew) */
#define JWT_IAT_SKEW_S 60

enum {
	JWT_OK        = 0,
	JWT_EFORMAT   = -101, /* not three base64url parts, bad JSON, too long */
	JWT_EALG      = -102, /* alg is not HS256 */
	JWT_ESIG      = -103, /* signature mismatch */
	JWT_EEXPIRED  = -104, /* exp in the past or missing */
	JWT_EIAT      = -105, /* iat missing or in the future */
	JWT_EISS      = -106, /* wrong issuer */
	JWT_EAUD      = -107, /* wrong audience */
	JWT_ENOMEM    = -108,
};

/* Signs claims (a JSON object, or NULL for none; iss, aud, iat and exp are
 * set here from the arguments, overwriting any present) and returns a
 * malloc'ed token string, or NULL (bad arguments, empty key, out of memory,
 * or a token that would exceed JWT_MAX_LEN). ttl_s is the lifetime in
 * seconds from now_s. */
char *jwt_sign(const json_t *claims, const uint8_t *key, size_t key_len,
	       const char *iss, const char *aud, int64_t now_s, int64_t ttl_s);

/* Verifies a token (len bytes; need not be NUL-terminated; '=' padding is
 * refused) and, on JWT_OK, stores its claims (new reference) in *claims_out
 * (may be NULL); otherwise *claims_out is set to NULL. now_s is the current
 * time in seconds. */
int jwt_verify(const char *token, size_t len, const uint8_t *key, size_t key_len,
	       const char *iss, const char *aud, int64_t now_s, json_t **claims_out);

/* Human-readable message for a JWT_* code. */
const char *jwt_strerror(int rc);

#endif
