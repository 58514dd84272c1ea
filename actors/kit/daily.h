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
#include "actors/kit/app.h"

/* Starts t on loop 0: cb every 24 hours from now, with t->data = data.
 * Call from a start hook (before the loops run requests). */
void daily_start(app *a, ev_timer *t, void (*cb)(struct ev_loop *ev, ev_timer *t, int revents), void *data);

/* Stops t on loop 0 and waits (at most 2 s) until it has. */
void daily_stop(app *a, ev_timer *t);

/* The same for a timer every period_s seconds (the first after period_s). */
void periodic_start(app *a, ev_timer *t, double period_s, void (*cb)(struct ev_loop *ev, ev_timer *t, int revents),
		    void *data);
void periodic_stop(app *a, ev_timer *t);

#endif
