/* Unit tests for net/ws_frame: client frames of every type and length form,
 * input split at every byte, several frames per read, fragmentation with
 * control frames in between, every protocol error with its close code,
 * UTF-8 (incremental and one-shot, against a reference decoder), the
 * message size limit, the encoder, and a property test: random valid frame
 * sequences cut at random points give the events of one-shot parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/ws_frame.h"

#define FIN 0x80
#define BIG (1u << 20)   /* max_message when the limit is not under test */

/* ------------------------------------------------------------ frame builder */

enum { LEN_MIN = 0, LEN_7 = 7, LEN_16 = 16, LEN_64 = 64 };

static unsigned mask_seed = 1;

/* Appends a client frame: first byte b0 (FIN | RSV | opcode), the payload
 * length in the given form (LEN_MIN: the shortest), masked with a key that
 * changes from frame to frame (unmasked when !masked). Returns its size. */
static size_t frame_ex(buf *b, unsigned b0, const void *payload, size_t len, int form, bool masked)
{
	uint8_t h[14];
	size_t n = 0;
	if (form == LEN_MIN)
		form = len < 126 ? LEN_7 : len <= 0xFFFF ? LEN_16 : LEN_64;
	h[n++] = (uint8_t)b0;
	uint8_t mbit = masked ? 0x80 : 0;
	if (form == LEN_7) {
		h[n++] = (uint8_t)(mbit | len);
	} else if (form == LEN_16) {
		h[n++] = mbit | 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = mbit | 127;
		for (int i = 0; i < 8; i++)
			h[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	uint8_t mask[4] = { 0 };
	if (masked) {
		mask_seed = mask_seed * 1103515245u + 12345u;
		for (int i = 0; i < 4; i++)
			mask[i] = (uint8_t)(mask_seed >> (8 * i));
		memcpy(h + n, mask, 4);
		n += 4;
	}
	assert_int_equal(buf_append(b, h, n), 0);
	assert_int_equal(buf_reserve(b, len), 0);
	const uint8_t *src = payload;
	uint8_t *dst = (uint8_t *)b->data + b->len;
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i] ^ mask[i & 3];
	b->len += len;
	b->data[b->len] = 0;
	return n + len;
}

static size_t frame(buf *b, unsigned b0, const void *payload, size_t len)
{
	return frame_ex(b, b0, payload, len, LEN_MIN, true);
}

static size_t frame_str(buf *b, unsigned b0, const char *s)
{
	return frame(b, b0, s, strlen(s));
}

/* A close frame with code and reason. */
static size_t close_frame(buf *b, unsigned code, const void *reason, size_t rlen)
{
	uint8_t p[200];
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	if (rlen)
		memcpy(p + 2, reason, rlen);
	return frame(b, FIN | WSF_OP_CLOSE, p, 2 + rlen);
}

/* Just a header (masked, mask key 0), for the cases decided before payload. */
static size_t header_only(buf *b, unsigned b0, uint64_t len7_or_len, int form)
{
	uint8_t h[14];
	size_t n = 0;
	h[n++] = (uint8_t)b0;
	if (form == LEN_7) {
		h[n++] = (uint8_t)(0x80 | len7_or_len);
	} else if (form == LEN_16) {
		h[n++] = 0x80 | 126;
		h[n++] = (uint8_t)(len7_or_len >> 8);
		h[n++] = (uint8_t)len7_or_len;
	} else {
		h[n++] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			h[n++] = (uint8_t)(len7_or_len >> (56 - 8 * i));
	}
	memset(h + n, 0, 4);
	n += 4;
	assert_int_equal(buf_append(b, h, n), 0);
	return n;
}

/* ------------------------------------------------------------------ traces */

typedef struct {
	uint8_t op;
	uint16_t code;
	size_t len;
	uint8_t *data;
} rec;

typedef struct {
	rec *ev;
	int n, cap;
	int err;          /* 0, or the (sticky) error */
	size_t used;      /* bytes consumed before the error / in all */
} trace;

static void trace_add(trace *t, uint8_t op, const void *data, size_t len, uint16_t code)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->ev = realloc(t->ev, (size_t)t->cap * sizeof *t->ev);
		assert_non_null(t->ev);
	}
	rec *r = &t->ev[t->n++];
	r->op = op;
	r->code = code;
	r->len = len;
	r->data = malloc(len ? len : 1);
	assert_non_null(r->data);
	if (len)
		memcpy(r->data, data, len);
}

static void trace_free(trace *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->ev[i].data);
	free(t->ev);
	memset(t, 0, sizeof *t);
}

/* Feeds in[0..len) to p as one read (from a copy of its own, so ASan sees
 * reads past the end), recording the events and the error. */
static void feed(wsf_parser *p, trace *t, const uint8_t *in, size_t len)
{
	wsf_event ev;
	size_t used = 12345;
	if (t->err) {   /* sticky: the error again, nothing consumed */
		int rc = wsf_parse(p, in, len, &used, &ev);
		assert_int_equal(rc, t->err);
		assert_int_equal(used, 0);
		return;
	}
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, in, len);
	size_t pos = 0;
	do {
		int rc = wsf_parse(p, copy + pos, len - pos, &used, &ev);
		assert_true(used <= len - pos);
		if (rc < 0) {
			assert_int_equal(used, 0);
			t->err = rc;
			break;
		}
		if (rc == WSF_AGAIN) {
			assert_int_equal(used, len - pos);
			pos = len;
			break;
		}
		assert_int_equal(rc, WSF_EVENT);
		assert_true(used > 0);
		assert_true(ev.len <= p->max_message || (ev.opcode & 8));
		if (ev.opcode & 8)
			assert_true(ev.len <= 125);
		assert_non_null(ev.data);
		pos += used;
		trace_add(t, ev.opcode, ev.data, ev.len, ev.close_code);
	} while (pos < len);
	t->used += pos;
	free(copy);
}

/* Parses in[0..len) cut at the sorted positions cuts[0..ncuts). */
static void run_cuts(trace *t, size_t max, const uint8_t *in, size_t len, const size_t *cuts,
		     size_t ncuts)
{
	wsf_parser p;
	wsf_init(&p, max);
	memset(t, 0, sizeof *t);
	size_t prev = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		assert_true(end >= prev && end <= len);
		if (end > prev)
			feed(&p, t, in + prev, end - prev);
		prev = end;
	}
	if (t->err)   /* once more: still the same error */
		feed(&p, t, in, len);
	wsf_free(&p);
}

static void run_oneshot(trace *t, size_t max, const buf *b)
{
	run_cuts(t, max, (const uint8_t *)b->data, b->len, NULL, 0);
}

static void run_bytewise(trace *t, size_t max, const buf *b)
{
	wsf_parser p;
	wsf_init(&p, max);
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < b->len && !t->err; i++)
		feed(&p, t, (const uint8_t *)b->data + i, 1);
	wsf_free(&p);
}

static void assert_same(const trace *a, const trace *b)
{
	assert_int_equal(a->err, b->err);
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		assert_int_equal(a->ev[i].op, b->ev[i].op);
		assert_int_equal(a->ev[i].code, b->ev[i].code);
		assert_int_equal(a->ev[i].len, b->ev[i].len);
		if (a->ev[i].len)
			assert_memory_equal(a->ev[i].data, b->ev[i].data, a->ev[i].len);
	}
	if (!a->err)
		assert_int_equal(a->used, b->used);
}

/* One-shot, byte by byte and split at every point (two pieces) all give
 * the same trace; returns the one-shot trace. */
static void check_all_splits(trace *out, size_t max, const buf *b)
{
	run_oneshot(out, max, b);
	trace t;
	run_bytewise(&t, max, b);
	assert_same(out, &t);
	trace_free(&t);
	for (size_t k = 0; k <= b->len; k++) {
		run_cuts(&t, max, (const uint8_t *)b->data, b->len, &k, 1);
		assert_same(out, &t);
		trace_free(&t);
	}
}

/* The error of parsing b (one-shot; byte by byte and split at every point
 * must agree). */
static int error_of(size_t max, const buf *b)
{
	trace t;
	check_all_splits(&t, max, b);
	int err = t.err;
	trace_free(&t);
	return err;
}

static int error_of_frame(unsigned b0, const void *payload, size_t len)
{
	buf b = { 0 };
	frame(&b, b0, payload, len);
	int err = error_of(BIG, &b);
	buf_free(&b);
	return err;
}

static void assert_event(const trace *t, int i, uint8_t op, const void *data, size_t len)
{
	assert_true(i < t->n);
	assert_int_equal(t->ev[i].op, op);
	assert_int_equal(t->ev[i].len, len);
	if (len)
		assert_memory_equal(t->ev[i].data, data, len);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
	return p;
}

/* --------------------------------------------------------- frames, lengths */

static void test_lengths_and_forms(void **state)
{
	static const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 100000 };
	static const size_t hlen[] = { 6, 6, 6, 8, 8, 8, 14, 14 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		for (int op = WSF_OP_TEXT; op <= WSF_OP_BINARY; op++) {
			uint8_t *pl = pattern(lens[i], (unsigned)i);
			if (op == WSF_OP_TEXT)   /* ASCII */
				for (size_t j = 0; j < lens[i]; j++)
					pl[j] = (uint8_t)('a' + pl[j] % 26);
			buf b = { 0 };
			size_t fl = frame(&b, FIN | (unsigned)op, pl, lens[i]);
			assert_int_equal(fl, hlen[i] + lens[i]);
			trace t;
			run_oneshot(&t, BIG, &b);
			assert_int_equal(t.err, 0);
			assert_int_equal(t.n, 1);
			assert_int_equal(t.used, fl);
			assert_event(&t, 0, (uint8_t)op, pl, lens[i]);
			trace_free(&t);
			trace bw;
			run_bytewise(&bw, BIG, &b);
			run_oneshot(&t, BIG, &b);
			assert_same(&t, &bw);
			trace_free(&t);
			trace_free(&bw);
			buf_free(&b);
			free(pl);
		}
	}
}

static void test_control_frames(void **state)
{
	static const size_t lens[] = { 0, 1, 124, 125 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		uint8_t *pl = pattern(lens[i], 7);
		for (int op = WSF_OP_PING; op <= WSF_OP_PONG; op++) {
			buf b = { 0 };
			frame(&b, FIN | (unsigned)op, pl, lens[i]);
			trace t;
			check_all_splits(&t, BIG, &b);
			assert_int_equal(t.err, 0);
			assert_int_equal(t.n, 1);
			assert_event(&t, 0, (uint8_t)op, pl, lens[i]);
			assert_int_equal(t.ev[0].code, 0);
			trace_free(&t);
			buf_free(&b);
		}
		free(pl);
	}
	/* control frames do not count against max_message */
	buf b = { 0 };
	uint8_t pl[125] = { 0 };
	frame(&b, FIN | WSF_OP_PING, pl, sizeof pl);
	trace t;
	run_oneshot(&t, 10, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 1);
	trace_free(&t);
	buf_free(&b);
}

static void test_close_frames(void **state)
{
	/* empty: no status */
	buf b = { 0 };
	frame(&b, FIN | WSF_OP_CLOSE, NULL, 0);
	trace t;
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.ev[0].op, WSF_OP_CLOSE);
	assert_int_equal(t.ev[0].code, WSF_CLOSE_NO_STATUS);
	assert_int_equal(t.ev[0].len, 0);
	trace_free(&t);
	buf_free(&b);

	/* code only, code and reason (data is the reason, without the code) */
	close_frame(&b, 1000, NULL, 0);
	close_frame(&b, 4999, "bye \xe2\x82\xac", 7);
	char reason[123];
	memset(reason, 'r', sizeof reason);
	close_frame(&b, 3000, reason, sizeof reason);   /* 125 bytes: the most */
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 3);
	assert_event(&t, 0, WSF_OP_CLOSE, NULL, 0);
	assert_int_equal(t.ev[0].code, 1000);
	assert_event(&t, 1, WSF_OP_CLOSE, "bye \xe2\x82\xac", 7);
	assert_int_equal(t.ev[1].code, 4999);
	assert_event(&t, 2, WSF_OP_CLOSE, reason, sizeof reason);
	assert_int_equal(t.ev[2].code, 3000);
	trace_free(&t);
	buf_free(&b);
}

static void test_nonminimal_lengths_accepted(void **state)
{
	/* RFC 6455 asks senders for the shortest form; a receiver may take any */
	buf b = { 0 };
	frame_ex(&b, FIN | WSF_OP_TEXT, "abc", 3, LEN_16, true);
	frame_ex(&b, FIN | WSF_OP_BINARY, "de", 2, LEN_64, true);
	frame_ex(&b, FIN | WSF_OP_TEXT, NULL, 0, LEN_64, true);
	trace t;
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 3);
	assert_event(&t, 0, WSF_OP_TEXT, "abc", 3);
	assert_event(&t, 1, WSF_OP_BINARY, "de", 2);
	assert_event(&t, 2, WSF_OP_TEXT, "", 0);
	trace_free(&t);
	buf_free(&b);
}

/* ------------------------------------------------------------------ splits */

static void test_every_split_point(void **state)
{
	buf b = { 0 };
	trace t;
	/* small frames of every length form: all 2- and 3-piece splits */
	const char *texts[] = { "", "x", "h\xc3\xa9llo \xf0\x9f\x98\x80" };
	for (size_t i = 0; i < 3; i++) {
		frame_str(&b, FIN | WSF_OP_TEXT, texts[i]);
		check_all_splits(&t, BIG, &b);
		assert_int_equal(t.err, 0);
		assert_int_equal(t.n, 1);
		assert_event(&t, 0, WSF_OP_TEXT, texts[i], strlen(texts[i]));
		for (size_t x = 0; x <= b.len; x++) {
			for (size_t y = x; y <= b.len; y++) {
				size_t cuts[2] = { x, y };
				trace u;
				run_cuts(&u, BIG, (const uint8_t *)b.data, b.len, cuts, 2);
				assert_same(&t, &u);
				trace_free(&u);
			}
		}
		trace_free(&t);
		buf_free(&b);
	}
	/* 16-bit form */
	uint8_t *pl = pattern(300, 3);
	frame(&b, FIN | WSF_OP_BINARY, pl, 300);
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.n, 1);
	assert_event(&t, 0, WSF_OP_BINARY, pl, 300);
	trace_free(&t);
	buf_free(&b);
	free(pl);
	/* 64-bit form: byte by byte, and a cut at each of the first 40 bytes
	 * and the last 40 (every header byte, the mask and the payload edges) */
	size_t n = 65536 + 10;
	pl = pattern(n, 5);
	frame(&b, FIN | WSF_OP_BINARY, pl, n);
	run_oneshot(&t, BIG, &b);
	assert_int_equal(t.n, 1);
	assert_event(&t, 0, WSF_OP_BINARY, pl, n);
	trace u;
	run_bytewise(&u, BIG, &b);
	assert_same(&t, &u);
	trace_free(&u);
	for (size_t k = 0; k <= b.len; k = k == 40 ? b.len - 40 : k + 1) {
		run_cuts(&u, BIG, (const uint8_t *)b.data, b.len, &k, 1);
		assert_same(&t, &u);
		trace_free(&u);
	}
	trace_free(&t);
	buf_free(&b);
	free(pl);
}

static void test_several_frames_in_one_buffer(void **state)
{
	buf b = { 0 };
	uint8_t big[200];
	memset(big, 'B', sizeof big);
	size_t f[6];
	f[0] = frame_str(&b, FIN | WSF_OP_TEXT, "one");
	f[1] = frame_str(&b, FIN | WSF_OP_PING, "p");
	f[2] = frame(&b, FIN | WSF_OP_BINARY, big, sizeof big);
	f[3] = frame_str(&b, FIN | WSF_OP_PONG, "");
	f[4] = frame_str(&b, FIN | WSF_OP_TEXT, "two");
	f[5] = close_frame(&b, 1001, "x", 1);

	/* each call returns one event and consumes exactly its frame */
	wsf_parser p;
	wsf_init(&p, BIG);
	const uint8_t *in = (const uint8_t *)b.data;
	size_t left = b.len, used;
	wsf_event ev;
	static const uint8_t ops[] = { WSF_OP_TEXT, WSF_OP_PING, WSF_OP_BINARY, WSF_OP_PONG,
				       WSF_OP_TEXT, WSF_OP_CLOSE };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(wsf_parse(&p, in, left, &used, &ev), WSF_EVENT);
		assert_int_equal(used, f[i]);
		assert_int_equal(ev.opcode, ops[i]);
		in += used;
		left -= used;
	}
	assert_int_equal(left, 0);
	assert_int_equal(wsf_parse(&p, in, 0, &used, &ev), WSF_AGAIN);
	assert_int_equal(used, 0);
	wsf_free(&p);

	trace t;
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 6);
	assert_event(&t, 0, WSF_OP_TEXT, "one", 3);
	assert_event(&t, 1, WSF_OP_PING, "p", 1);
	assert_event(&t, 2, WSF_OP_BINARY, big, sizeof big);
	assert_event(&t, 3, WSF_OP_PONG, "", 0);
	assert_event(&t, 4, WSF_OP_TEXT, "two", 3);
	assert_event(&t, 5, WSF_OP_CLOSE, "x", 1);
	assert_int_equal(t.ev[5].code, 1001);
	trace_free(&t);
	buf_free(&b);
}

/* A frame's event data stays valid until the next wsf_parse call, even
 * when more frames follow in the same buffer. */
static void test_event_data_until_next_call(void **state)
{
	buf b = { 0 };
	frame_str(&b, FIN | WSF_OP_TEXT, "first message");
	frame_str(&b, FIN | WSF_OP_TEXT, "second");
	wsf_parser p;
	wsf_init(&p, BIG);
	size_t used;
	wsf_event ev;
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data, b.len, &used, &ev), WSF_EVENT);
	assert_int_equal(ev.len, 13);
	assert_memory_equal(ev.data, "first message", 13);
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data + used, b.len - used, &used, &ev),
			 WSF_EVENT);
	assert_int_equal(ev.len, 6);
	assert_memory_equal(ev.data, "second", 6);
	wsf_free(&p);
	buf_free(&b);
}

/* ------------------------------------------------------------ fragmentation */

static void test_fragmented_text_with_ping(void **state)
{
	buf b = { 0 };
	frame_str(&b, WSF_OP_TEXT, "Hel");
	frame_str(&b, FIN | WSF_OP_PING, "ping!");
	frame_str(&b, WSF_OP_CONT, "lo ");
	frame_str(&b, WSF_OP_CONT, "");               /* empty fragments are fine */
	frame_str(&b, FIN | WSF_OP_PONG, "");
	frame_str(&b, FIN | WSF_OP_CONT, "world");
	frame_str(&b, FIN | WSF_OP_TEXT, "next");
	trace t;
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 4);
	assert_event(&t, 0, WSF_OP_PING, "ping!", 5);
	assert_event(&t, 1, WSF_OP_PONG, "", 0);
	assert_event(&t, 2, WSF_OP_TEXT, "Hello world", 11);
	assert_event(&t, 3, WSF_OP_TEXT, "next", 4);
	trace_free(&t);
	buf_free(&b);

	/* binary, a close in the middle, a message of empty fragments */
	frame(&b, WSF_OP_BINARY, "\xff\x00", 2);
	close_frame(&b, 1000, NULL, 0);
	frame_str(&b, FIN | WSF_OP_CONT, "\xfe");
	frame_str(&b, WSF_OP_TEXT, "");
	frame_str(&b, FIN | WSF_OP_CONT, "");
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.ev[0].op, WSF_OP_CLOSE);
	assert_int_equal(t.ev[0].code, 1000);
	assert_event(&t, 1, WSF_OP_BINARY, "\xff\x00\xfe", 3);
	assert_event(&t, 2, WSF_OP_TEXT, "", 0);
	trace_free(&t);
	buf_free(&b);
}

static void test_text_utf8_across_fragments(void **state)
{
	/* a character split over fragments (and a ping between the halves) */
	buf b = { 0 };
	frame_str(&b, WSF_OP_TEXT, "\xe2");
	frame_str(&b, FIN | WSF_OP_PING, "");
	frame_str(&b, WSF_OP_CONT, "\x82");
	frame_str(&b, FIN | WSF_OP_CONT, "\xac\xf0\x9f\x98\x80");
	trace t;
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 2);
	assert_event(&t, 1, WSF_OP_TEXT, "\xe2\x82\xac\xf0\x9f\x98\x80", 7);
	trace_free(&t);
	buf_free(&b);

	/* invalid only in combination: E2 82 then 28 */
	frame_str(&b, WSF_OP_TEXT, "ok \xe2\x82");
	frame_str(&b, FIN | WSF_OP_CONT, "(");
	assert_int_equal(error_of(BIG, &b), WSF_EUTF8);
	buf_free(&b);

	/* the error comes at the bad fragment: the first one is taken */
	frame_str(&b, WSF_OP_TEXT, "\xed");
	size_t first = b.len;
	frame_str(&b, FIN | WSF_OP_CONT, "\xa0\x80");   /* a surrogate */
	wsf_parser p;
	wsf_init(&p, BIG);
	size_t used;
	wsf_event ev;
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data, first, &used, &ev), WSF_AGAIN);
	assert_int_equal(used, first);
	assert_true(wsf_busy(&p));
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data + first, b.len - first, &used, &ev),
			 WSF_EUTF8);
	wsf_free(&p);
	buf_free(&b);

	/* binary messages are not UTF-8 checked, fragmented or not */
	frame_str(&b, WSF_OP_BINARY, "\xe2");
	frame_str(&b, FIN | WSF_OP_CONT, "\xff");
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_event(&t, 0, WSF_OP_BINARY, "\xe2\xff", 2);
	trace_free(&t);
	buf_free(&b);

	/* ending inside a character at FIN */
	frame_str(&b, WSF_OP_TEXT, "abc");
	frame_str(&b, FIN | WSF_OP_CONT, "\xf0\x9f\x98");
	assert_int_equal(error_of(BIG, &b), WSF_EUTF8);
	buf_free(&b);
	frame_str(&b, FIN | WSF_OP_TEXT, "\xc3");
	assert_int_equal(error_of(BIG, &b), WSF_EUTF8);
	buf_free(&b);
	/* ... but not at a fragment's end */
	frame_str(&b, WSF_OP_TEXT, "\xc3");
	trace_free(&t);
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 0);
	trace_free(&t);
	buf_free(&b);
}

/* ------------------------------------------------------------------ errors */

static void test_unmasked(void **state)
{
	buf b = { 0 };
	frame_ex(&b, FIN | WSF_OP_TEXT, "hi", 2, LEN_MIN, false);
	assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
	buf_free(&b);
	frame_ex(&b, FIN | WSF_OP_PING, "", 0, LEN_MIN, false);
	assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
	buf_free(&b);
	/* decided at the second byte */
	wsf_parser p;
	wsf_init(&p, BIG);
	size_t used;
	wsf_event ev;
	assert_int_equal(wsf_parse(&p, (const uint8_t *)"\x81\x05", 2, &used, &ev), WSF_EPROTO);
	wsf_free(&p);
}

static void test_rsv_bits(void **state)
{
	static const unsigned rsv[] = { 0x40, 0x20, 0x10, 0x70 };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(error_of_frame(FIN | rsv[i] | WSF_OP_TEXT, "a", 1), WSF_EPROTO);
		assert_int_equal(error_of_frame(FIN | rsv[i] | WSF_OP_PING, "", 0), WSF_EPROTO);
	}
	/* on a continuation too */
	buf b = { 0 };
	frame_str(&b, WSF_OP_TEXT, "a");
	frame_str(&b, FIN | 0x40 | WSF_OP_CONT, "b");
	assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
	buf_free(&b);
}

static void test_reserved_opcodes(void **state)
{
	static const unsigned ops[] = { 3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF };
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
		assert_int_equal(error_of_frame(FIN | ops[i], "", 0), WSF_EPROTO);
		assert_int_equal(error_of_frame(ops[i], "abc", 3), WSF_EPROTO);
	}
}

static void test_oversize_control(void **state)
{
	uint8_t pl[126] = { 0 };
	for (int op = WSF_OP_CLOSE; op <= WSF_OP_PONG; op++) {
		assert_int_equal(error_of_frame(FIN | (unsigned)op, pl, 126), WSF_EPROTO);
		/* the 16-bit and 64-bit forms are refused at the second byte */
		buf b = { 0 };
		header_only(&b, FIN | (unsigned)op, 10, LEN_16);
		assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
		buf_free(&b);
		header_only(&b, FIN | (unsigned)op, 10, LEN_64);
		assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
		buf_free(&b);
	}
}

static void test_fragmented_control(void **state)
{
	for (int op = WSF_OP_CLOSE; op <= WSF_OP_PONG; op++)
		assert_int_equal(error_of_frame((unsigned)op, "", 0), WSF_EPROTO);
	/* also inside a fragmented message */
	buf b = { 0 };
	frame_str(&b, WSF_OP_TEXT, "a");
	frame_str(&b, WSF_OP_PING, "");
	assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
	buf_free(&b);
}

static void test_bad_continuations(void **state)
{
	/* continuation with no message open */
	assert_int_equal(error_of_frame(FIN | WSF_OP_CONT, "x", 1), WSF_EPROTO);
	assert_int_equal(error_of_frame(WSF_OP_CONT, "", 0), WSF_EPROTO);
	buf b = { 0 };
	frame_str(&b, FIN | WSF_OP_TEXT, "done");
	frame_str(&b, FIN | WSF_OP_CONT, "more");
	trace t;
	check_all_splits(&t, BIG, &b);
	assert_int_equal(t.n, 1);   /* the first message was delivered */
	assert_int_equal(t.err, WSF_EPROTO);
	trace_free(&t);
	buf_free(&b);

	/* a new data frame inside a fragmented message */
	for (int a = WSF_OP_TEXT; a <= WSF_OP_BINARY; a++) {
		for (int c = WSF_OP_TEXT; c <= WSF_OP_BINARY; c++) {
			frame_str(&b, (unsigned)a, "a");
			frame_str(&b, FIN | (unsigned)c, "b");
			assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
			buf_free(&b);
		}
	}
}

static void test_length_top_bit(void **state)
{
	buf b = { 0 };
	header_only(&b, FIN | WSF_OP_BINARY, (uint64_t)1 << 63, LEN_64);
	/* a protocol error, not "too big", whatever the limit */
	assert_int_equal(error_of(SIZE_MAX, &b), WSF_EPROTO);
	assert_int_equal(error_of(10, &b), WSF_EPROTO);
	buf_free(&b);
	header_only(&b, WSF_OP_TEXT, UINT64_MAX, LEN_64);
	assert_int_equal(error_of(SIZE_MAX, &b), WSF_EPROTO);
	buf_free(&b);
}

static void test_close_payloads(void **state)
{
	/* one byte: no room for a code, even where that byte and the one
	 * after it (a stale byte of the previous close) would make a valid one */
	assert_int_equal(error_of_frame(FIN | WSF_OP_CLOSE, "\x03", 1), WSF_EPROTO);
	assert_int_equal(error_of_frame(FIN | WSF_OP_CLOSE, "\x0c", 1), WSF_EPROTO);   /* 0x0C00 = 3072 */
	buf b1 = { 0 };
	close_frame(&b1, 1000, NULL, 0);
	frame(&b1, FIN | WSF_OP_CLOSE, "\x03", 1);
	trace t1;
	check_all_splits(&t1, BIG, &b1);
	assert_int_equal(t1.n, 1);
	assert_int_equal(t1.err, WSF_EPROTO);
	trace_free(&t1);
	buf_free(&b1);

	static const unsigned bad[] = { 0, 1, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015,
					1016, 2000, 2999, 5000, 65535 };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		buf b = { 0 };
		close_frame(&b, bad[i], NULL, 0);
		assert_int_equal(error_of(BIG, &b), WSF_EPROTO);
		buf_free(&b);
	}
	static const unsigned good[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
					 3000, 3999, 4000, 4999 };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		buf b = { 0 };
		close_frame(&b, good[i], "why", 3);
		trace t;
		check_all_splits(&t, BIG, &b);
		assert_int_equal(t.err, 0);
		assert_int_equal(t.n, 1);
		assert_int_equal(t.ev[0].code, good[i]);
		assert_event(&t, 0, WSF_OP_CLOSE, "why", 3);
		trace_free(&t);
		buf_free(&b);
	}

	/* the reason must be UTF-8 */
	static const char *bad_reasons[] = { "\xff", "ab\xc0\x80", "\xed\xa0\x80", "\xe2\x82",
					     "\xf4\x90\x80\x80" };
	for (size_t i = 0; i < sizeof bad_reasons / sizeof *bad_reasons; i++) {
		buf b = { 0 };
		close_frame(&b, 1000, bad_reasons[i], strlen(bad_reasons[i]));
		assert_int_equal(error_of(BIG, &b), WSF_EUTF8);
		buf_free(&b);
	}
}

static void test_close_code_valid(void **state)
{
	for (unsigned c = 0; c <= 65535; c++) {
		bool want = (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) ||
			    (c >= 3000 && c <= 4999);
		if (wsf_close_code_valid(c) != want)
			fail_msg("close code %u: expected %s", c, want ? "valid" : "invalid");
	}
}

static void test_text_invalid_utf8(void **state)
{
	static const char *bad[] = {
		"\x80",                      /* lone continuation */
		"a\xbf",
		"\xc0\x80", "\xc1\xbf",      /* overlong 2-byte */
		"\xe0\x80\x80", "\xe0\x9f\xbf",  /* overlong 3-byte */
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",  /* overlong 4-byte */
		"\xed\xa0\x80", "\xed\xbf\xbf",  /* UTF-16 surrogates */
		"\xf4\x90\x80\x80",          /* U+110000 */
		"\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80",
		"\xfe", "\xff",
		"\xe2\x28\xa1",              /* bad second byte */
		"\xe2\x82\x28",              /* bad third byte */
		"\xc3\x28",
		"\xf0\x9f\x98\x28",
		"ok\xc3",                    /* ends inside a character */
		"\xf0\x9f\x98",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (error_of_frame(FIN | WSF_OP_TEXT, bad[i], strlen(bad[i])) != WSF_EUTF8)
			fail_msg("case %zu was not refused with 1007", i);
		/* the same bytes as binary are fine */
		assert_int_equal(error_of_frame(FIN | WSF_OP_BINARY, bad[i], strlen(bad[i])), 0);
		/* and split over two fragments, at every byte */
		size_t n = strlen(bad[i]);
		for (size_t k = 0; k <= n; k++) {
			buf b = { 0 };
			frame(&b, WSF_OP_TEXT, bad[i], k);
			frame(&b, FIN | WSF_OP_CONT, bad[i] + k, n - k);
			assert_int_equal(error_of(BIG, &b), WSF_EUTF8);
			buf_free(&b);
		}
	}
	static const char *good[] = {
		"", "plain", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xef\xbb\xbf" /* BOM */,
		"\x00\x7f",
	};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		size_t n = i == sizeof good / sizeof *good - 1 ? 2 : strlen(good[i]);
		assert_int_equal(error_of_frame(FIN | WSF_OP_TEXT, good[i], n), 0);
	}
}

static void test_too_big(void **state)
{
	trace t;
	buf b = { 0 };
	/* exactly max_message is fine */
	uint8_t pl[101];
	memset(pl, 'x', sizeof pl);
	frame(&b, FIN | WSF_OP_TEXT, pl, 100);
	check_all_splits(&t, 100, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 1);
	trace_free(&t);
	buf_free(&b);

	/* one more: refused at the header, before any payload byte */
	static const int forms[] = { LEN_7, LEN_16, LEN_64 };
	for (int f = 0; f < 3; f++) {
		header_only(&b, FIN | WSF_OP_TEXT, 101, forms[f]);
		assert_int_equal(error_of(100, &b), WSF_ETOO_BIG);
		buf_free(&b);
		header_only(&b, WSF_OP_BINARY, 101, forms[f]);   /* a first fragment alone */
		assert_int_equal(error_of(100, &b), WSF_ETOO_BIG);
		buf_free(&b);
	}
	header_only(&b, FIN | WSF_OP_BINARY, (uint64_t)1 << 62, LEN_64);
	assert_int_equal(error_of(65536, &b), WSF_ETOO_BIG);
	buf_free(&b);

	/* the fragments together: 60 + a ping + 40 is fine, 60 + 41 is not,
	 * refused at the second fragment's header */
	frame(&b, WSF_OP_TEXT, pl, 60);
	frame_str(&b, FIN | WSF_OP_PING, "");
	frame(&b, FIN | WSF_OP_CONT, pl, 40);
	check_all_splits(&t, 100, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 2);
	assert_event(&t, 1, WSF_OP_TEXT, pl, 100);
	trace_free(&t);
	buf_free(&b);
	frame(&b, WSF_OP_TEXT, pl, 60);
	header_only(&b, WSF_OP_CONT, 41, LEN_7);
	assert_int_equal(error_of(100, &b), WSF_ETOO_BIG);
	buf_free(&b);

	/* the limit is per message: a new message starts from zero */
	frame(&b, FIN | WSF_OP_BINARY, pl, 100);
	frame(&b, FIN | WSF_OP_BINARY, pl, 100);
	frame(&b, WSF_OP_TEXT, pl, 50);
	frame(&b, FIN | WSF_OP_CONT, pl, 50);
	check_all_splits(&t, 100, &b);
	assert_int_equal(t.err, 0);
	assert_int_equal(t.n, 3);
	trace_free(&t);
	buf_free(&b);
}

static void test_errors_sticky(void **state)
{
	wsf_parser p;
	wsf_init(&p, BIG);
	buf good = { 0 };
	frame_str(&good, FIN | WSF_OP_TEXT, "fine");
	size_t used;
	wsf_event ev;
	/* an error with a message half assembled */
	buf b = { 0 };
	frame_str(&b, WSF_OP_TEXT, "part");
	frame_str(&b, FIN | WSF_OP_BINARY, "x");
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data, b.len, &used, &ev), WSF_EPROTO);
	for (int i = 0; i < 3; i++) {
		used = 99;
		assert_int_equal(wsf_parse(&p, (const uint8_t *)good.data, good.len, &used, &ev),
				 WSF_EPROTO);
		assert_int_equal(used, 0);
		assert_int_equal(wsf_parse(&p, NULL, 0, &used, &ev), WSF_EPROTO);
	}
	/* reusable after wsf_free + wsf_init */
	wsf_free(&p);
	wsf_init(&p, BIG);
	assert_int_equal(wsf_parse(&p, (const uint8_t *)good.data, good.len, &used, &ev), WSF_EVENT);
	assert_int_equal(ev.len, 4);
	wsf_free(&p);

	/* every error code is sticky */
	static const int codes[] = { WSF_EUTF8, WSF_ETOO_BIG };
	static const char *inputs[] = { "\xff", "0123456789ab" };
	for (int i = 0; i < 2; i++) {
		buf_free(&b);
		frame_str(&b, FIN | WSF_OP_TEXT, inputs[i]);
		wsf_init(&p, 10);
		assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data, b.len, &used, &ev), codes[i]);
		assert_int_equal(wsf_parse(&p, (const uint8_t *)good.data, good.len, &used, &ev), codes[i]);
		assert_int_equal(used, 0);
		wsf_free(&p);
	}
	buf_free(&b);
	buf_free(&good);
}

/* ------------------------------------------------------------- busy state */

static void test_mid_frame_and_busy(void **state)
{
	wsf_parser p;
	wsf_init(&p, BIG);
	size_t used;
	wsf_event ev;
	assert_false(wsf_mid_frame(&p));
	assert_false(wsf_busy(&p));

	buf b = { 0 };
	size_t f1 = frame_str(&b, WSF_OP_TEXT, "abc");          /* fragment 1 */
	size_t f2 = frame_str(&b, FIN | WSF_OP_PING, "");       /* ping */
	size_t f3 = frame_str(&b, FIN | WSF_OP_CONT, "def");    /* last fragment */
	const uint8_t *in = (const uint8_t *)b.data;

	/* one header byte */
	assert_int_equal(wsf_parse(&p, in, 1, &used, &ev), WSF_AGAIN);
	assert_true(wsf_mid_frame(&p));
	assert_true(wsf_busy(&p));
	/* header complete, payload pending */
	assert_int_equal(wsf_parse(&p, in + 1, 6, &used, &ev), WSF_AGAIN);
	assert_true(wsf_mid_frame(&p));
	/* fragment done: not mid-frame, but a message is open */
	assert_int_equal(wsf_parse(&p, in + 7, f1 - 7, &used, &ev), WSF_AGAIN);
	assert_false(wsf_mid_frame(&p));
	assert_true(wsf_busy(&p));
	in += f1;
	/* the ping inside the message */
	assert_int_equal(wsf_parse(&p, in, f2 - 1, &used, &ev), WSF_AGAIN);
	assert_true(wsf_mid_frame(&p));
	assert_int_equal(wsf_parse(&p, in + f2 - 1, 1, &used, &ev), WSF_EVENT);
	assert_int_equal(ev.opcode, WSF_OP_PING);
	assert_false(wsf_mid_frame(&p));
	assert_true(wsf_busy(&p));
	in += f2;
	/* the end of the message */
	assert_int_equal(wsf_parse(&p, in, f3, &used, &ev), WSF_EVENT);
	assert_int_equal(used, f3);
	assert_memory_equal(ev.data, "abcdef", 6);
	assert_false(wsf_mid_frame(&p));
	assert_false(wsf_busy(&p));
	/* a whole unfragmented frame leaves nothing */
	buf_free(&b);
	frame_str(&b, FIN | WSF_OP_BINARY, "z");
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data, b.len, &used, &ev), WSF_EVENT);
	assert_false(wsf_busy(&p));
	buf_free(&b);
	/* an empty frame: busy only until its header's last byte */
	frame_str(&b, FIN | WSF_OP_PONG, "");
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data, 5, &used, &ev), WSF_AGAIN);
	assert_true(wsf_busy(&p));
	assert_int_equal(wsf_parse(&p, (const uint8_t *)b.data + 5, 1, &used, &ev), WSF_EVENT);
	assert_false(wsf_busy(&p));
	wsf_free(&p);
	buf_free(&b);
}

/* ----------------------------------------------------------------- encoder */

static void test_header_encodings(void **state)
{
	uint8_t h[10];
	assert_int_equal(wsf_header(h, WSF_OP_TEXT, 0), 2);
	assert_memory_equal(h, "\x81\x00", 2);
	assert_int_equal(wsf_header(h, WSF_OP_BINARY, 125), 2);
	assert_memory_equal(h, "\x82\x7d", 2);
	assert_int_equal(wsf_header(h, WSF_OP_TEXT, 126), 4);
	assert_memory_equal(h, "\x81\x7e\x00\x7e", 4);
	assert_int_equal(wsf_header(h, WSF_OP_TEXT, 65535), 4);
	assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
	assert_int_equal(wsf_header(h, WSF_OP_TEXT, 65536), 10);
	assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	assert_int_equal(wsf_header(h, WSF_OP_TEXT, 0x0102030405060708ull), 10);
	assert_memory_equal(h, "\x81\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10);
	assert_int_equal(wsf_header(h, WSF_OP_CLOSE, 2), 2);
	assert_memory_equal(h, "\x88\x02", 2);
	assert_int_equal(wsf_header(h, WSF_OP_PING, 0), 2);
	assert_memory_equal(h, "\x89\x00", 2);
	assert_int_equal(wsf_header(h, WSF_OP_PONG, 5), 2);
	assert_memory_equal(h, "\x8a\x05", 2);
	assert_int_equal(wsf_header(h, 0x1F, 1), 2);   /* only the opcode's 4 bits */
	assert_memory_equal(h, "\x8f\x01", 2);

	/* the encoder's frames, masked as a client would, parse back */
	static const size_t lens[] = { 0, 1, 125, 126, 65535, 65536 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		size_t hl = wsf_header(h, WSF_OP_BINARY, lens[i]);
		assert_int_equal(hl, lens[i] < 126 ? 2 : lens[i] < 65536 ? 4 : 10);
		buf b = { 0 };
		h[1] |= 0x80;
		buf_append(&b, h, hl);
		buf_append(&b, "\x00\x00\x00\x00", 4);
		uint8_t *pl = pattern(lens[i], 9);
		buf_append(&b, pl, lens[i]);
		trace t;
		run_oneshot(&t, BIG, &b);
		assert_int_equal(t.err, 0);
		assert_int_equal(t.n, 1);
		assert_event(&t, 0, WSF_OP_BINARY, pl, lens[i]);
		trace_free(&t);
		free(pl);
		buf_free(&b);
	}
}

/* ------------------------------------------------------------------- UTF-8 */

/* Reference UTF-8 check (RFC 3629): decode each sequence and look at the
 * code point. */
static bool ref_utf8(const uint8_t *s, size_t n)
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
			return false;
		}
		if (n - i - 1 < k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

static void check_utf8(const uint8_t *s, size_t n)
{
	bool want = ref_utf8(s, n);
	if (wsf_utf8_valid(s, n) != want) {
		char hex[64] = "";
		for (size_t i = 0; i < n && i < 16; i++)
			snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", s[i]);
		fail_msg("wsf_utf8_valid(%s) != %d", hex, want);
	}
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void test_utf8_against_reference(void **state)
{
	uint8_t s[8];
	/* every string of 1 and 2 bytes */
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (uint8_t)a;
		check_utf8(s, 1);
		for (unsigned b = 0; b < 256; b++) {
			s[1] = (uint8_t)b;
			check_utf8(s, 2);
		}
	}
	/* every 3-byte string with a non-ASCII first byte */
	for (unsigned a = 0x80; a < 256; a++)
		for (unsigned b = 0; b < 256; b++)
			for (unsigned c = 0; c < 256; c++) {
				s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = (uint8_t)c;
				check_utf8(s, 3);
			}
	/* 4-byte strings from 4-byte leads, with boundary values after them */
	static const uint8_t edge[] = { 0x00, 0x41, 0x7F, 0x80, 0x81, 0x8F, 0x90, 0x9F, 0xA0,
					0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xF4, 0xFF };
	for (unsigned a = 0xE0; a < 256; a++)
		for (unsigned b = 0; b < 256; b++)
			for (size_t c = 0; c < sizeof edge; c++)
				for (size_t d = 0; d < sizeof edge; d++) {
					s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = edge[c], s[3] = edge[d];
					check_utf8(s, 4);
				}
	/* random strings biased to high bytes; the same through text frames,
	 * one-shot and as two fragments */
	rng = 0x9E3779B97F4A7C15ull;
	for (int it = 0; it < 200000; it++) {
		size_t n = rnd_below(9);
		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd();
			s[i] = (r & 3) == 0 ? (uint8_t)(r >> 8) & 0x7F : (r & 3) == 1 ? 0x80 | ((r >> 8) & 0x3F)
										   : (uint8_t)(0xC0 | (r >> 8));
		}
		check_utf8(s, n);
		if (it % 20)
			continue;
		int want = ref_utf8(s, n) ? 0 : WSF_EUTF8;
		buf b = { 0 };
		frame(&b, FIN | WSF_OP_TEXT, s, n);
		trace t;
		run_oneshot(&t, BIG, &b);
		assert_int_equal(t.err, want);
		trace_free(&t);
		buf_free(&b);
		size_t k = rnd_below(n + 1);
		frame(&b, WSF_OP_TEXT, s, k);
		frame(&b, FIN | WSF_OP_CONT, s + k, n - k);
		run_oneshot(&t, BIG, &b);
		assert_int_equal(t.err, want);
		trace_free(&t);
		buf_free(&b);
	}
}

/* ---------------------------------------------------------- property test */

/* Appends the UTF-8 encoding of a random scalar value. */
static void rnd_char(buf *s)
{
	uint32_t cp;
	switch (rnd_below(5)) {
	case 0: case 1: cp = (uint32_t)rnd_below(0x80); break;
	case 2: cp = 0x80 + (uint32_t)rnd_below(0x800 - 0x80); break;
	case 3:
		do
			cp = 0x800 + (uint32_t)rnd_below(0x10000 - 0x800);
		while (cp >= 0xD800 && cp <= 0xDFFF);
		break;
	default: cp = 0x10000 + (uint32_t)rnd_below(0x110000 - 0x10000); break;
	}
	uint8_t o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (uint8_t)cp, n = 1;
	} else if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | (cp >> 6)), o[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		o[0] = (uint8_t)(0xE0 | (cp >> 12)), o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		o[0] = (uint8_t)(0xF0 | (cp >> 18)), o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
	}
	buf_append(s, o, n);
}

static size_t rnd_len(void)
{
	switch (rnd_below(8)) {
	case 0: return 0;
	case 1: return 120 + rnd_below(10);          /* around the 7/16-bit edge */
	case 2: return 200 + rnd_below(800);
	case 3: return rnd() % 64 == 0 ? 65530 + rnd_below(20) : 1 + rnd_below(30);   /* 16/64-bit edge */
	default: return 1 + rnd_below(40);
	}
}

/* Maybe appends a control frame (and its expected event). */
static void rnd_control(buf *b, trace *want, int pct)
{
	if ((int)rnd_below(100) >= pct)
		return;
	uint8_t pl[125];
	size_t n = rnd_below(126);
	for (size_t i = 0; i < n; i++)
		pl[i] = (uint8_t)rnd();
	switch (rnd_below(3)) {
	case 0:
		frame(b, FIN | WSF_OP_PING, pl, n);
		trace_add(want, WSF_OP_PING, pl, n, 0);
		break;
	case 1:
		frame(b, FIN | WSF_OP_PONG, pl, n);
		trace_add(want, WSF_OP_PONG, pl, n, 0);
		break;
	default: {
		if (rnd_below(4) == 0) {
			frame(b, FIN | WSF_OP_CLOSE, NULL, 0);
			trace_add(want, WSF_OP_CLOSE, NULL, 0, WSF_CLOSE_NO_STATUS);
			break;
		}
		static const unsigned codes[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
						  3000, 4000, 4999 };
		unsigned code = codes[rnd_below(sizeof codes / sizeof *codes)];
		buf r = { 0 };
		size_t rl = rnd_below(40);
		while (r.len < rl)
			rnd_char(&r);
		if (r.len > 123)
			r.len = 0;
		close_frame(b, code, r.data, r.len);
		trace_add(want, WSF_OP_CLOSE, r.data, r.len, (uint16_t)code);
		buf_free(&r);
	}
	}
}

/* A random valid sequence of messages (fragmented at random, text split
 * anywhere, even inside a character) with control frames in between. */
static void rnd_sequence(buf *b, trace *want)
{
	int nmsg = 1 + (int)rnd_below(6);
	for (int m = 0; m < nmsg; m++) {
		rnd_control(b, want, 30);
		bool text = rnd_below(2);
		size_t len = rnd_len();
		buf msg = { 0 };
		buf_reserve(&msg, len);
		if (text) {
			while (msg.len < len)
				rnd_char(&msg);
		} else {
			for (size_t i = 0; i < len; i++)
				msg.data[i] = (char)rnd();
			msg.len = len;
		}
		size_t nfrag = 1 + rnd_below(4), pos = 0;
		for (size_t f = 0; f < nfrag; f++) {
			size_t end = f + 1 == nfrag ? msg.len : pos + rnd_below(msg.len - pos + 1);
			unsigned op = f == 0 ? (text ? WSF_OP_TEXT : WSF_OP_BINARY) : WSF_OP_CONT;
			frame(b, (f + 1 == nfrag ? FIN : 0) | op, msg.data + pos, end - pos);
			pos = end;
			if (f + 1 < nfrag)
				rnd_control(b, want, 40);
		}
		trace_add(want, text ? WSF_OP_TEXT : WSF_OP_BINARY, msg.data, msg.len, 0);
		buf_free(&msg);
	}
	rnd_control(b, want, 30);
}

static size_t rnd_cuts(size_t *cuts, size_t max, size_t len)
{
	size_t n = rnd_below(max + 1);
	for (size_t i = 0; i < n; i++)
		cuts[i] = rnd_below(len + 1);
	/* sort (insertion: n is small) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t x = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = x;
		}
	return n;
}

static void test_random_sequences_any_cuts(void **state)
{
	rng = 0xC0FFEE1234567ull;
	for (int it = 0; it < 400; it++) {
		buf b = { 0 };
		trace want = { 0 };
		rnd_sequence(&b, &want);
		want.used = b.len;

		trace t;
		run_oneshot(&t, BIG, &b);
		assert_same(&want, &t);
		trace_free(&t);
		for (int c = 0; c < 20; c++) {
			size_t cuts[32];
			size_t n = rnd_cuts(cuts, c < 10 ? 4 : 32, b.len);
			run_cuts(&t, BIG, (const uint8_t *)b.data, b.len, cuts, n);
			assert_same(&want, &t);
			trace_free(&t);
		}
		if (b.len < 4096) {
			run_bytewise(&t, BIG, &b);
			assert_same(&want, &t);
			trace_free(&t);
		}

		/* with garbage after it: pieces and one-shot agree (events, error) */
		size_t junk = 1 + rnd_below(24);
		for (size_t i = 0; i < junk; i++) {
			uint8_t x = (uint8_t)rnd();
			buf_append(&b, &x, 1);
		}
		trace one;
		run_oneshot(&one, 300, &b);
		for (int c = 0; c < 5; c++) {
			size_t cuts[16];
			size_t n = rnd_cuts(cuts, 16, b.len);
			run_cuts(&t, 300, (const uint8_t *)b.data, b.len, cuts, n);
			assert_same(&one, &t);
			trace_free(&t);
		}
		trace_free(&one);
		trace_free(&want);
		buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths_and_forms),
		cmocka_unit_test(test_control_frames),
		cmocka_unit_test(test_close_frames),
		cmocka_unit_test(test_nonminimal_lengths_accepted),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_several_frames_in_one_buffer),
		cmocka_unit_test(test_event_data_until_next_call),
		cmocka_unit_test(test_fragmented_text_with_ping),
		cmocka_unit_test(test_text_utf8_across_fragments),
		cmocka_unit_test(test_unmasked),
		cmocka_unit_test(test_rsv_bits),
		cmocka_unit_test(test_reserved_opcodes),
		cmocka_unit_test(test_oversize_control),
		cmocka_unit_test(test_fragmented_control),
		cmocka_unit_test(test_bad_continuations),
		cmocka_unit_test(test_length_top_bit),
		cmocka_unit_test(test_close_payloads),
		cmocka_unit_test(test_close_code_valid),
		cmocka_unit_test(test_text_invalid_utf8),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_errors_sticky),
		cmocka_unit_test(test_mid_frame_and_busy),
		cmocka_unit_test(test_header_encodings),
		cmocka_unit_test(test_utf8_against_reference),
		cmocka_unit_test(test_random_sequences_any_cuts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
