/* alert_store — alerts for the tenant's supervisors (DB_ALERTS;
 * docs/storage.md, "Alert store").
 *
 * Keys: tid · id → alert (id = at_ms << 16 | n, above the tenant's last:
 * key order is time order); tid · kind (1 B) · subject · breach → "" marks
 * a condition already alerted (a conversation's wait since a given time, a
 * department without agents on a given local day), so each breach raises
 * one alert however often it is checked.
 */
#ifndef PARLEY_ALERT_STORE_H
#define PARLEY_ALERT_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Appends a (its id set here); with a marker (subject, breach), only when
 * that marker is absent, and then sets it: returns 0 (written), 1 (already
 * alerted: nothing written) or a store code. */
int alertstore_raise(store_txn *t, rec_alert *a, bool marked, uint64_t subject, int64_t breach);

typedef struct {
	int kind;                 /* -1: any */
	uint64_t before;          /* cursor: ids below it (0: from the newest) */
	int64_t from_ms, to_ms;   /* 0: open */
	uint64_t dept_id, agent_id, cid;   /* 0: any */
	size_t max_scan;          /* rows examined at most (0: no limit) */
} alertstore_filter;

typedef bool (*alertstore_fn)(void *ctx, const rec_alert *a);

/* Calls fn newest first for the alerts of tid passing f until it stops;
 * *next: the id to pass as before for the next page (0: no more). */
int alertstore_each(store_txn *t, uint64_t tid, const alertstore_filter *f, alertstore_fn fn, void *ctx,
		    uint64_t *next);

#endif
