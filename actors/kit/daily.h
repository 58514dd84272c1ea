/* daily — a feature's once-a-day timer on I/O loop 0 (the retention
 * prunes of actors/audit and actors/tracking), and the same for any
 * period (the alert checks of actors/analytics). The timers live in the
 * app object (kit/app.h).
 *
 * The timer does not keep the loop alive (it is unreferenced); stopping
 * it is posted to loop 0, which owns it, and waited for (bounded), so a
 * feature's stop hook returns with no run left to start: the writer the
 * run would submit to goes away after the stop hooks.
 */
#ifndef PARLEY_DAILY_H
#define PARLEY_DAILY_H

#include <ev.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "actors/kit/app.h"
#include "storage/store.h"

/* Starts t on loop 0: cb every 24 hours from now, with t->data = data.
 * Call from a start hook (before the loops run requests). */
void daily_start(app *a, ev_timer *t, void (*cb)(struct ev_loop *ev, ev_timer *t, int revents), void *data);

/* Stops t on loop 0 and waits (at most 2 s) until it has. */
void daily_stop(app *a, ev_timer *t);

/* The same for a timer every period_s seconds (the first after period_s). */
void periodic_start(app *a, ev_timer *t, double period_s, void (*cb)(struct ev_loop *ev, ev_timer *t, int revents),
		    void *data);
void periodic_stop(app *a, ev_timer *t);

/* ---- a retention prune, run at start and once a day ----
 *
 * Batches through the writer, one transaction each, chained while a batch
 * says there is more; a run at start (not waited for: the writer takes it
 * before anything the server's clients send), then one a day, never two
 * at once. The job is made by the feature's start hook and freed by its
 * stop hook; what the batch function keeps between the batches of a run
 * (a walk's place) is in the job. */
typedef struct daily_prune daily_prune;

/* One batch, in a write transaction: the rows deleted (>= 0) or a store
 * code; *more: another batch is to follow. */
typedef int (*daily_prune_fn)(store_txn *t, daily_prune *p, bool *more);

struct daily_prune {
	const char *name;          /* log events "<name>.pruned rows=N" (each run), "<name>.prune err=…" */
	daily_prune_fn batch;
	app *app;
	ev_timer timer;
	atomic_bool running;       /* a run is under way */
	int64_t now_ms;            /* the run's clock, set when it starts */
	int64_t total;             /* rows the run deleted so far */
	uint8_t cursor[64];        /* the batch function's place (cursor_len 0 when a run starts) */
	size_t cursor_len;
};

/* Makes the job, starts a run and the daily timer; NULL without memory. */
daily_prune *daily_prune_start(app *a, const char *name, daily_prune_fn batch);

/* Stops the timer; a run under way finishes in the writer's last batches
 * and the job is freed by whichever ends last. */
void daily_prune_stop(app *a, daily_prune **p);

#endif
