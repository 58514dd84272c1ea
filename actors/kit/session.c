/* session — a realtime connection's state and the frame helpers every
 * feature's frame handlers use (see session.h). */
#include "actors/kit/session.h"
#include "net/ws.h"
#include "core/id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- replies from the I/O thread ---------- */

void rt_send_json(conn *c, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s) {
		ws_send(c, s, strlen(s));
		free(s);
	}
}

void rt_error(conn *c, const char *id, const char *code, const char *msg, const char *field)
{
	json_t *v = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", code, "message", msg);
	if (field)
		json_object_set_new(json_object_get(v, "error"), "field", json_string(field));
	if (id)
		json_object_set_new(v, "id", json_string(id));
	rt_send_json(c, v);
}

void rt_ack(conn *c, const char *id, json_t *fields)
{
	if (!id) {
		json_decref(fields);
		return;
	}
	json_t *v = fields ? fields : json_object();
	json_object_set_new(v, "type", json_string("ack"));
	json_object_set_new(v, "id", json_string(id));
	rt_send_json(c, v);
}

/* ---------- parsing and field validation (pure: no I/O) ---------- */

static int fail(rt_err *e, const char *code, const char *field)
{
	e->code = code;
	e->field = field;
	return -1;
}

int rt_parse(const char *data, size_t len, rt_frame *f, rt_err *e)
{
	memset(f, 0, sizeof *f);
	json_error_t err;
	/* any JSON value parses (a scalar is then an invalid_frame); strings may
	 * hold \u0000 (each field check rejects it, answering with the frame's id) */
	f->root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!f->root) {
		e->code = "invalid_json";
		e->field = NULL;
		snprintf(e->message, sizeof e->message, "%s", err.text);
		return -1;
	}
	if (!json_is_object(f->root))
	{
		snprintf(e->message, sizeof e->message, "a frame must be a JSON object");
		return fail(e, "invalid_frame", NULL);
	}
	json_t *idv = json_object_get(f->root, "id");
	if (idv) {
		if (!json_is_string(idv) || json_string_length(idv) < 1 || json_string_length(idv) > RT_ID_MAX ||
		    strlen(json_string_value(idv)) != json_string_length(idv)) {
			snprintf(e->message, sizeof e->message, "id must be a string of 1 to %d bytes", RT_ID_MAX);
			return fail(e, "invalid_field", "id");
		}
		f->id = json_string_value(idv);
	}
	json_t *tv = json_object_get(f->root, "type");
	if (!json_is_string(tv)) {
		snprintf(e->message, sizeof e->message, "type must be a string");
		return fail(e, "invalid_frame", "type");
	}
	/* a type with a NUL in it is no type we know */
	f->type = strlen(json_string_value(tv)) == json_string_length(tv) ? json_string_value(tv) : "";
	return 0;
}

int rt_get_id(json_t *f, const char *name, uint64_t *out, rt_err *e)
{
	json_t *v = json_object_get(f, name);
	if (!json_is_string(v) || !id_parse(json_string_value(v), json_string_length(v), out))
	{
		snprintf(e->message, sizeof e->message, "%s must be an id string", name);
		return fail(e, "invalid_field", name);
	}
	return 0;
}

int rt_get_uint(json_t *f, const char *name, uint64_t *out, rt_err *e)
{
	json_t *v = json_object_get(f, name);
	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
	{
		snprintf(e->message, sizeof e->message, "%s must be an integer >= 0", name);
		return fail(e, "invalid_field", name);
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int rt_get_str(json_t *f, const char *name, size_t min, size_t max, const char **out, rt_err *e)
{
	json_t *v = json_object_get(f, name);
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	if (!json_is_string(v) || n < min || n > max || strlen(json_string_value(v)) != n)
	{
		snprintf(e->message, sizeof e->message, "%s must be a string of %zu to %zu bytes", name, min, max);
		return fail(e, "invalid_field", name);
	}
	*out = json_string_value(v);
	return 0;
}

/* The same, answering the error frame themselves. */

int rt_id_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out)
{
	rt_err e;
	if (rt_get_id(f, name, out, &e) == 0)
		return 0;
	rt_error(c, id, e.code, e.message, e.field);
	return -1;
}

int rt_uint_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out)
{
	rt_err e;
	if (rt_get_uint(f, name, out, &e) == 0)
		return 0;
	rt_error(c, id, e.code, e.message, e.field);
	return -1;
}

int rt_str_field(conn *c, const char *id, json_t *f, const char *name, size_t min, size_t max,
		 const char **out)
{
	rt_err e;
	if (rt_get_str(f, name, min, max, out, &e) == 0)
		return 0;
	rt_error(c, id, e.code, e.message, e.field);
	return -1;
}

/* ---------- sessions ---------- */

bool rt_has_sub(rt_session *s, uint64_t cid)
{
	for (int i = 0; i < s->nsubs; i++)
		if (s->subs[i] == cid)
			return true;
	return false;
}

int rt_add_sub(rt_session *s, uint64_t cid)
{
	if (rt_has_sub(s, cid))
		return 0;
	if (s->nsubs == RT_MAX_SUBS)
		return -1;
	if (s->nsubs == s->capsubs) {
		int cap = s->capsubs ? s->capsubs * 2 : 2;
		uint64_t *n = realloc(s->subs, (size_t)cap * sizeof *n);
		if (!n)
			return -1;
		s->subs = n;
		s->capsubs = cap;
	}
	s->subs[s->nsubs++] = cid;
	return 0;
}

void rt_remove_sub(rt_session *s, uint64_t cid)
{
	for (int i = 0; i < s->nsubs; i++)
		if (s->subs[i] == cid) {
			s->subs[i] = s->subs[--s->nsubs];
			return;
		}
}


/* ---------- a user's sessions ---------- */

void rt_list(rt_session *s)
{
	app *a = s->app;
	if (s->loop >= 0 || !a->sessions)
		return;
	s->loop = conn_loop_index(s->c);
	s->prev = NULL;
	s->next = a->sessions[s->loop];
	if (s->next)
		s->next->prev = s;
	a->sessions[s->loop] = s;
}

void rt_unlist(rt_session *s)
{
	if (s->loop < 0)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		s->app->sessions[s->loop] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->loop = -1;
}

typedef struct {
	ioloop_task t;
	app *a;
	uint64_t tid, uid;
	char why[96];
} end_task;

static void run_end(ioloop *l, ioloop_task *t)
{
	end_task *e = (end_task *)t;
	int i = l->index;
	for (rt_session *s = e->a->sessions[i]; s; s = s->next) {
		if (s->who.kind == P_AGENT && s->who.tid == e->tid && s->who.id == e->uid) {
			rt_error(s->c, NULL, "unauthenticated", e->why, NULL);
			ws_post_close(e->a->http, ws_ref(s->c), 1008);
		}
	}
	free(e);
}

void rt_end_user_sessions(app *a, uint64_t tid, uint64_t uid, const char *why)
{
	for (int i = 0; a->sessions && i < a->nloops; i++) {
		end_task *e = calloc(1, sizeof *e);
		if (!e)
			continue;
		e->t.run = run_end;
		e->a = a;
		e->tid = tid;
		e->uid = uid;
		snprintf(e->why, sizeof e->why, "%s", why);
		ioloop_post(a->loops[i], &e->t);
	}
}
