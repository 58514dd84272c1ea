/* bench_net — see bench_net.h. */
#include "bench_net.h"

#include "core/clock.h"
#include "net/tls.h"

#include <arpa/inet.h>
#include <bearssl.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define WSC_MAX_MESSAGE (16u << 20)	/* largest server message we accept */
#define WSC_MAX_QUEUE (64u << 20)	/* largest pending output per connection */
#define WSC_READ_CHUNK 65536
#define WSC_READS_PER_EVENT 16		/* bounded work per readiness event */

/* ---------------------------------------------------------------- buffers */

int bbuf_reserve(struct bbuf *b, size_t extra)
{
	if (extra > SIZE_MAX / 4 || b->len > SIZE_MAX / 4)
		return -1;   /* also tells the optimiser the sizes below cannot wrap */
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 1024;
	while (ncap < b->len + extra + 1)
		ncap *= 2;
	char *p = realloc(b->data, ncap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int bbuf_append(struct bbuf *b, const void *p, size_t n)
{
	if (bbuf_reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void bbuf_free(struct bbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- sockets */

int net_resolve(const char *host, int port, struct sockaddr_storage *out, socklen_t *outlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
		return -1;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int net_parse_sources(const char *list, struct sockaddr_storage *out, int max)
{
	int n = 0;
	const char *p = list;
	while (p && *p && n < max) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char tmp[64];
		if (len == 0 || len >= sizeof(tmp))
			return -1;
		memcpy(tmp, p, len);
		tmp[len] = '\0';
		memset(&out[n], 0, sizeof(out[n]));
		struct sockaddr_in *a4 = (struct sockaddr_in *)&out[n];
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out[n];
		if (inet_pton(AF_INET, tmp, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
		} else if (inet_pton(AF_INET6, tmp, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
		} else {
			return -1;
		}
		n++;
		p = e ? e + 1 : NULL;
	}
	return n;
}

int net_connect_nb(const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src)
{
	int fd = socket(dst->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src) {
#ifdef IP_BIND_ADDRESS_NO_PORT
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
		socklen_t slen = src->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							    : sizeof(struct sockaddr_in);
		if (bind(fd, src, slen) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	if (connect(fd, dst, dlen) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------ blocking HTTP/1.1 */

void http_client_init(struct http_client *hc, const struct sockaddr_storage *addr, socklen_t alen,
		      const char *host_hdr, int timeout_ms)
{
	memset(hc, 0, sizeof(*hc));
	hc->fd = -1;
	hc->addr = *addr;
	hc->alen = alen;
	snprintf(hc->host_hdr, sizeof(hc->host_hdr), "%s", host_hdr);
	hc->timeout_ms = timeout_ms;
}

void http_client_close(struct http_client *hc)
{
	if (hc->fd >= 0)
		close(hc->fd);
	hc->fd = -1;
}

static int wait_fd(int fd, short events, int64_t deadline_ns)
{
	for (int spins = 0; spins < 1000000; spins++) {
		int64_t left = (deadline_ns - clock_mono_ns()) / 1000000;
		if (left <= 0)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
	return -1;
}

static int http_connect(struct http_client *hc, int64_t deadline, char *err, size_t errlen)
{
	int fd = net_connect_nb((struct sockaddr *)&hc->addr, hc->alen, NULL);
	if (fd < 0) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	if (wait_fd(fd, POLLOUT, deadline) < 0) {
		snprintf(err, errlen, "connect: timeout");
		close(fd);
		return -1;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		snprintf(err, errlen, "connect: %s", strerror(soerr));
		close(fd);
		return -1;
	}
	hc->fd = fd;
	return 0;
}

/* Reads more bytes into b; 1 = got bytes, 0 = EOF, -1 = error/timeout. */
static int http_read_more(struct http_client *hc, struct bbuf *b, int64_t deadline)
{
	if (bbuf_reserve(b, 16384) < 0)
		return -1;
	for (int tries = 0; tries < 1000000; tries++) {
		ssize_t n = recv(hc->fd, b->data + b->len, b->cap - b->len - 1, 0);
		if (n > 0) {
			b->len += (size_t)n;
			b->data[b->len] = '\0';
			return 1;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(hc->fd, POLLIN, deadline) < 0)
			return -1;
	}
	return -1;
}

const char *net_find_header(const char *hdrs, size_t hlen, const char *name)
{
	size_t nl = strlen(name);
	const char *p = hdrs;
	const char *end = hdrs + hlen;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/* One attempt; returns 0 ok, -1 failure, -2 stale connection (retryable). */
static int http_once(struct http_client *hc, const char *req, size_t reqlen, bool reused,
		     struct http_response *resp, char *err, size_t errlen)
{
	int64_t deadline = clock_mono_ns() + (int64_t)hc->timeout_ms * 1000000;
	size_t off = 0;
	while (off < reqlen) {
		ssize_t n = send(hc->fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(hc->fd, POLLOUT, deadline) < 0) {
				snprintf(err, errlen, "send: timeout");
				return -1;
			}
			continue;
		}
		snprintf(err, errlen, "send: %s", strerror(errno));
		return reused ? -2 : -1;
	}
	struct bbuf b = { 0 };
	int rc = -1;
	size_t hend = 0;
	for (;;) {
		char *e = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
		if (e) {
			hend = (size_t)(e - b.data) + 4;
			break;
		}
		if (b.len > 65536) {
			snprintf(err, errlen, "response headers too large");
			goto out;
		}
		int r = http_read_more(hc, &b, deadline);
		if (r <= 0) {
			snprintf(err, errlen, r == 0 ? "connection closed" : "recv: timeout/error");
			if (r == 0 && b.len == 0 && reused)
				rc = -2;
			goto out;
		}
	}
	int status = 0;
	if (sscanf(b.data, "HTTP/1.%*d %d", &status) != 1) {
		snprintf(err, errlen, "bad status line");
		goto out;
	}
	resp->status = status;
	resp->retry_after = -1;
	const char *ra = net_find_header(b.data, hend, "Retry-After");
	if (ra)
		resp->retry_after = atoi(ra);
	const char *cl = net_find_header(b.data, hend, "Content-Length");
	const char *te = net_find_header(b.data, hend, "Transfer-Encoding");
	const char *conn = net_find_header(b.data, hend, "Connection");
	bool close_after = conn && strncasecmp(conn, "close", 5) == 0;
	struct bbuf body = { 0 };
	if (te && strncasecmp(te, "chunked", 7) == 0) {
		size_t pos = hend;
		for (int chunks = 0; chunks < 100000; chunks++) {
			char *eol;
			while (!(eol = strstr(b.data + pos, "\r\n"))) {
				if (http_read_more(hc, &b, deadline) <= 0) {
					snprintf(err, errlen, "truncated chunked body");
					bbuf_free(&body);
					goto out;
				}
			}
			size_t csz = strtoul(b.data + pos, NULL, 16);
			size_t dstart = (size_t)(eol - b.data) + 2;
			while (b.len < dstart + csz + 2) {
				if (http_read_more(hc, &b, deadline) <= 0) {
					snprintf(err, errlen, "truncated chunked body");
					bbuf_free(&body);
					goto out;
				}
			}
			if (csz == 0) {
				/* no trailers expected; the final CRLF is consumed above */
				break;
			}
			bbuf_append(&body, b.data + dstart, csz);
			pos = dstart + csz + 2;
		}
	} else if (cl) {
		size_t want = strtoul(cl, NULL, 10);
		if (want > (64u << 20)) {
			snprintf(err, errlen, "body too large");
			goto out;
		}
		while (b.len < hend + want) {
			if (http_read_more(hc, &b, deadline) <= 0) {
				snprintf(err, errlen, "truncated body");
				goto out;
			}
		}
		bbuf_append(&body, b.data + hend, want);
	} else if (status != 204 && status != 304 && status >= 200) {
		/* body until close */
		while (b.len < (64u << 20)) {
			int r = http_read_more(hc, &b, deadline);
			if (r < 0) {
				snprintf(err, errlen, "recv: timeout/error");
				goto out;
			}
			if (r == 0)
				break;
		}
		bbuf_append(&body, b.data + hend, b.len - hend);
		close_after = true;
	}
	if (!body.data)
		bbuf_append(&body, "", 0);
	resp->body = body.data;
	resp->body_len = body.len;
	if (close_after)
		http_client_close(hc);
	rc = 0;
out:
	bbuf_free(&b);
	if (rc != 0)
		http_client_close(hc);
	return rc;
}

int http_request(struct http_client *hc, const char *method, const char *path, const char *bearer,
		 const char *body, struct http_response *resp, char *err, size_t errlen)
{
	memset(resp, 0, sizeof(*resp));
	struct bbuf req = { 0 };
	char line[1024];
	int n = snprintf(line, sizeof(line),
			 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: parley-bench\r\n"
			 "Accept: application/json\r\nConnection: keep-alive\r\n",
			 method, path, hc->host_hdr);
	bbuf_append(&req, line, (size_t)n);
	if (bearer) {
		bbuf_append(&req, "Authorization: Bearer ", 22);
		bbuf_append(&req, bearer, strlen(bearer));
		bbuf_append(&req, "\r\n", 2);
	}
	size_t blen = body ? strlen(body) : 0;
	if (body) {
		n = snprintf(line, sizeof(line),
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
		bbuf_append(&req, line, (size_t)n);
	}
	bbuf_append(&req, "\r\n", 2);
	if (body)
		bbuf_append(&req, body, blen);
	int rc = -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = hc->fd >= 0;
		if (!reused) {
			int64_t deadline = clock_mono_ns() + (int64_t)hc->timeout_ms * 1000000;
			if (http_connect(hc, deadline, err, errlen) < 0)
				break;
		}
		rc = http_once(hc, req.data, req.len, reused, resp, err, errlen);
		if (rc != -2)
			break;
		rc = -1;
	}
	bbuf_free(&req);
	return rc;
}

/* ------------------------------------------------------------- WebSocket */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = B64[(v >> 18) & 63];
		out[o++] = B64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? B64[v & 63] : '=';
	}
	out[o] = '\0';
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* ---- TLS (BearSSL client) ---- */

/* The server's chain is not checked: the minimal X.509 engine without
 * trust anchors, its "not trusted" verdict ignored (the key it extracted
 * is still handed over), as BearSSL's own tools do for -nostaticecdh. */
typedef struct {
	const br_x509_class *vtable;
	br_x509_minimal_context *inner;
} x509_noanchor;

#define XN(ctx) (((const x509_noanchor *)(const void *)(ctx))->inner)
static void xn_start_chain(const br_x509_class **ctx, const char *name)
{
	XN(ctx)->vtable->start_chain(&XN(ctx)->vtable, name);
}
static void xn_start_cert(const br_x509_class **ctx, uint32_t len)
{
	XN(ctx)->vtable->start_cert(&XN(ctx)->vtable, len);
}
static void xn_append(const br_x509_class **ctx, const unsigned char *b, size_t len)
{
	XN(ctx)->vtable->append(&XN(ctx)->vtable, b, len);
}
static void xn_end_cert(const br_x509_class **ctx)
{
	XN(ctx)->vtable->end_cert(&XN(ctx)->vtable);
}
static unsigned xn_end_chain(const br_x509_class **ctx)
{
	unsigned r = XN(ctx)->vtable->end_chain(&XN(ctx)->vtable);
	return r == BR_ERR_X509_NOT_TRUSTED ? 0 : r;
}
static const br_x509_pkey *xn_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	return XN(ctx)->vtable->get_pkey(&XN(ctx)->vtable, usages);
}
static const br_x509_class x509_noanchor_vtable = { sizeof(x509_noanchor), xn_start_chain, xn_start_cert,
						    xn_append, xn_end_cert, xn_end_chain, xn_get_pkey };

/* The client's buffers: the server (net/tls.h) sends records of at most
 * 4 KiB of plaintext, but a full-size input buffer keeps the client
 * usable against any server. */
struct wsc_tls {
	br_ssl_client_context cc;
	br_x509_minimal_context xm;
	x509_noanchor xn;
	unsigned char ibuf[BR_SSL_BUFSIZE_INPUT];
	unsigned char obuf[4096 + 85];
};

static bool g_tls;

void wsc_use_tls(bool on)
{
	g_tls = on;
}

bool wsc_tls(void)
{
	return g_tls;
}

static struct wsc_tls *tls_new(const char *host)
{
	struct wsc_tls *t = malloc(sizeof(*t));
	if (!t)
		return NULL;
	br_ssl_client_init_full(&t->cc, &t->xm, NULL, 0);
	t->xn.vtable = &x509_noanchor_vtable;
	t->xn.inner = &t->xm;
	br_ssl_engine_set_x509(&t->cc.eng, &t->xn.vtable);
	br_ssl_engine_set_versions(&t->cc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_buffers_bidi(&t->cc.eng, t->ibuf, sizeof(t->ibuf), t->obuf, sizeof(t->obuf));
	/* no SNI (and no name check) for an address */
	struct in6_addr a6;
	bool literal = inet_pton(AF_INET, host, &a6) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	if (!br_ssl_client_reset(&t->cc, literal ? NULL : host, 0)) {
		free(t);
		return NULL;
	}
	return t;
}

/* Records to the socket: 0 all gone or the socket is full, -1 error. */
static int tls_push(struct wsc *c)
{
	return tls_engine_send(&c->tls->cc.eng, c->fd) < 0 ? -1 : 0;
}

/* wbuf through the engine: 0 ok (maybe partially), -1 error. */
static int tls_write_pending(struct wsc *c)
{
	br_ssl_engine_context *e = &c->tls->cc.eng;
	for (int i = 0; i < 4096; i++) {
		if (tls_push(c) < 0)
			return -1;
		if (br_ssl_engine_current_state(e) & BR_SSL_SENDREC)
			break;   /* the socket is full */
		if (c->woff == c->wbuf.len)
			break;
		size_t room;
		unsigned char *b = br_ssl_engine_sendapp_buf(e, &room);
		if (!b)
			break;   /* the handshake is not done */
		size_t k = c->wbuf.len - c->woff < room ? c->wbuf.len - c->woff : room;
		memcpy(b, c->wbuf.data + c->woff, k);
		br_ssl_engine_sendapp_ack(e, k);
		c->woff += k;
		c->bytes_out += k;
		if (c->woff == c->wbuf.len)
			br_ssl_engine_flush(e, 0);
	}
	if (c->woff == c->wbuf.len)
		c->woff = c->wbuf.len = 0;
	return 0;
}

/* Like recv(): decrypted bytes, 0 at the end, -1 with errno. */
static ssize_t tls_recv(struct wsc *c, char *dst, size_t cap)
{
	bool wants_write;
	ssize_t n = tls_engine_read(&c->tls->cc.eng, c->fd, dst, cap, &wants_write);
	if (n == -1)
		errno = EAGAIN;
	else if (n == -2)
		errno = EPROTO;
	return n < 0 ? -1 : n;
}

static void wsc_teardown(struct wsc *c)
{
	if (c->state == WSC_CLOSED || c->state == WSC_IDLE)
		return;
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->timer);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = WSC_CLOSED;
	bbuf_free(&c->rbuf);
	bbuf_free(&c->wbuf);
	bbuf_free(&c->frag);
	c->roff = c->woff = 0;
	free(c->tls);
	c->tls = NULL;
}

static void wsc_fail(struct wsc *c, const char *reason, int code)
{
	if (c->state == WSC_CLOSED || c->state == WSC_IDLE)
		return;
	wsc_teardown(c);
	if (c->cb->on_close)
		c->cb->on_close(c, reason, code);
}

static void wsc_want(struct wsc *c, int events)
{
	if (c->io_events == events)
		return;
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, c->fd, events);
	ev_io_start(c->loop, &c->io);
	c->io_events = events;
}

/* Writes queued output; 0 ok (maybe partially), -1 on a fatal error. */
static int wsc_write_pending(struct wsc *c)
{
	if (c->tls)
		return tls_write_pending(c);
	for (int i = 0; i < 64 && c->woff < c->wbuf.len; i++) {
		ssize_t n = send(c->fd, c->wbuf.data + c->woff, c->wbuf.len - c->woff, MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
			c->bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return -1;
	}
	if (c->woff == c->wbuf.len) {
		c->woff = c->wbuf.len = 0;
	} else if (c->woff > (1u << 20) && c->woff * 2 > c->wbuf.len) {
		memmove(c->wbuf.data, c->wbuf.data + c->woff, c->wbuf.len - c->woff);
		c->wbuf.len -= c->woff;
		c->woff = 0;
	}
	return 0;
}

static void wsc_update_events(struct wsc *c)
{
	if (c->state == WSC_CLOSED)
		return;
	bool out = c->woff < c->wbuf.len;
	if (c->tls) {   /* records waiting, or plaintext the engine would take */
		unsigned st = br_ssl_engine_current_state(&c->tls->cc.eng);
		out = (st & BR_SSL_SENDREC) || (out && (st & BR_SSL_SENDAPP));
	}
	wsc_want(c, out ? EV_READ | EV_WRITE : EV_READ);
}

int wsc_flush(struct wsc *c)
{
	if (c->state != WSC_OPEN && c->state != WSC_HANDSHAKE)
		return -1;
	if (wsc_write_pending(c) < 0) {
		wsc_fail(c, "write error", 0);
		return -1;
	}
	wsc_update_events(c);
	return 0;
}

static int wsc_queue_frame(struct wsc *c, int opcode, const char *data, size_t len)
{
	if (c->wbuf.len - c->woff + len > WSC_MAX_QUEUE) {
		wsc_fail(c, "send queue overflow", 0);
		return -1;
	}
	unsigned char hdr[14];
	size_t h = 0;
	hdr[h++] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		hdr[h++] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (unsigned char)(len >> 8);
		hdr[h++] = (unsigned char)len;
	} else {
		hdr[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	uint32_t mask = (uint32_t)xorshift(&c->rng);
	unsigned char m[4] = { (unsigned char)mask, (unsigned char)(mask >> 8),
			       (unsigned char)(mask >> 16), (unsigned char)(mask >> 24) };
	memcpy(hdr + h, m, 4);
	h += 4;
	if (bbuf_reserve(&c->wbuf, h + len) < 0) {
		wsc_fail(c, "out of memory", 0);
		return -1;
	}
	memcpy(c->wbuf.data + c->wbuf.len, hdr, h);
	unsigned char *dst = (unsigned char *)c->wbuf.data + c->wbuf.len + h;
	for (size_t i = 0; i < len; i++)
		dst[i] = (unsigned char)data[i] ^ m[i & 3];
	c->wbuf.len += h + len;
	return 0;
}

int wsc_send_text(struct wsc *c, const char *data, size_t len, bool flush)
{
	if (c->state != WSC_OPEN)
		return -1;
	if (wsc_queue_frame(c, 1, data, len) < 0)
		return -1;
	return flush ? wsc_flush(c) : 0;
}

void wsc_close(struct wsc *c, int code)
{
	if (c->state == WSC_OPEN) {
		unsigned char p[2] = { (unsigned char)(code >> 8), (unsigned char)code };
		if (wsc_queue_frame(c, 8, (const char *)p, 2) == 0)
			(void)wsc_write_pending(c);
	}
	wsc_teardown(c);
}

static void wsc_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct wsc *c = w->data;
	wsc_fail(c, "timeout", 0);
}

void wsc_set_timeout(struct wsc *c, double seconds)
{
	ev_timer_stop(c->loop, &c->timer);
	if (seconds > 0 && c->state != WSC_CLOSED) {
		ev_timer_set(&c->timer, seconds, 0);
		ev_timer_start(c->loop, &c->timer);
	}
}

/* Parses the 101 response; returns bytes consumed, 0 if incomplete, -1 bad. */
static long wsc_parse_upgrade(struct wsc *c)
{
	const char *d = c->rbuf.data + c->roff;
	size_t n = c->rbuf.len - c->roff;
	const char *e = memmem(d, n, "\r\n\r\n", 4);
	if (!e)
		return n > 16384 ? -1 : 0;
	size_t hlen = (size_t)(e - d) + 4;
	int status = 0;
	if (sscanf(d, "HTTP/1.1 %d", &status) != 1 || status != 101)
		return -1;
	const char *acc = net_find_header(d, hlen, "Sec-WebSocket-Accept");
	if (!acc || strncmp(acc, c->accept, strlen(c->accept)) != 0)
		return -1;
	return (long)hlen;
}

/* Parses complete frames from rbuf; returns -1 when the connection died. */
static int wsc_parse_frames(struct wsc *c)
{
	for (int guard = 0; guard < 1000000; guard++) {
		if (c->state != WSC_OPEN)
			return -1;
		const unsigned char *d = (const unsigned char *)c->rbuf.data + c->roff;
		size_t n = c->rbuf.len - c->roff;
		if (n < 2)
			return 0;
		bool fin = d[0] & 0x80;
		int op = d[0] & 0x0f;
		bool masked = d[1] & 0x80;
		uint64_t plen = d[1] & 0x7f;
		size_t h = 2;
		if (plen == 126) {
			if (n < 4)
				return 0;
			plen = ((uint64_t)d[2] << 8) | d[3];
			h = 4;
		} else if (plen == 127) {
			if (n < 10)
				return 0;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | d[2 + i];
			h = 10;
		}
		if (masked) {
			wsc_fail(c, "masked server frame", 0);
			return -1;
		}
		if (plen > WSC_MAX_MESSAGE) {
			wsc_fail(c, "server frame too large", 0);
			return -1;
		}
		if (n < h + plen)
			return 0;
		char *payload = (char *)c->rbuf.data + c->roff + h;
		size_t len = (size_t)plen;
		c->roff += h + len;
		c->bytes_in += h + len;
		switch (op) {
		case 0x0: /* continuation */
		case 0x1:
		case 0x2:
			if (op != 0 && c->frag_opcode != 0) {
				wsc_fail(c, "new message inside a fragmented one", 0);
				return -1;
			}
			if (op == 0 && c->frag_opcode == 0) {
				wsc_fail(c, "stray continuation frame", 0);
				return -1;
			}
			if (op != 0 && fin) {
				/* the common case: a whole message in one frame */
				if (op == 0x1) {
					char saved = payload[len];
					payload[len] = '\0';
					c->cb->on_text(c, payload, len);
					if (c->state == WSC_OPEN)
						payload[len] = saved;
				}
				break;
			}
			if (op != 0)
				c->frag_opcode = op;
			if (c->frag.len + len > WSC_MAX_MESSAGE ||
			    bbuf_append(&c->frag, payload, len) < 0) {
				wsc_fail(c, "fragmented message too large", 0);
				return -1;
			}
			if (fin) {
				int fop = c->frag_opcode;
				c->frag_opcode = 0;
				if (fop == 0x1)
					c->cb->on_text(c, c->frag.data, c->frag.len);
				if (c->state == WSC_OPEN)
					c->frag.len = 0;
			}
			break;
		case 0x8: { /* close */
			int code = len >= 2 ? ((unsigned char)payload[0] << 8) | (unsigned char)payload[1]
					    : 1005;
			c->close_code = code;
			unsigned char p[2] = { (unsigned char)(code >> 8), (unsigned char)code };
			if (wsc_queue_frame(c, 8, (const char *)p, len >= 2 ? 2 : 0) == 0)
				(void)wsc_write_pending(c);
			wsc_fail(c, "closed by server", code);
			return -1;
		}
		case 0x9: /* ping */
			if (len > 125 || wsc_queue_frame(c, 0xA, payload, len) < 0)
				return -1;
			break;
		case 0xA: /* pong */
			break;
		default:
			wsc_fail(c, "unknown opcode", 0);
			return -1;
		}
	}
	return 0;
}

static void wsc_on_readable(struct wsc *c)
{
	for (int i = 0; i < WSC_READS_PER_EVENT; i++) {
		if (c->roff == c->rbuf.len) {
			c->roff = c->rbuf.len = 0;
		} else if (c->roff > 0 && c->roff * 2 >= c->rbuf.len) {
			memmove(c->rbuf.data, c->rbuf.data + c->roff, c->rbuf.len - c->roff);
			c->rbuf.len -= c->roff;
			c->roff = 0;
		}
		if (bbuf_reserve(&c->rbuf, WSC_READ_CHUNK) < 0) {
			wsc_fail(c, "out of memory", 0);
			return;
		}
		size_t cap = c->rbuf.cap - c->rbuf.len - 1;
		ssize_t n = c->tls ? tls_recv(c, c->rbuf.data + c->rbuf.len, cap)
				   : recv(c->fd, c->rbuf.data + c->rbuf.len, cap, 0);
		if (n == 0) {
			wsc_fail(c, "connection closed (EOF)", 1006);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			wsc_fail(c, "read error", 1006);
			return;
		}
		c->rbuf.len += (size_t)n;
		c->rbuf.data[c->rbuf.len] = '\0';
		if (c->state == WSC_HANDSHAKE) {
			long used = wsc_parse_upgrade(c);
			if (used < 0) {
				wsc_fail(c, "bad upgrade response", 0);
				return;
			}
			if (used == 0)
				continue;
			c->roff += (size_t)used;
			c->state = WSC_OPEN;
			ev_timer_stop(c->loop, &c->timer);
			if (c->cb->on_open)
				c->cb->on_open(c);
			if (c->state != WSC_OPEN)
				return;
		}
		if (wsc_parse_frames(c) < 0)
			return;
		if ((size_t)n < WSC_READ_CHUNK / 2)
			break;	/* drained the socket, most likely */
	}
	if ((c->state == WSC_OPEN || (c->tls && c->state == WSC_HANDSHAKE)) && wsc_flush(c) < 0)
		return;
}

static void wsc_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct wsc *c = w->data;
	if (c->state == WSC_CONNECTING) {
		if (!(revents & EV_WRITE))
			return;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			wsc_fail(c, soerr == ECONNREFUSED ? "connection refused"
				    : soerr == EADDRNOTAVAIL ? "no source port available"
				    : "connect failed", 0);
			return;
		}
		c->state = WSC_HANDSHAKE;
		if (wsc_write_pending(c) < 0) {
			wsc_fail(c, "write error", 0);
			return;
		}
		wsc_update_events(c);
		return;
	}
	if (revents & EV_WRITE) {
		if (wsc_write_pending(c) < 0) {
			wsc_fail(c, "write error", 0);
			return;
		}
		wsc_update_events(c);
	}
	if ((revents & EV_READ) && c->state != WSC_CLOSED)
		wsc_on_readable(c);
}

int wsc_start(struct wsc *c, struct ev_loop *loop, const struct wsc_callbacks *cb, void *user,
	      const struct sockaddr *dst, socklen_t dlen, const struct sockaddr *src,
	      const char *host_hdr, const char *path, double timeout_s)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->cb = cb;
	c->user = user;
	c->fd = -1;
	c->rng = (uint64_t)clock_mono_ns() ^ ((uint64_t)(uintptr_t)c * 0x9E3779B97F4A7C15ull);
	if (c->rng == 0)
		c->rng = 1;
	unsigned char key[16];
	for (int i = 0; i < 16; i += 8) {
		uint64_t r = xorshift(&c->rng);
		memcpy(key + i, &r, 8);
	}
	char key64[32];
	base64(key, 16, key64);
	char cat[96];
	int catn = snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key64);
	br_sha1_context sha;
	unsigned char dig[20];
	br_sha1_init(&sha);
	br_sha1_update(&sha, cat, (size_t)catn);
	br_sha1_out(&sha, dig);
	base64(dig, 20, c->accept);

	char req[2048];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
			 "User-Agent: parley-bench\r\n\r\n",
			 path, host_hdr, key64);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (g_tls) {
		char host[256];
		snprintf(host, sizeof(host), "%.*s", (int)strcspn(host_hdr, ":"), host_hdr);
		if (!(c->tls = tls_new(host))) {
			errno = ENOMEM;
			return -1;
		}
	}
	int fd = net_connect_nb(dst, dlen, src);
	if (fd < 0) {
		free(c->tls);
		c->tls = NULL;
		return -1;
	}
	c->fd = fd;
	bbuf_append(&c->wbuf, req, (size_t)n);
	c->state = WSC_CONNECTING;
	ev_io_init(&c->io, wsc_io_cb, fd, EV_WRITE);
	c->io.data = c;
	c->io_events = EV_WRITE;
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timer, wsc_timeout_cb, timeout_s, 0);
	c->timer.data = c;
	ev_timer_start(loop, &c->timer);
	return 0;
}
