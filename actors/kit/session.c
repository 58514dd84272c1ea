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

/* ---------- field validation ---------- */

int rt_id_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(f, name);
	if (!json_is_string(v) || !id_parse(json_string_value(v), json_string_length(v), out)) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be an id string", name);
		rt_error(c, id, "invalid_field", msg, name);
		return -1;
	}
	return 0;
}

int rt_uint_field(conn *c, const char *id, json_t *f, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(f, name);
	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be an integer >= 0", name);
		rt_error(c, id, "invalid_field", msg, name);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int rt_str_field(conn *c, const char *id, json_t *f, const char *name, size_t min,
			 size_t max, const char **out)
{
	json_t *v = json_object_get(f, name);
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	if (!json_is_string(v) || n < min || n > max || strlen(json_string_value(v)) != n) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s must be a string of %zu to %zu bytes", name, min, max);
		rt_error(c, id, "invalid_field", msg, name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
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

