/* accounts — tenants and users: creation and lookup inside a caller's
 * write transaction. Used by the server at first start (demo tenant), by
 * the offline `parley` CLI, and by tests. Each check happens before any
 * write, so a refused call leaves the transaction as it was. */
#ifndef PARLEY_ACCOUNTS_H
#define PARLEY_ACCOUNTS_H

#include "core/id.h"
#include "storage/db.h"
#include "storage/records.h"

/* Creates a tenant with a fresh widget key; STORE_EEXISTS if the slug is taken,
 * STORE_ECONFLICT if name/slug are invalid. */
int accounts_create_tenant(db *d, MDB_txn *txn, id_gen *ids, const char *name, const char *slug,
			   const char *origins, rec_tenant *out);

/* Creates a user (email is lower-cased; pw_hash an encoded Argon2id hash);
 * STORE_EEXISTS if the email exists in the tenant, STORE_ECONFLICT if invalid. */
int accounts_create_user(db *d, MDB_txn *txn, id_gen *ids, uint64_t tid, const char *email,
			 const char *pw_hash, const char *role, const char *name, rec_user *out);

/* Finds a tenant by slug; 0 or STORE_ENOTFOUND. */
int accounts_find_tenant(db *d, MDB_txn *txn, const char *slug, rec_tenant *out);

/* Finds a user of a tenant by email; 0 or STORE_ENOTFOUND. */
int accounts_find_user(db *d, MDB_txn *txn, uint64_t tid, const char *email, rec_user *out);

/* Stores a new password hash (and the change time, which revokes tokens
 * issued before it). */
int accounts_set_password(db *d, MDB_txn *txn, rec_user *u, const char *pw_hash);

/* True when at least one tenant exists. */
bool accounts_any_tenant(db *d, MDB_txn *txn);

/* True for a role name we know. */
bool accounts_valid_role(const char *role);

#endif
