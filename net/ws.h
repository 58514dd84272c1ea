/* ws — WebSocket connections (RFC 6455) over net/conn.h.
 *
 * ws_accept() answers an upgrade request (the handshake) and swaps the
 * connection's protocol from HTTP to this one. Frames are parsed by
 * net/ws_frame.h straight from the loop's shared read buffer, so a
 * connection holds no input buffer between frames; outgoing frames are
 * written into the connection's output, header and payload together, and
 * leave in one write() per event or task batch.
 *
 * What this layer adds to the framing: Origin/auth policy hooks (the
 * app's), an auth deadline (close 1008 until ws_set_ready), a frame
 * deadline (a frame must complete within ws_frame_timeout of its first
 * byte: close 1008), pings and dead-peer detection (two intervals without
 * a byte), a bound on each connection's send queue (a reader that falls
 * that far behind is dropped and resumes on reconnect), and close frames
 * with the code for every protocol error (1002, 1007, 1009, 1003 for
 * binary messages), after which the connection waits at most 2 s for the
 * peer's close.
 */
#ifndef PARLEY_WS_H
#define PARLEY_WS_H

#include <stddef.h>
#include "core/rbuf.h"
#include "net/conn.h"
#include "net/http.h"

/* Callbacks, on the connection's loop thread. */
typedef struct {
	/* A complete text message (valid UTF-8, <= the max message size). */
	void (*on_message)(conn *c, void *user, const char *data, size_t len);
	/* The connection is gone; user must not be used by net afterwards. */
	void (*on_close)(conn *c, void *user);
} ws_handlers;

/* Upgrades the request's connection (RFC 6455 handshake); on success the
 * connection belongs to h with user. Returns 0, or answers 400/426 itself
 * and returns -1. */
int ws_accept(http_req *req, const ws_handlers *h, void *user);

/* Queues a text frame (loop thread); it leaves when the current event
 * returns. 0, or -1 if the connection was dropped (send queue full). */
int ws_send(conn *c, const char *data, size_t len);

/* Marks the connection authenticated: its auth deadline no longer applies. */
void ws_set_ready(conn *c);

/* Starts a close handshake with code and reason (loop thread). */
void ws_close(conn *c, int code, const char *reason);

/* Handle of this connection for posts from other threads. */
conn_ref ws_ref(conn *c);

/* Posts a text frame from any thread (takes a reference on b). */
void ws_post(http_server *s, conn_ref ref, rbuf *b);

/* Posts a close from any thread. */
void ws_post_close(http_server *s, conn_ref ref, int code);

#endif
