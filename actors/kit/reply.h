/* reply — where an actor's answer goes: a WebSocket request frame (by conn
 * and frame id) or a deferred HTTP request. Every reply_to that was begun is
 * answered exactly once (reply_ack/reply_json/reply_error); the app counts
 * unanswered ones so shutdown can wait for them.
 */
#ifndef PARLEY_REPLY_H
#define PARLEY_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include "net/http.h"

struct app;

enum { REPLY_NONE = 0, REPLY_WS, REPLY_HTTP };

typedef struct {
	uint8_t kind;
	bool has_id;          /* WS: the frame carried an id */
	conn_ref ref;
	char id[65];          /* WS frame id */
} reply_to;

/* Starts a WS reply (id may be NULL for frames without id). */
void reply_begin_ws(struct app *a, reply_to *r, conn_ref ref, const char *id);

/* Starts an HTTP reply by deferring the request. */
void reply_begin_http(struct app *a, reply_to *r, http_req *req);

/* WS: {"type":"ack","id":…, …fields}; HTTP: status 200 with fields as body.
 * fields is stolen (may be NULL). */
void reply_ack(struct app *a, reply_to *r, json_t *fields);

/* HTTP: status + body; WS: ack with the body's fields. body stolen. */
void reply_json(struct app *a, reply_to *r, int status, json_t *body);

/* WS: {"type":"error","id":…,"error":{code,message}}; HTTP: status + error body. */
void reply_error(struct app *a, reply_to *r, int status, const char *code, const char *message);

/* Marks r answered by other means (the caller sent the reply itself). */
void reply_done(struct app *a, reply_to *r);

/* Encodes a JSON value into a shared buffer (reference stolen); NULL on OOM. */
rbuf *reply_encode(json_t *v);

#endif
