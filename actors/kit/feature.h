/* feature — the command tables: what each feature folder serves.
 *
 * A feature is a folder under actors/ with one `const feature` naming its
 * REST routes and realtime frame types, each with the permission it needs
 * (kit/perm.h). actors/app/features.c lists the features; the server
 * installs their routes, dispatches frames through the same table, and
 * `parleyd --print-routes`, the OpenAPI contract test and the permission
 * matrix test all read it. Adding a feature adds a folder and a line.
 *
 * The dispatcher authenticates before a handler runs: PERM_PUBLIC passes
 * no principal (kind P_NONE); PERM_VISITOR needs a visitor token; any
 * other permission an access token of an active user whose stored role
 * holds it, or a live API key whose scope allows it for the route's
 * method (perm_allows_key) — else 401 unauthenticated / 403 forbidden,
 * answered here.
 */
#ifndef PARLEY_FEATURE_H
#define PARLEY_FEATURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "actors/kit/app.h"
#include "actors/kit/auth.h"
#include "actors/kit/perm.h"
#include "net/http.h"

typedef struct rt_session rt_session;

/* A REST handler: the caller is authenticated and permitted. */
typedef void (*route_fn)(http_req *req, const principal *p);

typedef struct {
	const char *method, *path;   /* path pattern: "/v1/conversations/{id}" */
	uint8_t perm;                /* enum perm */
	route_fn fn;
} route_def;

/* A realtime frame handler (actors/kit/session.h): the session is
 * authenticated and permitted; id is the frame's "id" (or NULL). */
typedef void (*frame_fn)(rt_session *s, const char *id, json_t *frame);

enum frame_flags {
	FRAME_AGENTS = 1,            /* agent sessions (/v1/ws), with perm */
	FRAME_VISITORS = 2,          /* widget sessions (/v1/widget/ws) */
};

typedef struct {
	const char *type;
	uint8_t perm;                /* for agent sessions */
	uint8_t flags;               /* enum frame_flags */
	frame_fn fn;
} frame_def;

typedef struct feature {
	const char *name;
	const route_def *routes;     /* ends with a NULL method */
	const route_def *stream_routes; /* the same, for routes whose handler takes
				      * the body in pieces as it arrives (uploads:
				      * net/http.h HTTP_STREAM_BODY, http_stream) */
	const frame_def *frames;     /* ends with a NULL type (or NULL) */
	int (*start)(app *a);        /* optional: after storage and runtimes, before listening */
	void (*stop)(app *a);        /* optional: before the runtimes stop */
	void (*release)(app *a);     /* optional: once every thread has stopped (feature_uninstall),
				      * frees what start made; runs whether start ran, failed or not */
} feature;

/* Installs the routes of every feature of list (NULL-terminated, in start
 * order: actors/app/features.c) into a->http and keeps list in a for the
 * frame lookup; 0 or -1 (out of memory). */
int feature_install(app *a, const feature *const *list);

/* Runs every feature's start hook in list order (after storage, the
 * runtimes and the loops, before the server listens); 0, or -1 after
 * stopping those already started. */
int feature_start(app *a);

/* Runs the stop hooks in reverse order (before the writer and the
 * runtimes stop). */
void feature_stop(app *a);

/* Runs every feature's release hook, then frees what feature_install
 * allocated (after the loops and the writer have stopped). */
void feature_uninstall(app *a);

/* The frame definition for a type, or NULL. */
const frame_def *feature_frame(app *a, const char *type);

/* The app of a request to a table route. */
app *feature_app(http_req *req);

/* Calls route for every route, then frame for every frame of list. */
void feature_each(const feature *const *list, void (*route)(const route_def *r, void *arg),
		  void (*frame)(const frame_def *f, void *arg), void *arg);

#endif
