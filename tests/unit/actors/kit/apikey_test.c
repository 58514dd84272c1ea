/* apikey_test — actors/kit/apikey.c: the secret's form (made, parsed,
 * hashed; every malformed variant refused) and the table that lets one
 * last-use write per key and minute be asked for. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "actors/kit/apikey.h"
#include "core/crypto.h"

#define NOW 1700000000000LL

static int parse(const char *s, uint64_t *tid, uint8_t hash[32])
{
	return apikey_parse(s, strlen(s), tid, hash);
}

static void test_new_secret_parses_back(void **state)
{
	(void)state;
	char a[APIKEY_SECRET_MAX], b[APIKEY_SECRET_MAX], hint[REC_HINT_MAX + 1];
	uint8_t ha[32], hb[32], hp[32], want[32];
	assert_int_equal(apikey_new_secret(117742292874428416ull, a, ha, hint), 0);
	assert_int_equal(apikey_new_secret(117742292874428416ull, b, hb, hint), 0);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(ha, hb, 32);
	assert_true(strncmp(a, "pk_117742292874428416_", 22) == 0);
	assert_int_equal(strlen(a), 22 + 43);
	assert_true(apikey_is_secret(a, strlen(a)));
	assert_string_equal(hint, b + strlen(b) - 4);
	uint64_t tid = 0;
	assert_int_equal(parse(a, &tid, hp), 0);
	assert_true(tid == 117742292874428416ull);
	crypto_sha256(a, strlen(a), want);
	assert_memory_equal(hp, want, 32);
	assert_memory_equal(ha, want, 32);
	/* the largest tenant id fits */
	assert_int_equal(apikey_new_secret(UINT64_MAX, a, ha, hint), 0);
	assert_int_equal(parse(a, &tid, hp), 0);
	assert_true(tid == UINT64_MAX);
	assert_true(strlen(a) < APIKEY_SECRET_MAX);
}

static void test_malformed_refused(void **state)
{
	(void)state;
	char good[APIKEY_SECRET_MAX], hint[REC_HINT_MAX + 1];
	uint8_t h[32];
	assert_int_equal(apikey_new_secret(42, good, h, hint), 0);
	const char *rnd = good + 6;   /* "pk_42_" */
	char bad[16][128];
	int n = 0;
	snprintf(bad[n++], 128, "pk_42_%.*s", 42, rnd);               /* short */
	snprintf(bad[n++], 128, "pk_42_%sA", rnd);                    /* long */
	snprintf(bad[n++], 128, "pk_0_%s", rnd);                      /* no tenant 0 */
	snprintf(bad[n++], 128, "pk__%s", rnd);                       /* no tenant */
	snprintf(bad[n++], 128, "pk_4x2_%s", rnd);                    /* not a number */
	snprintf(bad[n++], 128, "pk_99999999999999999999_%s", rnd);   /* over 64 bits */
	snprintf(bad[n++], 128, "pk_42_%.*s=", 42, rnd);              /* outside base64url */
	snprintf(bad[n++], 128, "pk_42_%.*s+", 42, rnd);
	snprintf(bad[n++], 128, "PK_42_%s", rnd);
	snprintf(bad[n++], 128, "pk-42_%s", rnd);
	snprintf(bad[n++], 128, "pk_");
	snprintf(bad[n++], 128, "pk_42");
	snprintf(bad[n++], 128, "eyJhbGciOiJIUzI1NiJ9.e30.sig");
	uint64_t tid;
	for (int i = 0; i < n; i++)
		if (parse(bad[i], &tid, h) != -1)
			fail_msg("accepted %s", bad[i]);
	assert_false(apikey_is_secret("pk", 2));
	assert_false(apikey_is_secret("eyJ", 3));
	/* a NUL inside */
	char nul[APIKEY_SECRET_MAX];
	memcpy(nul, good, sizeof nul);
	nul[10] = 0;
	assert_int_equal(apikey_parse(nul, strlen(good), &tid, h), -1);
}

static void test_keyuse_once_per_minute(void **state)
{
	(void)state;
	keyuse *u = keyuse_new();
	assert_non_null(u);
	/* stored recently: not due, whatever the table says */
	assert_false(keyuse_due(u, 1, 10, NOW, NOW - 1000));
	/* never used: due once, then held back until a minute passed */
	assert_true(keyuse_due(u, 1, 10, NOW, 0));
	assert_false(keyuse_due(u, 1, 10, NOW + 1, 0));
	assert_false(keyuse_due(u, 1, 10, NOW + APIKEY_TOUCH_MS - 1, 0));
	/* another key, another tenant: their own */
	assert_true(keyuse_due(u, 1, 11, NOW, 0));
	assert_true(keyuse_due(u, 2, 10, NOW, 0));
	/* stored a minute ago and nothing asked since: due */
	assert_true(keyuse_due(u, 1, 10, NOW + APIKEY_TOUCH_MS, NOW));
	assert_false(keyuse_due(u, 1, 10, NOW + APIKEY_TOUCH_MS + 5, NOW));
	keyuse_free(&u);
	assert_null(u);
	keyuse_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_secret_parses_back),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_keyuse_once_per_minute),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
