/* sink — the webhook side of kit/emit.h: inside the write transaction of
 * an event, one outbox entry per active endpoint of the tenant subscribed
 * to it, with the body built now (what the event was when it happened).
 *
 * The sink decides from a snapshot of every tenant's endpoints (id, events,
 * active) that only the writer thread touches: loaded by a writer request
 * at start, changed after the commit of each endpoint write (the changes
 * are staged by the apply and taken up by the writer's after-batch hook,
 * so an aborted transaction changes nothing). No lock, and for a tenant
 * with no endpoint wanting the event an emit costs one hash probe: nothing
 * is built.
 *
 * Entries and endpoint changes reach the outbound thread the same way:
 * notes staged during the apply, handed over after the commit (the thread
 * reads what they name, so it must not hear of it earlier) or freed with
 * an aborted batch.
 */
#include "actors/outbox/internal.h"
#include "actors/conversations/view.h"
#include "actors/kit/view.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/jw.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- the snapshot ---------- */

static size_t slot_of(uint64_t tid, size_t cap)
{
	uint64_t h = tid * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (cap - 1);
}

static snap_tenant *snap_find(outbox *ob, uint64_t tid)
{
	if (!ob->snap_cap)
		return NULL;
	for (size_t i = slot_of(tid, ob->snap_cap);; i = (i + 1) & (ob->snap_cap - 1)) {
		snap_tenant *t = ob->snap[i];
		if (!t || t->tid == tid)
			return t;
	}
}

static int snap_grow(outbox *ob)
{
	size_t cap = ob->snap_cap ? ob->snap_cap * 2 : 64;
	snap_tenant **n = calloc(cap, sizeof *n);
	if (!n)
		return -1;
	for (size_t i = 0; i < ob->snap_cap; i++) {
		snap_tenant *t = ob->snap[i];
		if (!t)
			continue;
		size_t j = slot_of(t->tid, cap);
		while (n[j])
			j = (j + 1) & (cap - 1);
		n[j] = t;
	}
	free(ob->snap);
	ob->snap = n;
	ob->snap_cap = cap;
	return 0;
}

/* The tenant's entry, made if absent (tenants are never removed: one with
 * no endpoint left has mask 0). */
static snap_tenant *snap_tenant_get(outbox *ob, uint64_t tid)
{
	snap_tenant *t = snap_find(ob, tid);
	if (t)
		return t;
	if ((ob->snap_n + 1) * 2 > ob->snap_cap && snap_grow(ob) < 0)
		return NULL;
	if (!(t = calloc(1, sizeof *t)))
		return NULL;
	t->tid = tid;
	size_t i = slot_of(tid, ob->snap_cap);
	while (ob->snap[i])
		i = (i + 1) & (ob->snap_cap - 1);
	ob->snap[i] = t;
	ob->snap_n++;
	return t;
}

static void snap_mask(snap_tenant *t)
{
	t->mask = 0;
	for (int i = 0; i < t->n; i++)
		if (t->eps[i].active)
			t->mask |= t->eps[i].events;
}

/* Sets (or, deleted, removes) endpoint id of tenant tid; 0 or -1 (out of memory). */
static int snap_set(outbox *ob, uint64_t tid, uint64_t id, uint64_t events, bool active, bool deleted)
{
	snap_tenant *t = deleted ? snap_find(ob, tid) : snap_tenant_get(ob, tid);
	if (!t)
		return deleted ? 0 : -1;
	int i = 0;
	while (i < t->n && t->eps[i].id != id)
		i++;
	if (deleted) {
		if (i < t->n)
			t->eps[i] = t->eps[--t->n];
	} else {
		if (i == t->n) {
			if (t->n == t->cap) {
				int cap = t->cap ? t->cap * 2 : 4;
				snap_ep *n = realloc(t->eps, (size_t)cap * sizeof *n);
				if (!n)
					return -1;
				t->eps = n;
				t->cap = cap;
			}
			t->n++;
		}
		t->eps[i] = (snap_ep){ id, events, active };
	}
	snap_mask(t);
	return 0;
}

void sink_free(outbox *ob)
{
	for (size_t i = 0; i < ob->snap_cap; i++) {
		if (ob->snap[i]) {
			free(ob->snap[i]->eps);
			free(ob->snap[i]);
		}
	}
	free(ob->snap);
	ob->snap = NULL;
	ob->snap_cap = ob->snap_n = 0;
	while (ob->staged) {
		ob_note *n = ob->staged->next;
		free(ob->staged);
		ob->staged = n;
	}
	ob->staged_tail = NULL;
}

/* ---------- staging ---------- */

void sink_stage(outbox *ob, ob_note *n)
{
	n->next = NULL;
	if (ob->staged_tail)
		ob->staged_tail->next = n;
	else
		ob->staged = n;
	ob->staged_tail = n;
}

int sink_stage_endpoint(outbox *ob, uint64_t tid, uint64_t id, const rec_webhook *w)
{
	if (!ob)
		return 0;
	ob_note *n = calloc(1, sizeof *n);
	if (!n)
		return STORE_ENOMEM;
	n->type = NOTE_ENDPOINT;
	n->tid = tid;
	n->id = id;
	n->deleted = !w;
	n->active = w && w->active;
	n->events = w ? w->events : 0;
	sink_stage(ob, n);
	return 0;
}

/* The writer's after-batch hook: a committed batch's notes take effect —
 * endpoint changes in the snapshot — and go to the outbound thread; an
 * aborted one's are dropped. */
static void after_batch(void *ctx, int rc)
{
	outbox *ob = ctx;
	ob_note *list = ob->staged, *tail = ob->staged_tail;
	ob->staged = ob->staged_tail = NULL;
	if (!list)
		return;
	if (rc) {
		while (list) {
			ob_note *n = list->next;
			free(list);
			list = n;
		}
		return;
	}
	for (ob_note *n = list; n; n = n->next)
		if (n->type == NOTE_ENDPOINT && snap_set(ob, n->tid, n->id, n->events, n->active, n->deleted) < 0)
			log_error("outbox.snapshot", "tid=%llu endpoint=%llu msg=\"out of memory: the change takes "
				  "effect after a restart\"", (unsigned long long)n->tid, (unsigned long long)n->id);
	deliver_post(ob, list, tail);
}

static void on_writer_exit(void *ctx)
{
	sink_free(ctx);
}

/* ---------- entries ---------- */

/* A tenant whose outbox is full: the drop is counted and, at most once a
 * minute, written to its delivery log. 1, or a store error. */
static int drop(app *a, store_txn *tx, const rec_outbox *e, int64_t now)
{
	outbox *ob = a->outbox;
	bool alert = false;
	int rc = outbox_note_drop(tx, e->tid, now, OUTBOX_ALERT_EVERY_MS, &alert);
	if (rc)
		return rc;
	if (ob)
		atomic_fetch_add_explicit(&ob->dropped, 1, memory_order_relaxed);
	if (!alert)
		return 1;
	rec_outbox_count c;
	if ((rc = outbox_count(tx, e->tid, &c)))
		return rc;
	rec_outbox_log r = { .tid = e->tid, .id = id_next(&a->ids), .kind = e->kind, .target = e->target,
			     .event = e->event, .cid = e->cid, .seq = e->seq, .result = OBR_DROPPED, .created_ms = now };
	snprintf(r.error, sizeof r.error, "outbox full (%llu entries, --outbox-quota): new entries are dropped; "
		 "%llu dropped so far", (unsigned long long)c.pending, (unsigned long long)c.dropped);
	log_warn("outbox.full", "tid=%llu pending=%llu dropped_total=%llu", (unsigned long long)e->tid,
		 (unsigned long long)c.pending, (unsigned long long)c.dropped);
	rc = outbox_log_append(tx, &r, (uint64_t)a->cfg.webhook_log_max);
	return rc ? rc : 1;
}

int outbox_enqueue(app *a, store_txn *tx, rec_outbox *e)
{
	outbox *ob = a->outbox;
	int64_t now = clock_now_ms();
	if (!e->id)
		e->id = id_next(&a->ids);
	if (!e->created_ms)
		e->created_ms = now;
	if (!e->next_attempt_ms)
		e->next_attempt_ms = e->created_ms;
	ob_note *n = ob ? calloc(1, sizeof *n) : NULL;
	if (ob && !n)
		return STORE_ENOMEM;
	int rc = outbox_add(tx, e, a->cfg.outbox_quota > 0 ? (uint64_t)a->cfg.outbox_quota : 0);
	if (rc) {
		free(n);
		return rc == STORE_ELIMIT ? drop(a, tx, e, now) : rc;
	}
	if (!ob)
		return 0;
	atomic_fetch_add_explicit(&ob->enqueued, 1, memory_order_relaxed);
	n->type = NOTE_ENTRY;
	n->kind = e->kind;
	n->tid = e->tid;
	n->id = e->id;
	n->target = e->target;
	n->cid = e->cid;
	n->attempts = e->attempts;
	n->next_ms = e->next_attempt_ms;
	sink_stage(ob, n);
	return 0;
}

/* ---------- payloads ---------- */

static int put_json(buf *b, json_t *v)
{
	if (!v)
		return -1;
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	int rc = s ? buf_puts(b, s) : -1;
	free(s);
	return rc;
}

/* The conversation as the API shows it, with the seq of the event. */
static int put_conv(buf *b, const rec_conv *c, uint64_t seq)
{
	size_t at = b->len;
	if (view_conv_write(c, b) < 0 || b->len == at || b->data[b->len - 1] != '}')
		return -1;
	b->len--;   /* reopen the object */
	int rc = jw_key(b, "seq", 0);
	rc |= jw_u64(b, seq);
	rc |= buf_puts(b, "}");
	return rc ? -1 : 0;
}

/* The "data" object of an event. */
static int put_data(const app_event *ev, buf *b)
{
	int rc = buf_puts(b, "{");
	switch (ev->type) {
	case EV_CONVERSATION_CREATED:
	case EV_CONVERSATION_UPDATED:
	case EV_CONVERSATION_ASSIGNED:
	case EV_CONVERSATION_RESOLVED:
	case EV_CONVERSATION_TRANSFERRED:
	case EV_MESSAGE_CREATED:
		if (!ev->conv)
			return -1;
		rc |= buf_puts(b, "\"conversation\":");
		rc |= put_conv(b, ev->conv, ev->event ? ev->event->seq : ev->conv->last_seq);
		if (ev->type == EV_CONVERSATION_TRANSFERRED && ev->event) {   /* the transfer event */
			rc |= buf_puts(b, ",\"transfer\":");
			rc |= view_event_write(ev->event, b);
		}
		if (ev->type == EV_MESSAGE_CREATED) {
			if (!ev->event)
				return -1;
			rc |= buf_puts(b, ",\"message\":");
			rc |= view_event_write(ev->event, b);
		}
		break;
	case EV_RATING_CREATED:   /* the conversation, and the rating with who had it */
		if (!ev->conv || !ev->rating)
			return -1;
		rc |= buf_puts(b, "\"conversation\":");
		rc |= put_conv(b, ev->conv, ev->event ? ev->event->seq : ev->conv->last_seq);
		rc |= buf_puts(b, ",\"rating\":");
		rc |= put_json(b, view_rating(ev->rating, ev->conv->assignee_name));
		break;
	case EV_VISITOR_CREATED:
		if (!ev->visitor)
			return -1;
		rc |= buf_puts(b, "\"visitor\":");
		rc |= put_json(b, view_visitor(ev->visitor));
		break;
	case EV_USER_UPDATED:
		if (!ev->user)
			return -1;
		rc |= buf_puts(b, "\"user\":");
		rc |= put_json(b, view_user(ev->user));
		break;
	default:
		return -1;
	}
	rc |= buf_puts(b, "}");
	return rc ? -1 : 0;
}

/* The envelope around prebuilt data. */
static int put_envelope(const app_event *ev, uint64_t id, const buf *data, buf *b)
{
	int rc = buf_puts(b, "{\"id\":");
	rc |= jw_id(b, id);
	rc |= jw_key(b, "event", 0);
	rc |= jw_cstr(b, ev_type_name(ev->type));
	rc |= jw_key(b, "created_at", 0);
	rc |= jw_time(b, ev->at_ms);
	rc |= jw_key(b, "tenant_id", 0);
	rc |= jw_id(b, ev->tid);
	rc |= jw_key(b, "data", 0);
	rc |= buf_append(b, data->data, data->len);
	rc |= buf_puts(b, "}");
	return rc ? -1 : 0;
}

int sink_payload(const app_event *ev, uint64_t id, buf *b)
{
	buf data = { 0 };
	int rc = put_data(ev, &data);
	if (rc == 0)
		rc = put_envelope(ev, id, &data, b);
	buf_free(&data);
	return rc;
}

/* ---------- the sink ---------- */

static int sink_in_txn(app *a, store_txn *tx, const app_event *ev, void *ctx)
{
	outbox *ob = ctx;
	uint64_t bit = 1ull << ev->type;
	snap_tenant *t = snap_find(ob, ev->tid);
	if (!t || !(t->mask & bit))
		return 0;
	buf data = { 0 }, body = { 0 };
	int rc = put_data(ev, &data) < 0 ? STORE_ENOMEM : 0;
	uint64_t cid = ev->conv ? ev->conv->id : 0;
	uint64_t seq = ev->event ? ev->event->seq : ev->conv ? ev->conv->last_seq : 0;
	for (int i = 0; rc == 0 && i < t->n; i++) {
		const snap_ep *ep = &t->eps[i];
		if (!ep->active || !(ep->events & bit))
			continue;
		rec_outbox e = { .tid = ev->tid, .id = id_next(&a->ids), .kind = OBK_WEBHOOK, .target = ep->id,
				 .event = ev->type, .cid = cid, .seq = seq };
		body.len = 0;
		if (put_envelope(ev, e.id, &data, &body) < 0) {
			rc = STORE_ENOMEM;
			break;
		}
		e.payload.p = (const uint8_t *)body.data;
		e.payload.n = body.len;
		rc = outbox_enqueue(a, tx, &e);
		if (rc == 1)
			rc = 0;   /* dropped: counted and logged; chat goes on */
	}
	buf_free(&data);
	buf_free(&body);
	return rc;
}

/* ---------- start ---------- */

typedef struct {
	wr_req w;
	outbox *ob;
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool done;
	int rc;
} load_req;

static bool load_one(void *arg, uint64_t tid, uint64_t id, const rec_webhook *w)
{
	outbox *ob = arg;
	if (!w) {
		log_error("outbox.endpoint_corrupt", "tid=%llu endpoint=%llu", (unsigned long long)tid,
			  (unsigned long long)id);
		return true;
	}
	return snap_set(ob, tid, id, w->events, w->active, false) == 0;
}

/* Reads every endpoint into the snapshot, on the writer thread. */
static int load_apply(wr_req *w, store_txn *tx)
{
	load_req *r = container_of(w, load_req, w);
	return outbox_webhook_each(tx, 0, load_one, r->ob);
}

static void load_done(wr_req *w, int rc)
{
	load_req *r = container_of(w, load_req, w);
	pthread_mutex_lock(&r->m);
	r->rc = rc;
	r->done = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->m);
}

int sink_start(outbox *ob)
{
	app *a = ob->app;
	writer_hook h = { .after_batch = after_batch, .on_exit = on_writer_exit, .ctx = ob };
	if (writer_add_hook(a->wr, &h) < 0)
		return -1;
	ob->hooked = true;
	emit_sink s = { "webhooks", sink_in_txn, ob };
	if (emit_register(a, &s) < 0)
		return -1;
	load_req r = { .w = { .apply = load_apply, .done = load_done }, .ob = ob };
	pthread_mutex_init(&r.m, NULL);
	pthread_cond_init(&r.cv, NULL);
	writer_submit(a->wr, &r.w);
	pthread_mutex_lock(&r.m);
	while (!r.done)
		pthread_cond_wait(&r.cv, &r.m);
	pthread_mutex_unlock(&r.m);
	pthread_mutex_destroy(&r.m);
	pthread_cond_destroy(&r.cv);
	if (r.rc)
		log_error("outbox.load", "err=\"%s\"", store_strerror(r.rc));
	return r.rc ? -1 : 0;
}
