/* Unit tests for streamed responses (net/http.h, http_respond_stream)
 * through the real connection code over a socketpair
 * (tests/fuzz/net_harness.h): the exact bytes of chunked answers with
 * pipelined requests and HEAD behind them, a failure after the head
 * (no last chunk, the connection closed, nothing after it answered),
 * HTTP/1.0 (close-delimited), backpressure (a client that does not read
 * holds the producer at the output mark; reading lets it go on, never
 * further ahead than the mark, a piece and the socket's buffer), and a
 * client that leaves mid-body (the producer is not asked again and is
 * freed once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fuzz/net_harness.h"

typedef struct {
	int i, n;
	bool fail;
} prod;

static size_t piece_size;   /* bytes per piece */
static int nexts, frees;    /* calls of next and on_free, all producers */
static size_t produced;     /* body bytes produced */
static bool in_handler;

static int p_next(void *ctx, buf *out)
{
	prod *p = ctx;
	assert_false(in_handler);   /* never inside the handler */
	assert_int_equal(out->len, 0);
	nexts++;
	if (p->i == p->n)
		return p->fail ? HTTP_BODY_FAIL : HTTP_BODY_END;
	char block[1024];
	memset(block, 'a' + p->i % 26, sizeof block);
	for (size_t left = piece_size; left;) {
		size_t k = left < sizeof block ? left : sizeof block;
		assert_int_equal(buf_append(out, block, k), 0);
		left -= k;
	}
	produced += piece_size;
	p->i++;
	return HTTP_BODY_MORE;
}

static void p_free(void *ctx)
{
	free(ctx);
	frees++;
}

static const http_body_src src = { p_next, p_free };

/* GET /s/{n}: n pieces then the end; GET /f/{n}: n pieces then a failure. */
static void r_stream(http_req *req)
{
	prod *p = calloc(1, sizeof *p);
	assert_non_null(p);
	p->n = atoi(req->params[0].p);
	p->fail = req->head.path.p[1] == 'f';
	in_handler = true;
	http_respond_stream(req, 200, "text/plain", "X-A: 1\r\n", &src, p);
	in_handler = false;
}

static void r_x(http_req *req)
{
	http_respond(req, 200, "text/plain", "x", 1, NULL);
}

static void setup_server(nh *h)
{
	http_opts o;
	http_opts_default(&o);
	o.server_name = "t";
	nh_init(h, &o);
	assert_int_equal(http_route(h->srv, "GET", "/s/{n}", 0, r_stream, NULL), 0);
	assert_int_equal(http_route(h->srv, "GET", "/f/{n}", 0, r_stream, NULL), 0);
	assert_int_equal(http_route(h->srv, "GET", "/x", 0, r_x, NULL), 0);
	nh_connect(h);
	nexts = frees = 0;
	produced = 0;
}

/* Runs the loop without reading what the server wrote. */
static void run_only(nh *h)
{
	for (int i = 0; i < 64; i++)
		ev_run(h->loop->ev, EVRUN_NOWAIT);
}

/* Sends reqs, runs the loop, and checks that the server wrote exactly
 * want, then closed its end or not, with `freed` producers released. */
static void exchange(nh *h, const char *reqs, const char *want, bool closed, int freed)
{
	assert_true(nh_send(h, reqs, strlen(reqs)));
	nh_pump(h);
	assert_int_equal(h->out.len, strlen(want));
	assert_memory_equal(h->out.data, want, h->out.len);
	assert_int_equal(h->eof, closed);
	assert_int_equal(frees, freed);
}

#define HEAD_11 "HTTP/1.1 200 OK\r\nServer: t\r\nTransfer-Encoding: chunked\r\nX-Content-Type-Options: nosniff\r\n" \
		"Content-Type: text/plain\r\nX-A: 1\r\n\r\n"

static void test_exact_bytes_pipelined_and_head(void **state)
{
	(void)state;
	nh h;
	setup_server(&h);
	piece_size = 5;
	const char *reqs = "GET /s/3 HTTP/1.1\r\nHost: h\r\n\r\n"
			   "GET /s/0 HTTP/1.1\r\nHost: h\r\n\r\n"
			   "HEAD /s/2 HTTP/1.1\r\nHost: h\r\n\r\n"
			   "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	exchange(&h, reqs,
		 HEAD_11 "5\r\naaaaa\r\n5\r\nbbbbb\r\n5\r\nccccc\r\n0\r\n\r\n" HEAD_11 "0\r\n\r\n" HEAD_11
			 "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 1\r\nX-Content-Type-Options: nosniff\r\n"
			 "Content-Type: text/plain\r\n\r\nx",
		 false, 3);   /* kept alive */
	assert_int_equal(nexts, 4 + 1);   /* HEAD's producer was never asked */
	http_stats st;
	http_server_get_stats(h.srv, &st);
	assert_int_equal(st.streams, 2);
	assert_int_equal(st.streams_aborted, 0);
	assert_int_equal(st.streams_active, 0);
	nh_free(&h);
}

static void test_failure_truncates_and_closes(void **state)
{
	(void)state;
	nh h;
	setup_server(&h);
	piece_size = 3;
	const char *reqs = "GET /f/2 HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	exchange(&h, reqs, HEAD_11 "3\r\naaa\r\n3\r\nbbb\r\n", true, 1);   /* no last chunk, nothing after */
	http_stats st;
	http_server_get_stats(h.srv, &st);
	assert_int_equal(st.streams_aborted, 1);
	nh_free(&h);
}

static void test_http10_close_delimited(void **state)
{
	(void)state;
	nh h;
	setup_server(&h);
	piece_size = 4;
	const char *reqs = "GET /s/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /x HTTP/1.0\r\n\r\n";
	exchange(&h, reqs,
		 "HTTP/1.1 200 OK\r\nServer: t\r\nX-Content-Type-Options: nosniff\r\n"
		 "Content-Type: text/plain\r\nConnection: close\r\nX-A: 1\r\n\r\naaaabbbb",
		 true, 1);
	nh_free(&h);
}

static void test_backpressure(void **state)
{
	(void)state;
	nh h;
	setup_server(&h);
	piece_size = 32 << 10;
	int n = 200;   /* 6.4 MB */
	int sndbuf = 0;
	socklen_t sl = sizeof sndbuf;
	assert_int_equal(getsockopt(h.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl), 0);
	/* what may be ahead of the reader: the mark, a piece with its framing,
	 * and the socket's buffers (the pair's, both ways counted generously) */
	size_t bound = HTTP_STREAM_LOW_MARK + 2 * piece_size + 4 * (size_t)sndbuf;
	assert_true(bound < (size_t)n * piece_size / 4);
	const char *req = "GET /s/200 HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_true(nh_send(&h, req, strlen(req)));
	run_only(&h);
	assert_true(produced > 0);
	assert_true(produced <= bound);
	size_t stalled = produced;
	run_only(&h);   /* nothing read: nothing more produced */
	assert_int_equal(produced, stalled);
	/* a slow reader: at every step the producer stays within the bound */
	size_t got = 0;
	for (int rounds = 0; !h.eof && frees == 0; rounds++) {
		assert_true(rounds < 200000);
		char b[16384];
		ssize_t k = recv(h.fd, b, sizeof b, MSG_DONTWAIT);
		if (k > 0) {
			CHECK(buf_append(&h.out, b, (size_t)k) == 0);
			got += (size_t)k;
		}
		ev_run(h.loop->ev, EVRUN_NOWAIT);
		assert_true(produced <= got + bound);
	}
	nh_pump(&h);   /* the rest */
	assert_int_equal(frees, 1);
	assert_int_equal(produced, (size_t)n * piece_size);
	/* the body, decoded: each piece its letter */
	const char *end = strstr(h.out.data, "\r\n\r\n");
	assert_non_null(end);
	size_t pos = (size_t)(end + 4 - h.out.data), body = 0;
	hp_chunked d;
	hp_chunked_init(&d, UINT64_MAX);
	size_t len = h.out.len - pos, used = 0;
	assert_int_equal(hp_chunked_decode(&d, h.out.data + pos, &len, &used), HPC_DONE);
	assert_int_equal(len, (size_t)n * piece_size);
	for (int i = 0; i < n; i++, body += piece_size)
		assert_true(h.out.data[pos + body] == 'a' + i % 26 &&
			    h.out.data[pos + body + piece_size - 1] == 'a' + i % 26);
	assert_int_equal(pos + used, h.out.len);
	nh_free(&h);
}

static void test_client_gone(void **state)
{
	(void)state;
	nh h;
	setup_server(&h);
	piece_size = 32 << 10;
	const char *req = "GET /s/200 HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_true(nh_send(&h, req, strlen(req)));
	run_only(&h);
	char b[1000];
	assert_true(recv(h.fd, b, sizeof b, MSG_DONTWAIT) > 0);
	close(h.fd);
	h.fd = -1;
	run_only(&h);
	int calls = nexts;
	run_only(&h);
	assert_int_equal(nexts, calls);   /* not asked again */
	assert_int_equal(frees, 1);       /* freed once */
	assert_true(produced < 200u * piece_size);
	http_stats st;
	http_server_get_stats(h.srv, &st);
	assert_int_equal(st.streams_aborted, 1);
	assert_int_equal(st.streams_active, 0);
	assert_int_equal(http_server_connections(h.srv), 0);
	nh_free(&h);
	assert_int_equal(frees, 1);
}

static void test_server_freed_mid_body(void **state)
{
	(void)state;
	nh h;
	setup_server(&h);
	piece_size = 32 << 10;
	const char *req = "GET /s/200 HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_true(nh_send(&h, req, strlen(req)));
	run_only(&h);
	assert_int_equal(frees, 0);
	nh_free(&h);   /* the server closes what is open */
	assert_int_equal(frees, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes_pipelined_and_head),
		cmocka_unit_test(test_failure_truncates_and_closes),
		cmocka_unit_test(test_http10_close_delimited),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_client_gone),
		cmocka_unit_test(test_server_freed_mid_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
