/* ua_test — core/ua.c: real User-Agent strings of the common browsers on
 * each system (Chrome, Firefox, Safari, Edge, Opera, Samsung Internet on
 * Windows, macOS, Linux, iOS, Android), phones against tablets against
 * desktops, bots, and garbage (empty, binary, NULs, overlong). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ua.h"

typedef struct {
	const char *ua;
	const char *device, *browser;
	int major;
	const char *os;
} ua_case;

static const ua_case cases[] = {
	/* Chrome */
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	  "desktop", "Chrome", 120, "Windows" },
	{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
	  "desktop", "Chrome", 119, "macOS" },
	{ "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
	  "desktop", "Chrome", 118, "Linux" },
	{ "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
	  "mobile", "Chrome", 120, "Android" },
	{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.101 Mobile/15E148 Safari/604.1",
	  "mobile", "Chrome", 120, "iOS" },
	{ "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36",
	  "desktop", "Chrome", 117, "ChromeOS" },
	/* Firefox */
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
	  "desktop", "Firefox", 121, "Windows" },
	{ "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
	  "desktop", "Firefox", 115, "Linux" },
	{ "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
	  "mobile", "Firefox", 121, "Android" },
	{ "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15",
	  "mobile", "Firefox", 120, "iOS" },
	/* Safari */
	{ "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	  "desktop", "Safari", 17, "macOS" },
	{ "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
	  "mobile", "Safari", 16, "iOS" },
	{ "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
	  "tablet", "Safari", 16, "iOS" },
	/* Edge */
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
	  "desktop", "Edge", 120, "Windows" },
	{ "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36 EdgA/119.0.2151.78",
	  "mobile", "Edge", 119, "Android" },
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
	  "desktop", "Edge", 18, "Windows" },
	/* Opera */
	{ "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
	  "desktop", "Opera", 105, "Windows" },
	{ "Opera/9.80 (X11; Linux i686; U; en) Presto/2.12.388 Version/12.16",
	  "desktop", "Opera", 0, "Linux" },
	/* Samsung Internet */
	{ "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
	  "mobile", "Samsung Internet", 23, "Android" },
	{ "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/22.0 Chrome/111.0.5563.116 Safari/537.36",
	  "tablet", "Samsung Internet", 22, "Android" },
	/* Internet Explorer */
	{ "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko", "desktop", "Internet Explorer", 7, "Windows" },
	/* bots */
	{ "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "Bot", 0, "Other" },
	{ "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
	  "bot", "Chrome", 116, "Other" },
	{ "curl/7.88.1", "bot", "Bot", 0, "Other" },
	{ "python-requests/2.31.0", "bot", "Bot", 0, "Other" },
	{ "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
	  "bot", "Chrome", 120, "Linux" },
	{ "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "bot", "Bot", 0, "Other" },
	/* garbage */
	{ "", "unknown", "Other", 0, "Other" },
	{ "hello world", "unknown", "Other", 0, "Other" },
	{ "Mozilla/5.0", "unknown", "Other", 0, "Other" },
	{ "Chrome/", "unknown", "Chrome", 0, "Other" },
	{ "Firefox/99999999999999999999", "unknown", "Firefox", 999999, "Other" },
	{ "\xff\xfe\x01\x02<script>alert(1)</script>", "unknown", "Other", 0, "Other" },
};

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ua_info u;
		ua_parse(cases[i].ua, strlen(cases[i].ua), &u);
		if (strcmp(ua_device_name(u.device), cases[i].device) || strcmp(u.browser, cases[i].browser) ||
		    u.browser_major != cases[i].major || strcmp(u.os, cases[i].os))
			fail_msg("case %zu %s: got %s / %s %d / %s", i, cases[i].ua, ua_device_name(u.device), u.browser,
				 u.browser_major, u.os);
	}
}

static void test_null_and_nul(void **state)
{
	(void)state;
	ua_info u;
	ua_parse(NULL, 0, &u);
	assert_int_equal(u.device, UA_UNKNOWN);
	assert_string_equal(u.browser, "Other");
	static const char with_nul[] = "Mozilla/5.0 (Windows NT 10.0)\0 Firefox/100.0";
	ua_parse(with_nul, sizeof with_nul - 1, &u);
	assert_string_equal(u.browser, "Firefox");
	assert_string_equal(u.os, "Windows");
	assert_int_equal(u.device, UA_DESKTOP);
}

static void test_overlong(void **state)
{
	(void)state;
	static char big[64 * 1024];
	memset(big, 'A', sizeof big);
	memcpy(big, "Mozilla/5.0 (iPhone) ", 21);
	memcpy(big + sizeof big - 20, " Firefox/100.0", 14);   /* past UA_SCAN_MAX: not seen */
	ua_info u;
	ua_parse(big, sizeof big, &u);
	assert_string_equal(u.os, "iOS");
	assert_string_equal(u.browser, "Other");
	assert_int_equal(u.device, UA_MOBILE);
	assert_string_equal(ua_device_name(99), "unknown");
	assert_string_equal(ua_device_name(-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_null_and_nul),
		cmocka_unit_test(test_overlong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
