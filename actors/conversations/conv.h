/* conv — the conversation actor: the single owner of a conversation's
 * sequence, its subscribers and its live state.
 *
 * Messages (conv_msg.hdr.type):
 *   CM_CREATE      store a new conversation (+ optional first message) in department `dept` (0: the default)
 *   CM_SEND        store a message/note unless its client_id is known (in
 *                  flight, or among the last cfg.dedupe_window messages)
 *   CM_SUBSCRIBE   replay events after a seq, then subscribe (one step)
 *   CM_UNSUBSCRIBE drop a connection's subscription
 *   CM_TYPING      relay a typing indicator (not stored)
 *   CM_RECEIPT     store a delivered/read cursor, relay a receipt
 *   CM_STATUS      change status and/or priority (stored as status and
 *                  priority events): `status` and `priority`, CONV_KEEP
 *                  for unchanged; snoozed needs `until_ms` in the future
 *                  (else 400 snooze_in_past); waiting is the server's
 *                  (400 invalid_status)
 *   CM_ASSIGN      assign to a user or to nobody (stored as an assigned
 *                  event), if the caller's role allows it (kit/perm.h)
 *   CM_TRANSFER    to agent `target` (0: none) and/or department `dept`
 *                  (0: the current one), with a reason (`text`): a
 *                  transfer event and a system message the visitor sees
 *   CM_ROUTE       (from an agent actor, kit/desk.h) assign to `target` if
 *                  still waiting, unassigned and in department `dept`;
 *                  answered with DK_ROUTED to the agent, never a reply
 *   CM_QUEUE       (from a department actor) the conversation's place in
 *                  its queue changed: `seq` = position (1 = next), `wait_s`
 *                  = estimated wait, `flag` = offline; stores the offline
 *                  flag when it changes and sends the visitor's
 *                  subscribers a queue_position frame (docs/realtime.md)
 *   CM_TAG         add (flag) or remove tag `target` (conversations/tools.h): an
 *                  agent-only tag event, the record's tags and the tag index
 *   CM_ATTRS       set custom attributes (`text`: the JSON write, checked
 *                  before it is sent): an agent-only attrs event and the values
 *   CM_DUE         (from the due timer) a due-time entry of the conversation has come (storage: docs/storage.md)
 *   CM_RATE        (ratings) the visitor's rating: score in `status`, the
 *                  comment in `text`, the tenant's window in `window_ms`;
 *                  refused as rating.h says, else the rating record, the
 *                  score and a rating event in one write (rating.created)
 *   CM_PROFILE     (visitors) the visitor's profile changed: `visitor` holds
 *                  it, `text` the change (JSON); takes the new name and
 *                  email into the record and, with `flag`, stores a profile
 *                  event (agents only); no reply
 *   CM_COMMITTED   (internal) the writer committed or refused a write
 *   CM_TICK        (internal) the idle sweep
 * Passivation: an actor with no subscribers and no write in flight that
 * has seen two sweeps (app_config.conv_idle_ms apart / 2) and nothing else
 * retires: its on_idle hook removes it from the registry and frees it. Its
 * state is in LMDB; the next message activates a fresh one.
 * Contract: mailbox bound app_config.conv_mailbox (callers answer "busy"
 * on ACTOR_EFULL); the actor loads its record from LMDB on its first
 * message; every request message carries a reply_to answered exactly once.
 */
#ifndef PARLEY_CONV_H
#define PARLEY_CONV_H

#include "actors/kit/auth.h"
#include "actors/kit/reply.h"
#include "core/actor.h"
#include "storage/records.h"

struct app;

enum conv_msg_type {
	CM_CREATE = 1, CM_SEND, CM_SUBSCRIBE, CM_UNSUBSCRIBE, CM_TYPING, CM_RECEIPT,
	CM_STATUS, CM_ASSIGN, CM_COMMITTED,
	CM_ROUTE, CM_QUEUE, CM_DUE,
	CM_TRANSFER,
	CM_TAG, CM_ATTRS,
	CM_RATE, CM_PROFILE,
	CM_TICK,          /* (internal) idle sweep: an actor idle for two ticks retires */
};

enum audience { AUD_VISITOR = 0, AUD_AGENT = 1 };

/* Most replays at once; more → "more": true, not subscribed. */
#define CONV_REPLAY_MAX 1000

/* CM_STATUS: leave this one (status or priority) as it is. */
#define CONV_KEEP 0xff

typedef struct conv_msg {
	actor_msg hdr;                     /* first: type = enum conv_msg_type */
	reply_to reply;
	principal who;                     /* the caller */
	conn_ref conn;                     /* SUBSCRIBE/UNSUBSCRIBE/TYPING: the connection */
	uint8_t audience;                  /* SUBSCRIBE: enum audience */
	uint64_t seq;                      /* SUBSCRIBE: after_seq; RECEIPT: seq */
	bool flag;                         /* SEND: private; TYPING: state; RECEIPT: read (else delivered) */
	uint8_t status;                    /* STATUS: new status or CONV_KEEP */
	uint8_t priority;                  /* STATUS: new priority or CONV_KEEP */
	int64_t until_ms;                  /* STATUS to snoozed: until */
	bool http_view;                    /* SEND via REST: answer with the event */
	char client_id[REC_CLIENT_ID_MAX + 1];
	char *text;                        /* SEND/CREATE: malloc'ed, owned by the message; TRANSFER: the reason */
	size_t text_len;
	rec_files *files;                  /* SEND: attachments, malloc'ed and owned, or NULL (none) */
	rec_visitor visitor;               /* CREATE */
	uint64_t target;                   /* ASSIGN, TRANSFER, ROUTE: the new assignee (0 = nobody) */
	char target_name[REC_NAME_MAX + 1];
	uint64_t dept;                     /* CREATE: the chosen department (0: the default); ROUTE: the offering one;
	                                      TRANSFER: the target one (0: stay); QUEUE: the sender (0: any) */
	uint32_t wait_s;                   /* QUEUE: estimated wait */
	char dept_name[REC_NAME_MAX + 1];  /* TRANSFER: the target department's name (the system message) */
	rec_ids mentions;                  /* SEND: the agents a note mentions */
	int64_t window_ms;                 /* RATE: the tenant's rating window */
} conv_msg;

/* Allocates a zeroed message of a type; NULL on OOM. */
conv_msg *conv_msg_new(int type);

/* Frees a message and its text. */
void conv_msg_free(conv_msg *m);

/* Sends m to conversation (tid, cid); on failure answers m's reply with
 * 503 busy (or 500) and frees m. Returns 0 or -1. */
int conv_send(struct app *a, uint64_t tid, uint64_t cid, conv_msg *m);

/* Sends CM_TICK to every conversation actor (the idle sweep). */
void conv_sweep(struct app *a);

/* Registry constructor/destructor for conversation actors. */
actor *conv_actor_new(void *app, uint64_t tid, uint64_t cid);
void conv_actor_free(actor *act);

#endif
