/* Unit tests for net/chunk: chunk heads, and bodies framed piece by piece
 * decoded back by the request side's decoder (hp_chunked_decode) whole and
 * fed one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "net/chunk.h"
#include "net/http_parser.h"

static void test_heads(void **state)
{
	(void)state;
	char h[CHUNK_HEAD_MAX];
	static const struct {
		size_t n;
		const char *want;
	} cases[] = {
		{ 1, "1\r\n" }, { 9, "9\r\n" }, { 10, "a\r\n" }, { 15, "f\r\n" }, { 16, "10\r\n" },
		{ 255, "ff\r\n" }, { 4096, "1000\r\n" }, { 32768 + 7, "8007\r\n" },
		{ (size_t)UINT32_MAX + 1, "100000000\r\n" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = chunk_head(h, cases[i].n);
		assert_int_equal(len, strlen(cases[i].want));
		assert_string_equal(h, cases[i].want);
	}
	size_t len = chunk_head(h, SIZE_MAX);
	assert_true(len <= CHUNK_HEAD_MAX - 1);
	assert_string_equal(h, SIZE_MAX == UINT64_MAX ? "ffffffffffffffff\r\n" : "ffffffff\r\n");
	assert_string_equal(CHUNK_LAST, "0\r\n\r\n");
	assert_int_equal(CHUNK_LAST_LEN, strlen(CHUNK_LAST));
	assert_int_equal(CHUNK_TAIL_LEN, strlen(CHUNK_TAIL));
}

/* Frames body as pieces of the given sizes (cycling), then the end. */
static void frame(buf *out, const char *body, size_t n, const size_t *sizes, size_t nsizes)
{
	size_t off = 0, k = 0;
	while (off < n) {
		size_t m = sizes[k++ % nsizes];
		if (m > n - off)
			m = n - off;
		char h[CHUNK_HEAD_MAX];
		size_t hl = chunk_head(h, m);
		assert_int_equal(buf_append(out, h, hl), 0);
		assert_int_equal(buf_append(out, body + off, m), 0);
		assert_int_equal(buf_append(out, CHUNK_TAIL, CHUNK_TAIL_LEN), 0);
		off += m;
	}
	assert_int_equal(buf_append(out, CHUNK_LAST, CHUNK_LAST_LEN), 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t n = 300000;
	char *body = malloc(n);
	assert_non_null(body);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		body[i] = (char)(x >> 24);   /* every byte value, CR and LF among them */
	}
	static const size_t sizes[] = { 1, 15, 16, 17, 4096, 32768, 65537, 3 };
	buf f = { 0 };
	frame(&f, body, n, sizes, sizeof sizes / sizeof sizes[0]);
	/* then a pipelined request's bytes, which the decoder must leave */
	static const char next[] = "GET / HTTP/1.1\r\n";
	assert_int_equal(buf_append(&f, next, sizeof next - 1), 0);

	/* whole */
	char *copy = malloc(f.len);
	memcpy(copy, f.data, f.len);
	hp_chunked d;
	hp_chunked_init(&d, n);
	size_t len = f.len, consumed = 0;
	assert_int_equal(hp_chunked_decode(&d, copy, &len, &consumed), HPC_DONE);
	assert_int_equal(len, n);
	assert_memory_equal(copy, body, n);
	assert_int_equal(consumed, f.len - (sizeof next - 1));

	/* a byte at a time */
	hp_chunked_init(&d, n);
	size_t got = 0, i = 0;
	int rc = HPC_AGAIN;
	char *dec = malloc(n);
	while (rc == HPC_AGAIN && i < f.len) {
		char b = f.data[i];
		size_t l = 1, c = 0;
		rc = hp_chunked_decode(&d, &b, &l, &c);
		assert_true(rc >= 0);
		assert_int_equal(c, 1);
		if (l) {
			assert_true(got < n);
			dec[got++] = b;
		}
		i++;
	}
	assert_int_equal(rc, HPC_DONE);
	assert_int_equal(got, n);
	assert_memory_equal(dec, body, n);
	assert_int_equal(i, f.len - (sizeof next - 1));
	free(dec);
	free(copy);
	buf_free(&f);
	free(body);
}

static void test_empty_body(void **state)
{
	(void)state;
	buf f = { 0 };
	frame(&f, "", 0, (size_t[]){ 1 }, 1);
	assert_int_equal(f.len, CHUNK_LAST_LEN);
	hp_chunked d;
	hp_chunked_init(&d, 10);
	size_t len = f.len, consumed = 0;
	assert_int_equal(hp_chunked_decode(&d, f.data, &len, &consumed), HPC_DONE);
	assert_int_equal(len, 0);
	assert_int_equal(consumed, f.len);
	buf_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heads),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
