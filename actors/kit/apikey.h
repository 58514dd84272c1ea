/* apikey — API keys as callers: the secret's form, and the caller a
 * secret names (kit/auth.c asks for every request that presents one).
 *
 * A secret is "pk_<tenant id>_<32 random bytes, base64url>". The tenant id
 * inside lets the lookup go straight to the tenant; it is never trusted
 * alone: the key is found by the SHA-256 of the whole secret under that
 * tenant (storage/apikey_store.h), so a secret altered to name another
 * tenant matches nothing. The stored record is read on every request, so
 * a revocation or an expiry takes effect at the next request; there is
 * no memo of verified keys.
 *
 * Last use: a key's stored last_used_ms is rewritten at most once per
 * APIKEY_TOUCH_MS. The request that finds it due submits a writer request
 * and goes on without waiting for it; a small table remembers which keys
 * have one in flight, so a burst of requests submits one, and the writer
 * checks the stored time again before it writes (apikey_touch).
 */
#ifndef PARLEY_KIT_APIKEY_H
#define PARLEY_KIT_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "actors/kit/auth.h"
#include "core/crypto.h"
#include "storage/records.h"

struct app;

#define APIKEY_PREFIX "pk_"
#define APIKEY_RAW 32
/* "pk_" + up to 20 digits + "_" + the random part + NUL */
#define APIKEY_SECRET_MAX (3 + 20 + 1 + CRYPTO_B64URL_LEN(APIKEY_RAW) + 1)
#define APIKEY_HINT_LEN 4            /* the secret's last characters kept to tell keys apart */
#define APIKEY_TOUCH_MS 60000        /* last use is written at most this often */

/* True when a bearer token has the form of an API key secret (its
 * prefix): such a token is looked up as a key and never as a JWT. */
bool apikey_is_secret(const char *tok, size_t len);

/* A new secret for tenant tid into out, its SHA-256 and its hint (the last
 * APIKEY_HINT_LEN characters); 0 or -1 (no randomness). */
int apikey_new_secret(uint64_t tid, char out[APIKEY_SECRET_MAX], uint8_t hash[32],
		      char hint[REC_HINT_MAX + 1]);

/* Splits a secret into its tenant id and hashes it; 0, or -1 when it does
 * not have the form. */
int apikey_parse(const char *tok, size_t len, uint64_t *tid, uint8_t hash[32]);

/* The caller a secret names: a live key (not revoked, not expired at now)
 * as a P_APIKEY principal (tenant, key id and name, scope, and the role
 * of its scope); records the use when due. 0, or -1 (malformed, unknown,
 * revoked, expired, storage unavailable). */
int apikey_principal(struct app *a, const char *tok, size_t len, principal *out);

/* ---- the table of keys with a last-use write in flight ---- */

typedef struct keyuse keyuse;

keyuse *keyuse_new(void);
void keyuse_free(keyuse **u_p);

/* True when a use of key (tid, id) at now should be written: the stored
 * last use (0 = never) is APIKEY_TOUCH_MS old or more and no write for it
 * was asked for in the last APIKEY_TOUCH_MS; it then counts as asked.
 * Any thread. */
bool keyuse_due(keyuse *u, uint64_t tid, uint64_t id, int64_t now, int64_t stored_ms);

#endif
