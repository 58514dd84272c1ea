/* egress — where outbound connections may go (see egress.h).
 *
 * The ranges are IANA's special-purpose registries (RFC 6890 and its
 * updates) reduced to one rule: a webhook or mail server is a unicast host
 * on the public Internet. IPv6 goes further than the registry: only
 * 2000::/3 is allocated for global unicast, so everything outside it is
 * refused ("reserved") even where no range below names it.
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
 * IPv4-translated, NAT64 64:ff9b::/96, 6to4) are always refused; the
 * name given is the range of the IPv4 address inside when that one is
 * forbidden too ("::ffff:127.0.0.1" is "loopback"), else the form's own.
 *
 * The allow-list: comma-separated CIDRs, IPv4 or IPv6, blanks around an
 * entry ignored; a bare address is one host (/32, /128). Strict: a prefix
 * length out of range, host bits set below the prefix ("10.0.0.1/8"), an
 * empty entry or anything that is not an address is an error, so that a
 * typo cannot silently open more (or less) than meant. An entry matches
 * addresses of its own family only: "127.0.0.0/8" does not admit
 * "::ffff:127.0.0.1" (name the IPv6 form to admit it). The unspecified
 * addresses (0.0.0.0, ::) are never allowed: connecting to them reaches
 * this host.
 */
#include "net/egress.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int family;                /* AF_INET, AF_INET6 */
	uint8_t addr[16];          /* network order; IPv4 in the first 4 bytes */
	uint8_t len;               /* prefix length */
} cidr;

struct egress {
	cidr *v;
	size_t n;
};

/* ---- the forbidden ranges ---- */

typedef struct {
	uint32_t net;
	uint8_t len;
	const char *name;
} range4;

/* first match wins: the narrower range before the wider one */
static const range4 ranges4[] = {
	{ 0x00000000u, 32, "unspecified" },     /* 0.0.0.0 */
	{ 0x00000000u, 8, "this-network" },     /* 0.0.0.0/8 */
	{ 0x0a000000u, 8, "private" },          /* 10.0.0.0/8 */
	{ 0x64400000u, 10, "cgnat" },           /* 100.64.0.0/10 */
	{ 0x7f000000u, 8, "loopback" },         /* 127.0.0.0/8 */
	{ 0xa9fe0000u, 16, "link-local" },      /* 169.254.0.0/16 */
	{ 0xac100000u, 12, "private" },         /* 172.16.0.0/12 */
	{ 0xc0000000u, 24, "ietf-protocol" },   /* 192.0.0.0/24 */
	{ 0xc0000200u, 24, "documentation" },   /* 192.0.2.0/24 */
	{ 0xc0586300u, 24, "6to4-relay" },      /* 192.88.99.0/24 (deprecated anycast) */
	{ 0xc0a80000u, 16, "private" },         /* 192.168.0.0/16 */
	{ 0xc6120000u, 15, "benchmarking" },    /* 198.18.0.0/15 */
	{ 0xc6336400u, 24, "documentation" },   /* 198.51.100.0/24 */
	{ 0xcb007100u, 24, "documentation" },   /* 203.0.113.0/24 */
	{ 0xe0000000u, 4, "multicast" },        /* 224.0.0.0/4 */
	{ 0xffffffffu, 32, "broadcast" },       /* 255.255.255.255 */
	{ 0xf0000000u, 4, "reserved" },         /* 240.0.0.0/4 */
};

/* Where an IPv6 form carries an IPv4 address. */
enum { EMBED_NONE = 0, EMBED_LOW32, EMBED_6TO4 };

typedef struct {
	uint8_t net[16];
	uint8_t len;
	uint8_t embed;
	const char *name;
} range6;

static const range6 ranges6[] = {
	{ { 0 }, 128, EMBED_NONE, "unspecified" },                                          /* ::/128 */
	{ { [15] = 1 }, 128, EMBED_NONE, "loopback" },                                      /* ::1/128 */
	{ { [10] = 0xff, [11] = 0xff }, 96, EMBED_LOW32, "ipv4-mapped" },                   /* ::ffff:0:0/96 */
	{ { [8] = 0xff, [9] = 0xff }, 96, EMBED_LOW32, "ipv4-translated" },                 /* ::ffff:0:0:0/96 */
	{ { 0 }, 96, EMBED_LOW32, "ipv4-compatible" },                                      /* ::/96 */
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, EMBED_LOW32, "nat64" },                           /* 64:ff9b::/96 */
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, EMBED_NONE, "nat64" },                /* 64:ff9b:1::/48 */
	{ { 0x01, 0x00 }, 64, EMBED_NONE, "discard" },                                      /* 100::/64 */
	{ { 0x20, 0x01 }, 32, EMBED_NONE, "teredo" },                                       /* 2001::/32 */
	{ { 0x20, 0x01 }, 23, EMBED_NONE, "ietf-protocol" },                                /* 2001::/23 */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, EMBED_NONE, "documentation" },                    /* 2001:db8::/32 */
	{ { 0x20, 0x02 }, 16, EMBED_6TO4, "6to4" },                                         /* 2002::/16 */
	{ { 0x3f, 0xff }, 20, EMBED_NONE, "documentation" },                                /* 3fff::/20 */
	{ { 0xfc }, 7, EMBED_NONE, "unique-local" },                                        /* fc00::/7 */
	{ { 0xfe, 0x80 }, 10, EMBED_NONE, "link-local" },                                   /* fe80::/10 */
	{ { 0xfe, 0xc0 }, 10, EMBED_NONE, "site-local" },                                   /* fec0::/10 (deprecated) */
	{ { 0xff }, 8, EMBED_NONE, "multicast" },                                           /* ff00::/8 */
};

/* The first len bits of a and b are equal. */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned whole = len / 8, rest = len % 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

static const char *forbidden4(uint32_t ip)
{
	for (size_t i = 0; i < sizeof ranges4 / sizeof ranges4[0]; i++) {
		uint32_t mask = ranges4[i].len ? 0xffffffffu << (32 - ranges4[i].len) : 0;
		if ((ip & mask) == ranges4[i].net)
			return ranges4[i].name;
	}
	return NULL;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *forbidden6(const uint8_t a[16])
{
	for (size_t i = 0; i < sizeof ranges6 / sizeof ranges6[0]; i++) {
		const range6 *r = &ranges6[i];
		if (!prefix_eq(a, r->net, r->len))
			continue;
		const char *inner = NULL;
		if (r->embed == EMBED_LOW32)
			inner = forbidden4(be32(a + 12));
		else if (r->embed == EMBED_6TO4)
			inner = forbidden4(be32(a + 2));
		return inner ? inner : r->name;
	}
	if ((a[0] & 0xe0) != 0x20)   /* outside 2000::/3, the global unicast space */
		return "reserved";
	return NULL;
}

/* The address of sa in c (prefix length: the full width); -1 if it is not
 * a complete IPv4 or IPv6 socket address. */
static int addr_of(const struct sockaddr *sa, socklen_t len, cidr *c)
{
	memset(c, 0, sizeof *c);
	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		c->family = AF_INET;
		memcpy(c->addr, &s4->sin_addr, 4);
		c->len = 32;
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		c->family = AF_INET6;
		memcpy(c->addr, &s6->sin6_addr, 16);
		c->len = 128;
		return 0;
	}
	return -1;
}

static const char *forbidden(const cidr *c)
{
	return c->family == AF_INET ? forbidden4(be32(c->addr)) : forbidden6(c->addr);
}

const char *egress_forbidden_range(const struct sockaddr *sa, socklen_t len)
{
	cidr c;
	if (addr_of(sa, len, &c) < 0)
		return "not-ip";
	return forbidden(&c);
}

bool egress_allowed(const egress *g, const struct sockaddr *sa, socklen_t len)
{
	cidr c;
	if (addr_of(sa, len, &c) < 0)
		return false;
	const char *why = forbidden(&c);
	if (!why)
		return true;
	if (strcmp(why, "unspecified") == 0 || !g)
		return false;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].family == c.family && prefix_eq(c.addr, g->v[i].addr, g->v[i].len))
			return true;
	return false;
}

/* ---- the allow-list ---- */

/* One entry, s[0..n) with no blanks around it. */
static int parse_cidr(const char *s, size_t n, cidr *c, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (n >= sizeof buf) {
		snprintf(err, errlen, "'%.*s...': not a CIDR (address/prefix length)", 40, s);
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	memset(c, 0, sizeof *c);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
	} else {
		if (slash)
			*slash = '/';
		snprintf(err, errlen, "'%s': not an IPv4 or IPv6 address", buf);
		return -1;
	}
	unsigned width = c->family == AF_INET ? 32 : 128;
	unsigned plen = width;
	if (slash) {
		const char *p = slash + 1;
		size_t digits = strspn(p, "0123456789");
		plen = 0;
		for (size_t i = 0; i < digits && i < 4; i++)
			plen = plen * 10 + (unsigned)(p[i] - '0');
		/* decimal, no sign, no leading zero, in range */
		if (!digits || p[digits] || digits > 3 || (digits > 1 && p[0] == '0') || plen > width) {
			*slash = '/';
			snprintf(err, errlen, "'%s': prefix length must be 0..%u", buf, width);
			return -1;
		}
	}
	c->len = (uint8_t)plen;
	/* host bits below the prefix must be zero */
	uint8_t net[16];
	memset(net, 0, sizeof net);
	memcpy(net, c->addr, plen / 8);
	if (plen % 8)
		net[plen / 8] = (uint8_t)(c->addr[plen / 8] & (0xff00u >> (plen % 8)));
	if (memcmp(net, c->addr, width / 8) != 0) {
		char shown[INET6_ADDRSTRLEN];
		inet_ntop(c->family, net, shown, sizeof shown);
		if (slash)
			*slash = '/';
		snprintf(err, errlen, "'%s': host bits set (the network is %s/%u)", buf, shown, plen);
		return -1;
	}
	return 0;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

egress *egress_new(const char *allow, char *err, size_t errlen)
{
	char scratch[8];
	if (!err || !errlen) {
		err = scratch;
		errlen = sizeof scratch;
	}
	err[0] = 0;
	egress *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *p = allow ? allow : "";
	while (blank(*p))
		p++;
	if (!*p)
		return g;   /* an empty list: public addresses only */
	size_t cap = 0;
	for (;;) {
		const char *end = p + strcspn(p, ",");
		const char *a = p, *b = end;
		while (a < b && blank(*a))
			a++;
		while (b > a && blank(b[-1]))
			b--;
		if (a == b) {
			snprintf(err, errlen, "empty entry in the list");
			goto fail;
		}
		if (g->n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			cidr *v = realloc(g->v, ncap * sizeof *v);
			if (!v) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			g->v = v;
			cap = ncap;
		}
		if (parse_cidr(a, (size_t)(b - a), &g->v[g->n], err, errlen) < 0)
			goto fail;
		g->n++;
		if (!*end)
			break;
		p = end + 1;
	}
	return g;
fail:
	egress_free(&g);
	return NULL;
}

void egress_free(egress **g_p)
{
	if (!*g_p)
		return;
	free((*g_p)->v);
	free(*g_p);
	*g_p = NULL;
}
