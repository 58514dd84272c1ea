/* http — HTTP/1.1 over net/conn.h: requests, routing and responses.
 *
 * HTTP is one protocol on a connection (net/conn.h); WebSocket (net/ws.h)
 * takes a connection over from HTTP at an upgrade. Requests are parsed by
 * net/http_parser.h, routed by method and path pattern
 * ("/v1/conversations/{id}"), and handed to the route's handler on the
 * connection's loop thread.
 *
 * A handler either answers at once (http_respond*) or calls http_defer()
 * and answers later from any thread with http_post_response(). While a
 * request is outstanding the connection reads nothing more (pipelined
 * requests wait in its buffer), so responses are always in request order.
 *
 * Time limits: the whole request head must arrive within header_timeout of
 * its first byte (a deadline, not an idle timer: trickling bytes does not
 * extend it), and a body within header_timeout + length / body_min_rate of
 * the head's end (a chunked body's bound grows with what has arrived); 408
 * and close otherwise. A connection between requests closes after
 * idle_timeout, and so does one whose response has not been read by then.
 *
 * Expect: 100-continue is answered with 100 before the body is read, or at
 * once with the final status when the request will be refused (413 too
 * large, 404 unknown route, 405, 401 no bearer token on a route that needs
 * one); any other expectation gets 417.
 *
 * Streamed bodies (routes flagged HTTP_STREAM_BODY: uploads): the handler
 * runs as soon as the head is complete, before any of the body is read,
 * and either answers (a refusal: the connection then closes, the body
 * unread) or takes the body with http_stream() in pieces as they arrive,
 * chunked framing removed, each piece dropped from the input once handed
 * on, so the body is never held whole. The handler's limit replaces
 * max_body: a Content-Length above it gets 413 at once, a chunked body
 * 413 at the chunk that passes it. 100 Continue goes out only when the
 * handler takes the body. A handler may pause reading (its consumer is
 * behind) and resume later; the body deadline above still runs.
 *
 * Streamed responses (http_respond_stream): the head goes out at once and
 * the body is pulled from a producer piece by piece on the connection's
 * loop thread, each piece only when less than HTTP_STREAM_LOW_MARK of the
 * connection's output waits to be written (and at most HTTP_STREAM_TURN
 * bytes per turn of the loop, so one fast download does not hold up the
 * loop's other connections). What a streamed response holds is bounded by
 * the mark plus one piece, however long the body and however slow the
 * reader. Framing:
 *  - HTTP/1.1: Transfer-Encoding: chunked (net/chunk.h); the connection
 *    stays open for the next request, and pipelined requests that came
 *    behind it are answered after it, in order (nothing more is read
 *    while it is sent).
 *  - HTTP/1.0 (no chunked coding): the body is delimited by the close of
 *    the connection (Connection: close, no Content-Length; RFC 9112 6.3),
 *    so such a client cannot tell a truncated body from a whole one.
 *  - HEAD: the head only (with the Transfer-Encoding a GET would get); the
 *    producer is freed without being asked for anything.
 * An error after the head cannot become a status: the producer returns
 * HTTP_BODY_FAIL and the connection closes after what was already
 * produced, without the terminating zero-size chunk, so an HTTP/1.1
 * client sees a truncated body. A client that goes away mid-body (a write
 * fails, or what waits — the mark and the socket's buffer — is not all
 * taken within idle_timeout of the last piece) ends the stream the same
 * way: the producer is not asked again and is freed. Either is counted
 * in streams_aborted and logged (http.stream_aborted).
 */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/ioloop.h"
#include "core/rbuf.h"
#include "net/conn.h"
#include "net/http_parser.h"

#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_PARAMS 4

typedef struct http_server http_server;

typedef struct http_req {
	hp_request head;                      /* method, path, query, headers */
	hp_header headers[HTTP_MAX_HEADERS];
	const char *body;                     /* decoded body (NUL-terminated) */
	size_t body_len;
	hp_str params[HTTP_MAX_PARAMS];       /* route captures, in pattern order */
	int nparams;
	conn *conn;                           /* read-only */
	http_server *srv;                     /* read-only */
	void *route_data;                     /* the route's user pointer */
	const struct http_stream_cbs *stream; /* a streamed body's consumer (http_stream) */
	void *stream_ctx;                     /* its state */
	bool answered;                        /* private */
	bool deferred;                        /* private */
} http_req;

typedef void (*http_handler)(http_req *req);

typedef struct {
	size_t max_head;            /* request line + headers (431) [8192] */
	size_t max_uri;             /* request target (414) [4096] */
	size_t max_body;            /* request body (413) [1 MiB] */
	double header_timeout;      /* s from a head's first byte to its end (408) [10] */
	size_t body_min_rate;       /* bytes/s a body must at least arrive at (408) [1024] */
	double idle_timeout;        /* s a keep-alive connection may sit idle [60] */
	size_t ws_max_message;      /* bytes (close 1009) [64 KiB] */
	size_t ws_send_queue;       /* bytes queued per connection before it is dropped [1 MiB] */
	double ws_ping_interval;    /* s between pings; two missed → closed [30] */
	double ws_auth_timeout;     /* s for the app to call ws_set_ready (close 1008) [10] */
	double ws_frame_timeout;    /* s from a frame's first byte to its last (close 1008) [10] */
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

/* Route flags. */
enum {
	HTTP_BEARER = 1,          /* needs Authorization: Bearer (an Expect:
				   * 100-continue without one gets 401 at once) */
	HTTP_STREAM_BODY = 2,     /* the handler runs at the end of the head and
				   * takes the body in pieces (http_stream) */
};

/* Registers a route; pattern segments "{name}" capture into req->params. 0 or -1. */
int http_route(http_server *s, const char *method, const char *pattern, unsigned flags,
	       http_handler h, void *route_data);

/* Calls fn for every registered route (for the docs/openapi.yaml check). */
void http_routes_each(http_server *s, void (*fn)(const char *method, const char *pattern, void *arg),
		      void *arg);

/* Sets the fallback for GET/HEAD requests that match no route (static files). */
void http_set_fallback(http_server *s, http_handler h, void *data);

/* Binds host:port on every loop with SO_REUSEPORT (port 0 picks one) and
 * starts accepting; returns the bound port or -1. Call before the loops run. */
int http_server_listen(http_server *s, const char *host, int port);

/* The same speaking HTTPS/WSS with the certificate of tls (net/tls.h); the
 * TLS handshake must end within --header-timeout-ms of the accept. A
 * server has at most two listeners (a TLS port and a plain one). */
int http_server_listen_tls(http_server *s, const char *host, int port, tls_ctx *tls);

/* Phase 1 of a clean stop: stops accepting, closes idle HTTP connections
 * (busy ones close after their response) and stops reading from
 * WebSockets, which still write: answers already on their way go out.
 * Any thread; returns at once. */
void http_server_quiesce(http_server *s);

/* Phase 2: sends close 1001 to every WebSocket (after whatever was posted
 * to it before this call) and closes the rest. Any thread; returns at once. */
void http_server_shutdown(http_server *s);

/* The connection layer under the server (for net/ws.c). */
conn_server *http_server_conns(http_server *s);

/* The server's options. */
const http_opts *http_server_opts(const http_server *s);

/* Open connections now (all loops). */
int http_server_connections(http_server *s);

/* ---- responding, on the loop thread ---- */

/* Answers with status, content type and body (copied). extra_headers, if
 * not NULL, are full "Name: value\r\n" lines. */
void http_respond(http_req *req, int status, const char *ctype, const void *body, size_t len,
		  const char *extra_headers);

/* Like http_respond, but the body is written by reference, not copied: it
 * must stay valid and unchanged for the server's life (static files). */
void http_respond_static(http_req *req, int status, const char *ctype, const void *body, size_t len,
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

/* ---- streamed bodies (HTTP_STREAM_BODY routes), on the loop thread ---- */

enum { HTTP_STREAM_GO = 0, HTTP_STREAM_PAUSE = 1 };

typedef struct http_stream_cbs {
	/* A piece of the body (n > 0, valid for the call): HTTP_STREAM_GO, or
	 * HTTP_STREAM_PAUSE to read nothing more until http_stream_resume. The
	 * handler may answer here (a refusal; the connection closes). */
	int (*on_data)(http_req *req, const char *p, size_t n);
	/* The body is complete: answer now, or http_defer and answer later. */
	void (*on_end)(http_req *req);
	/* The request is being freed, answered or not (the connection closed,
	 * the body timed out or was malformed): drop what stream_ctx holds. */
	void (*on_free)(http_req *req);
} http_stream_cbs;

/* From the handler: takes the body in pieces, at most max bytes of it.
 * False when it was refused instead (413 answered: a Content-Length above
 * max). On a request whose body came whole (no body, or a route without
 * HTTP_STREAM_BODY) the pieces are that body, handed on at once. */
bool http_stream(http_req *req, const http_stream_cbs *cbs, void *ctx, uint64_t max);

/* Reads on after HTTP_STREAM_PAUSE (loop thread); from another thread:
 * http_post_resume with the request's conn_ref (http_defer's, taken in
 * the handler). A request that has ended meanwhile is left alone. */
void http_stream_resume(http_req *req);
void http_post_resume(http_server *s, conn_ref ref);

/* ---- streamed responses, on the loop thread ---- */

enum { HTTP_BODY_MORE = 0, HTTP_BODY_END = 1, HTTP_BODY_FAIL = -1 };

/* Output waiting on a connection below which the next piece is asked for,
 * and the bytes produced per turn of the loop before yielding. */
#define HTTP_STREAM_LOW_MARK (64u << 10)
#define HTTP_STREAM_TURN (256u << 10)

typedef struct http_body_src {
	/* Appends the next piece of the body to out (empty on entry; tens of
	 * KiB at most: it is what the connection holds): HTTP_BODY_MORE,
	 * HTTP_BODY_END (out holds the last piece, maybe nothing) or
	 * HTTP_BODY_FAIL (the body cannot be completed). Runs on the loop
	 * thread, never inside the handler that called http_respond_stream. */
	int (*next)(void *ctx, buf *out);
	/* Called exactly once: the body ended or failed, the client went away,
	 * the request was a HEAD, or the server is stopping. */
	void (*on_free)(void *ctx);
} http_body_src;

/* Answers with a status and head now and a body pulled from src (see the
 * top of this file). ctx is src's; it is freed through src->on_free in
 * every case, also when the request was already answered. */
void http_respond_stream(http_req *req, int status, const char *ctype, const char *extra_headers,
			 const http_body_src *src, void *ctx);

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

/* Bearer token from Authorization, or an empty string view. */
hp_str http_bearer(const http_req *req);

/* Ends the request without a response and hands its connection over (a
 * protocol upgrade): the HTTP state is freed, bytes that followed the
 * request stay in c->in. The caller sets the new protocol (conn_set_proto)
 * and writes its own answer. */
conn *http_upgrade(http_req *req);

/* Counters for /metrics. */
typedef struct {
	uint64_t accepted, requests, ws_upgrades, ws_in, ws_out, ws_dropped_slow;
	uint64_t bad_requests, timeouts, accept_paused;
	uint64_t streams, streams_aborted;   /* streamed responses begun, and ended before their end */
	uint64_t streams_active;             /* being sent now */
	int open;
} http_stats;
void http_server_get_stats(http_server *s, http_stats *out);

/* Bumps a counter (net/ws.c). */
enum { HTTP_CNT_WS_IN, HTTP_CNT_WS_OUT, HTTP_CNT_WS_DROPPED, HTTP_CNT_WS_UPGRADES, HTTP_CNT_TIMEOUTS,
       HTTP_CNT_BAD };
void http_server_count(http_server *s, int which);

#endif
