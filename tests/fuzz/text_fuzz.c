/* Fuzz target for core/text, the search tokenizer.
 *
 * Byte 0 picks the term cap (0..255; 255 = TEXT_TERMS_MAX), the rest is the
 * text. Checks: the count returned equals the calls made and is within the
 * cap; every term is 1..TEXT_TERM_MAX bytes of valid UTF-8 without a NUL;
 * a term is a fixed point: tokenizing it again gives exactly itself (so a
 * query made of a stored term finds it); and the text gives a term exactly
 * when text_has_terms says so; and pure ASCII (which takes a shorter road,
 * without utf8proc) gives the terms the general road gives: the same text
 * followed by " é" gives the same terms and then "e". A broken promise
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

typedef struct {
	char t[TEXT_TERM_MAX];
	size_t len;
	int n;
} one;

static bool take_one(void *ctx, const char *t, size_t len)
{
	one *o = ctx;
	o->n++;
	memcpy(o->t, t, len);
	o->len = len;
	return true;
}

static bool check_term(void *ctx, const char *t, size_t len)
{
	size_t *calls = ctx;
	(*calls)++;
	CHECK(len >= 1 && len <= TEXT_TERM_MAX);
	CHECK(memchr(t, 0, len) == NULL);
	size_t i = 0;
	while (i < len) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)t + i, (utf8proc_ssize_t)(len - i), &c);
		CHECK(k > 0);
		i += (size_t)k;
	}
	one o = { .n = 0 };
	CHECK(text_terms(t, len, 4, take_one, &o) == 1);
	CHECK(o.n == 1 && o.len == len && memcmp(o.t, t, len) == 0);
	return true;
}

/* Terms joined, each behind its length byte. */
typedef struct {
	char *b;
	size_t len, cap;
} joined;

static bool join(void *ctx, const char *t, size_t len)
{
	joined *j = ctx;
	CHECK(j->len + 1 + len <= j->cap);
	j->b[j->len++] = (char)len;
	memcpy(j->b + j->len, t, len);
	j->len += len;
	return true;
}

static void check_ascii_road(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return;
	if (n + 3 > TEXT_INPUT_MAX)
		return;
	char *s2 = malloc(n + 3);
	joined a = { malloc(2 * n + 16), 0, 2 * n + 16 }, b = { malloc(2 * n + 32), 0, 2 * n + 32 };
	CHECK(s2 && a.b && b.b);
	memcpy(s2, s, n);
	memcpy(s2 + n, " \xc3\xa9", 3);
	CHECK(text_terms(s, n, SIZE_MAX, join, &a) >= 0);
	CHECK(text_terms(s2, n + 3, SIZE_MAX, join, &b) >= 0);
	CHECK(b.len == a.len + 2 && memcmp(a.b, b.b, a.len) == 0 && b.b[a.len] == 1 && b.b[a.len + 1] == 'e');
	free(s2);
	free(a.b);
	free(b.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cap = data[0] == 255 ? TEXT_TERMS_MAX : data[0];
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	size_t calls = 0;
	int r = text_terms(s, n, cap, check_term, &calls);
	CHECK(r >= 0 && (size_t)r == calls && calls <= cap);
	if (cap > 0)
		CHECK(text_has_terms(s, n) == (r > 0));
	check_ascii_road(s, n);
	return 0;
}
