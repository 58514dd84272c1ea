/* conv — the conversation actor (see conv.h for its messages).
 *
 * Why an actor per conversation: the sequence number must be gap-free and
 * assigned exactly once per client_id, and every subscriber must see events
 * in that order. With the actor as the only place that assigns seqs and the
 * only place that publishes, both follow from running one message at a time
 * — no lock, and no background job deciding order.
 *
 * Durability before visibility: a new event goes to the storage writer
 * (storage/writer.h) as one change of the conversation store
 * (storage/conv_store.h): the event, the conversation record, its indexes
 * and (for lifecycle changes) the inbox entry, all in one transaction.
 * Only when the writer reports the commit does the actor acknowledge the
 * sender and publish the event, encoded once per audience (agents;
 * visitors, who never see notes) into shared buffers posted to each
 * subscriber's I/O thread. Writes are pipelined: the actor keeps assigning
 * seqs while earlier writes are in flight; commits come back in submission
 * order, so publication stays in seq order.
 *
 * Gap safety: each write checks inside the transaction that the stored
 * last_seq is the one it follows. If a write that adds events fails, every
 * later in-flight write of this conversation fails that check too, so
 * nothing after a hole is ever stored; the actor then reloads its state
 * from LMDB and clients retry with the same client_id. A failed receipt
 * adds no event, so the write after it may still commit (with the
 * receipt's change in its record): committed, it is acknowledged and
 * published like any other.
 */
#include "net/ws.h"
#include "actors/conversations/conv.h"
#include "actors/kit/app.h"
#include "actors/kit/perm.h"
#include "actors/kit/address.h"
#include "actors/kit/audit.h"
#include "actors/kit/desk.h"
#include "actors/conversations/cidset.h"
#include "actors/conversations/rating.h"
#include "actors/conversations/due.h"
#include "actors/conversations/inbox.h"
#include "actors/conversations/lcache.h"
#include "actors/conversations/tools.h"
#include "actors/kit/registry.h"
#include "actors/conversations/view.h"
#include "core/clock.h"
#include "core/jw.h"
#include "core/log.h"
#include "storage/account_store.h"
#include "storage/conv_store.h"
#include "storage/rating_store.h"
#include "storage/dept_store.h"
#include "storage/tools_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op_kind { OP_CREATE, OP_MESSAGE, OP_STATUS, OP_ASSIGN, OP_RECEIPT,
	       OP_ROUTE,     /* an assignment by routing (CM_ROUTE): answered with DK_ROUTED */
	       OP_QUEUE,     /* the offline flag of a waiting conversation (CM_QUEUE) */
	       OP_DUE,       /* a due entry moved on, nothing else (CM_DUE: active since) */
	       OP_TRANSFER,  /* to an agent and/or a department, with a reason */
	       OP_TAG, OP_ATTRS, /* the agents' tools (tools.h): agent-only events */
	       OP_RATE,      /* the visitor's rating (CM_RATE) */
	       OP_PROFILE,   /* the visitor's profile changed (CM_PROFILE) */
};

typedef struct waiter {
	struct waiter *next;
	reply_to reply;
	bool http_view;
	uint8_t after;             /* on `after` lists: enum after_kind */
} waiter;

/* How a request whose change writes in flight already make is answered
 * once they commit (never before: an answer promises a durable state). */
enum after_kind { AFTER_VIEW, AFTER_ACK };

typedef struct conv_write {
	wr_req w;                  /* storage request */
	actor_msg done;            /* CM_COMMITTED back to the actor */
	struct conv_write *next;   /* actor's in-flight list */
	struct conv_actor *ca;
	int rc;
	uint8_t kind;              /* enum op_kind */
	uint64_t prev_seq;         /* stored last_seq this write follows */
	uint64_t prev_assignee;    /* the assignee before this write (inbox scope) */
	rec_conv before;           /* the record before this write (desk messages) */
	rec_conv conv;             /* the record after this write */
	rec_event *ev[2];
	int nev;
	bool inbox;
	uint8_t inbox_type;
	uint64_t inbox_cursor;     /* assigned inside the transaction */
	reply_to reply;
	bool http_view;
	waiter *dups;              /* same client_id sent again while in flight */
	waiter *after;             /* no-op changes answered when this commits */
	bool receipt_read;         /* OP_RECEIPT */
	uint64_t reader;           /* OP_RECEIPT: the agent who read (their mentions here are read) */
	uint8_t receipt_side;
	rec_rating *rating;        /* OP_RATE: the rating record, malloc'ed */
	uint64_t route_dept;       /* OP_ROUTE: the offering department */
	principal who;             /* OP_ASSIGN, OP_TRANSFER: the caller (the audit row) */
} conv_write;

typedef struct {
	conn_ref ref;
	uint8_t aud;               /* enum audience */
	uint8_t pkind;             /* principal kind of the subscriber */
	uint8_t role;              /* agents: their role (kit/perm.h) */
	uint64_t pid;              /* principal id */
} sub;

typedef struct conv_actor {
	actor a;
	app *app;
	uint64_t tid, cid;
	int8_t loaded;             /* 0 unknown, 1 exists, -1 absent */
	bool stale;                /* a write failed: reload when idle */
	rec_conv rec;              /* state including in-flight writes */
	uint64_t published;        /* highest seq acknowledged and published */
	int inflight;
	conv_write *pend_head, *pend_tail;
	sub *subs;
	int nsubs, capsubs;
	cidset cids;               /* client ids of the latest stored messages */
	int idle_ticks;            /* sweeps seen since the last real message */
	uint64_t default_dept;     /* the tenant's default department, once read (records with dept_id 0) */
	uint64_t auto_close_s;     /* the tenant's, read when the actor loads (and again when one is due) */
	atomic_bool retirable;     /* idle: on_idle may retire the actor */
} conv_actor;

static void handle(actor *self, actor_msg *msg);
static void on_idle(actor *self);
static rbuf *event_rbuf(const rec_event *e);

conv_msg *conv_msg_new(int type)
{
	conv_msg *m = calloc(1, sizeof *m);
	if (m) {
		m->hdr.type = type;
		m->status = m->priority = CONV_KEEP;
	}
	return m;
}

void conv_msg_free(conv_msg *m)
{
	if (!m)
		return;
	free(m->text);
	free(m->files);
	free(m);
}

actor *conv_actor_new(void *ctx, uint64_t tid, uint64_t cid)
{
	app *a = ctx;
	conv_actor *ca = calloc(1, sizeof *ca);
	if (!ca)
		return NULL;
	ca->app = a;
	ca->tid = tid;
	ca->cid = cid;
	cidset_init(&ca->cids, (size_t)a->cfg.dedupe_window);
	actor_init(&ca->a, a->rt, handle, a->cfg.conv_mailbox);
	ca->a.on_idle = on_idle;
	return &ca->a;
}

void conv_actor_free(actor *act)
{
	conv_actor *ca = container_of(act, conv_actor, a);
	free(ca->subs);
	cidset_clear(&ca->cids);
	free(ca);
}

int conv_send(app *a, uint64_t tid, uint64_t cid, conv_msg *m)
{
	int rc = actor_deliver(a, actor_at(AK_CONV, tid, cid), &m->hdr, m->hdr.type == CM_UNSUBSCRIBE);
	if (rc == ACTOR_OK)
		return 0;
	if (rc == ACTOR_EFULL)
		reply_error(a, &m->reply, 503, "busy", "conversation busy, retry with the same client_id");
	else
		reply_error(a, &m->reply, 500, "internal", "out of memory");
	conv_msg_free(m);
	return -1;
}

/* ---------- state ---------- */

/* The walk back of load_client_ids: ids of the newest messages that carry one. */
typedef struct {
	uint64_t *hs, *ss;         /* hashes and seqs, newest first */
	size_t want, got;
} cid_walk;

static bool cid_step(void *arg, uint64_t seq, const rec_event *e)
{
	cid_walk *w = arg;
	if (w->got == w->want)
		return false;
	if (e && e->client_id[0]) {
		w->hs[w->got] = cidset_hash(e->client_id, strlen(e->client_id));
		w->ss[w->got] = seq;
		w->got++;
	}
	return w->got < w->want;
}

/* Rebuilds the in-memory client-id set from the conversation's latest
 * events: walks back from the newest until the window is full, then adds
 * the ids oldest first (the set forgets in the order it was given). The
 * cost of an activation is bounded by the window, not by the length of the
 * conversation. */
static int load_client_ids(conv_actor *ca, store_txn *t)
{
	cidset_clear(&ca->cids);
	/* no more ids than events */
	cid_walk w = { .want = ca->cids.window };
	if (ca->rec.last_seq < w.want)
		w.want = ca->rec.last_seq ? (size_t)ca->rec.last_seq : 1;
	w.hs = malloc(w.want * sizeof *w.hs);
	w.ss = malloc(w.want * sizeof *w.ss);
	int out = -1;
	if (w.hs && w.ss && convstore_each_event_back(t, ca->tid, ca->cid, cid_step, &w) == 0)
		out = 0;
	while (w.got > 0 && out == 0) {
		w.got--;
		out = cidset_add(&ca->cids, w.hs[w.got], w.ss[w.got]);
	}
	free(w.hs);
	free(w.ss);
	return out;
}

/* The tenant's auto-close setting (0: never, or no such tenant). */
static uint64_t read_auto_close(store_txn *t, uint64_t tid)
{
	rec_tenant *tn = malloc(sizeof *tn);
	uint64_t s = tn && account_tenant_get(t, tid, tn) == 0 ? tn->auto_close_s : 0;
	free(tn);
	return s;
}

static int load(conv_actor *ca)
{
	store_txn t;
	if (store_read(ca->app->db, &t))
		return -1;
	ca->auto_close_s = read_auto_close(&t, ca->tid);
	int rc = convstore_get(&t, ca->tid, ca->cid, &ca->rec);
	if (rc == 0) {
		ca->loaded = 1;
		ca->published = ca->rec.last_seq;
		rc = load_client_ids(ca, &t);
	} else if (rc == STORE_ENOTFOUND) {
		ca->loaded = -1;
		memset(&ca->rec, 0, sizeof ca->rec);
		ca->published = 0;
	} else {
		rc = -1;
	}
	store_done(&t);
	return rc == STORE_ENOTFOUND ? 0 : rc;
}

/* The id of tenant tid's default department (0: none, as before
 * departments); reads it in a read transaction of its own. */
static uint64_t default_dept(app *a, uint64_t tid)
{
	store_txn t;
	rec_dept *d = malloc(sizeof *d);
	uint64_t id = 0;
	if (d && store_read(a->db, &t) == 0) {
		if (deptstore_default(&t, tid, d) == 0)
			id = d->id;
		store_done(&t);
	}
	free(d);
	return id;
}

static sub *find_sub(conv_actor *ca, conn_ref ref)
{
	for (int i = 0; i < ca->nsubs; i++)
		if (ca->subs[i].ref.loop == ref.loop && ca->subs[i].ref.slot == ref.slot &&
		    ca->subs[i].ref.gen == ref.gen)
			return &ca->subs[i];
	return NULL;
}

static void drop_sub(conv_actor *ca, conn_ref ref)
{
	sub *s = find_sub(ca, ref);
	if (s)
		*s = ca->subs[--ca->nsubs];
}

static int add_sub(conv_actor *ca, sub s)
{
	sub *old = find_sub(ca, s.ref);
	if (old) {
		*old = s;
		return 0;
	}
	if (ca->nsubs == ca->capsubs) {
		int cap = ca->capsubs ? ca->capsubs * 2 : 4;
		sub *n = realloc(ca->subs, (size_t)cap * sizeof *n);
		if (!n)
			return -1;
		ca->subs = n;
		ca->capsubs = cap;
	}
	ca->subs[ca->nsubs++] = s;
	return 0;
}

/* Posts b to every subscriber of audience mask (bit 0 visitor, bit 1 agent),
 * except the principal (kind, id) when given. */
static void fanout(conv_actor *ca, rbuf *b, unsigned mask, uint8_t except_kind, uint64_t except_id)
{
	if (!b)
		return;
	for (int i = 0; i < ca->nsubs; i++) {
		sub *s = &ca->subs[i];
		if (!(mask & (1u << s->aud)))
			continue;
		if (except_kind && s->pkind == except_kind && s->pid == except_id)
			continue;
		ws_post(ca->app->http, s->ref, b);
	}
}

/* ---------- storage ---------- */

/* The domain events of a write (kit/emit.h), handed to the sinks inside
 * its transaction, after the store has written: one per change, the most
 * specific name (a status change to resolved or closed is
 * conversation.resolved, any other conversation.updated). A sink's
 * failure fails the whole transaction. */
static int emit_changes(app *a, store_txn *tx, const conv_write *op)
{
	app_event ev = { .tid = op->conv.tid, .conv = &op->conv, .event = op->ev[0],
			 .at_ms = op->nev ? op->ev[0]->created_ms : op->conv.updated_ms };
	int rc = 0;
	switch (op->kind) {
	case OP_CREATE:
		ev.type = EV_CONVERSATION_CREATED;
		ev.first = op->nev > 1 ? op->ev[1] : NULL;
		rc = emit_in_txn(a, tx, &ev);
		ev.first = NULL;
		if (rc == 0 && op->nev > 1) {
			ev.type = EV_MESSAGE_CREATED;
			ev.event = op->ev[1];
			rc = emit_in_txn(a, tx, &ev);
		}
		break;
	case OP_MESSAGE:
		ev.type = EV_MESSAGE_CREATED;
		rc = emit_in_txn(a, tx, &ev);
		if (rc == 0 && op->inbox) {   /* the visitor's message reopened it */
			ev.type = EV_CONVERSATION_UPDATED;
			rc = emit_in_txn(a, tx, &ev);
		}
		break;
	case OP_STATUS:
		ev.type = op->conv.status == CS_RESOLVED || op->conv.status == CS_CLOSED ? EV_CONVERSATION_RESOLVED
											: EV_CONVERSATION_UPDATED;
		rc = emit_in_txn(a, tx, &ev);
		break;
	case OP_ASSIGN:
	case OP_ROUTE:
		ev.type = EV_CONVERSATION_ASSIGNED;
		rc = emit_in_txn(a, tx, &ev);
		break;
	case OP_TRANSFER:
		ev.type = EV_CONVERSATION_TRANSFERRED;
		rc = emit_in_txn(a, tx, &ev);
		break;
	case OP_RATE:
		ev.type = EV_RATING_CREATED;
		ev.rating = op->rating;
		rc = emit_in_txn(a, tx, &ev);
		break;
	default:   /* receipts, the queue's offline flag, due entries: no webhook event (kit/emit.h) */
		ev.type = EV_CONV_WRITTEN;
		ev.event = NULL;
		rc = emit_in_txn(a, tx, &ev);
		break;
	}
	return rc == 0 || rc == STORE_EFULL || rc == STORE_ENOMEM ? rc : STORE_EIO;
}

/* The audit row of an assignment or a transfer (kit/audit.h), in the
 * change's transaction: who (the system for a routed one), from and to
 * whom, the department after it, the reason. */
static int audit_change(app *a, store_txn *tx, const conv_write *op)
{
	const rec_event *e = op->ev[0];
	char from[24], to[24], dept[24];
	json_t *d = json_pack("{s:s?,s:s?,s:s?}", "from", op->before.assignee_id ? id_str(op->before.assignee_id, from) : NULL,
			      "to", op->conv.assignee_id ? id_str(op->conv.assignee_id, to) : NULL, "department_id",
			      op->conv.dept_id ? id_str(op->conv.dept_id, dept) : NULL);
	if (d && op->kind == OP_TRANSFER)
		json_object_set_new(d, "reason", json_string(e->text));
	int rc = audit_json(a, tx, op->conv.tid, op->kind == OP_ROUTE ? NULL : &op->who,
			    op->kind == OP_TRANSFER ? "conversation.transfer" : "conversation.assign", "conversation",
			    op->conv.id, d);
	return rc == 0 || rc == STORE_EFULL || rc == STORE_ENOMEM ? rc : STORE_EIO;
}

static int apply(wr_req *w, store_txn *tx)
{
	conv_write *op = container_of(w, conv_write, w);
	if (op->kind == OP_CREATE && op->nev)   /* the created event keeps its department (analytics) */
		op->ev[0]->dept_id = op->conv.dept_id;
	convstore_change ch = {
		.kind = op->kind == OP_CREATE ? CONVSTORE_CREATE : CONVSTORE_UPDATE,
		.prev_seq = op->prev_seq,
		.conv = &op->conv,
		.ev = op->ev,
		.nev = op->nev,
		.inbox_type = op->inbox_type,
		.inbox_cursor = op->inbox ? &op->inbox_cursor : NULL,
	};
	/* a rating is stored once per conversation: checked before anything
	 * of this request is written */
	rec_rating had;
	int rc = op->rating ? rating_get(tx, op->rating->tid, op->rating->cid, &had) : STORE_ENOTFOUND;
	if (rc != STORE_ENOTFOUND)
		return rc == 0 ? STORE_EEXISTS : rc;
	rc = convstore_write(tx, &ch);
	if (rc == 0 && op->rating)
		rc = rating_put(tx, op->rating);
	/* cached conversation lists of this tenant rendered before this
	 * transaction stop being served (lcache.h); marked before the commit */
	if (rc == 0)
		lc_touch(op->ca->app->lists, op->conv.tid, store_txn_id(tx));
	for (int i = 0; rc == 0 && i < op->nev; i++)   /* tags, attributes, mentions (tools.h) */
		rc = conv_tools_apply(tx, op->ev[i]);
	if (rc == 0 && op->reader)
		rc = mention_clear(tx, op->conv.tid, op->reader, op->conv.id, NULL);
	if (rc == 0 && op->ca->app->nsinks)
		rc = emit_changes(op->ca->app, tx, op);
	if (rc == 0 && (op->kind == OP_ASSIGN || op->kind == OP_ROUTE || op->kind == OP_TRANSFER))
		rc = audit_change(op->ca->app, tx, op);
	return rc;
}

/* Writer thread, after commit: inbox entries go to the tenant's inbox actor
 * here, in commit (= cursor) order; then the result goes to our actor. */
static void write_done(wr_req *w, int rc)
{
	conv_write *op = container_of(w, conv_write, w);
	op->rc = rc;
	if (rc == 0 && op->inbox) {
		inbox_msg *im = inbox_msg_new(IM_EVENT);
		if (im) {
			im->cursor = op->inbox_cursor;
			im->type = op->inbox_type;
			im->conv = op->conv;
			im->prev_assignee = op->prev_assignee;
			inbox_send(op->ca->app, op->conv.tid, im);
		}
	}
	op->done.type = CM_COMMITTED;
	actor_send_force(&op->ca->a, &op->done);
}

static conv_write *op_new(conv_actor *ca, int kind)
{
	conv_write *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->ca = ca;
	op->kind = (uint8_t)kind;
	op->prev_seq = ca->rec.last_seq;
	op->prev_assignee = ca->rec.assignee_id;
	op->before = ca->rec;
	op->conv = ca->rec;
	op->w.apply = apply;
	op->w.done = write_done;
	return op;
}

static void free_waiters(waiter *w)
{
	while (w) {
		waiter *n = w->next;
		free(w);
		w = n;
	}
}

static void op_free(conv_write *op)
{
	for (int i = 0; i < op->nev; i++)
		free(op->ev[i]);
	free_waiters(op->dups);
	free_waiters(op->after);
	free(op->rating);
	free(op);
}

static rec_event *op_event(conv_write *op, int kind, const principal *who)
{
	rec_event *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->tid = op->conv.tid;
	e->cid = op->conv.id;
	e->seq = ++op->conv.last_seq;
	e->kind = (uint8_t)kind;
	/* an API key writes as an agent, under the key's id and name */
	e->sender_type = who->kind == P_VISITOR ? ST_VISITOR : principal_is_staff(who) ? ST_AGENT : ST_SYSTEM;
	e->sender_id = who->id;
	strcpy(e->sender_name, who->name);
	e->created_ms = clock_now_ms();
	op->conv.updated_ms = e->created_ms;
	op->ev[op->nev++] = e;
	return e;
}

/* The conversation's entry in the due-time index after a change: a
 * snoozed one is due when its snooze ends; any other but a closed one,
 * when the tenant closes inactive conversations, after that long without
 * activity — lazily: an auto-close entry stays where it is while messages
 * come (CM_DUE finds it early and moves it on), so a message writes no
 * index entry. */
static void plan_due(conv_actor *ca, rec_conv *c)
{
	if (c->status == CS_SNOOZED) {
		c->due_ms = c->snooze_until_ms;
		c->due_kind = DUE_SNOOZE_END;
	} else if (c->status == CS_CLOSED || !ca->auto_close_s) {
		c->due_ms = 0;
		c->due_kind = DUE_NONE;
	} else if (c->due_kind != DUE_AUTO_CLOSE || !c->due_ms) {
		c->due_ms = c->updated_ms + (int64_t)ca->auto_close_s * 1000;
		c->due_kind = DUE_AUTO_CLOSE;
	}
}

/* Hands op to the writer; the actor's view now includes it. */
static void submit(conv_actor *ca, conv_write *op)
{
	plan_due(ca, &op->conv);
	ca->rec = op->conv;
	if (ca->pend_tail)
		ca->pend_tail->next = op;
	else
		ca->pend_head = op;
	ca->pend_tail = op;
	ca->inflight++;
	writer_submit(ca->app->wr, &op->w);
}

/* A request that changes nothing beyond what the actor's view already
 * holds: answered now when nothing is in flight, else when the last write
 * in flight commits (with an error if it fails), since that view includes
 * writes not yet durable. */
static void answer_noop(conv_actor *ca, conv_msg *m, uint8_t how)
{
	app *a = ca->app;
	if (!ca->pend_tail) {
		if (how == AFTER_VIEW)
			reply_json(a, &m->reply, 200, view_conv(&ca->rec));
		else
			reply_ack(a, &m->reply, NULL);
		return;
	}
	waiter *w = calloc(1, sizeof *w);
	if (!w) {
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	w->reply = m->reply;
	w->after = how;
	m->reply.kind = REPLY_NONE;
	w->next = ca->pend_tail->after;
	ca->pend_tail->after = w;
}

/* ---------- message handlers ---------- */

/* Moves c to status st at now. An unassigned conversation that would be
 * open waits in its department's queue instead (reopened, handed back,
 * snooze ended); leaving the queue clears its waiting time and flag. */
static void enter_status(rec_conv *c, uint8_t st, int64_t now)
{
	if (st == CS_OPEN && !c->assignee_id)
		st = CS_WAITING;
	if (st == CS_WAITING && c->status != CS_WAITING)
		c->waiting_since_ms = now;
	if (st != CS_WAITING) {
		c->waiting_since_ms = 0;
		c->offline = false;
	}
	c->status = st;
}

static bool final(uint8_t st)
{
	return st == CS_RESOLVED || st == CS_CLOSED;
}

/* Moves c to status st at now (enter_status) with its times: snoozed
 * until `until`; resolved (or closed straight away) sets resolved_ms and
 * resolution_s, closed closed_ms; leaving resolved/closed is a reopen
 * (reopened_ms; the first response counts again from there). */
static void set_status(rec_conv *c, uint8_t st, int64_t until, int64_t now)
{
	bool was_final = final(c->status);
	enter_status(c, st, now);
	c->snooze_until_ms = c->status == CS_SNOOZED ? until : 0;
	if (final(c->status)) {
		if (!c->resolved_ms) {
			c->resolved_ms = now;
			c->resolution_s = now > c->created_ms ? (uint64_t)(now - c->created_ms) / 1000 : 0;
		}
		if (c->status == CS_CLOSED && !c->closed_ms)
			c->closed_ms = now;
		if (c->status == CS_RESOLVED)
			c->closed_ms = 0;
	} else {
		c->resolved_ms = 0;
		c->closed_ms = 0;
		if (was_final) {
			c->reopened_ms = now;
			c->first_response_ms = 0;
			c->first_response_s = 0;
		}
	}
}

static void set_preview(rec_conv *c, const rec_event *e)
{
	c->lm_seq = e->seq;
	c->lm_sender = e->sender_type;
	c->lm_ms = e->created_ms;
	if (!e->text[0] && e->files.n) {
		/* a message of files alone: its preview names the first */
		char p[REC_PREVIEW_MAX + 1];
		int n = snprintf(p, sizeof p, "Attachment: %s", e->files.f[0].name);
		rec_strcpy(c->lm_text, sizeof c->lm_text, p, n < 0 ? 0 : (size_t)n < sizeof p ? (size_t)n : sizeof p - 1);
		return;
	}
	rec_strcpy(c->lm_text, sizeof c->lm_text, e->text, strlen(e->text));
}

static void on_create(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != -1) {
		reply_error(a, &m->reply, 409, "conflict", "conversation exists");
		return;
	}
	conv_write *op = op_new(ca, OP_CREATE);
	if (!op) {
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	rec_conv *c = &op->conv;
	memset(c, 0, sizeof *c);
	memset(&op->before, 0, sizeof op->before);
	c->tid = ca->tid;
	c->id = ca->cid;
	c->visitor_id = m->visitor.id;
	strcpy(c->visitor_name, m->visitor.name);
	strcpy(c->visitor_email, m->visitor.email);
	/* a new conversation waits in its department's queue */
	c->status = CS_WAITING;
	c->priority = CP_MEDIUM;
	c->created_ms = clock_now_ms();
	c->waiting_since_ms = c->created_ms;
	c->dept_id = m->dept;
	if (!c->dept_id)
		c->dept_id = default_dept(a, ca->tid);
	op->prev_seq = 0;
	op_event(op, EK_CREATED, &m->who);
	if (m->text) {
		rec_event *e = op_event(op, EK_MESSAGE, &m->who);
		if (e) {
			rec_strcpy(e->text, sizeof e->text, m->text, m->text_len);
			strcpy(e->client_id, m->client_id);
			set_preview(c, e);
		}
	}
	if (!op->ev[0] || (m->text && op->nev < 2)) {
		op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	op->inbox = true;
	op->inbox_type = IB_CREATED;
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	ca->loaded = 1;   /* tentatively; reverted if the write fails */
	submit(ca, op);
}

static void ack_seq(app *a, reply_to *r, uint64_t seq, bool dup, const rec_event *e, bool http_view)
{
	if (r->kind == REPLY_HTTP) {
		json_t *body = json_pack("{s:I,s:b}", "seq", (json_int_t)seq, "duplicate", dup);
		if (e && http_view)
			json_object_set_new(body, "event", view_event(e));
		reply_json(a, r, dup ? 200 : 201, body);
	} else if (r->kind == REPLY_WS && r->has_id) {
		/* the per-message ack, written directly (hot path) */
		buf b = { 0 };
		buf_puts(&b, "{\"type\":\"ack\",\"id\":");
		jw_cstr(&b, r->id);
		buf_puts(&b, ",\"seq\":");
		jw_u64(&b, seq);
		buf_puts(&b, dup ? ",\"duplicate\":true}" : ",\"duplicate\":false}");
		rbuf *rb = b.data ? rbuf_new(b.data, b.len) : NULL;
		buf_free(&b);
		if (rb) {
			ws_post(a->http, r->ref, rb);
			rbuf_unref(&rb);
		}
		reply_done(a, r);
	} else {
		reply_ack(a, r, NULL);
	}
}

/* The seq of the stored event carrying client_id (0 if none); 0 or -1. */
static int stored_seq(conv_actor *ca, const char *client_id, uint64_t *seq)
{
	uint64_t cands[8];
	size_t n = cidset_find(&ca->cids, cidset_hash(client_id, strlen(client_id)), cands, 8);
	*seq = 0;
	if (!n)
		return 0;
	store_txn t;
	if (store_read(ca->app->db, &t))
		return -1;
	rec_event *e = malloc(sizeof *e);
	for (size_t i = 0; e && i < n && !*seq; i++)
		if (convstore_event(&t, ca->tid, ca->cid, cands[i], e) == 0 && strcmp(e->client_id, client_id) == 0)
			*seq = cands[i];
	free(e);
	store_done(&t);
	return 0;
}

static void on_send(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	/* 1. in flight with the same client_id: answer when it commits */
	for (conv_write *p = ca->pend_head; p; p = p->next) {
		for (int i = 0; i < p->nev; i++) {
			if (p->ev[i]->client_id[0] && strcmp(p->ev[i]->client_id, m->client_id) == 0) {
				waiter *w = calloc(1, sizeof *w);
				if (!w) {
					reply_error(a, &m->reply, 500, "internal", "out of memory");
					return;
				}
				w->reply = m->reply;
				w->http_view = m->http_view;
				m->reply.kind = REPLY_NONE;
				w->next = p->dups;
				p->dups = w;
				return;
			}
		}
	}
	/* 2. already stored: candidates from the in-memory set, confirmed by
	 * reading their events */
	uint64_t seq = 0;
	int rc = stored_seq(ca, m->client_id, &seq);
	if (rc < 0) {
		reply_error(a, &m->reply, 500, "internal", "storage unavailable");
		return;
	}
	if (seq) {
		a->msgs_duplicate++;
		ack_seq(a, &m->reply, seq, true, NULL, false);
		return;
	}
	/* 3. new: assign the next seq and store (mentioned agents must be
	 * able to read the conversation as it is now) */
	tool_err te;
	if (m->mentions.n && !conv_tools_mentions_ok(a, &ca->rec, &m->mentions, &te)) {
		reply_error(a, &m->reply, te.status, te.code, te.msg);
		return;
	}
	conv_write *op = op_new(ca, OP_MESSAGE);
	rec_event *e = op ? op_event(op, m->flag ? EK_NOTE : EK_MESSAGE, &m->who) : NULL;
	if (!e) {
		if (op)
			op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	rec_strcpy(e->text, sizeof e->text, m->text, m->text_len);
	strcpy(e->client_id, m->client_id);
	if (m->files)
		e->files = *m->files;
	if (m->flag)
		e->mentions = m->mentions;
	rec_conv *c = &op->conv;
	if (!m->flag) {
		set_preview(c, e);
		if (principal_is_staff(&m->who) && !c->first_response_ms) {
			/* the first answer since creation or the last reopen */
			int64_t from = c->reopened_ms ? c->reopened_ms : c->created_ms;
			c->first_response_ms = e->created_ms;
			c->first_response_s = e->created_ms > from ? (uint64_t)(e->created_ms - from) / 1000 : 0;
		}
		/* a visitor writing into a finished conversation reopens it */
		if (m->who.kind == P_VISITOR && c->status != CS_OPEN && c->status != CS_WAITING) {
			set_status(c, CS_OPEN, 0, e->created_ms);
			op->inbox = true;
			op->inbox_type = IB_UPDATED;
		}
		/* an agent answering counts as having read what came before */
		if (principal_is_staff(&m->who) && c->agent_read_seq < e->seq - 1)
			c->agent_read_seq = c->agent_delivered_seq = e->seq - 1;
	}
	op->reply = m->reply;
	op->http_view = m->http_view;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

/* A replay walk: posts each event to the subscriber (notes not to a
 * visitor); last and n count every event seen, decodable or not. */
typedef struct {
	app *a;
	conn_ref conn;
	bool visitor;
	uint64_t last;
	size_t n;
} replay_walk;

static bool replay_step(void *arg, uint64_t seq, const rec_event *e)
{
	replay_walk *r = arg;
	if (e && !(r->visitor && view_event_agents_only(e->kind))) {
		rbuf *b = event_rbuf(e);
		if (b) {
			ws_post(r->a->http, r->conn, b);
			rbuf_unref(&b);
		}
	}
	r->last = seq;
	r->n++;
	return true;
}

static bool desk_on(const app *a);
static uint64_t dept_of(conv_actor *ca, const rec_conv *c);
static void desk_queue(conv_actor *ca, int type, uint64_t dept, const rec_conv *c);

static void on_subscribe(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	replay_walk r = { a, m->conn, m->audience == AUD_VISITOR, m->seq, 0 };
	bool more = false;
	/* A read transaction begun while a commit is being written may, with
	 * LMDB 0.9.24, see the snapshot before it: if the events up to
	 * `published` are not all visible yet, read again from where we are. */
	for (int attempt = 0; attempt < 100 && !more && r.last < ca->published; attempt++) {
		store_txn t;
		int rc = store_read(a->db, &t);
		if (rc == 0)
			rc = convstore_each_event(&t, ca->tid, ca->cid, r.last, ca->published,
						  CONV_REPLAY_MAX - r.n, replay_step, &r);
		store_done(&t);
		if (rc == STORE_ELIMIT) {
			more = true;
		} else if (rc) {
			reply_error(a, &m->reply, 500, "internal", "storage unavailable");
			return;
		}
	}
	uint64_t last = r.last;
	if (!more && last < ca->published) {
		reply_error(a, &m->reply, 503, "busy", "storage snapshot lagging; subscribe again");
		return;
	}
	if (!more) {
		last = ca->published > m->seq ? ca->published : m->seq;
		sub s = { m->conn, m->audience, m->who.kind, (uint8_t)role_parse(m->who.role), m->who.id };
		if (add_sub(ca, s) < 0) {
			reply_error(a, &m->reply, 500, "internal", "out of memory");
			return;
		}
	}
	char ids[24];
	reply_ack(a, &m->reply, json_pack("{s:s,s:I,s:b}", "conversation_id", id_str(ca->cid, ids),
					  "last_seq", (json_int_t)last, "more", more));
	/* a visitor subscribing to a waiting conversation hears its place
	 * again: a re-enqueue makes its department send it (actors/desk) */
	if (!more && m->audience == AUD_VISITOR && ca->rec.status == CS_WAITING && desk_on(a))
		desk_queue(ca, DK_ENQUEUE, dept_of(ca, &ca->rec), &ca->rec);
}

static void on_typing(conv_actor *ca, conv_msg *m)
{
	if (ca->loaded != 1)
		return;
	char ids[24];
	const char *st = m->who.kind == P_VISITOR ? "visitor" : "agent";
	rbuf *b = reply_encode(json_pack("{s:s,s:s,s:{s:s,s:o,s:s},s:b}", "type", "typing",
					 "conversation_id", id_str(ca->cid, ids), "sender", "type", st,
					 "id", view_id(m->who.id), "name", m->who.name, "state", m->flag));
	fanout(ca, b, m->who.kind == P_VISITOR ? 2u : 3u, m->who.kind, m->who.id);
	rbuf_unref(&b);
	reply_ack(ca->app, &m->reply, NULL);
}

static rbuf *receipt_frame(conv_actor *ca, uint8_t side)
{
	char ids[24];
	const rec_conv *c = &ca->rec;
	bool v = side == AUD_VISITOR;
	return reply_encode(json_pack("{s:s,s:s,s:s,s:I,s:I}", "type", "receipt", "conversation_id",
				      id_str(ca->cid, ids), "side", v ? "visitor" : "agent",
				      "delivered_seq", (json_int_t)(v ? c->visitor_delivered_seq : c->agent_delivered_seq),
				      "read_seq", (json_int_t)(v ? c->visitor_read_seq : c->agent_read_seq)));
}

static void on_receipt(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	bool visitor = m->who.kind == P_VISITOR;
	uint64_t seq = m->seq < ca->rec.last_seq ? m->seq : ca->rec.last_seq;
	conv_write *op = op_new(ca, OP_RECEIPT);
	if (!op) {
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	uint64_t *del = visitor ? &op->conv.visitor_delivered_seq : &op->conv.agent_delivered_seq;
	uint64_t *rd = visitor ? &op->conv.visitor_read_seq : &op->conv.agent_read_seq;
	bool changed = false;
	if (*del < seq) {
		*del = seq;
		changed = true;
	}
	if (m->flag && *rd < seq) {
		*rd = seq;
		changed = true;
	}
	if (!changed) {
		op_free(op);
		answer_noop(ca, m, AFTER_ACK);
		return;
	}
	op->receipt_side = visitor ? AUD_VISITOR : AUD_AGENT;
	op->receipt_read = m->flag;
	op->reader = m->flag && m->who.kind == P_AGENT ? m->who.id : 0;   /* their mentions here are read */
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

/* CM_TAG and CM_ATTRS: agent-only events (conversations/tools.h). */
static void on_tool(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	rec_ids tags = ca->rec.tags;
	bool changed = true;
	tool_err te;
	if (m->hdr.type == CM_TAG && conv_tools_tags(a, &ca->rec, m->target, m->flag, &tags, &changed, &te) < 0) {
		reply_error(a, &m->reply, te.status, te.code, te.msg);
		return;
	}
	if (!changed) {
		answer_noop(ca, m, AFTER_VIEW);
		return;
	}
	conv_write *op = op_new(ca, m->hdr.type == CM_TAG ? OP_TAG : OP_ATTRS);
	rec_event *e = op ? op_event(op, m->hdr.type == CM_TAG ? EK_TAG : EK_ATTRS, &m->who) : NULL;
	if (!e) {
		if (op)
			op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	e->tag_id = m->target;
	e->flag = m->flag;
	if (m->text)
		rec_strcpy(e->text, sizeof e->text, m->text, m->text_len);
	op->conv.tags = tags;
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

static void on_status(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	int64_t now = clock_now_ms();
	const rec_conv *r = &ca->rec;
	uint8_t st = m->status, pr = m->priority;
	if (st == CS_WAITING) {
		reply_error(a, &m->reply, 400, "invalid_status", "waiting is set by the server only");
		return;
	}
	if ((st != CONV_KEEP && st >= CS__COUNT) || (pr != CONV_KEEP && pr >= CP__COUNT)) {
		reply_error(a, &m->reply, 400, "invalid_field", "unknown status or priority");
		return;
	}
	if (st == CS_SNOOZED && m->until_ms <= now) {
		reply_error(a, &m->reply, 400, "snooze_in_past", "snooze_until must be in the future");
		return;
	}
	/* open asked of an unassigned waiting conversation: it stays waiting */
	bool st_change = st != CONV_KEEP && st != r->status && !(st == CS_OPEN && r->status == CS_WAITING && !r->assignee_id);
	if (st == CS_SNOOZED && r->status == CS_SNOOZED && m->until_ms != r->snooze_until_ms)
		st_change = true;   /* snoozed again, until another time */
	bool pr_change = pr != CONV_KEEP && pr != r->priority;
	if (!st_change && !pr_change) {
		answer_noop(ca, m, AFTER_VIEW);
		return;
	}
	conv_write *op = op_new(ca, OP_STATUS);
	rec_event *e = op && st_change ? op_event(op, EK_STATUS, &m->who) : NULL;
	rec_event *pe = op && pr_change ? op_event(op, EK_PRIORITY, &m->who) : NULL;
	if (!op || (st_change && !e) || (pr_change && !pe)) {
		if (op)
			op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	if (st_change) {
		set_status(&op->conv, st, m->until_ms, now);
		e->status = op->conv.status;
	}
	if (pr_change) {
		op->conv.priority = pr;
		pe->priority = pr;
	}
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

/* Assigns to m->target (0 = nobody): the caller's role decides whether
 * they may (kit/perm.h), checked here against the current assignee so two
 * agents picking up the same conversation cannot both win. */
static void on_assign(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	int role = role_parse(m->who.role);
	if (!perm_conv_visible(role, m->who.id, &ca->rec)) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	if (!perm_may_assign(role, m->who.id, ca->rec.assignee_id, m->target)) {
		reply_error(a, &m->reply, 403, "forbidden",
			    ca->rec.assignee_id ? "assigned to someone else" : "agents may only pick up for themselves");
		return;
	}
	if (ca->rec.assignee_id == m->target) {
		answer_noop(ca, m, AFTER_VIEW);
		return;
	}
	conv_write *op = op_new(ca, OP_ASSIGN);
	rec_event *e = op ? op_event(op, EK_ASSIGNED, &m->who) : NULL;
	if (!e) {
		if (op)
			op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	e->assignee_id = m->target;
	strcpy(e->assignee_name, m->target_name);
	rec_strcpy(e->addr, sizeof e->addr, m->who.addr, strnlen(m->who.addr, sizeof m->who.addr));
	op->who = m->who;
	op->conv.assignee_id = m->target;
	strcpy(op->conv.assignee_name, m->target_name);
	if (m->target) {
		op->conv.assigned_ms = e->created_ms;
		if (op->conv.status == CS_WAITING)
			enter_status(&op->conv, CS_OPEN, e->created_ms);
	} else if (op->conv.status == CS_OPEN || op->conv.status == CS_PENDING) {
		enter_status(&op->conv, CS_WAITING, e->created_ms);   /* handed back: queued again */
	}
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

/* ---------- the desk (kit/desk.h) ---------- */

/* Desk messages go nowhere without the desk's registries (a build or a
 * test without routing): then they cost nothing, not even the reads. */
static bool desk_on(const app *a)
{
	return a->actors[AK_DEPT] || a->actors[AK_AGENT];
}

/* The department conversation c waits in: its own, or for records from
 * before departments (dept_id 0) the tenant's default (read once). */
static uint64_t dept_of(conv_actor *ca, const rec_conv *c)
{
	if (c->dept_id)
		return c->dept_id;
	if (!ca->default_dept)
		ca->default_dept = default_dept(ca->app, ca->tid);
	return ca->default_dept;
}

/* Whether c counts towards its assignee's load. */
static bool counts(const rec_conv *c)
{
	return c->assignee_id && c->status != CS_RESOLVED && c->status != CS_CLOSED;
}

static void desk_queue(conv_actor *ca, int type, uint64_t dept, const rec_conv *c)
{
	if (!dept)
		return;
	desk_msg *d = desk_msg_new(type);
	if (!d)
		return;
	d->cid = ca->cid;
	d->dept = dept;
	d->priority = c->priority;
	d->since_ms = c->waiting_since_ms;
	desk_to_dept(ca->app, ca->tid, dept, d);
}

static void desk_load(conv_actor *ca, uint64_t uid, int32_t delta)
{
	desk_msg *d = desk_msg_new(DK_LOAD);
	if (!d)
		return;
	d->cid = ca->cid;
	d->uid = uid;
	d->delta = delta;
	desk_to_agent(ca->app, ca->tid, uid, d);
}

static void desk_routed(conv_actor *ca, uint64_t uid, uint64_t dept, bool ok)
{
	if (!uid)
		return;
	desk_msg *d = desk_msg_new(DK_ROUTED);
	if (!d)
		return;
	d->cid = ca->cid;
	d->dept = dept;
	d->uid = uid;
	d->ok = ok;
	desk_to_agent(ca->app, ca->tid, uid, d);
}

/* After a committed write: what the desk must hear of the change from
 * op->before to op->conv. Load: -1 to an assignee who stops counting it,
 * +1 to one who starts (a routed assignment's +1 is its DK_ROUTED).
 * Queue: a conversation that stops waiting is dequeued (a routed one is
 * not: the agent's DK_OFFER_DONE tells the department); one that starts
 * waiting, moves department or changes priority while waiting is
 * (re)enqueued. */
static void desk_after(conv_actor *ca, const conv_write *op)
{
	if (op->kind == OP_ROUTE)
		desk_routed(ca, op->conv.assignee_id, op->route_dept, true);
	if (!desk_on(ca->app))
		return;
	const rec_conv *b = &op->before, *c = &op->conv;
	bool same = b->assignee_id == c->assignee_id;
	if (counts(b) && (!counts(c) || !same))
		desk_load(ca, b->assignee_id, -1);
	if (counts(c) && (!counts(b) || !same) && op->kind != OP_ROUTE)
		desk_load(ca, c->assignee_id, +1);
	bool was = op->kind != OP_CREATE && b->status == CS_WAITING, is = c->status == CS_WAITING;
	if (!was && !is)
		return;
	uint64_t d0 = was ? dept_of(ca, b) : 0, d1 = is ? dept_of(ca, c) : 0;
	if (was && (!is || d0 != d1) && op->kind != OP_ROUTE)
		desk_queue(ca, DK_DEQUEUE, d0, b);
	if (is && (!was || d0 != d1 || b->priority != c->priority || b->waiting_since_ms != c->waiting_since_ms))
		desk_queue(ca, DK_ENQUEUE, d1, c);
}

/* CM_ROUTE: an agent actor reserved capacity for this conversation and
 * asks for it. Granted only if it still waits, unassigned, in the
 * offering department; the answer is DK_ROUTED once the assignment is
 * durable (or at once when refused). */
static void on_route(conv_actor *ca, conv_msg *m)
{
	uint64_t uid = m->target;
	const rec_conv *r = &ca->rec;
	if (ca->loaded != 1 || !uid || r->status != CS_WAITING || r->assignee_id ||
	    dept_of(ca, r) != m->dept) {
		desk_routed(ca, uid, m->dept, false);
		return;
	}
	char name[REC_NAME_MAX + 1];
	strcpy(name, m->target_name);
	if (!name[0]) {   /* the agent actor may leave the name to us */
		store_txn t;
		rec_user *u = malloc(sizeof *u);
		if (u && store_read(ca->app->db, &t) == 0) {
			if (account_user_get(&t, ca->tid, uid, u) == 0)
				strcpy(name, u->name);
			store_done(&t);
		}
		free(u);
	}
	principal sys;
	memset(&sys, 0, sizeof sys);   /* the system assigns */
	conv_write *op = op_new(ca, OP_ROUTE);
	rec_event *e = op ? op_event(op, EK_ASSIGNED, &sys) : NULL;
	if (!e) {
		if (op)
			op_free(op);
		desk_routed(ca, uid, m->dept, false);
		return;
	}
	e->assignee_id = uid;
	strcpy(e->assignee_name, name);
	rec_conv *c = &op->conv;
	c->assignee_id = uid;
	strcpy(c->assignee_name, name);
	c->status = CS_OPEN;
	c->assigned_ms = e->created_ms;
	c->waiting_since_ms = 0;
	c->offline = false;
	op->route_dept = m->dept;
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	submit(ca, op);
}

/* CM_QUEUE: the department's word on the conversation's place in its
 * queue, passed to the visitor; the offline flag is stored when it
 * changes. Stale news (no longer waiting, or waiting in another
 * department than the one that sent it) is dropped. */
static void on_queue(conv_actor *ca, conv_msg *m)
{
	if (ca->loaded != 1 || ca->rec.status != CS_WAITING || (m->dept && dept_of(ca, &ca->rec) != m->dept))
		return;
	char ids[24];
	rbuf *b = reply_encode(json_pack("{s:s,s:s,s:I,s:I,s:b}", "type", "queue_position", "conversation_id",
					 id_str(ca->cid, ids), "position", (json_int_t)m->seq,
					 "estimated_wait_s", (json_int_t)m->wait_s, "offline", m->flag));
	fanout(ca, b, 1u, 0, 0);
	rbuf_unref(&b);
	if (ca->rec.offline == m->flag)
		return;
	conv_write *op = op_new(ca, OP_QUEUE);
	if (!op)
		return;
	op->conv.offline = m->flag;
	submit(ca, op);
}

/* CM_DUE: an entry of the due-time index came (until_ms = its time, seq =
 * its kind). Acted on only if the record still names it and its time has
 * come: a snooze ends (back to open, or waiting when unassigned); an
 * auto-close closes a conversation inactive that long, or — active since,
 * or the tenant's setting changed — moves the entry on. */
static void on_due(conv_actor *ca, conv_msg *m)
{
	const rec_conv *r = &ca->rec;
	int64_t now = clock_now_ms();
	if (ca->loaded != 1 || r->due_ms != m->until_ms || r->due_kind != m->seq || now < r->due_ms)
		return;
	principal sys;
	memset(&sys, 0, sizeof sys);   /* the system changes it */
	if (r->due_kind == DUE_AUTO_CLOSE) {
		store_txn t;
		if (store_read(ca->app->db, &t) == 0) {
			ca->auto_close_s = read_auto_close(&t, ca->tid);
			store_done(&t);
		}
		int64_t at = r->updated_ms + (int64_t)ca->auto_close_s * 1000;
		if (!ca->auto_close_s || at > now) {
			conv_write *op = op_new(ca, OP_DUE);
			if (!op)
				return;
			op->conv.due_ms = ca->auto_close_s ? at : 0;
			op->conv.due_kind = ca->auto_close_s ? DUE_AUTO_CLOSE : DUE_NONE;
			submit(ca, op);
			return;
		}
	} else if (r->due_kind != DUE_SNOOZE_END || r->status != CS_SNOOZED) {
		return;
	}
	conv_write *op = op_new(ca, OP_STATUS);
	rec_event *e = op ? op_event(op, EK_STATUS, &sys) : NULL;
	if (!e) {
		if (op)
			op_free(op);
		return;
	}
	set_status(&op->conv, r->due_kind == DUE_AUTO_CLOSE ? CS_CLOSED : CS_OPEN, 0, e->created_ms);
	e->status = op->conv.status;
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	submit(ca, op);
}

/* CM_TRANSFER: to agent m->target (0: nobody) and/or department m->dept
 * (0: stay), with a reason (m->text), checked by the route (the agent
 * active and a member of the department after it). The caller's role
 * decides as for an assignment; the transfer event and a system message
 * the visitor sees go in one write. To a department alone: unassigned,
 * waiting in it. */
static void on_transfer(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	int role = role_parse(m->who.role);
	/* as an assignment; and an unassigned conversation may move to
	 * another department's queue by anyone who may assign */
	bool moves_queue = !m->target && !ca->rec.assignee_id && role >= ROLE_AGENT && role < ROLE__COUNT;
	if (!moves_queue && !perm_may_assign(role, m->who.id, ca->rec.assignee_id, m->target)) {
		reply_error(a, &m->reply, 403, "forbidden",
			    ca->rec.assignee_id ? "assigned to someone else" : "agents may only pick up for themselves");
		return;
	}
	principal sys;
	memset(&sys, 0, sizeof sys);
	conv_write *op = op_new(ca, OP_TRANSFER);
	rec_event *e = op ? op_event(op, EK_TRANSFER, &m->who) : NULL;
	rec_event *sm = e ? op_event(op, EK_MESSAGE, &sys) : NULL;
	if (!sm) {
		if (op)
			op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	rec_conv *c = &op->conv;
	int64_t now = e->created_ms;
	e->from_id = c->assignee_id;
	e->assignee_id = m->target;
	strcpy(e->assignee_name, m->target_name);
	e->dept_id = m->dept ? m->dept : dept_of(ca, c);
	if (m->text)
		rec_strcpy(e->text, sizeof e->text, m->text, m->text_len < REC_REASON_MAX ? m->text_len : REC_REASON_MAX);
	rec_strcpy(e->addr, sizeof e->addr, m->who.addr, strnlen(m->who.addr, sizeof m->who.addr));
	/* what the visitor reads */
	char text[2 * REC_NAME_MAX + 32];
	if (m->target && m->dept_name[0])
		snprintf(text, sizeof text, "Transferred to %s (%s)", m->target_name, m->dept_name);
	else
		snprintf(text, sizeof text, "Transferred to %s", m->target ? m->target_name : m->dept_name[0] ? m->dept_name : "the team");
	rec_strcpy(sm->text, sizeof sm->text, text, strlen(text));
	set_preview(c, sm);
	c->dept_id = e->dept_id;
	c->assignee_id = m->target;
	strcpy(c->assignee_name, m->target_name);
	if (m->target) {
		c->assigned_ms = now;
		if (c->status == CS_WAITING)
			set_status(c, CS_OPEN, 0, now);
	} else if (c->status != CS_SNOOZED) {
		set_status(c, CS_OPEN, 0, now);   /* unassigned: waiting in the department */
	}
	op->who = m->who;
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

/* The visitor rates the conversation (rating.h decides whether they may,
 * against the state here, in-flight writes included): the rating record,
 * the score on the conversation and a rating event, in one write. */
static void on_rate(conv_actor *ca, conv_msg *m)
{
	app *a = ca->app;
	if (ca->loaded != 1 || m->who.kind != P_VISITOR || ca->rec.visitor_id != m->who.id) {
		reply_error(a, &m->reply, 404, "not_found", "no such conversation");
		return;
	}
	const char *code, *msg;
	if (ratings_refusal(&ca->rec, m->window_ms, clock_now_ms(), &code, &msg)) {
		reply_error(a, &m->reply, 409, code, msg);
		return;
	}
	conv_write *op = op_new(ca, OP_RATE);
	rec_event *e = op ? op_event(op, EK_RATING, &m->who) : NULL;
	rec_rating *r = e ? calloc(1, sizeof *r) : NULL;
	if (!r) {
		if (op)
			op_free(op);
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		return;
	}
	e->score = m->status;
	if (m->text)
		rec_strcpy(e->text, sizeof e->text, m->text, m->text_len);
	*r = (rec_rating){ .tid = ca->tid, .cid = ca->cid, .score = m->status, .visitor_id = m->who.id,
			   .agent_id = ca->rec.assignee_id, .dept_id = dept_of(ca, &ca->rec), .created_ms = e->created_ms };
	rec_strcpy(r->comment, sizeof r->comment, e->text, strlen(e->text));
	op->rating = r;
	op->conv.rating = m->status;
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	op->reply = m->reply;
	m->reply.kind = REPLY_NONE;
	submit(ca, op);
}

/* The visitor's profile changed (actors/visitors): the record takes the
 * new name and email; with flag, a profile event (agents only) records
 * the change. No reply. */
static void on_profile(conv_actor *ca, conv_msg *m)
{
	if (ca->loaded != 1 || ca->rec.visitor_id != m->visitor.id)
		return;
	bool same = strcmp(ca->rec.visitor_name, m->visitor.name) == 0 &&
		    strcmp(ca->rec.visitor_email, m->visitor.email) == 0;
	if (same && !m->flag)
		return;
	conv_write *op = op_new(ca, OP_PROFILE);
	if (!op)
		goto oom;
	rec_strcpy(op->conv.visitor_name, sizeof op->conv.visitor_name, m->visitor.name, strlen(m->visitor.name));
	rec_strcpy(op->conv.visitor_email, sizeof op->conv.visitor_email, m->visitor.email, strlen(m->visitor.email));
	if (m->flag) {
		rec_event *e = op_event(op, EK_PROFILE, &m->who);
		if (!e) {
			op_free(op);
			goto oom;
		}
		if (m->text)
			rec_strcpy(e->text, sizeof e->text, m->text, m->text_len);
	} else {
		op->conv.updated_ms = clock_now_ms();
	}
	op->inbox = true;
	op->inbox_type = IB_UPDATED;
	submit(ca, op);
	return;
oom:
	log_error("conv.profile", "tid=%llu cid=%llu msg=\"out of memory; the visitor's old name stays\"",
		  (unsigned long long)ca->tid, (unsigned long long)ca->cid);
}

/* ---------- commit results ---------- */

/* The realtime frame of an event in a shared buffer; NULL on OOM. */
static rbuf *event_rbuf(const rec_event *e)
{
	buf b = { 0 };
	rbuf *r = NULL;
	if (buf_reserve(&b, 256 + strlen(e->text)) == 0 && view_event_frame_write(e, &b) == 0)
		r = rbuf_new(b.data, b.len);
	buf_free(&b);
	return r;
}

static void publish(conv_actor *ca, conv_write *op)
{
	app *a = ca->app;
	for (int i = 0; i < op->nev; i++) {
		rec_event *e = op->ev[i];
		/* encode once: agents and visitors see the same frame, except
		 * that notes never go to visitors */
		rbuf *frame = event_rbuf(e);
		fanout(ca, frame, view_event_agents_only(e->kind) ? 2u : 3u, 0, 0);
		rbuf_unref(&frame);
		ca->published = e->seq;
		conv_tools_published(a, e);
		if (e->kind == EK_MESSAGE || e->kind == EK_NOTE)
			atomic_fetch_add_explicit(&a->msgs_stored, 1, memory_order_relaxed);
		if (e->kind == EK_MESSAGE) {
			/* live inbox notice: not stored, no cursor */
			inbox_msg *im = inbox_msg_new(IM_LIVE);
			if (im) {
				im->conv = op->conv;
				im->seq = e->seq;
				im->sender_type = e->sender_type;
				inbox_send(a, ca->tid, im);
			}
		}
	}
	if (op->before.assignee_id != op->conv.assignee_id) {
		/* agents who may no longer read it stop hearing of it (they saw
		 * the assignment itself above) */
		for (int i = 0; i < ca->nsubs;) {
			sub *s = &ca->subs[i];
			if (s->pkind == P_AGENT && !perm_conv_visible(s->role, s->pid, &op->conv))
				*s = ca->subs[--ca->nsubs];
			else
				i++;
		}
	}
	if (op->kind == OP_RECEIPT) {
		rbuf *b = receipt_frame(ca, op->receipt_side);
		fanout(ca, b, 3u, 0, 0);
		rbuf_unref(&b);
	}
}

static void answer(conv_actor *ca, conv_write *op)
{
	app *a = ca->app;
	switch (op->kind) {
	case OP_CREATE:
		reply_json(a, &op->reply, 201, view_conv(&op->conv));
		break;
	case OP_MESSAGE: {
		rec_event *e = op->ev[0];
		ack_seq(a, &op->reply, e->seq, false, e, op->http_view);
		break;
	}
	case OP_STATUS:
	case OP_ASSIGN:
	case OP_TRANSFER:
	case OP_TAG:
		reply_json(a, &op->reply, 200, view_conv(&op->conv));
		break;
	case OP_ATTRS: {
		json_t *v = conv_tools_attrs_answer(a, &op->conv);
		if (v)
			reply_json(a, &op->reply, 200, v);
		else
			reply_error(a, &op->reply, 500, "internal", "storage unavailable");
		break;
	}
	case OP_RATE:
		reply_json(a, &op->reply, 201, view_rating(op->rating, op->conv.assignee_name));
		break;
	case OP_PROFILE:   /* no one waits */
		break;
	case OP_RECEIPT:
		reply_ack(a, &op->reply, NULL);
		break;
	default:   /* from the desk: answered with desk messages */
		break;
	}
	/* resends of this write's message that came while it was in flight
	 * (a new message, or a creation's first one): the message is the
	 * write's last event, the only one with a client_id */
	for (waiter *w = op->dups; w; w = w->next)
		ack_seq(a, &w->reply, op->ev[op->nev - 1]->seq, true, NULL, false);
	for (waiter *w = op->after; w; w = w->next) {
		if (w->after == AFTER_VIEW)
			reply_json(a, &w->reply, 200, view_conv(&op->conv));
		else
			reply_ack(a, &w->reply, NULL);
	}
}

static void fail_op(conv_actor *ca, conv_write *op)
{
	app *a = ca->app;
	int status = op->rc == STORE_ECONFLICT || op->rc == STORE_EEXISTS ? 409 : 500;
	const char *msg = status == 409 ? "conflicting write, retry with the same client_id"
					: "storage failure, retry with the same client_id";
	reply_error(a, &op->reply, status, status == 409 ? "conflict" : "internal", msg);
	for (waiter *w = op->dups; w; w = w->next)
		reply_error(a, &w->reply, status, status == 409 ? "conflict" : "internal", msg);
	for (waiter *w = op->after; w; w = w->next)
		reply_error(a, &w->reply, status, status == 409 ? "conflict" : "internal",
			    status == 409 ? "conflicting write, retry" : "storage failure, retry");
	ca->stale = true;
}

static void on_committed(conv_actor *ca, conv_write *op)
{
	/* commits return in submission order: op is the head */
	ca->pend_head = op->next;
	if (!ca->pend_head)
		ca->pend_tail = NULL;
	ca->inflight--;
	/* A committed write is durable: acknowledged and published even after
	 * an earlier write failed. The seq check lets one through only when the
	 * failed writes added no event (a receipt), so it follows the stored
	 * seq with no hole. */
	if (op->rc == 0) {
		for (int i = 0; i < op->nev; i++) {
			const rec_event *e = op->ev[i];
			if (e->client_id[0] &&
			    cidset_add(&ca->cids, cidset_hash(e->client_id, strlen(e->client_id)), e->seq) < 0)
				ca->stale = true;   /* rebuilt from LMDB when idle */
		}
		publish(ca, op);
		answer(ca, op);
		desk_after(ca, op);
		if (op->conv.due_ms && (op->conv.due_ms != op->before.due_ms || op->conv.due_kind != op->before.due_kind))
			due_note(ca->app, op->conv.due_ms);
	} else {
		if (op->kind == OP_ROUTE)
			desk_routed(ca, op->conv.assignee_id, op->route_dept, false);
		fail_op(ca, op);
	}
	if (ca->stale && ca->inflight == 0) {
		log_warn("conv.reload", "tid=%llu cid=%llu rc=%d", (unsigned long long)ca->tid,
			 (unsigned long long)ca->cid, op->rc);
		ca->stale = false;
		load(ca);
	}
	op_free(op);
}

static void set_retirable(conv_actor *ca)
{
	atomic_store(&ca->retirable, ca->nsubs == 0 && ca->inflight == 0 && !ca->stale && ca->idle_ticks >= 2);
}

static void on_idle(actor *self)
{
	conv_actor *ca = container_of(self, conv_actor, a);
	app *a = ca->app;
	if (atomic_load(&ca->retirable) && registry_retire(a->convs, ca->tid, ca->cid, self))
		atomic_fetch_add(&a->convs_retired, 1);   /* ca is freed */
}

static void send_tick(actor *act, void *arg)
{
	conv_msg *m = conv_msg_new(CM_TICK);
	if (m)
		actor_send_force(act, &m->hdr);
}

void conv_sweep(app *a)
{
	registry_each(a->convs, send_tick, NULL);
}

static void handle(actor *self, actor_msg *msg)
{
	conv_actor *ca = container_of(self, conv_actor, a);
	if (msg->type == CM_COMMITTED) {
		ca->idle_ticks = 0;
		on_committed(ca, container_of(msg, conv_write, done));
		set_retirable(ca);
		return;
	}
	conv_msg *m = (conv_msg *)msg;
	if (m->hdr.type == CM_TICK) {
		ca->idle_ticks++;
		set_retirable(ca);
		conv_msg_free(m);
		return;
	}
	ca->idle_ticks = 0;
	if (ca->loaded == 0 && load(ca) < 0) {
		reply_error(ca->app, &m->reply, 500, "internal", "storage unavailable");
		conv_msg_free(m);
		return;
	}
	/* an agent (or an API key, by its scope's role) acts only on what
	 * their role lets them read now (the session caches access per
	 * conversation; the assignee may have changed since) */
	if (principal_is_staff(&m->who) && ca->loaded == 1 && m->hdr.type != CM_UNSUBSCRIBE &&
	    m->hdr.type != CM_PROFILE &&   /* about the visitor: the route checked the caller */
	    !perm_conv_visible(role_parse(m->who.role), m->who.id, &ca->rec)) {
		reply_error(ca->app, &m->reply, 404, "not_found", "no such conversation");
		conv_msg_free(m);
		set_retirable(ca);
		return;
	}
	switch (m->hdr.type) {
	case CM_CREATE: on_create(ca, m); break;
	case CM_SEND: on_send(ca, m); break;
	case CM_SUBSCRIBE: on_subscribe(ca, m); break;
	case CM_UNSUBSCRIBE: drop_sub(ca, m->conn); break;
	case CM_TYPING: on_typing(ca, m); break;
	case CM_RECEIPT: on_receipt(ca, m); break;
	case CM_STATUS: on_status(ca, m); break;
	case CM_ASSIGN: on_assign(ca, m); break;
	case CM_RATE: on_rate(ca, m); break;
	case CM_PROFILE: on_profile(ca, m); break;
	case CM_ROUTE: on_route(ca, m); break;
	case CM_QUEUE: on_queue(ca, m); break;
	case CM_DUE: on_due(ca, m); break;
	case CM_TRANSFER: on_transfer(ca, m); break;
	case CM_TAG:
	case CM_ATTRS: on_tool(ca, m); break;
	default: break;
	}
	if (m->reply.kind != REPLY_NONE)
		reply_error(ca->app, &m->reply, 500, "internal", "unanswered request");
	conv_msg_free(m);
	set_retirable(ca);
}
