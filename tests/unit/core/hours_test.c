/* hours_test — core/hours.c: the API form (ranges, several a day, 24:00),
 * the refusals (unparseable, close not after open, overlap, too many,
 * unknown zone), the canonical text both ways, and whether the hours are
 * open in a zone: New York across the March DST change, Kolkata (+5:30),
 * and the week's ends. Times are fixed instants, never the clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hours.h"

/* The zones the tests load (an app owns one: kit/app.h). */
static hours_zones *zs;

static int zones_setup(void **state)
{
	(void)state;
	return (zs = hours_zones_new()) ? 0 : -1;
}

static int zones_teardown(void **state)
{
	(void)state;
	hours_zones_free(&zs);
	return zs ? -1 : 0;
}

static int from(const char *json, hours *h, char *why)
{
	json_error_t e;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &e);
	assert_non_null(v);
	int rc = hours_from_json(v, h, why, 160);
	json_decref(v);
	return rc;
}

static void canon(const char *json, const char *want)
{
	hours h, back;
	char why[160], text[HOURS_TEXT_MAX + 1];
	assert_int_equal(from(json, &h, why), HOURS_OK);
	assert_true(hours_format(&h, text, sizeof text) >= 0);
	assert_string_equal(text, want);
	assert_int_equal(hours_parse(text, &back), HOURS_OK);
	assert_memory_equal(&h, &back, sizeof h);
}

static void test_canonical(void **state)
{
	(void)state;
	canon("null", "");
	canon("[]", "none");
	canon("[{\"day\":\"tue\",\"open\":\"09:00\",\"close\":\"17:00\"},"
	      "{\"day\":\"mon\",\"close\":\"17:00\",\"open\":\"13:00\"},"
	      "{\"day\":\"mon\",\"open\":\"09:00\",\"close\":\"12:00\"}]",
	      "mon 09:00-12:00,13:00-17:00;tue 09:00-17:00");
	/* touching ranges, the end of the day */
	canon("[{\"day\":\"sun\",\"open\":\"12:00\",\"close\":\"24:00\"},"
	      "{\"day\":\"sun\",\"open\":\"00:00\",\"close\":\"12:00\"}]",
	      "sun 00:00-12:00,12:00-24:00");
	hours h;
	assert_int_equal(hours_parse("", &h), HOURS_OK);
	assert_true(h.always);
	json_t *j = hours_to_json(&h);
	assert_true(json_is_null(j));
	json_decref(j);
	assert_int_equal(hours_parse("mon 09:00-12:00,13:00-17:00;fri 10:00-11:00", &h), HOURS_OK);
	j = hours_to_json(&h);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "[{\"day\":\"mon\",\"open\":\"09:00\",\"close\":\"12:00\"},"
			       "{\"day\":\"mon\",\"open\":\"13:00\",\"close\":\"17:00\"},"
			       "{\"day\":\"fri\",\"open\":\"10:00\",\"close\":\"11:00\"}]");
	free(s);
	json_decref(j);
}

static void refused(const char *json, int code, const char *why_has)
{
	hours h;
	char why[160];
	assert_int_equal(from(json, &h, why), code);
	if (!strstr(why, why_has))
		fail_msg("why \"%s\" lacks \"%s\"", why, why_has);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("{}", HOURS_EPARSE, "array");
	refused("\"mon 09:00-17:00\"", HOURS_EPARSE, "array");
	refused("[1]", HOURS_EPARSE, "range 0");
	refused("[{\"day\":\"mon\",\"open\":\"09:00\"}]", HOURS_EPARSE, "day, open and close");
	refused("[{\"day\":\"mon\",\"open\":\"09:00\",\"close\":\"17:00\",\"x\":1}]", HOURS_EPARSE, "range 0");
	refused("[{\"day\":\"monday\",\"open\":\"09:00\",\"close\":\"17:00\"}]", HOURS_EPARSE, "day must be");
	refused("[{\"day\":\"mon\",\"open\":\"9:00\",\"close\":\"17:00\"}]", HOURS_EPARSE, "HH:MM");
	refused("[{\"day\":\"mon\",\"open\":\"09:60\",\"close\":\"17:00\"}]", HOURS_EPARSE, "HH:MM");
	refused("[{\"day\":\"mon\",\"open\":\"09:00\",\"close\":\"24:01\"}]", HOURS_EPARSE, "HH:MM");
	refused("[{\"day\":\"mon\",\"open\":\"24:00\",\"close\":\"24:00\"}]", HOURS_EPARSE, "open 24:00");
	refused("[{\"day\":\"mon\",\"open\":\"17:00\",\"close\":\"09:00\"}]", HOURS_ERANGE, "close 09:00 is not after open 17:00");
	refused("[{\"day\":\"mon\",\"open\":\"09:00\",\"close\":\"09:00\"}]", HOURS_ERANGE, "not after");
	refused("[{\"day\":\"mon\",\"open\":\"09:00\",\"close\":\"12:00\"},"
		"{\"day\":\"mon\",\"open\":\"11:00\",\"close\":\"13:00\"}]",
		HOURS_EOVERLAP, "mon 09:00-12:00 overlaps mon 11:00-13:00");
	refused("[{\"day\":\"wed\",\"open\":\"00:00\",\"close\":\"24:00\"},"
		"{\"day\":\"wed\",\"open\":\"10:00\",\"close\":\"11:00\"}]", HOURS_EOVERLAP, "overlaps");
	char big[2048] = "[";
	for (int i = 0; i < 7; i++) {
		char r[80];
		snprintf(r, sizeof r, "%s{\"day\":\"thu\",\"open\":\"%02d:00\",\"close\":\"%02d:30\"}", i ? "," : "", i, i);
		strcat(big, r);
	}
	strcat(big, "]");
	refused(big, HOURS_ETOOMANY, "more than");
	/* the canonical text: malformed, days out of order or repeated, overlaps */
	hours h;
	assert_int_equal(hours_parse("mon", &h), HOURS_EPARSE);
	assert_int_equal(hours_parse("mon 09:00-17:00;", &h), HOURS_EPARSE);
	assert_int_equal(hours_parse("tue 09:00-17:00;mon 09:00-17:00", &h), HOURS_EPARSE);
	assert_int_equal(hours_parse("mon 09:00-17:00;mon 18:00-19:00", &h), HOURS_EPARSE);
	assert_int_equal(hours_parse("mon 09:00-17:00,16:00-18:00", &h), HOURS_EOVERLAP);
	assert_int_equal(hours_parse("mon 09:00-17:00x", &h), HOURS_EPARSE);
	/* unknown and malformed zones */
	int err = 0;
	assert_null(hours_zone(zs, "Mars/Olympus_Mons", &err));
	assert_int_equal(err, TZ_ENOZONE);
	assert_null(hours_zone(zs, "../etc/passwd", &err));
	assert_int_equal(err, TZ_ENAME);
	assert_int_equal(hours_parse("mon 09:00-17:00", &h), HOURS_OK);
	assert_int_equal(hours_is_open(zs, &h, "Mars/Olympus_Mons", 0), TZ_ENOZONE);
	assert_non_null(hours_zone(zs, "Europe/Berlin", &err));
	assert_true(hours_zone_valid(zs, "Asia/Kolkata", &err));
	assert_false(hours_zone_valid(zs, "Mars/Olympus_Mons", &err));
	assert_ptr_equal(hours_zone(zs, "Europe/Berlin", &err), hours_zone(zs, "Europe/Berlin", &err));
}

/* Epoch ms of a UTC civil time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	/* days from civil (Howard Hinnant) */
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;
	return ((days * 24 + h) * 60 + mi) * 60000LL;
}

static void test_open_new_york_dst(void **state)
{
	(void)state;
	hours h;
	assert_int_equal(hours_parse("mon 09:00-17:00;sun 01:00-04:00", &h), HOURS_OK);
	const char *ny = "America/New_York";
	/* Monday 2027-03-08, EST (UTC-5): 09:00 local = 14:00 UTC */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 8, 13, 59)), 0);
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 8, 14, 0)), 1);
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 8, 21, 59)), 1);
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 8, 22, 0)), 0);
	/* clocks spring forward on Sunday 2027-03-14 at 02:00 EST (07:00 UTC) */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 5, 59)), 0);   /* 00:59 EST */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 6, 0)), 1);    /* 01:00 EST */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 6, 59)), 1);   /* 01:59 EST */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 7, 0)), 1);    /* 03:00 EDT */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 7, 59)), 1);   /* 03:59 EDT */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 8, 0)), 0);    /* 04:00 EDT */
	/* the Monday after, EDT (UTC-4): 09:00 local = 13:00 UTC */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 15, 12, 59)), 0);
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 15, 13, 0)), 1);
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 15, 20, 59)), 1);
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 15, 21, 0)), 0);
	/* a range inside the skipped hour is never open that day */
	assert_int_equal(hours_parse("sun 02:00-03:00", &h), HOURS_OK);
	for (int m = 0; m < 24 * 60; m += 15)
		assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 14, 0, 0) + m * 60000LL), 0);
	/* … and open a week before */
	assert_int_equal(hours_is_open(zs, &h, ny, utc(2027, 3, 7, 7, 30)), 1);
}

static void test_open_kolkata_and_week_ends(void **state)
{
	(void)state;
	hours h;
	assert_int_equal(hours_parse("mon 00:00-00:30;fri 09:30-18:00;sun 23:30-24:00", &h), HOURS_OK);
	const char *in = "Asia/Kolkata";   /* UTC+5:30 */
	/* Friday 2027-01-08 09:30 IST = 04:00 UTC */
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 8, 3, 59)), 0);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 8, 4, 0)), 1);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 8, 12, 29)), 1);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 8, 12, 30)), 0);
	/* the same instant in UTC is not in the hours (09:30 UTC Friday is, though) */
	assert_int_equal(hours_is_open(zs, &h, "UTC", utc(2027, 1, 8, 4, 0)), 0);
	assert_int_equal(hours_is_open(zs, &h, "UTC", utc(2027, 1, 8, 9, 30)), 1);
	/* Sunday 23:30 IST (18:00 UTC Sunday) to Monday 00:30 IST (19:00 UTC Sunday): across midnight */
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 10, 17, 59)), 0);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 10, 18, 0)), 1);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 10, 18, 45)), 1);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 10, 19, 0)), 0);
	/* always and never */
	assert_int_equal(hours_parse("", &h), HOURS_OK);
	assert_int_equal(hours_is_open(zs, &h, "Mars/Nowhere", 0), 1);
	assert_int_equal(hours_parse("none", &h), HOURS_OK);
	assert_int_equal(hours_is_open(zs, &h, in, utc(2027, 1, 8, 4, 0)), 0);
	/* before the epoch: 1969-12-29 was a Monday */
	assert_int_equal(hours_parse("mon 00:00-24:00", &h), HOURS_OK);
	assert_int_equal(hours_is_open(zs, &h, "UTC", utc(1969, 12, 29, 12, 0)), 1);
	assert_int_equal(hours_is_open(zs, &h, "UTC", utc(1969, 12, 30, 12, 0)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_open_new_york_dst),
		cmocka_unit_test(test_open_kolkata_and_week_ends),
	};
	return cmocka_run_group_tests(tests, zones_setup, zones_teardown);
}
