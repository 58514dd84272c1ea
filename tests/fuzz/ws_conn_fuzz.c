/* Fuzz target: the WebSocket read path through the real connection code.
 *
 * Per input (see net_harness.h): a server with one route, GET /ws, that
 * accepts the upgrade with handlers echoing every text message (ws_send);
 * a client on a socketpair sends a valid upgrade request, then the fuzz
 * bytes in pieces, the loop running between pieces.
 *
 * Input: byte 0 = options, byte 1 = seed of the piece sizes, the rest =
 * the client's bytes after the upgrade request.
 *   bits 0-2  largest piece: 1, 2, 3, 7, 16, 64, 512, 4096 bytes
 *   bit 3     the first piece goes in the same write as the upgrade request
 *             (frames pipelined behind the handshake)
 *   bits 4-5  the end: 0 end of stream; 1 server shutdown (close 1001),
 *             then end of stream; 2 quiesce half-way (reading stops), the
 *             rest sent, then shutdown (the rest is read while closing);
 *             3 the server is freed with the connection open
 *   bit 6     ws_max_message 125 instead of 4096
 *   bit 7     ws_send_queue 64 bytes: echoing drops the slow reader
 *
 * Checks: the server's output is a 101 with the right Sec-WebSocket-Accept
 * and then well-formed server frames (FIN, unmasked, no RSV, shortest
 * length form, known opcodes, control payloads <= 125, close codes valid,
 * UTF-8 text and close reasons, nothing after a close); and it is exactly
 * what a model of the connection predicts from the client bytes (echoes,
 * pongs, the close for each error, 1003 for binary, the close echo, 1001
 * at shutdown) — a prefix of it when the slow-reader limit may cut it off.
 * The app's on_close runs exactly once; nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws.h"
#include "net/ws_frame.h"
#include "net_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char upgrade_req[] =
	"GET /ws HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
static const char accept_hdr[] = "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";
static const size_t piece_max[8] = { 1, 2, 3, 7, 16, 64, 512, 4096 };

/* ---------- frame lists ---------- */

typedef struct {
	uint8_t op;
	uint16_t code;      /* CLOSE: the code, WSF_CLOSE_NO_STATUS for none */
	size_t len, off;    /* payload in pool (TEXT, PONG) */
} frm;

typedef struct {
	frm *f;
	size_t n, cap;
	buf pool;
} frames;

static void fr_add(frames *fs, uint8_t op, uint16_t code, const void *d, size_t len)
{
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 32;
		fs->f = realloc(fs->f, fs->cap * sizeof *fs->f);
		CHECK(fs->f);
	}
	fs->f[fs->n++] = (frm){ op, code, len, fs->pool.len };
	CHECK(!len || buf_append(&fs->pool, d, len) == 0);
}

static void fr_free(frames *fs)
{
	free(fs->f);
	buf_free(&fs->pool);
	memset(fs, 0, sizeof *fs);
}

/* ---------- the model: what net/ws.c answers to a client stream ---------- */

typedef struct {
	wsf_parser p;
	bool closing;       /* the server sent its close */
	bool close_rcvd;    /* the client's close was read (the connection then ends) */
	bool failed;        /* a protocol error: the rest is discarded */
	frames want;
} model;

static void m_close(model *m, unsigned code)
{
	if (m->closing)
		return;
	m->closing = true;
	fr_add(&m->want, WSF_OP_CLOSE, (uint16_t)code, NULL, 0);
}

static void m_feed(model *m, const uint8_t *in, size_t n)
{
	while (n && !m->close_rcvd && !m->failed) {
		size_t used;
		wsf_event ev;
		int rc = wsf_parse(&m->p, in, n, &used, &ev);
		if (rc < 0) {
			m->failed = true;
			m_close(m, (unsigned)-rc);
			return;
		}
		in += used;
		n -= used;
		if (rc != WSF_EVENT)
			continue;
		switch (ev.opcode) {
		case WSF_OP_TEXT:
			if (!m->closing)
				fr_add(&m->want, WSF_OP_TEXT, 0, ev.data, ev.len);
			break;
		case WSF_OP_BINARY:
			m_close(m, WSF_CLOSE_UNSUPPORTED);
			break;
		case WSF_OP_PING:
			if (!m->closing)
				fr_add(&m->want, WSF_OP_PONG, 0, ev.data, ev.len);
			break;
		case WSF_OP_CLOSE:
			m->close_rcvd = true;
			m_close(m, ev.close_code);
			break;
		}
	}
}

/* ---------- the server's output ---------- */

/* Parses and checks what the server wrote after the handshake. */
static void parse_server(const uint8_t *s, size_t n, size_t max_message, frames *got)
{
	size_t pos = 0;
	bool closed = false;
	while (pos < n) {
		CHECK(!closed);                          /* nothing after a close */
		CHECK(n - pos >= 2);
		uint8_t b0 = s[pos], b1 = s[pos + 1];
		uint8_t op = b0 & 0x0F;
		CHECK((b0 & 0xF0) == 0x80);              /* FIN, no RSV */
		CHECK(!(b1 & 0x80));                     /* servers do not mask */
		uint64_t len = b1 & 0x7F;
		size_t hl = 2;
		if (len == 126) {
			CHECK(n - pos >= 4);
			len = (uint64_t)s[pos + 2] << 8 | s[pos + 3];
			CHECK(len >= 126);
			hl = 4;
		} else if (len == 127) {
			CHECK(n - pos >= 10);
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | s[pos + 2 + i];
			CHECK(len > 0xFFFF && !(len >> 63));
			hl = 10;
		}
		CHECK(len <= n - pos - hl);              /* whole frames only */
		const uint8_t *pl = s + pos + hl;
		switch (op) {
		case WSF_OP_TEXT:
			CHECK(len <= max_message);
			CHECK(wsf_utf8_valid(pl, (size_t)len));
			fr_add(got, op, 0, pl, (size_t)len);
			break;
		case WSF_OP_PING:
		case WSF_OP_PONG:
			CHECK(len <= 125);
			fr_add(got, op, 0, pl, (size_t)len);
			break;
		case WSF_OP_CLOSE:
			CHECK(len <= 125 && len != 1);
			if (len == 0) {
				fr_add(got, op, WSF_CLOSE_NO_STATUS, NULL, 0);
			} else {
				unsigned code = (unsigned)pl[0] << 8 | pl[1];
				CHECK(wsf_close_code_valid(code));
				CHECK(wsf_utf8_valid(pl + 2, (size_t)len - 2));
				fr_add(got, op, (uint16_t)code, NULL, 0);
			}
			closed = true;
			break;
		default:
			CHECK(0);                            /* no binary, no reserved opcodes */
		}
		pos += hl + (size_t)len;
	}
}

/* ---------- the app ---------- */

static int opened, closed_cb;
static size_t cur_max;

static void on_message(conn *c, void *user, const char *d, size_t len)
{
	CHECK(user == &opened);
	CHECK(len <= cur_max && wsf_utf8_valid((const uint8_t *)d, len));
	ws_send(c, d, len);
}

static void on_close(conn *c, void *user)
{
	CHECK(user == &opened);
	closed_cb++;
}

static const ws_handlers handlers = { on_message, on_close };

static void ws_route(http_req *req)
{
	if (ws_accept(req, &handlers, &opened) == 0)
		opened++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t opt = data[0];
	nh_pieces pc = { 0x9E3779B9u ^ ((uint32_t)data[1] * 0x01000193u), piece_max[opt & 7] };
	bool coalesce = opt & 8;
	int end = (opt >> 4) & 3;
	bool slow = opt & 0x80;
	const uint8_t *in = data + 2;
	size_t n = size - 2;
	if (n > 65536)
		n = 65536;

	http_opts o;
	http_opts_default(&o);
	o.max_head = 1024;
	o.max_uri = 256;
	o.max_body = 1024;
	o.ws_max_message = cur_max = (opt & 0x40) ? 125 : 4096;
	o.ws_send_queue = slow ? 64 : 1 << 20;
	o.server_name = "fuzz";
	opened = closed_cb = 0;

	nh h;
	nh_init(&h, &o);
	CHECK(http_route(h.srv, "GET", "/ws", 0, ws_route, NULL) == 0);
	nh_connect(&h);

	model m;
	memset(&m, 0, sizeof m);
	wsf_init(&m.p, o.ws_max_message);

	/* the handshake (with the first piece behind it, or alone) */
	size_t pos = 0;
	if (coalesce) {
		size_t k = nh_next_piece(&pc);
		if (k > n)
			k = n;
		buf first = { 0 };
		buf_append(&first, upgrade_req, sizeof upgrade_req - 1);
		buf_append(&first, in, k);
		nh_send(&h, first.data, first.len);
		buf_free(&first);
		m_feed(&m, in, k);
		pos = k;
	} else {
		nh_send(&h, upgrade_req, sizeof upgrade_req - 1);
	}
	nh_pump(&h);
	CHECK(opened == 1);

	/* the rest in pieces */
	bool paused = false;
	while (pos < n) {
		if (end == 2 && pos >= n / 2) {
			/* phase 1 of a stop: the server reads no more; the rest waits
			 * in the socket (in one write: it is not being read) */
			http_server_quiesce(h.srv);
			nh_pump(&h);
			nh_send(&h, in + pos, n - pos);
			nh_pump(&h);
			paused = true;
			break;
		}
		size_t k = nh_next_piece(&pc);
		if (k > n - pos)
			k = n - pos;
		nh_send(&h, in + pos, k);
		nh_pump(&h);
		m_feed(&m, in + pos, k);
		pos += k;
	}

	if (end == 1 || end == 2) {
		http_server_shutdown(h.srv);
		nh_pump(&h);
		if (!m.close_rcvd)
			m_close(&m, WSF_CLOSE_GOING_AWAY);
		if (paused)   /* read now, while closing */
			m_feed(&m, in + pos, n - pos);
	}
	if (end != 3) {
		nh_shut_write(&h);
		nh_pump(&h);
	}

	nh_trace(&h);
	/* the handshake answer, then frames */
	const char *out = h.out.data ? h.out.data : "";
	static const char status[] = "HTTP/1.1 101 Switching Protocols\r\n";
	CHECK(h.out.len >= sizeof status - 1 && memcmp(out, status, sizeof status - 1) == 0);
	const char *eoh = strstr(out, "\r\n\r\n");
	CHECK(eoh);
	size_t hlen = (size_t)(eoh - out) + 4;
	CHECK(memmem(out, hlen, accept_hdr, sizeof accept_hdr - 1));
	frames got = { 0 };
	parse_server((const uint8_t *)out + hlen, h.out.len - hlen, o.ws_max_message, &got);

	/* exactly the model's frames (a prefix when the slow reader was dropped) */
	if (slow)
		CHECK(got.n <= m.want.n);
	else
		CHECK(got.n == m.want.n);
	for (size_t i = 0; i < got.n; i++) {
		const frm *a = &got.f[i], *b = &m.want.f[i];
		CHECK(a->op == b->op && a->code == b->code && a->len == b->len);
		CHECK(a->len == 0 || memcmp(got.pool.data + a->off, m.want.pool.data + b->off, a->len) == 0);
	}
	fr_free(&got);
	fr_free(&m.want);
	wsf_free(&m.p);

	nh_free(&h);
	CHECK(closed_cb == 1);
	return 0;
}
