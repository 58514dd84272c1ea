/* api — request parsing shared by every feature's REST handlers
 * (docs/openapi.yaml). Handlers run on I/O threads: they validate, read
 * through the stores in read snapshots, and hand anything that writes to
 * an actor or the writer. */
#ifndef PARLEY_API_H
#define PARLEY_API_H

#include <jansson.h>
#include <stdbool.h>
#include "actors/kit/app.h"
#include "actors/kit/feature.h"
#include "actors/kit/auth.h"
#include "actors/kit/reply.h"
#include "net/http.h"

/* The app of a request (routes carry it as route data). */
static inline app *api_app(http_req *req)
{
	return feature_app(req);
}

/* Parses the body as a JSON object; answers 400/415 and returns NULL on failure. */
json_t *api_body(http_req *req);

/* Reads a string field: answers 400 invalid_field and returns -1 when it is
 * missing (if required), not a string, or its byte length is outside
 * [min, max]; *out is NULL when absent and optional. */
int api_str(http_req *req, json_t *obj, const char *name, bool required, size_t min, size_t max,
	    const char **out);

/* Reads an optional string field that, when present, must be a string of
 * min..max bytes without NUL (JSON null is refused too: a PATCH that sends
 * null says nothing clear); answers 400 invalid_field and returns -1
 * otherwise; *out is NULL when absent. */
int api_opt_str(http_req *req, json_t *obj, const char *name, size_t min, size_t max, const char **out);

/* Refuses any member of obj not named in allowed (NULL-terminated): answers
 * 400 invalid_field naming it and returns -1. */
int api_only(http_req *req, json_t *obj, const char *const *allowed);

/* The body as a JSON object, an empty one when there is none (routes whose
 * body is optional); NULL after answering 400/415 as api_body does. */
json_t *api_body_opt(http_req *req);

/* Answers 400 invalid_field naming field, with msg; returns -1. */
int api_bad_field(http_req *req, const char *field, const char *msg);

/* A {"data": [...]} answer filled by a store walk: its callback adds each
 * record's view (stolen) with api_list_add, whose false (out of memory)
 * stops the walk; api_list_answer then sends 200, or 500 when the walk's
 * result rc or an addition failed. */
typedef struct {
	json_t *data;
	bool failed;
} api_list;

void api_list_init(api_list *l);
bool api_list_add(api_list *l, json_t *view);
void api_list_answer(http_req *req, api_list *l, int rc);

/* A whole list route: opens a read snapshot (500 when it does not), calls
 * fill(t, tid, l, arg) — a store walk of tenant tid adding to l, returning
 * its store code — closes the snapshot and answers as api_list_answer. */
typedef int (*api_list_fill)(store_txn *t, uint64_t tid, api_list *l, void *arg);
void api_list_read(http_req *req, uint64_t tid, api_list_fill fill, void *arg);

/* Parses route parameter i as an id; answers 404 and returns -1 if invalid. */
int api_id_param(http_req *req, int i, uint64_t *out);

/* Parses an integer query parameter within [min, max] (default def);
 * answers 400 invalid_field and returns -1 when malformed. */
int api_query_int(http_req *req, const char *name, int64_t def, int64_t min, int64_t max, int64_t *out);

/* An id query parameter into *out (0 when absent); 0 absent, 1 read, or
 * -1 after answering 400 invalid_field. */
int api_query_id(http_req *req, const char *name, uint64_t *out);

/* An ISO-8601 UTC time query parameter into *out (untouched when absent);
 * 0 absent, 1 read, or -1 after answering 400 invalid_field. */
int api_query_time(http_req *req, const char *name, int64_t *out);

#endif
