/* bench_net — the client side of HTTP/1.1 and WebSocket for parley-bench.
 *
 * Two pieces:
 *   - http_client: a small *blocking* HTTP/1.1 client with keep-alive,
 *     Content-Length and chunked bodies, and poll() time-outs; used only in
 *     the (unmeasured) setup phase.
 *   - wsc: a non-blocking WebSocket client connection driven by a libev
 *     loop: connect with a time-out, upgrade (Sec-WebSocket-Accept is
 *     checked with BearSSL's SHA-1), masked client frames, server frames
 *     reassembled from partial reads (several per read are fine),
 *     continuation frames, ping -> pong, close -> close. Output that the
 *     socket does not take at once is queued and flushed on EV_WRITE. */
#ifndef PARLEY_BENCH_NET_H
#define PARLEY_BENCH_NET_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bbuf {
	char *data;
	size_t len;
	size_t cap;
};

int bbuf_reserve(struct bbuf *b, size_t extra);
int bbuf_append(struct bbuf *b, const void *p, size_t n);
void bbuf_free(struct bbuf *b);

/* Resolves host:port (numeric or name) into *out; 0 on success. */
int net_resolve(const char *host, int port, struct sockaddr_storage *out, socklen_t *outlen);
/* Parses "a,b,c" into up to max IPv4/IPv6 source addresses (port 0). */
int net_parse_sources(const char *list, struct sockaddr_storage *out, int max);
/* A non-blocking TCP socket with TCP_NODELAY, optionally bound to src
 * (IP_BIND_ADDRESS_NO_PORT so the port is picked at connect time), with
 * connect() started. Returns the fd or -1 (errno set). */
int net_connect_nb(const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src);

/* The value of header `name` (case-insensitive) in the response head
 * hdrs[0..hlen), leading blanks skipped, up to the line end; NULL if absent. */
const char *net_find_header(const char *hdrs, size_t hlen, const char *name);

/* ---- blocking HTTP client (setup phase) ---- */

struct http_client {
	int fd;
	struct sockaddr_storage addr;
	socklen_t alen;
	char host_hdr[300];
	int timeout_ms;
};

struct http_response {
	int status;
	int retry_after;	/* seconds, -1 when absent */
	char *body;		/* NUL-terminated, caller frees */
	size_t body_len;
};

void http_client_init(struct http_client *hc, const struct sockaddr_storage *addr, socklen_t alen,
		      const char *host_hdr, int timeout_ms);
void http_client_close(struct http_client *hc);
/* One request; bearer and body may be NULL. Retries once on a stale
 * keep-alive connection. 0 on success (any status), -1 on I/O failure
 * (message in err). */
int http_request(struct http_client *hc, const char *method, const char *path, const char *bearer,
		 const char *body, struct http_response *resp, char *err, size_t errlen);

/* ---- non-blocking WebSocket client ---- */

enum wsc_state { WSC_IDLE, WSC_CONNECTING, WSC_HANDSHAKE, WSC_OPEN, WSC_CLOSED };

/* TLS for every WebSocket connection started from now on (parley-bench
 * --tls): a BearSSL client, TLS 1.2, the server's certificate not checked
 * (the bench's own test certificate). Setup requests stay plain. */
void wsc_use_tls(bool on);
bool wsc_tls(void);

struct wsc;
struct wsc_tls;
struct wsc_callbacks {
	void (*on_open)(struct wsc *c);
	void (*on_text)(struct wsc *c, char *data, size_t len);	/* data is NUL-terminated */
	/* Called once; the socket is already closed. reason is static text. */
	void (*on_close)(struct wsc *c, const char *reason, int code);
};

struct wsc {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	int fd;
	enum wsc_state state;
	int io_events;
	const struct wsc_callbacks *cb;
	void *user;
	char accept[32];
	struct bbuf rbuf;
	size_t roff;
	struct bbuf wbuf;
	size_t woff;
	struct bbuf frag;
	int frag_opcode;
	uint64_t rng;
	int close_code;
	uint64_t bytes_in, bytes_out;
	struct wsc_tls *tls;	/* NULL: plain */
};

/* Starts connecting; the handshake (TCP connect + upgrade) must finish in
 * timeout_s or on_close is called with "timeout". Returns 0, or -1 when the
 * socket could not even be created (on_close is not called then). */
int wsc_start(struct wsc *c, struct ev_loop *loop, const struct wsc_callbacks *cb, void *user,
	      const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
	      const char *host_hdr, const char *path, double timeout_s);
/* (Re)arms the connection's single timer: on expiry the connection is
 * closed with reason "timeout". 0 disarms. */
void wsc_set_timeout(struct wsc *c, double seconds);
/* Queues one masked text frame. -1 when not open or the queue overflows
 * (the connection is then closed). With flush=false the bytes stay queued
 * until wsc_flush() or the next flushing send. */
int wsc_send_text(struct wsc *c, const char *data, size_t len, bool flush);
int wsc_flush(struct wsc *c);
/* Sends a close frame (best effort) and tears the connection down without
 * calling on_close. */
void wsc_close(struct wsc *c, int code);

#endif
