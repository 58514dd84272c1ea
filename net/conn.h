/* conn — connections: the socket, its buffers, timer, lifetime and
 * cross-thread posts, for whatever protocol speaks over it.
 *
 * Each I/O loop (core/ioloop.h) owns its own SO_REUSEPORT listening socket
 * and the connections it accepted; a connection never changes thread. A
 * protocol (net/http.c, net/ws.c) fills in a conn_proto table and is called
 * on the connection's loop thread; at an upgrade the table is swapped
 * (conn_set_proto), as nginx swaps a connection's handler. Arrows point one
 * way: protocols call conn_*, this file never calls a protocol except
 * through its table.
 *
 * Lifetime: a connection is never freed inside a callback that is using
 * it. conn_kill() closes the socket at once and marks it dead; it is freed
 * when the top-level event (I/O, timer, posted task) returns. A conn_ref
 * (loop, slot, generation) names a connection from any thread; posts to a
 * ref whose connection has gone find NULL.
 *
 * Output: protocols append to c->out (conn_write); it is written when the
 * current event returns — after a batch of posted tasks, once for all of
 * them, so several frames for one connection leave in one write() — or at
 * once with conn_flush. What the socket does not take waits for EV_WRITE;
 * when it has all gone, the protocol's on_drain runs.
 *
 * Memory follows activity: an idle connection holds this struct and its
 * protocol's state; `in` and `out` exist only while they hold bytes.
 *
 * TLS (net/tls.h): a listener made with conn_server_listen_tls gives its
 * connections a BearSSL engine. conn_read then hands back decrypted bytes
 * and conn_flush encrypts what was queued; protocols see no difference.
 * The engine is driven from the loop and never blocks: records move while
 * the socket takes or gives them, what waits is resumed by EV_READ or
 * EV_WRITE, and decrypted bytes left in the engine are handed to on_read
 * as if the socket were readable. The handshake must end within the
 * listener's time (the HTTP header timeout) or the connection is closed.
 * A connection whose first byte is a capital letter (a plain HTTP request
 * on the TLS port) gets a 400 and is closed. The server sends close_notify
 * when it closes an established connection, if the socket takes it.
 *
 * Accepting: when the process runs out of descriptors (EMFILE/ENFILE) the
 * loop stops accepting and retries after a back-off (100 ms doubling to
 * 1 s), or as soon as one of its connections closes; it logs once per
 * 10 s with the number of refusals since the last line.
 */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/ioloop.h"

typedef struct conn conn;
typedef struct conn_server conn_server;
typedef struct conn_loop conn_loop;
typedef struct conn_tls conn_tls;
typedef struct tls_ctx tls_ctx;

#define CONN_MAX_LISTEN 2         /* listening sockets per server (a TLS and a plain port) */

typedef struct {
	uint32_t loop;            /* index of the owning I/O loop */
	uint32_t slot;            /* index in the loop's connection table */
	uint32_t gen;             /* generation of that slot */
	uint32_t serial;          /* free for the protocol (HTTP: request serial) */
} conn_ref;

/* What a protocol does with a connection; every entry may be NULL. */
typedef struct conn_proto {
	const char *name;
	void (*on_open)(conn *c);     /* accepted (the first protocol only) */
	void (*on_read)(conn *c);     /* readable (while conn_want_read is on) */
	void (*on_drain)(conn *c);    /* all of c->out has been written after a wait */
	void (*on_timer)(conn *c);    /* the time set by conn_set_timer came */
	void (*on_stop)(conn *c, bool final); /* server stopping: phase 1, then final */
	void (*on_close)(conn *c);    /* gone: free the protocol's state */
} conn_proto;

struct conn {
	ev_io io;                 /* private */
	ev_timer timer;           /* private */
	conn_loop *cl;            /* private */
	int fd;
	uint32_t slot, gen;
	const conn_proto *proto;
	void *pd;                 /* the protocol's state */
	buf in;                   /* the protocol's unparsed input (freed when empty) */
	buf out;                  /* output not yet written, from out_pos */
	size_t out_pos;
	const char *ref;          /* then bytes written by reference (conn_write_ref) */
	conn_tls *tls;            /* private: the TLS engine (NULL: plain) */
	size_t ref_len;
	uint32_t serial;          /* free for the protocol */
	bool dead;                /* closed; freed when the current event returns */
	bool want_read;           /* read readiness is wanted */
	bool writing;             /* private: waiting for EV_WRITE */
	bool in_event;            /* private */
	bool flush_queued;        /* private: on the loop's end-of-batch list */
	bool close_after_write;   /* close once out is written */
	bool draining;            /* the server is stopping */
};

typedef struct {
	uint64_t accepted;
	uint64_t accept_paused;   /* times accepting paused for want of descriptors */
	int open;
} conn_stats;

/* ---- server ---- */

/* A server over loops[0..n); first is the protocol new connections start
 * with, ctx is handed back by conn_ctx. Not yet listening. */
conn_server *conn_server_new(ioloop **loops, int n, const conn_proto *first, void *ctx);

/* Frees the server after the loops stopped (closes what is still open). */
void conn_server_free(conn_server **cs_p);

/* Binds host:port on every loop (SO_REUSEPORT; port 0 picks one) and starts
 * accepting; returns the port or -1. Call before the loops run. */
int conn_server_listen(conn_server *cs, const char *host, int port);

/* The same for a TLS listener: connections accepted on it speak TLS with
 * the certificate of ctx tls (net/tls.h), their handshake due within
 * hs_timeout seconds of the accept (a stalled one is closed). Up to
 * CONN_MAX_LISTEN listeners per server. */
int conn_server_listen_tls(conn_server *cs, const char *host, int port, tls_ctx *tls, double hs_timeout);

/* Takes over a connected, non-blocking socket as if loop `loop` had
 * accepted it (tests and fuzzing drive the real connection code over a
 * socketpair this way). Loop thread only; 0 or -1 (fd then still the
 * caller's). */
int conn_adopt(conn_server *cs, int loop, int fd);
int conn_adopt_tls(conn_server *cs, int loop, int fd, tls_ctx *tls, double hs_timeout);

/* Stops accepting and calls on_stop(c, final) on every connection, on its
 * loop. Any thread; returns at once. */
void conn_server_stop(conn_server *cs, bool final);

/* Open connections (all loops) and counters. */
int conn_server_open(conn_server *cs);
void conn_server_stats(conn_server *cs, conn_stats *out);

/* ---- on the connection's loop thread ---- */

/* The server's ctx, the loop's index, its libev time. */
void *conn_ctx(const conn *c);
int conn_loop_index(const conn *c);
double conn_now(const conn *c);

/* A 64 KiB buffer the loop's connections share for reads they consume
 * before returning (nothing may be kept in it across events). */
char *conn_scratch(conn *c, size_t *cap);

/* Reads up to cap bytes: > 0 bytes read, 0 end of stream, -1 nothing to
 * read now, -2 error (the connection should be killed). */
ssize_t conn_read(conn *c, void *dst, size_t cap);

/* Appends to the output (written when the event returns); 0 or -1 (OOM). */
int conn_write(conn *c, const void *data, size_t len);

/* Appends len bytes by reference, without copying them: data must stay
 * valid and unchanged until the connection is freed (a static file held for
 * the server's life). A slow reader then holds no copy. A later
 * conn_write first copies what of it is still unwritten, so order is kept.
 * 0 or -1 (OOM). */
int conn_write_ref(conn *c, const void *data, size_t len);

/* Bytes waiting to be written. */
size_t conn_pending(const conn *c);

/* Writes now what the socket takes: 1 all written, 0 some waits for
 * EV_WRITE, -1 the connection failed (it is killed). */
int conn_flush(conn *c);

/* Turns read readiness on or off. */
void conn_want_read(conn *c, bool on);

/* Calls on_timer after `after` seconds (<= 0: never). */
void conn_set_timer(conn *c, double after);

/* Swaps the protocol (an upgrade); the old one's state is its business. */
void conn_set_proto(conn *c, const conn_proto *p, void *pd);

/* Closes the connection now (on_close runs; freed when the event returns). */
void conn_kill(conn *c);

/* The handle other threads post with. */
conn_ref conn_ref_of(const conn *c);

/* The peer's IP address as text (empty if unknown). */
void conn_peer_ip(const conn *c, char out[64]);

/* ---- from any thread ---- */

/* A task for a connection: run(c, t) on the connection's loop with c NULL
 * if it has gone; run owns t. Embed it first in a larger struct. */
typedef struct conn_task conn_task;
struct conn_task {
	ioloop_task t;            /* private */
	conn_server *cs;          /* private */
	conn_ref ref;
	void (*run)(conn *c, conn_task *t);
};

/* Posts t to t->ref's loop. */
void conn_post(conn_server *cs, conn_task *t);

#endif
