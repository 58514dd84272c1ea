/* api — the REST handlers (docs/openapi.yaml) and their shared helpers.
 * Handlers run on I/O threads: they validate, read LMDB in read-only
 * transactions, and hand anything that writes to an actor or the writer. */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include <jansson.h>
#include <stdbool.h>
#include "actors/app.h"
#include "actors/auth.h"
#include "actors/reply.h"
#include "net/http.h"

/* Registers every REST and WebSocket route. */
void api_register(app *a);

void api_register_ops(app *a);
void api_register_auth(app *a);
void api_register_conv(app *a);
void api_register_widget(app *a);
void rt_register(app *a);

/* The app of a request (routes carry it as route data). */
static inline app *api_app(http_req *req)
{
	return req->route_data;
}

/* Parses the body as a JSON object; answers 400/415 and returns NULL on failure. */
json_t *api_body(http_req *req);

/* Reads a string field: answers 400 invalid_field and returns -1 when it is
 * missing (if required), not a string, or its byte length is outside
 * [min, max]; *out is NULL when absent and optional. */
int api_str(http_req *req, json_t *obj, const char *name, bool required, size_t min, size_t max,
	    const char **out);

/* Parses route parameter i as an id; answers 404 and returns -1 if invalid. */
int api_id_param(http_req *req, int i, uint64_t *out);

/* Parses an integer query parameter within [min, max] (default def);
 * answers 400 invalid_field and returns -1 when malformed. */
int api_query_int(http_req *req, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);

/* Reads a conversation of tenant tid; 0, STORE_ENOTFOUND or STORE_EIO. */
int api_load_conv(app *a, uint64_t tid, uint64_t cid, rec_conv *out);

/* Authenticates the caller (an agent, or with visitor the visitor token)
 * and loads the conversation named by route parameter 0 — for a visitor
 * only their own; answers 401/404/500 itself and returns -1 on failure. */
int api_route_conv(http_req *req, bool visitor, principal *p, rec_conv *c);

/* Lists events of a conversation after a seq (agents see notes, visitors not). */
void api_list_events(http_req *req, app *a, const rec_conv *c, bool visitor);

/* Sends a message from an HTTP request (shared by agent and widget routes). */
void api_send_message(http_req *req, app *a, const principal *who, uint64_t cid);

#endif
