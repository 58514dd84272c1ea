/* Fuzz target for net/ws_frame.
 *
 * Input: byte 0 picks max_message (bits 0-2) and the largest piece size
 * (bits 3-5), byte 1 seeds the piece sizes; the rest is a client byte
 * stream. It is parsed three ways: in one wsf_parse sequence over the
 * whole buffer, in pieces (each from a fresh allocation, so ASan sees any
 * read past a piece), and by a simple whole-buffer reference parser written
 * here from RFC 6455. All three must give the same events (opcode, close
 * code, payload bytes) and the same error; wsf_mid_frame/wsf_busy must
 * match the reference's view at the end. Event invariants: data readable
 * for len bytes, data messages <= max_message, control payloads <= 125
 * and in the parser's control buffer, text valid UTF-8, close codes valid.
 * Any disagreement aborts, so logic errors are reported like crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const size_t max_messages[8] = { 0, 1, 7, 125, 126, 200, 1000, 70000 };
static const size_t max_pieces[8] = { 1, 2, 3, 5, 8, 16, 64, 1024 };

/* ---------- traces ---------- */

typedef struct {
	uint8_t op;
	uint16_t code;
	size_t len;
	size_t off;      /* payload in the trace's byte pool */
} rec;

typedef struct {
	rec ev[512];
	int n;
	uint8_t *pool;
	size_t plen, pcap;
	int err;
	bool overflow;   /* more events than ev holds: compare the first 512 */
} trace;

static void add(trace *t, uint8_t op, uint16_t code, const uint8_t *d, size_t len)
{
	if (t->n == (int)(sizeof t->ev / sizeof *t->ev)) {
		t->overflow = true;
		return;
	}
	if (t->plen + len > t->pcap) {
		size_t cap = t->pcap ? t->pcap : 1024;
		while (cap < t->plen + len)
			cap *= 2;
		t->pool = realloc(t->pool, cap);
		CHECK(t->pool);
		t->pcap = cap;
	}
	if (len)
		memcpy(t->pool + t->plen, d, len);
	t->ev[t->n++] = (rec){ op, code, len, t->plen };
	t->plen += len;
}

static void same(const trace *a, const trace *b)
{
	CHECK(a->err == b->err);
	CHECK(a->n == b->n);
	CHECK(a->overflow == b->overflow);
	for (int i = 0; i < a->n; i++) {
		CHECK(a->ev[i].op == b->ev[i].op);
		CHECK(a->ev[i].code == b->ev[i].code);
		CHECK(a->ev[i].len == b->ev[i].len);
		CHECK(!a->ev[i].len ||
		      memcmp(a->pool + a->ev[i].off, b->pool + b->ev[i].off, a->ev[i].len) == 0);
	}
}

/* ---------- reference ---------- */

/* 0: valid UTF-8; 1: a valid prefix ending inside a character; -1: no
 * continuation can make it valid. Decodes each sequence; a truncated one is
 * a valid prefix when the code points its completions can reach (an
 * interval) meet the valid ones. */
static int ref_utf8(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return -1;
		}
		size_t have = n - i - 1, t = have < k ? have : k;
		for (size_t j = 1; j <= t; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (t < k) {
			unsigned sh = 6 * (unsigned)(k - t);
			uint32_t lo = cp << sh, hi = lo | ((1u << sh) - 1);
			uint32_t a = lo > min ? lo : min, b = hi < 0x10FFFF ? hi : 0x10FFFF;
			if (a > b || (a >= 0xD800 && b <= 0xDFFF))
				return -1;
			return 1;
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		i += k + 1;
	}
	return 0;
}

static bool ref_close_code(unsigned c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

/* Parses the whole of in[0..n) at once: events and error into t, and
 * whether a frame (*mid) or a fragmented message (*open) is unfinished. */
static void reference(trace *t, size_t max, const uint8_t *in, size_t n, bool *mid, bool *open)
{
	size_t pos = 0;
	uint8_t msg_op = 0;
	uint8_t *msg = NULL;
	size_t mlen = 0;
	*mid = false;
	while (pos < n) {
		*mid = true;
		if (n - pos < 2)
			break;
		uint8_t b0 = in[pos], b1 = in[pos + 1];
		uint8_t op = b0 & 0x0F, l7 = b1 & 0x7F;
		bool fin = b0 & 0x80, ctl = op & 8;
		bool ok = !(b0 & 0x70) && (b1 & 0x80);
		if (op == 0)
			ok = ok && msg_op;
		else if (op == 1 || op == 2)
			ok = ok && !msg_op;
		else if (op >= 8 && op <= 10)
			ok = ok && fin && l7 <= 125;
		else
			ok = false;
		if (!ok) {
			t->err = WSF_EPROTO;
			break;
		}
		size_t ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
		if (n - pos < 2 + ext + 4)
			break;
		uint64_t len = l7;
		if (ext) {
			len = 0;
			for (size_t i = 0; i < ext; i++)
				len = (len << 8) | in[pos + 2 + i];
		}
		if (len >> 63) {
			t->err = WSF_EPROTO;
			break;
		}
		const uint8_t *mask = in + pos + 2 + ext;
		pos += 2 + ext + 4;
		if (!ctl) {
			if (op)
				msg_op = op;
			if (len > max || mlen + len > max) {
				t->err = WSF_ETOO_BIG;
				break;
			}
		}
		size_t avail = n - pos < len ? n - pos : (size_t)len;
		uint8_t *pl = malloc(avail ? avail : 1);
		CHECK(pl);
		for (size_t i = 0; i < avail; i++)
			pl[i] = in[pos + i] ^ mask[i & 3];
		pos += avail;
		if (!ctl) {
			msg = realloc(msg, mlen + avail + 1);
			CHECK(msg);
			if (avail)
				memcpy(msg + mlen, pl, avail);
			mlen += avail;
			if (msg_op == WSF_OP_TEXT && ref_utf8(msg, mlen) < 0) {
				t->err = WSF_EUTF8;
				free(pl);
				break;
			}
		}
		if (avail < len) {   /* the input ends inside this frame */
			free(pl);
			break;
		}
		*mid = false;
		if (ctl) {
			uint16_t code = 0;
			const uint8_t *d = pl;
			size_t dl = avail;
			if (op == WSF_OP_CLOSE) {
				if (dl == 1) {
					t->err = WSF_EPROTO;
				} else if (dl == 0) {
					code = WSF_CLOSE_NO_STATUS;
				} else {
					code = (uint16_t)(pl[0] << 8 | pl[1]);
					if (!ref_close_code(code))
						t->err = WSF_EPROTO;
					else if (ref_utf8(pl + 2, dl - 2) != 0)
						t->err = WSF_EUTF8;
					d += 2;
					dl -= 2;
				}
			}
			if (!t->err)
				add(t, op, code, d, dl);
		} else if (fin) {
			if (msg_op == WSF_OP_TEXT && ref_utf8(msg, mlen) != 0)
				t->err = WSF_EUTF8;
			else
				add(t, msg_op, 0, msg, mlen);
			msg_op = 0;
			mlen = 0;
		}
		free(pl);
		if (t->err)
			break;
	}
	*open = msg_op != 0;
	free(msg);
}

/* ---------- the parser under test ---------- */

static uint32_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Checks an event and records it. */
static void take_event(trace *t, const wsf_parser *p, const wsf_event *ev)
{
	CHECK(ev->data != NULL);
	switch (ev->opcode) {
	case WSF_OP_TEXT:
		CHECK(wsf_utf8_valid(ev->data, ev->len));
		CHECK(ref_utf8(ev->data, ev->len) == 0);
		/* fall through */
	case WSF_OP_BINARY:
		CHECK(ev->len <= p->max_message);
		CHECK(ev->close_code == 0);
		break;
	case WSF_OP_CLOSE:
		CHECK(ev->close_code == WSF_CLOSE_NO_STATUS ? ev->len == 0
							     : wsf_close_code_valid(ev->close_code));
		CHECK(wsf_utf8_valid(ev->data, ev->len));
		/* fall through */
	case WSF_OP_PING:
	case WSF_OP_PONG:
		CHECK(ev->len <= 125);
		/* a control payload lives in the parser's control buffer (125 bytes,
		 * allocated only for a non-empty one) */
		CHECK(ev->len == 0 || (p->ctl && ev->data >= p->ctl && ev->data + ev->len <= p->ctl + 125));
		if (ev->opcode != WSF_OP_CLOSE)
			CHECK(ev->close_code == 0);
		break;
	default:
		CHECK(0);
	}
	/* the encoder's header for this payload states its length */
	uint8_t h[10];
	size_t hl = wsf_header(h, ev->opcode, ev->len);
	uint64_t l = h[1] & 0x7F;
	CHECK(h[0] == (0x80 | ev->opcode) && !(h[1] & 0x80));
	if (hl == 4)
		l = (uint64_t)h[2] << 8 | h[3];
	else if (hl == 10)
		for (int i = 0; i < 8; i++)
			l = (i ? l << 8 : 0) | h[2 + i];
	CHECK(l == ev->len && hl == (ev->len < 126 ? 2u : ev->len <= 0xFFFF ? 4u : 10u));
	add(t, ev->opcode, ev->close_code, ev->data, ev->len);
}

/* Feeds in[0..n) as one read; false after an error. */
static bool feed(wsf_parser *p, trace *t, const uint8_t *in, size_t n)
{
	size_t pos = 0;
	while (pos < n) {
		size_t used = (size_t)-1;
		wsf_event ev;
		int rc = wsf_parse(p, in + pos, n - pos, &used, &ev);
		CHECK(used <= n - pos);
		if (rc < 0) {
			CHECK(rc == WSF_EPROTO || rc == WSF_EUTF8 || rc == WSF_ETOO_BIG);
			CHECK(used == 0);
			t->err = rc;
			/* sticky */
			CHECK(wsf_parse(p, in, n, &used, &ev) == rc && used == 0);
			return false;
		}
		if (rc == WSF_AGAIN) {
			CHECK(used == n - pos);
			return true;
		}
		CHECK(rc == WSF_EVENT && used > 0);
		pos += used;
		take_event(t, p, &ev);
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t max = max_messages[data[0] & 7];
	size_t maxpiece = max_pieces[(data[0] >> 3) & 7];
	rng = 0x9E3779B9u ^ ((uint32_t)data[1] * 0x01000193u);
	const uint8_t *in = data + 2;
	size_t n = size - 2;

	/* the traces keep their byte pools from input to input */
	static trace ref, one, pcs;
	trace *all[3] = { &ref, &one, &pcs };
	for (int i = 0; i < 3; i++) {
		all[i]->n = 0;
		all[i]->plen = 0;
		all[i]->err = 0;
		all[i]->overflow = false;
	}

	bool mid, open;
	reference(&ref, max, in, n, &mid, &open);

	/* one read */
	wsf_parser p;
	wsf_init(&p, max);
	if (feed(&p, &one, in, n)) {
		CHECK(wsf_mid_frame(&p) == mid);
		CHECK(wsf_busy(&p) == (mid || open));
	}
	wsf_free(&p);
	same(&ref, &one);

	/* in pieces */
	wsf_init(&p, max);
	size_t pos = 0;
	bool ok = true;
	while (pos < n && ok) {
		size_t k = 1 + rnd() % maxpiece;
		if (k > n - pos)
			k = n - pos;
		uint8_t *piece = malloc(k);
		CHECK(piece);
		memcpy(piece, in + pos, k);
		ok = feed(&p, &pcs, piece, k);
		free(piece);
		pos += k;
	}
	if (ok) {
		CHECK(wsf_mid_frame(&p) == mid);
		CHECK(wsf_busy(&p) == (mid || open));
	}
	wsf_free(&p);
	same(&ref, &pcs);
	return 0;
}
