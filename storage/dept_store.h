/* dept_store — a tenant's departments and their member agents.
 *
 * Owns the tables `depts` (tid · did → department), `dept_members`
 * (tid · did · uid → "") and `agent_depts` (tid · uid · did → ""), see
 * docs/storage.md. The two member tables hold the same pairs, one by
 * department and one by agent; every call here that changes one changes
 * the other in the same transaction, so they never disagree.
 *
 * Calls run inside a store_txn (storage/store.h): read snapshots on any
 * thread, writes in the writer's transaction (or the CLI's / first run's).
 * Which values are acceptable (slug form, hours, time zone, SLA order) is
 * the caller's check; the store refuses only what would break its own
 * rules: a missing tenant or id, an empty name or slug, or a slug another
 * department of the tenant holds.
 */
#ifndef PARLEY_DEPT_STORE_H
#define PARLEY_DEPT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Departments a tenant may hold; members a department may hold. */
#define DEPTSTORE_MAX 200
#define DEPTSTORE_MEMBERS_MAX 1000

/* Department did of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int deptstore_get(store_txn *t, uint64_t tid, uint64_t did, rec_dept *out);

/* The tenant's default department (is_default); 0, STORE_ENOTFOUND (no
 * departments yet), STORE_ECORRUPT, STORE_EIO. */
int deptstore_default(store_txn *t, uint64_t tid, rec_dept *out);

/* Walk callback: true to go on, false to stop. */
typedef bool (*deptstore_fn)(void *ctx, const rec_dept *d);

/* Calls fn for the tenant's departments in sort_order, then id, until it
 * stops; 0, STORE_ECORRUPT, STORE_ENOMEM, STORE_EIO. */
int deptstore_each(store_txn *t, uint64_t tid, deptstore_fn fn, void *ctx);

/* Stores *d (new or replacing the record with its id); 0, STORE_ECONFLICT
 * (no tid or id, name or slug empty or without its NUL), STORE_EEXISTS
 * (another department of the tenant has the slug), STORE_EIO. */
int deptstore_put(store_txn *t, const rec_dept *d);

/* Deletes department did of tenant tid and its member rows (in both
 * tables); 0, STORE_ENOTFOUND, STORE_EIO. */
int deptstore_del(store_txn *t, uint64_t tid, uint64_t did);

typedef bool (*deptstore_id_fn)(void *ctx, uint64_t id);

/* 0 when uid is a member of did, STORE_ENOTFOUND when not, STORE_EIO. */
int deptstore_is_member(store_txn *t, uint64_t tid, uint64_t did, uint64_t uid);

/* The member user ids of did in id order; 0 or STORE_EIO. */
int deptstore_each_member(store_txn *t, uint64_t tid, uint64_t did, deptstore_id_fn fn, void *ctx);

/* The department ids agent uid is a member of, in id order; 0 or STORE_EIO. */
int deptstore_each_of_agent(store_txn *t, uint64_t tid, uint64_t uid, deptstore_id_fn fn, void *ctx);

/* Makes uids[0..n) the members of did (duplicates and zeros ignored;
 * members not listed are removed from both tables); 0, STORE_ENOTFOUND
 * (no such department), STORE_ELIMIT (n over DEPTSTORE_MEMBERS_MAX),
 * STORE_ENOMEM, STORE_EIO. Whether the ids name active users of the
 * tenant is the caller's check. */
int deptstore_set_members(store_txn *t, uint64_t tid, uint64_t did, const uint64_t *uids, size_t n);

/* Removes user uid from every department of the tenant; 0 or STORE_EIO. */
int deptstore_drop_agent(store_txn *t, uint64_t tid, uint64_t uid);

/* Gives a tenant without departments the four a new tenant starts with:
 * general (the default), sales, technical and billing, active, routing
 * round_robin, SLA 60 s / 180 s, always open, time zone the tenant's (UTC
 * when unknown); ids ((now_ms << 16) | 1..4). A tenant that has any
 * department is left as it is. 1 when seeded, 0 when left, or
 * STORE_ECORRUPT, STORE_EIO. */
int deptstore_seed(store_txn *t, uint64_t tid, int64_t now_ms);

/* deptstore_seed for every tenant: the number of tenants seeded (>= 0) or
 * a store code. The upgrade step on the first open of a data directory
 * written before departments existed. */
int deptstore_seed_all(store_txn *t, int64_t now_ms);

/* The upgrade step of the first start of a version with departments:
 * deptstore_seed_all, once per data directory (a mark in the meta table,
 * "depts", says it ran). The number of tenants seeded, 0 when it had run,
 * or a store code. */
int deptstore_upgrade(store_txn *t, int64_t now_ms);

/* The department a conversation shows: did itself, or for 0 (records
 * written before departments) the id of the tenant's default; 0 when the
 * tenant has none. Read errors give 0 too (a view, not a decision). */
uint64_t deptstore_resolve(store_txn *t, uint64_t tid, uint64_t did);

#endif
