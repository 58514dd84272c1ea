/* outbound — a libcurl handle made safe to point at a URL a tenant chose
 * (webhooks, SMTP): only the given protocols, no redirects followed,
 * proxy environment variables ignored, and a connect-time check of every
 * resolved address against the egress policy (net/egress.h); a refused
 * address fails the transfer with CURLE_COULDNT_CONNECT and the reason in
 * g->refused. The connected peer is checked once more before the request
 * is sent (CURLOPT_PREREQFUNCTION, libcurl 7.80+); a refusal there fails
 * with CURLE_ABORTED_BY_CALLBACK. A caller may set other options after
 * outbound_setup, but not the open-socket, pre-request, proxy, protocol
 * or redirect ones. */
#ifndef PARLEY_OUTBOUND_H
#define PARLEY_OUTBOUND_H

#include <curl/curl.h>
#include <stdbool.h>
#include "net/egress.h"

enum outbound_proto { OUTBOUND_HTTP = 1, OUTBOUND_SMTP = 2 };

typedef struct {
	const egress *policy;
	char refused[96];          /* set when the guard refused an address: "127.0.0.1 (loopback)" */
} outbound_guard;

/* Sets the options on h (connect and total timeouts in ms); g must outlive
 * the transfer. 0, or -1 if libcurl refused an option. */
int outbound_setup(CURL *h, outbound_guard *g, int protos, long connect_ms, long total_ms);

#endif
