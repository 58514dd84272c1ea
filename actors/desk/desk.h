/* desk — the support desk's department and agent actors (the protocol
 * between them and the conversations is actors/kit/desk.h).
 *
 * Both kinds stay resident once activated (no idle retirement): an agent
 * actor holds presence (sockets, heartbeats, away) and load that exist
 * nowhere else, a department actor its queue. Their registries are made
 * by actors/app/server.c with the constructors below; the desk feature's
 * start rebuilds loads and queues from the stores before the listener
 * opens (rebuild.c).
 *
 * Besides the messages of kit/desk.h they take DK_TIMER (a timer of
 * timer.c came due: cid = the tag it was armed with, state = which timer).
 * What REST reads without asking an actor is the board (board.c): each
 * agent's last state and each department's queue as its actor last
 * published them.
 */
#ifndef PARLEY_DESK_ACTORS_H
#define PARLEY_DESK_ACTORS_H

#include <stdbool.h>
#include <stdint.h>
#include "actors/kit/app.h"
#include "actors/kit/desk.h"

/* Internal message types of the desk actors (beside enum desk_msg_type). */
enum { DK_TIMER = 150 };

/* Which timer (desk_msg.state of DK_TIMER). */
enum { DT_HEARTBEAT = 1, DT_FLUSH, DT_OFFLINE_EMAIL, DT_HOURS };

/* A heartbeat keeps an agent without a socket online this long. */
#define DESK_HEARTBEAT_MS 120000
/* Queue events and positions go out at most this often per department. */
#define DESK_FLUSH_MS 200
/* Entries a queue event lists (the count says how many wait in all). */
#define DESK_EVENT_MAX 100

actor *desk_agent_new(void *app, uint64_t tid, uint64_t uid);
void desk_agent_free(actor *act);
actor *desk_dept_new(void *app, uint64_t tid, uint64_t did);
void desk_dept_free(actor *act);

/* ---- timer.c: one thread, timers that send DK_TIMER to an actor ---- */

/* Arms a one-shot timer: at due_ms (wall clock, clock_now_ms, when wall;
 * else monotonic ms) a DK_TIMER with cid = tag and state = which goes to
 * the actor (kind, tid, id). 0 or -1. */
int desk_timer_at(app *a, int kind, uint64_t tid, uint64_t id, int64_t due_ms, bool wall, int which,
		  uint64_t tag);
int64_t desk_mono_ms(void);

/* ---- board.c: what REST reads ---- */

typedef struct {
	uint8_t state;                 /* enum presence_state */
	uint32_t load, capacity;
	int64_t since_ms;              /* in this state since */
} desk_agent_view;

typedef struct {
	uint64_t cid;
	uint8_t priority;              /* as set on the conversation */
	int64_t since_ms;
	bool offline;
} desk_entry_view;

void desk_board_agent_set(app *a, uint64_t tid, uint64_t uid, const desk_agent_view *v);
/* false (and *v offline, load 0) when the agent has no actor yet. */
bool desk_board_agent_get(app *a, uint64_t tid, uint64_t uid, desk_agent_view *v);
/* Replaces the department's published queue (copied). */
void desk_board_queue_set(app *a, uint64_t tid, uint64_t did, const desk_entry_view *e, size_t n);
/* A copy of the published queue (*out malloc'ed, free it; NULL when empty). */
size_t desk_board_queue_get(app *a, uint64_t tid, uint64_t did, desk_entry_view **out);

/* The effective priority of an entry: the priority as set, raised by the
 * wait (< sla_medium_s low, < sla_high_s medium, else high). */
int desk_effective_priority(int priority, int64_t since_ms, int64_t now_ms, uint64_t sla_medium_s,
			    uint64_t sla_high_s);

/* The capacity an agent of stored max_chats has. */
uint32_t desk_capacity(app *a, uint64_t max_chats);

/* ---- the feature's state (a->desk) ---- */
int desk_runtime_start(app *a);
void desk_runtime_stop(app *a);
void desk_runtime_free(app *a);

/* rebuild.c: the start-up rebuild; 0 or -1. */
int desk_rebuild(app *a);

/* Frames to the tenant's consoles (through its inbox actor):
 * supervisors and up, and the agent uid's own sessions when uid. */
void desk_announce(app *a, uint64_t tid, uint64_t uid, json_t *frame);

#endif
