/* Unit tests for net/router: patterns, captures, HEAD, 405 with Allow, fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/router.h"

static void h_a(http_req *req) { (void)req; }
static void h_b(http_req *req) { (void)req; }
static void h_static(http_req *req) { (void)req; }

static http_req req_of(const char *method, const char *path)
{
	http_req r;
	memset(&r, 0, sizeof r);
	r.head.method = (hp_str){ method, strlen(method) };
	r.head.path = (hp_str){ path, strlen(path) };
	return r;
}

static void assert_hp(hp_str s, const char *lit)
{
	assert_int_equal(s.len, strlen(lit));
	assert_memory_equal(s.p, lit, s.len);
}

static void test_captures_and_methods(void **state)
{
	router *rt = router_new();
	assert_non_null(rt);
	int tag_a = 1, tag_b = 2;
	assert_int_equal(router_add(rt, "GET", "/v1/c/{id}/m", HTTP_BEARER, h_a, &tag_a), 0);
	assert_int_equal(router_add(rt, "POST", "/v1/c/{id}/m", 0, h_b, &tag_b), 0);
	router_hit hit;
	char allow[128];

	http_req r = req_of("GET", "/v1/c/42/m");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FOUND);
	assert_ptr_equal(hit.h, h_a);
	assert_ptr_equal(hit.data, &tag_a);
	assert_int_equal(hit.flags, HTTP_BEARER);
	assert_int_equal(r.nparams, 1);
	assert_hp(r.params[0], "42");

	r = req_of("HEAD", "/v1/c/7/m");   /* a GET route answers HEAD */
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FOUND);
	assert_ptr_equal(hit.h, h_a);

	r = req_of("POST", "/v1/c/7/m");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FOUND);
	assert_ptr_equal(hit.h, h_b);

	r = req_of("DELETE", "/v1/c/7/m");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_NO_METHOD);
	assert_string_equal(allow, "Allow: GET, HEAD, POST");

	/* an empty capture, an extra segment, a prefix: no match */
	r = req_of("GET", "/v1/c//m");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_NOT_FOUND);
	r = req_of("GET", "/v1/c/1/m/x");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_NOT_FOUND);
	r = req_of("GET", "/v1/c/1");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_NOT_FOUND);
	router_free(&rt);
	assert_null(rt);
}

static void test_fallback_only_for_get_and_head(void **state)
{
	router *rt = router_new();
	router_set_fallback(rt, h_static, NULL);
	router_hit hit;
	char allow[64];
	http_req r = req_of("GET", "/demo.html");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FALLBACK);
	assert_ptr_equal(hit.h, h_static);
	r = req_of("HEAD", "/x");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FALLBACK);
	r = req_of("POST", "/demo.html");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_NOT_FOUND);
	router_free(&rt);
}

static void test_limits(void **state)
{
	router *rt = router_new();
	char pat[200];
	memset(pat, 'a', sizeof pat - 1);
	pat[sizeof pat - 1] = 0;
	assert_int_equal(router_add(rt, "GET", pat, 0, h_a, NULL), -1);
	assert_int_equal(router_add(rt, "VERYLONGMETHOD", "/x", 0, h_a, NULL), -1);
	int added = 0;
	while (router_add(rt, "GET", "/x", 0, h_a, NULL) == 0)
		added++;
	assert_int_equal(added, ROUTER_MAX_ROUTES);
	/* more captures than HTTP_MAX_PARAMS do not match */
	router *r2 = router_new();
	router_add(r2, "GET", "/{a}/{b}/{c}/{d}/{e}", 0, h_a, NULL);
	router_hit hit;
	char allow[64];
	http_req r = req_of("GET", "/1/2/3/4/5");
	assert_int_equal(router_find(r2, &r, &hit, allow, sizeof allow), ROUTER_NOT_FOUND);
	router_free(&r2);
	router_free(&rt);
}

/* A literal segment beats a capture whatever the order of adding; the
 * winner's captures are the ones left in the request. */
static void test_literal_before_capture(void **state)
{
	(void)state;
	router *rt = router_new();
	int t_id = 1, t_live = 2, t_two = 3;
	assert_int_equal(router_add(rt, "GET", "/v1/visitors/{id}", 0, h_a, &t_id), 0);
	assert_int_equal(router_add(rt, "GET", "/v1/{kind}/{id}", 0, h_a, &t_two), 0);
	assert_int_equal(router_add(rt, "GET", "/v1/visitors/live", 0, h_b, &t_live), 0);
	router_hit hit;
	char allow[128];
	http_req r = req_of("GET", "/v1/visitors/live");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FOUND);
	assert_ptr_equal(hit.data, &t_live);
	assert_int_equal(r.nparams, 0);
	r = req_of("GET", "/v1/visitors/42");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FOUND);
	assert_ptr_equal(hit.data, &t_id);
	assert_int_equal(r.nparams, 1);
	assert_hp(r.params[0], "42");
	r = req_of("GET", "/v1/teams/7");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_FOUND);
	assert_ptr_equal(hit.data, &t_two);
	assert_int_equal(r.nparams, 2);
	assert_hp(r.params[1], "7");
	/* another method on the literal path: the capture route's, if any */
	r = req_of("POST", "/v1/visitors/live");
	assert_int_equal(router_find(rt, &r, &hit, allow, sizeof allow), ROUTER_NO_METHOD);
	router_free(&rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures_and_methods),
		cmocka_unit_test(test_fallback_only_for_get_and_head),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_literal_before_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
