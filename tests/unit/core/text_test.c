/* text_test — the search tokenizer: English, French (accents), Arabic
 * (harakat, tatweel), Chinese and Japanese (bigrams), Korean, mixed
 * scripts, full-width forms, invalid UTF-8, the term and count caps, empty
 * and huge input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

/* The terms of s joined with "|". */
typedef struct {
	char out[4096];
	size_t len;
	int n;
} joined;

static bool join_one(void *ctx, const char *t, size_t len)
{
	joined *j = ctx;
	assert_true(len > 0 && len <= TEXT_TERM_MAX);
	assert_null(memchr(t, 0, len));
	if (j->len + len + 2 < sizeof j->out) {
		if (j->n)
			j->out[j->len++] = '|';
		memcpy(j->out + j->len, t, len);
		j->len += len;
		j->out[j->len] = 0;
	}
	j->n++;
	return true;
}

static const char *terms(const char *s)
{
	static joined j;
	memset(&j, 0, sizeof j);
	int n = text_terms(s, strlen(s), TEXT_TERMS_MAX, join_one, &j);
	assert_int_equal(n, j.n);
	return j.out;
}

static void test_english(void **st)
{
	(void)st;
	assert_string_equal(terms("Hello, World! My order #1234 hasn't arrived."),
			    "hello|world|my|order|1234|hasn|t|arrived");
	assert_string_equal(terms("  REFUND\trequest\n"), "refund|request");
	assert_string_equal(terms("alice@example.com"), "alice|example|com");
	assert_string_equal(terms("ﬁle ＡＢＣ １２３"), "file|abc|123");      /* ligature, full width: NFKC */
	assert_string_equal(terms("Straße"), "strasse");                 /* case folding */
}

static void test_french(void **st)
{
	(void)st;
	assert_string_equal(terms("Élève"), "eleve");
	assert_string_equal(terms("eleve"), "eleve");
	assert_string_equal(terms("ÉLÈVE"), "eleve");
	/* decomposed input (e + combining acute) gives the same term */
	assert_string_equal(terms("E\xcc\x81le\xcc\x80ve"), "eleve");
	assert_string_equal(terms("Où est ma commande ? Très déçu… l'été"),
			    "ou|est|ma|commande|tres|decu|l|ete");
	assert_string_equal(terms("Œuvre garçon"), "œuvre|garcon");
}

static void test_arabic(void **st)
{
	(void)st;
	/* "kitāb" with harakat, and with a tatweel, gives the bare letters */
	assert_string_equal(terms("كِتَابٌ"), "كتاب");
	assert_string_equal(terms("كتـــاب"), "كتاب");
	assert_string_equal(terms("مَرْحَبًا بِكُمْ"), "مرحبا|بكم");
	/* Arabic-Indic digits are numbers: NFKC keeps them, they form a word */
	assert_string_equal(terms("طلب ١٢٣"), "طلب|١٢٣");
	/* Arabic presentation forms fold to the base letters (NFKC) */
	assert_string_equal(terms("\xef\xbb\xb7"), "لا");   /* U+FEF7 lam-alef ligature with hamza → لأ → لا */
}

static void test_chinese(void **st)
{
	(void)st;
	assert_string_equal(terms("我的订单没有到"), "我的|的订|订单|单没|没有|有到");
	assert_string_equal(terms("订单"), "订单");
	assert_string_equal(terms("单"), "单");             /* a run of one character: itself */
	assert_string_equal(terms("订单，退款"), "订单|退款"); /* punctuation ends a run */
	/* traditional and compatibility forms: NFKC maps U+F900 to U+8C48 */
	assert_string_equal(terms("\xef\xa4\x80"), "\xe8\xb1\x88");
}

static void test_japanese(void **st)
{
	(void)st;
	assert_string_equal(terms("東京都"), "東京|京都");
	assert_string_equal(terms("カタカナ"), "カタ|タカ|カナ");
	/* half-width katakana become full width (NFKC) */
	assert_string_equal(terms("ｶﾀｶﾅ"), "カタ|タカ|カナ");
	/* a kanji-kana run is one run of bigrams */
	assert_string_equal(terms("注文した"), "注文|文し|した");
	/* the prolonged sound mark belongs to the run; the voicing marks are
	 * marks, stripped like accents (バ → ハ), in the query as in the text */
	assert_string_equal(terms("サーバー"), "サー|ーハ|ハー");
	assert_string_equal(terms("サーハー"), "サー|ーハ|ハー");
}

static void test_korean(void **st)
{
	(void)st;
	assert_string_equal(terms("안녕하세요 주문"), "안녕|녕하|하세|세요|주문");
}

static void test_mixed(void **st)
{
	(void)st;
	assert_string_equal(terms("iPhone 15の注文 refund返金"), "iphone|15|の注|注文|refund|返金");
	assert_string_equal(terms("Ελληνικά русский текст"), "ελληνικα|русскии|текст");
	assert_string_equal(terms("café كتاب 订单"), "cafe|كتاب|订单");
	/* emoji and symbols separate; they are no terms */
	assert_string_equal(terms("ok👍thanks ★★★"), "ok|thanks");
	/* zero-width joiners and soft hyphens are ignorable */
	assert_string_equal(terms("re\xc2\xad" "fund"), "refund");
}

static void test_operators_and_empty(void **st)
{
	(void)st;
	assert_string_equal(terms(""), "");
	assert_string_equal(terms("   "), "");
	assert_string_equal(terms("\"*\" AND +-() || && :: ?? !! ~~ ^"), "and");
	assert_false(text_has_terms("+-*/() \"\" :: || && ~^", strlen("+-*/() \"\" :: || && ~^")));
	assert_false(text_has_terms("\xcc\x81\xcc\x80", 4));  /* marks alone */
	assert_false(text_has_terms("", 0));
	assert_true(text_has_terms("x", 1));
}

static void test_invalid_utf8(void **st)
{
	(void)st;
	/* invalid bytes separate words; overlong and surrogate forms too */
	assert_string_equal(terms("ab\xff" "cd"), "ab|cd");
	assert_string_equal(terms("ab\xc0\xaf" "cd"), "ab|cd");
	assert_string_equal(terms("ab\xed\xa0\x80" "cd"), "ab|cd");
	assert_string_equal(terms("\xe6\x97"), "");          /* cut in the middle */
	/* a NUL byte in the middle is a separator */
	joined j = { 0 };
	assert_int_equal(text_terms("ab\0cd", 5, 10, join_one, &j), 2);
	assert_string_equal(j.out, "ab|cd");
}

static void test_term_cap(void **st)
{
	(void)st;
	char longw[200];
	memset(longw, 'a', sizeof longw - 1);
	longw[sizeof longw - 1] = 0;
	const char *t = terms(longw);
	assert_int_equal(strlen(t), TEXT_TERM_MAX);
	/* bigrams are short terms; words of multi-byte characters are cut at a
	 * character boundary */
	char heb[601] = { 0 };
	for (int i = 0; i < 200; i++)
		memcpy(heb + 3 * i, "\xe4\xb8\x80", 3);   /* ideographs: bigrams of 6 bytes */
	t = terms(heb);
	assert_int_equal(strlen(t), 199 * 6 + 198);
	char cyr[401] = { 0 };
	for (int i = 0; i < 200; i++)
		memcpy(cyr + 2 * i, "\xd0\xb6", 2);       /* ж: 2 bytes, 20 fit */
	t = terms(cyr);
	assert_int_equal(strlen(t), 40);
	char mix[401] = { 0 };
	memcpy(mix, "a", 1);
	for (int i = 0; i < 100; i++)
		memcpy(mix + 1 + 3 * i, "\xe2\x84\xab", 3); /* Å (angstrom sign) → å → a after NFKC and mark stripping */
	t = terms(mix);
	assert_int_equal(strlen(t), 40);
}

static bool count_only(void *ctx, const char *t, size_t len)
{
	(void)t;
	(void)len;
	(*(size_t *)ctx)++;
	return true;
}

static void test_count_cap_and_huge(void **st)
{
	(void)st;
	size_t n = 1 << 20;                   /* 1 MiB of "w " */
	char *s = malloc(n);
	assert_non_null(s);
	for (size_t i = 0; i < n; i += 2) {
		s[i] = 'w';
		s[i + 1] = ' ';
	}
	size_t c = 0;
	assert_int_equal(text_terms(s, n, 100, count_only, &c), 100);
	assert_int_equal(c, 100);
	c = 0;
	/* only TEXT_INPUT_MAX bytes are read: 32768 words */
	assert_int_equal(text_terms(s, n, SIZE_MAX, count_only, &c), TEXT_INPUT_MAX / 2);
	/* a huge run of ideographs: bigrams up to the cap */
	size_t m = 3 * 30000;
	char *h = malloc(m);
	assert_non_null(h);
	for (size_t i = 0; i < m; i += 3)
		memcpy(h + i, "\xe4\xb8\x80", 3);   /* 一 */
	c = 0;
	assert_int_equal(text_terms(h, m, TEXT_TERMS_MAX, count_only, &c), TEXT_TERMS_MAX);
	free(h);
	free(s);
}

/* Pure ASCII takes a shorter road (no UTF-8 cleaning, no utf8proc map):
 * its terms are those of the general one. A text plus " \xc3\xa9" (é, not
 * ASCII) goes the general way and gives the same terms and then "e". */
static void test_ascii_same_as_general(void **st)
{
	(void)st;
	char all[160];
	size_t n = 0;
	for (int c = 1; c < 128; c++)
		all[n++] = (char)c;
	all[n] = 0;
	const char *cases[] = {
		"Hello, World! My order #1234 hasn't arrived.", "  REFUND\trequest\n", "alice@example.com",
		"snake_case CamelCase x^2 $5 +1 a-b a.b a'b A\x7f" "B \x01ctl\x1f", all,
		"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ too long word",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char fast[4096], general[4200], in[512];
		snprintf(fast, sizeof fast, "%s", terms(cases[i]));
		snprintf(in, sizeof in, "%s \xc3\xa9", cases[i]);
		snprintf(general, sizeof general, "%s", terms(in));
		char want[4200];
		snprintf(want, sizeof want, "%s%se", fast, fast[0] ? "|" : "");
		assert_string_equal(general, want);
	}
}

static bool stop_after_two(void *ctx, const char *t, size_t len)
{
	(void)t;
	(void)len;
	return ++*(int *)ctx < 2;
}

static void test_stop(void **st)
{
	(void)st;
	int n = 0;
	assert_int_equal(text_terms("a b c d", 7, 10, stop_after_two, &n), 2);
	assert_int_equal(n, 2);
}

static bool is_refund(void *ctx, const char *t, size_t len)
{
	(void)ctx;
	return (len == 6 && memcmp(t, "refund", 6) == 0) || (len == 6 && memcmp(t, "退款", 6) == 0) ||
	       (len == 5 && memcmp(t, "eleve", 5) == 0);
}

static void test_find(void **st)
{
	(void)st;
	assert_int_equal(text_find("Hello, I want a REFUND now", 26, is_refund, NULL), 16);
	assert_int_equal(text_find("no match here", 13, is_refund, NULL), -1);
	assert_int_equal(text_find("", 0, is_refund, NULL), -1);
	/* soft hyphen and decomposed accents stay inside the stretch */
	assert_int_equal(text_find("x re\xc2\xad" "fund", 10, is_refund, NULL), 2);
	assert_int_equal(text_find("un E\xcc\x81le\xcc\x80ve", 12, is_refund, NULL), 3);
	const char *zh = "我要退款";
	assert_int_equal(text_find(zh, strlen(zh), is_refund, NULL), 0);   /* the run's start */
	assert_int_equal(text_find("ab\xff refund", 10, is_refund, NULL), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_english),
		cmocka_unit_test(test_french),
		cmocka_unit_test(test_arabic),
		cmocka_unit_test(test_chinese),
		cmocka_unit_test(test_japanese),
		cmocka_unit_test(test_korean),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_operators_and_empty),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_term_cap),
		cmocka_unit_test(test_count_cap_and_huge),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_ascii_same_as_general),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
