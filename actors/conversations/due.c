/* due — the due timer (due.h). */
#include "actors/conversations/due.h"
#include "actors/conversations/conv.h"
#include "actors/kit/address.h"
#include "actors/kit/app.h"
#include "core/clock.h"
#include "core/log.h"
#include "storage/conv_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

typedef struct due_timer {
	struct app *a;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* on CLOCK_MONOTONIC */
	int64_t lo;                /* the next scan starts here (ms) */
	int64_t next;              /* the entry the thread waits for (0: none) */
	bool kick, stop;
} due_timer;

typedef struct {
	struct app *a;
	size_t sent;
} due_scan;

static bool send_due(void *arg, int64_t due_ms, uint64_t tid, uint64_t cid, uint8_t kind)
{
	due_scan *s = arg;
	conv_msg *m = conv_msg_new(CM_DUE);
	if (!m)
		return false;
	m->until_ms = due_ms;
	m->seq = kind;
	/* forced: a due change is never lost to a full mailbox */
	if (actor_deliver(s->a, actor_at(AK_CONV, tid, cid), &m->hdr, true) != ACTOR_OK)
		conv_msg_free(m);
	else
		s->sent++;
	return true;
}

static bool first_due(void *arg, int64_t due_ms, uint64_t tid, uint64_t cid, uint8_t kind)
{
	*(int64_t *)arg = due_ms;
	return false;
}

static void *run(void *arg)
{
	due_timer *d = arg;
	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		int64_t now = clock_now_ms(), from = d->lo;
		d->lo = now + 1;
		d->kick = false;
		pthread_mutex_unlock(&d->mu);
		due_scan s = { d->a, 0 };
		int64_t next = 0;
		store_txn t;
		int rc = store_read(d->a->db, &t);
		if (rc == 0) {
			rc = convstore_each_due(&t, from, now, send_due, &s);
			if (rc == 0)
				rc = convstore_each_due(&t, now + 1, INT64_MAX, first_due, &next);
			store_done(&t);
		}
		if (rc)
			log_warn("due.scan", "rc=%d", rc);
		if (s.sent)
			log_info("due.sent", "n=%zu", s.sent);
		pthread_mutex_lock(&d->mu);
		if (rc && d->lo > from)
			d->lo = from;   /* try that range again when woken */
		d->next = next;
		if (d->stop || d->kick)
			continue;
		if (!next) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		int64_t wait_ms = next - clock_now_ms();
		if (wait_ms <= 0)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int due_start(struct app *a)
{
	due_timer *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	d->a = a;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&d->mu, NULL);
	if (pthread_create(&d->th, NULL, run, d)) {
		pthread_cond_destroy(&d->cv);
		pthread_mutex_destroy(&d->mu);
		free(d);
		return -1;
	}
	a->due = d;
	return 0;
}

void due_stop(struct app *a)
{
	due_timer *d = a->due;
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->th, NULL);
	a->due = NULL;
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void due_note(struct app *a, int64_t due_ms)
{
	due_timer *d = a->due;
	if (!d || !due_ms)
		return;
	pthread_mutex_lock(&d->mu);
	if (due_ms < d->lo)
		d->lo = due_ms;   /* behind the last scan (a clock moved back) */
	if (!d->next || due_ms < d->next) {
		d->kick = true;
		pthread_cond_signal(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
}

void due_wake(struct app *a)
{
	due_timer *d = a->due;
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->kick = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}
