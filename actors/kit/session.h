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
	struct rt_session *prev, *next;  /* the loop's list of agent sessions */
	int loop;                 /* -1 until listed */
};

typedef struct rt_session rt_session;

/* Sends v (consumed) as a text frame. */
void rt_send_json(conn *c, json_t *v);

/* {"type":"error","id":id,"error":{"code","message","field"}} (id/field optional). */
void rt_error(conn *c, const char *id, const char *code, const char *msg, const char *field);

/* {"type":"ack","id":id,...fields} (fields consumed; nothing without an id). */
void rt_ack(conn *c, const char *id, json_t *fields);

/* ---- parsing (pure: no I/O; fuzzed by tests/fuzz/rt_frame_fuzz.c) ---- */

#define RT_ID_MAX 64   /* a frame's "id": 1 to 64 bytes */

typedef struct {
	const char *code;      /* "invalid_json", "invalid_frame", "invalid_field" */
	const char *field;     /* the field at fault, or NULL */
	char message[160];
} rt_err;

typedef struct {
	json_t *root;          /* the frame (caller json_decref's it, also after an error) */
	const char *type;      /* "" when the type holds a NUL */
	const char *id;        /* NULL when absent */
} rt_frame;

/* Parses one text frame: a JSON object with a string "type" and an
 * optional "id" of 1 to RT_ID_MAX bytes without NUL; 0, or -1 with *e
 * (f->id is set when it was valid). */
int rt_parse(const char *data, size_t len, rt_frame *f, rt_err *e);

/* Field readers: 0, or -1 with *e (invalid_field). An id is a decimal id
 * string; a uint an integer >= 0 (absent = 0); a string min..max bytes
 * without NUL. */
int rt_get_id(json_t *f, const char *name, uint64_t *out, rt_err *e);
int rt_get_uint(json_t *f, const char *name, uint64_t *out, rt_err *e);
int rt_get_str(json_t *f, const char *name, size_t min, size_t max, const char **out, rt_err *e);

/* The same readers, answering invalid_field themselves and return -1 when the
 * field is missing/malformed (rt_uint_field: absent = 0). */
int rt_id_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out);
int rt_uint_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out);
int rt_str_field(conn *c, const char *id, json_t *f, const char *name, size_t min, size_t max,
		 const char **out);

/* The session's conversation subscriptions (closing it ends them). */
bool rt_has_sub(rt_session *s, uint64_t cid);
int rt_add_sub(rt_session *s, uint64_t cid);     /* -1 when RT_MAX_SUBS are reached or OOM */
void rt_remove_sub(rt_session *s, uint64_t cid);

/* ---- a user's sessions ---- */

/* Lists an authenticated agent session on its I/O thread's list (loop
 * thread); rt_unlist removes it (on close). */
void rt_list(rt_session *s);
void rt_unlist(rt_session *s);

/* Ends every realtime session of user (tid, uid) on every I/O thread: an
 * error frame {"code":"unauthenticated","message":why} then close 1008, so
 * a deactivation, a password change or a role change takes effect on open
 * consoles at once (they reconnect and authenticate again). Any thread. */
void rt_end_user_sessions(app *a, uint64_t tid, uint64_t uid, const char *why);

#endif
