/* scen_http — a non-blocking keep-alive HTTP/1.1 client on libev (one
 * request at a time per client; responses carry Content-Length or are
 * chunked, as parleyd's streamed exports are). See scen.h. */
#include "scen.h"

#include "core/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HCL_MAX_HEADER 65536
#define HCL_MAX_BODY (16u << 20)

void hcl_init(struct hcl *c, struct ev_loop *loop, const struct sockaddr *dst, socklen_t dlen,
	      const struct sockaddr *src, const char *host_hdr, double timeout_s, hcl_done_fn done,
	      void *user)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->fd = -1;
	c->dst = dst;
	c->dlen = dlen;
	c->src = src;
	c->host_hdr = host_hdr;
	c->timeout_s = timeout_s;
	c->done = done;
	c->user = user;
	c->state = HCL_DOWN;
}

static void hcl_drop(struct hcl *c)
{
	if (c->fd >= 0) {
		ev_io_stop(c->loop, &c->io);
		close(c->fd);
	}
	ev_timer_stop(c->loop, &c->timer);
	c->fd = -1;
	c->io_events = 0;
	c->state = HCL_DOWN;
	c->w.len = c->woff = 0;
	c->r.len = 0;
}

void hcl_close(struct hcl *c)
{
	hcl_drop(c);
	bbuf_free(&c->w);
	bbuf_free(&c->r);
}

static void fail(struct hcl *c, const char *err)
{
	bool pending = c->state == HCL_BUSY || c->state == HCL_CONNECTING;
	hcl_drop(c);
	if (pending)
		c->done(c, 0, NULL, 0, err);
}

static void want(struct hcl *c, int ev)
{
	if (c->io_events == ev)
		return;
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	ev_io_start(c->loop, &c->io);
	c->io_events = ev;
}

static int flush_out(struct hcl *c)
{
	for (int i = 0; i < 64 && c->woff < c->w.len; i++) {
		ssize_t n = send(c->fd, c->w.data + c->woff, c->w.len - c->woff, MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return -1;
	}
	if (c->woff == c->w.len)
		c->w.len = c->woff = 0;
	want(c, c->w.len ? EV_READ | EV_WRITE : EV_READ);
	return 0;
}

/* Returns 1 when a whole response was handled, 0 when more bytes are
 * needed, -1 when the connection failed (callback already run). */
static int try_parse(struct hcl *c)
{
	if (c->state != HCL_BUSY) {
		fail(c, "unexpected bytes from the server");
		return -1;
	}
	char *e = memmem(c->r.data, c->r.len, "\r\n\r\n", 4);
	if (!e) {
		if (c->r.len > HCL_MAX_HEADER) {
			fail(c, "response headers too large");
			return -1;
		}
		return 0;
	}
	size_t hend = (size_t)(e - c->r.data) + 4;
	int status = 0;
	if (sscanf(c->r.data, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		fail(c, "bad status line");
		return -1;
	}
	const char *cl = net_find_header(c->r.data, hend, "Content-Length");
	const char *te = net_find_header(c->r.data, hend, "Transfer-Encoding");
	size_t want_len, raw_len;
	if (te && strncasecmp(te, "chunked", 7) == 0) {
		/* walk the chunks; once the last is in, join them in place */
		size_t pos = hend, out = hend;
		for (;;) {
			char *eol = memmem(c->r.data + pos, c->r.len - pos, "\r\n", 2);
			if (!eol)
				return 0;
			size_t csz = strtoul(c->r.data + pos, NULL, 16), dstart = (size_t)(eol - c->r.data) + 2;
			if (csz > HCL_MAX_BODY || out - hend + csz > HCL_MAX_BODY) {
				fail(c, "response body too large");
				return -1;
			}
			if (c->r.len < dstart + csz + 2)
				return 0;
			pos = dstart + csz + 2;
			if (csz == 0)
				break;
		}
		raw_len = pos - hend;
		for (pos = hend;;) {
			char *eol = memmem(c->r.data + pos, c->r.len - pos, "\r\n", 2);
			size_t csz = strtoul(c->r.data + pos, NULL, 16), dstart = (size_t)(eol - c->r.data) + 2;
			if (csz == 0)
				break;
			memmove(c->r.data + out, c->r.data + dstart, csz);
			out += csz;
			pos = dstart + csz + 2;
		}
		want_len = out - hend;
	} else if (cl) {
		want_len = raw_len = strtoul(cl, NULL, 10);
		if (want_len > HCL_MAX_BODY) {
			fail(c, "response body too large");
			return -1;
		}
		if (c->r.len < hend + want_len)
			return 0;
	} else {
		fail(c, "response without Content-Length or chunks");
		return -1;
	}
	const char *conn = net_find_header(c->r.data, hend, "Connection");
	bool close_after = conn && strncasecmp(conn, "close", 5) == 0;
	if (c->r.len > hend + raw_len) {
		fail(c, "bytes after the response (pipelining is not used)");
		return -1;
	}
	c->r.data[hend + want_len] = 0;
	/* the body is passed in place (NUL-terminated: r.len == hend + want_len):
	 * a request the callback starts resets r.len but reads nothing into r
	 * before the callback returns */
	char *body = c->r.data + hend;
	c->r.len = 0;
	if (close_after)
		hcl_drop(c);
	else
		c->state = HCL_IDLE;
	ev_timer_stop(c->loop, &c->timer);
	c->done(c, status, body, want_len, NULL);
	return 1;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct hcl *c = w->data;
	if (c->state == HCL_CONNECTING) {
		if (!(revents & EV_WRITE))
			return;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			fail(c, soerr == ECONNREFUSED ? "connection refused" : "connect failed");
			return;
		}
		c->state = HCL_BUSY;
		c->t_sent = clock_mono_ns();
	}
	if ((revents & EV_WRITE) && c->fd >= 0 && flush_out(c) < 0) {
		fail(c, "write error");
		return;
	}
	if (!(revents & EV_READ) || c->fd < 0)
		return;
	for (int i = 0; i < 16 && c->fd >= 0; i++) {
		if (bbuf_reserve(&c->r, 65536) < 0) {
			fail(c, "out of memory");
			return;
		}
		ssize_t n = recv(c->fd, c->r.data + c->r.len, c->r.cap - c->r.len - 1, 0);
		if (n == 0) {
			if (c->state == HCL_IDLE) {	/* the server closed an idle keep-alive */
				hcl_drop(c);
				return;
			}
			fail(c, "connection closed by the server");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			fail(c, "read error");
			return;
		}
		c->r.len += (size_t)n;
		c->r.data[c->r.len] = '\0';
		if (try_parse(c) != 0)
			return;
	}
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	fail(t->data, "timeout");
}

int hcl_request(struct hcl *c, const char *method, const char *path, const char *bearer,
		const char *body)
{
	if (c->state == HCL_BUSY || c->state == HCL_CONNECTING)
		return -1;
	c->w.len = c->woff = 0;
	c->r.len = 0;
	char line[1200];
	int n = snprintf(line, sizeof(line),
			 "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: parley-bench\r\n"
			 "Accept: */*\r\n",
			 method, path, c->host_hdr);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	bbuf_append(&c->w, line, (size_t)n);
	if (bearer) {
		bbuf_append(&c->w, "Authorization: Bearer ", 22);
		bbuf_append(&c->w, bearer, strlen(bearer));
		bbuf_append(&c->w, "\r\n", 2);
	}
	if (body) {
		n = snprintf(line, sizeof(line),
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
		bbuf_append(&c->w, line, (size_t)n);
	}
	bbuf_append(&c->w, "\r\n", 2);
	if (body)
		bbuf_append(&c->w, body, strlen(body));
	ev_timer_init(&c->timer, timer_cb, c->timeout_s, 0);
	c->timer.data = c;
	ev_timer_start(c->loop, &c->timer);
	if (c->fd < 0) {
		int fd = net_connect_nb(c->dst, c->dlen, c->src);
		if (fd < 0) {
			ev_timer_stop(c->loop, &c->timer);
			return -1;
		}
		c->fd = fd;
		c->connects++;
		c->state = HCL_CONNECTING;
		ev_io_init(&c->io, io_cb, fd, EV_WRITE);
		c->io.data = c;
		c->io_events = EV_WRITE;
		ev_io_start(c->loop, &c->io);
		return 0;
	}
	c->state = HCL_BUSY;
	c->t_sent = clock_mono_ns();
	if (flush_out(c) < 0) {
		/* a stale keep-alive connection: report through the callback */
		fail(c, "write error");
	}
	return 0;
}
