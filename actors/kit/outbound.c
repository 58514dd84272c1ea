/* outbound — a libcurl handle made safe for tenant-chosen URLs (see
 * outbound.h).
 *
 * Two checks, both on addresses libcurl has already resolved:
 * - the open-socket callback runs instead of socket(2) for every address
 *   libcurl tries (each of a name's addresses, both families of happy
 *   eyeballs), after DNS and before connect: a forbidden address gets no
 *   socket, so not even a SYN leaves. This is the guard; since it judges
 *   the address actually connected to, a name that resolves to something
 *   else by the time of the transfer (DNS rebinding) is judged again.
 * - the pre-request callback sees the connected peer before the first byte
 *   of the request is sent (after TLS, on a reused connection too) and
 *   aborts the transfer if that peer is forbidden: a second line for a
 *   caller that replaced the open-socket callback, or a connection that
 *   reached libcurl some other way.
 */
#include "actors/kit/outbound.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* "127.0.0.1 (loopback)" into g->refused. */
static void note_refusal(outbound_guard *g, const struct sockaddr *sa, socklen_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
	else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
	const char *why = egress_forbidden_range(sa, len);
	snprintf(g->refused, sizeof g->refused, "%s (%s)", ip, why ? why : "not allowed");
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	outbound_guard *g = clientp;
	if (purpose != CURLSOCKTYPE_IPCXN) {
		snprintf(g->refused, sizeof g->refused, "socket of another purpose (%d)", (int)purpose);
		return CURL_SOCKET_BAD;
	}
	if (!egress_allowed(g->policy, &addr->addr, (socklen_t)addr->addrlen)) {
		note_refusal(g, &addr->addr, (socklen_t)addr->addrlen);
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

#if LIBCURL_VERSION_NUM >= 0x075000   /* 7.80.0: CURLOPT_PREREQFUNCTION */
static int before_request(void *clientp, char *peer_ip, char *local_ip, int peer_port, int local_port)
{
	outbound_guard *g = clientp;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (peer_ip && inet_pton(AF_INET, peer_ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof *s4;
	} else if (peer_ip && inet_pton(AF_INET6, peer_ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		len = sizeof *s6;
	} else {
		snprintf(g->refused, sizeof g->refused, "unknown peer address");
		return CURL_PREREQFUNC_ABORT;
	}
	if (!egress_allowed(g->policy, (struct sockaddr *)&ss, len)) {
		note_refusal(g, (struct sockaddr *)&ss, len);
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}
#endif

int outbound_setup(CURL *h, outbound_guard *g, int protos, long connect_ms, long total_ms)
{
	if (!h || !g || !protos || (protos & ~(OUTBOUND_HTTP | OUTBOUND_SMTP)))
		return -1;
	g->refused[0] = 0;
	CURLcode rc = CURLE_OK;
#define SET(opt, val) \
	do { \
		if (rc == CURLE_OK) \
			rc = curl_easy_setopt(h, opt, val); \
	} while (0)
#if LIBCURL_VERSION_NUM >= 0x075500   /* 7.85.0: the protocol lists as strings */
	const char *list = protos == OUTBOUND_HTTP ? "http,https"
		: protos == OUTBOUND_SMTP ? "smtp,smtps" : "http,https,smtp,smtps";
	SET(CURLOPT_PROTOCOLS_STR, list);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, list);
#else
	long mask = 0;
	if (protos & OUTBOUND_HTTP)
		mask |= CURLPROTO_HTTP | CURLPROTO_HTTPS;
	if (protos & OUTBOUND_SMTP)
		mask |= CURLPROTO_SMTP | CURLPROTO_SMTPS;
	SET(CURLOPT_PROTOCOLS, mask);
	SET(CURLOPT_REDIR_PROTOCOLS, mask);
#endif
	/* a redirect is an answer, not an instruction: a 3xx is the result */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	/* "" = no proxy, whatever http_proxy, HTTPS_PROXY or ALL_PROXY say;
	 * NOPROXY "*" also overrides a NO_PROXY from the environment */
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NOPROXY, "*");
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, g);
#if LIBCURL_VERSION_NUM >= 0x075000
	SET(CURLOPT_PREREQFUNCTION, before_request);
	SET(CURLOPT_PREREQDATA, g);
#endif
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	SET(CURLOPT_TIMEOUT_MS, total_ms);
	/* no SIGALRM for resolver time-outs: this runs on worker threads */
	SET(CURLOPT_NOSIGNAL, 1L);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}
