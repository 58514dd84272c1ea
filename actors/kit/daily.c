/* daily — see daily.h. */
#include "actors/kit/daily.h"
#include "core/ioloop.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define DAY_S (24 * 3600.0)

void periodic_start(app *a, ev_timer *t, double period_s, void (*cb)(struct ev_loop *ev, ev_timer *t, int revents),
		    void *data)
{
	ev_timer_init(t, cb, period_s, period_s);
	t->data = data;
	ev_timer_start(a->loops[0]->ev, t);
	ev_unref(a->loops[0]->ev);
}

void daily_start(app *a, ev_timer *t, void (*cb)(struct ev_loop *ev, ev_timer *t, int revents), void *data)
{
	periodic_start(a, t, DAY_S, cb, data);
}

typedef struct {
	ioloop_task task;
	ev_timer *t;
	atomic_bool stopped;
} stop_task;

static void run_stop(ioloop *l, ioloop_task *task)
{
	stop_task *st = (stop_task *)task;
	ev_ref(l->ev);
	ev_timer_stop(l->ev, st->t);
	atomic_store(&st->stopped, true);
}

void daily_stop(app *a, ev_timer *t)
{
	periodic_stop(a, t);
}

void periodic_stop(app *a, ev_timer *t)
{
	stop_task *st = calloc(1, sizeof *st);
	if (!st)
		return;
	st->task.run = run_stop;
	st->t = t;
	atomic_init(&st->stopped, false);
	ioloop_post(a->loops[0], &st->task);
	struct timespec tick = { 0, 1000 * 1000 };
	int i = 0;
	for (; i < 2000 && !atomic_load(&st->stopped); i++)
		nanosleep(&tick, NULL);
	if (atomic_load(&st->stopped))
		free(st);
	/* else the loop has not run it yet: it stays allocated for when it does */
}
