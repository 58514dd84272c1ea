/* wrop — a writer request that answers an HTTP request or a realtime
 * frame after its commit: the pattern of the small admin features (canned
 * responses, tags, attribute definitions).
 *
 * The feature embeds a wrop first in its own struct, sets apply (inside
 * the write transaction: store calls; a refusal the caller should see is
 * wrop_refuse + return 0, which leaves nothing written when the apply
 * checked before writing) and answer (after the commit: the JSON body of
 * the success answer, status ok_status, 200 unless set), and submits it.
 * A store failure answers 500 internal; the op is freed with free(), after
 * its release hook when it has one.
 */
#ifndef PARLEY_WROP_H
#define PARLEY_WROP_H

#include <jansson.h>
#include "actors/kit/app.h"
#include "actors/kit/reply.h"
#include "net/http.h"
#include "storage/writer.h"

typedef struct wrop wrop;
struct wrop {
	wr_req w;
	app *app;
	reply_to reply;
	int (*apply)(wrop *op, store_txn *t);
	json_t *(*answer)(wrop *op);    /* NULL: 200 {} */
	void (*release)(wrop *op);      /* optional: frees what the op holds, before the op itself */
	int ok_status;
	int status;                     /* a refusal: status, code, message */
	const char *code;
	char msg[200];
};

/* Allocates a zeroed op of size bytes (the feature's struct) for req's
 * app; answers 500 and returns NULL when out of memory. */
void *wrop_new(http_req *req, size_t size);

/* Submits the op answering req. */
void wrop_submit_http(http_req *req, wrop *op);

/* Submits the op answering a realtime frame (conn ref, frame id). */
void wrop_submit_ws(app *a, conn_ref ref, const char *id, wrop *op);

/* Marks the op refused with status, code and a message; returns 0 (for
 * `return wrop_refuse(...)` in an apply). */
int wrop_refuse(wrop *op, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
