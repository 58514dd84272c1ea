/* router — the route table: method and path pattern to handler, no I/O.
 *
 * Patterns are literal segments and "{name}" captures (one segment each,
 * into req->params in pattern order); routes are tried in the order they
 * were added. A GET route answers HEAD too. Requests that match no route's
 * path go to the fallback (static files) when they are GET or HEAD.
 */
#ifndef PARLEY_ROUTER_H
#define PARLEY_ROUTER_H

#include <stddef.h>
#include "net/http.h"

typedef struct router router;

/* What router_find decided. */
enum router_result {
	ROUTER_FOUND,          /* *hit is the route */
	ROUTER_FALLBACK,       /* no route's path: the fallback takes it */
	ROUTER_NO_METHOD,      /* the path has routes, not this method: 405 */
	ROUTER_NOT_FOUND,      /* 404 */
};

typedef struct {
	http_handler h;
	void *data;
	unsigned flags;        /* HTTP_BEARER, … */
} router_hit;

router *router_new(void);
void router_free(router **r_p);

/* Routes a table holds: every feature's (actors/app/features.c). */
#define ROUTER_MAX_ROUTES 256

/* Adds a route; 0, or -1 when the table is full (ROUTER_MAX_ROUTES) or a
 * string too long. */
int router_add(router *r, const char *method, const char *pattern, unsigned flags, http_handler h,
	       void *data);

/* Sets the handler for GET/HEAD requests whose path no route has. */
void router_set_fallback(router *r, http_handler h, void *data);

/* Calls fn for every route, in order. */
void router_each(const router *r, void (*fn)(const char *method, const char *pattern, void *arg), void *arg);

/* Looks up req's method and path, filling req->params on a match. For
 * ROUTER_NO_METHOD, allow (cap bytes) gets an "Allow: …" header value line
 * without its CRLF. */
enum router_result router_find(const router *r, http_req *req, router_hit *hit, char *allow, size_t cap);

#endif
