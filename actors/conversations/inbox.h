/* inbox — the tenant's inbox stream actor (one per tenant).
 *
 * Conversation lifecycle changes (created; status or assignee changed) are
 * stored in the tenant's inbox log with a cursor assigned in the same write
 * transaction as the change (storage writer, commit order). The writer's
 * completion hands each committed entry here in cursor order, so agents
 * subscribed to the inbox see entries in order, once, and resume from a
 * cursor after a reconnect (replay from LMDB up to what this actor has
 * published, then live) — the same guarantee as a conversation.
 * Each subscriber sees what its role lets it read (kit/perm.h): agents
 * the entries of unassigned conversations and their own, and the entry
 * that takes a conversation out of their scope (so the console can drop
 * it); replays and live messages are filtered the same way.
 * New messages are announced live only ("conversation.message", no cursor):
 * after a reconnect the console's list (last_seq per conversation) covers
 * them.
 */
#ifndef PARLEY_INBOX_H
#define PARLEY_INBOX_H

#include "actors/kit/reply.h"
#include "core/actor.h"
#include "core/rbuf.h"
#include "storage/records.h"

struct app;

enum inbox_msg_type { IM_SUBSCRIBE = 1, IM_UNSUBSCRIBE, IM_EVENT, IM_LIVE, IM_NOTICE };

#define INBOX_REPLAY_MAX 1000

typedef struct inbox_msg {
	actor_msg hdr;        /* first: type = enum inbox_msg_type */
	reply_to reply;       /* SUBSCRIBE */
	uint8_t role;         /* SUBSCRIBE: the subscriber's role (kit/perm.h); NOTICE: the least role it goes to (0: all) */
	uint64_t uid;         /* SUBSCRIBE: the subscriber; NOTICE: also to this user's sessions */
	uint64_t prev_assignee; /* EVENT: the assignee before the change */
	conn_ref conn;        /* SUBSCRIBE/UNSUBSCRIBE */
	uint64_t after;       /* SUBSCRIBE: last cursor seen */
	uint64_t cursor;      /* EVENT: its cursor */
	uint8_t type;         /* EVENT: enum inbox_type */
	rec_conv conv;        /* EVENT/LIVE: the conversation after the change */
	uint64_t seq;         /* LIVE: the new message's seq (conv holds the preview) */
	uint8_t sender_type;  /* LIVE */
	rbuf *frame;          /* NOTICE: the frame (a shared, immutable buffer the message owns a reference to) */
} inbox_msg;

/* Allocates a zeroed message. */
inbox_msg *inbox_msg_new(int type);

/* Sends to tenant tid's inbox actor (never refused: these are system
 * messages or bounded by the caller). */
void inbox_send(struct app *a, uint64_t tid, inbox_msg *m);

/* Sends a live frame, not stored and without a cursor, to every console
 * watching tenant tid's inbox (user.updated, tenant.updated); frame is
 * consumed. After a reconnect the console reloads what such frames
 * announce. */
void inbox_broadcast(struct app *a, uint64_t tid, json_t *frame);

/* The same for some of them: those whose role is at least min_role (enum
 * role, kit/perm.h; 0: none by role) and user uid's sessions (0: none by
 * id) — presence and queue events (actors/desk). */
void inbox_broadcast_to(struct app *a, uint64_t tid, json_t *frame, int min_role, uint64_t uid);

actor *inbox_actor_new(void *app, uint64_t tid, uint64_t unused);
void inbox_actor_free(actor *act);

/* The inbox frame for an entry. */
json_t *inbox_frame(uint64_t cursor, int type, const rec_conv *c);

#endif
