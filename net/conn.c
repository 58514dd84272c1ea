/* conn — connections, their loops, accepting and cross-thread posts (see conn.h). */
#include "net/conn.h"
#include "core/log.h"
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define ACCEPTS_PER_WAKE 64
#define SCRATCH_SIZE (64 * 1024)
#define ACCEPT_BACKOFF_MIN 0.1
#define ACCEPT_BACKOFF_MAX 1.0
#define ACCEPT_LOG_EVERY 10.0
#define OUT_COMPACT 65536      /* written prefix of out worth moving away */

/* A listening socket of one loop: plain, or TLS with ctx tls. */
typedef struct {
	ev_io io;
	conn_loop *cl;
	int fd;
	tls_ctx *tls;
	double hs_timeout;
} listener;

/* A TLS connection's engine and its handshake deadline. */
struct conn_tls {
	ev_timer hs;               /* the handshake must end before it fires */
	conn *c;
	tls_conn *t;
	tls_ctx *ctx;
	bool sniffed;              /* the first byte was seen to be TLS */
	bool up;                   /* the handshake is done */
};

struct conn_loop {
	conn_server *cs;
	ioloop *loop;
	listener ls[CONN_MAX_LISTEN];
	int nls;
	bool listening;
	ev_timer accept_timer;     /* back-off while out of descriptors */
	double backoff;
	bool paused;
	uint64_t refused;          /* refusals since the last log line */
	double last_log;
	conn **slots;
	uint32_t *gens;
	uint32_t nslots, cap;
	uint32_t *free_slots;
	uint32_t nfree;
	char *scratch;
	bool in_batch;             /* running posted tasks: writes wait for the batch end */
	conn_ref *flush;           /* connections with output queued by this batch */
	size_t nflush, capflush;
};

struct conn_server {
	ioloop **loops;
	int nloops;
	conn_loop *cl;
	const conn_proto *first;
	void *ctx;
	atomic_uint_fast64_t accepted, accept_paused;
	atomic_int open;
};

static void conn_free(conn *c);
static void leave(conn *c);
static void flush_batch(ioloop *l);

/* ---------- slots ---------- */

static int slot_alloc(conn_loop *cl, conn *c)
{
	uint32_t i;
	if (cl->nfree) {
		i = cl->free_slots[--cl->nfree];
	} else {
		if (cl->nslots == cl->cap) {
			uint32_t cap = cl->cap ? cl->cap * 2 : 1024;
			conn **s = realloc(cl->slots, cap * sizeof *s);
			if (!s)
				return -1;
			cl->slots = s;
			uint32_t *g = realloc(cl->gens, cap * sizeof *g);
			if (!g)
				return -1;
			cl->gens = g;
			uint32_t *f = realloc(cl->free_slots, cap * sizeof *f);
			if (!f)
				return -1;
			cl->free_slots = f;
			memset(cl->gens + cl->cap, 0, (cap - cl->cap) * sizeof *g);
			cl->cap = cap;
		}
		i = cl->nslots++;
	}
	cl->slots[i] = c;
	c->slot = i;
	c->gen = ++cl->gens[i];
	return 0;
}

static conn *slot_get(conn_loop *cl, conn_ref ref)
{
	if (ref.slot >= cl->nslots || cl->gens[ref.slot] != ref.gen)
		return NULL;
	conn *c = cl->slots[ref.slot];
	return c && !c->dead ? c : NULL;
}

/* ---------- watchers ---------- */

static void update_watch(conn *c)
{
	if (c->dead)
		return;
	struct ev_loop *ev = c->cl->loop->ev;
	int events = (c->want_read ? EV_READ : 0) | (c->writing ? EV_WRITE : 0);
	if (ev_is_active(&c->io)) {
		if ((c->io.events & (EV_READ | EV_WRITE)) == events)
			return;
		ev_io_stop(ev, &c->io);
	}
	if (events) {
		ev_io_set(&c->io, c->fd, events);
		ev_io_start(ev, &c->io);
	}
}

/* Bytes the TLS engine already decrypted do not make the socket readable:
 * the protocol is called for them as if it were. */
static void feed_tls_input(conn *c)
{
	if (c->tls && c->want_read && !c->dead && tls_has_input(c->tls->t))
		ev_feed_event(c->cl->loop->ev, &c->io, EV_READ);
}

void conn_want_read(conn *c, bool on)
{
	c->want_read = on;
	update_watch(c);
}

void conn_set_timer(conn *c, double after)
{
	if (c->dead)
		return;
	struct ev_loop *ev = c->cl->loop->ev;
	if (after <= 0) {
		ev_timer_stop(ev, &c->timer);
		return;
	}
	c->timer.repeat = after;
	ev_timer_again(ev, &c->timer);
}

void conn_set_proto(conn *c, const conn_proto *p, void *pd)
{
	c->proto = p;
	c->pd = pd;
}

/* ---------- lifetime ---------- */

void conn_kill(conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	conn_loop *cl = c->cl;
	ev_io_stop(cl->loop->ev, &c->io);
	ev_timer_stop(cl->loop->ev, &c->timer);
	if (c->tls) {
		ev_timer_stop(cl->loop->ev, &c->tls->hs);
		if (c->tls->up && !tls_closed(c->tls->t)) {
			tls_close(c->tls->t);          /* close_notify, if the socket takes it now */
			tls_send(c->tls->t, c->fd);
		}
	}
	close(c->fd);
	c->fd = -1;
	cl->gens[c->slot]++;   /* posts to the old ref are dropped from now on */
	if (!c->in_event)
		conn_free(c);
}

static void resume_accept(conn_loop *cl)
{
	if (!cl->paused || !cl->listening)
		return;
	cl->paused = false;
	ev_timer_stop(cl->loop->ev, &cl->accept_timer);
	for (int i = 0; i < cl->nls; i++)
		ev_io_start(cl->loop->ev, &cl->ls[i].io);
}

static void conn_free(conn *c)
{
	conn_loop *cl = c->cl;
	if (c->proto && c->proto->on_close)
		c->proto->on_close(c);
	cl->slots[c->slot] = NULL;
	cl->free_slots[cl->nfree++] = c->slot;
	atomic_fetch_sub_explicit(&cl->cs->open, 1, memory_order_relaxed);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->tls) {
		tls_conn_free(&c->tls->t);
		free(c->tls);
	}
	free(c);
	resume_accept(cl);   /* a descriptor came free */
}

/* Writes out what the current event queued, re-arms the watcher, and frees
 * a connection that died; called when every top-level event returns. */
static void leave(conn *c)
{
	if (!c->dead && conn_pending(c) && !c->writing) {
		conn_loop *cl = c->cl;
		if (cl->in_batch) {
			if (!c->flush_queued) {
				if (cl->nflush == cl->capflush) {
					size_t cap = cl->capflush ? cl->capflush * 2 : 64;
					conn_ref *f = realloc(cl->flush, cap * sizeof *f);
					if (f) {
						cl->flush = f;
						cl->capflush = cap;
					}
				}
				if (cl->nflush < cl->capflush) {
					cl->flush[cl->nflush++] = conn_ref_of(c);
					c->flush_queued = true;
				} else {
					conn_flush(c);
				}
			}
		} else {
			conn_flush(c);
		}
	}
	if (!c->dead && c->close_after_write && !conn_pending(c))
		conn_kill(c);
	c->in_event = false;
	if (c->dead) {
		conn_free(c);
	} else {
		update_watch(c);
		feed_tls_input(c);
	}
}

/* ---------- TLS ---------- */

static const char plain_refusal[] =
	"HTTP/1.1 400 Bad Request\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Length: 48\r\n"
	"Connection: close\r\n\r\n"
	"This port speaks HTTPS: use an https:// address\n";

/* The first byte on a TLS connection: a handshake record (0x16) goes to
 * the engine, as does anything else that is not text; a request line (a
 * plain HTTP client on the TLS port) is answered with a 400 and closed.
 * 1 TLS, or what conn_read returns. */
static ssize_t sniff(conn *c)
{
	unsigned char b;
	ssize_t n;
	do
		n = recv(c->fd, &b, 1, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
	c->tls->sniffed = true;
	if (!(b >= 'A' && b <= 'Z'))
		return 1;
	/* read what came (the request, so that closing sends no reset), answer, close */
	size_t cap;
	char *scratch = conn_scratch(c, &cap);
	while (recv(c->fd, scratch, cap, 0) == (ssize_t)cap)
		;
	ssize_t w = send(c->fd, plain_refusal, sizeof plain_refusal - 1, MSG_NOSIGNAL);
	(void)w;
	shutdown(c->fd, SHUT_WR);
	tls_ctx_count_plain(c->tls->ctx);
	log_debug("tls.plain_refused", "slot=%u", c->slot);
	conn_kill(c);
	return -2;
}

/* After engine work: the handshake's end stops its deadline. */
static void tls_progress(conn *c)
{
	conn_tls *ct = c->tls;
	if (ct->up || !tls_established(ct->t))
		return;
	ct->up = true;
	ev_timer_stop(c->cl->loop->ev, &ct->hs);
	log_debug("tls.handshake", "slot=%u sni=\"%s\"", c->slot, tls_server_name(ct->t));
}

static ssize_t tls_conn_read(conn *c, void *dst, size_t cap)
{
	conn_tls *ct = c->tls;
	if (!ct->sniffed) {
		ssize_t r = sniff(c);
		if (r != 1)
			return r;
	}
	bool wants_write;
	ssize_t n = tls_read(ct->t, c->fd, dst, cap, &wants_write);
	if (wants_write && !c->writing) {
		c->writing = true;
		update_watch(c);
	}
	tls_progress(c);
	if (n == -2)
		log_debug("tls.error", "slot=%u err=%d", c->slot, tls_error(ct->t));
	return n;
}

static void on_hs_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	conn_tls *ct = (conn_tls *)w;
	conn *c = ct->c;
	c->in_event = true;
	tls_ctx_count_timeout(ct->ctx);
	log_debug("tls.handshake_timeout", "slot=%u", c->slot);
	conn_kill(c);
	leave(c);
}

/* ---------- I/O ---------- */

ssize_t conn_read(conn *c, void *dst, size_t cap)
{
	if (c->tls)
		return tls_conn_read(c, dst, cap);
	for (;;) {
		ssize_t n = read(c->fd, dst, cap);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		return -2;
	}
}

int conn_write(conn *c, const void *data, size_t len)
{
	if (c->ref_len) {   /* keep the order: what is referenced goes first */
		if (buf_append(&c->out, c->ref, c->ref_len) < 0)
			return -1;
		c->ref_len = 0;
	}
	return buf_append(&c->out, data, len);
}

int conn_write_ref(conn *c, const void *data, size_t len)
{
	if (c->ref_len)
		return conn_write(c, data, len);
	c->ref = data;
	c->ref_len = len;
	return 0;
}

size_t conn_pending(const conn *c)
{
	return c->out.len - c->out_pos + c->ref_len + (c->tls ? tls_pending(c->tls->t) : 0);
}

/* One write of what is queued: the buffer, then the referenced bytes. */
static ssize_t write_some(conn *c)
{
	size_t olen = c->out.len - c->out_pos;
	if (!c->ref_len)
		return write(c->fd, c->out.data + c->out_pos, olen);
	if (!olen)
		return write(c->fd, c->ref, c->ref_len);
	struct iovec iov[2] = { { c->out.data + c->out_pos, olen }, { (void *)c->ref, c->ref_len } };
	return writev(c->fd, iov, 2);
}

/* Waits for EV_WRITE, the written prefix of out given back first. */
static int wait_writable(conn *c)
{
	if (c->out_pos == c->out.len) {   /* only referenced bytes wait */
		buf_free(&c->out);
		c->out_pos = 0;
	} else if (c->out_pos >= OUT_COMPACT && c->out_pos * 2 >= c->out.len) {
		buf_consume(&c->out, c->out_pos);
		c->out_pos = 0;
	}
	c->writing = true;
	update_watch(c);
	return 0;
}

/* Everything went: the buffer is given back, EV_WRITE no longer wanted. */
static int all_written(conn *c)
{
	buf_free(&c->out);
	c->out_pos = 0;
	c->ref = NULL;
	if (c->writing) {
		c->writing = false;
		update_watch(c);
	}
	return 1;
}

/* Output that waits for the engine, not for the socket. */
static int stall(conn *c)
{
	if (c->writing) {
		c->writing = false;
		update_watch(c);
	}
	return 0;
}

/* conn_flush over TLS: plaintext into the engine, records to the socket,
 * until either runs dry. */
static int tls_flush(conn *c)
{
	tls_conn *t = c->tls->t;
	for (;;) {
		int r = tls_send(t, c->fd);
		tls_progress(c);
		if (r < 0) {
			conn_kill(c);
			return -1;
		}
		if (r == 0)
			return wait_writable(c);
		size_t olen = c->out.len - c->out_pos;
		if (!olen && !c->ref_len)
			break;
		if (!c->tls->up)
			return stall(c);   /* nothing is written before the handshake ends */
		size_t k;
		if (olen) {
			k = tls_write(t, c->out.data + c->out_pos, olen);
			c->out_pos += k;
		} else {
			k = tls_write(t, c->ref, c->ref_len);
			c->ref += k;
			c->ref_len -= k;
		}
		if (c->out_pos == c->out.len && !c->ref_len)
			tls_flush_record(t);
		if (!k && !tls_pending(t)) {
			if (tls_closed(t)) {
				conn_kill(c);
				return -1;
			}
			return stall(c);   /* the engine takes nothing now */
		}
	}
	return all_written(c);
}

int conn_flush(conn *c)
{
	if (c->dead)
		return -1;
	if (c->tls)
		return tls_flush(c);
	while (conn_pending(c)) {
		ssize_t n = write_some(c);
		if (n > 0) {
			size_t olen = c->out.len - c->out_pos, k = (size_t)n;
			size_t from_out = k < olen ? k : olen;
			c->out_pos += from_out;
			if (k > from_out) {   /* (no arithmetic on a NULL ref: UB even by 0) */
				c->ref += k - from_out;
				c->ref_len -= k - from_out;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return wait_writable(c);
		conn_kill(c);
		return -1;
	}
	return all_written(c);
}

static void on_io(struct ev_loop *ev, ev_io *w, int revents)
{
	conn *c = (conn *)w;
	c->in_event = true;
	if ((revents & EV_WRITE) && c->writing) {
		if (conn_flush(c) == 1 && !c->dead && c->proto->on_drain)
			c->proto->on_drain(c);
	}
	if ((revents & EV_READ) && c->want_read && !c->dead && c->proto->on_read)
		c->proto->on_read(c);
	leave(c);
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	conn *c = container_of(w, conn, timer);
	c->in_event = true;
	if (c->proto->on_timer)
		c->proto->on_timer(c);
	leave(c);
}

/* ---------- accepting ---------- */

static void pause_accept(conn_loop *cl, int err)
{
	struct ev_loop *ev = cl->loop->ev;
	for (int i = 0; i < cl->nls; i++)
		ev_io_stop(ev, &cl->ls[i].io);
	cl->paused = true;
	cl->backoff = cl->backoff ? cl->backoff * 2 : ACCEPT_BACKOFF_MIN;
	if (cl->backoff > ACCEPT_BACKOFF_MAX)
		cl->backoff = ACCEPT_BACKOFF_MAX;
	ev_timer_set(&cl->accept_timer, cl->backoff, 0);
	ev_timer_start(ev, &cl->accept_timer);
	cl->refused++;
	atomic_fetch_add_explicit(&cl->cs->accept_paused, 1, memory_order_relaxed);
	double now = ev_now(ev);
	if (cl->last_log == 0 || now - cl->last_log >= ACCEPT_LOG_EVERY) {
		log_warn("conn.accept_paused", "loop=%d err=\"%s\" pauses=%llu open=%d backoff_ms=%d",
			 cl->loop->index, strerror(err), (unsigned long long)cl->refused,
			 atomic_load(&cl->cs->open), (int)(cl->backoff * 1000));
		cl->last_log = now;
		cl->refused = 0;
	}
}

static void on_accept_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
	conn_loop *cl = container_of(w, conn_loop, accept_timer);
	resume_accept(cl);
}

/* A connection on fd (TLS with ctx tls if not NULL), handed to the first
 * protocol; 0 or -1. */
static int open_conn(conn_loop *cl, int fd, tls_ctx *tls, double hs_timeout)
{
	conn_server *cs = cl->cs;
	conn *c = calloc(1, sizeof *c);
	conn_tls *ct = NULL;
	if (c && tls) {
		ct = calloc(1, sizeof *ct);
		if (ct && !(ct->t = tls_conn_new(tls))) {
			free(ct);
			ct = NULL;
		}
		if (!ct) {
			free(c);
			return -1;
		}
	}
	if (!c || slot_alloc(cl, c) < 0) {
		if (ct) {
			tls_conn_free(&ct->t);
			free(ct);
		}
		free(c);
		return -1;
	}
	c->tls = ct;
	if (ct) {
		ct->c = c;
		ct->ctx = tls;
		ev_timer_init(&ct->hs, on_hs_timer, hs_timeout > 0 ? hs_timeout : 10.0, 0);
		ev_timer_start(cl->loop->ev, &ct->hs);
	}
	c->fd = fd;
	c->cl = cl;
	c->proto = cs->first;
	c->want_read = true;
	atomic_fetch_add_explicit(&cs->open, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&cs->accepted, 1, memory_order_relaxed);
	ev_io_init(&c->io, on_io, fd, EV_READ);
	ev_io_start(cl->loop->ev, &c->io);
	ev_init(&c->timer, on_timer);
	c->in_event = true;
	if (c->proto->on_open)
		c->proto->on_open(c);
	leave(c);
	return 0;
}

int conn_adopt(conn_server *cs, int loop, int fd)
{
	return conn_adopt_tls(cs, loop, fd, NULL, 0);
}

int conn_adopt_tls(conn_server *cs, int loop, int fd, tls_ctx *tls, double hs_timeout)
{
	if (loop < 0 || loop >= cs->nloops)
		return -1;
	return open_conn(&cs->cl[loop], fd, tls, hs_timeout);
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
	listener *li = (listener *)w;
	conn_loop *cl = li->cl;
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(li->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				pause_accept(cl, errno);
				return;
			}
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;   /* EAGAIN, or the socket is closing */
		}
		cl->backoff = 0;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (open_conn(cl, fd, li->tls, li->hs_timeout) < 0)
			close(fd);
	}
}

/* ---------- posts ---------- */

static void run_task(ioloop *l, ioloop_task *it)
{
	conn_task *t = (conn_task *)it;
	conn_loop *cl = &t->cs->cl[l->index];
	conn *c = slot_get(cl, t->ref);
	cl->in_batch = true;
	if (!c) {
		t->run(NULL, t);
		return;
	}
	c->in_event = true;
	t->run(c, t);
	leave(c);
}

void conn_post(conn_server *cs, conn_task *t)
{
	t->cs = cs;
	t->t.run = run_task;
	ioloop_post(cs->loops[t->ref.loop], &t->t);
}

/* ioloop after_tasks hook: writes what the batch queued, once per connection. */
static void flush_batch(ioloop *l)
{
	conn_loop *cl = l->user;
	cl->in_batch = false;
	for (size_t i = 0; i < cl->nflush; i++) {
		conn *c = slot_get(cl, cl->flush[i]);
		if (!c)
			continue;
		c->flush_queued = false;
		c->in_event = true;
		leave(c);
	}
	cl->nflush = 0;
}

/* ---------- accessors ---------- */

void *conn_ctx(const conn *c)
{
	return c->cl->cs->ctx;
}

int conn_loop_index(const conn *c)
{
	return c->cl->loop->index;
}

double conn_now(const conn *c)
{
	return ev_now(c->cl->loop->ev);
}

char *conn_scratch(conn *c, size_t *cap)
{
	*cap = SCRATCH_SIZE;
	return c->cl->scratch;
}

conn_ref conn_ref_of(const conn *c)
{
	return (conn_ref){ (uint32_t)c->cl->loop->index, c->slot, c->gen, c->serial };
}

void conn_peer_ip(const conn *c, char out[64])
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	out[0] = 0;
	if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, 64);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, 64);
}

/* ---------- server ---------- */

conn_server *conn_server_new(ioloop **loops, int n, const conn_proto *first, void *ctx)
{
	conn_server *cs = calloc(1, sizeof *cs);
	if (!cs)
		return NULL;
	cs->loops = loops;
	cs->nloops = n;
	cs->first = first;
	cs->ctx = ctx;
	cs->cl = calloc((size_t)(n ? n : 1), sizeof *cs->cl);
	if (!cs->cl) {
		free(cs);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		conn_loop *cl = &cs->cl[i];
		cl->cs = cs;
		cl->loop = loops[i];
		ev_init(&cl->accept_timer, on_accept_timer);
		loops[i]->user = cl;
		loops[i]->after_tasks = flush_batch;
		cl->scratch = malloc(SCRATCH_SIZE);
		if (!cl->scratch) {
			cs->nloops = i + 1;
			conn_server_free(&cs);
			return NULL;
		}
	}
	return cs;
}

void conn_server_free(conn_server **cs_p)
{
	conn_server *cs = *cs_p;
	if (!cs)
		return;
	for (int i = 0; i < cs->nloops; i++) {
		conn_loop *cl = &cs->cl[i];
		for (int k = 0; k < cl->nls; k++)
			if (cl->ls[k].fd >= 0)
				close(cl->ls[k].fd);
		cl->nls = 0;
		for (uint32_t j = 0; j < cl->nslots; j++) {
			conn *c = cl->slots[j];
			if (!c)
				continue;
			c->in_event = false;
			if (!c->dead)
				conn_kill(c);
			else
				conn_free(c);
		}
		free(cl->slots);
		free(cl->gens);
		free(cl->free_slots);
		free(cl->scratch);
		free(cl->flush);
	}
	free(cs->cl);
	free(cs);
	*cs_p = NULL;
}

static int bind_one(const char *host, int port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int conn_server_listen(conn_server *cs, const char *host, int port)
{
	return conn_server_listen_tls(cs, host, port, NULL, 0);
}

int conn_server_listen_tls(conn_server *cs, const char *host, int port, tls_ctx *tls, double hs_timeout)
{
	if (cs->nloops && cs->cl[0].nls == CONN_MAX_LISTEN)
		return -1;
	for (int i = 0; i < cs->nloops; i++) {
		int fd = bind_one(host, port);
		if (fd < 0) {
			log_error("conn.listen", "host=%s port=%d err=\"%s\"", host, port, strerror(errno));
			return -1;
		}
		if (port == 0) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof ss;
			getsockname(fd, (struct sockaddr *)&ss, &sl);
			port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							      : ((struct sockaddr_in *)&ss)->sin_port);
		}
		conn_loop *cl = &cs->cl[i];
		listener *li = &cl->ls[cl->nls++];
		li->cl = cl;
		li->fd = fd;
		li->tls = tls;
		li->hs_timeout = hs_timeout;
		cl->listening = true;
		ev_io_init(&li->io, on_accept, fd, EV_READ);
		if (!cl->paused)
			ev_io_start(cl->loop->ev, &li->io);
	}
	return port;
}

typedef struct {
	ioloop_task t;
	conn_server *cs;
	bool final;
} stop_task;

static void run_stop(ioloop *l, ioloop_task *t)
{
	stop_task *st = (stop_task *)t;
	conn_loop *cl = &st->cs->cl[l->index];
	if (cl->listening) {
		for (int k = 0; k < cl->nls; k++) {
			ev_io_stop(l->ev, &cl->ls[k].io);
			close(cl->ls[k].fd);
			cl->ls[k].fd = -1;
		}
		ev_timer_stop(l->ev, &cl->accept_timer);
		cl->listening = false;
		cl->paused = false;
	}
	for (uint32_t i = 0; i < cl->nslots; i++) {
		conn *c = cl->slots[i];
		if (!c || c->dead)
			continue;
		c->in_event = true;
		c->draining = true;
		if (c->proto->on_stop)
			c->proto->on_stop(c, st->final);
		else
			conn_kill(c);
		leave(c);
	}
	free(st);
}

void conn_server_stop(conn_server *cs, bool final)
{
	for (int i = 0; i < cs->nloops; i++) {
		stop_task *t = calloc(1, sizeof *t);
		if (!t)
			continue;
		t->t.run = run_stop;
		t->cs = cs;
		t->final = final;
		ioloop_post(cs->loops[i], &t->t);
	}
}

int conn_server_open(conn_server *cs)
{
	return atomic_load(&cs->open);
}

void conn_server_stats(conn_server *cs, conn_stats *o)
{
	o->accepted = atomic_load(&cs->accepted);
	o->accept_paused = atomic_load(&cs->accept_paused);
	o->open = atomic_load(&cs->open);
}
