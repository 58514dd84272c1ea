/* http — our HTTP/1.1 + WebSocket server on libev I/O loops.
 *
 * Each I/O loop (core/ioloop.h) owns its own SO_REUSEPORT listening socket
 * and the connections it accepted; a connection never changes thread.
 * Requests are parsed by net/http_parser.h, routed by method and path
 * pattern ("/v1/conversations/{id}"), and handed to the route's handler on
 * the connection's loop thread.
 *
 * A handler either answers at once (http_respond*) or calls http_defer()
 * and answers later from any thread with http_post_response(). While a
 * request is outstanding the connection reads nothing more (pipelined
 * requests wait in its buffer), so responses are always in request order.
 *
 * Handles: a conn_ref names a connection from any thread; if the connection
 * has closed (or its slot was reused) posts to it are dropped silently.
 */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/ioloop.h"
#include "core/rbuf.h"
#include "net/http_parser.h"

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_PARAMS 4

typedef struct http_server http_server;
typedef struct http_conn http_conn;

typedef struct {
	uint32_t loop;            /* index of the owning I/O loop */
	uint32_t slot;            /* index in the loop's connection table */
	uint32_t gen;             /* generation of that slot */
	uint32_t serial;          /* HTTP: request serial on the connection */
} conn_ref;

typedef struct http_req {
	hp_request head;                      /* method, path, query, headers */
	hp_header headers[HTTP_MAX_HEADERS];
	const char *body;                     /* decoded body (NUL-terminated) */
	size_t body_len;
	hp_str params[HTTP_MAX_PARAMS];       /* route captures, in pattern order */
	int nparams;
	http_conn *conn;                      /* read-only */
	http_server *srv;                     /* read-only */
	void *route_data;                     /* the route's user pointer */
	bool answered;                        /* private */
	bool deferred;                        /* private */
} http_req;

typedef void (*http_handler)(http_req *req);

/* WebSocket callbacks, all on the connection's loop thread. */
typedef struct {
	/* A complete text message (valid UTF-8, ≤ max message size). */
	void (*on_message)(http_conn *c, void *user, const char *data, size_t len);
	/* The connection is gone; user must not be used by net afterwards. */
	void (*on_close)(http_conn *c, void *user);
} ws_handlers;

typedef struct {
	size_t max_head;            /* request line + headers (431) [8192] */
	size_t max_uri;             /* request target (414) [4096] */
	size_t max_body;            /* request body (413) [1 MiB] */
	double header_timeout;      /* s until a request head + body is complete (408) [10] */
	double idle_timeout;        /* s a keep-alive connection may sit idle [60] */
	size_t ws_max_message;      /* bytes (close 1009) [64 KiB] */
	size_t ws_send_queue;       /* bytes queued per connection before it is dropped [1 MiB] */
	double ws_ping_interval;    /* s between pings; two missed → closed [30] */
	double ws_auth_timeout;     /* s for the app to call ws_set_ready (close 1008) [10] */
	const char *server_name;    /* Server header ["parley"] */
	const char *cors_prefix;    /* paths answered for any origin (CORS, incl.
				     * OPTIONS preflights) [NULL = none] */
} http_opts;

/* Fills o with the defaults above. */
void http_opts_default(http_opts *o);

/* Creates a server over loops[0..n) (not yet listening). */
http_server *http_server_new(const http_opts *o, ioloop **loops, int n);

/* Frees the server after http_server_shutdown and after the loops stopped. */
void http_server_free(http_server **s_p);

/* Registers a route; pattern segments "{name}" capture into req->params. 0 or -1. */
int http_route(http_server *s, const char *method, const char *pattern,
	       http_handler h, void *route_data);

/* Calls fn for every registered route (for the docs/openapi.yaml check). */
void http_routes_each(http_server *s, void (*fn)(const char *method, const char *pattern, void *arg),
		      void *arg);

/* Sets the fallback for GET/HEAD requests that match no route (static files). */
void http_set_fallback(http_server *s, http_handler h, void *data);

/* Binds host:port on every loop with SO_REUSEPORT (port 0 picks one) and
 * starts accepting; returns the bound port or -1. Call before the loops run. */
int http_server_listen(http_server *s, const char *host, int port);

/* Phase 1 of a clean stop: stops accepting, closes idle HTTP connections
 * (busy ones close after their response) and stops reading from
 * WebSockets, which still write: answers already on their way go out.
 * Any thread; returns at once. */
void http_server_quiesce(http_server *s);

/* Phase 2: sends close 1001 to every WebSocket (after whatever was posted
 * to it before this call) and closes the rest. Any thread; returns at once. */
void http_server_shutdown(http_server *s);

/* Open connections now (all loops). */
int http_server_connections(http_server *s);

/* ---- responding, on the loop thread ---- */

/* Answers with status, content type and body (copied). extra_headers, if
 * not NULL, are full "Name: value\r\n" lines. */
void http_respond(http_req *req, int status, const char *ctype, const void *body, size_t len,
		  const char *extra_headers);

/* Answers with a JSON value (reference stolen). */
void http_respond_json(http_req *req, int status, json_t *v);

/* Answers {"error":{"code","message"[,"field"]}}. */
void http_respond_error(http_req *req, int status, const char *code, const char *message,
			const char *field);

/* Index of the I/O loop the request runs on (for per-thread state). */
int http_req_loop(const http_req *req);

/* Promises an answer later; returns the handle to answer with. */
conn_ref http_defer(http_req *req);

/* ---- responding from any thread ---- */

/* Posts the answer to a deferred request; body ownership passes (malloc'ed). */
void http_post_response(http_server *s, conn_ref ref, int status, const char *ctype,
			char *body, size_t len, const char *extra_headers);

/* Posts a JSON answer (reference stolen). */
void http_post_json(http_server *s, conn_ref ref, int status, json_t *v);

/* Posts an error answer. */
void http_post_error(http_server *s, conn_ref ref, int status, const char *code,
		     const char *message);

/* ---- request helpers ---- */

/* Header value or NULL (view into the request buffer). */
const hp_str *http_header(const http_req *req, const char *name);

/* Query parameter value, percent-decoded into out (cap bytes incl. NUL);
 * returns length, -1 when absent, -2 when longer than cap - 1. */
int http_query(const http_req *req, const char *name, char *out, size_t cap);

/* A strong ETag for a body: "\"" + 16 hex digits of its SHA-256 + "\"". */
#define HTTP_ETAG_SIZE 20
void http_etag(const void *body, size_t len, char out[HTTP_ETAG_SIZE]);

/* True when the request's If-None-Match names etag (a quoted strong tag):
 * "*", or any member of its comma-separated list, weak (W/) ones compared
 * weakly as RFC 9110 asks for GET. */
bool http_etag_match(const http_req *req, const char *etag);

/* The peer's IP address as text. */
void http_peer_ip(const http_conn *c, char out[64]);

/* Bearer token from Authorization, or an empty string view. */
hp_str http_bearer(const http_req *req);

/* ---- WebSocket ---- */

/* Upgrades the request's connection (RFC 6455 handshake); on success the
 * connection belongs to h with user. Returns 0, or answers 400/426 itself
 * and returns -1. */
int ws_accept(http_req *req, const ws_handlers *h, void *user);

/* Queues a text frame (loop thread). Returns 0, or -1 if the connection was
 * dropped for exceeding its send queue. */
int ws_send(http_conn *c, const char *data, size_t len);

/* Marks the connection authenticated: its auth deadline no longer applies. */
void ws_set_ready(http_conn *c);

/* Starts a close handshake with code and reason (loop thread). */
void ws_close(http_conn *c, int code, const char *reason);

/* Handle of this connection for posts from other threads. */
conn_ref ws_ref(http_conn *c);

/* Posts a text frame from any thread (takes a reference on b). */
void ws_post(http_server *s, conn_ref ref, rbuf *b);

/* Posts a close from any thread. */
void ws_post_close(http_server *s, conn_ref ref, int code);

/* Counters for /metrics. */
typedef struct {
	uint64_t accepted, requests, ws_upgrades, ws_in, ws_out, ws_dropped_slow;
	uint64_t bad_requests, timeouts;
	int open;
} http_stats;
void http_server_get_stats(http_server *s, http_stats *out);

#endif
