/* clock_test — core/clock.c: ISO-8601 formatting and parsing agree (every
 * formatted time parses back to itself), known instants, fractions, and
 * everything that is not a real UTC calendar time refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/clock.h"

static int parse(const char *s, int64_t *ms)
{
	return clock_parse_iso8601(s, strlen(s), ms);
}

static void test_known_instants(void **state)
{
	(void)state;
	int64_t ms = -1;
	assert_int_equal(parse("1970-01-01T00:00:00Z", &ms), 0);
	assert_true(ms == 0);
	assert_int_equal(parse("1970-01-01T00:00:00.000Z", &ms), 0);
	assert_true(ms == 0);
	assert_int_equal(parse("2023-11-14T22:13:20.000Z", &ms), 0);
	assert_true(ms == 1700000000000LL);
	assert_int_equal(parse("2000-02-29T12:00:00Z", &ms), 0);
	assert_true(ms == 951825600000LL);
	assert_int_equal(parse("9999-12-31T23:59:59.999Z", &ms), 0);
	assert_true(ms == 253402300799999LL);
}

static void test_fractions(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(parse("1970-01-01T00:00:01.5Z", &ms), 0);
	assert_true(ms == 1500);
	assert_int_equal(parse("1970-01-01T00:00:01.05Z", &ms), 0);
	assert_true(ms == 1050);
	assert_int_equal(parse("1970-01-01T00:00:01.123456789Z", &ms), 0);
	assert_true(ms == 1123);
	assert_int_equal(parse("1970-01-01T00:00:01.1234567890Z", &ms), -1);   /* ten digits */
	assert_int_equal(parse("1970-01-01T00:00:01.Z", &ms), -1);
}

static void test_round_trip_with_format(void **state)
{
	(void)state;
	/* steps that cross months, leap days and centuries */
	for (int64_t ms = 0; ms < 253402300799999LL; ms += 86400000LL * 13 + 3600000LL * 7 + 61001) {
		char out[32];
		int64_t back = -1;
		clock_iso8601(ms, out);
		assert_int_equal(parse(out, &back), 0);
		if (back != ms)
			fail_msg("%s parsed as %lld, want %lld", out, (long long)back, (long long)ms);
	}
}

static void test_refused(void **state)
{
	(void)state;
	static const char *bad[] = {
		"", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00", "2024-01-01 00:00:00Z",
		"2024-1-01T00:00:00Z", "2024-01-01T00:00:00z", "1969-12-31T23:59:59Z", "2023-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z",
		"2024-01-01T00:00:00.Z", "2024-01-01T00:00:00,5Z", "2024-01-01T00:00:00.5aZ", "+2024-01-01T00:00:00Z",
		"2024-01-01T00:00:00ZZ", "20240-01-01T00:00:00Z", "2O24-01-01T00:00:00Z", "2024-01-01T0a:00:00Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms = 42;
		if (parse(bad[i], &ms) != -1)
			fail_msg("%s was accepted", bad[i]);
	}
	/* a leap day that exists, and a NUL inside */
	int64_t ms;
	assert_int_equal(parse("2024-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(clock_parse_iso8601("2024-02-29T00:00:00\0Z", 21, &ms), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_instants),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_round_trip_with_format),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
