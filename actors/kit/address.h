/* address — actors are named by (kind, tenant, id), not by pointer.
 *
 * Every message between an I/O thread and an actor, and between actors,
 * is sent to an address and is a plain value: ids, fixed-size strings,
 * conn_ref / reply_to (loop, slot, generation), and at most one owned
 * buffer (a message's text) — nothing points into another actor's state,
 * so each could be encoded (msgpack) and carried to another node
 * (docs/architecture.md, "Several nodes"). The registry of each kind
 * activates an actor on its first message and retires it when idle.
 */
#ifndef PARLEY_ADDRESS_H
#define PARLEY_ADDRESS_H

#include <stdbool.h>
#include <stdint.h>
#include "core/actor.h"

struct app;

enum actor_kind {
	AK_CONV = 0,   /* a conversation: (tenant, conversation id) */
	AK_INBOX,      /* a tenant's inbox stream: (tenant, 0) */
	AK_DEPT,       /* a department: its queue and routing (tenant, department id); kit/desk.h */
	AK_AGENT,      /* an agent: presence and capacity (tenant, user id); kit/desk.h */
	AK__COUNT
};

typedef struct {
	uint8_t kind;          /* enum actor_kind */
	uint64_t tenant, id;
} actor_addr;

static inline actor_addr actor_at(int kind, uint64_t tenant, uint64_t id)
{
	return (actor_addr){ .kind = (uint8_t)kind, .tenant = tenant, .id = id };
}

/* Delivers m to the actor at `to` (activated if needed): ACTOR_OK, or
 * ACTOR_EFULL when its mailbox is at its bound (unless force), or -1 for
 * an unknown kind or out of memory; on failure m is not taken. */
int actor_deliver(struct app *a, actor_addr to, actor_msg *m, bool force);

#endif
