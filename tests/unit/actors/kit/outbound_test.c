/* outbound_test — the SSRF guard with real sockets: tiny HTTP listeners on
 * loopback addresses (each in a thread, counting what reaches it) and
 * libcurl handles set up by outbound_setup. A refused transfer must leave
 * the listener untouched: not a request, not even a connection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "actors/kit/outbound.h"

typedef struct {
	int fd;
	int port;
	pthread_t th;
	atomic_bool stop;
	atomic_int accepted;       /* connections accepted */
	atomic_int requests;       /* complete request heads read */
	atomic_int closed;         /* connections done with */
	char response[256];        /* sent after a request head */
	char first_line[256];      /* of the last request (written before requests++) */
} listener;

static void *listener_main(void *arg)
{
	listener *l = arg;
	while (!atomic_load(&l->stop)) {
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int c = accept(l->fd, NULL, NULL);
		if (c < 0)
			continue;
		atomic_fetch_add(&l->accepted, 1);
		char buf[4096];
		size_t n = 0;
		for (;;) {
			struct pollfd q = { .fd = c, .events = POLLIN };
			if (poll(&q, 1, 1000) <= 0)
				break;
			ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			buf[n] = 0;
			if (strstr(buf, "\r\n\r\n")) {
				size_t eol = strcspn(buf, "\r\n");
				snprintf(l->first_line, sizeof l->first_line, "%.*s", (int)eol, buf);
				atomic_fetch_add(&l->requests, 1);
				ssize_t w = write(c, l->response, strlen(l->response));
				(void)w;
				break;
			}
			if (n == sizeof buf - 1)
				break;
		}
		close(c);
		atomic_fetch_add(&l->closed, 1);
	}
	return NULL;
}

/* Listens on ip:port (0: any free port); 0, or -1 if the address cannot
 * be bound. */
static int listener_start_at(listener *l, const char *ip, int port, const char *response)
{
	memset(l, 0, sizeof *l);
	snprintf(l->response, sizeof l->response, "%s",
		 response ? response : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	int one = 1;
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l->fd, 16) < 0) {
		close(l->fd);
		return -1;
	}
	socklen_t len = sizeof sa;
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sa, &len), 0);
	l->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&l->th, NULL, listener_main, l), 0);
	return 0;
}

static void listener_start(listener *l, const char *ip, const char *response)
{
	assert_int_equal(listener_start_at(l, ip, 0, response), 0);
}

static void listener_stop(listener *l)
{
	atomic_store(&l->stop, true);
	pthread_join(l->th, NULL);
	close(l->fd);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Gives a listener time to take a connection that was (wrongly) made, then
 * checks there was none. */
static void assert_untouched(listener *l)
{
	sleep_ms(100);
	assert_int_equal(atomic_load(&l->accepted), 0);
	assert_int_equal(atomic_load(&l->requests), 0);
}

/* Waits until every connection the listener accepted is done with. */
static void settle(listener *l)
{
	for (int i = 0; i < 300 && atomic_load(&l->closed) < atomic_load(&l->accepted); i++)
		sleep_ms(10);
	sleep_ms(50);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

typedef struct {
	const char *allow;         /* the allow-list ("" = none) */
	int protos;                /* [OUTBOUND_HTTP] */
	struct curl_slist *resolve;/* CURLOPT_RESOLVE: what "DNS" answers */
	bool default_socket;       /* put libcurl's own socket opener back after the setup */
	bool no_setup;             /* a plain handle (the control case) */
} fetch_opts;

typedef struct {
	CURLcode rc;
	long code;                 /* HTTP status */
	outbound_guard g;
} fetch_result;

static fetch_result fetch(const char *url, const fetch_opts *o)
{
	fetch_result r;
	memset(&r, 0, sizeof r);
	char err[128];
	egress *policy = egress_new(o->allow ? o->allow : "", err, sizeof err);
	assert_non_null(policy);
	CURL *h = curl_easy_init();
	assert_non_null(h);
	r.g.policy = policy;
	if (!o->no_setup)
		assert_int_equal(outbound_setup(h, &r.g, o->protos ? o->protos : OUTBOUND_HTTP, 2000, 5000), 0);
	else
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	if (o->default_socket)
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, NULL);
	if (o->resolve)
		curl_easy_setopt(h, CURLOPT_RESOLVE, o->resolve);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	r.rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.code);
	curl_easy_cleanup(h);
	egress_free(&policy);
	return r;
}

static char *url_of(char *buf, size_t cap, const char *scheme, const char *host, int port, const char *path)
{
	snprintf(buf, cap, "%s://%s:%d%s", scheme, host, port, path);
	return buf;
}

/* The transfer fails before connecting, and the guard says why. */
static void expect_refused(const char *url, const fetch_opts *o, const char *refused)
{
	fetch_result r = fetch(url, o);
	if (r.rc != CURLE_COULDNT_CONNECT || strcmp(r.g.refused, refused) != 0)
		fail_msg("%s: %s, refused \"%s\" (expected \"%s\")", url, curl_easy_strerror(r.rc), r.g.refused,
			 refused);
}

/* (a) No allow-list: a loopback literal is refused before a socket exists. */
static void test_loopback_literal_refused(void **state)
{
	listener l;
	listener_start(&l, "127.0.0.1", NULL);
	char url[128];
	expect_refused(url_of(url, sizeof url, "http", "127.0.0.1", l.port, "/hook"), &(fetch_opts){ 0 },
		       "127.0.0.1 (loopback)");
	assert_untouched(&l);
	listener_stop(&l);
}

/* (b) A name that resolves to loopback is judged by the address. */
static void test_names_resolving_to_loopback_refused(void **state)
{
	listener l;
	listener_start(&l, "127.0.0.1", NULL);
	char url[128];
	fetch_result r = fetch(url_of(url, sizeof url, "http", "localhost", l.port, "/"), &(fetch_opts){ 0 });
	assert_int_equal(r.rc, CURLE_COULDNT_CONNECT);
	assert_non_null(strstr(r.g.refused, "(loopback)"));
	assert_untouched(&l);

	/* a tenant's innocent-looking host name whose DNS answer is 127.0.0.1 */
	char entry[128];
	snprintf(entry, sizeof entry, "hooks.example.com:%d:127.0.0.1", l.port);
	struct curl_slist *resolve = curl_slist_append(NULL, entry);
	expect_refused(url_of(url, sizeof url, "http", "hooks.example.com", l.port, "/"),
		       &(fetch_opts){ .resolve = resolve }, "127.0.0.1 (loopback)");
	assert_untouched(&l);
	curl_slist_free_all(resolve);

	/* the cloud metadata address, and loopback in IPv6 clothes: refused
	 * before connecting (nothing listens there; the reason says why) */
	expect_refused("http://169.254.169.254/latest/meta-data/", &(fetch_opts){ 0 }, "169.254.169.254 (link-local)");
	expect_refused(url_of(url, sizeof url, "http", "[::ffff:127.0.0.1]", l.port, "/"), &(fetch_opts){ 0 },
		       "::ffff:127.0.0.1 (loopback)");
	expect_refused(url_of(url, sizeof url, "http", "[::1]", l.port, "/"), &(fetch_opts){ 0 }, "::1 (loopback)");
	assert_untouched(&l);
	listener_stop(&l);
}

/* (c) The allow-list admits a self-hosted receiver. */
static void test_allow_listed_receiver_reached(void **state)
{
	listener l;
	listener_start(&l, "127.0.0.1", NULL);
	char url[128];
	fetch_result r = fetch(url_of(url, sizeof url, "http", "127.0.0.1", l.port, "/hook"),
			       &(fetch_opts){ .allow = "127.0.0.1/32" });
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.g.refused, "");
	assert_int_equal(atomic_load(&l.requests), 1);
	assert_string_equal(l.first_line, "GET /hook HTTP/1.1");
	listener_stop(&l);
}

/* (d) The allow-list admits what it names, not the neighbours. */
static void test_allow_list_is_exact(void **state)
{
	listener l2;
	listener_start(&l2, "127.0.0.2", NULL);
	char url[128];
	expect_refused(url_of(url, sizeof url, "http", "127.0.0.2", l2.port, "/"), &(fetch_opts){ .allow = "127.0.0.1/32" },
		       "127.0.0.2 (loopback)");
	assert_untouched(&l2);
	listener_stop(&l2);

	/* a name with two addresses: the refused one is skipped, the allowed
	 * one is used (each resolved address is judged on its own). Both
	 * listeners need the same port. */
	listener l1;
	int bound = -1;
	for (int attempt = 0; attempt < 20 && bound < 0; attempt++) {
		listener_start(&l2, "127.0.0.2", NULL);
		if ((bound = listener_start_at(&l1, "127.0.0.1", l2.port, NULL)) < 0)
			listener_stop(&l2);
	}
	assert_int_equal(bound, 0);
	char entry[128];
	snprintf(entry, sizeof entry, "two.example.com:%d:127.0.0.2,127.0.0.1", l2.port);
	struct curl_slist *resolve = curl_slist_append(NULL, entry);
	fetch_result r = fetch(url_of(url, sizeof url, "http", "two.example.com", l2.port, "/"),
		  &(fetch_opts){ .allow = "127.0.0.1/32", .resolve = resolve });
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.g.refused, "127.0.0.2 (loopback)");
	assert_int_equal(atomic_load(&l1.requests), 1);
	assert_untouched(&l2);
	curl_slist_free_all(resolve);
	listener_stop(&l1);
	listener_stop(&l2);
}

/* (e) A redirect is the answer, not followed. */
static void test_redirect_not_followed(void **state)
{
	listener next, first;
	listener_start(&next, "127.0.0.1", NULL);
	char resp[256];
	snprintf(resp, sizeof resp, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/next\r\n"
		 "Content-Length: 0\r\nConnection: close\r\n\r\n", next.port);
	listener_start(&first, "127.0.0.1", resp);
	char url[128];
	fetch_result r = fetch(url_of(url, sizeof url, "http", "127.0.0.1", first.port, "/"),
			       &(fetch_opts){ .allow = "127.0.0.1/32" });
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.code, 302);
	assert_int_equal(atomic_load(&first.requests), 1);
	assert_untouched(&next);
	listener_stop(&first);
	listener_stop(&next);
}

static const char *const proxy_vars[] = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
					  "all_proxy", "ALL_PROXY" };

static int unset_proxy_vars(void **state)
{
	for (size_t i = 0; i < sizeof proxy_vars / sizeof proxy_vars[0]; i++)
		unsetenv(proxy_vars[i]);
	return 0;
}

/* (f) Proxy variables in the environment are ignored. */
static void test_proxy_environment_ignored(void **state)
{
	listener proxy, target;
	listener_start(&proxy, "127.0.0.1", NULL);
	listener_start(&target, "127.0.0.1", NULL);
	char purl[64];
	url_of(purl, sizeof purl, "http", "127.0.0.1", proxy.port, "");
	for (size_t i = 0; i < sizeof proxy_vars / sizeof proxy_vars[0]; i++)
		setenv(proxy_vars[i], purl, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	char url[128];
	url_of(url, sizeof url, "http", "127.0.0.1", target.port, "/hook");

	/* the control: a plain handle does go through the proxy */
	fetch_result r = fetch(url, &(fetch_opts){ .no_setup = true });
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(atomic_load(&proxy.requests), 1);
	assert_int_equal(atomic_load(&target.accepted), 0);
	settle(&proxy);
	atomic_store(&proxy.requests, 0);
	atomic_store(&proxy.accepted, 0);
	atomic_store(&proxy.closed, 0);

	/* guarded: straight to the (allow-listed) target */
	r = fetch(url, &(fetch_opts){ .allow = "127.0.0.1/32" });
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.code, 200);
	assert_int_equal(atomic_load(&target.requests), 1);
	assert_string_equal(target.first_line, "GET /hook HTTP/1.1");   /* not a proxy's absolute form */

	/* https: no CONNECT to the proxy either (the target speaks no TLS,
	 * so the transfer fails, at the target) */
	r = fetch(url_of(url, sizeof url, "https", "127.0.0.1", target.port, "/"), &(fetch_opts){ .allow = "127.0.0.1/32" });
	assert_int_not_equal(r.rc, CURLE_OK);
	settle(&target);
	assert_int_equal(atomic_load(&target.accepted), 2);

	/* refused targets do not fall back to the proxy */
	expect_refused(url_of(url, sizeof url, "http", "127.0.0.1", target.port, "/"), &(fetch_opts){ 0 },
		       "127.0.0.1 (loopback)");
	assert_untouched(&proxy);

	listener_stop(&target);
	listener_stop(&proxy);
}

/* (g) Only the requested protocols. */
static void test_other_protocols_refused(void **state)
{
	listener l;
	listener_start(&l, "127.0.0.1", NULL);
	const char *schemes[] = { "ftp", "ftps", "gopher", "dict", "telnet", "tftp", "ldap", "smtp",
				  "imap", "pop3", "rtsp", "scp", "sftp", "mqtt", "ws" };
	char url[128];
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		/* allow-listed, so only the protocol can refuse it */
		fetch_result r = fetch(url_of(url, sizeof url, schemes[i], "127.0.0.1", l.port, "/"),
				       &(fetch_opts){ .allow = "127.0.0.1/32" });
		if (r.rc != CURLE_UNSUPPORTED_PROTOCOL)
			fail_msg("%s: %s", url, curl_easy_strerror(r.rc));
	}
	fetch_result r = fetch("file:///etc/passwd", &(fetch_opts){ .allow = "127.0.0.1/32" });
	assert_int_equal(r.rc, CURLE_UNSUPPORTED_PROTOCOL);

	/* mail only: the web is refused, mail is guarded like the web */
	r = fetch(url_of(url, sizeof url, "http", "127.0.0.1", l.port, "/"),
		  &(fetch_opts){ .allow = "127.0.0.1/32", .protos = OUTBOUND_SMTP });
	assert_int_equal(r.rc, CURLE_UNSUPPORTED_PROTOCOL);
	expect_refused(url_of(url, sizeof url, "smtp", "127.0.0.1", l.port, ""), &(fetch_opts){ .protos = OUTBOUND_SMTP },
		       "127.0.0.1 (loopback)");
	expect_refused(url_of(url, sizeof url, "smtps", "127.0.0.1", l.port, ""), &(fetch_opts){ .protos = OUTBOUND_SMTP },
		       "127.0.0.1 (loopback)");
	assert_untouched(&l);

	/* nonsense protocol sets are refused by the setup */
	CURL *h = curl_easy_init();
	outbound_guard g = { 0 };
	assert_int_equal(outbound_setup(h, &g, 0, 1000, 1000), -1);
	assert_int_equal(outbound_setup(h, &g, 4, 1000, 1000), -1);
	assert_int_equal(outbound_setup(NULL, &g, OUTBOUND_HTTP, 1000, 1000), -1);
	curl_easy_cleanup(h);
	listener_stop(&l);
}

/* (h) The second line: with libcurl's own socket opener put back, the
 * connection is made, but the pre-request check stops the request. */
static void test_connected_peer_checked_before_request(void **state)
{
	listener l;
	listener_start(&l, "127.0.0.1", NULL);
	char url[128];
	fetch_result r = fetch(url_of(url, sizeof url, "http", "127.0.0.1", l.port, "/"),
			       &(fetch_opts){ .default_socket = true });
	assert_int_equal(r.rc, CURLE_ABORTED_BY_CALLBACK);
	assert_string_equal(r.g.refused, "127.0.0.1 (loopback)");
	settle(&l);
	assert_int_equal(atomic_load(&l.accepted), 1);
	assert_int_equal(atomic_load(&l.requests), 0);
	listener_stop(&l);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback_literal_refused),
		cmocka_unit_test(test_names_resolving_to_loopback_refused),
		cmocka_unit_test(test_allow_listed_receiver_reached),
		cmocka_unit_test(test_allow_list_is_exact),
		cmocka_unit_test(test_redirect_not_followed),
		cmocka_unit_test_teardown(test_proxy_environment_ignored, unset_proxy_vars),
		cmocka_unit_test(test_other_protocols_refused),
		cmocka_unit_test(test_connected_peer_checked_before_request),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
