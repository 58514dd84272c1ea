/* session — one realtime connection (docs/realtime.md) as the frame
 * handlers of every feature see it: its principal, its subscriptions, and
 * helpers to answer with an ack or an error frame.
 *
 * The WebSocket endpoints, authentication and the dispatch through the
 * frame table (kit/feature.h) are actors/realtime/; the frames themselves
 * live in their features' folders. All of it runs on the connection's
 * I/O thread.
 */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "actors/kit/app.h"
#include "actors/kit/auth.h"
#include "net/conn.h"

/* Most conversations one connection may subscribe to. */
#define RT_MAX_SUBS 1000

struct rt_session {
	app *app;
	conn *c;
	bool widget;              /* the visitor endpoint */
	uint64_t widget_tid;      /* its tenant */
	bool authed;
	bool inbox;               /* subscribed to the tenant inbox */
	principal who;
	uint64_t *subs;           /* conversations subscribed to */
	int nsubs, capsubs;
	uint64_t checked[8];      /* conversations recently found accessible (a
				   * conversation never changes tenant or visitor) */
	unsigned nchecked;
};

typedef struct rt_session rt_session;

/* Sends v (consumed) as a text frame. */
void rt_send_json(conn *c, json_t *v);

/* {"type":"error","id":id,"error":{"code","message","field"}} (id/field optional). */
void rt_error(conn *c, const char *id, const char *code, const char *msg, const char *field);

/* {"type":"ack","id":id,...fields} (fields consumed; nothing without an id). */
void rt_ack(conn *c, const char *id, json_t *fields);

/* Field readers: answer invalid_field themselves and return -1 when the
 * field is missing/malformed (rt_uint_field: absent = 0). */
int rt_id_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out);
int rt_uint_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out);
int rt_str_field(conn *c, const char *id, json_t *f, const char *name, size_t min, size_t max,
		 const char **out);

/* The session's conversation subscriptions (closing it ends them). */
bool rt_has_sub(rt_session *s, uint64_t cid);
int rt_add_sub(rt_session *s, uint64_t cid);     /* -1 when RT_MAX_SUBS are reached or OOM */
void rt_remove_sub(rt_session *s, uint64_t cid);

#endif
