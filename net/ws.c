/* ws — WebSocket connections (RFC 6455) on top of wslay's event API.
 *
 * wslay does the framing, masking, fragmentation, control frames, UTF-8
 * validation of text (close 1007) and the message size limit (close 1009).
 * What we add: the handshake, Origin/auth policy hooks, pings and dead-peer
 * detection, a bound on each connection's send queue, and memory that
 * follows activity.
 *
 * Memory: a wslay event context is ≈9 KB (two 4 KB frame buffers). Holding
 * one per idle connection would cost more than everything else we keep for
 * it, so the context is created when bytes arrive or a frame must be sent,
 * and freed again as soon as the connection is idle at a frame boundary:
 * nothing queued to send, no partial frame or fragmented message received,
 * no close in progress. We know we are at a boundary by counting the bytes
 * fed to wslay against the sizes of the frames it reported (header length
 * follows from the payload length; client frames always carry a 4-byte
 * mask). Measured effect in docs/performance.md.
 */
#include "net/http.h"
#include "net/conn_priv.h"
#include "core/crypto.h"
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_OUT_CAP (256 * 1024)   /* bytes moved from wslay's queue to the socket buffer at a time */
#define WS_READ_CHUNK (64 * 1024)
#define WS_READS_PER_WAKE 4

/* Feeds wslay from what ws_on_io read (one read() per wake-up, into the
 * loop's scratch buffer): when that is used up, "would block" without
 * another syscall. */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *data, size_t len, int flags,
		       void *user)
{
	http_conn *c = user;
	ws_state *ws = c->ws;
	const char *src;
	size_t avail;
	if (c->in.len) {   /* bytes that arrived with the upgrade request */
		src = c->in.data;
		avail = c->in.len;
	} else if (ws->rlen) {
		src = ws->rbuf;
		avail = ws->rlen;
	} else {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	size_t n = avail < len ? avail : len;
	memcpy(data, src, n);
	if (c->in.len) {
		buf_consume(&c->in, n);
		if (!c->in.len)
			buf_free(&c->in);
	} else {
		ws->rbuf += n;
		ws->rlen -= n;
	}
	ws->fed += n;
	return (ssize_t)n;
}

/* Frames go into the connection's output buffer, written with one write()
 * per pump: a frame's header and payload (and several frames) leave in one
 * syscall instead of two per frame. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		       void *user)
{
	http_conn *c = user;
	if (c->out.len >= WS_OUT_CAP || buf_append(&c->out, data, len) < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return (ssize_t)len;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *out, size_t len, void *user)
{
	return crypto_random(out, len) == 0 ? 0 : -1;
}

static void frame_start_cb(wslay_event_context_ptr ctx,
			   const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	http_conn *c = user;
	uint64_t n = arg->payload_length;
	c->ws->framed += 2 + 4 + (n < 126 ? 0 : n <= 0xFFFF ? 2 : 8);
	bool data = arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME ||
		    arg->opcode == WSLAY_CONTINUATION_FRAME;
	if (data)
		c->ws->in_frag = !arg->fin;
}

static void frame_chunk_cb(wslay_event_context_ptr ctx,
			   const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user)
{
	http_conn *c = user;
	c->ws->framed += arg->data_length;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		   void *user)
{
	http_conn *c = user;
	ws_state *ws = c->ws;
	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
		conn_count(c, CNT_WS_IN);
		if (!ws->closing && ws->h->on_message)
			ws->h->on_message(c, ws->user, (const char *)arg->msg, arg->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		ws_close(c, 1003, "binary frames are not supported");
		break;
	case WSLAY_PONG:
		ws->ping_out = false;
		break;
	case WSLAY_CONNECTION_CLOSE:
		ws->closing = true;
		break;
	default:
		break;
	}
}

static const struct wslay_event_callbacks callbacks = {
	.recv_callback = recv_cb,
	.send_callback = send_cb,
	.genmask_callback = genmask_cb,
	.on_frame_recv_start_callback = frame_start_cb,
	.on_frame_recv_chunk_callback = frame_chunk_cb,
	.on_msg_recv_callback = msg_cb,
};

static int ensure_ctx(http_conn *c)
{
	ws_state *ws = c->ws;
	if (ws->ctx)
		return 0;
	if (wslay_event_context_server_init(&ws->ctx, &callbacks, c) != 0) {
		ws->ctx = NULL;
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(ws->ctx, conn_opts(c)->ws_max_message);
	ws->fed = ws->framed = 0;
	return 0;
}

/* Frees the wslay context when the connection is idle at a frame boundary. */
static void maybe_release(http_conn *c)
{
	ws_state *ws = c->ws;
	if (!ws->ctx || ws->in_wslay || ws->closing || ws->in_frag || ws->fed != ws->framed || c->in.len ||
	    c->out.len)
		return;
	if (wslay_event_want_write(ws->ctx) || wslay_event_get_queued_msg_count(ws->ctx))
		return;
	if (wslay_event_get_close_sent(ws->ctx) || wslay_event_get_close_received(ws->ctx))
		return;
	wslay_event_context_free(ws->ctx);
	ws->ctx = NULL;
}

/* Writes what wslay has queued and re-arms the watcher; may kill c. */
static void pump(http_conn *c)
{
	ws_state *ws = c->ws;
	if (c->dead || !ws->ctx || ws->in_wslay)
		return;   /* inside a wslay callback: the caller pumps afterwards */
	int rc = 0;
	if (wslay_event_want_write(ws->ctx) && c->out.len < WS_OUT_CAP) {
		ws->in_wslay = true;
		rc = wslay_event_send(ws->ctx);
		ws->in_wslay = false;
	}
	if (rc != 0 || c->dead || conn_write_out(c) < 0) {
		conn_kill(c);
		return;
	}
	bool r = wslay_event_want_read(ws->ctx);
	bool w = c->out.len || wslay_event_want_write(ws->ctx);
	if (!r && !w) {   /* close handshake finished (or failed) */
		conn_kill(c);
		return;
	}
	/* a quiesced connection reads again only to finish the close handshake */
	if (c->draining && !ws->closing)
		r = false;
	conn_watch(c, (r ? EV_READ : 0) | (w ? EV_WRITE : 0));
	maybe_release(c);
}

void ws_on_io(http_conn *c, int revents)
{
	ws_state *ws = c->ws;
	if (ensure_ctx(c) < 0) {
		conn_kill(c);
		return;
	}
	if (revents & EV_READ) {
		char *scratch = c->ls->scratch;
		for (int i = 0; i < WS_READS_PER_WAKE; i++) {
			ssize_t n = c->in.len ? 0 : read(c->fd, scratch, WS_READ_CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				ws->eof = true;
			if (n == 0 && !c->in.len)
				ws->eof = true;
			if (n > 0) {
				ws->rbuf = scratch;
				ws->rlen = (size_t)n;
				ws->last_seen = ev_now(c->ls->loop->ev);
			}
			ws->in_wslay = true;
			int rc = wslay_event_recv(ws->ctx);
			ws->in_wslay = false;
			ws->rbuf = NULL;
			ws->rlen = 0;   /* anything wslay did not take follows a close: dropped */
			if (rc != 0 || ws->eof || c->dead) {
				conn_kill(c);
				return;
			}
			if (n < WS_READ_CHUNK)
				break;
		}
	}
	pump(c);
}

void ws_on_timer(http_conn *c)
{
	ws_state *ws = c->ws;
	ev_tstamp now = ev_now(c->ls->loop->ev);
	const http_opts *o = conn_opts(c);
	if (!ws->ready && now - ws->opened >= o->ws_auth_timeout) {
		ws_close(c, 1008, "authentication required");
		return;
	}
	if (ws->closing) {   /* the peer did not finish the close handshake */
		conn_kill(c);
		return;
	}
	if (ws->ping_out && now - ws->last_seen >= o->ws_ping_interval) {
		log_debug("ws.dead", "slot=%u", c->slot);
		conn_kill(c);
		return;
	}
	if (now - ws->last_seen >= o->ws_ping_interval * 0.9) {
		if (ensure_ctx(c) < 0) {
			conn_kill(c);
			return;
		}
		struct wslay_event_msg m = { WSLAY_PING, (const uint8_t *)"", 0 };
		wslay_event_queue_msg(ws->ctx, &m);
		ws->ping_out = true;
		pump(c);
	}
	double next = o->ws_ping_interval;
	if (!ws->ready && o->ws_auth_timeout < next)
		next = o->ws_auth_timeout;
	c->timer.repeat = next;
	ev_timer_again(c->ls->loop->ev, &c->timer);
}

int ws_accept(http_req *req, const ws_handlers *h, void *user)
{
	http_conn *c = req->conn;
	const hp_str *key = http_header(req, "Sec-WebSocket-Key");
	const hp_str *ver = http_header(req, "Sec-WebSocket-Version");
	bool is_get = req->head.method.len == 3 && memcmp(req->head.method.p, "GET", 3) == 0;
	if (!req->head.upgrade_websocket || !is_get || req->head.minor_version != 1) {
		http_respond_error(req, 426, "upgrade_required", "a WebSocket upgrade is required", NULL);
		return -1;
	}
	if (!ver || ver->len != 2 || memcmp(ver->p, "13", 2) != 0) {
		static const char body[] =
			"{\"error\":{\"code\":\"unsupported_version\",\"message\":\"WebSocket version 13 required\"}}";
		http_respond(req, 426, "application/json", body, sizeof body - 1, "Sec-WebSocket-Version: 13\r\n");
		return -1;
	}
	/* the key is standard base64 of 16 random bytes: 22 chars + "==" */
	uint8_t raw[32];
	char tmp[24];
	bool key_ok = key && key->len == 24;
	if (key_ok) {
		for (int i = 0; i < 24; i++)
			tmp[i] = key->p[i] == '+' ? '-' : key->p[i] == '/' ? '_' : key->p[i];
		key_ok = crypto_b64url_decode(tmp, 24, raw, sizeof raw) == 16;
	}
	if (!key_ok) {
		http_respond_error(req, 400, "bad_request", "invalid Sec-WebSocket-Key", NULL);
		return -1;
	}
	ws_state *ws = calloc(1, sizeof *ws);
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

	/* drop the request bytes; anything after them is already WebSocket data */
	buf_consume(&c->in, c->raw_pos);
	if (!c->in.len)
		buf_free(&c->in);
	c->raw_pos = c->head_len = c->body_len = 0;
	req->answered = true;
	free((void *)req->body);
	free(req);
	c->req = NULL;

	ws->h = h;
	ws->user = user;
	ws->opened = ws->last_seen = ev_now(c->ls->loop->ev);
	c->ws = ws;
	c->state = C_WS;
	conn_count(c, CNT_WS_UPGRADES);
	buf_printf(&c->out,
		   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		   "Sec-WebSocket-Accept: %s\r\nServer: %s\r\n\r\n", accept, conn_opts(c)->server_name);
	/* the 101 is small: it fits the fresh socket's buffer */
	ssize_t n = write(c->fd, c->out.data, c->out.len);
	if (n != (ssize_t)c->out.len) {
		buf_free(&c->out);
		conn_kill(c);
		return 0;
	}
	buf_free(&c->out);
	const http_opts *o = conn_opts(c);
	c->timer.repeat = o->ws_auth_timeout < o->ws_ping_interval ? o->ws_auth_timeout : o->ws_ping_interval;
	ev_timer_again(c->ls->loop->ev, &c->timer);
	conn_watch(c, EV_READ);
	if (c->in.len) {   /* frames pipelined behind the upgrade */
		ws_on_io(c, EV_READ);
	}
	return 0;
}

int ws_queue(http_conn *c, const char *data, size_t len)
{
	if (c->dead || !c->ws || c->ws->closing)
		return -1;
	if (ensure_ctx(c) < 0) {
		conn_kill(c);
		return -1;
	}
	wslay_event_context_ptr ctx = c->ws->ctx;
	if (wslay_event_get_queued_msg_length(ctx) + c->out.len + len > conn_opts(c)->ws_send_queue) {
		/* a slow reader: drop it rather than grow; it resumes on reconnect */
		conn_count(c, CNT_WS_DROPPED);
		log_info("ws.slow_reader", "slot=%u queued=%zu", c->slot,
			 wslay_event_get_queued_msg_length(ctx) + c->out.len);
		conn_kill(c);
		return -1;
	}
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, (const uint8_t *)data, len };
	if (wslay_event_queue_msg(ctx, &m) != 0) {
		conn_kill(c);
		return -1;
	}
	conn_count(c, CNT_WS_OUT);
	return 0;
}

size_t ws_queued_bytes(http_conn *c)
{
	if (!c->ws || !c->ws->ctx)
		return c->out.len;
	return wslay_event_get_queued_msg_length(c->ws->ctx) + c->out.len;
}

void ws_flush(http_conn *c)
{
	if (!c->dead && c->ws)
		pump(c);
}

int ws_send(http_conn *c, const char *data, size_t len)
{
	if (ws_queue(c, data, len) < 0)
		return -1;
	pump(c);
	return c->dead ? -1 : 0;
}

void ws_set_ready(http_conn *c)
{
	if (!c->ws)
		return;
	c->ws->ready = true;
	c->timer.repeat = conn_opts(c)->ws_ping_interval;
	ev_timer_again(c->ls->loop->ev, &c->timer);
}

void ws_close(http_conn *c, int code, const char *why)
{
	if (c->dead || !c->ws || c->ws->closing)
		return;
	if (ensure_ctx(c) < 0) {
		conn_kill(c);
		return;
	}
	/* wslay sends control frames ahead of queued data: move the data that
	 * is already queued (e.g. acks of this task batch) to the output first */
	ws_state *ws = c->ws;
	if (!ws->in_wslay && wslay_event_want_write(ws->ctx) && c->out.len < WS_OUT_CAP) {
		ws->in_wslay = true;
		int rc = wslay_event_send(ws->ctx);
		ws->in_wslay = false;
		if (rc != 0) {
			conn_kill(c);
			return;
		}
	}
	c->ws->closing = true;
	wslay_event_queue_close(c->ws->ctx, (uint16_t)code, (const uint8_t *)why, why ? strlen(why) : 0);
	c->timer.repeat = 2.0;   /* give the peer 2 s to answer the close */
	ev_timer_again(c->ls->loop->ev, &c->timer);
	pump(c);
}

void ws_shutdown(http_conn *c)
{
	ws_close(c, 1001, "server going away");
	if (!c->dead && c->ws && !c->ws->ctx)
		conn_kill(c);
}

void ws_quiesce(http_conn *c)
{
	/* stop taking frames; keep writing what is queued */
	conn_watch(c, c->writing ? EV_WRITE : 0);
}

conn_ref ws_ref(http_conn *c)
{
	return (conn_ref){ (uint32_t)c->ls->loop->index, c->slot, c->gen, 0 };
}

void ws_free(http_conn *c)
{
	ws_state *ws = c->ws;
	if (ws->h->on_close)
		ws->h->on_close(c, ws->user);
	if (ws->ctx)
		wslay_event_context_free(ws->ctx);
	free(ws);
	c->ws = NULL;
}
