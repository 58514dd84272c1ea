/* net_harness — runs net/'s real connection code (conn, http, ws) over a
 * socketpair inside a fuzz target, single-threaded and without waiting.
 *
 * Per input: an ioloop whose thread is never started (the target runs its
 * libev loop itself with ev_run(EVRUN_NOWAIT)), an http_server over it,
 * routes added by the target, and one end of a socketpair handed to the
 * server with conn_adopt. The target writes its bytes on the other end in
 * pieces and calls nh_pump between them, which runs the loop until the
 * server has nothing more to say and collects everything it wrote. Timers
 * never fire: nothing here waits for real time.
 *
 * Everything is freed at nh_free (ASan's leak check sees the real
 * teardown: posted tasks drained, http_server_free, ioloop_destroy).
 * With PARLEY_FUZZ_TRACE set in the environment, nh_trace prints what the
 * server wrote to stderr.
 */
#ifndef PARLEY_NET_HARNESS_H
#define PARLEY_NET_HARNESS_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ioloop.h"
#include "core/log.h"
#include "net/conn.h"
#include "net/http.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

typedef struct {
	ioloop *loop;
	ioloop *loops[1];
	http_server *srv;
	int fd;            /* the client end; -1 once closed */
	bool wr_shut;      /* the client end's write side is shut */
	bool eof;          /* the server closed its end */
	buf out;           /* everything the server wrote */
} nh;

/* Process-wide set-up, once: no SIGPIPE (a write to a connection the
 * server closed), no log lines. */
static void nh_once(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
}

/* A loop and a server with options o (routes are the caller's to add). */
static void nh_init(nh *h, const http_opts *o)
{
	nh_once();
	memset(h, 0, sizeof *h);
	h->fd = -1;
	h->loop = ioloop_new(0);
	CHECK(h->loop);
	h->loops[0] = h->loop;
	h->srv = http_server_new(o, h->loops, 1);
	CHECK(h->srv);
}

/* Connects: the server adopts one end of a fresh socketpair, as if
 * accepted on a TLS port with ctx tls when it is not NULL. */
static inline void nh_connect_tls(nh *h, tls_ctx *tls)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(conn_adopt_tls(http_server_conns(h->srv), 0, sv[0], tls, 10.0) == 0);
	h->fd = sv[1];
}

static inline void nh_connect(nh *h)
{
	nh_connect_tls(h, NULL);
}

/* Reads what the server wrote; the number of bytes. */
static size_t nh_read(nh *h)
{
	size_t got = 0;
	while (h->fd >= 0 && !h->eof) {
		CHECK(buf_reserve(&h->out, 65536) == 0);
		ssize_t n = recv(h->fd, h->out.data + h->out.len, 65536, MSG_DONTWAIT);
		if (n > 0) {
			h->out.len += (size_t)n;
			h->out.data[h->out.len] = 0;
			got += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			h->eof = true;   /* closed (or reset) */
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	return got;
}

/* Runs the loop until two rounds in a row bring no output (posted tasks
 * need a round to be noticed); a bounded number of rounds. */
static void nh_pump(nh *h)
{
	int quiet = 0;
	for (int i = 0; i < 64 && quiet < 2; i++) {
		ev_run(h->loop->ev, EVRUN_NOWAIT);
		quiet = nh_read(h) ? 0 : quiet + 1;
	}
}

/* Writes d[0..n) to the server, pumping while its socket is full; false
 * when the server has closed its end (the rest is dropped). */
static bool nh_send(nh *h, const void *d, size_t n)
{
	const uint8_t *p = d;
	int stuck = 0;
	while (n && h->fd >= 0 && !h->wr_shut) {
		ssize_t k = send(h->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			stuck = 0;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && stuck++ < 8) {
			nh_pump(h);   /* let the server read */
			continue;
		}
		return false;
	}
	return n == 0;
}

/* Shuts the client's write side: the server reads end of stream. */
static inline void nh_shut_write(nh *h)
{
	if (h->fd >= 0 && !h->wr_shut) {
		shutdown(h->fd, SHUT_WR);
		h->wr_shut = true;
	}
}

/* With PARLEY_FUZZ_TRACE in the environment: prints what the server
 * wrote (call before checking it). */
static inline void nh_trace(const nh *h)
{
	if (!getenv("PARLEY_FUZZ_TRACE"))
		return;
	fprintf(stderr, "---- server wrote %zu bytes%s:\n", h->out.len, h->eof ? " and closed" : "");
	if (h->out.len)
		fwrite(h->out.data, 1, h->out.len, stderr);
	fprintf(stderr, "\n----\n");
}

/* Tears everything down. Posted tasks still queued run first (they hold
 * the server's pointers), then the server (closing what is still open)
 * and the loop go. */
static void nh_free(nh *h)
{
	nh_pump(h);
	ioloop_drain(h->loop);
	http_server_free(&h->srv);
	ioloop_destroy(&h->loop);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	buf_free(&h->out);
}

/* Piece sizes from a seed in the input: 1..max bytes each. */
typedef struct {
	uint32_t s;
	size_t max;
} nh_pieces;

static inline size_t nh_next_piece(nh_pieces *pc)
{
	pc->s ^= pc->s << 13;
	pc->s ^= pc->s >> 17;
	pc->s ^= pc->s << 5;
	return 1 + pc->s % pc->max;
}

#endif
