/* account_store — tenants, their users and visitors, and the server's own
 * settings (meta).
 *
 * Owns the tables `meta`, `tenants`, `tenant_slug`, `widget_keys`, `users`,
 * `user_email` and `visitors` (docs/storage.md): their keys, the global
 * lookups that lead from a public handle (slug, widget key, email) to a
 * tenant, and the rules that keep them consistent — a slug, a widget key
 * and an email within a tenant each name one record, the email index
 * follows a user's email, and a tenant keeps at least one active owner.
 * A tenant's email settings (`email`) live here too.
 * Callers say what they want and never see a key.
 *
 * Every call runs inside a store_txn (storage/store.h): reads in a read
 * snapshot (store_read, any thread) or the write transaction; writes in a
 * wr_req's apply on the writer thread, or in store_write/store_commit for
 * the offline CLI and the first-run seed. A write checks everything before
 * it writes, so a refused call leaves the transaction as it was.
 */
#ifndef PARLEY_ACCOUNT_STORE_H
#define PARLEY_ACCOUNT_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "core/id.h"
#include "storage/records.h"
#include "storage/store.h"

/* ---- meta ---- */

/* The token-signing key; when there is none and t writes, a random one is
 * stored with the schema version. 0, STORE_ENOTFOUND (none, read snapshot),
 * STORE_ECORRUPT (not 32 bytes), STORE_EIO. */
int account_signing_key(store_txn *t, uint8_t key[32]);

/* The schema version recorded in meta (> 0), STORE_ENOTFOUND, STORE_ECORRUPT or STORE_EIO. */
int account_schema_version(store_txn *t);

/* ---- tenants ---- */

/* Creates a tenant with a fresh widget key and the v2 defaults; 0, STORE_EEXISTS
 * (slug taken), STORE_ECONFLICT (name/slug/origins invalid), STORE_EIO. */
int account_tenant_create(store_txn *t, id_gen *ids, const char *name, const char *slug,
			  const char *origins, rec_tenant *out);

/* The tenant with id tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int account_tenant_get(store_txn *t, uint64_t tid, rec_tenant *out);

/* The tenant with this slug; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int account_tenant_by_slug(store_txn *t, const char *slug, rec_tenant *out);

/* The tenant with this widget key; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int account_tenant_by_key(store_txn *t, const char *widget_key, rec_tenant *out);

/* Stores r's settings (name, origins, widget_color "#rrggbb", greeting,
 * widget_position "right"/"left", timezone as an IANA name, auto_close_s; the pre-chat form,
 * transcript_on_close, rating_window_s) on tenant r->id;
 * slug, widget key and created_ms stay as stored and *r is refreshed from
 * the result. 0, STORE_ENOTFOUND, STORE_ECONFLICT (invalid value), STORE_EIO. */
int account_tenant_update(store_txn *t, rec_tenant *r);

/* Sets the tracking fields of tenant tid (tracking_off, keep_query,
 * pageview_keep_days, identity_secret) to those of *from, leaving the rest
 * as stored; *out is the tenant after. 0, STORE_ENOTFOUND, STORE_ECONFLICT
 * (a secret without its NUL), STORE_EIO. */
int account_tenant_tracking(store_txn *t, uint64_t tid, const rec_tenant *from, rec_tenant *out);

/* 1 when at least one tenant exists, 0 when none, or STORE_EIO. */
int account_tenant_any(store_txn *t);

/* Calls fn with every tenant's id, in id order, until it returns false;
 * 0 or STORE_EIO. */
typedef bool (*account_tenant_fn)(void *ctx, uint64_t tid);
int account_tenant_each(store_txn *t, account_tenant_fn fn, void *ctx);

/* ---- email settings ---- */

/* The email settings of tenant tid; 0, STORE_ENOTFOUND (never set),
 * STORE_ECORRUPT, STORE_EIO. */
int account_email_get(store_txn *t, uint64_t tid, rec_email *out);

/* Stores r as tenant r->tid's email settings (updated_ms becomes now):
 * host empty or a DNS name / IP address, port 1..65535, a known security,
 * addresses empty or name@domain without spaces; the password is stored
 * as given (sealed by the caller). 0, STORE_ECONFLICT (invalid value, no
 * such tenant), STORE_EIO. */
int account_email_put(store_txn *t, rec_email *r);

/* A host name SMTP may be given: a DNS name (letters, digits, '-' in
 * labels of 1..63, at most 253 bytes) or an IPv4 / IPv6 address. */
bool account_email_host_ok(const char *host);

/* An address kept in the settings: local@domain, at most 254 bytes, the
 * domain a host name; no white space, control characters or any of
 * <>()[],;:\" (it goes into SMTP commands and message headers as is). */
bool account_email_address_ok(const char *addr);

/* ---- users ---- */

/* True for a role we know: owner, admin, supervisor, agent. */
bool account_valid_role(const char *role);

/* Creates an active user (email lower-cased; name defaults to the email;
 * pw_hash an encoded Argon2id hash, "" for none yet); 0, STORE_EEXISTS (email
 * taken in the tenant), STORE_ECONFLICT (invalid value, no such tenant), STORE_EIO. */
int account_user_create(store_txn *t, id_gen *ids, uint64_t tid, const char *email,
			const char *pw_hash, const char *role, const char *name, rec_user *out);

/* The user uid of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int account_user_get(store_txn *t, uint64_t tid, uint64_t uid, rec_user *out);

/* The user of tenant tid with this email (any case); 0, STORE_ENOTFOUND,
 * STORE_ECORRUPT, STORE_EIO. */
int account_user_by_email(store_txn *t, uint64_t tid, const char *email, rec_user *out);

/* The users with this email (any case) in every tenant, or only in tenant
 * tid when tid is not 0, in tenant-id order, at most max into out: the
 * number found (>= 0) or STORE_EIO. Undecodable records are skipped. */
int account_users_by_email(store_txn *t, const char *email, uint64_t tid, rec_user *out, int max);

/* Walk callback: return true to go on, false to stop; u is NULL for a
 * record that does not decode (its id is still given). */
typedef bool (*account_user_fn)(void *ctx, uint64_t uid, const rec_user *u);

/* Calls fn for the users of tenant tid with an id above after (0: from the
 * first), in id order, until it stops; 0 or STORE_EIO. */
int account_user_list(store_txn *t, uint64_t tid, uint64_t after, account_user_fn fn, void *ctx);

/* The number of active owners of tenant tid (>= 0) or STORE_EIO. */
int account_owner_count(store_txn *t, uint64_t tid);

/* Stores u's email, name, role, active, title, avatar_url (empty or an
 * http(s) URL), pw_hash and pw_changed_ms over user u->tid/u->id, moving
 * the email index with the email. pw_changed_ms never goes back and becomes
 * now when pw_hash changes; deactivated_ms becomes now when active is
 * cleared and 0 when it is set again; id, tid and created_ms stay as stored;
 * *u is refreshed from the result. 0, STORE_ENOTFOUND, STORE_ECONFLICT (invalid
 * value), STORE_EEXISTS (email taken in the tenant), STORE_ELIMIT (the tenant
 * would be left without an active owner), STORE_ECORRUPT, STORE_EIO. */
int account_user_update(store_txn *t, rec_user *u);

/* Stores a new password hash on *u and sets pw_changed_ms to now (tokens
 * issued before it are refused); 0, STORE_ENOTFOUND, STORE_ECONFLICT, STORE_EIO. */
int account_user_set_password(store_txn *t, rec_user *u, const char *pw_hash);

/* The most concurrent conversations an agent may be given. */
#define ACCOUNT_MAX_CHATS 100

/* Stores user uid's capacity (max_chats, 0 = the server's default, at
 * most ACCOUNT_MAX_CHATS) and the user after it into *out (may be NULL);
 * 0, STORE_ENOTFOUND, STORE_ECONFLICT (over the most), STORE_ECORRUPT,
 * STORE_EIO. */
int account_user_set_max_chats(store_txn *t, uint64_t tid, uint64_t uid, uint64_t max_chats, rec_user *out);

/* ---- visitors ---- */

/* Stores a visitor (new or changed), keyed by v->tid/v->id; 0, STORE_ECONFLICT
 * (no ids), STORE_EIO. */
int account_visitor_put(store_txn *t, const rec_visitor *v);

/* The visitor vid of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int account_visitor_get(store_txn *t, uint64_t tid, uint64_t vid, rec_visitor *out);

#endif
