/* password_test — Argon2id hash/verify at a test-only low cost. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "actors/auth/password.h"

static int setup(void **state)
{
	password_set_cost(1024, 1);
	return 0;
}

static void test_hash_verify(void **state)
{
	char enc[PASSWORD_HASH_MAX];
	const char *pw = "correct horse battery staple";
	assert_int_equal(password_hash(pw, strlen(pw), enc), 0);
	assert_int_equal(strncmp(enc, "$argon2id$v=19$m=1024,t=1,p=1$", 30), 0);
	assert_true(strlen(enc) < PASSWORD_HASH_MAX);
	assert_true(password_verify(enc, pw, strlen(pw)));
}

static void test_wrong_password(void **state)
{
	char enc[PASSWORD_HASH_MAX];
	const char *pw = "correct horse battery staple";
	assert_int_equal(password_hash(pw, strlen(pw), enc), 0);
	assert_false(password_verify(enc, "correct horse battery stapl", strlen(pw) - 1));
	assert_false(password_verify(enc, "Correct horse battery staple", strlen(pw)));
	assert_false(password_verify(enc, "correct horse battery staple!", strlen(pw) + 1));
	assert_false(password_verify(enc, "", 0));
}

static void test_length_limits(void **state)
{
	char enc[PASSWORD_HASH_MAX];
	char pw[PASSWORD_MAX_LEN + 2];
	memset(pw, 'p', sizeof pw);

	enc[0] = 'x';
	assert_int_equal(password_hash("short12", 7, enc), -1);
	assert_int_equal(enc[0], '\0');
	assert_int_equal(password_hash("", 0, enc), -1);
	assert_int_equal(password_hash(NULL, 10, enc), -1);
	assert_int_equal(password_hash(pw, PASSWORD_MAX_LEN + 1, enc), -1);

	assert_int_equal(password_hash(pw, PASSWORD_MIN_LEN, enc), 0);
	assert_true(password_verify(enc, pw, PASSWORD_MIN_LEN));
	assert_int_equal(password_hash(pw, PASSWORD_MAX_LEN, enc), 0);
	assert_true(password_verify(enc, pw, PASSWORD_MAX_LEN));
	/* Over the maximum is refused without hashing. */
	assert_false(password_verify(enc, pw, PASSWORD_MAX_LEN + 1));
}

static void test_embedded_nul(void **state)
{
	/* Length-delimited: bytes after a NUL count. */
	char enc[PASSWORD_HASH_MAX];
	const char pw[] = "passw\0rd-123";
	assert_int_equal(password_hash(pw, sizeof pw - 1, enc), 0);
	assert_true(password_verify(enc, pw, sizeof pw - 1));
	assert_false(password_verify(enc, pw, 5));
}

static void test_garbage_encoded(void **state)
{
	const char *pw = "correct horse battery staple";
	size_t n = strlen(pw);
	assert_false(password_verify(NULL, pw, n));
	assert_false(password_verify("", pw, n));
	assert_false(password_verify("garbage", pw, n));
	assert_false(password_verify("$argon2id$", pw, n));
	assert_false(password_verify("$argon2id$v=19$m=1024,t=1,p=1$xxx$yyy", pw, n));
	assert_false(password_verify("$argon2id$v=19$m=1024,t=1,p=1$$", pw, n));
	assert_false(password_verify("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$"
				     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pw, n));

	/* A real hash, truncated or of another type, no longer verifies. */
	char enc[PASSWORD_HASH_MAX];
	assert_int_equal(password_hash(pw, n, enc), 0);
	char copy[PASSWORD_HASH_MAX];
	memcpy(copy, enc, sizeof copy);
	copy[strlen(copy) - 5] = '\0';
	assert_false(password_verify(copy, pw, n));
	memcpy(copy, enc, sizeof copy);
	memcpy(copy, "$argon2d$", 9);
	memmove(copy + 9, enc + 10, strlen(enc + 10) + 1);
	assert_false(password_verify(copy, pw, n));
	assert_false(password_verify(enc, NULL, 0));

	/* Unterminated within PASSWORD_HASH_MAX is refused, not overread. */
	char longer[PASSWORD_HASH_MAX + 16];
	memset(longer, 'A', sizeof longer - 1);
	memcpy(longer, "$argon2id$", 10);
	longer[sizeof longer - 1] = '\0';
	assert_false(password_verify(longer, pw, n));
}

static void test_salted(void **state)
{
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
	const char *pw = "same password";
	assert_int_equal(password_hash(pw, strlen(pw), a), 0);
	assert_int_equal(password_hash(pw, strlen(pw), b), 0);
	assert_string_not_equal(a, b);
	assert_true(password_verify(a, pw, strlen(pw)));
	assert_true(password_verify(b, pw, strlen(pw)));
}

static void test_cost_change(void **state)
{
	/* Hashes record their own cost: old ones verify after a change. */
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];
	const char *pw = "cost change";
	assert_int_equal(password_hash(pw, strlen(pw), a), 0);
	password_set_cost(2048, 2);
	assert_int_equal(password_hash(pw, strlen(pw), b), 0);
	assert_int_equal(strncmp(b, "$argon2id$v=19$m=2048,t=2,p=1$", 30), 0);
	assert_true(password_verify(a, pw, strlen(pw)));
	assert_true(password_verify(b, pw, strlen(pw)));
	/* Below libargon2's minimums is clamped, not fatal. */
	password_set_cost(0, 0);
	assert_int_equal(password_hash(pw, strlen(pw), b), 0);
	assert_int_equal(strncmp(b, "$argon2id$v=19$m=8,t=1,p=1$", 27), 0);
	assert_true(password_verify(b, pw, strlen(pw)));
	password_set_cost(1024, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_verify),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_garbage_encoded),
		cmocka_unit_test(test_salted),
		cmocka_unit_test(test_cost_change),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
