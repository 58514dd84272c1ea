/* tokmemo_test — remembered token claims: exact bytes, audience, expiry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "actors/kit/tokmemo.h"

static const char T1[] = "aaa.bbb.signature-one-0123456789abcdef0123456789";
static const char T2[] = "aaa.bbb.signature-two-0123456789abcdef0123456789";

static tm_claims claims(uint64_t sub, int64_t exp, uint8_t aud)
{
	return (tm_claims){ .tid = 9, .sub = sub, .issued_ms = 1000, .iat_s = 1, .exp_s = exp, .aud = aud };
}

static void test_hit_until_expiry(void **state)
{
	tokmemo *m = tm_new(2, 16, 4096);
	assert_non_null(m);
	tm_claims c = claims(5, 100, 1), out;
	assert_false(tm_get(m, 0, T1, strlen(T1), 1, 50, 60, &out));
	tm_put(m, 0, T1, strlen(T1), &c);
	assert_true(tm_get(m, 0, T1, strlen(T1), 1, 50, 60, &out));
	assert_int_equal(out.sub, 5);
	assert_int_equal(out.tid, 9);
	assert_int_equal(out.issued_ms, 1000);
	assert_true(tm_get(m, 0, T1, strlen(T1), 1, 99, 60, &out));
	assert_false(tm_get(m, 0, T1, strlen(T1), 1, 100, 60, &out));   /* exp is exclusive */
	assert_false(tm_get(m, 1, T1, strlen(T1), 1, 50, 60, &out));    /* per thread */
	tm_free(&m);
	assert_null(m);
}

static void test_clock_stepped_back(void **state)
{
	tokmemo *m = tm_new(1, 8, 4096);
	tm_claims c = claims(5, 1000, 1), out;
	c.iat_s = 500;
	tm_put(m, 0, T1, strlen(T1), &c);
	assert_true(tm_get(m, 0, T1, strlen(T1), 1, 500, 60, &out));
	assert_true(tm_get(m, 0, T1, strlen(T1), 1, 440, 60, &out));    /* 60 s of skew allowed */
	assert_false(tm_get(m, 0, T1, strlen(T1), 1, 439, 60, &out));   /* issued "in the future" */
	tm_free(&m);
}

static void test_audience_and_bytes_must_match(void **state)
{
	tokmemo *m = tm_new(1, 1, 4096);   /* one slot: everything collides */
	tm_claims c = claims(5, 100, 1), out;
	tm_put(m, 0, T1, strlen(T1), &c);
	assert_false(tm_get(m, 0, T1, strlen(T1), 2, 50, 60, &out));       /* other audience */
	assert_false(tm_get(m, 0, T2, strlen(T2), 1, 50, 60, &out));       /* other token */
	assert_false(tm_get(m, 0, T1, strlen(T1) - 1, 1, 50, 60, &out));   /* a prefix */
	char longer[128];
	snprintf(longer, sizeof longer, "%sx", T1);
	assert_false(tm_get(m, 0, longer, strlen(longer), 1, 50, 60, &out));
	tm_claims c2 = claims(6, 100, 1);
	tm_put(m, 0, T2, strlen(T2), &c2);   /* replaces T1 */
	assert_false(tm_get(m, 0, T1, strlen(T1), 1, 50, 60, &out));
	assert_true(tm_get(m, 0, T2, strlen(T2), 1, 50, 60, &out));
	assert_int_equal(out.sub, 6);
	tm_free(&m);
}

static void test_long_tokens_not_kept(void **state)
{
	tokmemo *m = tm_new(1, 8, 16);
	tm_claims c = claims(5, 100, 1), out;
	tm_put(m, 0, T1, strlen(T1), &c);
	assert_false(tm_get(m, 0, T1, strlen(T1), 1, 50, 60, &out));
	tm_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_until_expiry),
		cmocka_unit_test(test_audience_and_bytes_must_match),
		cmocka_unit_test(test_long_tokens_not_kept),
		cmocka_unit_test(test_clock_stepped_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
