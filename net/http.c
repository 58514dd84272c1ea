/* http — connections, HTTP/1.1 request handling, routing and responses.
 *
 * Design notes:
 *  - Each loop accepts on its own SO_REUSEPORT socket, so the kernel spreads
 *    connections across loops and no connection is ever handed between
 *    threads. A connection's slot in its loop's table plus a generation
 *    number form the conn_ref other threads use to post to it.
 *  - Memory follows activity: an idle keep-alive or WebSocket connection
 *    holds only this struct (≈300 bytes); the input buffer exists only while
 *    it holds partial data, the output buffer only while writes are pending.
 *  - A connection is never freed inside a callback that is using it: we
 *    mark it dead (socket closed at once) and free it when the top-level
 *    libev callback or posted task returns.
 *  - One request at a time per connection: while a handler has a request,
 *    reading pauses; pipelined requests wait in `in` and are parsed after
 *    the response is written, which keeps responses in order with no queue.
 */
#include "net/http.h"
#include "net/conn_priv.h"
#include "core/crypto.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384
#define READS_PER_WAKE 16
#define ACCEPTS_PER_WAKE 64
#define MAX_ROUTES 64

typedef struct {
	char method[8];
	char pattern[128];
	http_handler h;
	void *data;
} route;

struct http_server {
	http_opts opts;
	ioloop **loops;
	int nloops;
	lstate *ls;
	route routes[MAX_ROUTES];
	int nroutes;
	http_handler fallback;
	void *fallback_data;
	atomic_uint_fast64_t accepted, requests, ws_upgrades, ws_in, ws_out, ws_dropped;
	atomic_uint_fast64_t bad_requests, timeouts;
	atomic_int open;
};

static void process_input(http_conn *c);
static void flush_batch(ioloop *l);
static void process_loop(http_conn *c);
static void conn_free(http_conn *c);

void http_opts_default(http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_head = 8192;
	o->max_uri = 4096;
	o->max_body = 1 << 20;
	o->header_timeout = 10;
	o->idle_timeout = 60;
	o->ws_max_message = 64 * 1024;
	o->ws_send_queue = 1 << 20;
	o->ws_ping_interval = 30;
	o->ws_auth_timeout = 10;
	o->server_name = "parley";
}

const http_opts *conn_opts(const http_conn *c)
{
	return &c->ls->srv->opts;
}

void conn_count(http_conn *c, int which)
{
	http_server *s = c->ls->srv;
	switch (which) {
	case CNT_WS_IN: atomic_fetch_add_explicit(&s->ws_in, 1, memory_order_relaxed); break;
	case CNT_WS_OUT: atomic_fetch_add_explicit(&s->ws_out, 1, memory_order_relaxed); break;
	case CNT_WS_DROPPED: atomic_fetch_add_explicit(&s->ws_dropped, 1, memory_order_relaxed); break;
	case CNT_WS_UPGRADES: atomic_fetch_add_explicit(&s->ws_upgrades, 1, memory_order_relaxed); break;
	}
}

/* ---------- connection table ---------- */

static int slot_alloc(lstate *ls, http_conn *c)
{
	uint32_t i;
	if (ls->nfree) {
		i = ls->free_slots[--ls->nfree];
	} else {
		if (ls->nslots == ls->cap) {
			uint32_t cap = ls->cap ? ls->cap * 2 : 1024;
			http_conn **s = realloc(ls->slots, cap * sizeof *s);
			if (!s)
				return -1;
			ls->slots = s;
			uint32_t *g = realloc(ls->gens, cap * sizeof *g);
			if (!g)
				return -1;
			ls->gens = g;
			uint32_t *f = realloc(ls->free_slots, cap * sizeof *f);
			if (!f)
				return -1;
			ls->free_slots = f;
			memset(ls->gens + ls->cap, 0, (cap - ls->cap) * sizeof *g);
			ls->cap = cap;
		}
		i = ls->nslots++;
	}
	ls->slots[i] = c;
	c->slot = i;
	c->gen = ++ls->gens[i];
	return 0;
}

static http_conn *slot_get(lstate *ls, conn_ref ref)
{
	if (ref.slot >= ls->nslots || ls->gens[ref.slot] != ref.gen)
		return NULL;
	http_conn *c = ls->slots[ref.slot];
	return c && !c->dead ? c : NULL;
}

/* ---------- socket helpers ---------- */

void conn_watch(http_conn *c, int events)
{
	struct ev_loop *ev = c->ls->loop->ev;
	if (c->dead)
		return;
	if (ev_is_active(&c->io)) {
		if ((c->io.events & (EV_READ | EV_WRITE)) == events)
			return;
		ev_io_stop(ev, &c->io);
	}
	if (events) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(ev, &c->io);
	}
	c->writing = events & EV_WRITE;
}

void conn_kill(http_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	struct ev_loop *ev = c->ls->loop->ev;
	ev_io_stop(ev, &c->io);
	ev_timer_stop(ev, &c->timer);
	if (c->ws && !c->ws->in_wslay)   /* else conn_free does it, after wslay returns */
		ws_free(c);
	close(c->fd);
	c->fd = -1;
	/* the slot's generation moves on now: posts to the old ref are dropped */
	c->ls->gens[c->slot]++;
	if (!c->in_callback)
		conn_free(c);
}

static void conn_free(http_conn *c)
{
	lstate *ls = c->ls;
	ls->slots[c->slot] = NULL;
	ls->free_slots[ls->nfree++] = c->slot;
	ls->open--;
	atomic_fetch_sub_explicit(&ls->srv->open, 1, memory_order_relaxed);
	if (c->ws)
		ws_free(c);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->req) {
		free((void *)c->req->body);
		free(c->req);
	}
	free(c);
}

/* Ends a top-level callback on c: frees it if it died meanwhile. */
static void leave(http_conn *c)
{
	c->in_callback = false;
	if (c->dead)
		conn_free(c);
}

static void set_timer(http_conn *c, double after)
{
	struct ev_loop *ev = c->ls->loop->ev;
	if (after <= 0) {
		ev_timer_stop(ev, &c->timer);
		return;
	}
	c->timer.repeat = after;
	ev_timer_again(ev, &c->timer);
}

/* Writes as much of c->out as the socket takes; arms EV_WRITE for the rest. */
int conn_write_out(http_conn *c)
{
	while (c->out.len) {
		ssize_t n = write(c->fd, c->out.data, c->out.len);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	buf_free(&c->out);
	return 1;
}

static void flush_out(http_conn *c)
{
	int rc = conn_write_out(c);
	if (rc == 0) {
		conn_watch(c, EV_WRITE);
		return;
	}
	if (rc < 0) {
		conn_kill(c);
		return;
	}
	if (c->close_after_write) {
		conn_kill(c);
		return;
	}
	if (c->state == C_HEAD) {
		conn_watch(c, EV_READ);
		if (!c->in_process)
			process_input(c);
	}
}

/* ---------- responses ---------- */

static const char *reason(int status)
{
	switch (status) {
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
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Appends a full response to c->out and finishes the current request. */
static void write_response(http_conn *c, int status, const char *ctype, const void *body,
			   size_t len, const char *extra, bool head_only)
{
	/* protocol errors (fail) set close_after_write; application errors keep the connection */
	bool keep = c->keep_alive && !c->close_after_write && !c->draining;
	/* 204 and 304 carry no body and no Content-Length (RFC 9110 8.6) */
	char cl[48] = "";
	if (status != 204 && status != 304)
		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", len);
	buf_printf(&c->out,
		   "HTTP/1.1 %d %s\r\nServer: %s\r\n%s"
		   "X-Content-Type-Options: nosniff\r\n%s%s%s%s%s%s",
		   status, reason(status), conn_opts(c)->server_name, cl,
		   c->cors ? "Access-Control-Allow-Origin: *\r\n" : "",
		   ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		   keep ? "" : "Connection: close\r\n", extra ? extra : "");
	buf_append(&c->out, "\r\n", 2);
	if (len && !head_only)
		buf_append(&c->out, body, len);
	if (!keep)
		c->close_after_write = true;
	/* the request is done: drop its bytes and return to reading heads */
	if (c->req) {
		free((void *)c->req->body);
		free(c->req);
		c->req = NULL;
	}
	if (c->state == C_BODY || c->state == C_WAIT || c->state == C_HEAD) {
		buf_consume(&c->in, c->raw_pos);
		if (!c->in.len)
			buf_free(&c->in);
		c->raw_pos = c->head_len = c->body_len = 0;
		c->state = C_HEAD;
	}
	c->cors = false;
	c->serial++;
	set_timer(c, conn_opts(c)->idle_timeout);
	flush_out(c);
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

/* Answers a protocol-level error (no handler involved) and closes. */
static void fail(http_conn *c, int status, const char *code, const char *msg)
{
	atomic_fetch_add_explicit(&c->ls->srv->bad_requests, 1, memory_order_relaxed);
	buf b = { 0 };
	error_body(&b, code, msg, NULL);
	c->close_after_write = true;
	c->raw_pos = c->in.len;
	write_response(c, status, "application/json", b.data, b.len, NULL, false);
	buf_free(&b);
}

void http_respond(http_req *req, int status, const char *ctype, const void *body, size_t len,
		  const char *extra_headers)
{
	http_conn *c = req->conn;
	if (req->answered)
		return;
	req->answered = true;
	bool head = req->head.method.len == 4 && memcmp(req->head.method.p, "HEAD", 4) == 0;
	write_response(c, status, ctype, body, len, extra_headers, head);
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
	http_respond(req, status, "application/json", b.data, b.len,
		     "Cache-Control: no-store\r\n");
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
	return req->conn->ls->loop->index;
}

conn_ref http_defer(http_req *req)
{
	http_conn *c = req->conn;
	req->deferred = true;
	return (conn_ref){ (uint32_t)c->ls->loop->index, c->slot, c->gen, c->serial };
}

typedef struct {
	ioloop_task t;
	http_server *srv;
	conn_ref ref;
	int status;
	const char *ctype;
	char *body;
	size_t len;
	char *extra;
} resp_task;

static void run_resp(ioloop *l, ioloop_task *t)
{
	resp_task *rt = (resp_task *)t;
	lstate *ls = &rt->srv->ls[l->index];
	http_conn *c = slot_get(ls, rt->ref);
	if (c && c->state == C_WAIT && c->serial == rt->ref.serial && c->req) {
		c->in_callback = true;
		http_respond(c->req, rt->status, rt->ctype, rt->body, rt->len, rt->extra);
		leave(c);
	}
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
	rt->t.run = run_resp;
	rt->srv = s;
	rt->ref = ref;
	rt->status = status;
	rt->ctype = ctype;
	rt->body = body;
	rt->len = len;
	rt->extra = extra_headers ? strdup(extra_headers) : NULL;
	ioloop_post(s->loops[ref.loop], &rt->t);
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

/* ---------- routing ---------- */

int http_route(http_server *s, const char *method, const char *pattern, http_handler h, void *data)
{
	if (s->nroutes == MAX_ROUTES || strlen(method) >= 8 || strlen(pattern) >= 128)
		return -1;
	route *r = &s->routes[s->nroutes++];
	strcpy(r->method, method);
	strcpy(r->pattern, pattern);
	r->h = h;
	r->data = data;
	return 0;
}

void http_routes_each(http_server *s, void (*fn)(const char *, const char *, void *), void *arg)
{
	for (int i = 0; i < s->nroutes; i++)
		fn(s->routes[i].method, s->routes[i].pattern, arg);
}

void http_set_fallback(http_server *s, http_handler h, void *data)
{
	s->fallback = h;
	s->fallback_data = data;
}

/* Matches path against pattern, capturing {params}. */
static bool match(const char *pat, hp_str path, http_req *req)
{
	const char *p = path.p, *end = path.p + path.len;
	int np = 0;
	while (*pat) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			const char *seg = p;
			while (p < end && *p != '/')
				p++;
			if (p == seg || np == HTTP_MAX_PARAMS)
				return false;
			req->params[np++] = (hp_str){ seg, (size_t)(p - seg) };
			pat = close + 1;
			continue;
		}
		if (p == end || *p != *pat)
			return false;
		p++;
		pat++;
	}
	if (p != end)
		return false;
	req->nparams = np;
	return true;
}

static bool method_is(hp_str m, const char *s)
{
	return m.len == strlen(s) && memcmp(m.p, s, m.len) == 0;
}

static void dispatch(http_conn *c, http_req *req)
{
	http_server *s = c->ls->srv;
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
	const char *cp = s->opts.cors_prefix;
	c->cors = cp && req->head.path.len >= strlen(cp) && memcmp(req->head.path.p, cp, strlen(cp)) == 0;
	if (c->cors && method_is(req->head.method, "OPTIONS")) {
		http_respond(req, 204, NULL, NULL, 0,
			     "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n"
			     "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
			     "Access-Control-Max-Age: 600\r\n");
		return;
	}
	bool path_matched = false;
	char allow[192] = "Allow: ";   /* for a 405 (RFC 9110 15.5.6) */
	for (int i = 0; i < s->nroutes; i++) {
		route *r = &s->routes[i];
		if (!match(r->pattern, req->head.path, req))
			continue;
		path_matched = true;
		if (strlen(allow) + strlen(r->method) + 8 + 32 < sizeof allow)   /* room for the tail */
			snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s%s",
				 strlen(allow) > 7 ? ", " : "", r->method,
				 strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
		bool m = method_is(req->head.method, r->method) ||
			 (method_is(req->head.method, "HEAD") && strcmp(r->method, "GET") == 0);
		if (!m)
			continue;
		req->route_data = r->data;
		r->h(req);
		goto done;
	}
	if (path_matched) {
		buf b = { 0 };
		error_body(&b, "method_not_allowed", "method not allowed on this path", NULL);
		strcat(allow, "\r\nCache-Control: no-store\r\n");
		http_respond(req, 405, "application/json", b.data, b.len, allow);
		buf_free(&b);
	} else if (s->fallback && (method_is(req->head.method, "GET") || method_is(req->head.method, "HEAD"))) {
		req->route_data = s->fallback_data;
		s->fallback(req);
	} else {
		http_respond_error(req, 404, "not_found", "no such endpoint", NULL);
	}
done:
	/* answered requests are freed (c->req cleared); an upgrade frees it too */
	if (c->req == req && c->state == C_WAIT && !req->answered && !req->deferred)
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
static int parse_head(http_conn *c, http_req *req)
{
	const http_opts *o = conn_opts(c);
	memset(&req->head, 0, sizeof req->head);
	req->head.max_head = o->max_head;
	req->head.max_uri = o->max_uri;
	req->head.headers = req->headers;
	req->head.num_headers = HTTP_MAX_HEADERS;
	return hp_parse_head(&req->head, c->in.data, c->in.len);
}

/* Starts handling the request whose head and body are complete. */
static void start_request(http_conn *c)
{
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
	char *body = malloc(c->body_len + 1);
	if (!body) {
		free(req);
		conn_kill(c);
		return;
	}
	memcpy(body, c->in.data + c->head_len, c->body_len);
	body[c->body_len] = 0;
	req->body = body;
	req->body_len = c->body_len;
	req->conn = c;
	req->srv = c->ls->srv;
	c->req = req;
	c->keep_alive = req->head.keep_alive;
	c->state = C_WAIT;
	conn_watch(c, 0);
	set_timer(c, 0);
	dispatch(c, req);
}

/* Advances the body of the current request; true when complete. */
static bool read_body(http_conn *c)
{
	if (!c->chunked) {
		if (c->in.len - c->head_len < (size_t)c->content_length)
			return false;
		c->body_len = (size_t)c->content_length;
		c->raw_pos = c->head_len + c->body_len;
		return true;
	}
	size_t avail = c->in.len - c->raw_pos, consumed = 0;
	int rc = hp_chunked_decode(&c->chunk, c->in.data + c->raw_pos, &avail, &consumed);
	if (rc < 0) {
		if (rc == HPC_ETOO_LARGE)
			fail(c, 413, "too_large", "request body too large");
		else
			fail(c, 400, "bad_request", "malformed chunked body");
		return false;
	}
	memmove(c->in.data + c->head_len + c->body_len, c->in.data + c->raw_pos, avail);
	c->body_len += avail;
	c->raw_pos += consumed;
	/* the decoded bytes now sit before raw_pos; keep the gap closed */
	size_t gap = c->raw_pos - (c->head_len + c->body_len);
	if (gap) {
		memmove(c->in.data + c->head_len + c->body_len, c->in.data + c->raw_pos,
			c->in.len - c->raw_pos);
		c->in.len -= gap;
		c->raw_pos -= gap;
	}
	return rc == HPC_DONE;
}

static void process_input(http_conn *c)
{
	/* re-entered from flush_out when a response is written synchronously:
	 * the outer loop picks up the next pipelined request instead */
	c->in_process = true;
	process_loop(c);
	c->in_process = false;
}

static void process_loop(http_conn *c)
{
	while (!c->dead && !c->close_after_write && !c->out.len) {
		if (c->state == C_HEAD) {
			if (!c->in.len)
				return;
			http_req tmp;
			int rc = parse_head(c, &tmp);
			if (rc == HP_AGAIN) {
				set_timer(c, conn_opts(c)->header_timeout);
				return;
			}
			if (rc < 0) {
				const char *code;
				int st = head_error_status(rc, &code);
				fail(c, st, code, hp_strerror(rc));
				return;
			}
			if (c->draining) {
				c->keep_alive = false;
			}
			if (tmp.head.minor_version == 1 && tmp.head.host.len == 0) {
				fail(c, 400, "bad_request", "HTTP/1.1 requires a Host header");
				return;
			}
			c->head_len = (size_t)rc;
			c->raw_pos = c->head_len;
			c->body_len = 0;
			c->chunked = tmp.head.chunked;
			c->content_length = tmp.head.content_length < 0 ? 0 : tmp.head.content_length;
			c->keep_alive = tmp.head.keep_alive;
			if (!c->chunked && (uint64_t)c->content_length > conn_opts(c)->max_body) {
				fail(c, 413, "too_large", "request body too large");
				return;
			}
			if (c->chunked)
				hp_chunked_init(&c->chunk, conn_opts(c)->max_body);
			c->state = C_BODY;
		}
		if (c->state == C_BODY) {
			if (!read_body(c)) {
				if (!c->dead && !c->close_after_write)
					set_timer(c, conn_opts(c)->header_timeout);
				return;
			}
			start_request(c);
			continue;
		}
		return;   /* C_WAIT or C_WS */
	}
}

static void read_http(http_conn *c)
{
	for (int i = 0; i < READS_PER_WAKE; i++) {
		size_t limit = conn_opts(c)->max_head + conn_opts(c)->max_body + READ_CHUNK;
		if (c->in.len > limit) {
			fail(c, 413, "too_large", "request too large");
			return;
		}
		if (buf_reserve(&c->in, READ_CHUNK) < 0) {
			conn_kill(c);
			return;
		}
		ssize_t n = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = 0;
			if ((size_t)n < READ_CHUNK)
				break;
			continue;
		}
		if (n == 0) {
			conn_kill(c);   /* peer closed (half-close: we cannot answer usefully) */
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		conn_kill(c);
		return;
	}
	if (!c->in.len)
		buf_free(&c->in);
	process_input(c);
}

/* ---------- libev callbacks ---------- */

static void on_io(struct ev_loop *ev, ev_io *w, int revents)
{
	http_conn *c = (http_conn *)w;
	c->in_callback = true;
	if (c->state == C_WS) {
		ws_on_io(c, revents);
	} else if (revents & EV_WRITE) {
		flush_out(c);
	} else if (revents & EV_READ) {
		read_http(c);
	}
	leave(c);
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	http_conn *c = container_of(w, http_conn, timer);
	c->in_callback = true;
	if (c->state == C_WS) {
		ws_on_timer(c);
	} else if (c->state == C_HEAD && !c->in.len) {
		conn_kill(c);   /* idle keep-alive connection */
	} else if (c->state == C_HEAD || c->state == C_BODY) {
		atomic_fetch_add_explicit(&c->ls->srv->timeouts, 1, memory_order_relaxed);
		fail(c, 408, "request_timeout", "request not received in time");
	} else {
		ev_timer_stop(ev, w);
	}
	leave(c);
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
	lstate *ls = container_of(w, lstate, accept_io);
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(ls->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				log_warn("http.accept", "err=\"%s\"", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		http_conn *c = calloc(1, sizeof *c);
		if (!c || slot_alloc(ls, c) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ls = ls;
		c->state = C_HEAD;
		ls->open++;
		atomic_fetch_add_explicit(&ls->srv->open, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&ls->srv->accepted, 1, memory_order_relaxed);
		ev_io_init(&c->io, on_io, fd, EV_READ);
		ev_io_start(ev, &c->io);
		ev_init(&c->timer, on_timer);
		set_timer(c, ls->srv->opts.idle_timeout);
	}
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
	s->loops = loops;
	s->nloops = n;
	s->ls = calloc((size_t)n, sizeof *s->ls);
	if (!s->ls) {
		free(s);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		s->ls[i].srv = s;
		s->ls[i].loop = loops[i];
		s->ls[i].lfd = -1;
		loops[i]->user = &s->ls[i];
		loops[i]->after_tasks = flush_batch;
		s->ls[i].scratch = malloc(64 * 1024);
		if (!s->ls[i].scratch) {
			s->nloops = i;
			http_server_free(&s);
			return NULL;
		}
	}
	return s;
}

void http_server_free(http_server **s_p)
{
	http_server *s = *s_p;
	if (!s)
		return;
	for (int i = 0; i < s->nloops; i++) {
		lstate *ls = &s->ls[i];
		for (uint32_t j = 0; j < ls->nslots; j++) {
			http_conn *c = ls->slots[j];
			if (c) {
				c->in_callback = false;
				if (!c->dead)
					conn_kill(c);
				else
					conn_free(c);
			}
		}
		if (ls->lfd >= 0)
			close(ls->lfd);
		free(ls->slots);
		free(ls->gens);
		free(ls->free_slots);
		free(ls->scratch);
		free(ls->flush);
	}
	free(s->ls);
	free(s);
	*s_p = NULL;
}

static int bind_one(const char *host, int port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int http_server_listen(http_server *s, const char *host, int port)
{
	for (int i = 0; i < s->nloops; i++) {
		int fd = bind_one(host, port);
		if (fd < 0) {
			log_error("http.listen", "host=%s port=%d err=\"%s\"", host, port, strerror(errno));
			return -1;
		}
		if (port == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof ss;
			getsockname(fd, (struct sockaddr *)&ss, &sl);
			port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							      : ((struct sockaddr_in *)&ss)->sin_port);
		}
		lstate *ls = &s->ls[i];
		ls->lfd = fd;
		ev_io_init(&ls->accept_io, on_accept, fd, EV_READ);
		ev_io_start(ls->loop->ev, &ls->accept_io);
	}
	return port;
}

typedef struct {
	ioloop_task t;
	http_server *srv;
	bool close_ws;            /* phase 2 */
} shutdown_task;

static void run_shutdown(ioloop *l, ioloop_task *t)
{
	shutdown_task *st = (shutdown_task *)t;
	lstate *ls = &st->srv->ls[l->index];
	ls->shutting_down = true;
	if (ls->lfd >= 0) {
		ev_io_stop(l->ev, &ls->accept_io);
		close(ls->lfd);
		ls->lfd = -1;
	}
	for (uint32_t i = 0; i < ls->nslots; i++) {
		http_conn *c = ls->slots[i];
		if (!c || c->dead)
			continue;
		c->in_callback = true;
		c->draining = true;
		if (c->state == C_WS) {
			if (st->close_ws)
				ws_shutdown(c);
			else
				ws_quiesce(c);
		} else if (c->state == C_WAIT || c->out.len) {
			c->keep_alive = false;   /* closes after its response */
		} else {
			conn_kill(c);            /* idle, or a request not yet complete */
		}
		leave(c);
	}
	free(st);
}

static void post_shutdown(http_server *s, bool close_ws)
{
	for (int i = 0; i < s->nloops; i++) {
		shutdown_task *t = calloc(1, sizeof *t);
		if (!t)
			continue;
		t->t.run = run_shutdown;
		t->srv = s;
		t->close_ws = close_ws;
		ioloop_post(s->loops[i], &t->t);
	}
}

void http_server_quiesce(http_server *s)
{
	post_shutdown(s, false);
}

void http_server_shutdown(http_server *s)
{
	post_shutdown(s, true);
}

int http_server_connections(http_server *s)
{
	return atomic_load(&s->open);
}

void http_server_get_stats(http_server *s, http_stats *o)
{
	o->accepted = atomic_load(&s->accepted);
	o->requests = atomic_load(&s->requests);
	o->ws_upgrades = atomic_load(&s->ws_upgrades);
	o->ws_in = atomic_load(&s->ws_in);
	o->ws_out = atomic_load(&s->ws_out);
	o->ws_dropped_slow = atomic_load(&s->ws_dropped);
	o->bad_requests = atomic_load(&s->bad_requests);
	o->timeouts = atomic_load(&s->timeouts);
	o->open = atomic_load(&s->open);
}

/* ---------- request helpers ---------- */

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

void http_peer_ip(const http_conn *c, char out[64])
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	out[0] = 0;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, 64);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, 64);
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

/* ---------- WebSocket posts from other threads ---------- */

typedef struct {
	ioloop_task t;
	http_server *srv;
	conn_ref ref;
	rbuf *b;          /* NULL: close with code */
	int code;
} ws_task;

static void run_ws_post(ioloop *l, ioloop_task *t)
{
	ws_task *wt = (ws_task *)t;
	http_conn *c = slot_get(&wt->srv->ls[l->index], wt->ref);
	if (c && c->state == C_WS) {
		c->in_callback = true;
		if (!wt->b) {
			ws_close(c, wt->code, NULL);
		} else if (ws_queue(c, wt->b->data, wt->b->len) < 0) {
			/* dropped (slow reader) */
		} else if (ws_queued_bytes(c) >= 16384) {
			ws_flush(c);   /* enough for one write already: do not let it pile up */
		} else if (!c->flush_queued) {
			/* written once after this batch of tasks: several frames for
			 * one connection leave in one write */
			lstate *ls = c->ls;
			if (ls->nflush == ls->capflush) {
				size_t cap = ls->capflush ? ls->capflush * 2 : 64;
				conn_ref *f = realloc(ls->flush, cap * sizeof *f);
				if (f) {
					ls->flush = f;
					ls->capflush = cap;
				}
			}
			if (ls->nflush < ls->capflush) {
				ls->flush[ls->nflush++] = wt->ref;
				c->flush_queued = true;
			} else {
				ws_flush(c);
			}
		}
		leave(c);
	}
	rbuf_unref(&wt->b);
	free(wt);
}

static void post_ws(http_server *s, conn_ref ref, rbuf *b, int code)
{
	ws_task *wt = malloc(sizeof *wt);
	if (!wt)
		return;
	wt->t.run = run_ws_post;
	wt->srv = s;
	wt->ref = ref;
	wt->b = b ? rbuf_ref(b) : NULL;
	wt->code = code;
	ioloop_post(s->loops[ref.loop], &wt->t);
}

/* ioloop after_tasks hook: writes the WebSockets the batch queued frames for. */
static void flush_batch(ioloop *l)
{
	lstate *ls = l->user;
	for (size_t i = 0; i < ls->nflush; i++) {
		http_conn *c = slot_get(ls, ls->flush[i]);
		if (!c)
			continue;
		c->flush_queued = false;
		c->in_callback = true;
		ws_flush(c);
		leave(c);
	}
	ls->nflush = 0;
}

void ws_post(http_server *s, conn_ref ref, rbuf *b)
{
	post_ws(s, ref, b, 0);
}

void ws_post_close(http_server *s, conn_ref ref, int code)
{
	post_ws(s, ref, NULL, code);
}
