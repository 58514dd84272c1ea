/* egress — where outbound connections may go (the SSRF guard for webhooks
 * and SMTP).
 *
 * An address is forbidden when it is loopback, private, link-local,
 * multicast, unique-local, CGNAT (100.64.0.0/10), "this network"
 * (0.0.0.0/8), reserved (240.0.0.0/4, incl. broadcast), unspecified,
 * IPv4-mapped (::ffff:0:0/96, judged by the IPv4 address inside and
 * refused), NAT64 (64:ff9b::/96), 6to4 (2002::/16), documentation or
 * otherwise not globally routable — unless the deployment's allow-list
 * (`--outbound-allow`, CIDRs) names it, for self-hosted receivers on
 * private networks. The check runs on the resolved address at connect
 * time (actors/kit/outbound.h wires it into libcurl), so DNS cannot point
 * around it. Pure functions: no I/O.
 */
#ifndef PARLEY_EGRESS_H
#define PARLEY_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct egress egress;

/* Parses a comma-separated allow-list of CIDRs ("10.0.0.0/8, fd00::/8",
 * "" = none); NULL with a message in err on a malformed entry. */
egress *egress_new(const char *allow, char *err, size_t errlen);
void egress_free(egress **g_p);

/* NULL when the address is public, else the name of the forbidden range
 * it falls in ("loopback", "private", "link-local", "cgnat", ...). */
const char *egress_forbidden_range(const struct sockaddr *sa, socklen_t len);

/* True when the address may be connected to: public, or allow-listed. */
bool egress_allowed(const egress *g, const struct sockaddr *sa, socklen_t len);

#endif
