/* token_store — the server side of sessions and single-use links.
 *
 * Owns the tables `refresh`, `families` and `invites` (docs/storage.md).
 * A login starts a token family; each refresh token belongs to one family
 * and is spent when it is rotated into its successor. Revoking a family
 * ends every token in it: that is what logout does, and what the caller
 * does when a spent token comes back (reuse detection, actors/auth). An
 * invite or password-reset token is spent once, before it expires.
 *
 * Tokens are never stored: only the SHA-256 of the token string, which is
 * the key, so a copy of the database gives nobody a usable token. The
 * caller makes the token ("<tid>.<random>") and hashes it; the store takes
 * the tenant id and the hash.
 *
 * Calls run inside a store_txn as described in storage/account_store.h;
 * times are passed in (ms since the epoch) so expiry is the caller's clock.
 */
#ifndef PARLEY_TOKEN_STORE_H
#define PARLEY_TOKEN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* ---- refresh tokens and their families ---- */

/* Starts a family (id family, created now) for user uid with its first
 * refresh token; 0, STORE_EEXISTS (family or token exists), STORE_EIO. */
int token_session_start(store_txn *t, uint64_t tid, uint64_t uid, uint64_t family,
			const uint8_t hash[32], int64_t now, int64_t expires_ms);

/* The refresh token with this hash and its family (either may be spent,
 * expired or revoked: the caller decides); 0, STORE_ENOTFOUND (no token or
 * no family), STORE_ECORRUPT, STORE_EIO. */
int token_refresh_get(store_txn *t, uint64_t tid, const uint8_t hash[32], rec_refresh *r,
		      rec_family *f);

/* Spends the live refresh token old and stores next in its family, for its
 * user, until expires_ms; 0, STORE_ENOTFOUND (no such token or family),
 * STORE_ECONFLICT (already spent, expired at now, or family revoked: nothing
 * written), STORE_EEXISTS (next is known), STORE_ECORRUPT, STORE_EIO. */
int token_refresh_rotate(store_txn *t, uint64_t tid, const uint8_t old[32], const uint8_t next[32],
			 int64_t now, int64_t expires_ms);

/* Revokes a family (its tokens are refused from now on); 0 (also when it
 * was revoked already), STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int token_family_revoke(store_txn *t, uint64_t tid, uint64_t family);

/* Revokes every live family of user uid: the number revoked (>= 0) or
 * STORE_EIO. Undecodable families are skipped (they are refused anyway). */
int token_revoke_user(store_txn *t, uint64_t tid, uint64_t uid);

/* ---- invite and password-reset tokens ---- */

/* Stores an unused token (tid, uid, hash, purpose, expires_ms, created_ms
 * from *inv); 0, STORE_EEXISTS (hash known), STORE_ECONFLICT (no tid/uid,
 * unknown purpose), STORE_EIO. */
int token_invite_put(store_txn *t, const rec_invite *inv);

/* The token with this hash, spent or not; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int token_invite_get(store_txn *t, uint64_t tid, const uint8_t hash[32], rec_invite *out);

/* Spends the token with this hash if it is unused and not expired at now,
 * *out its record; 0, STORE_ENOTFOUND, STORE_ECONFLICT (used or expired:
 * nothing written), STORE_ECORRUPT, STORE_EIO. */
int token_invite_spend(store_txn *t, uint64_t tid, const uint8_t hash[32], int64_t now,
		       rec_invite *out);

/* Spends every unused token of user uid (a newer link replaces them): the
 * number spent (>= 0) or STORE_EIO. Undecodable records are skipped. */
int token_invite_revoke_user(store_txn *t, uint64_t tid, uint64_t uid);

/* ---- the prune ---- */

#define TOKEN_PRUNE_CURSOR 41      /* bytes of a prune cursor: table · key */

/* Deletes expired tokens — refresh tokens and invite or reset tokens whose
 * expires_ms <= now (they are refused anyway) — walking `refresh` then
 * `invites` in key order from cursor (*cursor_len bytes; 0: the start) and
 * looking at no more than max rows. cursor and *cursor_len say where the
 * next call goes on; *more is false once both tables were walked to the
 * end. Returns the rows deleted or STORE_EIO. Families are kept (one per
 * login: a family whose tokens are gone is never looked up again). */
int token_prune(store_txn *t, int64_t now, uint8_t cursor[TOKEN_PRUNE_CURSOR], size_t *cursor_len, int max,
		bool *more);

#endif
