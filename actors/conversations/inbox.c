/* inbox — the tenant inbox stream actor; see inbox.h for the guarantee. */
#include "net/ws.h"
#include "actors/conversations/inbox.h"
#include "actors/kit/app.h"
#include "actors/kit/registry.h"
#include "actors/kit/address.h"
#include "actors/kit/perm.h"
#include "actors/conversations/view.h"
#include "core/id.h"
#include "core/log.h"
#include "storage/conv_store.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	conn_ref ref;
	uint8_t role;         /* enum role */
	uint64_t uid;
} isub;

typedef struct {
	actor a;
	app *app;
	uint64_t tid;
	bool loaded;
	uint64_t published;   /* highest cursor published */
	isub *subs;
	int nsubs, capsubs;
} inbox_actor;

static const char *type_names[IB__COUNT] = { "conversation.created", "conversation.updated" };

static void handle(actor *self, actor_msg *msg);

inbox_msg *inbox_msg_new(int type)
{
	inbox_msg *m = calloc(1, sizeof *m);
	if (m)
		m->hdr.type = type;
	return m;
}

static void msg_free(inbox_msg *m)
{
	rbuf_unref(&m->frame);
	free(m);
}

actor *inbox_actor_new(void *ctx, uint64_t tid, uint64_t unused)
{
	app *a = ctx;
	inbox_actor *ia = calloc(1, sizeof *ia);
	if (!ia)
		return NULL;
	ia->app = a;
	ia->tid = tid;
	actor_init(&ia->a, a->rt, handle, 0);
	return &ia->a;
}

void inbox_actor_free(actor *act)
{
	inbox_actor *ia = container_of(act, inbox_actor, a);
	free(ia->subs);
	free(ia);
}

void inbox_send(app *a, uint64_t tid, inbox_msg *m)
{
	if (actor_deliver(a, actor_at(AK_INBOX, tid, 0), &m->hdr, true) != ACTOR_OK) {
		reply_error(a, &m->reply, 500, "internal", "out of memory");
		msg_free(m);
	}
}

json_t *inbox_frame(uint64_t cursor, int type, const rec_conv *c)
{
	return json_pack("{s:s,s:I,s:s,s:o}", "type", "inbox", "cursor", (json_int_t)cursor, "event",
			 type_names[type < IB__COUNT ? type : 0], "conversation", view_conv(c));
}

static void load(inbox_actor *ia)
{
	store_txn t;
	if (store_read(ia->app->db, &t))
		return;
	uint64_t last;
	if (convstore_inbox_last(&t, ia->tid, &last) == 0)
		ia->published = last;
	store_done(&t);
	ia->loaded = true;
}

static bool same(conn_ref a, conn_ref b)
{
	return a.loop == b.loop && a.slot == b.slot && a.gen == b.gen;
}

static void drop(inbox_actor *ia, conn_ref ref)
{
	for (int i = 0; i < ia->nsubs; i++)
		if (same(ia->subs[i].ref, ref)) {
			ia->subs[i] = ia->subs[--ia->nsubs];
			return;
		}
}

/* Posts b to every subscriber, or with c to those who may read c (or
 * could before its assignee changed from prev_assignee). */
static void fan(inbox_actor *ia, rbuf *b, const rec_conv *c, uint64_t prev_assignee)
{
	if (!b)
		return;
	for (int i = 0; i < ia->nsubs; i++) {
		isub *s = &ia->subs[i];
		if (c && !perm_conv_visible(s->role, s->uid, c) &&
		    !(s->role == ROLE_AGENT && (prev_assignee == 0 || prev_assignee == s->uid)))
			continue;
		ws_post(ia->app->http, s->ref, b);
	}
}

/* Posts b to the subscribers of at least min_role (0: none by role) and
 * to user uid's (0: nobody by id). */
static void fan_some(inbox_actor *ia, rbuf *b, uint8_t min_role, uint64_t uid)
{
	if (!b)
		return;
	for (int i = 0; i < ia->nsubs; i++) {
		isub *s = &ia->subs[i];
		if ((min_role && s->role >= min_role) || (uid && s->uid == uid))
			ws_post(ia->app->http, s->ref, b);
	}
}

/* A replay walk: posts each entry with its conversation as it is now;
 * last follows every entry seen, decodable or not. */
typedef struct {
	app *a;
	store_txn *t;
	uint64_t tid;
	conn_ref conn;
	uint8_t role;
	uint64_t uid;
	uint64_t last;
} replay_walk;

static bool replay_step(void *arg, uint64_t cursor, const rec_inbox *ie)
{
	replay_walk *r = arg;
	rec_conv conv;
	if (ie && convstore_get(r->t, r->tid, ie->cid, &conv) == 0 && perm_conv_visible(r->role, r->uid, &conv)) {
		rbuf *b = reply_encode(inbox_frame(cursor, ie->type, &conv));
		if (b) {
			ws_post(r->a->http, r->conn, b);
			rbuf_unref(&b);
		}
	}
	r->last = cursor;
	return true;
}

static void on_subscribe(inbox_actor *ia, inbox_msg *m)
{
	app *a = ia->app;
	store_txn t;
	if (store_read(a->db, &t)) {
		reply_error(a, &m->reply, 500, "internal", "storage unavailable");
		return;
	}
	replay_walk r = { a, &t, ia->tid, m->conn, m->role, m->uid, m->after };
	int rc = convstore_each_inbox(&t, ia->tid, m->after, ia->published, INBOX_REPLAY_MAX, replay_step, &r);
	store_done(&t);
	if (rc && rc != STORE_ELIMIT) {
		reply_error(a, &m->reply, 500, "internal", "storage unavailable");
		return;
	}
	bool more = rc == STORE_ELIMIT;
	uint64_t last = r.last;
	if (!more) {
		last = ia->published > m->after ? ia->published : m->after;
		drop(ia, m->conn);
		if (ia->nsubs == ia->capsubs) {
			int cap = ia->capsubs ? ia->capsubs * 2 : 8;
			isub *s = realloc(ia->subs, (size_t)cap * sizeof *s);
			if (!s) {
				reply_error(a, &m->reply, 500, "internal", "out of memory");
				return;
			}
			ia->subs = s;
			ia->capsubs = cap;
		}
		ia->subs[ia->nsubs++] = (isub){ m->conn, m->role, m->uid };
	}
	reply_ack(a, &m->reply, json_pack("{s:I,s:b}", "last", (json_int_t)last, "more", more));
}

static void handle(actor *self, actor_msg *msg)
{
	inbox_actor *ia = container_of(self, inbox_actor, a);
	inbox_msg *m = (inbox_msg *)msg;
	if (!ia->loaded)
		load(ia);
	switch (m->hdr.type) {
	case IM_SUBSCRIBE:
		on_subscribe(ia, m);
		break;
	case IM_UNSUBSCRIBE:
		drop(ia, m->conn);
		break;
	case IM_EVENT:
		if (m->cursor > ia->published) {
			ia->published = m->cursor;
			rbuf *b = reply_encode(inbox_frame(m->cursor, m->type, &m->conv));
			fan(ia, b, &m->conv, m->prev_assignee);
			rbuf_unref(&b);
		}
		break;
	case IM_NOTICE:
		if (m->role || m->uid)
			fan_some(ia, m->frame, m->role, m->uid);
		else
			fan(ia, m->frame, NULL, 0);
		break;
	case IM_LIVE:
		if (ia->nsubs) {   /* encoded only when someone watches the inbox */
			char ids[24];
			rbuf *b = reply_encode(json_pack(
				"{s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "type", "inbox", "event", "conversation.message",
				"conversation_id", id_str(m->conv.id, ids), "seq", (json_int_t)m->seq, "preview",
				m->conv.lm_text, "sender_type", rec_sender_name(m->sender_type), "assignee_id",
				view_id(m->conv.assignee_id)));
			fan(ia, b, &m->conv, m->conv.assignee_id);
			rbuf_unref(&b);
		}
		break;
	}
	if (m->reply.kind != REPLY_NONE)
		reply_error(ia->app, &m->reply, 500, "internal", "unanswered request");
	msg_free(m);
}

void inbox_broadcast(app *a, uint64_t tid, json_t *frame)
{
	rbuf *b = reply_encode(frame);
	inbox_msg *m = b ? inbox_msg_new(IM_NOTICE) : NULL;
	if (!m) {
		rbuf_unref(&b);
		return;
	}
	m->frame = b;
	inbox_send(a, tid, m);
}

void inbox_broadcast_to(app *a, uint64_t tid, json_t *frame, int min_role, uint64_t uid)
{
	rbuf *b = reply_encode(frame);
	inbox_msg *m = b ? inbox_msg_new(IM_NOTICE) : NULL;
	if (!m) {
		rbuf_unref(&b);
		return;
	}
	m->frame = b;
	m->role = (uint8_t)(min_role > 0 ? min_role : 0);
	m->uid = uid;
	if (!m->role && !uid)
		m->role = ROLE__COUNT;   /* nobody: not everyone */
	inbox_send(a, tid, m);
}
