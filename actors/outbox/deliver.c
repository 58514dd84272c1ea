/* deliver — the outbound thread: webhook entries to their receivers.
 *
 * One thread with its own libev loop drives a libcurl multi handle
 * (curl_multi_socket_action from ev_io and ev_timer watchers). What it
 * knows of the outbox it keeps in memory — per pending entry its id,
 * attempts, creation and next attempt time, no payload — in lanes, one per
 * (tenant, endpoint, conversation), each a FIFO by entry id. At most one
 * entry of a lane is in flight, and the next one goes only after it
 * succeeded or was parked: per conversation and endpoint, deliveries leave
 * in order. Lanes whose head is waiting for its time sit in a min-heap by
 * that time under one ev_timer; a due lane whose endpoint already has
 * --webhook-concurrency deliveries in flight (or is inactive) waits on the
 * endpoint's list until a slot frees (or it is active again).
 *
 * Where entries come from: a scan of the outbox table at start — so what
 * was in flight when the process died (kill -9 included) is sent again —
 * and afterwards notes from the writer's after-batch hook, only for
 * committed transactions (sink.c). The payload is read from LMDB when a
 * delivery starts. Results go back through the writer: a 2xx removes the
 * entry; a failure stores its attempts and next time, or past the horizon
 * removes it as parked; each writes a row to the tenant's delivery log
 * (with the body, for a redelivery). The in-memory lane moves on at once;
 * if the process dies before the result commits, the entry is simply sent
 * again (at least once).
 *
 * The chat path never waits for any of it: entries are written by the
 * writer in the transaction of their event and the thread hears of them
 * after the commit; a receiver that never answers holds one lane and one
 * of its endpoint's slots until --webhook-timeout-ms.
 */
#include "actors/outbox/internal.h"
#include "actors/kit/outbound.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/id.h"
#include "core/log.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lane target of entries of other kinds (emails): no endpoint; each
 * entry is a lane of its own (cid = its id). */
#define OTHER_TARGET UINT64_MAX

typedef struct dent {          /* a pending entry */
	struct dent *next;
	uint64_t id;
	uint64_t attempts;
	int64_t created_ms, next_ms;
} dent;

typedef struct ep ep;

typedef struct lane {
	struct lane *hnext;        /* hash chain */
	uint64_t tid, target, cid;
	ep *ep;
	dent *head, *tail;
	size_t heap_at;            /* index + 1 in the heap; 0: not in it */
	struct lane *wnext;        /* the endpoint's waiting list */
	bool busy, waiting;
} lane;

struct ep {
	struct ep *hnext;
	uint64_t tid, id;
	bool loaded, active, gone;
	char url[REC_WEBHOOK_URL_MAX + 1];
	char secret[REC_SECRET_MAX + 1];
	int inflight;
	lane *wait_head, *wait_tail;
};

typedef struct xfer {
	struct deliverer *d;
	struct xfer *prev, *next;  /* the transfers in flight */
	CURL *h;
	struct curl_slist *hdrs;
	outbound_guard guard;
	lane *lane;
	void *job;                 /* another kind's transfer (its sender owns h) */
	const outbox_sender *sender;
	uint64_t id, seq;
	uint8_t event;
	int64_t t0_ns;
	buf body;
	char err[CURL_ERROR_SIZE];
} xfer;

typedef struct sockw {
	ev_io io;
	curl_socket_t fd;
	struct deliverer *d;
} sockw;

struct deliverer {
	outbox *ob;
	pthread_t thread;
	bool running;
	struct ev_loop *loop;
	ev_async wake, stop;
	ev_timer due;              /* the heap's earliest lane */
	ev_timer curl_timer;       /* libcurl's own time-out */
	CURLM *multi;
	lane **lanes;              /* hash by (tid, target, cid) */
	size_t lanes_cap, nlanes;
	ep **eps;                  /* hash by (tid, id) */
	size_t eps_cap, neps;
	lane **heap;
	size_t heap_n, heap_cap;
	xfer *xfers;               /* in flight */
	uint64_t rng;
};

/* ---------- back-off ---------- */

int64_t deliver_backoff_ms(uint64_t attempts, uint64_t r)
{
	int64_t wait = OUTBOX_BACKOFF_BASE_MS;
	for (uint64_t i = 1; i < attempts && wait < OUTBOX_BACKOFF_CAP_MS; i++)
		wait *= 2;
	if (wait > OUTBOX_BACKOFF_CAP_MS)
		wait = OUTBOX_BACKOFF_CAP_MS;
	int64_t half = wait / 2;
	return half + (int64_t)(r % (uint64_t)(wait - half + 1));
}

static uint64_t rnd(deliverer *d)
{
	/* xorshift64* */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 0x2545F4914F6CDD1Dull;
}

/* ---------- hashes ---------- */

static size_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ b * 0xC2B2AE3D27D4EB4Full ^ c * 0x165667B19E3779F9ull;
	return (size_t)(h ^ h >> 29);
}

/* Doubles a chained table of cap buckets; the chain link is at link_off. */
static int rehash(void ***tab, size_t *cap, size_t (*key)(const void *), size_t link_off)
{
	size_t ncap = *cap ? *cap * 2 : 256;
	void **n = calloc(ncap, sizeof *n);
	if (!n)
		return -1;
	for (size_t i = 0; i < *cap; i++) {
		void *e = (*tab)[i];
		while (e) {
			void **link = (void **)((char *)e + link_off);
			void *next = *link;
			size_t j = key(e) & (ncap - 1);
			*link = n[j];
			n[j] = e;
			e = next;
		}
	}
	free(*tab);
	*tab = n;
	*cap = ncap;
	return 0;
}

static size_t lane_key(const void *p)
{
	const lane *l = p;
	return mix(l->tid, l->target, l->cid);
}

static size_t ep_key(const void *p)
{
	const ep *e = p;
	return mix(e->tid, e->id, 0);
}

static ep *ep_get(deliverer *d, uint64_t tid, uint64_t id, bool make)
{
	if (d->eps_cap) {
		for (ep *e = d->eps[mix(tid, id, 0) & (d->eps_cap - 1)]; e; e = e->hnext)
			if (e->tid == tid && e->id == id)
				return e;
	}
	if (!make)
		return NULL;
	if ((d->neps + 1) > d->eps_cap && rehash((void ***)&d->eps, &d->eps_cap, ep_key, offsetof(ep, hnext)) < 0)
		return NULL;
	ep *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->tid = tid;
	e->id = id;
	if (id == OTHER_TARGET)   /* the tenant's emails: no endpoint to read */
		e->loaded = e->active = true;
	size_t j = ep_key(e) & (d->eps_cap - 1);
	e->hnext = d->eps[j];
	d->eps[j] = e;
	d->neps++;
	return e;
}

static lane *lane_get(deliverer *d, uint64_t tid, uint64_t target, uint64_t cid)
{
	if (d->lanes_cap) {
		for (lane *l = d->lanes[mix(tid, target, cid) & (d->lanes_cap - 1)]; l; l = l->hnext)
			if (l->tid == tid && l->target == target && l->cid == cid)
				return l;
	}
	ep *e = ep_get(d, tid, target, true);
	if (!e)
		return NULL;
	if ((d->nlanes + 1) > d->lanes_cap &&
	    rehash((void ***)&d->lanes, &d->lanes_cap, lane_key, offsetof(lane, hnext)) < 0)
		return NULL;
	lane *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->tid = tid;
	l->target = target;
	l->cid = cid;
	l->ep = e;
	size_t j = lane_key(l) & (d->lanes_cap - 1);
	l->hnext = d->lanes[j];
	d->lanes[j] = l;
	d->nlanes++;
	return l;
}

/* Unlinks and frees an empty lane that is in no list. */
static void lane_free(deliverer *d, lane *l)
{
	lane **pp = &d->lanes[lane_key(l) & (d->lanes_cap - 1)];
	while (*pp && *pp != l)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = l->hnext;
	d->nlanes--;
	free(l);
}

/* ---------- the heap of lanes by their head's next attempt ---------- */

static int64_t lkey(const lane *l)
{
	return l->head->next_ms;
}

static void heap_set(deliverer *d, size_t i, lane *l)
{
	d->heap[i] = l;
	l->heap_at = i + 1;
}

static void heap_up(deliverer *d, size_t i)
{
	lane *l = d->heap[i];
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (lkey(d->heap[p]) <= lkey(l))
			break;
		heap_set(d, i, d->heap[p]);
		i = p;
	}
	heap_set(d, i, l);
}

static void heap_down(deliverer *d, size_t i)
{
	lane *l = d->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= d->heap_n)
			break;
		if (c + 1 < d->heap_n && lkey(d->heap[c + 1]) < lkey(d->heap[c]))
			c++;
		if (lkey(l) <= lkey(d->heap[c]))
			break;
		heap_set(d, i, d->heap[c]);
		i = c;
	}
	heap_set(d, i, l);
}

static int heap_push(deliverer *d, lane *l)
{
	if (d->heap_n == d->heap_cap) {
		size_t cap = d->heap_cap ? d->heap_cap * 2 : 256;
		lane **n = realloc(d->heap, cap * sizeof *n);
		if (!n)
			return -1;
		d->heap = n;
		d->heap_cap = cap;
	}
	d->heap[d->heap_n++] = l;
	heap_up(d, d->heap_n - 1);
	return 0;
}

static lane *heap_pop(deliverer *d)
{
	lane *top = d->heap[0];
	top->heap_at = 0;
	if (--d->heap_n) {
		d->heap[0] = d->heap[d->heap_n];
		heap_down(d, 0);
	}
	return top;
}

/* ---------- lanes ---------- */

static void pump(deliverer *d);

static dent *lane_pop(deliverer *d, lane *l)
{
	dent *n = l->head;
	l->head = n->next;
	if (!l->head)
		l->tail = NULL;
	atomic_fetch_sub_explicit(&d->ob->pending, 1, memory_order_relaxed);
	return n;
}

static void discard(deliverer *d, uint64_t tid, uint64_t id);

/* A lane nobody holds (not busy, in no list): back in the heap, or freed
 * when empty. */
static void lane_idle(deliverer *d, lane *l)
{
	if (!l->head) {
		lane_free(d, l);
	} else if (heap_push(d, l) < 0) {
		log_error("outbox.oom", "msg=\"a lane is dropped; its entries are sent after a restart\"");
		while (l->head)
			free(lane_pop(d, l));
		lane_free(d, l);
	}
}

/* Drops every entry of a lane whose endpoint is gone, and the lane unless
 * a transfer still holds it. The endpoint's deletion removed its entries
 * from the outbox; one written in the same batch after it (the sink's
 * snapshot follows the commit) is removed here. */
static void lane_drop(deliverer *d, lane *l)
{
	while (l->head) {
		dent *n = lane_pop(d, l);
		discard(d, l->tid, n->id);
		free(n);
	}
	if (!l->busy)
		lane_free(d, l);
}

static void add_entry(deliverer *d, uint64_t tid, uint64_t target, uint64_t cid, uint64_t id, uint64_t attempts,
		      int64_t created_ms, int64_t next_ms)
{
	lane *l = lane_get(d, tid, target, cid);
	dent *n = l ? calloc(1, sizeof *n) : NULL;
	if (!n) {
		log_error("outbox.oom", "tid=%llu id=%llu msg=\"the entry is sent after a restart\"",
			  (unsigned long long)tid, (unsigned long long)id);
		if (l && !l->head && !l->busy && !l->heap_at && !l->waiting)
			lane_free(d, l);
		return;
	}
	n->id = id;
	n->attempts = attempts;
	n->created_ms = created_ms;
	n->next_ms = next_ms;
	atomic_fetch_add_explicit(&d->ob->pending, 1, memory_order_relaxed);
	bool was_empty = !l->head;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	if (was_empty && !l->busy && !l->waiting)
		lane_idle(d, l);
}

/* ---------- endpoints ---------- */

/* Reads the endpoint (URL, secret, active) from t; a missing one is gone. */
static void ep_load(deliverer *d, ep *e, store_txn *t)
{
	rec_webhook w;
	int rc = outbox_webhook_get(t, e->tid, e->id, &w);
	if (rc == 0) {
		memcpy(e->url, w.url, sizeof e->url);
		memcpy(e->secret, w.secret, sizeof e->secret);
		e->active = w.active;
		e->gone = false;
		e->loaded = true;
	} else if (rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT) {
		if (rc == STORE_ECORRUPT)
			log_error("outbox.endpoint_corrupt", "tid=%llu endpoint=%llu", (unsigned long long)e->tid,
				  (unsigned long long)e->id);
		e->gone = true;
		e->active = false;
		e->loaded = true;
	}   /* else: storage trouble, tried again at the next start */
}

static void wait_push(ep *e, lane *l)
{
	l->waiting = true;
	l->wnext = NULL;
	if (e->wait_tail)
		e->wait_tail->wnext = l;
	else
		e->wait_head = l;
	e->wait_tail = l;
}

static lane *wait_pop(ep *e)
{
	lane *l = e->wait_head;
	if (!l)
		return NULL;
	e->wait_head = l->wnext;
	if (!e->wait_head)
		e->wait_tail = NULL;
	l->waiting = false;
	return l;
}

/* ---------- results ---------- */

typedef struct {
	wr_req w;
	app *app;
	uint8_t result;            /* enum outbox_result */
	rec_outbox e;              /* tid, id and the new delivery state */
	rec_outbox_log row;
	buf body;                  /* the row's payload */
} result_req;

/* result OBR__COUNT: no attempt was made, the entry only goes (no log row). */
#define DISCARD OBR__COUNT

static int result_apply(wr_req *w, store_txn *tx)
{
	result_req *r = container_of(w, result_req, w);
	int rc = r->result == OBR_RETRY ? outbox_retry(tx, &r->e) : outbox_remove(tx, r->e.tid, r->e.id);
	if (rc == STORE_ENOTFOUND)
		return 0;   /* the endpoint was deleted with its entries meanwhile */
	if (rc || r->result == DISCARD)
		return rc;
	r->row.id = id_next(&r->app->ids);
	r->row.payload.p = (const uint8_t *)r->body.data;
	r->row.payload.n = r->body.len;
	rc = outbox_log_append(tx, &r->row, (uint64_t)r->app->cfg.webhook_log_max);
	return rc ? STORE_EIO : 0;   /* after a write: the whole transaction goes */
}

static void result_done(wr_req *w, int rc)
{
	result_req *r = container_of(w, result_req, w);
	if (rc)
		log_error("outbox.result", "tid=%llu id=%llu err=\"%s\" msg=\"the entry is sent again\"",
			  (unsigned long long)r->e.tid, (unsigned long long)r->e.id, store_strerror(rc));
	buf_free(&r->body);
	free(r);
}

static void discard(deliverer *d, uint64_t tid, uint64_t id)
{
	result_req *r = calloc(1, sizeof *r);
	if (!r)
		return;   /* it stays, and goes again at the next start */
	r->w.apply = result_apply;
	r->w.done = result_done;
	r->app = d->ob->app;
	r->result = DISCARD;
	r->e.tid = tid;
	r->e.id = id;
	writer_submit(d->ob->app->wr, &r->w);
}

/* ---------- transfers ---------- */

static size_t ignore_body(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

static void start(deliverer *d, lane *l);

static void xfer_free(deliverer *d, xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else if (d->xfers == x)
		d->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	if (x->job) {
		x->sender->done(x->job);
	} else if (x->h) {
		curl_easy_cleanup(x->h);
	}
	curl_slist_free_all(x->hdrs);
	buf_free(&x->body);
	free(x);
}

/* Moves waiting lanes of e into free slots. */
static void ep_kick(deliverer *d, ep *e)
{
	while (!e->gone && e->active && e->inflight < d->ob->concurrency && e->wait_head)
		start(d, wait_pop(e));
}

static void finish(deliverer *d, xfer *x, CURLcode res)
{
	outbox *ob = d->ob;
	lane *l = x->lane;
	ep *e = l->ep;
	long code = 0;
	if (x->h)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	int64_t now = clock_now_ms();
	int64_t latency = (clock_mono_ns() - x->t0_ns) / 1000000;
	bool mail = l->target == OTHER_TARGET;
	char what[REC_ERROR_MAX + 1] = "";
	bool ok = mail ? x->job && x->sender->outcome(x->job, res, what, sizeof what)
		       : res == CURLE_OK && code >= 200 && code < 300;
	result_req *r = calloc(1, sizeof *r);
	if (r) {
		r->w.apply = result_apply;
		r->w.done = result_done;
		r->app = ob->app;
		r->e.tid = l->tid;
		r->e.id = x->id;
		r->row = (rec_outbox_log){ .tid = l->tid, .delivery = x->id, .kind = mail ? OBK_EMAIL : OBK_WEBHOOK,
					   .target = mail ? 0 : l->target,
					   .event = x->event, .cid = l->cid, .seq = x->seq, .status_code = code,
					   .latency_ms = latency, .created_ms = now };
		if (!mail) {   /* an email's log row keeps no copy (links with tokens) */
			r->body = x->body;
			x->body = (buf){ 0 };
		}
	}
	char err[REC_ERROR_MAX + 1] = "";
	if (mail && !ok) {
		snprintf(err, sizeof err, "%.200s", x->h ? what : x->err);
	} else if (mail) {
	} else if (res != CURLE_OK && x->guard.refused[0]) {
		snprintf(err, sizeof err, "refused by the egress policy: %s", x->guard.refused);
		atomic_fetch_add_explicit(&ob->refused, 1, memory_order_relaxed);
	} else if (res != CURLE_OK) {
		snprintf(err, sizeof err, "%.60s%s%.130s", curl_easy_strerror(res), x->err[0] ? ": " : "", x->err);
	} else if (!ok) {
		snprintf(err, sizeof err, "HTTP %ld%s", code, code >= 300 && code < 400 ? " (redirects are not followed)" : "");
	}
	err[strcspn(err, "\r\n")] = 0;
	dent *n = l->head;   /* the lane's head is the entry in flight */
	uint64_t attempts = n->attempts + 1;
	uint8_t result;
	if (ok) {
		result = OBR_OK;
		free(lane_pop(d, l));
		atomic_fetch_add_explicit(&ob->delivered, 1, memory_order_relaxed);
	} else {
		int64_t next = now + deliver_backoff_ms(attempts, rnd(d));
		atomic_fetch_add_explicit(&ob->failed, 1, memory_order_relaxed);
		if (next > n->created_ms + ob->horizon_ms) {
			result = OBR_PARKED;
			free(lane_pop(d, l));
			atomic_fetch_add_explicit(&ob->parked, 1, memory_order_relaxed);
			log_warn("outbox.parked", "tid=%llu endpoint=%llu id=%llu attempts=%llu err=\"%s\"",
				 (unsigned long long)l->tid, (unsigned long long)l->target, (unsigned long long)x->id,
				 (unsigned long long)attempts, err);
		} else {
			result = OBR_RETRY;
			n->attempts = attempts;
			n->next_ms = next;
			if (r) {
				r->e.next_attempt_ms = next;
				r->row.next_attempt_ms = next;
			}
		}
	}
	if (r) {
		r->result = result;
		r->e.attempts = attempts;
		r->e.last_status = code;
		memcpy(r->e.last_error, err, sizeof err);
		r->row.attempt = attempts;
		r->row.result = result;
		memcpy(r->row.error, err, sizeof err);
		writer_submit(ob->app->wr, &r->w);
	}
	if (x->h)
		curl_multi_remove_handle(d->multi, x->h);
	xfer_free(d, x);
	e->inflight--;
	atomic_fetch_sub_explicit(&ob->inflight, 1, memory_order_relaxed);
	l->busy = false;
	if (e->gone)
		lane_drop(d, l);
	else
		lane_idle(d, l);
	ep_kick(d, e);
}

/* Puts x in flight: listed, its lane busy, its endpoint's slot taken. */
static void xfer_go(deliverer *d, lane *l, xfer *x)
{
	x->t0_ns = clock_mono_ns();
	x->next = d->xfers;
	if (d->xfers)
		d->xfers->prev = x;
	d->xfers = x;
	l->busy = true;
	l->ep->inflight++;
	atomic_fetch_add_explicit(&d->ob->inflight, 1, memory_order_relaxed);
}

/* An entry of another kind (en, read in t, which this closes): its
 * sender's transfer (an email: SMTP) in the same multi handle. When it
 * cannot be set up (no sender, no settings any more, a password that does
 * not open) that counts as a failed attempt, with the same back-off,
 * horizon and log row as a failed transfer. */
static void start_other(deliverer *d, lane *l, xfer *x, store_txn *t, const rec_outbox *en)
{
	outbox *ob = d->ob;
	x->d = d;
	x->lane = l;
	x->sender = en->kind < sizeof ob->app->outbox_senders / sizeof ob->app->outbox_senders[0]
			    ? ob->app->outbox_senders[en->kind] : NULL;
	CURL *h = NULL;
	int rc = x->sender ? x->sender->setup(ob->app, t, en, ob->connect_ms, ob->total_ms, &x->job, &h, x->err,
					      sizeof x->err)
			   : -1;
	store_done(t);
	if (!x->sender)
		snprintf(x->err, sizeof x->err, "no sender for this kind of entry");
	if (rc == 0 && curl_easy_setopt(h, CURLOPT_PRIVATE, x) == CURLE_OK) {
		x->h = h;
	} else if (rc == 0) {
		x->sender->done(x->job);
		x->job = NULL;
	}
	xfer_go(d, l, x);
	if (!x->h || curl_multi_add_handle(d->multi, x->h) != CURLM_OK)
		finish(d, x, CURLE_FAILED_INIT);
}

/* Sends the head of lane l (due, its endpoint loaded, active, with a free
 * slot). */
static void start(deliverer *d, lane *l)
{
	outbox *ob = d->ob;
	ep *e = l->ep;
	dent *n = l->head;
	store_txn t;
	if (store_read(ob->app->db, &t)) {
		n->next_ms = clock_now_ms() + OUTBOX_BACKOFF_BASE_MS;   /* storage trouble: later */
		lane_idle(d, l);
		return;
	}
	if (!e->loaded)
		ep_load(d, e, &t);
	rec_outbox en;
	int rc = outbox_get(&t, l->tid, n->id, &en);
	if (rc == STORE_ENOTFOUND || e->gone) {   /* removed meanwhile, or its endpoint deleted */
		store_done(&t);
		if (e->gone) {
			lane_drop(d, l);
		} else {
			free(lane_pop(d, l));
			lane_idle(d, l);
		}
		return;
	}
	if (rc || !e->loaded || !e->active) {
		store_done(&t);
		if (rc == STORE_ECORRUPT) {   /* it cannot be sent: it goes */
			log_error("outbox.entry_corrupt", "tid=%llu id=%llu msg=\"removed\"", (unsigned long long)l->tid,
				  (unsigned long long)n->id);
			discard(d, l->tid, n->id);
			free(lane_pop(d, l));
			lane_idle(d, l);
		} else if (e->loaded && !e->active) {
			wait_push(e, l);
		} else {
			n->next_ms = clock_now_ms() + OUTBOX_BACKOFF_BASE_MS;
			lane_idle(d, l);
		}
		return;
	}
	xfer *x = calloc(1, sizeof *x);
	if (!x || buf_append(&x->body, en.payload.p ? (const char *)en.payload.p : "", en.payload.n) < 0) {
		store_done(&t);
		if (x)
			buf_free(&x->body);
		free(x);
		n->next_ms = clock_now_ms() + OUTBOX_BACKOFF_BASE_MS;
		lane_idle(d, l);
		return;
	}
	x->id = en.id;
	x->seq = en.seq;
	x->event = en.event;
	if (en.kind != OBK_WEBHOOK) {
		start_other(d, l, x, &t, &en);
		return;
	}
	store_done(&t);
	x->d = d;
	x->lane = l;
	x->guard.policy = ob->app->egress;
	int64_t ts = clock_now_ms() / 1000;
	char sig[OUTBOX_SIG_LEN + 1], ids[24], line[160];
	outbox_sign(e->secret, ts, x->body.data, x->body.len, sig);
	const char *ename = ev_type_name(x->event);
	struct curl_slist *h = NULL, *ok = NULL;
	h = curl_slist_append(h, "Content-Type: application/json");
	if (h) h = curl_slist_append(h, "User-Agent: Parley-Webhooks/1");
	if (h) h = curl_slist_append(h, "Expect:");   /* no 100-continue round trip */
	snprintf(line, sizeof line, "Parley-Delivery: %s", id_str(x->id, ids));
	if (h) h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "Parley-Event: %s", ename ? ename : "unknown");
	if (h) h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "Parley-Timestamp: %" PRId64, ts);
	if (h) h = curl_slist_append(h, line);
	snprintf(line, sizeof line, "Parley-Signature: %s", sig);
	if (h) ok = h = curl_slist_append(h, line);
	x->hdrs = h;
	x->h = curl_easy_init();
	if (!ok || !x->h ||
	    outbound_setup(x->h, &x->guard, OUTBOUND_HTTP, ob->connect_ms, ob->total_ms) < 0 ||
	    curl_easy_setopt(x->h, CURLOPT_URL, e->url) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body.data ? x->body.data : "") != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, ignore_body) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->err) != CURLE_OK ||
	    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x) != CURLE_OK) {
		log_error("outbox.curl", "msg=\"cannot set up a transfer; tried again later\"");
		if (x->h)
			curl_easy_cleanup(x->h);
		curl_slist_free_all(x->hdrs);
		buf_free(&x->body);
		free(x);
		n->next_ms = clock_now_ms() + OUTBOX_BACKOFF_BASE_MS;
		lane_idle(d, l);
		return;
	}
	xfer_go(d, l, x);
	if (curl_multi_add_handle(d->multi, x->h) != CURLM_OK)
		finish(d, x, CURLE_FAILED_INIT);
}

/* A due lane: sent, or parked on its endpoint's list (no free slot, or
 * inactive), or dropped (the endpoint is gone). */
static void dispatch(deliverer *d, lane *l)
{
	ep *e = l->ep;
	if (e->gone) {
		lane_drop(d, l);
		return;
	}
	if ((e->loaded && !e->active) || e->inflight >= d->ob->concurrency) {
		wait_push(e, l);
		return;
	}
	start(d, l);
}

/* Sends what is due; sets the timer for the next. */
static void pump(deliverer *d)
{
	int64_t now = clock_now_ms();
	while (d->heap_n && lkey(d->heap[0]) <= now)
		dispatch(d, heap_pop(d));
	ev_timer_stop(d->loop, &d->due);
	if (d->heap_n) {
		double wait = (double)(lkey(d->heap[0]) - now) / 1000.0;
		ev_timer_set(&d->due, wait > 0 ? wait : 0, 0.);
		ev_timer_start(d->loop, &d->due);
	}
}

static void check_done(deliverer *d)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(d->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		xfer *x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x)
			finish(d, x, m->data.result);
	}
	pump(d);
}

/* ---------- libcurl on libev ---------- */

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	sockw *w = (sockw *)io;
	deliverer *d = w->d;   /* the action may remove the socket and free w */
	int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;
	curl_multi_socket_action(d->multi, w->fd, action, &running);
	check_done(d);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	deliverer *d = userp;
	sockw *w = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			ev_io_stop(d->loop, &w->io);
			free(w);
			curl_multi_assign(d->multi, s, NULL);
		}
		return 0;
	}
	int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!w) {
		if (!(w = calloc(1, sizeof *w)))
			return -1;
		w->fd = s;
		w->d = d;
		ev_io_init(&w->io, on_io, s, events);
		curl_multi_assign(d->multi, s, w);
	} else {
		ev_io_stop(d->loop, &w->io);
		ev_io_set(&w->io, s, events);
	}
	ev_io_start(d->loop, &w->io);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	deliverer *d = userp;
	ev_timer_stop(d->loop, &d->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&d->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(d->loop, &d->curl_timer);
	}
	return 0;
}

static void on_curl_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	deliverer *d = w->data;
	int running;
	curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(d);
}

/* ---------- notes and the loop ---------- */

static void on_note(deliverer *d, ob_note *n)
{
	if (n->type == NOTE_ENTRY) {
		if (n->kind == OBK_WEBHOOK)
			add_entry(d, n->tid, n->target, n->cid, n->id, n->attempts, (int64_t)(n->id >> 16), n->next_ms);
		else if (n->kind == OBK_EMAIL)   /* one lane each: no email waits for another */
			add_entry(d, n->tid, OTHER_TARGET, n->id, n->id, n->attempts, (int64_t)(n->id >> 16), n->next_ms);
		return;
	}
	/* an endpoint changed: read it again before its next delivery; a
	 * deleted one takes its lanes (their entries went with it) */
	ep *e = ep_get(d, n->tid, n->id, false);
	if (!e)
		return;
	e->loaded = false;
	if (n->deleted) {
		e->gone = true;
		e->loaded = true;
		lane *l;
		while ((l = wait_pop(e)))
			lane_drop(d, l);
		return;
	}
	e->active = n->active;
	if (n->active) {
		e->gone = false;
		ep_kick(d, e);
	}
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	deliverer *d = w->data;
	outbox *ob = d->ob;
	pthread_mutex_lock(&ob->lock);
	ob_note *list = ob->inbox;
	ob->inbox = ob->inbox_tail = NULL;
	pthread_mutex_unlock(&ob->lock);
	while (list) {
		ob_note *next = list->next;
		on_note(d, list);
		free(list);
		list = next;
	}
	pump(d);
}

static void on_due(struct ev_loop *loop, ev_timer *w, int revents)
{
	pump(w->data);
}

static void on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void *deliver_main(void *arg)
{
	deliverer *d = arg;
	pthread_setname_np(pthread_self(), "outbound");
	pump(d);
	ev_run(d->loop, 0);
	return NULL;
}

void deliver_post(outbox *ob, ob_note *list, ob_note *tail)
{
	pthread_mutex_lock(&ob->lock);
	if (ob->closed) {
		pthread_mutex_unlock(&ob->lock);
		while (list) {
			ob_note *n = list->next;
			free(list);
			list = n;
		}
		return;
	}
	if (ob->inbox_tail)
		ob->inbox_tail->next = list;
	else
		ob->inbox = list;
	ob->inbox_tail = tail;
	ev_async_send(ob->dl->loop, &ob->dl->wake);
	pthread_mutex_unlock(&ob->lock);
}

/* ---------- start and stop ---------- */

typedef struct {
	deliverer *d;
	size_t n;
} scan;

static bool scan_one(void *arg, uint64_t tid, uint64_t id, const rec_outbox *e)
{
	scan *s = arg;
	if (!e) {
		log_error("outbox.entry_corrupt", "tid=%llu id=%llu", (unsigned long long)tid, (unsigned long long)id);
		return true;
	}
	if (e->kind == OBK_EMAIL)
		add_entry(s->d, tid, OTHER_TARGET, id, id, e->attempts, e->created_ms, e->next_attempt_ms);
	else if (e->kind == OBK_WEBHOOK)
		add_entry(s->d, tid, e->target, e->cid, id, e->attempts, e->created_ms, e->next_attempt_ms);
	else
		return true;
	s->n++;
	return true;
}

static void deliver_free(deliverer *d)
{
	if (!d)
		return;
	if (d->multi) {
		/* transfers in flight are abandoned: their entries stay in the
		 * outbox and go again after the next start */
		while (d->xfers) {
			curl_multi_remove_handle(d->multi, d->xfers->h);
			xfer_free(d, d->xfers);
		}
		curl_multi_cleanup(d->multi);
	}
	for (size_t i = 0; i < d->lanes_cap; i++) {
		lane *l = d->lanes[i];
		while (l) {
			lane *next = l->hnext;
			while (l->head) {
				dent *n = l->head->next;
				free(l->head);
				l->head = n;
			}
			free(l);
			l = next;
		}
	}
	for (size_t i = 0; i < d->eps_cap; i++) {
		ep *e = d->eps[i];
		while (e) {
			ep *next = e->hnext;
			free(e);
			e = next;
		}
	}
	free(d->lanes);
	free(d->eps);
	free(d->heap);
	if (d->loop) {
		ev_async_stop(d->loop, &d->wake);
		ev_async_stop(d->loop, &d->stop);
		ev_timer_stop(d->loop, &d->due);
		ev_timer_stop(d->loop, &d->curl_timer);
		ev_loop_destroy(d->loop);
	}
	free(d);
}

int deliver_start(outbox *ob)
{
	/* before any thread uses libcurl (not thread-safe in this version);
	 * later calls only count */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	deliverer *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	d->ob = ob;
	crypto_random(&d->rng, sizeof d->rng);
	d->rng |= 1;
	d->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	d->multi = curl_multi_init();
	if (!d->loop || !d->multi)
		goto fail;
	ev_async_init(&d->wake, on_wake);
	d->wake.data = d;
	ev_async_start(d->loop, &d->wake);
	ev_async_init(&d->stop, on_stop);
	ev_async_start(d->loop, &d->stop);
	ev_timer_init(&d->due, on_due, 0., 0.);
	d->due.data = d;
	ev_timer_init(&d->curl_timer, on_curl_timeout, 0., 0.);
	d->curl_timer.data = d;
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	/* what was pending (or in flight) when the server last stopped */
	store_txn t;
	scan s = { d, 0 };
	if (store_read(ob->app->db, &t))
		goto fail;
	int rc = outbox_each(&t, 0, scan_one, &s);
	store_done(&t);
	if (rc)
		goto fail;
	if (s.n)
		log_info("outbox.loaded", "entries=%zu", s.n);
	ob->dl = d;
	if (pthread_create(&d->thread, NULL, deliver_main, d) != 0) {
		ob->dl = NULL;
		goto fail;
	}
	d->running = true;
	return 0;
fail:
	deliver_free(d);
	curl_global_cleanup();
	return -1;
}

void deliver_stop(outbox *ob)
{
	deliverer *d = ob->dl;
	pthread_mutex_lock(&ob->lock);
	ob->closed = true;
	ob_note *list = ob->inbox;
	ob->inbox = ob->inbox_tail = NULL;
	pthread_mutex_unlock(&ob->lock);
	while (list) {
		ob_note *n = list->next;
		free(list);
		list = n;
	}
	if (!d)
		return;
	if (d->running) {
		ev_async_send(d->loop, &d->stop);
		pthread_join(d->thread, NULL);
	}
	ob->dl = NULL;
	deliver_free(d);
	curl_global_cleanup();
}
