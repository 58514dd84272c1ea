/* bench_sio — see bench_sio.h. Engine.IO v4 packet types: 0 open, 1 close,
 * 2 ping, 3 pong, 4 message, 6 noop; a message carries a Socket.IO packet:
 * 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5/6 binary. */
#include "bench_sio.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIO_MAX_SETS 8
#define SIO_MAX_INTERNED 256
#define SIO_STACK_BUF 4096
#define SIO_LETTERS 52			/* a-z A-Z */
#define SIO_INTERNED_TAG 63		/* low 6 bits of an interned id */
#define SIO_MAX_DECIMAL (1ull << 47)	/* keeps ids below 2^53 (exact in JS) */

struct sio_set {
	struct wsc_callbacks cb;	/* first: wsc->cb points here */
	const struct wsc_callbacks *inner;
	double open_timeout;
};

static pthread_mutex_t sets_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sio_set sets[SIO_MAX_SETS];
static int nsets;

static pthread_mutex_t intern_mu = PTHREAD_MUTEX_INITIALIZER;
static char *interned[SIO_MAX_INTERNED];
static int ninterned;

static const struct sio_set *set_of(const struct wsc *c)
{
	return (const struct sio_set *)(const void *)c->cb;
}

/* ------------------------------------------------------------- ack ids */

static int letter_index(char ch)
{
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a';
	if (ch >= 'A' && ch <= 'Z')
		return 26 + (ch - 'A');
	return -1;
}

/* parley id -> Socket.IO ack id; false when it cannot be encoded. */
static bool encode_id(const char *id, size_t n, unsigned long long *out)
{
	int li = n >= 2 ? letter_index(id[0]) : -1;
	if (li >= 0 && n <= 15 && !(id[1] == '0' && n > 2)) {
		unsigned long long v = 0;
		size_t i;
		for (i = 1; i < n && id[i] >= '0' && id[i] <= '9'; i++)
			v = v * 10 + (unsigned long long)(id[i] - '0');
		if (i == n && v < SIO_MAX_DECIMAL) {
			*out = v * 64 + (unsigned long long)li;
			return true;
		}
	}
	if (n == 0 || n > 64)
		return false;
	bool ok = false;
	pthread_mutex_lock(&intern_mu);
	for (int i = 0; i < ninterned && !ok; i++) {
		if (strlen(interned[i]) == n && memcmp(interned[i], id, n) == 0) {
			*out = (unsigned long long)i * 64 + SIO_INTERNED_TAG;
			ok = true;
		}
	}
	if (!ok && ninterned < SIO_MAX_INTERNED) {
		char *s = strndup(id, n);
		if (s) {
			interned[ninterned] = s;
			*out = (unsigned long long)ninterned * 64 + SIO_INTERNED_TAG;
			ninterned++;
			ok = true;
		}
	}
	pthread_mutex_unlock(&intern_mu);
	return ok;
}

/* Socket.IO ack id -> parley id in out (NUL-terminated); false if unknown. */
static bool decode_id(unsigned long long v, char *out, size_t cap)
{
	unsigned tag = (unsigned)(v % 64);
	unsigned long long hi = v / 64;
	if (tag == SIO_INTERNED_TAG) {
		bool ok = false;
		pthread_mutex_lock(&intern_mu);
		if (hi < (unsigned long long)ninterned) {
			snprintf(out, cap, "%s", interned[hi]);
			ok = true;
		}
		pthread_mutex_unlock(&intern_mu);
		return ok;
	}
	if (tag >= SIO_LETTERS)
		return false;
	char letter = tag < 26 ? (char)('a' + tag) : (char)('A' + (tag - 26));
	snprintf(out, cap, "%c%llu", letter, hi);
	return true;
}

/* ------------------------------------------------------- frame building */

struct sbuf {
	char *p;
	size_t len, cap;
	bool heap;
	bool oom;
	char stack[SIO_STACK_BUF];
};

static void sb_init(struct sbuf *b)
{
	b->p = b->stack;
	b->len = 0;
	b->cap = sizeof(b->stack);
	b->heap = false;
	b->oom = false;
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap * 2;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = b->heap ? realloc(b->p, cap) : malloc(cap);
		if (!np) {
			b->oom = true;
			return;
		}
		if (!b->heap)
			memcpy(np, b->p, b->len);
		b->p = np;
		b->cap = cap;
		b->heap = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_free(struct sbuf *b)
{
	if (b->heap)
		free(b->p);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* For an object text "{…}" sets *body and *blen to what is between the braces
 * (trimmed); false when s is not brace-delimited. */
static bool object_body(const char *s, size_t n, const char **body, size_t *blen)
{
	while (n > 0 && is_space(s[n - 1]))
		n--;
	while (n > 0 && is_space(*s)) {
		s++;
		n--;
	}
	if (n < 2 || s[0] != '{' || s[n - 1] != '}')
		return false;
	s++;
	n -= 2;
	while (n > 0 && is_space(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;
	*body = s;
	*blen = n;
	return true;
}

/* Hands {"type":T[,"id":I][,body]} to the parley callbacks. */
static void deliver(struct wsc *c, const char *type, size_t tlen, const char *id, const char *body,
		    size_t blen)
{
	const struct sio_set *s = set_of(c);
	struct sbuf b;
	sb_init(&b);
	sb_str(&b, "{\"type\":\"");
	sb_add(&b, type, tlen);
	sb_str(&b, "\"");
	if (id) {
		sb_str(&b, ",\"id\":\"");
		sb_str(&b, id);
		sb_str(&b, "\"");
	}
	if (blen > 0) {
		sb_str(&b, ",");
		sb_add(&b, body, blen);
	}
	sb_str(&b, "}");
	if (!b.oom && s->inner->on_text)
		s->inner->on_text(c, b.p, b.len);
	sb_free(&b);
}

/* ------------------------------------------------------------ receiving */

static void on_connect_error(struct wsc *c, const char *p, size_t n)
{
	json_error_t je;
	json_t *o = json_loadb(p, n, 0, &je);
	const char *m = json_string_value(json_object_get(o, "message"));
	json_t *frame = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "error", "id", "auth", "error",
				  "code", m ? m : "connect_error", "message", m ? m : "CONNECT_ERROR");
	char *txt = frame ? json_dumps(frame, JSON_COMPACT) : NULL;
	const struct sio_set *s = set_of(c);
	if (txt && s->inner->on_text)
		s->inner->on_text(c, txt, strlen(txt));
	free(txt);
	json_decref(frame);
	json_decref(o);
}

/* p/n: a Socket.IO EVENT after the type digit ("[\"name\",{…}]", maybe
 * preceded by an ack id the server wants; we never answer those). */
static void on_event(struct wsc *c, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i + 3 > n || p[i] != '[' || p[i + 1] != '"')
		return;
	size_t name = i + 2, ne = name;
	while (ne < n && p[ne] != '"' && p[ne] != '\\')
		ne++;
	if (ne >= n || p[ne] != '"')
		return;	/* escaped event names are not used by the peer */
	size_t rest = ne + 1, end = n;
	while (end > rest && is_space(p[end - 1]))
		end--;
	if (end <= rest || p[end - 1] != ']')
		return;
	end--;	/* drop the closing ']' of the array */
	while (rest < end && is_space(p[rest]))
		rest++;
	if (rest == end) {
		deliver(c, p + name, ne - name, NULL, NULL, 0);
		return;
	}
	if (p[rest] != ',')
		return;
	rest++;
	const char *body;
	size_t blen;
	if (object_body(p + rest, end - rest, &body, &blen)) {
		deliver(c, p + name, ne - name, NULL, body, blen);
	} else {	/* a non-object argument: {"type":name,"data":arg} */
		struct sbuf b;
		sb_init(&b);
		sb_str(&b, "\"data\":");
		sb_add(&b, p + rest, end - rest);
		if (!b.oom)
			deliver(c, p + name, ne - name, NULL, b.p, b.len);
		sb_free(&b);
	}
}

/* p/n: a Socket.IO ACK after the type digit ("<id>[{…}]"). */
static void on_ack(struct wsc *c, const char *p, size_t n)
{
	size_t i = 0;
	unsigned long long v = 0;
	while (i < n && i < 18 && p[i] >= '0' && p[i] <= '9')
		v = v * 10 + (unsigned long long)(p[i++] - '0');
	char id[80];
	if (i == 0 || !decode_id(v, id, sizeof(id)))
		return;
	size_t end = n;
	while (end > i && is_space(p[end - 1]))
		end--;
	if (end <= i + 1 || p[i] != '[' || p[end - 1] != ']')
		return;
	const char *body = NULL;
	size_t blen = 0;
	if (end - i > 2 && !object_body(p + i + 1, end - i - 2, &body, &blen))
		return;	/* acks with non-object arguments are not used */
	static const char errkey[] = "\"error\":";
	bool is_err = blen >= sizeof(errkey) - 1 && memcmp(body, errkey, sizeof(errkey) - 1) == 0;
	if (is_err)
		deliver(c, "error", 5, id, body, blen);
	else
		deliver(c, "ack", 3, id, body, blen);
}

static void sio_on_open(struct wsc *c)
{
	/* WebSocket is up; wait for the Engine.IO open packet */
	wsc_set_timeout(c, set_of(c)->open_timeout);
}

static void sio_on_text(struct wsc *c, char *data, size_t len)
{
	const struct sio_set *s = set_of(c);
	if (len == 0)
		return;
	switch (data[0]) {
	case '0':	/* open: {"sid","upgrades","pingInterval","pingTimeout","maxPayload"} */
		wsc_set_timeout(c, 0);
		if (s->inner->on_open)
			s->inner->on_open(c);
		return;
	case '2': {	/* ping -> pong with the same payload */
		char pong[64];
		if (len < sizeof(pong)) {
			memcpy(pong, data, len);
			pong[0] = '3';
			(void)wsc_send_text(c, pong, len, true);
		}
		return;
	}
	case '4':
		break;
	default:	/* 1 close (the socket close follows), 3 pong, 6 noop */
		return;
	}
	if (len < 2)
		return;
	const char *p = data + 2;
	size_t n = len - 2;
	if (n > 0 && p[0] == '/') {	/* "/nsp," — only "/" is used; skip it */
		size_t i = 0;
		while (i < n && p[i] != ',')
			i++;
		p += i < n ? i + 1 : n;
		n -= i < n ? i + 1 : n;
	}
	switch (data[1]) {
	case '0':	/* CONNECT accepted */
		deliver(c, "ack", 3, "auth", NULL, 0);
		break;
	case '4':
		on_connect_error(c, p, n);
		break;
	case '2':
		on_event(c, p, n);
		break;
	case '3':
		on_ack(c, p, n);
		break;
	case '1':	/* DISCONNECT from the server */
		wsc_close(c, 1000);
		if (s->inner->on_close)
			s->inner->on_close(c, "socket.io disconnect", 1000);
		break;
	default:	/* binary packets: not supported, ignored */
		break;
	}
}

static void sio_on_close(struct wsc *c, const char *reason, int code)
{
	const struct sio_set *s = set_of(c);
	if (s->inner->on_close)
		s->inner->on_close(c, reason, code);
}

const struct wsc_callbacks *sio_callbacks(const struct wsc_callbacks *inner, double open_timeout_s)
{
	const struct wsc_callbacks *r = NULL;
	pthread_mutex_lock(&sets_mu);
	for (int i = 0; i < nsets && !r; i++)
		if (sets[i].inner == inner && sets[i].open_timeout == open_timeout_s)
			r = &sets[i].cb;
	if (!r && inner && nsets < SIO_MAX_SETS) {
		struct sio_set *s = &sets[nsets++];
		s->cb.on_open = sio_on_open;
		s->cb.on_text = sio_on_text;
		s->cb.on_close = sio_on_close;
		s->inner = inner;
		s->open_timeout = open_timeout_s;
		r = &s->cb;
	}
	pthread_mutex_unlock(&sets_mu);
	return r;
}

/* -------------------------------------------------------------- sending */

/* Reads "key":"value" at *pos (no escapes in value); advances *pos. */
static bool read_pair(const char *f, size_t n, size_t *pos, const char *key, const char **val,
		      size_t *vlen)
{
	size_t kl = strlen(key), i = *pos;
	if (i + kl + 4 > n || f[i] != '"' || memcmp(f + i + 1, key, kl) != 0 ||
	    memcmp(f + i + 1 + kl, "\":\"", 3) != 0)
		return false;
	i += kl + 4;
	size_t start = i;
	while (i < n && f[i] != '"' && f[i] != '\\')
		i++;
	if (i >= n || f[i] != '"')
		return false;
	*val = f + start;
	*vlen = i - start;
	*pos = i + 1;
	return true;
}

static int send_packet(struct wsc *c, const char *type, size_t tlen, const char *id, size_t idlen,
		       const char *body, size_t blen, bool flush)
{
	struct sbuf b;
	sb_init(&b);
	if (tlen == 4 && memcmp(type, "auth", 4) == 0) {
		sb_str(&b, "40{");
		sb_add(&b, body, blen);
		sb_str(&b, "}");
	} else {
		char num[32] = "";
		unsigned long long ack;
		if (id) {
			if (!encode_id(id, idlen, &ack)) {
				sb_free(&b);
				return -1;
			}
			snprintf(num, sizeof(num), "%llu", ack);
		}
		sb_str(&b, "42");
		sb_str(&b, num);
		sb_str(&b, "[\"");
		sb_add(&b, type, tlen);
		sb_str(&b, "\",{");
		sb_add(&b, body, blen);
		sb_str(&b, "}]");
	}
	int rc = b.oom ? -1 : wsc_send_text(c, b.p, b.len, flush);
	sb_free(&b);
	return rc;
}

/* Any key order: parse, take "type" and "id" out, send the rest. */
static int send_parsed(struct wsc *c, const char *frame, size_t len, bool flush)
{
	json_error_t je;
	json_t *o = json_loadb(frame, len, 0, &je);
	int rc = -1;
	if (json_is_object(o)) {
		json_t *jt = json_object_get(o, "type"), *ji = json_object_get(o, "id");
		char *type = json_is_string(jt) ? strdup(json_string_value(jt)) : NULL;
		char *id = json_is_string(ji) ? strdup(json_string_value(ji)) : NULL;
		json_object_del(o, "type");
		json_object_del(o, "id");
		char *rest = json_dumps(o, JSON_COMPACT);
		const char *body;
		size_t blen;
		if (type && rest && object_body(rest, strlen(rest), &body, &blen))
			rc = send_packet(c, type, strlen(type), id, id ? strlen(id) : 0, body, blen,
					 flush);
		free(rest);
		free(type);
		free(id);
	}
	json_decref(o);
	return rc;
}

int sio_send_frame(struct wsc *c, const char *frame, size_t len, bool flush)
{
	/* fast path for the frames parley-bench builds: {"type":"T","id":"I",…} */
	size_t pos = 1;
	const char *type, *id = NULL;
	size_t tlen, idlen = 0;
	if (len < 2 || frame[0] != '{' || !read_pair(frame, len, &pos, "type", &type, &tlen))
		return send_parsed(c, frame, len, flush);
	if (pos < len && frame[pos] == ',') {
		size_t p2 = pos + 1;
		if (read_pair(frame, len, &p2, "id", &id, &idlen))
			pos = p2;
	}
	size_t end = len;
	while (end > pos && is_space(frame[end - 1]))
		end--;
	if (end <= pos || frame[end - 1] != '}')
		return send_parsed(c, frame, len, flush);
	end--;
	if (pos < end && frame[pos] == ',')
		pos++;
	else if (pos != end)
		return send_parsed(c, frame, len, flush);
	return send_packet(c, type, tlen, id, idlen, frame + pos, end - pos, flush);
}
