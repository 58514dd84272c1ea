/* Unit tests for net/egress: the first and last address of every forbidden
 * range and the addresses just outside it, the IPv6 forms that carry an
 * IPv4 address, allow-list hits and misses, malformed lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "net/egress.h"

/* The socket address of a literal IPv4 or IPv6 address. */
static socklen_t sa_of(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(443);
		return sizeof *s4;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(443);
		return sizeof *s6;
	}
	fail_msg("test address %s does not parse", ip);
	return 0;
}

static const char *range_of(const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_of(ip, &ss);
	return egress_forbidden_range((struct sockaddr *)&ss, len);
}

static bool allowed(const egress *g, const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_of(ip, &ss);
	return egress_allowed(g, (struct sockaddr *)&ss, len);
}

typedef struct {
	const char *ip;
	const char *range;   /* NULL: public */
} case_t;

static void check_cases(const case_t *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = range_of(cases[i].ip);
		if (!cases[i].range && got)
			fail_msg("%s: expected public, got %s", cases[i].ip, got);
		if (cases[i].range && (!got || strcmp(got, cases[i].range) != 0))
			fail_msg("%s: expected %s, got %s", cases[i].ip, cases[i].range, got ? got : "public");
		/* with no allow-list, allowed exactly when public */
		assert_int_equal(allowed(NULL, cases[i].ip), got == NULL);
	}
}

static void test_ipv4_boundaries(void **state)
{
	static const case_t cases[] = {
		{ "0.0.0.0", "unspecified" },
		{ "0.0.0.1", "this-network" },
		{ "0.255.255.255", "this-network" },
		{ "1.0.0.0", NULL },
		{ "9.255.255.255", NULL },
		{ "10.0.0.0", "private" },
		{ "10.255.255.255", "private" },
		{ "11.0.0.0", NULL },
		{ "100.63.255.255", NULL },
		{ "100.64.0.0", "cgnat" },
		{ "100.127.255.255", "cgnat" },
		{ "100.128.0.0", NULL },
		{ "126.255.255.255", NULL },
		{ "127.0.0.0", "loopback" },
		{ "127.0.0.1", "loopback" },
		{ "127.255.255.255", "loopback" },
		{ "128.0.0.0", NULL },
		{ "169.253.255.255", NULL },
		{ "169.254.0.0", "link-local" },
		{ "169.254.169.254", "link-local" },   /* cloud metadata */
		{ "169.254.255.255", "link-local" },
		{ "169.255.0.0", NULL },
		{ "172.15.255.255", NULL },
		{ "172.16.0.0", "private" },
		{ "172.31.255.255", "private" },
		{ "172.32.0.0", NULL },
		{ "191.255.255.255", NULL },
		{ "192.0.0.0", "ietf-protocol" },
		{ "192.0.0.255", "ietf-protocol" },
		{ "192.0.1.0", NULL },
		{ "192.0.1.255", NULL },
		{ "192.0.2.0", "documentation" },
		{ "192.0.2.255", "documentation" },
		{ "192.0.3.0", NULL },
		{ "192.88.98.255", NULL },
		{ "192.88.99.0", "6to4-relay" },
		{ "192.88.99.255", "6to4-relay" },
		{ "192.88.100.0", NULL },
		{ "192.167.255.255", NULL },
		{ "192.168.0.0", "private" },
		{ "192.168.255.255", "private" },
		{ "192.169.0.0", NULL },
		{ "198.17.255.255", NULL },
		{ "198.18.0.0", "benchmarking" },
		{ "198.19.255.255", "benchmarking" },
		{ "198.20.0.0", NULL },
		{ "198.51.99.255", NULL },
		{ "198.51.100.0", "documentation" },
		{ "198.51.100.255", "documentation" },
		{ "198.51.101.0", NULL },
		{ "203.0.112.255", NULL },
		{ "203.0.113.0", "documentation" },
		{ "203.0.113.255", "documentation" },
		{ "203.0.114.0", NULL },
		{ "223.255.255.255", NULL },
		{ "224.0.0.0", "multicast" },
		{ "239.255.255.255", "multicast" },
		{ "240.0.0.0", "reserved" },
		{ "255.255.255.254", "reserved" },
		{ "255.255.255.255", "broadcast" },
		{ "8.8.8.8", NULL },
		{ "1.1.1.1", NULL },
		{ "93.184.216.34", NULL },
	};
	check_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_ipv6_boundaries(void **state)
{
	static const case_t cases[] = {
		{ "::", "unspecified" },
		{ "::1", "loopback" },
		{ "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },   /* below 2000::/3 */
		{ "2000::", NULL },
		{ "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
		{ "2001::", "teredo" },
		{ "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "teredo" },
		{ "2001:1::", "ietf-protocol" },
		{ "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "ietf-protocol" },
		{ "2001:200::", NULL },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
		{ "2001:db8::", "documentation" },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation" },
		{ "2001:db9::", NULL },
		{ "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
		{ "2003::", NULL },
		{ "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
		{ "3fff::", "documentation" },
		{ "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "documentation" },
		{ "3fff:1000::", NULL },
		{ "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },   /* last of 2000::/3 */
		{ "4000::", "reserved" },
		{ "100::", "discard" },
		{ "100::ffff:ffff:ffff:ffff", "discard" },
		{ "100:0:0:1::", "reserved" },
		{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
		{ "fc00::", "unique-local" },
		{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local" },
		{ "fe00::", "reserved" },
		{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
		{ "fe80::", "link-local" },
		{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local" },
		{ "fec0::", "site-local" },
		{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local" },
		{ "ff00::", "multicast" },
		{ "ff02::1", "multicast" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast" },
		{ "2606:4700:4700::1111", NULL },
		{ "2a00:1450:4001:80b::200e", NULL },
	};
	check_cases(cases, sizeof cases / sizeof cases[0]);
}

/* IPv6 forms that carry an IPv4 address are refused whatever the address;
 * the name is the inner address's range when that is forbidden too. */
static void test_embedded_ipv4(void **state)
{
	static const case_t cases[] = {
		/* IPv4-mapped ::ffff:0:0/96 */
		{ "::fffe:ffff:ffff", "reserved" },   /* just below */
		{ "::ffff:0.0.0.0", "unspecified" },
		{ "::ffff:8.8.8.8", "ipv4-mapped" },
		{ "::ffff:93.184.216.34", "ipv4-mapped" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::ffff:10.1.2.3", "private" },
		{ "::ffff:169.254.169.254", "link-local" },
		{ "::ffff:100.64.0.1", "cgnat" },
		{ "::ffff:255.255.255.255", "broadcast" },
		{ "::1:0:0:0", "reserved" },          /* just above */
		/* IPv4-translated ::ffff:0:0:0/96 */
		{ "::ffff:0:8.8.8.8", "ipv4-translated" },
		{ "::ffff:0:192.168.0.1", "private" },
		/* IPv4-compatible ::/96 (deprecated) */
		{ "::2", "this-network" },
		{ "::8.8.8.8", "ipv4-compatible" },
		{ "::127.0.0.1", "loopback" },
		{ "::255.255.255.255", "broadcast" },
		{ "::1:0:0", "reserved" },            /* 0:0:0:0:0:1::/96, not zero-prefixed */
		/* NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48 */
		{ "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "reserved" },
		{ "64:ff9b::8.8.8.8", "nat64" },
		{ "64:ff9b::7f00:1", "loopback" },
		{ "64:ff9b::10.0.0.1", "private" },
		{ "64:ff9b::169.254.169.254", "link-local" },
		{ "64:ff9b::ffff:ffff", "broadcast" },
		{ "64:ff9b::1:0:0", "reserved" },     /* past the /96 */
		{ "64:ff9b:1::", "nat64" },
		{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "nat64" },
		{ "64:ff9b:2::", "reserved" },
		/* 6to4 2002::/16: the IPv4 address is bits 16-47 */
		{ "2002::", "unspecified" },
		{ "2002:808:808::1", "6to4" },
		{ "2002:5db8:d822::", "6to4" },
		{ "2002:7f00:1::1", "loopback" },
		{ "2002:c0a8:101::1", "private" },
		{ "2002:a9fe:a9fe::", "link-local" },
		{ "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "broadcast" },
	};
	check_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_not_ip(void **state)
{
	struct sockaddr_un un;
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, "/tmp/x");
	assert_string_equal(egress_forbidden_range((struct sockaddr *)&un, sizeof un), "not-ip");
	assert_false(egress_allowed(NULL, (struct sockaddr *)&un, sizeof un));
	/* a truncated address is not judged by its first bytes */
	struct sockaddr_storage ss;
	socklen_t len = sa_of("8.8.8.8", &ss);
	assert_string_equal(egress_forbidden_range((struct sockaddr *)&ss, len - 1), "not-ip");
	assert_false(egress_allowed(NULL, (struct sockaddr *)&ss, len - 1));
	len = sa_of("2606:4700:4700::1111", &ss);
	assert_string_equal(egress_forbidden_range((struct sockaddr *)&ss, len - 1), "not-ip");
	assert_string_equal(egress_forbidden_range(NULL, 0), "not-ip");
	egress *g = egress_new("0.0.0.0/0, ::/0", NULL, 0);
	assert_non_null(g);
	assert_false(egress_allowed(g, (struct sockaddr *)&un, sizeof un));
	egress_free(&g);
}

static void test_empty_list(void **state)
{
	char err[128];
	const char *empties[] = { "", "   ", "\t", NULL };
	for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
		egress *g = egress_new(empties[i], err, sizeof err);
		assert_non_null(g);
		assert_true(allowed(g, "8.8.8.8"));
		assert_true(allowed(g, "2606:4700:4700::1111"));
		assert_false(allowed(g, "127.0.0.1"));
		assert_false(allowed(g, "10.0.0.1"));
		assert_false(allowed(g, "::1"));
		egress_free(&g);
		assert_null(g);
	}
	egress_free(&(egress *){ NULL });   /* freeing nothing is fine */
}

static void test_allow_list_hits_and_misses(void **state)
{
	static const struct {
		const char *list;
		const char *ip;
		bool ok;
	} cases[] = {
#define MIXED "10.0.0.0/8, 192.168.1.0/24 ,fd00::/8,127.0.0.1,\t172.16.0.0/12"
		{ MIXED, "10.0.0.0", true },
		{ MIXED, "10.255.255.255", true },
		{ MIXED, "9.255.255.255", true },          /* public anyway */
		{ MIXED, "11.0.0.0", true },
		{ MIXED, "192.168.1.0", true },
		{ MIXED, "192.168.1.255", true },
		{ MIXED, "192.168.0.255", false },
		{ MIXED, "192.168.2.0", false },
		{ MIXED, "172.16.0.0", true },
		{ MIXED, "172.31.255.255", true },
		{ MIXED, "127.0.0.1", true },              /* a bare address is one host */
		{ MIXED, "127.0.0.2", false },
		{ MIXED, "127.0.0.0", false },
		{ MIXED, "169.254.169.254", false },
		{ MIXED, "100.64.0.1", false },
		{ MIXED, "fd00::", true },
		{ MIXED, "fd00::1", true },
		{ MIXED, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
		{ MIXED, "fc00::1", false },
		{ MIXED, "fe80::1", false },
		{ MIXED, "::1", false },
		/* an IPv4 entry does not admit the IPv6 forms of its addresses */
		{ MIXED, "::ffff:10.0.0.1", false },
		{ MIXED, "::ffff:127.0.0.1", false },
		{ MIXED, "64:ff9b::10.0.0.1", false },
		{ MIXED, "2002:a00:1::", false },
		{ MIXED, "0.0.0.0", false },
#undef MIXED
		/* prefixes that do not fall on a byte */
		{ "100.64.0.0/10,fd12:3456:7890::/44", "100.64.0.0", true },
		{ "100.64.0.0/10,fd12:3456:7890::/44", "100.127.255.255", true },
		{ "100.64.0.0/10,fd12:3456:7890::/44", "fd12:3456:7890::1", true },
		{ "100.64.0.0/10,fd12:3456:7890::/44", "fd12:3456:789f:ffff::1", true },
		{ "100.64.0.0/10,fd12:3456:7890::/44", "fd12:3456:78a0::", false },
		{ "100.64.0.0/10,fd12:3456:7890::/44", "fd12:3456:788f:ffff::", false },
		/* everything: still never the unspecified address */
		{ "0.0.0.0/0,::/0", "127.0.0.1", true },
		{ "0.0.0.0/0,::/0", "10.1.2.3", true },
		{ "0.0.0.0/0,::/0", "::1", true },
		{ "0.0.0.0/0,::/0", "::ffff:127.0.0.1", true },
		{ "0.0.0.0/0,::/0", "fe80::1", true },
		{ "0.0.0.0/0,::/0", "0.0.0.0", false },
		{ "0.0.0.0/0,::/0", "::", false },
		/* one family's /0 is not the other's */
		{ "0.0.0.0/0", "127.0.0.1", true },
		{ "0.0.0.0/0", "::1", false },
		{ "0.0.0.0/0", "::ffff:127.0.0.1", false },
		/* an IPv6 entry can admit the mapped form explicitly */
		{ "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true },
		{ "::ffff:10.0.0.0/104", "10.1.2.3", false },
		{ "::ffff:10.0.0.0/104", "::ffff:11.1.2.3", false },   /* mapped public: still refused */
		/* single hosts, /32 and /128 */
		{ "192.168.7.7/32, fe80::1/128", "192.168.7.7", true },
		{ "192.168.7.7/32, fe80::1/128", "192.168.7.6", false },
		{ "192.168.7.7/32, fe80::1/128", "192.168.7.8", false },
		{ "192.168.7.7/32, fe80::1/128", "fe80::1", true },
		{ "192.168.7.7/32, fe80::1/128", "fe80::2", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[128];
		egress *g = egress_new(cases[i].list, err, sizeof err);
		if (!g)
			fail_msg("'%s': %s", cases[i].list, err);
		if (allowed(g, cases[i].ip) != cases[i].ok)
			fail_msg("'%s', %s: expected %s", cases[i].list, cases[i].ip, cases[i].ok ? "allowed" : "refused");
		egress_free(&g);
	}
}

static void test_malformed_lists(void **state)
{
	static const struct {
		const char *list;
		const char *says;   /* a part of the message */
	} bad[] = {
		{ "10.0.0.0/33", "prefix length must be 0..32" },
		{ "fd00::/129", "prefix length must be 0..128" },
		{ "10.0.0.0/", "prefix length" },
		{ "10.0.0.0/-1", "prefix length" },
		{ "10.0.0.0/+8", "prefix length" },
		{ "10.0.0.0/08", "prefix length" },
		{ "10.0.0.0/8x", "prefix length" },
		{ "10.0.0.0/8/8", "prefix length" },
		{ "10.0.0.0/1000", "prefix length" },
		{ "10.0.0.0/99999999999999999999", "prefix length" },
		{ "10.0.0.1/8", "host bits set (the network is 10.0.0.0/8)" },
		{ "10.0.0.0/0", "host bits set (the network is 0.0.0.0/0)" },
		{ "192.168.1.128/24", "host bits set" },
		{ "fd00::1/8", "host bits set (the network is fd00::/8)" },
		{ "fe80::1/10", "host bits set" },
		{ "10.0.0", "not an IPv4 or IPv6 address" },
		{ "10.0.0.256", "not an IPv4 or IPv6 address" },
		{ "010.0.0.0/8", "not an IPv4 or IPv6 address" },
		{ "example.com", "not an IPv4 or IPv6 address" },
		{ "localhost/32", "not an IPv4 or IPv6 address" },
		{ "fe80::1%eth0/64", "not an IPv4 or IPv6 address" },
		{ "[fd00::]/8", "not an IPv4 or IPv6 address" },
		{ "10.0.0.0 /8", "not an IPv4 or IPv6 address" },
		{ "10.0.0.0/8 192.168.0.0/16", "prefix length" },
		{ "10.0.0.0/8;192.168.0.0/16", "prefix length" },
		{ "/8", "not an IPv4 or IPv6 address" },
		{ "10.0.0.0/8,", "empty entry" },
		{ ",10.0.0.0/8", "empty entry" },
		{ "10.0.0.0/8,,fd00::/8", "empty entry" },
		{ "10.0.0.0/8, ,fd00::/8", "empty entry" },
		{ " , ", "empty entry" },
		{ "10.0.0.0/8,fd00::/8,nonsense", "'nonsense'" },
		{ "1111111111111111111111111111111111111111111111111111111111111111", "not a CIDR" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[128] = "unset";
		egress *g = egress_new(bad[i].list, err, sizeof err);
		if (g)
			fail_msg("'%s' was accepted", bad[i].list);
		if (!strstr(err, bad[i].says))
			fail_msg("'%s': message '%s' does not say '%s'", bad[i].list, err, bad[i].says);
	}
	/* no room for a message: still refused, nothing written out of bounds */
	assert_null(egress_new("10.0.0.1/8", NULL, 0));
	char tiny[4];
	assert_null(egress_new("10.0.0.1/8", tiny, sizeof tiny));
	assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_boundaries),
		cmocka_unit_test(test_ipv6_boundaries),
		cmocka_unit_test(test_embedded_ipv4),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_allow_list_hits_and_misses),
		cmocka_unit_test(test_malformed_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
