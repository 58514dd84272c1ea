/* runtime — the desk's timer thread and its board (desk.h). */
#include "actors/desk/desk.h"
#include "actors/kit/address.h"
#include "core/clock.h"
#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	int64_t due;
	bool wall;
	uint8_t kind, which;
	uint64_t tid, id, tag;
} dtimer;

#define BUCKETS 1024

typedef struct bnode {
	struct bnode *next;
	uint64_t tid, id;
	bool dept;
	desk_agent_view agent;
	desk_entry_view *q;
	size_t nq, capq;               /* kept between updates: no allocation per flush */
} bnode;

struct desk_rt {
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;            /* the timers */
	pthread_cond_t cv;
	dtimer *t;
	size_t n, cap;
	bool stop;
	pthread_mutex_t bmu;           /* the board */
	bnode *b[BUCKETS];
};

int64_t desk_mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

static struct desk_rt *rt_of(app *a)
{
	return (struct desk_rt *)a->desk;
}

int desk_timer_at(app *a, int kind, uint64_t tid, uint64_t id, int64_t due_ms, bool wall, int which,
		  uint64_t tag)
{
	struct desk_rt *d = rt_of(a);
	if (!d)
		return -1;
	pthread_mutex_lock(&d->mu);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		dtimer *t = realloc(d->t, cap * sizeof *t);
		if (!t) {
			pthread_mutex_unlock(&d->mu);
			return -1;
		}
		d->t = t;
		d->cap = cap;
	}
	d->t[d->n++] = (dtimer){ due_ms, wall, (uint8_t)kind, (uint8_t)which, tid, id, tag };
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/* Timers are few (one per agent on heartbeats, a few per department): a
 * scan of the array every wake-up is cheaper than keeping a heap. The
 * thread wakes at least every 100 ms, so a wall-clock timer follows a
 * clock moved by a test. */
static void *timer_main(void *arg)
{
	app *a = arg;
	struct desk_rt *d = rt_of(a);
	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		int64_t now = clock_now_ms(), mono = desk_mono_ms(), wait = 100;
		for (size_t i = 0; i < d->n;) {
			dtimer *t = &d->t[i];
			int64_t left = t->due - (t->wall ? now : mono);
			if (left > 0) {
				if (left < wait)
					wait = left;
				i++;
				continue;
			}
			dtimer fire = *t;
			d->t[i] = d->t[--d->n];
			desk_msg *m = desk_msg_new(DK_TIMER);
			if (m) {
				m->cid = fire.tag;
				m->state = fire.which;
				pthread_mutex_unlock(&d->mu);
				if (actor_deliver(a, actor_at(fire.kind, fire.tid, fire.id), &m->hdr, true) != ACTOR_OK)
					desk_msg_free(m);
				pthread_mutex_lock(&d->mu);
			}
			i = 0;   /* the array may have changed while unlocked */
		}
		if (d->stop)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (wait < 1 ? 1 : wait) * 1000000;
		ts.tv_sec += ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&d->cv, &d->mu, &ts);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int desk_runtime_start(app *a)
{
	struct desk_rt *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	pthread_mutex_init(&d->bmu, NULL);
	a->desk = d;
	if (pthread_create(&d->thread, NULL, timer_main, a) != 0) {
		log_error("desk.start", "msg=\"cannot start the timer thread\"");
		return -1;
	}
	d->started = true;
	return 0;
}

void desk_runtime_stop(app *a)
{
	struct desk_rt *d = rt_of(a);
	if (!d || !d->started)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	d->started = false;
}

void desk_runtime_free(app *a)
{
	struct desk_rt *d = rt_of(a);
	if (!d)
		return;
	desk_runtime_stop(a);
	for (int i = 0; i < BUCKETS; i++) {
		bnode *n = d->b[i];
		while (n) {
			bnode *next = n->next;
			free(n->q);
			free(n);
			n = next;
		}
	}
	free(d->t);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->bmu);
	free(d);
	a->desk = NULL;
}

/* ---------- board ---------- */

static bnode **slot(struct desk_rt *d, uint64_t tid, uint64_t id, bool dept)
{
	uint64_t h = (tid * 0x9E3779B97F4A7C15ull) ^ (id * 0xC2B2AE3D27D4EB4Full) ^ dept;
	bnode **p = &d->b[(h >> 17) % BUCKETS];
	while (*p && !((*p)->tid == tid && (*p)->id == id && (*p)->dept == dept))
		p = &(*p)->next;
	return p;
}

static bnode *node(struct desk_rt *d, uint64_t tid, uint64_t id, bool dept, bool make)
{
	bnode **p = slot(d, tid, id, dept);
	if (!*p && make) {
		bnode *n = calloc(1, sizeof *n);
		if (!n)
			return NULL;
		n->tid = tid;
		n->id = id;
		n->dept = dept;
		*p = n;
	}
	return *p;
}

void desk_board_agent_set(app *a, uint64_t tid, uint64_t uid, const desk_agent_view *v)
{
	struct desk_rt *d = rt_of(a);
	if (!d)
		return;
	pthread_mutex_lock(&d->bmu);
	bnode *n = node(d, tid, uid, false, true);
	if (n)
		n->agent = *v;
	pthread_mutex_unlock(&d->bmu);
}

bool desk_board_agent_get(app *a, uint64_t tid, uint64_t uid, desk_agent_view *v)
{
	struct desk_rt *d = rt_of(a);
	memset(v, 0, sizeof *v);
	if (!d)
		return false;
	pthread_mutex_lock(&d->bmu);
	bnode *n = node(d, tid, uid, false, false);
	if (n)
		*v = n->agent;
	pthread_mutex_unlock(&d->bmu);
	return n != NULL;
}

void desk_board_queue_set(app *a, uint64_t tid, uint64_t did, const desk_entry_view *e, size_t n)
{
	struct desk_rt *d = rt_of(a);
	if (!d)
		return;
	pthread_mutex_lock(&d->bmu);
	bnode *b = node(d, tid, did, true, true);
	if (b && n > b->capq) {
		size_t cap = b->capq ? b->capq : 16;
		while (cap < n)
			cap *= 2;
		desk_entry_view *q = realloc(b->q, cap * sizeof *q);
		if (q) {
			b->q = q;
			b->capq = cap;
		}
	}
	if (b && n <= b->capq) {
		if (n)
			memcpy(b->q, e, n * sizeof *e);
		b->nq = n;
	}
	pthread_mutex_unlock(&d->bmu);
}

size_t desk_board_queue_get(app *a, uint64_t tid, uint64_t did, desk_entry_view **out)
{
	struct desk_rt *d = rt_of(a);
	*out = NULL;
	if (!d)
		return 0;
	size_t n = 0;
	pthread_mutex_lock(&d->bmu);
	bnode *b = node(d, tid, did, true, false);
	if (b && b->nq && (*out = malloc(b->nq * sizeof **out))) {
		memcpy(*out, b->q, b->nq * sizeof **out);
		n = b->nq;
	}
	pthread_mutex_unlock(&d->bmu);
	return n;
}

int desk_effective_priority(int priority, int64_t since_ms, int64_t now_ms, uint64_t sla_medium_s,
			    uint64_t sla_high_s)
{
	if (!sla_medium_s)
		sla_medium_s = 60;
	if (!sla_high_s)
		sla_high_s = 180;
	int64_t waited = since_ms && now_ms > since_ms ? now_ms - since_ms : 0;
	int sla = waited < (int64_t)sla_medium_s * 1000 ? CP_LOW : waited < (int64_t)sla_high_s * 1000 ? CP_MEDIUM : CP_HIGH;
	return priority > sla ? priority : sla;
}

uint32_t desk_capacity(app *a, uint64_t max_chats)
{
	uint64_t c = max_chats ? max_chats : (uint64_t)a->cfg.default_capacity;
	return c > 100000 ? 100000 : (uint32_t)c;
}
