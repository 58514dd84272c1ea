/* Fuzz target: the HTTP request path end to end through the real
 * connection code (see net_harness.h).
 *
 * Routes: GET /x, POST /echo (the body back), GET /defer (answered later
 * with http_post_response from the harness), POST /auth (needs a bearer
 * token), GET /none (the handler forgets to answer: 500), GET /json,
 * GET /p/{a}/{b} (captures), GET /q (query parameter), GET /etag
 * (If-None-Match: 304), GET /c/x under the CORS prefix "/c", GET /ws (a
 * WebSocket upgrade), POST /stream (HTTP_STREAM_BODY: the body taken in
 * pieces, at most 300 bytes, every third piece pausing the reads until a
 * posted resume; "?refuse" answers at the head, a body starting with '!'
 * is refused at its first piece; the answer counts and hashes the bytes;
 * each piece stays within the limit; the stream's state is released
 * exactly once whatever ends the request), GET /chunks/{n} (a streamed
 * answer, http_respond_stream: n pieces, piece i of i * 3000 bytes of one
 * letter, then the end, or with "?fail" a failure instead of the end; its
 * producer released exactly once), and a fallback for other GETs. Small limits (head 1024, URI 256, body 512) so
 * that the limit paths are reached.
 *
 * Input: byte 0 = options, byte 1 = seed of the piece sizes, the rest =
 * the client's bytes, written in pieces with the loop run between them.
 *   bits 0-2  largest piece: 1, 2, 3, 7, 16, 64, 512, 4096 bytes
 *   bit 3     each deferred answer is posted twice (the second must be dropped)
 *   bit 4     deferred answers are errors (http_post_error)
 *   bits 5-6  the end: 0 end of stream; 1 quiesce, then end of stream;
 *             2 shutdown, then end of stream; 3 the server is freed with
 *             the connection open
 *   bit 7     deferred requests are answered only at the end
 *
 * Checks: everything the server writes is a sequence of well-formed
 * HTTP/1.1 responses — status line, header lines, exactly one
 * Content-Length matching the body (none on 1xx/204/304) or, for a
 * streamed answer, Transfer-Encoding: chunked and well-formed chunks (of
 * one letter each, as produced) up to the last chunk, or cut short only
 * at the end of the output (a failure, a stop); an HTTP/1.0 request's
 * streamed answer with neither, closed by the connection; no body for
 * HEAD requests, nothing after "Connection: close" — up to a 101
 * (WebSocket bytes follow); 100 Continue only as a bare interim line; the
 * number of final responses never exceeds the number of requests in the
 * input (counted with the request parser and chunked decoder, as the
 * server frames them), plus one for an unfinished or malformed tail.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "net/http_parser.h"
#include "net/ws.h"
#include "net_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t piece_max[8] = { 1, 2, 3, 7, 16, 64, 512, 4096 };

#define MAX_HEAD 1024
#define MAX_URI 256
#define MAX_BODY 512

/* ---------- routes ---------- */

#define MAX_DEFER 64
static conn_ref deferred[MAX_DEFER];
static int ndeferred;

static void check_req(const http_req *req)
{
	CHECK(req->body && req->body[req->body_len] == 0 && req->body_len <= MAX_BODY);
	CHECK(req->head.path.len > 0 && req->head.path.p[0] == '/');
	CHECK(req->head.num_headers <= HTTP_MAX_HEADERS);
}

static void r_x(http_req *req)
{
	check_req(req);
	http_respond(req, 200, "text/plain", "x", 1, NULL);
}

static void r_echo(http_req *req)
{
	check_req(req);
	http_respond(req, 200, "application/octet-stream", req->body, req->body_len, NULL);
}

static void r_defer(http_req *req)
{
	check_req(req);
	CHECK(ndeferred < MAX_DEFER);   /* one request at a time per connection */
	deferred[ndeferred++] = http_defer(req);
}

static void r_auth(http_req *req)
{
	check_req(req);
	hp_str t = http_bearer(req);
	if (!t.len) {
		http_respond_error(req, 401, "unauthenticated", "a bearer token is required", NULL);
		return;
	}
	http_respond(req, 200, "text/plain", t.p, t.len, NULL);
}

static void r_none(http_req *req)
{
	check_req(req);   /* no answer: the server answers 500 */
}

static void r_json(http_req *req)
{
	check_req(req);
	http_respond_json(req, 200, json_pack("{s:i,s:s%}", "n", (int)req->body_len, "path",
					      req->head.path.p, req->head.path.len));
}

static void r_params(http_req *req)
{
	check_req(req);
	CHECK(req->nparams == 2);
	const hp_str *path = &req->head.path;
	for (int i = 0; i < 2; i++) {
		const hp_str *p = &req->params[i];
		CHECK(p->len > 0 && p->p >= path->p && p->p + p->len <= path->p + path->len);
		CHECK(!memchr(p->p, '/', p->len));
	}
	http_respond(req, 200, "text/plain", req->params[0].p, req->params[0].len, NULL);
}

static void r_query(http_req *req)
{
	check_req(req);
	char v[16];
	int n = http_query(req, "a", v, sizeof v);
	CHECK(n >= -2 && n < (int)sizeof v);
	if (n >= 0)
		CHECK(v[n] == 0);
	http_respond(req, 200, "text/plain", n >= 0 ? v : "-", n >= 0 ? (size_t)n : 1, NULL);
}

static void r_etag(http_req *req)
{
	check_req(req);
	char tag[HTTP_ETAG_SIZE];
	http_etag("body", 4, tag);
	char extra[64];
	snprintf(extra, sizeof extra, "ETag: %s\r\n", tag);
	if (http_etag_match(req, tag))
		http_respond(req, 304, NULL, NULL, 0, extra);
	else
		http_respond(req, 200, "text/plain", "body", 4, extra);
}

static void ws_msg(conn *c, void *user, const char *d, size_t len)
{
	ws_send(c, d, len);
}

static const ws_handlers ws_h = { ws_msg, NULL };

static void r_ws(http_req *req)
{
	check_req(req);
	ws_accept(req, &ws_h, NULL);
}

/* POST /stream: the body in pieces. */
typedef struct {
	size_t n, calls;
	uint32_t hash;
	conn_ref ref;
	http_server *srv;
} stream_st;
static int streams_live;

static int st_data(http_req *req, const char *p, size_t n)
{
	stream_st *st = req->stream_ctx;
	CHECK(n > 0 && st->n + n <= 300);
	if (st->n == 0 && p[0] == '!') {
		http_respond_error(req, 422, "refused", "refused at the first piece", NULL);
		return HTTP_STREAM_GO;
	}
	for (size_t i = 0; i < n; i++)
		st->hash = (st->hash ^ (uint8_t)p[i]) * 16777619u;
	st->n += n;
	if (++st->calls % 3 == 0) {
		http_post_resume(st->srv, st->ref);
		return HTTP_STREAM_PAUSE;
	}
	return HTTP_STREAM_GO;
}

static void st_end(http_req *req)
{
	stream_st *st = req->stream_ctx;
	char b[64];
	int k = snprintf(b, sizeof b, "%zu %08x", st->n, st->hash);
	http_respond(req, 200, "text/plain", b, (size_t)k, NULL);
}

static void st_free(http_req *req)
{
	free(req->stream_ctx);
	req->stream_ctx = NULL;
	streams_live--;
}

static const http_stream_cbs st_cbs = { st_data, st_end, st_free };

static void r_stream(http_req *req)
{
	CHECK(req->body && req->body[req->body_len] == 0);
	if (req->head.query.len == 6 && memcmp(req->head.query.p, "refuse", 6) == 0) {
		http_respond_error(req, 403, "refused", "refused at the head", NULL);
		return;
	}
	stream_st *st = calloc(1, sizeof *st);
	CHECK(st);
	st->hash = 2166136261u;
	st->ref = conn_ref_of(req->conn);
	st->srv = req->srv;
	streams_live++;
	http_stream(req, &st_cbs, st, 300);
}

/* GET /chunks/{n}: a streamed answer. */
typedef struct {
	int i, n;
	bool fail;
} chunks_st;
static int chunks_live;

static int ch_next(void *ctx, buf *out)
{
	chunks_st *st = ctx;
	CHECK(out->len == 0);
	if (st->i == st->n)
		return st->fail ? HTTP_BODY_FAIL : HTTP_BODY_END;
	char block[1000];
	memset(block, 'a' + st->i, sizeof block);
	for (int k = 0; k < 3 * st->i; k++)
		CHECK(buf_append(out, block, sizeof block) == 0);
	st->i++;
	return HTTP_BODY_MORE;
}

static void ch_free(void *ctx)
{
	free(ctx);
	chunks_live--;
}

static const http_body_src ch_src = { ch_next, ch_free };

static void r_chunks(http_req *req)
{
	check_req(req);
	const hp_str *a = &req->params[0];
	chunks_st *st = calloc(1, sizeof *st);
	CHECK(st);
	st->n = a->len == 1 && a->p[0] >= '0' && a->p[0] <= '9' ? a->p[0] - '0' : 2;
	st->fail = req->head.query.len == 4 && memcmp(req->head.query.p, "fail", 4) == 0;
	chunks_live++;
	http_respond_stream(req, 200, "text/plain", "X-Streamed: 1\r\n", &ch_src, st);
}

static void r_fallback(http_req *req)
{
	check_req(req);
	if (req->head.path.len == 2 && req->head.path.p[1] == 'f')
		http_respond(req, 200, "text/html", "<p>f</p>", 8, "Cache-Control: max-age=60\r\n");
	else
		http_respond_error(req, 404, "not_found", "no such file", NULL);
}

/* ---------- the requests in the input ---------- */

typedef struct {
	bool head[512];   /* request i is a HEAD */
	int n;            /* complete requests */
	bool tail;        /* bytes after them (unfinished or malformed) */
} reqs;

static void count_requests(const uint8_t *in, size_t n, reqs *r)
{
	size_t pos = 0;
	r->n = 0;
	r->tail = false;
	while (pos < n) {
		hp_header hdr[HTTP_MAX_HEADERS];
		hp_request q;
		memset(&q, 0, sizeof q);
		q.max_head = MAX_HEAD;
		q.max_uri = MAX_URI;
		q.headers = hdr;
		q.num_headers = HTTP_MAX_HEADERS;
		int rc = hp_parse_head(&q, (const char *)in + pos, n - pos);
		if (rc <= 0 || r->n == (int)(sizeof r->head / sizeof *r->head)) {
			r->tail = true;
			return;
		}
		r->head[r->n++] = q.method.len == 4 && memcmp(q.method.p, "HEAD", 4) == 0;
		pos += (size_t)rc;
		if (q.chunked) {
			size_t left = n - pos, used = 0;
			char *copy = malloc(left ? left : 1);
			CHECK(copy);
			memcpy(copy, in + pos, left);
			hp_chunked c;
			hp_chunked_init(&c, MAX_BODY);
			int crc = hp_chunked_decode(&c, copy, &left, &used);
			free(copy);
			pos += used;
			if (crc != HPC_DONE)
				break;
		} else if (q.content_length > 0) {
			if ((uint64_t)q.content_length > MAX_BODY || (uint64_t)q.content_length > n - pos) {
				pos = n;
				break;
			}
			pos += (size_t)q.content_length;
		}
	}
	r->tail = pos < n;
}

/* ---------- the responses ---------- */

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Set in the environment while the HEAD-error-body bug is open, so a long
 * run is not stopped by it (see docs/fuzzing.md). */
static void check_responses(const char *s, size_t n, const reqs *r)
{
	size_t pos = 0;
	int final = 0;
	while (pos < n) {
		/* status line */
		const char *eol = memmem(s + pos, n - pos, "\r\n", 2);
		CHECK(eol);
		size_t ll = (size_t)(eol - (s + pos));
		const char *l = s + pos;
		CHECK(ll >= 13 && memcmp(l, "HTTP/1.1 ", 9) == 0 && l[12] == ' ');
		CHECK(l[9] >= '1' && l[9] <= '5' && l[10] >= '0' && l[10] <= '9' && l[11] >= '0' &&
		      l[11] <= '9');
		int status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
		for (size_t i = 13; i < ll; i++)
			CHECK(l[i] >= 0x20 && l[i] < 0x7F);
		pos += ll + 2;
		/* header lines */
		int ncl = 0;
		uint64_t cl = 0;
		bool close = false, upgrade = false, chunked = false, streamed = false;
		size_t nhdr = 0;
		for (;;) {
			eol = memmem(s + pos, n - pos, "\r\n", 2);
			CHECK(eol);
			ll = (size_t)(eol - (s + pos));
			l = s + pos;
			pos += ll + 2;
			if (!ll)
				break;
			nhdr++;
			const char *colon = memchr(l, ':', ll);
			CHECK(colon && colon > l);
			for (const char *p = l; p < colon; p++)
				CHECK(tchar(*p));
			size_t nl = (size_t)(colon - l);
			CHECK(colon + 1 < l + ll && colon[1] == ' ');
			const char *v = colon + 2;
			size_t vl = ll - nl - 2;
			for (size_t i = 0; i < vl; i++)
				CHECK((unsigned char)v[i] >= 0x20 && v[i] != 0x7F);
			if (nl == 14 && strncasecmp(l, "Content-Length", 14) == 0) {
				ncl++;
				CHECK(vl > 0 && vl <= 18);
				cl = 0;
				for (size_t i = 0; i < vl; i++) {
					CHECK(v[i] >= '0' && v[i] <= '9');
					cl = cl * 10 + (uint64_t)(v[i] - '0');
				}
			}
			if (nl == 10 && strncasecmp(l, "Connection", 10) == 0)
				close = close || (vl == 5 && strncasecmp(v, "close", 5) == 0);
			if (nl == 7 && strncasecmp(l, "Upgrade", 7) == 0)
				upgrade = true;
			if (nl == 10 && strncasecmp(l, "X-Streamed", 10) == 0)
				streamed = true;
			if (nl == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0) {
				CHECK(vl == 7 && memcmp(v, "chunked", 7) == 0 && !chunked);
				chunked = true;
			}
		}
		if (status == 100) {   /* interim: a bare status line */
			CHECK(nhdr == 0 && ncl == 0);
			continue;
		}
		final++;
		CHECK(final <= r->n + (r->tail ? 1 : 0));
		bool head = final - 1 < r->n && r->head[final - 1];
		if (status == 101) {   /* WebSocket from here on */
			CHECK(upgrade && ncl == 0 && !head);
			return;
		}
		CHECK(status >= 200);
		if (chunked) {   /* a streamed answer */
			CHECK(ncl == 0 && status == 200 && streamed);
			if (head)
				goto next;
			for (;;) {
				/* a truncated body (a failure, a stop) ends the output */
				eol = pos < n ? memmem(s + pos, n - pos, "\r\n", 2) : NULL;
				if (!eol) {
					CHECK(n - pos < 18);
					return;
				}
				size_t k = 0, hl = (size_t)(eol - (s + pos));
				CHECK(hl >= 1 && hl <= 16);
				for (size_t i = 0; i < hl; i++) {
					char ch = s[pos + i];
					CHECK((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
					k = k * 16 + (size_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
				}
				CHECK(hl == 1 || s[pos] != '0');
				pos += hl + 2;
				if (k == 0) {
					CHECK(n - pos >= 2 && memcmp(s + pos, "\r\n", 2) == 0);
					pos += 2;
					break;
				}
				if (n - pos < k + 2) {
					return;   /* cut inside a chunk: the end of the output */
				}
				for (size_t i = 1; i < k; i++)
					CHECK(s[pos + i] == s[pos]);
				pos += k;
				CHECK(memcmp(s + pos, "\r\n", 2) == 0);
				pos += 2;
			}
		} else if (streamed) {   /* to HTTP/1.0: no framing, up to the close */
			CHECK(ncl == 0 && close);
			if (!head) {
				for (size_t i = pos; i < n; i++)
					CHECK(s[i] >= 'a' && s[i] <= 'i');
				pos = n;
			}
		} else if (status == 204 || status == 304) {
			CHECK(ncl == 0);
		} else {
			CHECK(ncl == 1);
			if (head)
				cl = 0;   /* a HEAD's answer ends at its header section */
			CHECK(cl <= n - pos);
			pos += (size_t)cl;
		}
	next:
		if (close)
			CHECK(pos == n);   /* nothing after Connection: close */
	}
}

/* ---------- the run ---------- */

static void answer_deferred(nh *h, uint8_t opt)
{
	int n = ndeferred;
	ndeferred = 0;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < ((opt & 8) ? 2 : 1); k++) {
			if (opt & 0x10) {
				http_post_error(h->srv, deferred[i], 409, "conflict", "deferred error");
			} else {
				char *b = strdup("deferred");
				CHECK(b);
				http_post_response(h->srv, deferred[i], 200, "text/plain", b, 8,
						   k ? "X-Second: 1\r\n" : NULL);
			}
		}
	}
}

/* Pumps, answering deferred requests until none are left (each answer
 * may let a pipelined /defer through); bounded. */
static void settle(nh *h, uint8_t opt)
{
	nh_pump(h);
	for (int i = 0; i < 2 * MAX_DEFER && ndeferred; i++) {
		answer_deferred(h, opt);
		nh_pump(h);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t opt = data[0];
	nh_pieces pc = { 0x9E3779B9u ^ ((uint32_t)data[1] * 0x01000193u), piece_max[opt & 7] };
	int end = (opt >> 5) & 3;
	bool late = opt & 0x80;
	const uint8_t *in = data + 2;
	size_t n = size - 2;
	if (n > 65536)
		n = 65536;

	http_opts o;
	http_opts_default(&o);
	o.max_head = MAX_HEAD;
	o.max_uri = MAX_URI;
	o.max_body = MAX_BODY;
	o.ws_max_message = 1024;
	o.server_name = "fuzz";
	o.cors_prefix = "/c";
	ndeferred = 0;

	nh h;
	nh_init(&h, &o);
	http_server *s = h.srv;
	CHECK(http_route(s, "GET", "/x", 0, r_x, NULL) == 0);
	CHECK(http_route(s, "POST", "/echo", 0, r_echo, NULL) == 0);
	CHECK(http_route(s, "GET", "/defer", 0, r_defer, NULL) == 0);
	CHECK(http_route(s, "POST", "/auth", HTTP_BEARER, r_auth, NULL) == 0);
	CHECK(http_route(s, "GET", "/none", 0, r_none, NULL) == 0);
	CHECK(http_route(s, "GET", "/json", 0, r_json, NULL) == 0);
	CHECK(http_route(s, "POST", "/json", 0, r_json, NULL) == 0);
	CHECK(http_route(s, "GET", "/p/{a}/{b}", 0, r_params, NULL) == 0);
	CHECK(http_route(s, "GET", "/q", 0, r_query, NULL) == 0);
	CHECK(http_route(s, "GET", "/etag", 0, r_etag, NULL) == 0);
	CHECK(http_route(s, "GET", "/c/x", 0, r_x, NULL) == 0);
	CHECK(http_route(s, "GET", "/ws", 0, r_ws, NULL) == 0);
	CHECK(http_route(s, "POST", "/stream", HTTP_STREAM_BODY, r_stream, NULL) == 0);
	CHECK(http_route(s, "GET", "/chunks/{n}", 0, r_chunks, NULL) == 0);
	streams_live = 0;
	chunks_live = 0;
	http_set_fallback(s, r_fallback, NULL);
	nh_connect(&h);

	size_t pos = 0;
	while (pos < n) {
		size_t k = nh_next_piece(&pc);
		if (k > n - pos)
			k = n - pos;
		if (!nh_send(&h, in + pos, k))
			break;
		pos += k;
		if (late)
			nh_pump(&h);
		else
			settle(&h, opt);
	}
	settle(&h, opt);
	if (end == 1) {
		http_server_quiesce(s);
		settle(&h, opt);
	} else if (end == 2) {
		http_server_shutdown(s);
		settle(&h, opt);
	}
	if (end != 3) {
		nh_shut_write(&h);
		settle(&h, opt);
	}

	nh_trace(&h);
	reqs r;
	count_requests(in, n, &r);
	check_responses(h.out.data ? h.out.data : "", h.out.len, &r);

	nh_free(&h);
	CHECK(streams_live == 0);   /* every streamed request's state was released once */
	CHECK(chunks_live == 0);    /* and every streamed answer's producer */
	ndeferred = 0;
	return 0;
}
