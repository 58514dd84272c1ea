/* rollup_store — the analytics rollups (DB_ROLLUPS; docs/storage.md,
 * docs/analytics.md).
 *
 * Counters per tenant × UTC bucket × department × agent, kept three ways
 * so a query reads at most a few hundred keys whatever the range: the
 * tenant's totals, per department, per agent, per (department, agent);
 * each in three granularities, 15 minutes, 1 hour and 1 UTC day (a range
 * is read as whole days in its middle, whole hours next to them, quarter
 * hours at its edges: every time zone's day boundary, +5:30 and +5:45
 * included, falls on a quarter hour).
 *
 * Figures are derived from the stored events of each conversation by one
 * function (rollup_conv_changed), on the writer thread inside the
 * transaction that stores them: it keeps a small state row per
 * conversation (the last event it counted, the status, department and
 * assignee it saw, when the first response is awaited, the receipt
 * watermarks it counted) and counts every event after the last one, so
 * it does not matter which write carried them. The rebuild
 * (rollup_rebuild) runs the same function over every conversation's
 * events from the start.
 *
 * Delivered and read counts and offline conversations are the exception:
 * a receipt is a watermark in the conversation record and the offline flag
 * a field of it, not stored events, so when they happened exists only in
 * the rollups; the rebuild keeps those counters as they are and recomputes
 * everything else.
 */
#ifndef PARLEY_ROLLUP_STORE_H
#define PARLEY_ROLLUP_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

/* Message kinds counted. */
enum rollup_mkind { RK_TEXT = 0, RK_FILE, RK_NOTE, RK_SYSTEM, RK__COUNT };

/* Histogram of durations (first response, resolution): bucket i holds
 * values < rollup_hist_bounds[i] seconds; the last is unbounded. */
#define ROLLUP_HIST_N 18
extern const uint32_t rollup_hist_bounds[ROLLUP_HIST_N - 1];

/* The figures of one key. */
enum rollup_metric {
	RM_CREATED = 0,
	RM_RESOLVED,      /* entered resolved (from an unfinished status) */
	RM_CLOSED,        /* entered closed (from resolved or unfinished) */
	RM_REOPENED,
	RM_TRANSFERRED,
	RM_ASSIGNED,      /* assigned to an agent (the agent's "handled") */
	RM_OFFLINE,       /* went offline: waiting while nobody could take it (kept by the rebuild) */
	RM_MISSED,        /* finished with no agent message since created or reopened */
	RM_MSG,           /* [sender_type 3][rollup_mkind 4]: counts */
	RM_MSG_LEN = RM_MSG + ST__COUNT * RK__COUNT,   /* same: total text length, bytes */
	RM_FRT_SUM = RM_MSG_LEN + ST__COUNT * RK__COUNT, /* first response, seconds */
	RM_FRT_N,
	RM_RES_SUM,       /* resolution time (created to finished), seconds */
	RM_RES_N,
	RM_WAIT_SUM,      /* waiting before assignment, seconds */
	RM_WAIT_N,
	RM_RATING,        /* [5]: ratings with score 1..5 */
	RM_VDELIVERED = RM_RATING + 5,   /* agent messages the visitor's receipts passed */
	RM_VREAD,
	RM_ADELIVERED,    /* visitor messages the agents' receipts passed */
	RM_AREAD,
	RM_FRT_HIST,      /* [ROLLUP_HIST_N] */
	RM_RES_HIST = RM_FRT_HIST + ROLLUP_HIST_N,
	RM__COUNT = RM_RES_HIST + ROLLUP_HIST_N
};

typedef struct {
	uint64_t v[RM__COUNT];
} rollup_vec;

/* What a key totals. */
enum rollup_scope { RS_TENANT = 0, RS_DEPT, RS_AGENT, RS_DEPT_AGENT, RS__COUNT };

/* The state row's and the key's granularities. */
enum rollup_gran { RG_QUARTER = 0, RG_HOUR, RG_DAY, RG__COUNT };

/* Counts what conversation c's stored events after the last counted one
 * add, and what its receipt watermarks passed (in the bucket of at_ms);
 * writer thread, inside the transaction that stored them. 0 or a store
 * code. */
int rollup_conv_changed(store_txn *t, const rec_conv *c, int64_t at_ms);

/* The same, given events of the write at hand (known, nknown; any order):
 * when they are exactly the ones after the last counted, they are counted
 * as given, without reading them back. */
int rollup_conv_changed_with(store_txn *t, const rec_conv *c, int64_t at_ms, const rec_event *const *known,
			     int nknown);

/* Sums the figures of (dept, agent) — 0: all — over [from_ms, to_ms)
 * (both multiples of 15 minutes) into *out (zeroed first). 0 or a store code. */
int rollup_sum(store_txn *t, uint64_t tid, uint64_t dept, uint64_t agent, int64_t from_ms, int64_t to_ms,
	       rollup_vec *out);

/* Calls fn for each department (by_agent false) or agent (true) with
 * figures over [from_ms, to_ms), restricted to department dept or agent
 * agent when not 0; ids ascending. 0 or a store code. */
typedef bool (*rollup_each_fn)(void *ctx, uint64_t id, const rollup_vec *v);
int rollup_each(store_txn *t, uint64_t tid, bool by_agent, uint64_t dept, uint64_t agent, int64_t from_ms,
		int64_t to_ms, rollup_each_fn fn, void *ctx);

/* Calls fn for each bucket of granularity gran (enum rollup_gran) with
 * figures of (dept, agent) — 0: all — in [from_ms, to_ms) (multiples of
 * the granularity), oldest first, in one pass; buckets without figures
 * are skipped. 0 or a store code. */
typedef bool (*rollup_bucket_fn)(void *ctx, int64_t start_ms, const rollup_vec *v);
int rollup_series(store_txn *t, uint64_t tid, uint64_t dept, uint64_t agent, int gran, int64_t from_ms,
		  int64_t to_ms, rollup_bucket_fn fn, void *ctx);

/* Recomputes every rollup from the stored events (offline; one write
 * transaction); delivered and read counts are kept. Returns the number of
 * conversations replayed, or a store code. */
long rollup_rebuild(store_txn *t);

/* Calls fn for every rollup key and its figures (the rebuild test, the
 * CLI's dump), in key order. 0 or a store code. */
typedef bool (*rollup_dump_fn)(void *ctx, const uint8_t *key, size_t klen, const rollup_vec *v);
int rollup_dump(store_txn *t, rollup_dump_fn fn, void *ctx);

/* The p-th percentile (0..100) of a histogram, in seconds, interpolated
 * inside its bucket; 0 when empty. */
double rollup_percentile(const uint64_t *hist, double p);

/* Deferred figures (the server): rollup_conv_changed adds a change's
 * figures to a table in memory instead of to its keys, and
 * rollup_flush_deferred writes the table's sums once per write batch,
 * before the commit (a writer hook), so a batch of messages to the same
 * quarter hour updates each key once; rollup_drop_deferred forgets them
 * (a batch that failed). Writer thread only. Off by default (the rebuild
 * and the data generator write every change's figures at once). The
 * table belongs to the open database (db_rollup_batch). */
int rollup_defer(struct db *d, bool on);   /* 0, or STORE_ENOMEM */
int rollup_flush_deferred(store_txn *t);
void rollup_drop_deferred(struct db *d);

/* The deferred figures' table (db_rollup_batch), by db_close. */
struct rollup_batch;
void rollup_batch_free(struct rollup_batch **b);

/* With db_set_rollups(d, false) (storage/db.h), rollup_conv_changed does
 * nothing (the benchmark's A/B only). */



#endif
