/* proxies_test — actors/kit/auth.c: the --trusted-proxies list (addresses
 * and CIDRs of both families, spaces, empty entries; every malformed entry
 * refused with a reason) and which addresses it holds (prefix edges, /0,
 * a host's /32 and /128, families kept apart). The X-Forwarded-For walk is
 * tested against the real server (tests/integration/test_audit.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "actors/kit/auth.h"

static void test_parse(void **state)
{
	(void)state;
	char why[160];
	const char *good[] = { "", "127.0.0.1", " 10.0.0.0/8 , 192.168.1.0/24,", "2001:db8::/32,::1", "0.0.0.0/0",
			       "::/0", "10.1.2.3/32" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		auth_proxies *p = auth_proxies_new(good[i], why, sizeof why);
		if (!p)
			fail_msg("refused \"%s\": %s", good[i], why);
		auth_proxies_free(&p);
		assert_null(p);
	}
	const char *bad[] = { "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "not-an-ip", "1.2.3", "::1/129",
			      "10.0.0.1, nope", "1.2.3.4/ 8", "1.2.3.4/08x" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		why[0] = 0;
		auth_proxies *p = auth_proxies_new(bad[i], why, sizeof why);
		if (p)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(why, "is not an IP address or CIDR"));
	}
}

static void test_membership(void **state)
{
	(void)state;
	char why[160];
	auth_proxies *p = auth_proxies_new("10.0.0.0/8, 192.168.1.128/25, 2001:db8:abcd::/48, 203.0.113.7", why, sizeof why);
	assert_non_null(p);
	assert_true(auth_proxy_trusted(p, "10.0.0.0"));
	assert_true(auth_proxy_trusted(p, "10.255.255.255"));
	assert_false(auth_proxy_trusted(p, "11.0.0.0"));
	assert_false(auth_proxy_trusted(p, "9.255.255.255"));
	assert_true(auth_proxy_trusted(p, "192.168.1.128"));
	assert_true(auth_proxy_trusted(p, "192.168.1.255"));
	assert_false(auth_proxy_trusted(p, "192.168.1.127"));
	assert_true(auth_proxy_trusted(p, "203.0.113.7"));
	assert_false(auth_proxy_trusted(p, "203.0.113.8"));
	assert_true(auth_proxy_trusted(p, "2001:db8:abcd:ffff::1"));
	assert_false(auth_proxy_trusted(p, "2001:db8:abce::1"));
	assert_false(auth_proxy_trusted(p, "::ffff:10.0.0.1"));   /* v4-mapped is another family here */
	assert_false(auth_proxy_trusted(p, "garbage"));
	assert_false(auth_proxy_trusted(p, ""));
	auth_proxies_free(&p);
	p = auth_proxies_new("", why, sizeof why);
	assert_false(auth_proxy_trusted(p, "127.0.0.1"));
	auth_proxies_free(&p);
	p = auth_proxies_new("0.0.0.0/0", why, sizeof why);
	assert_true(auth_proxy_trusted(p, "1.2.3.4"));
	assert_false(auth_proxy_trusted(p, "::1"));
	auth_proxies_free(&p);
	auth_proxies_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_membership),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
