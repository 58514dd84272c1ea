/* kit/prechat: the email and phone syntax of the pre-chat form, the rating
 * window's default, and a settings change applied field by field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "actors/kit/prechat.h"

#include <string.h>

static void test_email(void **state)
{
	(void)state;
	const char *good[] = { "a@b.co", "ann.o'neil+tag@example.com", "x@sub.example.org", "üser@exämple.de" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(prechat_email_ok(good[i]));
	const char *bad[] = { "", "a", "a@", "@b.co", "a@b", "a@b.", "a@.co", "a b@c.co", "a@b@c.co", "<a@b.co>",
			      "\"a\"@b.co", "a@b.co;c@d.co", "a,b@c.co", "a\t@b.co", "a\n@b.co" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(prechat_email_ok(bad[i]));
	char longest[REC_EMAIL_MAX + 2];
	memset(longest, 'a', sizeof longest);
	memcpy(longest + REC_EMAIL_MAX - 6, "@b.com", 7);   /* exactly REC_EMAIL_MAX bytes */
	assert_true(prechat_email_ok(longest));
	memset(longest, 'a', sizeof longest);
	memcpy(longest + REC_EMAIL_MAX - 5, "@b.com", 7);   /* one more */
	assert_false(prechat_email_ok(longest));
}

static void test_phone(void **state)
{
	(void)state;
	const char *good[] = { "123", "+49 (30) 123-456", "555 0100", "+1-800-555-0199", "00000000000000000000000000000000" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(prechat_phone_ok(good[i]));
	const char *bad[] = { "", "12", "+++", "()-", "555-CALL", "1 2 3;", "123456789012345678901234567890123",
			      "+1 555\n0100", "１２３" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(prechat_phone_ok(bad[i]));
}

static void test_window_and_apply(void **state)
{
	(void)state;
	rec_tenant t;
	rec_tenant_init(&t);
	assert_int_equal(prechat_rating_window_ms(&t), 7LL * 86400 * 1000);
	t.rating_window_s = 60;
	assert_int_equal(prechat_rating_window_ms(&t), 60000);
	prechat_change c = { .name = PRE_REQUIRED, .email = -1, .phone = PRE_OPTIONAL, .question = -1,
			     .transcript_on_close = 1, .rating_window_s = -1 };
	t.prechat_email = PRE_OPTIONAL;
	prechat_apply(&c, &t);
	assert_int_equal(t.prechat_name, PRE_REQUIRED);
	assert_int_equal(t.prechat_email, PRE_OPTIONAL);   /* unchanged */
	assert_int_equal(t.prechat_phone, PRE_OPTIONAL);
	assert_int_equal(t.prechat_question, PRE_OFF);
	assert_true(t.transcript_on_close);
	assert_int_equal(t.rating_window_s, 60);
	c = (prechat_change){ .name = -1, .email = -1, .phone = -1, .question = -1, .transcript_on_close = 0,
			      .rating_window_s = 0 };
	prechat_apply(&c, &t);
	assert_false(t.transcript_on_close);
	assert_int_equal(t.rating_window_s, 0);
	assert_int_equal(t.prechat_name, PRE_REQUIRED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_window_and_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
