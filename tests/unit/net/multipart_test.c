/* Unit tests for net/multipart: parts, headers and data; every split of
 * each body (at every byte into two slices, and one byte at a time) gives
 * the same callbacks and result as the whole body; delimiters inside data
 * and across slices; the limits; malformed bodies; the boundary of a
 * Content-Type. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "net/multipart.h"

/* What the callbacks saw: "P{name}{filename}{has}{ctype}" per part,
 * the data as "D" + bytes (pieces merged), "E" at a part's end. */
typedef struct {
	buf log;
	bool in_data;
	int parts, stop_at_part;
} rec;

static int on_part(void *ctx, const mp_part *pt)
{
	rec *r = ctx;
	r->in_data = false;
	buf_printf(&r->log, "P{%s}{%s}{%d}{%s}", pt->name, pt->filename, pt->has_filename, pt->ctype);
	return ++r->parts == r->stop_at_part;
}

static int on_data(void *ctx, const char *p, size_t n)
{
	rec *r = ctx;
	assert_true(n > 0);
	if (!r->in_data)
		buf_puts(&r->log, "D");
	r->in_data = true;
	buf_append(&r->log, p, n);
	return 0;
}

static int on_end(void *ctx)
{
	rec *r = ctx;
	r->in_data = false;
	buf_puts(&r->log, "E");
	return 0;
}

static const mp_callbacks cbs = { on_part, on_data, on_end };

/* Parses body in the slices given by cuts (sorted offsets); returns the
 * final result (mp_finish unless an error came first) and the log. Each
 * slice is its own allocation, so ASan sees reads past it. */
static int run_cuts(const char *bnd, const mp_limits *lim, const char *body, size_t len,
		    const size_t *cuts, size_t ncuts, rec *r, int stop_at)
{
	mp_parser *p = malloc(sizeof *p);
	assert_non_null(p);
	memset(r, 0, sizeof *r);
	r->stop_at_part = stop_at;
	assert_int_equal(mp_init(p, bnd, lim, &cbs, r), 0);
	size_t prev = 0;
	int rc = MP_OK;
	for (size_t k = 0; k <= ncuts && rc >= 0; k++) {
		size_t end = k < ncuts ? cuts[k] : len;
		char *slice = malloc(end - prev + 1);
		assert_non_null(slice);
		memcpy(slice, body + prev, end - prev);
		rc = mp_feed(p, slice, end - prev);
		free(slice);
		prev = end;
	}
	if (rc >= 0)
		rc = mp_finish(p);
	buf_puts(&r->log, "");
	free(p);
	return rc;
}

/* One shot, every two-slice split, byte by byte: all must agree. Returns
 * the one-shot result and fills *whole with its log. */
static int parse_all_ways(const char *bnd, const mp_limits *lim, const char *body, size_t len,
			  rec *whole)
{
	int rc = run_cuts(bnd, lim, body, len, NULL, 0, whole, 0);
	for (size_t cut = 0; cut <= len; cut++) {
		rec r;
		int rc2 = run_cuts(bnd, lim, body, len, &cut, 1, &r, 0);
		assert_int_equal(rc2, rc);
		assert_int_equal(r.log.len, whole->log.len);
		assert_memory_equal(r.log.data, whole->log.data, r.log.len);
		buf_free(&r.log);
	}
	size_t *cuts = malloc((len + 1) * sizeof *cuts);
	assert_non_null(cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	rec r;
	int rc3 = run_cuts(bnd, lim, body, len, cuts, len ? len - 1 : 0, &r, 0);
	assert_int_equal(rc3, rc);
	assert_int_equal(r.log.len, whole->log.len);
	assert_memory_equal(r.log.data, whole->log.data, r.log.len);
	buf_free(&r.log);
	free(cuts);
	return rc;
}

static void expect_log(const char *bnd, const char *body, size_t len, int want_rc, const char *want_log,
		       size_t want_len)
{
	rec r;
	int rc = parse_all_ways(bnd, NULL, body, len, &r);
	if (rc != want_rc)
		fail_msg("rc %d (%s), want %d; log %.*s", rc, mp_strerror(rc), want_rc, (int)r.log.len,
			 r.log.data);
	if (want_log) {
		if (r.log.len != want_len || memcmp(r.log.data, want_log, want_len) != 0)
			fail_msg("log %.*s\nwant %.*s", (int)r.log.len, r.log.data, (int)want_len, want_log);
	}
	buf_free(&r.log);
}

#define S(lit) lit, sizeof lit - 1

static void test_two_parts(void **state)
{
	static const char body[] =
		"--XyZ\r\n"
		"Content-Disposition: form-data; name=\"note\"\r\n"
		"\r\n"
		"hello\r\n"
		"--XyZ\r\n"
		"content-disposition: form-data; name=file; filename=\"a b.png\"\r\n"
		"Content-Type: image/png\r\n"
		"X-Other: ignored\r\n"
		"\r\n"
		"\x89PNG\r\n\x1a\n\0\0data\r\n"
		"--XyZ--\r\n";
	static const char log[] = "P{note}{}{0}{}DhelloEP{file}{a b.png}{1}{image/png}D\x89PNG\r\n\x1a\n\0\0dataE";
	expect_log("XyZ", S(body), MP_DONE, S(log));
}

static void test_delimiter_lookalikes(void **state)
{
	/* data holding every prefix of the delimiter, CRs, and a delimiter
	 * prefix that restarts inside itself */
	static const char body[] =
		"--ab-ab\r\n"
		"Content-Disposition: form-data; name=f; filename=x\r\n\r\n"
		"\r\r\n\r\n-\r\n--\r\n--a\r\n--ab\r\n--ab-\r\n--ab-a\r\n--ab-ab-x"
		"\r\n--ab-a\r\n--ab-ab\r\n"
		"Content-Disposition: form-data; name=g\r\n\r\n"
		"\r\n--ab-ab--";
	static const char log[] =
		"P{f}{x}{1}{}D\r\r\n\r\n-\r\n--\r\n--a\r\n--ab\r\n--ab-\r\n--ab-a\r\n--ab-ab-x\r\n--ab-aE"
		"P{g}{}{0}{}D\r\nE";
	/* "--ab-ab-x" inside data: after a full delimiter comes '-' then 'x',
	 * which is not a close delimiter: malformed */
	expect_log("ab-ab", S(body), MP_EBAD, NULL, 0);
	static const char body2[] =
		"--ab-ab\r\n"
		"Content-Disposition: form-data; name=f; filename=x\r\n\r\n"
		"\r\r\n\r\n-\r\n--\r\n--a\r\n--ab\r\n--ab-\r\n--ab-a\r\n--ab-aab\r\n--ab-a"
		"\r\n--ab-ab\r\n"
		"Content-Disposition: form-data; name=g\r\n\r\n"
		"\r\n\r\n--ab-ab--";
	static const char log2[] =
		"P{f}{x}{1}{}D\r\r\n\r\n-\r\n--\r\n--a\r\n--ab\r\n--ab-\r\n--ab-a\r\n--ab-aab\r\n--ab-aE"
		"P{g}{}{0}{}D\r\nE";
	(void)log;
	expect_log("ab-ab", S(body2), MP_DONE, S(log2));
}

static void test_preamble_epilogue_padding(void **state)
{
	static const char body[] =
		"this is a preamble\r\n--b  \t\r\n"
		"Content-Disposition: form-data; name=\"a\"\r\n\r\n"
		"1\r\n--b--  and an epilogue\r\n--b\r\nnot parsed";
	static const char log[] = "P{a}{}{0}{}D1E";
	expect_log("b", S(body), MP_DONE, S(log));
}

static void test_empty_parts(void **state)
{
	/* a part with no headers and no data; a zero-byte file */
	static const char body[] =
		"--b\r\n\r\n\r\n--b\r\n"
		"Content-Disposition: form-data; name=f; filename=\"empty.txt\"\r\n\r\n"
		"\r\n--b--";
	static const char log[] = "P{}{}{0}{}EP{f}{empty.txt}{1}{}E";
	expect_log("b", S(body), MP_DONE, S(log));
}

static void test_filename_forms(void **state)
{
	static const char body[] =
		"--b\r\n"
		"Content-Disposition: form-data; name=f; filename=\"C:\\dir\\a\\\"q\\\".txt\"; filename*=UTF-8''x\r\n"
		"\r\nz\r\n--b--";
	static const char log[] = "P{f}{C:\\dir\\a\"q\".txt}{1}{}DzE";
	expect_log("b", S(body), MP_DONE, S(log));
	/* UTF-8 bytes pass as they are */
	static const char body2[] =
		"--b\r\nContent-Disposition: form-data; name=f; filename=\"r\xc3\xa9sum\xc3\xa9.pdf\"\r\n\r\n\r\n--b--";
	static const char log2[] = "P{f}{r\xc3\xa9sum\xc3\xa9.pdf}{1}{}E";
	expect_log("b", S(body2), MP_DONE, S(log2));
}

static void test_malformed(void **state)
{
	/* bare LF in headers, bare CR, no colon, obs-fold, not form-data,
	 * two dispositions, control character, unterminated quote, junk after
	 * a delimiter, space before a colon */
	static const char *bad[] = {
		"--b\nContent-Disposition: form-data\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data\rx\r\n\r\n\r\n--b--",
		"--b\r\nno colon here\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data\r\n  ; name=x\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: attachment; name=x\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data\r\nContent-Disposition: form-data\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\x01\"\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n\r\n--b--",
		"--bx\r\n\r\n\r\n--b--",
		"--b\r\nContent-Type : text/plain\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n\r\n--b--",
		"--b\r\n\r\n\r\n--b-x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		rec r;
		int rc = parse_all_ways("b", NULL, bad[i], strlen(bad[i]), &r);
		if (rc != MP_EBAD)
			fail_msg("case %zu: rc %d (%s)", i, rc, mp_strerror(rc));
		buf_free(&r.log);
	}
}

static void test_truncated(void **state)
{
	static const char *cut[] = {
		"",
		"--b",
		"--b\r\nContent-Disposition: form-data; name=f\r\n",
		"--b\r\nContent-Disposition: form-data; name=f\r\n\r\nsome data",
		"--b\r\nContent-Disposition: form-data; name=f\r\n\r\nsome data\r\n--b",
		"--b\r\nContent-Disposition: form-data; name=f\r\n\r\nsome data\r\n--b-",
		"no delimiter at all",
	};
	for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
		rec r;
		int rc = parse_all_ways("b", NULL, cut[i], strlen(cut[i]), &r);
		if (rc != MP_ETRUNCATED)
			fail_msg("case %zu: rc %d (%s)", i, rc, mp_strerror(rc));
		buf_free(&r.log);
	}
}

static void test_limits(void **state)
{
	/* parts */
	buf b = { 0 };
	for (int i = 0; i < 5; i++)
		buf_printf(&b, "--b\r\nContent-Disposition: form-data; name=p%d\r\n\r\nx\r\n", i);
	buf_puts(&b, "--b--");
	mp_limits lim = { .max_parts = 4, .max_header = 256, .max_total = 1 << 20 };
	rec r;
	assert_int_equal(parse_all_ways("b", &lim, b.data, b.len, &r), MP_EPARTS);
	/* the callbacks ran for the parts within the limit, and no further */
	assert_non_null(strstr(r.log.data, "P{p3}"));
	assert_null(strstr(r.log.data, "P{p4}"));
	buf_free(&r.log);
	lim.max_parts = 5;
	assert_int_equal(parse_all_ways("b", &lim, b.data, b.len, &r), MP_DONE);
	buf_free(&r.log);
	/* total: exactly at the limit passes, one byte less fails */
	lim.max_total = b.len;
	assert_int_equal(parse_all_ways("b", &lim, b.data, b.len, &r), MP_DONE);
	buf_free(&r.log);
	lim.max_total = b.len - 1;
	assert_int_equal(parse_all_ways("b", &lim, b.data, b.len, &r), MP_ETOTAL);
	buf_free(&r.log);
	buf_free(&b);
	/* header block */
	buf_puts(&b, "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
	for (int i = 0; i < 300; i++)
		buf_puts(&b, "y");
	buf_puts(&b, "\r\n\r\n\r\n--b--");
	lim = (mp_limits){ .max_parts = 4, .max_header = 256 };
	assert_int_equal(parse_all_ways("b", &lim, b.data, b.len, &r), MP_EHEADER);
	buf_free(&r.log);
	lim.max_header = 512;
	assert_int_equal(parse_all_ways("b", &lim, b.data, b.len, &r), MP_DONE);
	buf_free(&r.log);
	buf_free(&b);
	/* filename over MP_PARAM_MAX */
	buf_puts(&b, "--b\r\nContent-Disposition: form-data; name=a; filename=\"");
	for (int i = 0; i < MP_PARAM_MAX + 1; i++)
		buf_puts(&b, "n");
	buf_puts(&b, "\"\r\n\r\n\r\n--b--");
	assert_int_equal(parse_all_ways("b", NULL, b.data, b.len, &r), MP_EPARAM);
	buf_free(&r.log);
	buf_free(&b);
}

static void test_stop_and_sticky(void **state)
{
	static const char body[] =
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
		"--b\r\nContent-Disposition: form-data; name=c\r\n\r\n2\r\n--b--";
	rec r;
	assert_int_equal(run_cuts("b", NULL, S(body), NULL, 0, &r, 2), MP_ESTOP);
	assert_string_equal(r.log.data, "P{a}{}{0}{}D1EP{c}{}{0}{}");
	buf_free(&r.log);
	mp_parser p;
	assert_int_equal(mp_init(&p, "b", NULL, NULL, NULL), 0);
	assert_int_equal(mp_feed(&p, "--b\nx", 5), MP_EBAD);
	assert_int_equal(mp_feed(&p, "--b--", 5), MP_EBAD);
	assert_int_equal(mp_finish(&p), MP_EBAD);
	/* after the close delimiter, everything is epilogue */
	assert_int_equal(mp_init(&p, "b", NULL, NULL, NULL), 0);
	assert_int_equal(mp_feed(&p, "--b--", 5), MP_DONE);
	assert_int_equal(mp_feed(&p, "\r\n--b\r\n\n\n", 9), MP_DONE);
	assert_int_equal(mp_finish(&p), MP_DONE);
	/* bad boundaries */
	assert_int_equal(mp_init(&p, "", NULL, NULL, NULL), -1);
	assert_int_equal(mp_init(&p, "a b ", NULL, NULL, NULL), -1);
	assert_int_equal(mp_init(&p, "a\"b", NULL, NULL, NULL), -1);
	char longb[80];
	memset(longb, 'x', 71);
	longb[71] = 0;
	assert_int_equal(mp_init(&p, longb, NULL, NULL, NULL), -1);
	longb[70] = 0;
	assert_int_equal(mp_init(&p, longb, NULL, NULL, NULL), 0);
}

static void test_big_part_in_small_state(void **state)
{
	/* 1 MiB of data with CRs everywhere passes through 4 KiB slices */
	size_t n = 1 << 20;
	buf b = { 0 };
	buf_puts(&b, "--0123456789\r\nContent-Disposition: form-data; name=f; filename=big\r\n\r\n");
	size_t start = b.len;
	for (size_t i = 0; i < n; i++)
		buf_append(&b, (i % 7) ? "\r" : "x", 1);
	buf_puts(&b, "\r\n--0123456789--\r\n");
	mp_parser p;
	rec r = { 0 };
	assert_int_equal(mp_init(&p, "0123456789", NULL, &cbs, &r), 0);
	int rc = MP_OK;
	for (size_t off = 0; off < b.len && rc == MP_OK; off += 4096)
		rc = mp_feed(&p, b.data + off, b.len - off < 4096 ? b.len - off : 4096);
	assert_int_equal(rc, MP_DONE);
	static const char head[] = "P{f}{big}{1}{}D";
	assert_int_equal(r.log.len, sizeof head - 1 + n + 1);
	assert_memory_equal(r.log.data + sizeof head - 1, b.data + start, n);
	buf_free(&r.log);
	buf_free(&b);
}

static void test_boundary_of_content_type(void **state)
{
	char out[MP_BOUNDARY_MAX + 1];
#define CT(s) mp_boundary(s, strlen(s), out)
	assert_int_equal(CT("multipart/form-data; boundary=abc"), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(CT("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\""), 0);
	assert_string_equal(out, "a b:c");
	assert_int_equal(CT("multipart/form-data; boundary=----WebKitFormBoundaryx7Yq"), 0);
	assert_string_equal(out, "----WebKitFormBoundaryx7Yq");
	assert_int_equal(CT("multipart/form-data"), -1);
	assert_int_equal(CT("multipart/mixed; boundary=abc"), -1);
	assert_int_equal(CT("application/json; boundary=abc"), -1);
	assert_int_equal(CT("multipart/form-data; boundary="), -1);
	assert_int_equal(CT("multipart/form-data; boundary=\"\""), -1);
	assert_int_equal(CT("multipart/form-data; boundary=\"abc"), -1);
	assert_int_equal(CT("multipart/form-data; boundary=a; boundary=b"), -1);
	assert_int_equal(CT("multipart/form-data; boundary=\"a<b\""), -1);
	assert_int_equal(CT("multipart/form-data; boundary=\"ends in space \""), -1);
	assert_int_equal(CT("multipart/form-data; boundary=0123456789012345678901234567890123456789012345678901234567890123456789"), 0);
	assert_int_equal(CT("multipart/form-data; boundary=01234567890123456789012345678901234567890123456789012345678901234567890"), -1);
	assert_int_equal(CT("multipart/form-data-x; boundary=abc"), -1);
#undef CT
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_parts),
		cmocka_unit_test(test_delimiter_lookalikes),
		cmocka_unit_test(test_preamble_epilogue_padding),
		cmocka_unit_test(test_empty_parts),
		cmocka_unit_test(test_filename_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_stop_and_sticky),
		cmocka_unit_test(test_big_part_in_small_state),
		cmocka_unit_test(test_boundary_of_content_type),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
