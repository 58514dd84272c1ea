/* Unit tests for net/http_parser: request heads (fields, every strictness
 * and smuggling rule, limits, incremental and pipelined input) and the
 * chunked body decoder (split at every byte, errors, limits). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_parser.h"

#define NHDR 16

typedef struct {
	hp_request req;
	hp_header hdr[NHDR];
} parsed;

static void init_req(parsed *p, size_t cap)
{
	memset(p, 0, sizeof *p);
	p->req.max_head = 8192;
	p->req.max_uri = 2048;
	p->req.headers = p->hdr;
	p->req.num_headers = cap;
}

static int parse_n(parsed *p, const char *s, size_t len)
{
	init_req(p, NHDR);
	return hp_parse_head(&p->req, s, len);
}

static int parse(parsed *p, const char *s)
{
	return parse_n(p, s, strlen(s));
}

/* One-shot result of a request that is not expected to parse. */
static int rc_of(const char *s)
{
	parsed p;
	return parse(&p, s);
}

static bool str_eq(hp_str s, const char *lit)
{
	return s.p != NULL && s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

#define assert_str(s, lit) do {                                              \
	if (!str_eq((s), (lit)))                                             \
		fail_msg("expected \"%s\", got \"%.*s\"", (lit), (int)(s).len, \
			 (s).p ? (s).p : "(null)");                          \
} while (0)

/* Feeds s one more byte at a time, as a server would with a slow client,
 * and returns the first non-HP_AGAIN result (or HP_AGAIN). Each call gets
 * its own copy of the prefix in a fresh allocation, so ASan catches reads
 * beyond len. */
static int parse_incremental(const char *s, size_t len, size_t cap, size_t max_head,
			     size_t max_uri, parsed *out)
{
	int rc = HP_AGAIN;
	for (size_t k = 1; k <= len && rc == HP_AGAIN; k++) {
		char *b = malloc(k);
		assert_non_null(b);
		memcpy(b, s, k);
		init_req(out, cap);
		out->req.max_head = max_head;
		out->req.max_uri = max_uri;
		rc = hp_parse_head(&out->req, b, k);
		free(b);
	}
	return rc;
}

/* ----------------------------------------------------------- valid heads */

static void test_simple_get(void **state)
{
	const char *s = "GET /v1/rooms?limit=10 HTTP/1.1\r\n"
			"Host: chat.example\r\n"
			"User-Agent: test/1.0\r\n"
			"Accept: */*\r\n"
			"\r\n";
	parsed p;
	int rc = parse(&p, s);
	assert_int_equal(rc, (int)strlen(s));
	assert_str(p.req.method, "GET");
	assert_str(p.req.target, "/v1/rooms?limit=10");
	assert_str(p.req.path, "/v1/rooms");
	assert_str(p.req.query, "limit=10");
	assert_int_equal(p.req.minor_version, 1);
	assert_int_equal(p.req.num_headers, 3);
	assert_str(p.hdr[0].name, "Host");
	assert_str(p.hdr[0].value, "chat.example");
	assert_str(p.hdr[1].name, "User-Agent");
	assert_str(p.hdr[1].value, "test/1.0");
	assert_str(p.hdr[2].name, "Accept");
	assert_str(p.hdr[2].value, "*/*");
	assert_true(p.req.content_length == -1);
	assert_false(p.req.chunked);
	assert_true(p.req.keep_alive);
	assert_false(p.req.upgrade_websocket);
	assert_str(p.req.host, "chat.example");
	/* Views point into the caller's buffer. */
	assert_ptr_equal(p.req.method.p, s);
	assert_ptr_equal(p.req.target.p, s + 4);
}

static void test_post_content_length(void **state)
{
	const char *s = "POST /v1/messages HTTP/1.1\r\n"
			"Host: h\r\n"
			"Content-Type: application/json\r\n"
			"Content-Length: 13\r\n"
			"\r\n"
			"{\"text\":\"hi\"}";
	parsed p;
	int rc = parse(&p, s);
	assert_int_equal(rc, (int)(strlen(s) - 13));
	assert_str(p.req.method, "POST");
	assert_true(p.req.content_length == 13);
	assert_false(p.req.chunked);
	assert_str(p.req.query, "");
	assert_str(p.req.path, "/v1/messages");
}

static void test_chunked_head(void **state)
{
	parsed p;
	const char *s = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
	assert_int_equal(parse(&p, s), (int)strlen(s));
	assert_true(p.req.chunked);
	assert_true(p.req.content_length == -1);

	s = "POST /up HTTP/1.1\r\ntransfer-encoding:   ChUnKeD \t\r\n\r\n";
	assert_int_equal(parse(&p, s), (int)strlen(s));
	assert_true(p.req.chunked);
}

static void test_query_split(void **state)
{
	parsed p;
	assert_true(parse(&p, "GET /a/b?x=1&y=2?z HTTP/1.1\r\n\r\n") > 0);
	assert_str(p.req.path, "/a/b");
	assert_str(p.req.query, "x=1&y=2?z");
	assert_true(parse(&p, "GET /a? HTTP/1.1\r\n\r\n") > 0);
	assert_str(p.req.path, "/a");
	assert_str(p.req.query, "");
	assert_int_equal(rc_of("GET ?q HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_true(parse(&p, "OPTIONS * HTTP/1.1\r\n\r\n") > 0);
	assert_str(p.req.method, "OPTIONS");
	assert_str(p.req.path, "*");
	/* absolute-form: the URI's path and query; its authority is the host */
	assert_true(parse(&p, "GET http://x.example/p?q HTTP/1.1\r\nHost: other\r\n\r\n") > 0);
	assert_str(p.req.path, "/p");
	assert_str(p.req.query, "q");
	assert_str(p.req.host, "x.example");
	assert_true(parse(&p, "GET HTTPS://x.example:8443 HTTP/1.1\r\n\r\n") > 0);
	assert_str(p.req.path, "");
	assert_str(p.req.host, "x.example:8443");
	assert_true(parse(&p, "GET http://[::1]:80?a HTTP/1.1\r\n\r\n") > 0);
	assert_str(p.req.path, "");
	assert_str(p.req.query, "a");
	assert_str(p.req.host, "[::1]:80");
}

/* RFC 9112 3.2: origin-, asterisk- (OPTIONS only) or absolute-form. */
static void test_target_forms(void **state)
{
	assert_int_equal(rc_of("GET healthz HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("CONNECT a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET */x HTTP/1.1\r\nHost: a\r\n\r\n"), HP_EBAD);
}

/* RFC 9110 7.2: Host is uri-host [":" port]. */
static void test_host_syntax(void **state)
{
	parsed p;
	static const char *good[] = { "a", "a.example", "a.example:8080", "127.0.0.1:1", "[::1]",
				      "[::1]:443", "xn--bcher-kva.example", "a%20b", "a:", "a:65535" };
	static const char *bad[] = { "a b", "user@host", "a:99999x", "a:65536", "a:123456", "[::1",
				     "a/b", "a?b", "a#b", "[::g]", "a:1:2", "a%2" };
	char s[128];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
		assert_int_equal(parse(&p, s), (int)strlen(s));
		assert_str(p.req.host, good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", bad[i]);
		assert_int_equal(rc_of(s), HP_EBAD);
	}
}

static void test_keep_alive(void **state)
{
	parsed p;
	assert_true(parse(&p, "GET / HTTP/1.1\r\n\r\n") > 0);
	assert_true(p.req.keep_alive);
	assert_true(parse(&p, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n") > 0);
	assert_false(p.req.keep_alive);
	assert_true(parse(&p, "GET / HTTP/1.1\r\nConnection: foo, CLOSE\r\n\r\n") > 0);
	assert_false(p.req.keep_alive);
	assert_true(parse(&p, "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n") > 0);
	assert_true(p.req.keep_alive);
	assert_true(parse(&p, "GET / HTTP/1.0\r\n\r\n") > 0);
	assert_int_equal(p.req.minor_version, 0);
	assert_false(p.req.keep_alive);
	assert_true(parse(&p, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
	assert_true(p.req.keep_alive);
	assert_true(parse(&p, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
			      "Connection: close\r\n\r\n") > 0);
	assert_false(p.req.keep_alive);
}

static void test_upgrade_websocket(void **state)
{
	parsed p;
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
			      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n") > 0);
	assert_true(p.req.upgrade_websocket);
	assert_true(p.req.keep_alive);
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nconnection: keep-alive, upgrade\r\n"
			      "UPGRADE: WebSocket\r\n\r\n") > 0);
	assert_true(p.req.upgrade_websocket);
	/* Connection tokens may be spread over several fields. */
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nConnection: keep-alive\r\n"
			      "Upgrade: foo, websocket\r\nConnection: Upgrade\r\n\r\n") > 0);
	assert_true(p.req.upgrade_websocket);
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n") > 0);
	assert_false(p.req.upgrade_websocket);
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nConnection: upgrade\r\n\r\n") > 0);
	assert_false(p.req.upgrade_websocket);
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nUpgrade: websocketx\r\n"
			      "Connection: upgrade\r\n\r\n") > 0);
	assert_false(p.req.upgrade_websocket);
	assert_true(parse(&p, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
			      "Connection: upgraded\r\n\r\n") > 0);
	assert_false(p.req.upgrade_websocket);
	/* RFC 9110 7.8: Upgrade is ignored in HTTP/1.0. */
	assert_true(parse(&p, "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\n"
			      "Connection: upgrade\r\n\r\n") > 0);
	assert_false(p.req.upgrade_websocket);
}

static void test_ows_trimmed(void **state)
{
	parsed p;
	assert_true(parse(&p, "GET / HTTP/1.1\r\nX-A:   a b \t\r\nX-B:\r\nX-C: \t \r\n"
			      "X-D:\tv\r\nX-E:x\r\n\r\n") > 0);
	assert_int_equal(p.req.num_headers, 5);
	assert_str(p.hdr[0].value, "a b");
	assert_str(p.hdr[1].value, "");
	assert_str(p.hdr[2].value, "");
	assert_str(p.hdr[3].value, "v");
	assert_str(p.hdr[4].value, "x");
	/* HTAB and obs-text inside a value are allowed. */
	assert_true(parse(&p, "GET / HTTP/1.1\r\nX: a\tb \xc3\xa9\r\n\r\n") > 0);
	assert_str(p.hdr[0].value, "a\tb \xc3\xa9");
}

static void test_leading_crlf_skipped(void **state)
{
	parsed p;
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
	assert_int_equal(parse(&p, s), (int)strlen(s));
	assert_str(p.req.method, "GET");
	assert_str(p.req.host, "h");
}

static void test_host(void **state)
{
	parsed p;
	assert_true(parse(&p, "GET / HTTP/1.1\r\n\r\n") > 0);
	assert_non_null(p.req.host.p);
	assert_int_equal(p.req.host.len, 0);
	assert_true(parse(&p, "GET / HTTP/1.1\r\nhOsT:  example.org:8080 \r\n\r\n") > 0);
	assert_str(p.req.host, "example.org:8080");
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nhost: b\r\n\r\n"), HP_EBAD);
}

static void test_again_on_every_prefix(void **state)
{
	const char *s = "\r\nPOST /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
	size_t n = strlen(s);
	for (size_t k = 0; k < n; k++) {
		parsed p;
		char *b = malloc(k + 1);
		memcpy(b, s, k);
		assert_int_equal(parse_n(&p, b, k), HP_AGAIN);
		/* The capacity in num_headers survives an HP_AGAIN. */
		assert_int_equal(p.req.num_headers, NHDR);
		free(b);
	}
}

static void test_buffer_not_written(void **state)
{
	const char *s = "GET /a?b HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n";
	char buf[128], copy[128];
	size_t n = strlen(s);
	memcpy(buf, s, n);
	memcpy(copy, s, n);
	parsed p;
	assert_int_equal(parse_n(&p, buf, n), (int)n);
	assert_memory_equal(buf, copy, n);
}

/* ---------------------------------------------------- incremental parsing */

static const char *const incremental_cases[] = {
	"GET / HTTP/1.1\r\n\r\n",
	"\r\n\r\nGET /a?b=c HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
	"POST /m HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n\r\nbody",
	"POST /m HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"GET / HTTP/1.1\r\nX:  v  \r\n\r\n",
	/* errors */
	"G@T / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.2\r\n\r\n",
	"GET / HTTX/1.1\r\n\r\n",
	"GET / HTTP/1.1\n\r\n",
	"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nX : a\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",
	"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
	"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n",
	("GET / HTTP/1.1\r\nX-Long: 0123456789012345678901234567890123456789"
	 "0123456789012345678901234567890123456789\r\n\r\n"),
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
};

static void test_incremental_matches_one_shot(void **state)
{
	for (size_t i = 0; i < sizeof incremental_cases / sizeof *incremental_cases; i++) {
		const char *s = incremental_cases[i];
		size_t n = strlen(s);
		/* Small limits so the limit errors take part too. */
		parsed one, inc;
		init_req(&one, 4);
		one.req.max_head = 100;
		one.req.max_uri = 64;
		int rc1 = hp_parse_head(&one.req, s, n);
		int rc2 = parse_incremental(s, n, 4, 100, 64, &inc);
		if (rc1 != rc2)
			fail_msg("case %zu: one-shot %d, incremental %d", i, rc1, rc2);
		assert_int_not_equal(rc1, HP_AGAIN);
		if (rc1 > 0) {
			assert_int_equal(one.req.num_headers, inc.req.num_headers);
			assert_int_equal(one.req.method.len, inc.req.method.len);
			assert_int_equal(one.req.target.len, inc.req.target.len);
			assert_true(one.req.content_length == inc.req.content_length);
			assert_int_equal(one.req.chunked, inc.req.chunked);
			assert_int_equal(one.req.keep_alive, inc.req.keep_alive);
			assert_int_equal(one.req.upgrade_websocket, inc.req.upgrade_websocket);
			assert_int_equal(one.req.minor_version, inc.req.minor_version);
		}
	}
}

static void test_expected_codes_of_incremental_cases(void **state)
{
	/* Pin down what the table above is expected to produce. */
	static const int want[] = {
		18, 0, 0, 0, 0, 0,
		HP_EMETHOD, HP_EVERSION, HP_EBAD, HP_EBAD, HP_EBAD, HP_EBAD, HP_EBAD,
		HP_ESMUGGLE, HP_ESMUGGLE, HP_ESMUGGLE, HP_ESMUGGLE, HP_EBAD,
		HP_ETOO_MANY, HP_EURI_TOO_LONG, HP_EHEAD_TOO_LARGE, HP_EBAD,
	};
	_Static_assert(sizeof want / sizeof *want ==
		       sizeof incremental_cases / sizeof *incremental_cases, "table sizes");
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		parsed p;
		init_req(&p, 4);
		p.req.max_head = 100;
		p.req.max_uri = 64;
		int rc = hp_parse_head(&p.req, incremental_cases[i], strlen(incremental_cases[i]));
		if (want[i] == 0 ? rc <= 0 : rc != want[i])
			fail_msg("case %zu: got %d (%s), want %d", i, rc, hp_strerror(rc), want[i]);
	}
}

/* --------------------------------------------------------------- pipelining */

static void test_pipelined(void **state)
{
	const char *s = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
			"GET /b?x HTTP/1.1\r\nHost: two\r\n\r\n"
			"GET /c HTTP/1.0\r\n\r\n";
	size_t n = strlen(s), off = 0;
	parsed p;

	int rc = parse_n(&p, s, n);
	assert_true(rc > 0);
	assert_str(p.req.path, "/a");
	assert_true(p.req.content_length == 3);
	off += (size_t)rc;
	assert_memory_equal(s + off, "abc", 3);
	off += 3;

	rc = parse_n(&p, s + off, n - off);
	assert_true(rc > 0);
	assert_str(p.req.method, "GET");
	assert_str(p.req.path, "/b");
	assert_str(p.req.query, "x");
	assert_str(p.req.host, "two");
	off += (size_t)rc;

	rc = parse_n(&p, s + off, n - off);
	assert_int_equal(rc, (int)(n - off));
	assert_str(p.req.path, "/c");
	assert_int_equal(p.req.minor_version, 0);

	/* Two GETs back to back: the first stops exactly at its CRLFCRLF. */
	const char *g = "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
	rc = parse(&p, g);
	assert_int_equal(rc, 19);
	assert_str(p.req.path, "/1");
	rc = parse(&p, g + 19);
	assert_int_equal(rc, 19);
	assert_str(p.req.path, "/2");
}

/* ------------------------------------------------------------------- limits */

static void test_max_head(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t n = strlen(s);
	parsed p;

	init_req(&p, NHDR);
	p.req.max_head = n;
	assert_int_equal(hp_parse_head(&p.req, s, n), (int)n);

	/* A complete head within the limit followed by more bytes is fine. */
	char big[256];
	memset(big, 'x', sizeof big);
	memcpy(big, s, n);
	init_req(&p, NHDR);
	p.req.max_head = n;
	assert_int_equal(hp_parse_head(&p.req, big, sizeof big), (int)n);

	/* One byte short: AGAIN while len <= max_head, then too large. */
	init_req(&p, NHDR);
	p.req.max_head = n - 1;
	assert_int_equal(hp_parse_head(&p.req, s, n - 1), HP_AGAIN);
	assert_int_equal(hp_parse_head(&p.req, s, n), HP_EHEAD_TOO_LARGE);

	/* Endless header lines are refused as soon as len passes max_head. */
	char flood[4096];
	size_t fl = (size_t)snprintf(flood, sizeof flood, "GET / HTTP/1.1\r\n");
	while (fl + 8 < sizeof flood) {
		memcpy(flood + fl, "X: yyy\r\n", 8);
		fl += 8;
	}
	static hp_header many[1000];
	init_req(&p, 0);
	p.req.headers = many;
	p.req.num_headers = 1000;
	p.req.max_head = 1024;
	assert_int_equal(hp_parse_head(&p.req, flood, 1024), HP_AGAIN);
	assert_int_equal(hp_parse_head(&p.req, flood, 1025), HP_EHEAD_TOO_LARGE);
	assert_int_equal(hp_parse_head(&p.req, flood, fl), HP_EHEAD_TOO_LARGE);

	/* Endless leading CRLFs count against the limit too. */
	char crlf[2048];
	for (size_t i = 0; i < sizeof crlf; i += 2)
		memcpy(crlf + i, "\r\n", 2);
	init_req(&p, NHDR);
	p.req.max_head = 1024;
	assert_int_equal(hp_parse_head(&p.req, crlf, sizeof crlf), HP_EHEAD_TOO_LARGE);

	/* A zero limit fails closed. */
	init_req(&p, NHDR);
	p.req.max_head = 0;
	assert_int_equal(hp_parse_head(&p.req, s, n), HP_EHEAD_TOO_LARGE);
}

static void test_max_uri(void **state)
{
	char buf[512];
	parsed p;

	/* target of exactly max_uri bytes */
	memset(buf, 0, sizeof buf);
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', 31);
	strcat(buf, " HTTP/1.1\r\n\r\n");
	init_req(&p, NHDR);
	p.req.max_uri = 32;
	assert_int_equal(hp_parse_head(&p.req, buf, strlen(buf)), (int)strlen(buf));
	assert_int_equal(p.req.target.len, 32);

	/* one more: refused, and already before the SP after it arrives */
	memset(buf, 0, sizeof buf);
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', 32);
	init_req(&p, NHDR);
	p.req.max_uri = 32;
	assert_int_equal(hp_parse_head(&p.req, buf, 4 + 32), HP_AGAIN);
	assert_int_equal(hp_parse_head(&p.req, buf, 4 + 33), HP_EURI_TOO_LONG);
	strcat(buf, " HTTP/1.1\r\n\r\n");
	assert_int_equal(hp_parse_head(&p.req, buf, strlen(buf)), HP_EURI_TOO_LONG);
}

static void test_too_many_headers(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	parsed p;
	init_req(&p, 2);
	assert_int_equal(hp_parse_head(&p.req, s, strlen(s)), HP_ETOO_MANY);
	init_req(&p, 3);
	assert_int_equal(hp_parse_head(&p.req, s, strlen(s)), (int)strlen(s));
	assert_int_equal(p.req.num_headers, 3);
	assert_str(p.hdr[2].name, "C");

	init_req(&p, 0);
	p.req.headers = NULL;
	assert_int_equal(hp_parse_head(&p.req, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	assert_int_equal(p.req.num_headers, 0);
	init_req(&p, 0);
	p.req.headers = NULL;
	assert_int_equal(hp_parse_head(&p.req, "GET / HTTP/1.1\r\nA: 1\r\n\r\n", 24),
			 HP_ETOO_MANY);
}

/* ------------------------------------------------------ request-line errors */

static void test_bad_method(void **state)
{
	assert_int_equal(rc_of("G(T / HTTP/1.1\r\n\r\n"), HP_EMETHOD);
	assert_int_equal(rc_of("GET\t/ HTTP/1.1\r\n\r\n"), HP_EMETHOD);
	assert_int_equal(rc_of(" GET / HTTP/1.1\r\n\r\n"), HP_EMETHOD);
	assert_int_equal(rc_of("G\x80T / HTTP/1.1\r\n\r\n"), HP_EMETHOD);
	assert_int_equal(rc_of("\x16\x03\x01\x02\x00"), HP_EMETHOD);  /* TLS hello */
	assert_int_equal(rc_of("GET\r\n\r\n"), HP_EBAD);
	/* Any token is a method. */
	parsed p;
	assert_true(parse(&p, "M-SEARCH / HTTP/1.1\r\n\r\n") > 0);
	assert_str(p.req.method, "M-SEARCH");
}

static void test_bad_target(void **state)
{
	assert_int_equal(rc_of("GET  / HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET /a\x01 HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET /a\x7f HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET /\xc3\xa9 HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET /a\tb HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET /\r\n\r\n"), HP_EBAD);  /* HTTP/0.9 */
	parsed p;
	assert_int_equal(parse_n(&p, "GET /a\0b HTTP/1.1\r\n\r\n", 21), HP_EBAD);
}

static void test_bad_version(void **state)
{
	assert_int_equal(rc_of("GET / HTTP/1.2\r\n\r\n"), HP_EVERSION);
	assert_int_equal(rc_of("GET / HTTP/2.0\r\n\r\n"), HP_EVERSION);
	assert_int_equal(rc_of("GET / HTTP/0.9\r\n\r\n"), HP_EVERSION);
	assert_int_equal(rc_of("GET / HTTP/3.1\r\n\r\n"), HP_EVERSION);
	assert_int_equal(rc_of("GET / HTTX/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / http/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1x\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.10\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/11.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1 \r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / \r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1 extra\r\n\r\n"), HP_EBAD);
}

/* -------------------------------------------------------- line-ending rules */

static void test_bare_lf(void **state)
{
	assert_int_equal(rc_of("\nGET / HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("\r\n\nGET / HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\n\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost: h\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost: h\r\n\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\nb\r\n\r\n"), HP_EBAD);
	/* CR not followed by LF */
	assert_int_equal(rc_of("\rGET / HTTP/1.1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\rX: 1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\r\n\rx"), HP_EBAD);
}

static void test_obs_fold(void **state)
{
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), HP_EBAD);
	/* whitespace between the start-line and the first field */
	assert_int_equal(rc_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), HP_EBAD);
}

static void test_bad_header_name(void **state)
{
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n"),
			 HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX@Y: 1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX(Y): 1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\n: 1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX\xc3\xa9: 1\r\n\r\n"), HP_EBAD);
}

static void test_bad_header_value(void **state)
{
	parsed p;
	assert_int_equal(parse_n(&p, "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\x1f\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: \x0b\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), HP_EBAD);
}

/* ------------------------------------------------------------------ framing */

static void test_content_length_values(void **state)
{
	parsed p;
	assert_true(parse(&p, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n") > 0);
	assert_true(p.req.content_length == 0);
	assert_true(parse(&p, "POST / HTTP/1.1\r\nContent-Length:  12 \t\r\n\r\n") > 0);
	assert_true(p.req.content_length == 12);
	assert_true(parse(&p, "POST / HTTP/1.1\r\ncontent-length: 0005\r\n\r\n") > 0);
	assert_true(p.req.content_length == 5);
	assert_true(parse(&p, "POST / HTTP/1.1\r\nContent-Length: 4611686018427387904\r\n\r\n") > 0);
	assert_true(p.req.content_length == ((int64_t)1 << 62));

	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 4611686018427387905\r\n\r\n"),
			 HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n"),
			 HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
			 HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 1.0\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"), HP_EBAD);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length:  \r\n\r\n"), HP_EBAD);
}

static void test_content_length_smuggling(void **state)
{
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
			 HP_ESMUGGLE);
	/* identical duplicates are refused too */
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"),
			 HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 5,6\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: ,5\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n"), HP_ESMUGGLE);
}

static void test_cl_and_te(void **state)
{
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			       "Content-Length: 5\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX: 1\r\n"
			       "content-length: 0\r\n\r\n"), HP_ESMUGGLE);
}

static void test_bad_transfer_encoding(void **state)
{
	static const char *const bad[] = {
		"gzip, chunked", "chunked, identity", "xchunked", "chunkedx", "chunked,",
		",chunked", "chunked;q=1", "identity", "gzip", "chunked chunked",
		"\"chunked\"", "",
	};
	char buf[256];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(buf, sizeof buf, "POST / HTTP/1.1\r\nTransfer-Encoding: %s\r\n\r\n", bad[i]);
		if (rc_of(buf) != HP_ESMUGGLE)
			fail_msg("Transfer-Encoding: \"%s\" gave %d", bad[i], rc_of(buf));
	}
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
			       "Transfer-Encoding: chunked\r\n\r\n"), HP_ESMUGGLE);
	assert_int_equal(rc_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
			 HP_ESMUGGLE);
	/* "chunked" in any case is fine */
	parsed p;
	assert_true(parse(&p, "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n") > 0);
	assert_true(p.req.chunked);
}

/* ------------------------------------------------------- hp_find, tokens */

static void test_find(void **state)
{
	parsed p;
	assert_true(parse(&p, "GET / HTTP/1.1\r\nContent-Type: a\r\nX-Req-Id: 7\r\n"
			      "x-req-id: 8\r\n\r\n") > 0);
	const hp_header *h = hp_find(&p.req, "content-type");
	assert_non_null(h);
	assert_str(h->value, "a");
	h = hp_find(&p.req, "X-REQ-ID");
	assert_ptr_equal(h, &p.hdr[1]);  /* first match */
	assert_null(hp_find(&p.req, "Content"));
	assert_null(hp_find(&p.req, "Content-Type-X"));
	assert_null(hp_find(&p.req, "Host"));
	assert_null(hp_find(&p.req, ""));
}

static hp_str S(const char *s)
{
	return (hp_str){ s, strlen(s) };
}

static void test_has_token(void **state)
{
	assert_true(hp_has_token(S("upgrade"), "upgrade"));
	assert_true(hp_has_token(S("keep-alive, Upgrade"), "upgrade"));
	assert_true(hp_has_token(S(" \tUPGRADE\t ,x"), "upgrade"));
	assert_true(hp_has_token(S("a,,b"), "b"));
	assert_false(hp_has_token(S("upgrades"), "upgrade"));
	assert_false(hp_has_token(S("xupgrade"), "upgrade"));
	assert_false(hp_has_token(S("up grade"), "upgrade"));
	assert_false(hp_has_token(S(""), "upgrade"));
	assert_false(hp_has_token(S("a, b"), ""));
	/* not NUL-terminated: only len bytes count */
	hp_str part = { "closed", 5 };
	assert_true(hp_has_token(part, "close"));
	hp_str cut = { "clo", 3 };
	assert_false(hp_has_token(cut, "close"));
}

static void test_strerror(void **state)
{
	static const int codes[] = {
		HP_AGAIN, HP_EBAD, HP_EHEAD_TOO_LARGE, HP_ETOO_MANY, HP_EURI_TOO_LONG,
		HP_ESMUGGLE, HP_EVERSION, HP_EMETHOD, HPC_DONE, HPC_AGAIN, HPC_ETOO_LARGE,
	};
	const char *unknown = hp_strerror(-1000);
	assert_non_null(unknown);
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		const char *m = hp_strerror(codes[i]);
		assert_non_null(m);
		assert_true(strlen(m) > 0);
		assert_string_not_equal(m, unknown);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(m, hp_strerror(codes[j]));
	}
	assert_string_equal(hp_strerror(HPC_EBAD), hp_strerror(HP_EBAD));
}

/* ------------------------------------------------------------------ chunked */

/* Decodes in one call; returns rc, output in out/outlen, consumed. */
static int chunk_once(const char *in, size_t n, uint64_t max_body, char *out, size_t *outlen,
		      size_t *consumed)
{
	hp_chunked c;
	hp_chunked_init(&c, max_body);
	char *b = malloc(n ? n : 1);
	memcpy(b, in, n);
	size_t len = n;
	int rc = hp_chunked_decode(&c, b, &len, consumed);
	memcpy(out, b, len);
	*outlen = len;
	free(b);
	if (rc == HPC_DONE)
		assert_true(c.total == len);
	return rc;
}

/* Decodes in pieces cut at the given positions, as a server would: each
 * call sees only the new bytes (in its own allocation), and the decoder
 * must use all of them unless it finishes or fails. */
static int chunk_pieces(const char *in, size_t n, const size_t *cuts, size_t ncuts,
			uint64_t max_body, char *out, size_t *outlen, size_t *consumed)
{
	hp_chunked c;
	hp_chunked_init(&c, max_body);
	size_t pos = 0, o = 0;
	int rc = HPC_AGAIN;
	for (size_t k = 0; k <= ncuts && rc == HPC_AGAIN; k++) {
		size_t stop = k < ncuts ? cuts[k] : n;
		size_t piece = stop - pos;
		char *b = malloc(piece ? piece : 1);
		memcpy(b, in + pos, piece);
		size_t len = piece, used = 0;
		rc = hp_chunked_decode(&c, b, &len, &used);
		assert_true(len <= used);
		assert_true(used <= piece);
		if (rc == HPC_AGAIN)
			assert_int_equal(used, piece);
		memcpy(out + o, b, len);
		o += len;
		pos += used;
		free(b);
	}
	*outlen = o;
	*consumed = pos;
	return rc;
}

static void test_chunked_simple(void **state)
{
	const char *s = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	char out[64];
	size_t olen, used;
	assert_int_equal(chunk_once(s, strlen(s), 1000, out, &olen, &used), HPC_DONE);
	assert_int_equal(olen, 11);
	assert_memory_equal(out, "hello world", 11);
	assert_int_equal(used, strlen(s));

	/* hex digits in either case, leading zeros */
	s = "A\r\n0123456789\r\n0a\r\nabcdefghij\r\n000\r\n\r\n";
	assert_int_equal(chunk_once(s, strlen(s), 1000, out, &olen, &used), HPC_DONE);
	assert_int_equal(olen, 20);
	assert_memory_equal(out, "0123456789abcdefghij", 20);

	/* empty body */
	s = "0\r\n\r\n";
	assert_int_equal(chunk_once(s, strlen(s), 0, out, &olen, &used), HPC_DONE);
	assert_int_equal(olen, 0);
	assert_int_equal(used, 5);
}

static void test_chunked_ext_trailers_pipelined(void **state)
{
	const char *body = "4;name=value;q=\"a b\"\r\nWiki\r\n"
			   "5 ; ext\r\npedia\r\n"
			   "0;last\r\n"
			   "Expires: never\r\nX-Sum:\tabc \r\n"
			   "\r\n";
	const char *next = "GET /next HTTP/1.1\r\n\r\n";
	char in[256];
	snprintf(in, sizeof in, "%s%s", body, next);
	char out[64];
	size_t olen, used;
	assert_int_equal(chunk_once(in, strlen(in), 1000, out, &olen, &used), HPC_DONE);
	assert_int_equal(olen, 9);
	assert_memory_equal(out, "Wikipedia", 9);
	assert_int_equal(used, strlen(body));

	/* the remainder is the next request */
	parsed p;
	assert_int_equal(parse(&p, in + used), (int)strlen(next));
	assert_str(p.req.path, "/next");
}

static const char *const chunk_split_cases[] = {
	"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	"4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\nU: w\r\n\r\nGET",
	"1\r\nx\r\n0\r\n\r\n\r\n",
	"10\r\n0123456789abcdef\r\n0\r\n\r\n",
	"3\r\nabc\r\n3\r\ndef\n\r\n",    /* error late in the stream */
	"3\r\nabc\r\nX\r\n",
	"ff\r\n",                      /* too large for max_body 64 */
};

static void test_chunked_split_everywhere(void **state)
{
	char ref[256], out[256];
	for (size_t ci = 0; ci < sizeof chunk_split_cases / sizeof *chunk_split_cases; ci++) {
		const char *s = chunk_split_cases[ci];
		size_t n = strlen(s), rlen, rused;
		int rrc = chunk_once(s, n, 64, ref, &rlen, &rused);
		assert_int_not_equal(rrc, HPC_AGAIN);

		/* one split at every position */
		for (size_t cut = 0; cut <= n; cut++) {
			size_t olen, used;
			int rc = chunk_pieces(s, n, &cut, 1, 64, out, &olen, &used);
			if (rc != rrc)
				fail_msg("case %zu cut %zu: rc %d, one-shot %d", ci, cut, rc, rrc);
			if (rc == HPC_DONE) {
				assert_int_equal(used, rused);
				assert_int_equal(olen, rlen);
				assert_memory_equal(out, ref, rlen);
			}
		}
		/* two splits at every pair of positions */
		for (size_t a = 0; a <= n; a++) {
			for (size_t b = a; b <= n; b++) {
				size_t cuts[2] = { a, b }, olen, used;
				int rc = chunk_pieces(s, n, cuts, 2, 64, out, &olen, &used);
				if (rc != rrc)
					fail_msg("case %zu cuts %zu,%zu: rc %d, one-shot %d",
						 ci, a, b, rc, rrc);
				if (rc == HPC_DONE) {
					assert_int_equal(used, rused);
					assert_memory_equal(out, ref, rlen);
				}
			}
		}
		/* one byte at a time */
		size_t cuts[256];
		for (size_t k = 0; k < n; k++)
			cuts[k] = k + 1;
		size_t olen, used;
		int rc = chunk_pieces(s, n, cuts, n, 64, out, &olen, &used);
		assert_int_equal(rc, rrc);
		if (rc == HPC_DONE) {
			assert_int_equal(used, rused);
			assert_int_equal(olen, rlen);
			assert_memory_equal(out, ref, rlen);
		}
	}
}

static void test_chunked_expected_results(void **state)
{
	char out[256];
	size_t olen, used;
	const char *s = chunk_split_cases[1];
	assert_int_equal(chunk_once(s, strlen(s), 64, out, &olen, &used), HPC_DONE);
	assert_int_equal(olen, 4 + 5 + 14);
	assert_memory_equal(out, "Wikipedia in\r\n\r\nchunks.", 23);
	assert_int_equal(used, strlen(s) - 3);  /* "GET" left over */
	s = chunk_split_cases[2];
	assert_int_equal(chunk_once(s, strlen(s), 64, out, &olen, &used), HPC_DONE);
	assert_int_equal(used, strlen(s) - 2);
	s = chunk_split_cases[4];
	assert_int_equal(chunk_once(s, strlen(s), 64, out, &olen, &used), HPC_EBAD);
	s = chunk_split_cases[6];
	assert_int_equal(chunk_once(s, strlen(s), 64, out, &olen, &used), HPC_ETOO_LARGE);
}

static int chunk_rc(const char *s, uint64_t max_body)
{
	char out[8192];
	size_t olen, used;
	return chunk_once(s, strlen(s), max_body, out, &olen, &used);
}

static void test_chunked_errors(void **state)
{
	assert_int_equal(chunk_rc("\r\n", 100), HPC_EBAD);                  /* empty size */
	assert_int_equal(chunk_rc(";ext\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("g\r\n", 100), HPC_EBAD);                 /* non-hex */
	assert_int_equal(chunk_rc("5g\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0x5\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("-5\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("+5\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc(" 5\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5 \r\nhello\r\n", 100), HPC_EBAD);      /* BWS without ext */
	assert_int_equal(chunk_rc("5 x\r\n", 100), HPC_EBAD);
	/* more than 15 hex digits, even as leading zeros */
	assert_int_equal(chunk_rc("0000000000000001\r\n", UINT64_MAX), HPC_EBAD);
	assert_int_equal(chunk_rc("10000000000000000\r\n", UINT64_MAX), HPC_EBAD);
	assert_int_equal(chunk_rc("ffffffffffffffffffff\r\n", UINT64_MAX), HPC_EBAD);
	/* 15 digits is the most accepted */
	assert_int_equal(chunk_rc("000000000000001\r\nx", UINT64_MAX), HPC_AGAIN);
	assert_int_equal(chunk_rc("fffffffffffffff\r\n", UINT64_MAX), HPC_AGAIN);
	/* CRLF required after the size line and after data */
	assert_int_equal(chunk_rc("5\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5\n;x\r\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5 \n;x\r\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5;x\n\r\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5\rhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5\r\nhello\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5\r\nhelloX\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5\r\nhello\rX0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5\r\nhello world\r\n", 100), HPC_EBAD); /* data longer than size */
	assert_int_equal(chunk_rc("0\r\n\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0\r\n\rX", 100), HPC_EBAD);
	/* extensions: no bare LF or controls */
	assert_int_equal(chunk_rc("5;a\nb\r\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5;a\x01\r\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("5;a\x7f\r\nhello\r\n0\r\n\r\n", 100), HPC_EBAD);
	/* trailers: field syntax, CRLF, no obs-fold */
	assert_int_equal(chunk_rc("0\r\nX: 1\nY: 2\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0\r\nX: 1\r\n folded\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0\r\nX : 1\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0\r\nNoColon\r\n\r\n", 100), HPC_EBAD);
	assert_int_equal(chunk_rc("0\r\n: v\r\n\r\n", 100), HPC_EBAD);
	char out[16];
	size_t olen, used;
	assert_int_equal(chunk_once("0\r\nX: a\0b\r\n\r\n", 13, 100, out, &olen, &used), HPC_EBAD);
	assert_int_equal(chunk_rc("0\r\nX: a\x7f\r\n\r\n", 100), HPC_EBAD);
	/* the chunk-size line after the data must start right away */
	assert_int_equal(chunk_rc("1\r\na\r\n\r\n0\r\n\r\n", 100), HPC_EBAD);
}

static void test_chunked_line_limits(void **state)
{
	static char buf[20000];
	/* extension up to the 4096-byte line limit is fine */
	size_t n = 0;
	buf[n++] = '1';
	buf[n++] = ';';
	while (n < 4096 - 1)
		buf[n++] = 'e';
	memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 11);
	assert_int_equal(chunk_rc(buf, 100), HPC_DONE);
	/* one more byte is not */
	n = 0;
	buf[n++] = '1';
	buf[n++] = ';';
	while (n < 4096)
		buf[n++] = 'e';
	memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 11);
	assert_int_equal(chunk_rc(buf, 100), HPC_EBAD);
	/* an endless extension fails without waiting for its CR */
	memset(buf, ';', sizeof buf - 1);
	buf[0] = '1';
	buf[sizeof buf - 1] = 0;
	assert_int_equal(chunk_rc(buf, 100), HPC_EBAD);

	/* an endless trailer line */
	memcpy(buf, "0\r\nX: ", 6);
	memset(buf + 6, 'v', sizeof buf - 7);
	assert_int_equal(chunk_rc(buf, 100), HPC_EBAD);
	/* many short trailer lines: the whole section is bounded */
	n = (size_t)snprintf(buf, sizeof buf, "0\r\n");
	while (n + 8 < sizeof buf - 3) {
		memcpy(buf + n, "X: yyy\r\n", 8);
		n += 8;
	}
	memcpy(buf + n, "\r\n", 3);
	assert_int_equal(chunk_rc(buf, 100), HPC_EBAD);
	/* a few trailers are fine */
	assert_int_equal(chunk_rc("0\r\nA: 1\r\nB: 2\r\nC:\r\n\r\n", 100), HPC_DONE);
}

static void test_chunked_too_large(void **state)
{
	/* exactly max_body is fine */
	assert_int_equal(chunk_rc("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10), HPC_DONE);
	/* one chunk over the limit: refused at its size line */
	assert_int_equal(chunk_rc("b\r\n", 10), HPC_ETOO_LARGE);
	/* cumulative over several chunks */
	assert_int_equal(chunk_rc("6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n", 10), HPC_ETOO_LARGE);
	/* huge declared size */
	assert_int_equal(chunk_rc("fffffffffffffff\r\n", 1 << 20), HPC_ETOO_LARGE);
	assert_int_equal(chunk_rc("1\r\nx\r\n0\r\n\r\n", 0), HPC_ETOO_LARGE);

	/* a big body streamed in pieces: fine at the limit, refused past it */
	size_t chunks = 64, csz = 1000;
	size_t cap = chunks * (csz + 16) + 16;
	char *in = malloc(cap), *out = malloc(chunks * csz + 1);
	size_t n = 0;
	for (size_t i = 0; i < chunks; i++) {
		n += (size_t)sprintf(in + n, "%zx\r\n", csz);
		memset(in + n, 'a' + (int)(i % 26), csz);
		n += csz;
		memcpy(in + n, "\r\n", 2);
		n += 2;
	}
	memcpy(in + n, "0\r\n\r\n", 5);
	n += 5;
	size_t cuts[300], nc = 0;
	for (size_t k = 777; k < n && nc < 300; k += 777)
		cuts[nc++] = k;
	size_t olen, used;
	assert_int_equal(chunk_pieces(in, n, cuts, nc, chunks * csz, out, &olen, &used), HPC_DONE);
	assert_int_equal(olen, chunks * csz);
	assert_int_equal(used, n);
	assert_int_equal(out[0], 'a');
	assert_int_equal(out[chunks * csz - 1], 'a' + (int)((chunks - 1) % 26));
	assert_int_equal(chunk_pieces(in, n, cuts, nc, chunks * csz - 1, out, &olen, &used),
			 HPC_ETOO_LARGE);
	free(in);
	free(out);
}

static void test_chunked_sticky_states(void **state)
{
	hp_chunked c;
	char b[64];
	size_t len, used;

	hp_chunked_init(&c, 100);
	memcpy(b, "1\r\nx\r\n0\r\n\r\nrest", 15);
	len = 15;
	assert_int_equal(hp_chunked_decode(&c, b, &len, &used), HPC_DONE);
	assert_int_equal(len, 1);
	assert_int_equal(used, 11);
	assert_true(c.total == 1);
	len = 4;
	assert_int_equal(hp_chunked_decode(&c, b + 11, &len, &used), HPC_DONE);
	assert_int_equal(len, 0);
	assert_int_equal(used, 0);

	hp_chunked_init(&c, 100);
	memcpy(b, "z\r\n", 3);
	len = 3;
	assert_int_equal(hp_chunked_decode(&c, b, &len, &used), HPC_EBAD);
	memcpy(b, "0\r\n\r\n", 5);
	len = 5;
	assert_int_equal(hp_chunked_decode(&c, b, &len, &used), HPC_EBAD);

	hp_chunked_init(&c, 1);
	memcpy(b, "2\r\n", 3);
	len = 3;
	assert_int_equal(hp_chunked_decode(&c, b, &len, &used), HPC_ETOO_LARGE);
	len = 3;
	assert_int_equal(hp_chunked_decode(&c, b, &len, &used), HPC_ETOO_LARGE);

	/* an empty slice is simply AGAIN */
	hp_chunked_init(&c, 100);
	len = 0;
	assert_int_equal(hp_chunked_decode(&c, b, &len, &used), HPC_AGAIN);
	assert_int_equal(used, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_post_content_length),
		cmocka_unit_test(test_chunked_head),
		cmocka_unit_test(test_query_split),
		cmocka_unit_test(test_target_forms),
		cmocka_unit_test(test_host_syntax),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_upgrade_websocket),
		cmocka_unit_test(test_ows_trimmed),
		cmocka_unit_test(test_leading_crlf_skipped),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_again_on_every_prefix),
		cmocka_unit_test(test_buffer_not_written),
		cmocka_unit_test(test_incremental_matches_one_shot),
		cmocka_unit_test(test_expected_codes_of_incremental_cases),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_max_head),
		cmocka_unit_test(test_max_uri),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_bad_method),
		cmocka_unit_test(test_bad_target),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_obs_fold),
		cmocka_unit_test(test_bad_header_name),
		cmocka_unit_test(test_bad_header_value),
		cmocka_unit_test(test_content_length_values),
		cmocka_unit_test(test_content_length_smuggling),
		cmocka_unit_test(test_cl_and_te),
		cmocka_unit_test(test_bad_transfer_encoding),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_has_token),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_chunked_simple),
		cmocka_unit_test(test_chunked_ext_trailers_pipelined),
		cmocka_unit_test(test_chunked_split_everywhere),
		cmocka_unit_test(test_chunked_expected_results),
		cmocka_unit_test(test_chunked_errors),
		cmocka_unit_test(test_chunked_line_limits),
		cmocka_unit_test(test_chunked_too_large),
		cmocka_unit_test(test_chunked_sticky_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
