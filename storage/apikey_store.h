/* apikey_store — a tenant's API keys, for server-to-server access.
 *
 * Owns the tables `api_keys` (tid · id → key) and `api_key_hash`
 * (tid · sha256(secret) → id), docs/storage.md. A key is made with its
 * name, scope and optional expiry and is never deleted: revoking it sets
 * a flag, so the list keeps what existed and when it was last used. The
 * secret is never stored, only its SHA-256 (as in token_store.h): the
 * caller makes the secret ("pk_<tid>_<random>"), hashes it and passes the
 * hash, and finds the key again through the same hash under the tenant id
 * the secret names — a secret altered to name another tenant hashes to
 * something that tenant does not hold.
 *
 * Calls run inside a store_txn as described in storage/account_store.h;
 * times are passed in (ms since the epoch) so expiry and the last-use
 * interval are the caller's clock. Whether a key is usable (not revoked,
 * not expired) is the caller's decision: the reads return the record as
 * it is.
 */
#ifndef PARLEY_APIKEY_STORE_H
#define PARLEY_APIKEY_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Stores a new key (every field of *k as given; revoked and last use
 * cleared) and its hash index; 0, STORE_ECONFLICT (no tid or id, a name
 * empty or over REC_NAME_MAX bytes, an unknown scope), STORE_EEXISTS (the
 * id or the hash is known), STORE_EIO. */
int apikey_create(store_txn *t, const rec_apikey *k);

/* The key id of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int apikey_get(store_txn *t, uint64_t tid, uint64_t id, rec_apikey *out);

/* The key of tenant tid whose secret hashes to hash; 0, STORE_ENOTFOUND,
 * STORE_ECORRUPT (the index names a record that is missing, undecodable
 * or holds another hash), STORE_EIO. */
int apikey_by_hash(store_txn *t, uint64_t tid, const uint8_t hash[32], rec_apikey *out);

/* Walk callback: return true to go on, false to stop; k is NULL for a
 * record that does not decode (its id is still given). */
typedef bool (*apikey_fn)(void *ctx, uint64_t id, const rec_apikey *k);

/* Calls fn for the keys of tenant tid with an id above after (0: from the
 * first), in id (creation) order, until it stops; 0 or STORE_EIO. */
int apikey_list(store_txn *t, uint64_t tid, uint64_t after, apikey_fn fn, void *ctx);

/* Revokes key id of tenant tid at now (refused from then on), *out the
 * record after it; a key revoked already stays as it is (0). 0,
 * STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int apikey_revoke(store_txn *t, uint64_t tid, uint64_t id, int64_t now, rec_apikey *out);

/* Records a use of key id at now when the stored last use is at least
 * min_interval_ms before now (so at most one write per interval whoever
 * asks) and the key is not revoked: 1 written, 0 not due, or
 * STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int apikey_touch(store_txn *t, uint64_t tid, uint64_t id, int64_t now, int64_t min_interval_ms);

#endif
