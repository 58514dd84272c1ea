/* query_test — actors/search/query.c: words, name: and email: fields, a
 * bare email, repeats counted once, operators and punctuation giving no
 * terms, CJK bigrams, the term cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "actors/search/query.h"

/* The lists of q as "field:term" joined with " ". */
static const char *parse(const char *q, int *rc)
{
	static char out[2048];
	search_list l[SEARCH_LISTS_MAX];
	int n = 0;
	*rc = search_parse_q(q, strlen(q), l, &n);
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < n; i++) {
		assert_int_equal(l[i].kind, SL_TERM);
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%d:%.*s", i ? " " : "", l[i].field, l[i].len, l[i].t);
	}
	return out;
}

static void test_words(void **st)
{
	(void)st;
	int rc;
	assert_string_equal(parse("Refund ORDER refund", &rc), "0:refund 0:order");
	assert_int_equal(rc, SQ_OK);
	assert_string_equal(parse("name:Élodie email:bob@example.org", &rc), "1:elodie 2:bob 2:example 2:org");
	assert_string_equal(parse("alice@example.com late", &rc), "2:alice 2:example 2:com 0:late");
	assert_string_equal(parse("NAME:alice", &rc), "1:alice");
	assert_string_equal(parse("name: alice", &rc), "0:alice");   /* "name:" alone gives nothing */
	assert_string_equal(parse("订单 退款", &rc), "0:订单 0:退款");
	assert_string_equal(parse("我的订单", &rc), "0:我的 0:的订 0:订单");
}

static void test_operators(void **st)
{
	(void)st;
	int rc;
	assert_string_equal(parse("\"\" + - * ( ) || && :: ~ ^ !", &rc), "");
	assert_int_equal(rc, SQ_OK);
	assert_string_equal(parse("   ", &rc), "");
	assert_string_equal(parse("\"refund\" -order OR (late)", &rc), "0:refund 0:order 0:or 0:late");
	assert_string_equal(parse("email:@@@ name:***", &rc), "");
}

static void test_too_many(void **st)
{
	(void)st;
	char q[512] = { 0 };
	size_t o = 0;
	for (int i = 0; i < SEARCH_TERMS_MAX; i++)
		o += (size_t)snprintf(q + o, sizeof q - o, "w%d ", i);
	int rc;
	parse(q, &rc);
	assert_int_equal(rc, SQ_OK);
	snprintf(q + o, sizeof q - o, "one-more");
	parse(q, &rc);
	assert_int_equal(rc, SQ_TOO_MANY);
	/* repeats do not count */
	char r[512] = { 0 };
	o = 0;
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(r + o, sizeof r - o, "same ");
	assert_string_equal(parse(r, &rc), "0:same");
	assert_int_equal(rc, SQ_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_too_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
