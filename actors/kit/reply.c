#include "net/ws.h"
#include "actors/kit/reply.h"
#include "actors/kit/app.h"

#include <stdlib.h>
#include <string.h>

rbuf *reply_encode(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s)
		return NULL;
	rbuf *b = rbuf_new(s, strlen(s));
	free(s);
	return b;
}

static void ws_send_json(app *a, conn_ref ref, json_t *v)
{
	rbuf *b = reply_encode(v);
	if (b) {
		ws_post(a->http, ref, b);
		rbuf_unref(&b);
	}
}

void reply_begin_ws(app *a, reply_to *r, conn_ref ref, const char *id)
{
	memset(r, 0, sizeof *r);
	r->kind = REPLY_WS;
	r->ref = ref;
	if (id) {
		r->has_id = true;
		strncpy(r->id, id, sizeof r->id - 1);
	}
	atomic_fetch_add(&a->inflight, 1);
}

void reply_begin_http(app *a, reply_to *r, http_req *req)
{
	memset(r, 0, sizeof *r);
	r->kind = REPLY_HTTP;
	r->ref = http_defer(req);
	atomic_fetch_add(&a->inflight, 1);
}

static void finish(app *a, reply_to *r)
{
	if (r->kind != REPLY_NONE)
		atomic_fetch_sub(&a->inflight, 1);
	r->kind = REPLY_NONE;
}

void reply_done(app *a, reply_to *r)
{
	finish(a, r);
}

void reply_ack(app *a, reply_to *r, json_t *fields)
{
	reply_json(a, r, 200, fields);
}

void reply_json(app *a, reply_to *r, int status, json_t *body)
{
	if (!body)
		body = json_object();
	if (r->kind == REPLY_HTTP) {
		http_post_json(a->http, r->ref, status, body);
	} else if (r->kind == REPLY_WS && r->has_id) {
		json_object_set_new(body, "type", json_string("ack"));
		json_object_set_new(body, "id", json_string(r->id));
		ws_send_json(a, r->ref, body);
	} else {
		json_decref(body);
	}
	finish(a, r);
}

void reply_error(app *a, reply_to *r, int status, const char *code, const char *message)
{
	if (r->kind == REPLY_HTTP) {
		http_post_error(a->http, r->ref, status, code, message);
	} else if (r->kind == REPLY_WS) {
		json_t *v = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "code", code,
				      "message", message);
		if (r->has_id)
			json_object_set_new(v, "id", json_string(r->id));
		ws_send_json(a, r->ref, v);
	}
	finish(a, r);
}
