/* http — HTTP/1.1 on a connection: request input, routing and responses
 * (see http.h). The socket, its buffers, timer and lifetime are
 * net/conn.c's; this file is one protocol table over them.
 *
 * One request at a time per connection: while a handler has a request,
 * reading pauses; pipelined requests wait in c->in and are parsed after
 * the response is written, which keeps responses in order with no queue.
 */
#include "net/http.h"
#include "net/chunk.h"
#include "net/router.h"
#include "core/crypto.h"
#include "core/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define READ_CHUNK 16384
#define READS_PER_WAKE 16

struct http_server {
	http_opts opts;
	conn_server *cs;
	router *routes;
	atomic_uint_fast64_t requests, ws_upgrades, ws_in, ws_out, ws_dropped;
	atomic_uint_fast64_t bad_requests, timeouts;
	atomic_uint_fast64_t streams, streams_done, streams_aborted;
	bool any_stream;          /* some route has HTTP_STREAM_BODY */
};

enum hstate {
	H_HEAD,      /* reading a request head (or idle between requests) */
	H_BODY,      /* reading a request body */
	H_WAIT,      /* a request is with its handler; reading paused */
	H_STREAM,    /* a handler takes the body in pieces as it arrives */
	H_SEND,      /* a streamed response's body is being sent; reading paused */
};

/* A connection's HTTP state (c->pd). */
typedef struct {
	uint8_t state;            /* enum hstate */
	bool keep_alive;          /* the current request allows keep-alive */
	bool cors;                /* the current request is under cors_prefix */
	bool in_process;          /* process_input is on the stack */
	bool timed;               /* a head or body deadline is running */
	bool chunked;
	bool eof;                 /* the peer half-closed: answer what came, then close */
	bool head_req;            /* the current request, parsed, is a HEAD: no body in its answer */
	bool stream;              /* the current request's route streams its body */
	bool stream_open;         /* its body is not yet all read (an answer closes) */
	bool paused;              /* H_STREAM: the handler asked to read nothing more for now */
	bool expect100;           /* H_STREAM: send 100 Continue when the handler takes the body */
	uint64_t streamed;        /* decoded body bytes handed on */
	size_t head_len;          /* bytes of the current head in c->in */
	size_t raw_pos;           /* next undecoded body byte in c->in */
	size_t body_len;          /* decoded body bytes at in.data + head_len */
	int64_t content_length;
	double body_start;        /* loop time the head ended */
	hp_chunked chunk;
	http_req *req;            /* the request being handled (H_WAIT) */
	const http_body_src *src; /* H_SEND: the body's producer */
	void *src_ctx;
	buf piece;                /* H_SEND: the piece being produced */
	bool send_chunked;        /* H_SEND: chunked framing (else close-delimited) */
	bool pump_queued;         /* H_SEND: a turn of the producer is posted */
} hconn;

static const conn_proto http_proto;
static void process_input(conn *c);
static void finish_request(conn *c);
static void next_request(conn *c);

static inline hconn *H(conn *c)
{
	return c->pd;
}

static inline http_server *S(conn *c)
{
	return conn_ctx(c);
}

#define COUNT(s, f) atomic_fetch_add_explicit(&(s)->f, 1, memory_order_relaxed)

void http_opts_default(http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_head = 8192;
	o->max_uri = 4096;
	o->max_body = 1 << 20;
	o->header_timeout = 10;
	o->body_min_rate = 1024;
	o->idle_timeout = 60;
	o->ws_max_message = 64 * 1024;
	o->ws_send_queue = 1 << 20;
	o->ws_ping_interval = 30;
	o->ws_auth_timeout = 10;
	o->ws_frame_timeout = 10;
	o->server_name = "parley";
}

void http_server_count(http_server *s, int which)
{
	switch (which) {
	case HTTP_CNT_WS_IN: COUNT(s, ws_in); break;
	case HTTP_CNT_WS_OUT: COUNT(s, ws_out); break;
	case HTTP_CNT_WS_DROPPED: COUNT(s, ws_dropped); break;
	case HTTP_CNT_WS_UPGRADES: COUNT(s, ws_upgrades); break;
	case HTTP_CNT_TIMEOUTS: COUNT(s, timeouts); break;
	case HTTP_CNT_BAD: COUNT(s, bad_requests); break;
	}
}

conn_server *http_server_conns(http_server *s)
{
	return s->cs;
}

const http_opts *http_server_opts(const http_server *s)
{
	return &s->opts;
}

/* ---------- read interest and timers ---------- */

/* Reads only while a request is being received and nothing waits to be
 * written. */
static void sync_read(conn *c)
{
	hconn *h = H(c);
	conn_want_read(c, !c->dead && !c->close_after_write && !h->eof && h->state != H_WAIT &&
			      h->state != H_SEND && !h->paused && !conn_pending(c));
}

/* Starts the head deadline at a head's first byte (not again for later bytes). */
static void head_started(conn *c)
{
	hconn *h = H(c);
	if (h->timed)
		return;
	h->timed = true;
	conn_set_timer(c, S(c)->opts.header_timeout);
}

/* The body deadline: header_timeout + length / min rate from the head's end;
 * for a chunked body, the length decoded so far. */
static void body_deadline(conn *c)
{
	hconn *h = H(c);
	const http_opts *o = &S(c)->opts;
	double len = h->chunked ? (double)h->chunk.total : (double)h->content_length;
	double rate = o->body_min_rate > 0 ? (double)o->body_min_rate : 1;
	double left = h->body_start + o->header_timeout + len / rate - conn_now(c);
	conn_set_timer(c, left > 0.001 ? left : 0.001);
}

/* Between requests: the idle timer. */
static void idle_timer(conn *c)
{
	H(c)->timed = false;
	conn_set_timer(c, S(c)->opts.idle_timeout);
}

/* ---------- responses ---------- */

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static void error_body(buf *b, const char *code, const char *message, const char *field)
{
	json_t *e = json_pack("{s:s,s:s}", "code", code, "message", message);
	if (field)
		json_object_set_new(e, "field", json_string(field));
	json_t *root = json_pack("{s:o}", "error", e);
	char *s = json_dumps(root, JSON_COMPACT);
	buf_puts(b, s ? s : "{}");
	free(s);
	json_decref(root);
}

static void free_req(hconn *h)
{
	http_req *req = h->req;
	if (req) {
		h->req = NULL;
		h->paused = false;
		if (req->stream && req->stream->on_free)
			req->stream->on_free(req);
		free((void *)req->body);
		free(req);
	}
}

/* Appends a full response, finishes the current request and writes. */
static void write_response(conn *c, int status, const char *ctype, const void *body, size_t len,
			   const char *extra, bool head_only, bool by_ref)
{
	hconn *h = H(c);
	/* a streamed body not read to its end: the connection cannot be reused */
	if (h->stream_open) {
		h->stream_open = false;
		h->keep_alive = false;
		h->raw_pos = c->in.len;
	}
	/* protocol errors (fail) set close_after_write; application errors keep the connection */
	bool keep = h->keep_alive && !c->close_after_write && !c->draining;
	/* 204 and 304 carry no body and no Content-Length (RFC 9110 8.6) */
	char cl[48] = "";
	if (status != 204 && status != 304)
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", len);
	buf_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nServer: %s\r\n%s"
		   "X-Content-Type-Options: nosniff\r\n%s%s%s%s%s%s",
		   status, reason(status), S(c)->opts.server_name, cl,
		   h->cors ? "Access-Control-Allow-Origin: *\r\n" : "",
		   ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		   keep ? "" : "Connection: close\r\n", extra ? extra : "");
	conn_write(c, "\r\n", 2);
	if (len && !head_only)
		(by_ref ? conn_write_ref : conn_write)(c, body, len);
	if (!keep)
		c->close_after_write = true;
	finish_request(c);
	h->state = H_HEAD;
	idle_timer(c);   /* also bounds how long the response may take to be read */
	next_request(c);
}

/* The request is answered: drop its bytes (pipelined ones stay). */
static void finish_request(conn *c)
{
	hconn *h = H(c);
	free_req(h);
	buf_consume(&c->in, h->raw_pos);
	if (!c->in.len)
		buf_free(&c->in);
	h->raw_pos = h->head_len = h->body_len = 0;
	h->cors = false;
	h->head_req = false;
	c->serial++;
}

/* A response is complete in c->out: writes it and goes on with a
 * pipelined request, if one waits. */
static void next_request(conn *c)
{
	hconn *h = H(c);
	if (conn_flush(c) == 1 && !c->close_after_write && !h->in_process)
		process_input(c);   /* a pipelined request may be waiting */
	if (c->dead || c->proto != &http_proto)
		return;
	if (h->eof && h->state != H_WAIT && h->state != H_SEND && !h->in_process)
		c->close_after_write = true;   /* half-closed: nothing more can come */
	sync_read(c);
}

/* Answers a protocol-level error (no handler involved) and closes. */
static void fail(conn *c, int status, const char *code, const char *msg)
{
	COUNT(S(c), bad_requests);
	buf b = { 0 };
	error_body(&b, code, msg, NULL);
	c->close_after_write = true;
	bool head = H(c)->head_req;   /* known once the head parsed */
	H(c)->raw_pos = c->in.len;
	write_response(c, status, "application/json", b.data, b.len, NULL, head, false);
	buf_free(&b);
}

static void respond(http_req *req, int status, const char *ctype, const void *body, size_t len,
		    const char *extra_headers, bool by_ref)
{
	if (req->answered)
		return;
	req->answered = true;
	bool head = req->head.method.len == 4 && memcmp(req->head.method.p, "HEAD", 4) == 0;
	write_response(req->conn, status, ctype, body, len, extra_headers, head, by_ref);
}

void http_respond(http_req *req, int status, const char *ctype, const void *body, size_t len,
		  const char *extra_headers)
{
	respond(req, status, ctype, body, len, extra_headers, false);
}

void http_respond_static(http_req *req, int status, const char *ctype, const void *body, size_t len,
			 const char *extra_headers)
{
	respond(req, status, ctype, body, len, extra_headers, true);
}

void http_respond_json(http_req *req, int status, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s) {
		http_respond_error(req, 500, "internal", "encoding failed", NULL);
		return;
	}
	http_respond(req, status, "application/json", s, strlen(s), "Cache-Control: no-store\r\n");
	free(s);
}

void http_respond_error(http_req *req, int status, const char *code, const char *message,
			const char *field)
{
	buf b = { 0 };
	error_body(&b, code, message, field);
	http_respond(req, status, "application/json", b.data, b.len, "Cache-Control: no-store\r\n");
	buf_free(&b);
}

void http_etag(const void *body, size_t len, char out[HTTP_ETAG_SIZE])
{
	uint8_t h[CRYPTO_SHA256_LEN];
	crypto_sha256(body, len, h);
	out[0] = '"';
	crypto_hex(h, 8, out + 1);
	out[17] = '"';
	out[18] = 0;
}
/* Whether one If-None-Match field value names etag. */
static bool etag_in(const hp_str *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm->p, *end = inm->p + inm->len, *first = p;
	while (first < end && (*first == ' ' || *first == '\t'))
		first++;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			break;
		if (*p == '*') {   /* "*" matches only as the whole field value */
			const char *q = p + 1;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			return q == end && p == first;
		}
		if (end - p >= 2 && p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *q = p;
		if (q < end && *q == '"') {   /* a quoted tag, commas allowed inside */
			q++;
			while (q < end && *q != '"')
				q++;
			if (q < end)
				q++;
		}
		while (q < end && *q != ',')
			q++;
		const char *t = q;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - p) == el && memcmp(p, etag, el) == 0)
			return true;
		p = q;
	}
	return false;
}
bool http_etag_match(const http_req *req, const char *etag)
{
	/* every If-None-Match line counts (a list may be split over several) */
	static const char name[] = "If-None-Match";
	for (size_t i = 0; i < req->head.num_headers; i++) {
		const hp_header *h = &req->head.headers[i];
		if (h->name.len == sizeof name - 1 && strncasecmp(h->name.p, name, sizeof name - 1) == 0 &&
		    etag_in(&h->value, etag))
			return true;
	}
	return false;
}

int http_req_loop(const http_req *req)
{
	return conn_loop_index(req->conn);
}

conn_ref http_defer(http_req *req)
{
	req->deferred = true;
	return conn_ref_of(req->conn);
}

typedef struct {
	conn_task t;
	int status;
	const char *ctype;
	char *body;
	size_t len;
	char *extra;
} resp_task;

static void run_resp(conn *c, conn_task *t)
{
	resp_task *rt = (resp_task *)t;
	if (c && c->proto == &http_proto && (H(c)->state == H_WAIT || H(c)->state == H_STREAM) &&
	    c->serial == rt->t.ref.serial && H(c)->req)
		http_respond(H(c)->req, rt->status, rt->ctype, rt->body, rt->len, rt->extra);
	free(rt->body);
	free(rt->extra);
	free(rt);
}

void http_post_response(http_server *s, conn_ref ref, int status, const char *ctype, char *body,
			size_t len, const char *extra_headers)
{
	resp_task *rt = calloc(1, sizeof *rt);
	if (!rt) {
		free(body);
		return;
	}
	rt->t.ref = ref;
	rt->t.run = run_resp;
	rt->status = status;
	rt->ctype = ctype;
	rt->body = body;
	rt->len = len;
	rt->extra = extra_headers ? strdup(extra_headers) : NULL;
	conn_post(s->cs, &rt->t);
}

void http_post_json(http_server *s, conn_ref ref, int status, json_t *v)
{
	char *str = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!str) {
		http_post_error(s, ref, 500, "internal", "encoding failed");
		return;
	}
	http_post_response(s, ref, status, "application/json", str, strlen(str),
			   "Cache-Control: no-store\r\n");
}

void http_post_error(http_server *s, conn_ref ref, int status, const char *code, const char *message)
{
	buf b = { 0 };
	error_body(&b, code, message, NULL);
	http_post_response(s, ref, status, "application/json", b.data, b.len,
			   "Cache-Control: no-store\r\n");
}

/* ---------- streamed responses ---------- */

static void pump(conn *c);

/* Frees the producer of the stream being sent (once). */
static void drop_src(hconn *h)
{
	const http_body_src *src = h->src;
	void *ctx = h->src_ctx;
	h->src = NULL;
	h->src_ctx = NULL;
	h->pump_queued = false;
	buf_free(&h->piece);
	if (src && src->on_free)
		src->on_free(ctx);
}

/* The stream ends before its end (the producer failed, the client went
 * away or stopped reading, the server stops): no terminating chunk. */
static void stream_aborted(conn *c, const char *why)
{
	hconn *h = H(c);
	if (!h->src)
		return;
	COUNT(S(c), streams_aborted);
	log_info("http.stream_aborted", "conn=%u reason=%s", c->slot, why);
	drop_src(h);
}

typedef struct {
	conn_task t;
} pump_task;

static void run_pump(conn *c, conn_task *t)
{
	if (c && c->proto == &http_proto && H(c)->state == H_SEND && c->serial == t->ref.serial) {
		H(c)->pump_queued = false;
		pump(c);
	}
	free(t);
}

/* Asks for the producer's next turn after the loop's other events. */
static void post_pump(conn *c)
{
	hconn *h = H(c);
	if (h->pump_queued)
		return;
	pump_task *pt = calloc(1, sizeof *pt);
	if (!pt) {
		stream_aborted(c, "out_of_memory");
		conn_kill(c);
		return;
	}
	h->pump_queued = true;
	pt->t.ref = conn_ref_of(c);
	pt->t.run = run_pump;
	conn_post(S(c)->cs, &pt->t);
}

/* The body is complete: back to reading heads (or closing). */
static void stream_done(conn *c)
{
	hconn *h = H(c);
	COUNT(S(c), streams_done);
	drop_src(h);
	h->state = H_HEAD;
	c->serial++;   /* a posted turn of this stream finds nothing to do */
	if (!h->keep_alive || !h->send_chunked || c->draining)
		c->close_after_write = true;
	idle_timer(c);
	next_request(c);
}

/* Produces pieces while little waits to be written, at most a turn's
 * worth; the rest comes from on_drain (the socket took everything) or a
 * posted turn (it still takes more). */
static void pump(conn *c)
{
	hconn *h = H(c);
	size_t made = 0;
	while (!c->dead && c->proto == &http_proto && h->state == H_SEND && h->src) {
		if (conn_pending(c) >= HTTP_STREAM_LOW_MARK)
			return;   /* on_drain asks again */
		if (made >= HTTP_STREAM_TURN) {
			post_pump(c);
			return;
		}
		h->piece.len = 0;
		int r = h->src->next(h->src_ctx, &h->piece);
		if (c->dead || h->state != H_SEND)
			return;
		if (r != HTTP_BODY_MORE && r != HTTP_BODY_END) {
			stream_aborted(c, "producer_failed");
			c->close_after_write = true;   /* what was produced goes out; no last chunk */
			h->state = H_HEAD;
			c->serial++;
			conn_flush(c);
			return;
		}
		if (h->piece.len) {
			if (h->send_chunked) {
				char head[CHUNK_HEAD_MAX];
				size_t hl = chunk_head(head, h->piece.len);
				if (conn_write(c, head, hl) < 0 || conn_write(c, h->piece.data, h->piece.len) < 0 ||
				    conn_write(c, CHUNK_TAIL, CHUNK_TAIL_LEN) < 0)
					goto oom;
			} else if (conn_write(c, h->piece.data, h->piece.len) < 0) {
				goto oom;
			}
		}
		made += h->piece.len + 1024;   /* empty pieces count too */
		if (r == HTTP_BODY_END) {
			if (h->send_chunked && conn_write(c, CHUNK_LAST, CHUNK_LAST_LEN) < 0)
				goto oom;
			stream_done(c);
			return;
		}
		/* a reader that takes nothing for idle_timeout is gone */
		conn_set_timer(c, S(c)->opts.idle_timeout);
		if (conn_flush(c) < 0)
			return;   /* killed: on_close frees the producer */
	}
	return;
oom:
	stream_aborted(c, "out_of_memory");
	conn_kill(c);
}

void http_respond_stream(http_req *req, int status, const char *ctype, const char *extra_headers,
			 const http_body_src *src, void *ctx)
{
	if (req->answered) {
		if (src->on_free)
			src->on_free(ctx);
		return;
	}
	req->answered = true;
	conn *c = req->conn;
	hconn *h = H(c);
	bool head_only = h->head_req;
	bool chunked = req->head.minor_version >= 1;
	/* a streamed request body not read to its end: the connection cannot be reused */
	if (h->stream_open) {
		h->stream_open = false;
		h->keep_alive = false;
		h->raw_pos = c->in.len;
	}
	/* HTTP/1.0 has no chunked coding: the body ends with the connection */
	bool keep = h->keep_alive && chunked && !c->close_after_write && !c->draining;
	h->keep_alive = keep;
	buf_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nServer: %s\r\n%s"
		   "X-Content-Type-Options: nosniff\r\n%s%s%s%s%s%s\r\n",
		   status, reason(status), S(c)->opts.server_name,
		   chunked ? "Transfer-Encoding: chunked\r\n" : "",
		   h->cors ? "Access-Control-Allow-Origin: *\r\n" : "",
		   ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		   keep ? "" : "Connection: close\r\n", extra_headers ? extra_headers : "");
	finish_request(c);
	if (head_only) {
		if (src->on_free)
			src->on_free(ctx);
		if (!keep)
			c->close_after_write = true;
		h->state = H_HEAD;
		idle_timer(c);
		next_request(c);
		return;
	}
	COUNT(S(c), streams);
	h->state = H_SEND;
	h->src = src;
	h->src_ctx = ctx;
	h->send_chunked = chunked;
	h->pump_queued = false;
	sync_read(c);   /* nothing more is read until the body has gone */
	conn_set_timer(c, S(c)->opts.idle_timeout);
	conn_flush(c);
	if (!c->dead)
		post_pump(c);   /* the first piece comes after the handler returned */
}

/* ---------- routing (net/router.c) ---------- */

int http_route(http_server *s, const char *method, const char *pattern, unsigned flags,
	       http_handler h, void *data)
{
	if (flags & HTTP_STREAM_BODY)
		s->any_stream = true;
	return router_add(s->routes, method, pattern, flags, h, data);
}

void http_routes_each(http_server *s, void (*fn)(const char *, const char *, void *), void *arg)
{
	router_each(s->routes, fn, arg);
}

void http_set_fallback(http_server *s, http_handler h, void *data)
{
	router_set_fallback(s->routes, h, data);
}

static bool method_is(hp_str m, const char *s)
{
	return m.len == strlen(s) && memcmp(m.p, s, m.len) == 0;
}

static void dispatch(conn *c, http_req *req)
{
	http_server *s = S(c);
	hconn *h = H(c);
	COUNT(s, requests);
	const char *cp = s->opts.cors_prefix;
	h->cors = cp && req->head.path.len >= strlen(cp) && memcmp(req->head.path.p, cp, strlen(cp)) == 0;
	if (h->cors && method_is(req->head.method, "OPTIONS")) {
		http_respond(req, 204, NULL, NULL, 0,
			     "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
			     "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
			     "Access-Control-Max-Age: 600\r\n");
		return;
	}
	if (req->head.path.len == 1 && req->head.path.p[0] == '*') {   /* OPTIONS * (the parser allows no other) */
		http_respond(req, 204, NULL, NULL, 0, "Allow: GET, HEAD, POST, PATCH, OPTIONS\r\n");
		return;
	}
	router_hit hit;
	char allow[192];   /* for a 405 (RFC 9110 15.5.6) */
	switch (router_find(s->routes, req, &hit, allow, sizeof allow - 32)) {
	case ROUTER_FOUND:
	case ROUTER_FALLBACK:
		req->route_data = hit.data;
		hit.h(req);
		break;
	case ROUTER_NO_METHOD: {
		buf b = { 0 };
		error_body(&b, "method_not_allowed", "method not allowed on this path", NULL);
		strcat(allow, "\r\nCache-Control: no-store\r\n");
		http_respond(req, 405, "application/json", b.data, b.len, allow);
		buf_free(&b);
		break;
	}
	case ROUTER_NOT_FOUND:
		http_respond_error(req, 404, "not_found", "no such endpoint", NULL);
		break;
	}
	/* answered requests are freed (h->req cleared); an upgrade hands the
	 * connection to another protocol */
	if (c->proto == &http_proto && !c->dead && H(c)->req == req && !req->answered && !req->deferred)
		http_respond_error(req, 500, "internal", "handler did not answer", NULL);
}

/* ---------- request input ---------- */

static int head_error_status(int rc, const char **code)
{
	switch (rc) {
	case HP_EHEAD_TOO_LARGE:
	case HP_ETOO_MANY: *code = "headers_too_large"; return 431;
	case HP_EURI_TOO_LONG: *code = "uri_too_long"; return 414;
	case HP_EVERSION: *code = "http_version_not_supported"; return 505;
	default: *code = "bad_request"; return 400;
	}
}

/* Parses the head at the front of c->in into req (views into c->in). */
static int parse_head(conn *c, http_req *req)
{
	const http_opts *o = &S(c)->opts;
	memset(&req->head, 0, sizeof req->head);
	req->head.max_head = o->max_head;
	req->head.max_uri = o->max_uri;
	req->head.headers = req->headers;
	req->head.num_headers = HTTP_MAX_HEADERS;
	int rc = hp_parse_head(&req->head, c->in.data, c->in.len);
	if (rc > 0 && req->head.path.len == 0)   /* absolute-form without a path */
		req->head.path = (hp_str){ "/", 1 };
	return rc;
}

/* Answers at once with a final status and closes, without reading the
 * request's body (RFC 9110 10.1.1: the client may not send it). */
static void refuse(conn *c, int status, const char *code, const char *msg, const char *extra)
{
	buf b = { 0 };
	error_body(&b, code, msg, NULL);
	c->close_after_write = true;
	bool head = H(c)->head_req;
	H(c)->raw_pos = c->in.len;
	write_response(c, status, "application/json", b.data, b.len, extra, head, false);
	buf_free(&b);
}

/* Expect (RFC 9110 10.1.1) on a request with a body: answers 100, or
 * refuses at once. True when the body is to be read. */
static bool expect(conn *c, http_req *tmp)
{
	const hp_str *e = http_header(tmp, "Expect");
	if (!e)
		return true;
	if (e->len != 12 || strncasecmp(e->p, "100-continue", 12) != 0) {
		COUNT(S(c), bad_requests);
		refuse(c, 417, "expectation_failed", "only Expect: 100-continue is supported", NULL);
		return false;
	}
	if (tmp->head.minor_version == 0 || c->in.len > H(c)->head_len)
		return true;   /* no 100 to HTTP/1.0; none needed once body bytes came */
	router_hit hit;
	char allow[192];
	enum router_result rr = router_find(S(c)->routes, tmp, &hit, allow, sizeof allow - 32);
	if (rr == ROUTER_NOT_FOUND) {
		refuse(c, 404, "not_found", "no such endpoint", NULL);
		return false;
	}
	if (rr == ROUTER_NO_METHOD) {
		strcat(allow, "\r\n");
		refuse(c, 405, "method_not_allowed", "method not allowed on this path", allow);
		return false;
	}
	if (rr == ROUTER_FOUND && (hit.flags & HTTP_BEARER) && http_bearer(tmp).len == 0) {
		refuse(c, 401, "unauthenticated", "a bearer token is required",
		       "WWW-Authenticate: Bearer\r\n");
		return false;
	}
	conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	conn_flush(c);
	return !c->dead;
}

/* Decodes chunked body bytes in place from c->in at `at`
 * (hp_chunked_decode); a framing error or a body over the limit is
 * answered (413 / 400, and close) and returned. */
static int decode_chunked(conn *c, size_t at, size_t *avail, size_t *consumed)
{
	int rc = hp_chunked_decode(&H(c)->chunk, c->in.data + at, avail, consumed);
	if (rc == HPC_ETOO_LARGE)
		fail(c, 413, "too_large", "request body too large");
	else if (rc < 0)
		fail(c, 400, "bad_request", "malformed chunked body");
	return rc;
}

/* Starts handling the request whose head and body are complete (or,
 * for a streamed body, whose head is: the body deadline keeps running). */
static void start_request(conn *c)
{
	hconn *h = H(c);
	http_req *req = calloc(1, sizeof *req);
	if (!req) {
		conn_kill(c);
		return;
	}
	if (parse_head(c, req) <= 0) {   /* cannot fail: it parsed before */
		free(req);
		conn_kill(c);
		return;
	}
	char *body = malloc(h->body_len + 1);
	if (!body) {
		free(req);
		conn_kill(c);
		return;
	}
	memcpy(body, c->in.data + h->head_len, h->body_len);
	body[h->body_len] = 0;
	req->body = body;
	req->body_len = h->body_len;
	req->conn = c;
	req->srv = S(c);
	h->req = req;
	h->state = H_WAIT;
	if (!h->stream_open) {
		h->timed = false;
		conn_set_timer(c, 0);
	}
	sync_read(c);
	dispatch(c, req);
}

/* H_STREAM: hands the body on as it arrives; true when it is complete
 * (the handler's on_end has run), false when more is needed, reading is
 * paused or the request ended. */
static bool stream_body(conn *c)
{
	hconn *h = H(c);
	http_req *req = h->req;
	while (!h->paused) {
		size_t n, consumed;
		bool done;
		if (!h->chunked) {
			uint64_t left = (uint64_t)h->content_length - h->streamed;
			size_t avail = c->in.len - h->head_len;
			n = consumed = (uint64_t)avail < left ? avail : (size_t)left;
			done = n == left;
		} else {
			size_t avail = c->in.len - h->head_len;
			consumed = 0;
			int rc = decode_chunked(c, h->head_len, &avail, &consumed);
			if (rc < 0)
				return false;
			n = avail;
			done = rc == HPC_DONE;
		}
		h->streamed += n;
		int r = n ? req->stream->on_data(req, c->in.data + h->head_len, n) : HTTP_STREAM_GO;
		if (c->dead || c->proto != &http_proto || h->req != req || h->state != H_STREAM)
			return false;   /* answered (a refusal) or gone */
		/* drop what was used (framing consumed without data too) */
		memmove(c->in.data + h->head_len, c->in.data + h->head_len + consumed,
			c->in.len - h->head_len - consumed);
		c->in.len -= consumed;
		c->in.data[c->in.len] = 0;
		if (h->chunked && !done)
			body_deadline(c);   /* the bound grows with what arrived (also while paused) */
		if (!n && !done)
			return false;
		if (done) {
			h->stream_open = false;
			h->raw_pos = h->head_len;
			h->state = H_WAIT;
			h->timed = false;
			conn_set_timer(c, 0);
			sync_read(c);
			req->stream->on_end(req);
			if (!c->dead && c->proto == &http_proto && h->req == req && !req->answered &&
			    !req->deferred)
				http_respond_error(req, 500, "internal", "handler did not answer", NULL);
			return true;
		}
		if (r == HTTP_STREAM_PAUSE)
			h->paused = true;
	}
	return false;
}

bool http_stream(http_req *req, const http_stream_cbs *cbs, void *ctx, uint64_t max)
{
	conn *c = req->conn;
	hconn *h = H(c);
	req->stream = cbs;
	req->stream_ctx = ctx;
	if (!h->stream_open) {
		/* the body came whole (none, or a route that does not stream) */
		if (req->body_len > max) {
			http_respond_error(req, 413, "too_large", "request body too large", NULL);
			return false;
		}
		if (req->body_len) {
			cbs->on_data(req, req->body, req->body_len);   /* a pause changes nothing here */
			if (c->dead || h->req != req)
				return true;   /* answered (a refusal) */
		}
		cbs->on_end(req);
		return true;
	}
	if (!h->chunked && (uint64_t)h->content_length > max) {
		http_respond_error(req, 413, "too_large", "request body too large", NULL);
		return false;
	}
	h->chunk.max_body = max;
	h->state = H_STREAM;
	req->deferred = true;   /* answered from the callbacks */
	if (h->expect100) {
		h->expect100 = false;
		if (c->in.len == h->head_len) {
			conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			conn_flush(c);
			if (c->dead)
				return true;
		}
	}
	sync_read(c);
	return true;
}

void http_stream_resume(http_req *req)
{
	conn *c = req->conn;
	hconn *h = H(c);
	if (h->req != req || !h->paused)
		return;
	h->paused = false;
	if (!h->in_process)
		process_input(c);
	if (c->dead || c->proto != &http_proto)
		return;
	if (h->eof && h->state == H_STREAM && !h->paused && !conn_pending(c))
		conn_kill(c);   /* the body can no longer be completed */
	else
		sync_read(c);
}

typedef struct {
	conn_task t;
} resume_task;

static void run_resume(conn *c, conn_task *t)
{
	if (c && c->proto == &http_proto && H(c)->state == H_STREAM && c->serial == t->ref.serial &&
	    H(c)->req)
		http_stream_resume(H(c)->req);
	free(t);
}

void http_post_resume(http_server *s, conn_ref ref)
{
	resume_task *rt = calloc(1, sizeof *rt);
	if (!rt)
		return;   /* the body deadline ends the request */
	rt->t.ref = ref;
	rt->t.run = run_resume;
	conn_post(s->cs, &rt->t);
}

/* Advances the body of the current request; true when complete. */
static bool read_body(conn *c)
{
	hconn *h = H(c);
	if (!h->chunked) {
		if (c->in.len - h->head_len < (size_t)h->content_length)
			return false;
		h->body_len = (size_t)h->content_length;
		h->raw_pos = h->head_len + h->body_len;
		return true;
	}
	size_t avail = c->in.len - h->raw_pos, consumed = 0;
	int rc = decode_chunked(c, h->raw_pos, &avail, &consumed);
	if (rc < 0)
		return false;
	memmove(c->in.data + h->head_len + h->body_len, c->in.data + h->raw_pos, avail);
	h->body_len += avail;
	h->raw_pos += consumed;
	/* the decoded bytes now sit before raw_pos; keep the gap closed */
	size_t gap = h->raw_pos - (h->head_len + h->body_len);
	if (gap) {
		memmove(c->in.data + h->head_len + h->body_len, c->in.data + h->raw_pos,
			c->in.len - h->raw_pos);
		c->in.len -= gap;
		h->raw_pos -= gap;
	}
	return rc == HPC_DONE;
}

/* Takes the head at the front of c->in: false when the request ended there
 * (an error was answered) or more bytes are needed. */
static bool take_head(conn *c)
{
	hconn *h = H(c);
	head_started(c);
	http_req tmp;
	int rc = parse_head(c, &tmp);
	if (rc == HP_AGAIN)
		return false;
	if (rc < 0) {
		const char *code;
		int st = head_error_status(rc, &code);
		fail(c, st, code, hp_strerror(rc));
		return false;
	}
	h->head_req = tmp.head.method.len == 4 && memcmp(tmp.head.method.p, "HEAD", 4) == 0;
	if (tmp.head.minor_version == 1 && tmp.head.host.len == 0) {
		fail(c, 400, "bad_request", "HTTP/1.1 requires a Host header");
		return false;
	}
	h->head_len = (size_t)rc;
	h->raw_pos = h->head_len;
	h->body_len = 0;
	h->chunked = tmp.head.chunked;
	h->content_length = tmp.head.content_length < 0 ? 0 : tmp.head.content_length;
	h->keep_alive = tmp.head.keep_alive && !c->draining;
	bool has_body = h->chunked || h->content_length > 0;
	h->stream = h->stream_open = h->paused = h->expect100 = false;
	h->streamed = 0;
	if (has_body && S(c)->any_stream) {
		router_hit hit;
		char allow[192];
		if (router_find(S(c)->routes, &tmp, &hit, allow, sizeof allow - 32) == ROUTER_FOUND &&
		    (hit.flags & HTTP_STREAM_BODY))
			h->stream = true;
	}
	if (!h->chunked && !h->stream && (uint64_t)h->content_length > S(c)->opts.max_body) {
		fail(c, 413, "too_large", "request body too large");
		return false;
	}
	if (h->chunked)
		hp_chunked_init(&h->chunk, S(c)->opts.max_body);
	h->state = H_BODY;
	h->body_start = conn_now(c);
	if (has_body) {
		if (h->stream) {
			/* the handler decides before anything of the body is read */
			const hp_str *e = http_header(&tmp, "Expect");
			if (e && (e->len != 12 || strncasecmp(e->p, "100-continue", 12) != 0)) {
				COUNT(S(c), bad_requests);
				refuse(c, 417, "expectation_failed", "only Expect: 100-continue is supported",
				       NULL);
				return false;
			}
			h->expect100 = e && tmp.head.minor_version == 1;
			h->stream_open = true;
		} else if (!expect(c, &tmp)) {
			return false;
		}
		body_deadline(c);
	}
	return true;
}

static void process_loop(conn *c)
{
	hconn *h = H(c);
	while (!c->dead && !c->close_after_write && !conn_pending(c)) {
		if (h->state == H_HEAD) {
			if (!c->in.len || !take_head(c))
				return;
		}
		if (h->state == H_STREAM) {
			if (!stream_body(c))
				return;
			continue;
		}
		if (h->state != H_BODY)
			return;   /* waiting for the handler */
		if (h->stream_open) {
			start_request(c);   /* the handler takes the body as it comes */
			continue;
		}
		if (!read_body(c)) {
			if (!c->dead && !c->close_after_write && h->chunked)
				body_deadline(c);   /* the bound grows with what arrived */
			return;
		}
		start_request(c);
		if (c->proto != &http_proto)
			return;   /* upgraded */
	}
}

static void process_input(conn *c)
{
	/* re-entered from write_response when a response is written at once:
	 * the outer loop picks up the next pipelined request instead */
	hconn *h = H(c);
	h->in_process = true;
	process_loop(c);
	if (c->proto == &http_proto)
		h->in_process = false;
	else
		free(h);   /* upgraded inside: the state was left for us to free */
}

/* ---------- protocol table ---------- */

static void on_open(conn *c)
{
	hconn *h = calloc(1, sizeof *h);
	if (!h) {
		conn_kill(c);
		return;
	}
	conn_set_proto(c, &http_proto, h);
	idle_timer(c);
}

static void on_read(conn *c)
{
	const http_opts *o = &S(c)->opts;
	for (int i = 0; i < READS_PER_WAKE; i++) {
		if (c->in.len > o->max_head + o->max_body + READ_CHUNK) {
			fail(c, 413, "too_large", "request too large");
			return;
		}
		if (buf_reserve(&c->in, READ_CHUNK) < 0) {
			conn_kill(c);
			return;
		}
		ssize_t n = conn_read(c, c->in.data + c->in.len, READ_CHUNK);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = 0;
			if ((size_t)n < READ_CHUNK)
				break;
			if (H(c)->state == H_STREAM) {
				/* a streamed body is handed on read by read, not gathered */
				process_input(c);
				if (c->dead || c->proto != &http_proto)
					return;
				if (H(c)->state != H_STREAM || H(c)->paused)
					break;
			}
			continue;
		}
		if (n == -1)
			break;
		if (n == -2) {
			conn_kill(c);
			return;
		}
		H(c)->eof = true;   /* half-close: requests already here are still answered */
		break;
	}
	if (!c->in.len)
		buf_free(&c->in);
	process_input(c);
	hconn *h = H(c);
	if (c->proto == &http_proto && !c->dead && h->eof && h->state != H_WAIT && h->state != H_SEND &&
	    !h->paused && !conn_pending(c))
		conn_kill(c);   /* nothing (complete) left to answer */
	else if (c->proto == &http_proto && !c->dead)
		sync_read(c);
}

static void on_drain(conn *c)
{
	if (H(c)->state == H_SEND) {
		pump(c);
		return;
	}
	sync_read(c);
	if (H(c)->state == H_HEAD && c->in.len && !c->close_after_write)
		process_input(c);
}

static void on_timer(conn *c)
{
	hconn *h = H(c);
	if (h->state == H_WAIT)
		return;
	if (h->state == H_SEND) {
		stream_aborted(c, "not_read_in_time");
		conn_kill(c);
		return;
	}
	if (conn_pending(c) || !h->timed) {
		conn_kill(c);   /* idle between requests, or a response not read in time */
		return;
	}
	COUNT(S(c), timeouts);
	fail(c, 408, "request_timeout", "request not received in time");
}

static void on_stop(conn *c, bool final)
{
	hconn *h = H(c);
	if (h->state == H_SEND && final) {
		stream_aborted(c, "server_stopping");
		conn_kill(c);
	} else if (h->state == H_WAIT || h->state == H_SEND)
		h->keep_alive = false;          /* closes after its response */
	else if (conn_pending(c))
		c->close_after_write = true;    /* a response is on its way */
	else
		conn_kill(c);                   /* idle, or a request not yet complete */
}

static void on_close(conn *c)
{
	hconn *h = H(c);
	if (!h)
		return;
	stream_aborted(c, "connection_closed");
	free_req(h);
	if (!h->in_process)
		free(h);
	else
		h->req = NULL;   /* process_input is on the stack: it frees h */
	c->pd = NULL;
}

static const conn_proto http_proto = {
	.name = "http",
	.on_open = on_open,
	.on_read = on_read,
	.on_drain = on_drain,
	.on_timer = on_timer,
	.on_stop = on_stop,
	.on_close = on_close,
};

conn *http_upgrade(http_req *req)
{
	conn *c = req->conn;
	hconn *h = H(c);
	buf_consume(&c->in, h->raw_pos);
	if (!c->in.len)
		buf_free(&c->in);
	req->answered = true;
	free_req(h);
	if (!h->in_process)
		free(h);   /* else process_input frees it when it sees the new protocol */
	c->pd = NULL;
	c->proto = NULL;
	conn_set_timer(c, 0);
	return c;
}

/* ---------- server ---------- */

http_server *http_server_new(const http_opts *o, ioloop **loops, int n)
{
	http_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (o)
		s->opts = *o;
	else
		http_opts_default(&s->opts);
	s->routes = router_new();
	s->cs = s->routes ? conn_server_new(loops, n, &http_proto, s) : NULL;
	if (!s->cs) {
		router_free(&s->routes);
		free(s);
		return NULL;
	}
	return s;
}

void http_server_free(http_server **s_p)
{
	http_server *s = *s_p;
	if (!s)
		return;
	conn_server_free(&s->cs);
	router_free(&s->routes);
	free(s);
	*s_p = NULL;
}

int http_server_listen(http_server *s, const char *host, int port)
{
	return conn_server_listen(s->cs, host, port);
}

int http_server_listen_tls(http_server *s, const char *host, int port, tls_ctx *tls)
{
	return conn_server_listen_tls(s->cs, host, port, tls, s->opts.header_timeout);
}

void http_server_quiesce(http_server *s)
{
	conn_server_stop(s->cs, false);
}

void http_server_shutdown(http_server *s)
{
	conn_server_stop(s->cs, true);
}

int http_server_connections(http_server *s)
{
	return conn_server_open(s->cs);
}

void http_server_get_stats(http_server *s, http_stats *o)
{
	conn_stats cs;
	conn_server_stats(s->cs, &cs);
	o->accepted = cs.accepted;
	o->accept_paused = cs.accept_paused;
	o->open = cs.open;
	o->requests = atomic_load(&s->requests);
	o->ws_upgrades = atomic_load(&s->ws_upgrades);
	o->ws_in = atomic_load(&s->ws_in);
	o->ws_out = atomic_load(&s->ws_out);
	o->ws_dropped_slow = atomic_load(&s->ws_dropped);
	o->bad_requests = atomic_load(&s->bad_requests);
	o->timeouts = atomic_load(&s->timeouts);
	o->streams = atomic_load(&s->streams);
	o->streams_aborted = atomic_load(&s->streams_aborted);
	uint64_t ended = atomic_load(&s->streams_done) + o->streams_aborted;
	o->streams_active = o->streams > ended ? o->streams - ended : 0;
}

const hp_str *http_header(const http_req *req, const char *name)
{
	const hp_header *h = hp_find(&req->head, name);
	return h ? &h->value : NULL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

int http_query(const http_req *req, const char *name, char *out, size_t cap)
{
	const char *p = req->head.query.p, *end = p + req->head.query.len;
	size_t nl = strlen(name);
	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ke = eq ? eq : pe;
		if ((size_t)(ke - p) == nl && memcmp(p, name, nl) == 0) {
			size_t n = 0;
			for (const char *v = eq ? eq + 1 : pe; v < pe; v++) {
				char ch = *v;
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%' && pe - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
					ch = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					v += 2;
				}
				if (n + 1 >= cap)
					return -2;
				out[n++] = ch;
			}
			out[n] = 0;
			return (int)n;
		}
		p = amp ? amp + 1 : end;
	}
	return -1;
}


hp_str http_bearer(const http_req *req)
{
	const hp_str *v = http_header(req, "Authorization");
	if (!v || v->len < 7 || strncasecmp(v->p, "Bearer ", 7) != 0)
		return (hp_str){ "", 0 };
	const char *p = v->p + 7;
	size_t n = v->len - 7;
	while (n && *p == ' ') {
		p++;
		n--;
	}
	return (hp_str){ p, n };
}

