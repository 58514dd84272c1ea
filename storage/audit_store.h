/* audit_store — a tenant's audit log: who did what to which record, when,
 * from which address.
 *
 * Owns the table `audit` (tid · id → audit row), docs/storage.md. Rows are
 * appended, never changed; the only removal is the retention prune. The
 * id orders the log by time: id = at_ms << 16 | n, n counting the rows of
 * that millisecond, and always greater than the tenant's last id (a row
 * appended when the clock reads earlier than the last one, or the 65,537th
 * of a millisecond, takes the last id + 1), so at_ms <= id >> 16 and key
 * order is append order. Readers walk it newest first.
 *
 * Calls run inside a store_txn (storage/store.h); appends and prunes in a
 * write transaction: the appends in the same one as the change they
 * record.
 */
#ifndef PARLEY_AUDIT_STORE_H
#define PARLEY_AUDIT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Appends *row to the log of row->tid, setting row->id as above; 0,
 * STORE_ECONFLICT (no tid, an empty action, a string field without its
 * NUL), STORE_EIO. */
int auditstore_append(store_txn *t, rec_audit *row);

/* Which rows a walk returns. Zero / NULL fields do not filter. */
typedef struct {
	uint64_t actor_id;          /* rows of this actor */
	const char *action;         /* exactly this action ("user.role") */
	const char *record_type;    /* rows about records of this type … */
	uint64_t record_id;         /* … and this id (0: any id) */
	int64_t from_ms, to_ms;     /* at_ms >= from_ms, at_ms <= to_ms (to_ms 0: no bound) */
	uint64_t before;            /* the cursor: rows with an id below it (0: from the newest) */
	size_t max_scan;            /* rows examined at most (0: no bound), so a filter
	                               matching nothing costs a bounded walk */
} auditstore_filter;

typedef bool (*auditstore_fn)(void *ctx, const rec_audit *row);

/* Calls fn for the rows of tenant tid that pass f, newest first, until fn
 * returns false, max_scan rows were examined or the log's oldest row was
 * passed. *next (may be NULL) is the cursor to go on with (f->before of
 * the next walk): the id of the last row examined, or 0 when no older
 * rows remain. A row within the time range is found as long as its id's
 * time is not after to_ms (see above: only the 65,537th row of a
 * millisecond or a clock set back breaks that). 0, STORE_ECORRUPT, STORE_EIO. */
int auditstore_each(store_txn *t, uint64_t tid, const auditstore_filter *f, auditstore_fn fn, void *ctx,
		    uint64_t *next);

/* Deletes, across all tenants, up to max_rows rows whose id's time is
 * before before_ms (oldest first per tenant); the number deleted (>= 0;
 * equal to max_rows: call again) or STORE_EIO. */
int auditstore_prune(store_txn *t, int64_t before_ms, size_t max_rows);

#endif
