/* Unit tests for core/sniff: each accepted type from its magic
 * numbers (fed whole and a byte at a time), lying names cannot matter
 * (there are none here: only bytes), DOCX from a zip's central directory,
 * zip bombs (ratio, total, entry count, overlapping entries, ZIP64),
 * plain zips, DOC from an OLE2 directory, UTF-8 text and what is not
 * (NUL, overlongs, surrogates, truncated sequences), markup, empty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/sniff.h"
#include "core/buf.h"

typedef struct {
	const uint8_t *p;
	size_t n;
} mem;

static int mem_read(void *ctx, uint64_t off, void *dst, size_t n)
{
	mem *m = ctx;
	if (off > m->n || n > m->n - off)
		return -1;
	memcpy(dst, m->p + off, n);
	return 0;
}

static int sniff_bytes(const void *p, size_t n, int *why, bool bytewise)
{
	sniff_state s;
	sniff_init(&s);
	if (bytewise)
		for (size_t i = 0; i < n; i++)
			sniff_feed(&s, (const uint8_t *)p + i, 1);
	else
		sniff_feed(&s, p, n);
	mem m = { p, n };
	return sniff_finish(&s, mem_read, &m, why);
}

static void expect_type(const void *p, size_t n, int type, int why)
{
	for (int bw = 0; bw < 2; bw++) {
		int w = -1;
		int t = sniff_bytes(p, n, &w, bw);
		if (t != type || w != why)
			fail_msg("got type %d why %d, want %d %d", t, w, type, why);
	}
}

#define S(lit) lit, sizeof lit - 1

static void test_images_and_pdf(void **state)
{
	expect_type(S("\xff\xd8\xff\xe0\0\x10JFIF\0"), FT_JPEG, SNIFF_OK);
	expect_type(S("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), FT_PNG, SNIFF_OK);
	expect_type(S("GIF89a\x01\0\x01\0"), FT_GIF, SNIFF_OK);
	expect_type(S("GIF87a\x01\0\x01\0"), FT_GIF, SNIFF_OK);
	expect_type(S("RIFF\x24\0\0\0WEBPVP8 "), FT_WEBP, SNIFF_OK);
	expect_type(S("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), FT_PDF, SNIFF_OK);
	/* near misses */
	expect_type(S("\x89PNG\r\n\x1a"), FT_UNKNOWN, SNIFF_UNKNOWN);
	expect_type(S("RIFF\x24\0\0\0WAVEfmt "), FT_UNKNOWN, SNIFF_UNKNOWN);
	expect_type(S("\xff\xd8"), FT_UNKNOWN, SNIFF_UNKNOWN);
	assert_string_equal(sniff_mime(FT_PNG), "image/png");
	assert_true(sniff_is_image(FT_WEBP));
	assert_false(sniff_is_image(FT_PDF));
	assert_int_equal(sniff_parse("docx"), FT_DOCX);
	assert_int_equal(sniff_parse("image/gif"), FT_GIF);
	assert_int_equal(sniff_parse("svg"), FT_UNKNOWN);
}

static void test_text(void **state)
{
	expect_type(S("hello\n"), FT_TXT, SNIFF_OK);
	expect_type(S("\xef\xbb\xbfr\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n"), FT_TXT, SNIFF_OK);
	expect_type(S("a\0b"), FT_UNKNOWN, SNIFF_UNKNOWN);
	expect_type(S("\xc0\xaf"), FT_UNKNOWN, SNIFF_UNKNOWN);          /* overlong */
	expect_type(S("\xed\xa0\x80"), FT_UNKNOWN, SNIFF_UNKNOWN);      /* surrogate */
	expect_type(S("\xf4\x90\x80\x80"), FT_UNKNOWN, SNIFF_UNKNOWN);  /* past U+10FFFF */
	expect_type(S("ok \xe2\x82"), FT_UNKNOWN, SNIFF_UNKNOWN);       /* cut short */
	expect_type(S("\xff\xfeh\0i\0"), FT_UNKNOWN, SNIFF_UNKNOWN);     /* UTF-16 */
	/* markup is never text */
	expect_type(S("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"), FT_UNKNOWN,
		    SNIFF_MARKUP);
	expect_type(S("\xef\xbb\xbf \r\n\t<!DOCTYPE html><html></html>"), FT_UNKNOWN, SNIFF_MARKUP);
	expect_type(S("<?xml version=\"1.0\"?>"), FT_UNKNOWN, SNIFF_MARKUP);
	expect_type("", 0, FT_UNKNOWN, SNIFF_EMPTY);
}

/* ---- zips, built here: stored or "deflated" entries (never inflated,
 * so the data need not be real deflate) ---- */

typedef struct {
	const char *name;
	uint32_t csize, usize;
	uint16_t method;
	int64_t off;       /* -1: where it is written; else a forced local offset */
} zent;

static void put16(buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	buf_append(b, x, 2);
}

static void put32(buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	buf_append(b, x, 4);
}

static void build_zip(buf *z, const zent *e, int n, uint16_t count_override)
{
	uint32_t *offs = calloc((size_t)n, sizeof *offs);
	for (int i = 0; i < n; i++) {
		offs[i] = (uint32_t)z->len;
		put32(z, 0x04034b50);
		put16(z, 20); put16(z, 0); put16(z, e[i].method); put16(z, 0); put16(z, 0);
		put32(z, 0); put32(z, e[i].csize); put32(z, e[i].usize);
		put16(z, (uint16_t)strlen(e[i].name)); put16(z, 0);
		buf_puts(z, e[i].name);
		for (uint32_t k = 0; k < e[i].csize; k++)
			buf_append(z, "x", 1);
	}
	size_t cd = z->len;
	for (int i = 0; i < n; i++) {
		put32(z, 0x02014b50);
		put16(z, 20); put16(z, 20); put16(z, 0); put16(z, e[i].method); put16(z, 0); put16(z, 0);
		put32(z, 0); put32(z, e[i].csize); put32(z, e[i].usize);
		put16(z, (uint16_t)strlen(e[i].name)); put16(z, 0); put16(z, 0);
		put16(z, 0); put16(z, 0); put32(z, 0);
		put32(z, e[i].off >= 0 ? (uint32_t)e[i].off : offs[i]);
		buf_puts(z, e[i].name);
	}
	size_t cd_size = z->len - cd;
	uint16_t cnt = count_override ? count_override : (uint16_t)n;
	put32(z, 0x06054b50);
	put16(z, 0); put16(z, 0); put16(z, cnt); put16(z, cnt);
	put32(z, (uint32_t)cd_size); put32(z, (uint32_t)cd);
	put16(z, 0);
	free(offs);
}

static void expect_zip(const zent *e, int n, int type, int why)
{
	buf z = { 0 };
	build_zip(&z, e, n, 0);
	expect_type(z.data, z.len, type, why);
	buf_free(&z);
}

static void test_docx_and_zips(void **state)
{
	zent docx[] = {
		{ "[Content_Types].xml", 40, 40, 0, -1 },
		{ "_rels/.rels", 30, 90, 8, -1 },
		{ "word/document.xml", 100, 900, 8, -1 },
	};
	expect_zip(docx, 3, FT_DOCX, SNIFF_OK);
	/* a zip that is not a Word document: no word/ part, or no content types */
	zent xlsx[] = { { "[Content_Types].xml", 10, 10, 0, -1 }, { "xl/workbook.xml", 10, 50, 8, -1 } };
	expect_zip(xlsx, 2, FT_UNKNOWN, SNIFF_UNKNOWN);
	zent plain[] = { { "word/document.xml", 10, 10, 0, -1 } };
	expect_zip(plain, 1, FT_UNKNOWN, SNIFF_UNKNOWN);
	/* a zip bomb posing as DOCX: one entry inflating 1000x, past 1 MiB */
	zent bomb[] = {
		{ "[Content_Types].xml", 40, 40, 0, -1 },
		{ "word/document.xml", 2000, 2000u * 1000, 8, -1 },
	};
	expect_zip(bomb, 2, FT_UNKNOWN, SNIFF_ZIP_BOMB);
	/* many entries each within the ratio, over the total */
	zent *many = calloc(102, sizeof *many);
	many[0] = (zent){ "[Content_Types].xml", 40, 40, 0, -1 };
	for (int i = 1; i < 102; i++)
		many[i] = (zent){ "word/x.xml", 20000, 1u << 20, 8, -1 };
	expect_zip(many, 102, FT_UNKNOWN, SNIFF_ZIP_BOMB);
	free(many);
	/* overlapping entries: the same compressed data named many times */
	zent overlap[] = {
		{ "[Content_Types].xml", 40, 40, 0, -1 },
		{ "word/a.xml", 50, 500, 8, -1 },
		{ "word/b.xml", 50, 500, 8, 0 },
	};
	expect_zip(overlap, 3, FT_UNKNOWN, SNIFF_ZIP_BOMB);
	/* an absurd entry count */
	buf z = { 0 };
	build_zip(&z, docx, 3, 0xffff);
	expect_type(z.data, z.len, FT_UNKNOWN, SNIFF_ZIP_BOMB);
	buf_free(&z);
	/* truncated: the directory is gone */
	build_zip(&z, docx, 3, 0);
	expect_type(z.data, z.len - 30, FT_UNKNOWN, SNIFF_UNKNOWN);
	/* a comment after the end record is allowed */
	z.data[z.len - 2] = 3;
	buf_append(&z, "abc", 3);
	expect_type(z.data, z.len, FT_DOCX, SNIFF_OK);
	buf_free(&z);
	/* a method other than stored/deflate, a stored entry whose sizes differ */
	zent m9[] = { { "[Content_Types].xml", 40, 40, 9, -1 }, { "word/document.xml", 10, 10, 0, -1 } };
	expect_zip(m9, 2, FT_UNKNOWN, SNIFF_UNKNOWN);
	zent st[] = { { "[Content_Types].xml", 40, 41, 0, -1 }, { "word/document.xml", 10, 10, 0, -1 } };
	expect_zip(st, 2, FT_UNKNOWN, SNIFF_UNKNOWN);
}

static void test_doc(void **state)
{
	/* an OLE2 file: 512-byte sectors, the directory in sector 1 */
	size_t n = 512 * 3;
	uint8_t *f = calloc(1, n);
	memcpy(f, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	f[30] = 9;      /* sector shift */
	f[48] = 1;      /* first directory sector */
	uint8_t *dir = f + 512 * 2;
	const char *names[2] = { "Root Entry", "WordDocument" };
	for (int e = 0; e < 2; e++) {
		uint8_t *d = dir + 128 * e;
		size_t l = strlen(names[e]);
		for (size_t k = 0; k < l; k++)
			d[2 * k] = (uint8_t)names[e][k];
		d[64] = (uint8_t)(2 * (l + 1));
		d[66] = e ? 2 : 5;
	}
	expect_type(f, n, FT_DOC, SNIFF_OK);
	/* an Excel workbook is OLE2 too, but not a Word document */
	memcpy(dir + 128, "W\0o\0r\0k\0b\0o\0o\0k\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 26);
	expect_type(f, n, FT_UNKNOWN, SNIFF_UNKNOWN);
	/* a directory sector beyond the end */
	f[48] = 9;
	expect_type(f, n, FT_UNKNOWN, SNIFF_UNKNOWN);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_images_and_pdf),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_docx_and_zips),
		cmocka_unit_test(test_doc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
