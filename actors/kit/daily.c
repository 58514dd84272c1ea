/* daily — see daily.h. */
#include "actors/kit/daily.h"
#include "core/clock.h"
#include "core/ioloop.h"
#include "core/log.h"
#include "storage/writer.h"

#include <stdatomic.h>
#include <stdio.h>
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

/* ---- retention prunes ---- */

typedef struct {
	wr_req w;
	daily_prune *p;
	int n;
	bool more;
} prune_req;

static int prune_apply(wr_req *w, store_txn *t)
{
	prune_req *r = (prune_req *)w;
	r->n = r->p->batch(t, r->p, &r->more);
	return r->n < 0 ? r->n : 0;
}

/* Ends a run: the job is freed here when it was stopped meanwhile. */
static void run_ended(daily_prune *p)
{
	char ev[48];
	snprintf(ev, sizeof ev, "%s.pruned", p->name);
	log_info(ev, "rows=%lld", (long long)p->total);
	if (atomic_exchange(&p->running, false) == false)   /* stopped: the stop left the freeing to us */
		free(p);
}

static void prune_done(wr_req *w, int rc)
{
	prune_req *r = (prune_req *)w;
	daily_prune *p = r->p;
	if (rc == 0) {
		p->total += r->n;
	} else {
		char ev[48];
		snprintf(ev, sizeof ev, "%s.prune", p->name);
		log_error(ev, "err=\"%s\"", store_strerror(rc));
	}
	if (rc == 0 && r->more) {
		writer_submit(p->app->wr, &r->w);   /* the next batch, in its own transaction */
		return;
	}
	free(r);
	run_ended(p);
}

static void prune_run(daily_prune *p)
{
	if (atomic_exchange(&p->running, true))
		return;
	prune_req *r = calloc(1, sizeof *r);
	if (!r) {
		atomic_store(&p->running, false);
		return;
	}
	p->now_ms = clock_now_ms();
	p->total = 0;
	p->cursor_len = 0;
	r->p = p;
	r->w.apply = prune_apply;
	r->w.done = prune_done;
	writer_submit(p->app->wr, &r->w);
}

static void on_prune_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
	(void)ev;
	(void)revents;
	daily_prune *p = t->data;
	if (atomic_load(&p->app->ready))
		prune_run(p);
}

daily_prune *daily_prune_start(app *a, const char *name, daily_prune_fn batch)
{
	daily_prune *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->name = name;
	p->batch = batch;
	p->app = a;
	atomic_init(&p->running, false);
	prune_run(p);
	daily_start(a, &p->timer, on_prune_timer, p);
	return p;
}

void daily_prune_stop(app *a, daily_prune **pp)
{
	daily_prune *p = *pp;
	if (!p)
		return;
	*pp = NULL;
	daily_stop(a, &p->timer);
	/* No run can start now. With none under way the job goes at once;
	 * with one, running is cleared here and the run's end, finding it
	 * already clear, frees the job (run_ended). */
	if (!atomic_exchange(&p->running, false))
		free(p);
}
