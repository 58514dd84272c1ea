/* track_store — visitor tracking: page views, visitor sessions, the live
 * index and the daily counters behind the reports.
 *
 * Owns the tables `pageviews` and `vsessions` (docs/storage.md, "Visitor
 * tracking"): a page view row per reported page (time-ordered, pruned
 * after the tenant's retention), one session record per visit (a new one
 * after TRACK_SESSION_GAP_MS without a page view), a visitor → sessions
 * index, a live index (one row per visitor, at their latest activity) so
 * "who is on the site now" reads only those active since a moment, and
 * per day × dimension counters updated in the page view's transaction so
 * a report over a range reads counters, never page views.
 *
 * Calls run inside a store_txn: the page view and the prune in a write
 * transaction (a wr_req's apply), the rest in read snapshots.
 */
#ifndef PARLEY_TRACK_STORE_H
#define PARLEY_TRACK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "storage/records.h"
#include "storage/store.h"

#define TRACK_SESSION_GAP_MS (30 * 60 * 1000)   /* inactivity that ends a session */
#define TRACK_SESSION_PAGES_MAX 200             /* page view rows stored per session */
#define TRACK_DISTINCT_MAX 1000                 /* names counted per day and dimension; the rest as one */
#define TRACK_DAY_MS (24 * 3600 * 1000LL)

/* What the counters count, per day of the tenant's time zone (the day
 * the caller gives: trackstore_view.day). TD_TOTAL's names: "pageviews",
 * "sessions". Pages count page views (stored ones); the others count
 * sessions, at their first page view. */
enum track_dim { TD_TOTAL = 0, TD_PAGE, TD_REFERRER, TD_DEVICE, TD_BROWSER, TD_OS, TD__COUNT };

typedef struct {
	uint64_t tid, vid;
	uint64_t session_id;         /* the id a new session takes (time-ordered, core/id.h) */
	uint64_t pageview_id;        /* the page view's id (time-ordered) */
	int64_t now_ms;
	uint32_t day;                /* now_ms's day in the tenant's zone: days since 1970-01-01 there */
	const char *url, *title;     /* normalised, within their limits */
	const char *referrer;        /* "" = none */
	const char *referrer_host;   /* counted for a new session; "" = direct */
	uint8_t device;              /* enum ua_device */
	const char *browser, *os, *lang, *screen;
	uint64_t browser_major;
} trackstore_view;

/* Records a page view of in->vid: continues their latest session when its
 * last page view is less than TRACK_SESSION_GAP_MS old, else starts one
 * (in->session_id); stores the page view row while the session holds
 * fewer than TRACK_SESSION_PAGES_MAX; moves the visitor's live row; counts
 * the day's figures. *out is the session after; *stored whether a page
 * view row was written; *fresh whether the session is new. 0,
 * STORE_ECORRUPT, STORE_ENOMEM, STORE_EIO. */
int trackstore_pageview(store_txn *t, const trackstore_view *in, rec_vsession *out, bool *stored, bool *fresh);

typedef bool (*trackstore_session_fn)(void *ctx, const rec_vsession *s);

/* Calls fn for the latest session of each visitor of tenant tid active at
 * or after since_ms, most recent first, at most max; 0, STORE_ECORRUPT,
 * STORE_EIO. */
int trackstore_live(store_txn *t, uint64_t tid, int64_t since_ms, size_t max, trackstore_session_fn fn, void *ctx);

/* Calls fn for visitor vid's sessions, newest first, at most max. */
int trackstore_sessions(store_txn *t, uint64_t tid, uint64_t vid, size_t max, trackstore_session_fn fn, void *ctx);

/* A counter row: its day (days since 1970-01-01 in the tenant's zone as
 * it was when counted), what it counts
 * (name "" = the names past TRACK_DISTINCT_MAX of that day) and count. */
typedef bool (*trackstore_count_fn)(void *ctx, uint32_t day, const char *name, uint64_t count);

/* Calls fn for the counters of dimension dim on days from_day..to_day
 * (inclusive), in day order; stops after max_rows rows (STORE_ELIMIT). At
 * most TRACK_DISTINCT_MAX + 1 rows a day. 0, STORE_ELIMIT, STORE_ECORRUPT,
 * STORE_EIO. */
int trackstore_counts(store_txn *t, uint64_t tid, int dim, uint32_t from_day, uint32_t to_day, size_t max_rows,
		      trackstore_count_fn fn, void *ctx);

/* Deletes, across all tenants, up to max_rows rows older than each
 * tenant's retention (pageview_keep_days, 0 = 90): page views, sessions
 * whose last page view is older (with their index rows), live rows,
 * counters of older days. The number deleted (max_rows: call again) or
 * STORE_EIO. */
int trackstore_prune(store_txn *t, int64_t now_ms, size_t max_rows);

/* The retention of a tenant in days (pageview_keep_days, 0 → 90). */
uint64_t trackstore_keep_days(const rec_tenant *tn);

#endif
