/* desk — the messages of the support desk's routing, between conversation
 * actors (AK_CONV), department actors (AK_DEPT) and agent actors
 * (AK_AGENT), all sent with actor_deliver (kit/address.h).
 *
 * Owners, so that no decision needs a lock:
 *   - a conversation actor owns its assignment: it alone writes who has the
 *     conversation, so a conversation is never assigned twice;
 *   - an agent actor owns the agent's presence and load (open
 *     conversations assigned to the agent + offers it has accepted and not
 *     yet heard back on), so an agent never goes over capacity;
 *   - a department actor owns its waiting queue (ordered priority, then
 *     longest wait) and the choice of whom to offer the head of it to.
 *
 * The routing of one waiting conversation:
 *   conv  --DK_ENQUEUE-->  dept                 (created waiting, moved to
 *                                                the department, reopened
 *                                                unassigned, handed back)
 *   dept  --DK_OFFER-->    agent                (an online, not-away member
 *                                                by the policy)
 *   agent: load < capacity and online → load += 1 (reserved), then
 *   agent --CM_ROUTE-->    conv                 (conversations/conv.h)
 *   conv: still waiting, unassigned, in that department → writes the
 *   assignment (status open), then after the commit
 *   conv  --DK_ROUTED(ok)--> agent              (the reservation becomes load)
 *   else
 *   conv  --DK_ROUTED(!ok)--> agent             (the reservation is dropped)
 *   agent --DK_OFFER_DONE(accepted/refused)--> dept   (refused: the next agent)
 *   A conversation leaving the queue any other way (picked up, assigned by
 *   hand, resolved, closed, moved) is told with DK_DEQUEUE by its actor.
 *
 * Load: after every committed change of a conversation's assignee or of
 * whether it counts (status not resolved/closed), the conversation actor
 * sends DK_LOAD (-1 to the old agent, +1 to the new) — except for a routed
 * assignment, whose DK_ROUTED(ok) is the +1.
 *
 * Capacity frees (DK_LOAD -1, coming online, back from away, capacity
 * raised): the agent actor sends DK_AGENT_STATE to each of its departments,
 * which offer their queue heads at once. No periodic sweep routes anything.
 *
 * At start, before the listener opens, the desk rebuilds from the stores:
 * each agent's load (from the conversations not resolved/closed, walked by
 * status, never by history) and each department's queue (DK_INIT).
 */
#ifndef PARLEY_DESK_H
#define PARLEY_DESK_H

#include <stdbool.h>
#include <stdint.h>
#include "actors/kit/reply.h"
#include "core/actor.h"
#include "net/conn.h"
#include "storage/records.h"

struct app;

enum desk_msg_type {
	/* to a department actor (AK_DEPT, tenant, department id) */
	DK_ENQUEUE = 100,  /* cid waits: priority, since_ms */
	DK_DEQUEUE,        /* cid left the queue */
	DK_OFFER_DONE,     /* from an agent: the offer of cid was accepted (ok) or refused */
	DK_AGENT_STATE,    /* from an agent: uid's state, load, capacity */
	DK_RELOAD,         /* the department's settings or members changed: read them again */
	/* to an agent actor (AK_AGENT, tenant, user id) */
	DK_OFFER,          /* from a department: take cid? */
	DK_ROUTED,         /* from a conversation: the routed assignment of cid committed (ok) or not */
	DK_LOAD,           /* from a conversation: delta (+1/-1) to the agent's open conversations */
	DK_PRESENCE,       /* from the realtime layer or REST: an agent socket opened/closed, a heartbeat, away/online set */
	DK_AGENT_RELOAD,   /* capacity, departments, role or active flag changed: read the user again */
	/* to either, at start */
	DK_INIT,           /* the rebuilt state: agents get load; departments get their queue, one DK_ENQUEUE each after */
};

/* DK_PRESENCE: what happened. */
enum desk_presence_event {
	DPE_SOCKET_OPEN = 0,   /* an agent WebSocket authenticated */
	DPE_SOCKET_CLOSE,      /* … closed */
	DPE_HEARTBEAT,         /* POST /v1/presence/heartbeat */
	DPE_SET_AWAY,          /* the agent set away by hand */
	DPE_SET_ONLINE,        /* the agent set online by hand */
};

typedef struct desk_msg {
	actor_msg hdr;                     /* first: type = enum desk_msg_type */
	reply_to reply;                    /* a request from REST/realtime that wants an answer (else unset) */
	uint64_t cid;                      /* the conversation */
	uint64_t dept;                     /* the department (DK_OFFER, DK_OFFER_DONE, DK_ROUTED) */
	uint64_t uid;                      /* the agent (DK_OFFER_DONE, DK_AGENT_STATE) */
	uint8_t priority;                  /* DK_ENQUEUE: enum conv_priority as set on the conversation */
	int64_t since_ms;                  /* DK_ENQUEUE: waiting since */
	bool ok;                           /* DK_OFFER_DONE, DK_ROUTED */
	int32_t delta;                     /* DK_LOAD */
	uint8_t state;                     /* DK_AGENT_STATE: enum presence_state; DK_PRESENCE: enum desk_presence_event */
	uint32_t load, capacity;           /* DK_AGENT_STATE; DK_INIT (agents): load */
	conn_ref conn;                     /* DK_PRESENCE: the socket */
} desk_msg;

/* Allocates a zeroed message of a type; NULL on OOM. */
desk_msg *desk_msg_new(int type);
void desk_msg_free(desk_msg *m);

/* Sends m to the department (tid, dept) or the agent (tid, uid); takes m
 * (freed on failure, never lost silently: a full mailbox is forced, these
 * messages are small and bounded by the conversations that exist).
 * 0 or -1 (no desk running, or OOM). */
int desk_to_dept(struct app *a, uint64_t tid, uint64_t dept, desk_msg *m);
int desk_to_agent(struct app *a, uint64_t tid, uint64_t uid, desk_msg *m);

#endif
