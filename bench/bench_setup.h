/* bench_setup — the blocking REST setup phase of parley-bench (not measured):
 * agent login, widget sessions (visitor tokens) and one conversation per
 * visitor, spread over a few threads each with its own keep-alive
 * connection. 429/503 answers are retried after Retry-After (bounded). */
#ifndef PARLEY_BENCH_SETUP_H
#define PARLEY_BENCH_SETUP_H

#include "bench_net.h"

struct setup_target {
	struct sockaddr_storage addr;
	socklen_t alen;
	const char *host_hdr;
	int timeout_ms;
};

/* POST /v1/auth/login; on success *token is malloc'd. tenant may be NULL. */
int setup_login(const struct setup_target *t, const char *email, const char *password,
		const char *tenant, char **token);

/* POST /v1/widget/session for a new visitor; *token is malloc'd. */
int setup_visitor(struct http_client *hc, const char *widget_key, const char *name, char **token);

/* For visitors [0, n): a widget session and, when conv_ids is not NULL, one
 * conversation each (POST /v1/widget/conversations). Uses `threads` parallel
 * connections. Fills tokens[i] / conv_ids[i] (malloc'd). 0 when all
 * succeeded. */
int setup_visitors(const struct setup_target *t, const char *widget_key, int n, int threads,
		   char **tokens, char **conv_ids);

#endif
