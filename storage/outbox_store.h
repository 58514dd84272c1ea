/* outbox_store — the durable outbox: work for the outside world (webhook
 * deliveries, and emails through the same tables), the tenants' webhook
 * endpoints, the delivery log and each tenant's figures.
 *
 * Owns the tables webhooks, outbox, outbox_log and outbox_counts
 * (docs/storage.md). An entry is added in the write transaction of the
 * event that causes it, so both commit or neither does; whoever delivers
 * it reads it back, and removes it in a later transaction once it is done
 * (delivered, or given up past the horizon), writing a log row for every
 * attempt. The store keeps the tenant's count of entries beside them in
 * the same transactions, which is what the per-tenant quota is checked
 * against: a full outbox refuses a new entry with nothing written.
 *
 * Entries are generic: `kind` says who delivers one (enum outbox_kind) and
 * `target` what it goes to (an endpoint id for a webhook); the store does
 * not look inside the payload.
 *
 * Every call runs inside a store_txn (storage/store.h); writes need the
 * write transaction and check before they write, so a refused call leaves
 * it as it was. Payloads reach callers as views (rec_bytes) into the stored
 * values: valid for the transaction, or for a walk's callback.
 */
#ifndef PARLEY_OUTBOX_STORE_H
#define PARLEY_OUTBOX_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Walk callbacks: return true to go on, false to stop. The record is NULL
 * when the stored value does not decode (its id is still given). */
typedef bool (*outbox_webhook_fn)(void *ctx, uint64_t tid, uint64_t id, const rec_webhook *w);
typedef bool (*outbox_entry_fn)(void *ctx, uint64_t tid, uint64_t id, const rec_outbox *e);
typedef bool (*outbox_log_fn)(void *ctx, uint64_t id, const rec_outbox_log *r);

/* ---- webhook endpoints ---- */

/* Stores endpoint w (new or changed) under w->tid / w->id; 0,
 * STORE_ECONFLICT (no ids, or no URL), STORE_EIO. */
int outbox_webhook_put(store_txn *t, const rec_webhook *w);

/* The endpoint id of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int outbox_webhook_get(store_txn *t, uint64_t tid, uint64_t id, rec_webhook *out);

/* Deletes the endpoint and the tenant's webhook entries for it (counted in
 * *removed when not NULL); 0, STORE_ENOTFOUND (no such endpoint, nothing
 * written), STORE_ENOMEM, STORE_EIO. */
int outbox_webhook_del(store_txn *t, uint64_t tid, uint64_t id, uint64_t *removed);

/* Calls fn for the endpoints of tenant tid in id order, or of every tenant
 * (tenant, then id order) when tid is 0; 0 or STORE_EIO. */
int outbox_webhook_each(store_txn *t, uint64_t tid, outbox_webhook_fn fn, void *ctx);

/* ---- entries ---- */

/* Adds entry e under e->tid / e->id unless the tenant already holds quota
 * entries (0: no limit); 0, STORE_ELIMIT (full: nothing written),
 * STORE_EEXISTS (the id is taken), STORE_ECONFLICT (no ids), STORE_EIO. */
int outbox_add(store_txn *t, const rec_outbox *e, uint64_t quota);

/* The entry id of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int outbox_get(store_txn *t, uint64_t tid, uint64_t id, rec_outbox *out);

/* Stores the delivery state of a stored entry — attempts, next_attempt_ms,
 * last_status, last_error — from e (its kind, target, event, ids and
 * payload stay as stored); 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int outbox_retry(store_txn *t, const rec_outbox *e);

/* Removes the entry (done with); 0, STORE_ENOTFOUND (nothing written), STORE_EIO. */
int outbox_remove(store_txn *t, uint64_t tid, uint64_t id);

/* Calls fn for the entries of tenant tid, or of every tenant when tid is
 * 0, oldest first (tenant, then id order); 0 or STORE_EIO. */
int outbox_each(store_txn *t, uint64_t tid, outbox_entry_fn fn, void *ctx);

/* Calls fn for the entries of tenant tid with ids below `below` (0: from
 * the newest), newest first; 0 or STORE_EIO. */
int outbox_each_back(store_txn *t, uint64_t tid, uint64_t below, outbox_entry_fn fn, void *ctx);

/* ---- figures ---- */

/* The tenant's figures (all zero when it has none yet); 0, STORE_ECORRUPT, STORE_EIO. */
int outbox_count(store_txn *t, uint64_t tid, rec_outbox_count *out);

/* Counts an entry dropped over the quota. *alert becomes true when no drop
 * alert was noted within alert_every_ms before now — the caller then writes
 * one to the log — and the time is noted; 0, STORE_ECORRUPT, STORE_EIO. */
int outbox_note_drop(store_txn *t, uint64_t tid, int64_t now, int64_t alert_every_ms, bool *alert);

/* ---- the delivery log ---- */

/* Appends row r under r->tid / r->id, then removes the tenant's oldest rows
 * beyond keep (0: keep all); 0, STORE_ECONFLICT (no ids), STORE_EIO. */
int outbox_log_append(store_txn *t, const rec_outbox_log *r, uint64_t keep);

/* The row id of tenant tid; 0, STORE_ENOTFOUND, STORE_ECORRUPT, STORE_EIO. */
int outbox_log_get(store_txn *t, uint64_t tid, uint64_t id, rec_outbox_log *out);

/* Calls fn for the rows of tenant tid with ids below `below` (0: from the
 * newest), newest first; 0 or STORE_EIO. */
int outbox_log_each(store_txn *t, uint64_t tid, uint64_t below, outbox_log_fn fn, void *ctx);

#endif
