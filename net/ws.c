/* ws — WebSocket connections over net/conn.h (see ws.h).
 *
 * Input: each read lands in the loop's shared scratch buffer and goes
 * through the connection's wsf_parser, which keeps a partial frame's
 * header in its state and its payload in the message being assembled — so
 * a frame split over any number of reads, at any byte, is one frame.
 * Output: frames are written into c->out (header and payload together)
 * and leave when the event or task batch returns.
 *
 * Closing: a close we start (ws_close, a protocol error, shutdown) is
 * queued behind the data already queued. After sending it we keep reading
 * (discarding data) until the peer's close or end of stream, for at most
 * 2 s, so the peer reads our close frame instead of a reset.
 */
#include "net/ws.h"
#include "net/ws_frame.h"
#include "core/crypto.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_READS_PER_WAKE 4
#define WS_FLUSH_AT 16384      /* queued bytes worth a write before the batch ends */
#define WS_CLOSE_WAIT 2.0      /* s the peer has to answer our close */

typedef struct {
	wsf_parser p;
	const ws_handlers *h;
	void *user;
	double opened;
	double last_seen;         /* last byte received */
	double ping_sent;
	double frame_start;       /* first byte of the frame in progress, 0 if none */
	double close_at;          /* give up on the peer's close then */
	double timer_at;          /* when the timer is armed for, 0 if not */
	bool ready;               /* the app authenticated the connection */
	bool ping_out;            /* a ping is unanswered */
	bool closing;             /* we sent a close */
	bool close_rcvd;          /* the peer sent a close */
} wsconn;

static const conn_proto ws_proto;

static inline wsconn *W(conn *c)
{
	return c->pd;
}

static inline http_server *SRV(conn *c)
{
	return conn_ctx(c);
}

static inline const http_opts *OPTS(conn *c)
{
	return http_server_opts(SRV(c));
}

/* ---------- timer: the earliest of the connection's deadlines ---------- */

static double next_deadline(conn *c)
{
	wsconn *ws = W(c);
	const http_opts *o = OPTS(c);
	double at;
	if (ws->closing)
		return ws->close_at;
	at = ws->ping_out ? ws->ping_sent + o->ws_ping_interval : ws->last_seen + o->ws_ping_interval * 0.9;
	if (!ws->ready && ws->opened + o->ws_auth_timeout < at)
		at = ws->opened + o->ws_auth_timeout;
	if (ws->frame_start && ws->frame_start + o->ws_frame_timeout < at)
		at = ws->frame_start + o->ws_frame_timeout;
	return at;
}

/* Arms the timer for the next deadline when it is earlier than the armed
 * one (or always, with force). A later deadline is found when the timer
 * fires: one spare wake-up instead of a re-arm per read. */
static void arm(conn *c, bool force)
{
	wsconn *ws = W(c);
	if (c->dead)
		return;
	double at = next_deadline(c);
	if (!force && ws->timer_at && ws->timer_at <= at)
		return;
	ws->timer_at = at;
	double now = conn_now(c);
	conn_set_timer(c, at > now ? at - now : 0.001);
}

/* ---------- output ---------- */

static int put_frame(conn *c, int opcode, const void *data, size_t len)
{
	uint8_t hdr[10];
	size_t hl = wsf_header(hdr, opcode, len);
	if (conn_write(c, hdr, hl) < 0 || (len && conn_write(c, data, len) < 0)) {
		conn_kill(c);
		return -1;
	}
	return 0;
}

static void send_close(conn *c, int code, const char *why)
{
	wsconn *ws = W(c);
	if (c->dead || ws->closing)
		return;
	uint8_t body[125];
	size_t n = 0;
	if (code && code != WSF_CLOSE_NO_STATUS) {
		body[0] = (uint8_t)(code >> 8);
		body[1] = (uint8_t)code;
		n = 2;
		size_t wl = why ? strlen(why) : 0;
		if (wl > sizeof body - 2)
			wl = sizeof body - 2;
		if (wl)
			memcpy(body + 2, why, wl);
		n += wl;
	}
	ws->closing = true;
	if (put_frame(c, WSF_OP_CLOSE, body, n) < 0)
		return;
	if (ws->close_rcvd) {
		c->close_after_write = true;   /* handshake complete */
		return;
	}
	ws->close_at = conn_now(c) + WS_CLOSE_WAIT;
	arm(c, true);
}

void ws_close(conn *c, int code, const char *why)
{
	if (c->dead || c->proto != &ws_proto)
		return;
	send_close(c, code, why);
}

static int queue_text(conn *c, const char *data, size_t len)
{
	if (c->dead || c->proto != &ws_proto || W(c)->closing)
		return -1;
	size_t queued = conn_pending(c);
	if (queued + len > OPTS(c)->ws_send_queue) {
		/* a slow reader: drop it rather than grow; it resumes on reconnect */
		http_server_count(SRV(c), HTTP_CNT_WS_DROPPED);
		log_info("ws.slow_reader", "slot=%u queued=%zu", c->slot, queued);
		conn_kill(c);
		return -1;
	}
	if (put_frame(c, WSF_OP_TEXT, data, len) < 0)
		return -1;
	http_server_count(SRV(c), HTTP_CNT_WS_OUT);
	return 0;
}

int ws_send(conn *c, const char *data, size_t len)
{
	return queue_text(c, data, len);
}

void ws_set_ready(conn *c)
{
	if (c->dead || c->proto != &ws_proto)
		return;
	W(c)->ready = true;
}

conn_ref ws_ref(conn *c)
{
	conn_ref r = conn_ref_of(c);
	r.serial = 0;
	return r;
}

/* ---------- input ---------- */

static void on_event(conn *c, const wsf_event *ev)
{
	wsconn *ws = W(c);
	switch (ev->opcode) {
	case WSF_OP_TEXT:
		http_server_count(SRV(c), HTTP_CNT_WS_IN);
		if (!ws->closing && ws->h->on_message)
			ws->h->on_message(c, ws->user, (const char *)ev->data, ev->len);
		break;
	case WSF_OP_BINARY:
		send_close(c, WSF_CLOSE_UNSUPPORTED, "binary frames are not supported");
		break;
	case WSF_OP_PING:
		if (!ws->closing)
			put_frame(c, WSF_OP_PONG, ev->data, ev->len);
		break;
	case WSF_OP_PONG:
		ws->ping_out = false;
		break;
	case WSF_OP_CLOSE:
		ws->close_rcvd = true;
		if (ws->closing)
			c->close_after_write = true;   /* the answer to ours */
		else
			send_close(c, ev->close_code, NULL);   /* echo the code */
		break;
	}
}

/* Feeds n received bytes through the parser. */
static void feed(conn *c, const uint8_t *in, size_t n)
{
	wsconn *ws = W(c);
	while (n && !c->dead && !ws->close_rcvd) {
		if (ws->p.failed)
			return;   /* after a protocol error: discard until the peer closes */
		if (!wsf_mid_frame(&ws->p))
			ws->frame_start = 0;
		size_t used;
		wsf_event ev;
		int rc = wsf_parse(&ws->p, in, n, &used, &ev);
		if (rc < 0) {
			send_close(c, -rc, rc == WSF_EUTF8 ? "invalid UTF-8" :
					   rc == WSF_ETOO_BIG ? "message too big" : "protocol error");
			return;
		}
		if (wsf_mid_frame(&ws->p) && !ws->frame_start)
			ws->frame_start = conn_now(c);
		in += used;
		n -= used;
		if (rc == WSF_EVENT) {
			ws->frame_start = 0;
			on_event(c, &ev);
			if (!c->dead)
				wsf_release(&ws->p);   /* an idle connection keeps no message buffer */
		}
	}
	if (!wsf_mid_frame(&ws->p))
		ws->frame_start = 0;
}

static void on_read(conn *c)
{
	wsconn *ws = W(c);
	size_t cap;
	char *scratch = conn_scratch(c, &cap);
	for (int i = 0; i < WS_READS_PER_WAKE && !c->dead; i++) {
		if (c->in.len) {   /* bytes that arrived with the upgrade request */
			feed(c, (const uint8_t *)c->in.data, c->in.len);
			buf_free(&c->in);
			continue;
		}
		ssize_t n = conn_read(c, scratch, cap);
		if (n == -1)
			break;
		if (n <= 0) {
			conn_kill(c);   /* end of stream or error */
			return;
		}
		ws->last_seen = conn_now(c);
		feed(c, (const uint8_t *)scratch, (size_t)n);
		if ((size_t)n < cap)
			break;
	}
	if (!c->dead && ws->frame_start)
		arm(c, false);
}

static void on_timer(conn *c)
{
	wsconn *ws = W(c);
	const http_opts *o = OPTS(c);
	double now = conn_now(c);
	ws->timer_at = 0;
	if (ws->closing) {
		if (now >= ws->close_at) {   /* the peer did not finish the close handshake */
			conn_kill(c);
			return;
		}
	} else if (!ws->ready && now - ws->opened >= o->ws_auth_timeout) {
		send_close(c, WSF_CLOSE_POLICY, "authentication required");
		return;
	} else if (ws->frame_start && now - ws->frame_start >= o->ws_frame_timeout) {
		http_server_count(SRV(c), HTTP_CNT_TIMEOUTS);
		send_close(c, WSF_CLOSE_POLICY, "frame not completed in time");
		return;
	} else if (ws->ping_out && now - ws->ping_sent >= o->ws_ping_interval) {
		log_debug("ws.dead", "slot=%u", c->slot);
		conn_kill(c);
		return;
	} else if (!ws->ping_out && now - ws->last_seen >= o->ws_ping_interval * 0.9) {
		if (put_frame(c, WSF_OP_PING, NULL, 0) < 0)
			return;
		ws->ping_out = true;
		ws->ping_sent = now;
	}
	arm(c, true);
}

static void on_stop(conn *c, bool final)
{
	if (!final) {
		conn_want_read(c, false);   /* stop taking frames; keep writing what is queued */
		return;
	}
	send_close(c, WSF_CLOSE_GOING_AWAY, "server going away");
	conn_want_read(c, true);        /* to read the peer's close */
}

static void on_close(conn *c)
{
	wsconn *ws = W(c);
	if (!ws)
		return;
	if (ws->h->on_close)
		ws->h->on_close(c, ws->user);
	wsf_free(&ws->p);
	free(ws);
	c->pd = NULL;
}

static const conn_proto ws_proto = {
	.name = "ws",
	.on_read = on_read,
	.on_timer = on_timer,
	.on_stop = on_stop,
	.on_close = on_close,
};

/* ---------- handshake ---------- */

static size_t header_count(const http_req *req, const char *name)
{
	size_t n = 0, nl = strlen(name);
	for (size_t i = 0; i < req->head.num_headers; i++) {
		const hp_header *h = &req->head.headers[i];
		if (h->name.len == nl && strncasecmp(h->name.p, name, nl) == 0)
			n++;
	}
	return n;
}

int ws_accept(http_req *req, const ws_handlers *h, void *user)
{
	const hp_str *key = http_header(req, "Sec-WebSocket-Key");
	const hp_str *ver = http_header(req, "Sec-WebSocket-Version");
	bool is_get = req->head.method.len == 3 && memcmp(req->head.method.p, "GET", 3) == 0;
	if (!req->head.upgrade_websocket || !is_get || req->head.minor_version != 1) {
		http_respond_error(req, 426, "upgrade_required", "a WebSocket upgrade is required", NULL);
		return -1;
	}
	if (!ver || ver->len != 2 || memcmp(ver->p, "13", 2) != 0 ||
	    header_count(req, "Sec-WebSocket-Version") != 1) {
		static const char body[] =
			"{\"error\":{\"code\":\"unsupported_version\",\"message\":\"WebSocket version 13 required\"}}";
		http_respond(req, 426, "application/json", body, sizeof body - 1, "Sec-WebSocket-Version: 13\r\n");
		return -1;
	}
	/* exactly one key, standard base64 of 16 random bytes: 22 chars + "==" */
	uint8_t raw[32];
	char tmp[24];
	bool key_ok = key && key->len == 24 && header_count(req, "Sec-WebSocket-Key") == 1;
	if (key_ok) {
		for (int i = 0; i < 24; i++)
			tmp[i] = key->p[i] == '+' ? '-' : key->p[i] == '/' ? '_' : key->p[i];
		key_ok = crypto_b64url_decode(tmp, 24, raw, sizeof raw) == 16;
	}
	if (!key_ok) {
		http_respond_error(req, 400, "bad_request", "invalid Sec-WebSocket-Key", NULL);
		return -1;
	}
	wsconn *ws = calloc(1, sizeof *ws);
	if (!ws) {
		http_respond_error(req, 503, "busy", "out of memory", NULL);
		return -1;
	}
	char cat[24 + sizeof WS_GUID];
	memcpy(cat, key->p, 24);
	memcpy(cat + 24, WS_GUID, sizeof WS_GUID - 1);
	uint8_t sha[CRYPTO_SHA1_LEN];
	crypto_sha1(cat, 24 + sizeof WS_GUID - 1, sha);
	char accept[CRYPTO_B64_LEN(CRYPTO_SHA1_LEN) + 1];
	crypto_b64_encode(sha, sizeof sha, accept);

	http_server *srv = req->srv;
	const http_opts *o = http_server_opts(srv);
	conn *c = http_upgrade(req);   /* req is gone from here on */
	wsf_init(&ws->p, o->ws_max_message);
	ws->h = h;
	ws->user = user;
	ws->opened = ws->last_seen = conn_now(c);
	conn_set_proto(c, &ws_proto, ws);
	http_server_count(srv, HTTP_CNT_WS_UPGRADES);
	buf_printf(&c->out,
		   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		   "Sec-WebSocket-Accept: %s\r\nServer: %s\r\n\r\n", accept, o->server_name);
	if (conn_flush(c) < 0)
		return 0;   /* killed: on_close tells the app */
	arm(c, true);
	conn_want_read(c, true);
	if (c->in.len)   /* frames pipelined behind the upgrade */
		on_read(c);
	return 0;
}

/* ---------- posts from other threads ---------- */

typedef struct {
	conn_task t;
	rbuf *b;          /* NULL: close with code */
	int code;
} ws_task;

static void run_post(conn *c, conn_task *t)
{
	ws_task *wt = (ws_task *)t;
	if (c && c->proto == &ws_proto) {
		if (!wt->b)
			ws_close(c, wt->code, NULL);
		else if (queue_text(c, wt->b->data, wt->b->len) == 0 && conn_pending(c) >= WS_FLUSH_AT)
			conn_flush(c);   /* enough for one write already: do not let it pile up */
	}
	rbuf_unref(&wt->b);
	free(wt);
}

static void post(http_server *s, conn_ref ref, rbuf *b, int code)
{
	ws_task *wt = malloc(sizeof *wt);
	if (!wt)
		return;
	wt->t.ref = ref;
	wt->t.run = run_post;
	wt->b = b ? rbuf_ref(b) : NULL;
	wt->code = code;
	conn_post(http_server_conns(s), &wt->t);
}

void ws_post(http_server *s, conn_ref ref, rbuf *b)
{
	post(s, ref, b, 0);
}

void ws_post_close(http_server *s, conn_ref ref, int code)
{
	post(s, ref, NULL, code);
}
